"""Arabic as a registered script: its letters, and the English spellings of its name tokens.

Linkage's pivot columns ``<part>_ar`` come from this entry (see :mod:`undercount.names.scripts`):
an Arabic record's own token, or the Arabic token a Latin spelling writes by
:func:`undercount.names.spellings.english_spellings` (the shipped name-segment dictionary and the
spelling rules).

Example:
    >>> ARABIC.column, "Muhammad" in ARABIC.spellings("محمد")
    ('ar', True)
"""

from __future__ import annotations

from undercount.names.charmap import SCRIPT_ARABIC
from undercount.names.scripts import Script
from undercount.names.spellings import english_spellings

__all__ = ["ARABIC", "ARABIC_LETTERS"]

# The Arabic blocks: letters, extended letters (Persian, Urdu ...), supplement, extended-A and
# the presentation forms.
ARABIC_LETTERS = "\u0620-\u064a\u066e-\u06d3\u06d5\u06fa-\u06ff\u0750-\u077f\u08a0-\u08ff\ufb50-\ufdff\ufe70-\ufefc"

ARABIC = Script(SCRIPT_ARABIC, ARABIC_LETTERS, column="ar", spellings=english_spellings)
