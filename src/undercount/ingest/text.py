"""Text helpers of ingest: digits in any script to ASCII, and the folding used to match headers and values."""

from __future__ import annotations

import re

__all__ = ["fold", "to_ascii_digits"]

_DIACRITICS = re.compile("[\u0610-\u061a\u064b-\u065f\u0670\u06d6-\u06ed\u0640]")
_SEPARATORS = re.compile(r"[\s_\-./:()\[\]]+")
_LETTERS = str.maketrans({"أ": "ا", "إ": "ا", "آ": "ا", "ٱ": "ا", "ة": "ه", "ى": "ي", "ؤ": "و", "ئ": "ي"})
_DIGITS = str.maketrans("٠١٢٣٤٥٦٧٨٩۰۱۲۳۴۵۶۷۸۹", "01234567890123456789")


def to_ascii_digits(text: str) -> str:
    """Replace Arabic-Indic and Persian digits by ASCII digits.

    Args:
        text: any text.
    Returns:
        The text with ٠-٩ and ۰-۹ replaced by 0-9.
    """
    return text.translate(_DIGITS)


def fold(text: str) -> str:
    """Fold a header or a value for matching: case, separators, Arabic letter variants.

    Args:
        text: a header or a cell.
    Returns:
        The folded text (lower case, one space between words, no diacritics or tatweel).

    Example:
        >>> fold(" Date_of-Birth ") == fold("date of birth")
        True
    """
    text = _DIACRITICS.sub("", str(text)).translate(_LETTERS).translate(_DIGITS).casefold()
    return _SEPARATORS.sub(" ", text).strip()
