"""Validation of ID numbers, ages and dates, and the per-record flags.

Rules (documented in docs/ingest.md):

* ID numbers (scheme ``palestinian``, the default): Arabic-Indic digits become ASCII; spaces,
  hyphens and a trailing ``.0`` (numbers saved by a spreadsheet) are dropped. A numeric ID of at
  most 9 digits is zero-padded to 9. ``id_valid`` is true when the ID has 9 digits and passes the
  Luhn check (weights 1,2,1,2,... from the left, digits of each product summed, total divisible by
  10). A cell that is not a number (e.g. "طفل رضيع") gives ``id_number`` null and ``id_valid``
  false. Empty: both null. Schemes ``other`` (no check digit known: a well-formed ID of letters and
  digits is valid) and ``none`` (IDs of unknown kind: ``id_valid`` null) keep letters.
* Ages: whole years; "34 سنة", "34 years", "34.0" and Arabic-Indic digits are read; months,
  weeks or days (infants) give 0 (or whole years when there are 12 months or more). Ages outside
  0-120 (negative ages and four-digit numbers too) are stored as null and flagged ``age_range``. Anything else unreadable stays null.
* Dates: see :mod:`undercount.ingest.dates` (read right or refused, the day/month order decided
  per column). Dates before 1880 or after 2100 (placeholders such as 01/01/1000) are stored as
  null and flagged ``date_range``.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from datetime import date

import numpy as np
import pandas as pd

from undercount.ingest.columns import map_unique
from undercount.ingest.dates import column_order, resolve_dates, scan_dates
from undercount.ingest.text import to_ascii_digits

__all__ = [
    "luhn_valid", "normalise_ids", "luhn_check", "id_validity", "parse_ages", "parse_dates",
    "age_dob_mismatch", "AGE_MIN", "AGE_MAX",
]

AGE_MIN, AGE_MAX = 0, 120
_ID_JUNK = re.compile(r"[\s\-‐‑–—_/.'\"]")
_OTHER_ID = re.compile(r"[A-Z0-9]{3,40}")
_YEARS = re.compile(
    r"^(-?\d{1,12})(?:\.\d+)?\s*(?:سنة|سنه|سنوات|سنين|عام|عاما|أعوام|اعوام|y|yr|yrs|year|years|years old)?$"
)
_MARKS = re.compile("[\u064b-\u065f\u0670\u0640]")  # Arabic diacritics and tatweel
_UNDER_ONE = re.compile(
    r"^(\d{1,3})(?:\.\d+)?\s*(شهر|شهور|أشهر|اشهر|months?|mos?|m|أسبوع|اسبوع|أسابيع|اسابيع|weeks?|wks?|"
    r"يوم|أيام|ايام|days?|d)$"
)
_MONTH_UNITS = {"شهر", "شهور", "أشهر", "اشهر", "month", "months", "mo", "mos", "m"}
_WEEK_UNITS = {"أسبوع", "اسبوع", "أسابيع", "اسابيع", "week", "weeks", "wk", "wks"}
_INFANT_WORDS = {"رضيع", "رضيعة", "طفل رضيع", "infant", "newborn", "baby", "حديث الولادة"}


def _luhn_array(ids: np.ndarray) -> np.ndarray:
    """Luhn check of equal-length 9-digit strings, vectorised."""
    if len(ids) == 0:
        return np.zeros(0, dtype=bool)
    digits = np.frombuffer("".join(ids).encode("ascii"), dtype=np.uint8).reshape(-1, 9).astype(np.int64) - 48
    products = digits * np.array([1, 2, 1, 2, 1, 2, 1, 2, 1])
    valid: np.ndarray = ((products // 10 + products % 10).sum(axis=1) % 10) == 0
    return valid


def luhn_valid(id_number: str | int | None) -> bool:
    """True when an ID number has 9 digits (after zero-padding) and passes the Luhn check.

    Args:
        id_number: the ID as text or integer; spaces and hyphens are ignored.
    Returns:
        Whether the check digit is right.

    Example:
        >>> luhn_valid("000000018"), luhn_valid("000000019"), luhn_valid("abc")
        (True, False, False)
    """
    if id_number is None:
        return False
    norm, _, _ = normalise_ids(pd.Series([str(id_number)], dtype="str"))
    value = norm.iloc[0]
    return isinstance(value, str) and len(value) == 9 and bool(_luhn_array(np.array([value]))[0])


def _id_text(cell: str) -> str:
    return _ID_JUNK.sub("", to_ascii_digits(cell).strip().removesuffix(".0"))


def _id_norm(cell: str) -> str | None:
    text = _id_text(cell)
    if text.isdigit() and text.isascii():
        return text.zfill(9) if len(text) <= 9 else text
    return None


def _other_id(cell: str) -> str | None:
    """An ID of another scheme: letters and digits, upper case, separators dropped; else None."""
    text = _id_text(cell).upper()
    return text if _OTHER_ID.fullmatch(text) and any(ch.isdigit() for ch in text) else None


def normalise_ids(cells: pd.Series, scheme: str = "palestinian") -> tuple[pd.Series, pd.Series, pd.Series]:
    """Normalise ID cells (vectorised; only unusual cells go through Python).

    Args:
        cells: ID cells as stripped text (null when empty).
        scheme: 'palestinian' (digits, zero-padded to 9), or 'other' / 'none' (letters and digits
            kept as given, upper case, without spaces, hyphens, dots and slashes; at least 3).
    Returns:
        (id_number text or null, given: the cell held something, wrong_length: the digits
        given were not exactly 9 (palestinian only)).
    """
    cells = cells.astype("str")
    if scheme != "palestinian":
        given = (cells.notna() & (cells.str.strip() != "")).fillna(False).astype(bool)
        ids = map_unique(cells.where(given), _other_id)
        return ids, given, pd.Series(False, index=cells.index)
    given = cells.notna() & (cells.str.strip() != "")
    simple = cells.str.fullmatch(r"[0-9]{1,9}").fillna(False).astype(bool)
    id_number = cells.str.zfill(9).where(simple)
    n_digits = cells.str.len().where(simple)
    rest = given & ~simple
    if rest.any():
        id_number = id_number.mask(rest, map_unique(cells[rest], _id_norm))
        n_digits = n_digits.mask(rest, map_unique(cells[rest], lambda c: len(_id_text(c)), "Int64"))
    id_number = id_number.astype("str")
    wrong_length = (id_number.notna() & (n_digits != 9)).fillna(False).astype(bool)
    return id_number, given.fillna(False).astype(bool), wrong_length


def id_validity(id_number: pd.Series, given: pd.Series, scheme: str = "palestinian") -> pd.Series:
    """Whether each ID is valid under the list's scheme.

    Args:
        id_number: IDs from :func:`normalise_ids` (null where the cell held no ID).
        given: the cell held something.
        scheme: 'palestinian' (Luhn check digit), 'other' (valid when well formed: no check digit is
            known, so an ID is not called invalid for failing one) or 'none' (null: IDs of unknown kind).
    Returns:
        A nullable boolean Series: null where no ID was given; False where a cell is not an ID.
    """
    if scheme == "palestinian":
        valid = luhn_check(id_number)
    elif scheme == "other":
        valid = pd.Series(pd.NA, index=id_number.index, dtype="boolean").mask(id_number.notna(), True)
    else:
        valid = pd.Series(pd.NA, index=id_number.index, dtype="boolean")
    return valid.mask(given & id_number.isna(), False)


def luhn_check(id_number: pd.Series) -> pd.Series:
    """Luhn validity of normalised IDs.

    Args:
        id_number: IDs from :func:`normalise_ids` (digits, or null).
    Returns:
        A nullable boolean Series: True/False, null where there is no ID.
    """
    out = pd.Series(pd.NA, index=id_number.index, dtype="boolean")
    present = id_number.notna().to_numpy()
    out[present] = False
    nine = (id_number.str.len() == 9).fillna(False).to_numpy(dtype=bool)
    if nine.any():
        out[nine] = _luhn_array(np.array(id_number[nine].tolist(), dtype=object))
    return out


def _age_of(text: str) -> int | None:
    t = _MARKS.sub("", to_ascii_digits(text)).strip().casefold()
    if not t:
        return None
    m = _YEARS.match(t)
    if m:
        return int(m.group(1))
    m = _UNDER_ONE.match(t)
    if m:
        n, unit = int(m.group(1)), m.group(2)
        if unit in _MONTH_UNITS:
            return n // 12
        return n // 52 if unit in _WEEK_UNITS else n // 365
    return 0 if t in _INFANT_WORDS else None


def parse_ages(cells: pd.Series) -> tuple[pd.Series, pd.Series]:
    """Ages in whole years.

    Args:
        cells: age cells as text.
    Returns:
        (age as nullable Int64 with out-of-range values nulled, out_of_range flag).
    """
    ages = map_unique(cells, _age_of, "Int64")
    out_of_range = (ages.notna() & ((ages < AGE_MIN) | (ages > AGE_MAX))).fillna(False).astype(bool)
    return ages.mask(out_of_range), out_of_range


def parse_dates(cells: pd.Series, formats: Sequence[str] | None = None,
                order: str | None = None) -> tuple[pd.Series, pd.Series, pd.Series]:
    """Dates of one column (see :mod:`undercount.ingest.dates`; the importer reads a file's columns together).

    Args:
        cells: date cells as text (null when empty).
        formats: the spec's formats (strptime patterns or "excel"): only they are used. None: every
            form undercount reads, the day/month order inferred from the column.
        order: 'DMY' or 'MDY' for numeric dates (default: inferred, else day first).
    Returns:
        (dates as datetime64 with refused and out-of-range cells null, unreadable: a non-empty cell
        refused, out_of_range: read but before 1880 or after 2100).
    """
    scan = scan_dates(cells, tuple(formats) if formats else None)
    found = column_order(scan)
    chosen = order or (found if found is not None else "DMY")
    column = resolve_dates(scan, cells.index, order=chosen, order_source="spec" if order else "data")
    return column.dates, column.unreadable, column.out_of_range


def age_dob_mismatch(age: pd.Series, dob: pd.Series, reference: pd.Series, today: date | None = None) -> pd.Series:
    """Records whose age contradicts their date of birth.

    With a reference date (event date, else reported date, else the spec's period end) the
    age must equal the completed years between birth and reference, give or take one. Without
    one, the age must not exceed the years since birth (plus one), and birth must not be in the
    future.

    Args:
        age: whole years (nullable).
        dob: dates of birth (datetime64, NaT when unknown).
        reference: reference dates (datetime64, NaT when unknown).
        today: the date used when there is no reference (defaults to today).
    Returns:
        A boolean Series.
    """
    now = pd.Timestamp(today or date.today())
    dob_ts = pd.to_datetime(dob)
    ref = pd.to_datetime(reference)
    years_at_ref = (ref - dob_ts).dt.days / 365.2425
    years_now = (now - dob_ts).dt.days / 365.2425
    a = age.astype("Float64")
    with_ref = ref.notna() & dob_ts.notna() & a.notna() & ((years_at_ref - a).abs() > 1.5)
    without = ref.isna() & dob_ts.notna() & a.notna() & ((a > years_now + 1) | (years_now < 0))
    return (with_ref | without).fillna(False).astype(bool)
