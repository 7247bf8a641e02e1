"""Hebrew as a registered script: detected and keyed, without spellings (no pivot columns yet).

Hebrew names are normalised (niqqud removed, final letters folded: :mod:`undercount.names.charmap`)
and keyed in the consonant classes shared with Arabic and Latin
(:func:`undercount.names.translit.hebrew_key`), so the comparison "same sound across scripts"
already pairs them. A table of English spellings of Hebrew name tokens would give Hebrew pivot
columns: build ``Script(SCRIPT_HEBREW, HEBREW_LETTERS, column="he", spellings=...)`` and register it
with ``replace=True`` (tests/link/test_scripts.py does so with a small letter table).

Example:
    >>> HEBREW.has_pivot
    False
"""

from __future__ import annotations

from undercount.names.charmap import SCRIPT_HEBREW
from undercount.names.scripts import Script

__all__ = ["HEBREW", "HEBREW_LETTERS"]

# Hebrew letters (with the Yiddish ligatures) and the presentation forms.
HEBREW_LETTERS = "\u05d0-\u05f2\ufb1d-\ufb4f"

HEBREW = Script(SCRIPT_HEBREW, HEBREW_LETTERS)
