"""Names: the ground floor every stage stands on for people's names.

Script detection, character clean-up, normalisation, splitting into parts, transliteration keys
and English spellings of Arabic names (see docs/names.md). Ingest, link, the review app and the
simulator all read names through these functions, so a name is normalised one way everywhere.
This package imports nothing of undercount but itself.

Example:
    >>> from undercount.names import name_key, normalise_name, transliterate
    >>> normalise_name("عبد الرحمن") == normalise_name("عبدالرحمن")
    True
    >>> transliterate("محمد")
    'Mohammed'
"""

from undercount.names.charmap import detect_script
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
from undercount.names.spellings import english_spellings, joined_token, transliterate
from undercount.names.translit import token_key

__all__ = [
    "NAME_ORDERS",
    "PARSED_COLUMNS",
    "SURNAME_PARTICLES",
    "NameOrder",
    "arabic_like",
    "choose_name_order",
    "KeyAgreement",
    "NameParts",
    "detect_script",
    "english_spellings",
    "joined_token",
    "key_agreement",
    "name_key",
    "normalise_name",
    "parse_names",
    "split_name",
    "token_key",
    "transliterate",
]
