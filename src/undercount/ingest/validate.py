"""Validation of ID numbers, ages and dates, and the per-record flags.

Rules (documented in docs/ingest.md):

* ID numbers: Arabic-Indic digits become ASCII; spaces, hyphens and a trailing ``.0`` (numbers
  saved by a spreadsheet) are dropped. A numeric ID of at most 9 digits is zero-padded to 9.
  ``id_valid`` is true when the ID has 9 digits and passes the Luhn check (weights 1,2,1,2,...
  from the left, digits of each product summed, total divisible by 10). A cell that is not a
  number (e.g. "طفل رضيع") gives ``id_number`` null and ``id_valid`` false. Empty: both null.
* Ages: whole years; "34 سنة", "34 years", "34.0" and Arabic-Indic digits are read; months,
  weeks or days (infants) give 0 (or whole years when there are 12 months or more). Ages outside
  0-120 (negative ages and four-digit numbers too) are stored as null and flagged ``age_range``. Anything else unreadable stays null.
* Dates: the formats are tried in order; "excel" reads Excel serial day numbers. A cell that
  matches no format is a problem (every one is reported together) unless the spec says
  ``on_error = "null"``. Dates before 1880 or after 2100 (placeholders such as 01/01/1000) are
  stored as null and flagged ``date_range``.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from datetime import date, datetime, timedelta

import numpy as np
import pandas as pd

from undercount.ingest.columns import map_unique, to_ascii_digits

__all__ = [
    "luhn_valid", "normalise_ids", "luhn_check", "parse_ages", "parse_dates", "DEFAULT_DATE_FORMATS",
    "age_dob_mismatch", "AGE_MIN", "AGE_MAX",
]

AGE_MIN, AGE_MAX = 0, 120
DEFAULT_DATE_FORMATS: tuple[str, ...] = ("%Y-%m-%d", "%d/%m/%Y", "%d-%m-%Y", "%Y/%m/%d", "%d.%m.%Y", "excel")
_EXCEL_EPOCH = date(1899, 12, 30)
_DATE_MIN, _DATE_MAX = date(1880, 1, 1), date(2100, 12, 31)
_ID_JUNK = re.compile(r"[\s\-‐‑–—_/.'\"]")
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


def normalise_ids(cells: pd.Series) -> tuple[pd.Series, pd.Series, pd.Series]:
    """Normalise ID cells (vectorised; only unusual cells go through Python).

    Args:
        cells: ID cells as stripped text (null when empty).
    Returns:
        (id_number text or null, given: the cell held something, wrong_length: the digits
        given were not exactly 9).
    """
    cells = cells.astype("str")
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


def _date_of(text: str, formats: Sequence[str]) -> date | None:
    t = to_ascii_digits(text).strip()
    for candidate in (t, re.split(r"[T ]", t, maxsplit=1)[0]):
        for fmt in formats:
            if fmt == "excel":
                if re.fullmatch(r"\d{1,6}(\.\d+)?", candidate) and 1 <= float(candidate) < 80_000:
                    return _EXCEL_EPOCH + timedelta(days=int(float(candidate)))
                continue
            try:
                return datetime.strptime(candidate, fmt).date()
            except ValueError:
                continue
    return None


def _parse_unique_dates(uniques: pd.Index, formats: Sequence[str]) -> list[date | None]:
    """Parse distinct date texts: vectorised per format, then Python for what is left."""
    result: list[date | None] = [None] * len(uniques)
    texts = pd.Series(np.asarray(uniques, dtype=object)).astype("str").str.strip()
    left = np.ones(len(texts), dtype=bool)
    for fmt in formats:
        if fmt == "excel" or not left.any():
            continue
        parsed = pd.to_datetime(texts[left], format=fmt, errors="coerce")
        hit = parsed.notna().to_numpy()
        idx = np.flatnonzero(left)[hit]
        for i, ts in zip(idx, parsed[hit]):
            result[i] = ts.date()
        left[idx] = False
    for i in np.flatnonzero(left):
        result[i] = _date_of(texts.iloc[i], formats)
    return result


def parse_dates(cells: pd.Series, formats: Sequence[str] | None = None) -> tuple[pd.Series, pd.Series, pd.Series]:
    """Dates from text cells.

    Args:
        cells: date cells as text (null when empty).
        formats: strptime formats tried in order, or "excel"; the defaults when None.
    Returns:
        (dates as datetime64 with unreadable and out-of-range cells null, unreadable: a
        non-empty cell no format reads, out_of_range: read but before 1880 or after 2100).
    """
    fmts = tuple(formats) if formats else DEFAULT_DATE_FORMATS
    cells = cells.astype("str")
    codes, uniques = pd.factorize(cells)
    parsed = _parse_unique_dates(uniques, fmts)
    read = np.array([d is not None for d in parsed] + [False])[codes]
    in_range = np.array([d is not None and _DATE_MIN <= d <= _DATE_MAX for d in parsed] + [False])[codes]
    as_ts = np.array([np.datetime64(d, "s") if d is not None else np.datetime64("NaT", "s") for d in parsed]
                     + [np.datetime64("NaT", "s")], dtype="datetime64[s]")[codes]
    dates = pd.Series(np.where(in_range, as_ts, np.datetime64("NaT", "s")), index=cells.index)
    present = (cells.notna() & (cells.str.strip() != "")).fillna(False).to_numpy(dtype=bool)
    unreadable = pd.Series(present & ~read, index=cells.index)
    out_of_range = pd.Series(read & ~in_range, index=cells.index)
    return dates, unreadable, out_of_range


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
