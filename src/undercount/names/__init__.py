"""Names: the ground floor every stage stands on for people's names.

Script detection (a registry of scripts, :mod:`undercount.names.scripts`), character clean-up,
normalisation, splitting into parts, transliteration keys and English spellings of Arabic names
(see docs/names.md). Ingest, link, the review app and the
simulator all read names through these functions, so a name is normalised one way everywhere.
This package imports nothing of undercount but itself.

Example:
    >>> from undercount.names import name_key, normalise_name, transliterate
    >>> normalise_name("عبد الرحمن") == normalise_name("عبدالرحمن")
    True
    >>> transliterate("محمد")
    'Mohammed'
"""

from undercount.names.arabic import ARABIC
from undercount.names.hebrew import HEBREW
from undercount.names.normalise import (
    NAME_ORDERS,
    PARSED_COLUMNS,
    SURNAME_PARTICLES,
    KeyAgreement,
    NameParts,
    key_agreement,
    name_key,
    normalise_name,
    parse_names,
    split_name,
)
from undercount.names.order import NameOrder, arabic_like, choose_name_order
from undercount.names.scripts import (
    Script,
    detect_script,
    pivot_columns,
    pivot_scripts,
    register_script,
    registered_scripts,
)
from undercount.names.spellings import english_spellings, joined_token, transliterate
from undercount.names.translit import token_key

# The scripts names are written in (see undercount.names.scripts): one registration each.
register_script(ARABIC)
register_script(HEBREW)

__all__ = [
    "NAME_ORDERS",
    "PARSED_COLUMNS",
    "SURNAME_PARTICLES",
    "NameOrder",
    "arabic_like",
    "choose_name_order",
    "KeyAgreement",
    "NameParts",
    "Script",
    "detect_script",
    "english_spellings",
    "joined_token",
    "key_agreement",
    "name_key",
    "normalise_name",
    "parse_names",
    "pivot_columns",
    "pivot_scripts",
    "register_script",
    "registered_scripts",
    "split_name",
    "token_key",
    "transliterate",
]
