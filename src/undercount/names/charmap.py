"""Character-level name cleaning: one translation table for Arabic, Latin and Hebrew.

The steps, in order, for any string:

1. apostrophe-like marks are deleted (``Sa'id`` -> ``Said``), so a transliterated ayn or hamza
   never splits a word;
2. Unicode NFKD decomposition: Arabic presentation forms and ligatures (``ﻻ``, ``ﷲ``) become
   plain letters, hamza-carrying letters split into a base letter and a combining hamza
   (``أ`` -> ``ا`` + hamza, ``ؤ`` -> ``و`` + hamza), Latin accents split off;
3. lower case;
4. one ``str.translate`` table: every combining mark (harakat, shadda, sukun, superscript alef,
   Hebrew niqqud, Latin accents) and tatweel are deleted; alef wasla, taa marbuta, alef maqsura,
   Persian/Urdu letters and Hebrew final letters are mapped to their plain forms; Arabic-Indic
   and Persian digits become ASCII digits; punctuation, symbols and control characters become
   spaces.

The result is stable under a second application; :func:`clean_chars` checks that for the rare
strings outside the Arabic/Latin/Hebrew letters and repeats until it holds. Which script a name
is written in is told by :func:`undercount.names.scripts.detect_script` (the script registry).
"""

from __future__ import annotations

import re
import unicodedata

__all__ = [
    "SCRIPT_ARABIC",
    "SCRIPT_HEBREW",
    "SCRIPT_LATIN",
    "SCRIPT_MIXED",
    "clean_chars",
]

SCRIPT_ARABIC = "arabic"
SCRIPT_LATIN = "latin"
SCRIPT_HEBREW = "hebrew"
SCRIPT_MIXED = "mixed"

# Deleted before NFKD: marks that stand for ayn/hamza inside transliterated words, and the
# Hebrew geresh/gershayim of abbreviations (ד״ר).
_APOSTROPHES = "'`\u00b4\u02b9\u02ba\u02bb\u02bc\u02bd\u02be\u02bf\u02c8\u2018\u2019\u201b\u2032\u2035\uff07\u05f3\u05f4"
_PRE_TABLE = {ord(c): None for c in _APOSTROPHES}

# Letters mapped to another letter (after NFKD has split off hamza and madda).
_LETTER_MAP = {
    "\u0671": "ا", "\u0672": "ا", "\u0673": "ا", "\u0674": None,  # alef wasla, wavy hamza, high hamza
    "ة": "ه", "ى": "ي", "ۃ": "ه", "ھ": "ه", "ە": "ه", "ہ": "ه", "ۀ": "ه",
    "ی": "ي", "ې": "ي", "ے": "ي", "ۓ": "ي", "ێ": "ي",
    "ک": "ك", "ڪ": "ك", "گ": "ك", "ڭ": "ك",
    "پ": "ب", "ٮ": "ب", "چ": "ج", "ژ": "ز", "ڤ": "ف", "ڥ": "ف", "ڨ": "ق", "ٯ": "ق",
    "ٹ": "ت", "ڈ": "د", "ڑ": "ر", "ں": "ن", "ۆ": "و", "ۇ": "و", "ۈ": "و", "ۋ": "و", "ۉ": "و",
    "\u0640": None,  # tatweel
    "ך": "כ", "ם": "מ", "ן": "נ", "ף": "פ", "ץ": "צ",
    "װ": "וו", "ױ": "וי", "ײ": "יי",
    "ß": "ss", "æ": "ae", "œ": "oe", "ø": "o", "ł": "l", "đ": "d", "ð": "d", "þ": "th",
    "ı": "i", "ħ": "h", "ŧ": "t", "ŋ": "n", "ĸ": "k",
}
_ZERO_WIDTH = "\u200b\u200c\u200d\u200e\u200f\u202a\u202b\u202c\u202d\u202e\u2060\u2066\u2067\u2068\u2069\ufeff\u00ad\u061c"


def _build_table() -> dict[int, str | None]:
    """The main translation table over the Basic Multilingual Plane."""
    table: dict[int, str | None] = {}
    for code in range(0x10000):
        if 0xD800 <= code <= 0xDFFF:
            continue
        category = unicodedata.category(chr(code))
        if category[0] == "M":
            table[code] = None
        elif category[0] in "PSZC" and category != "Co":
            table[code] = " "
    for code in range(10):
        table[0x0660 + code] = str(code)
        table[0x06F0 + code] = str(code)
    for char, target in _LETTER_MAP.items():
        table[ord(char)] = target
    for char in _ZERO_WIDTH:
        table[ord(char)] = None
    table[ord(" ")] = " "
    return table


_TABLE = _build_table()
_STABLE = re.compile(r"[\u0621-\u063a\u0641-\u064a\u05d0-\u05eaa-z0-9 ]*")
def _clean_once(text: str) -> str:
    text = text.translate(_PRE_TABLE)
    if not text.isascii():
        text = unicodedata.normalize("NFKD", text)
    return text.lower().translate(_TABLE)


def clean_chars(text: str) -> str:
    """Apply the character table and collapse whitespace (stable under repetition).

    Args:
        text: any string.

    Returns:
        The cleaned string: lower case, no marks, no punctuation, single spaces, stripped.
    """
    out = " ".join(_clean_once(text).split())
    if _STABLE.fullmatch(out) is None:
        for _ in range(4):
            again = " ".join(_clean_once(out).split())
            if again == out:
                break
            out = again
    return out
