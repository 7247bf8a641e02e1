"""Dates read right or refused: per column, from all its values; never a guessed date.

Each distinct cell is classified once (see docs/ingest.md, "Dates"):

* ``year-month-day``: 2023-10-07, 2023/10/07, 2023.10.07 (a time after the date is ignored);
* ``day/month/year`` or ``month/day/year``: 07/10/2023, 7-10-2023, 7.10.2023: which one is decided
  per column from all its values (a first number over 12 means day first, a second number over
  12 month first). A column whose numbers are all 12 or less is ambiguous: it takes the order of
  the file's other date columns when they agree, else day first, and the import warns; the spec's
  ``[dates] order`` overrides;
* ``YYYYMMDD``: 20231007;
* ``Excel day number``: a cell that is a number only, from 2101 (1905-10-01) to 80000;
* ``named month``: 7 October 2023, Oct 7, 2023, 7th of Oct 2023, Saturday 7 October 2023,
  ٧ أكتوبر ٢٠٢٣, 7 تشرين الأول 2023, 7 تشرين الأول/أكتوبر 2023 (English, French, Hebrew and
  Arabic month names: Egyptian and Gulf يناير ... ديسمبر, Levantine كانون الثاني ... كانون الأول,
  Maghrebi جانفي ... and Moroccan يوليوز ...); a weekday, when given, must match;
* placeholders (unknown, غير معروف, n/a, -, 0, 00/00/0000 ...) are empty cells.

Anything else is refused with the kind of problem (never the cell): not a date, a two-digit year,
a month and year without a day, a year alone, no such day, a Hijri date, day and month orders
mixed in one column, a weekday that does not match, two month names that disagree.
"""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from functools import lru_cache

import numpy as np
import pandas as pd

from undercount.ingest.text import to_ascii_digits

__all__ = [
    "DateReading", "ColumnDates", "DateColumnsResult", "classify_date", "scan_dates", "resolve_dates",
    "column_order", "read_date_columns", "ORDERS", "KIND_LABELS", "DATE_MIN", "DATE_MAX",
]

ORDERS = ("DMY", "MDY")
DATE_MIN, DATE_MAX = date(1880, 1, 1), date(2100, 12, 31)
_EXCEL_EPOCH = date(1899, 12, 30)
_SERIAL_MIN, _SERIAL_MAX = 2101, 80_000  # 1905-10-01 .. 2119-01-10; smaller numbers may be years

KIND_LABELS = {
    "ymd": "year-month-day",
    "dmy": "day/month/year",
    "mdy": "month/day/year",
    "ambiguous": "day and month 12 or less",
    "same": "day and month equal",
    "yyyymmdd": "YYYYMMDD",
    "serial": "Excel day number",
    "named": "named month",
    "format": "the spec's formats",
    "placeholder": "placeholder (read as empty)",
}

# -- problems (never the value) -----------------------------------------------------------------
NOT_A_DATE = "not a date"
TWO_DIGIT_YEAR = "two-digit year (give the format in the spec, e.g. [dates] formats = [\"%d/%m/%y\"])"
NO_DAY = "month and year without a day"
NO_YEAR = "day and month without a year"
YEAR_ONLY = "a year alone"
NO_SUCH_DAY = "no such day or month"
HIJRI = "Hijri (Islamic calendar) date: not read (convert it, or set [dates] on_error = \"null\")"
MIXED_ORDER = ("day and month order unknown: this column holds both day-first and month-first dates "
               "(set [dates] order = \"DMY\" or \"MDY\")")
WRONG_WEEKDAY = "the weekday does not match the date"
TWO_MONTHS = "two month names that disagree"
NOT_IN_FORMATS = "in none of the spec's [dates] formats"


def against(order: str) -> str:
    """The problem of a date that cannot be read in the column's day/month order."""
    first = "day" if order == "DMY" else "month"
    return f"cannot be read {first} first, as this column is (its {'month' if first == 'day' else 'day'} is over 12)"


# -- month and weekday names ----------------------------------------------------------------------
_DIACRITICS = re.compile("[\u0610-\u061a\u064b-\u065f\u0670\u06d6-\u06ed\u0640]")
_LETTERS = str.maketrans({"أ": "ا", "إ": "ا", "آ": "ا", "ٱ": "ا", "ة": "ه", "ى": "ي", "ؤ": "و", "ئ": "ي"})


def _fold(text: str) -> str:
    return _DIACRITICS.sub("", to_ascii_digits(text)).translate(_LETTERS).casefold()


_MONTH_NAMES: dict[int, tuple[str, ...]] = {
    1: ("january", "jan", "janvier", "janv", "يناير", "كانون الثاني", "كانون ثاني", "جانفي", "ינואר"),
    2: ("february", "feb", "fevrier", "février", "fevr", "févr", "فبراير", "شباط", "فيفري", "פברואר"),
    3: ("march", "mar", "mars", "مارس", "اذار", "آذار", "מרץ", "מרס"),
    4: ("april", "apr", "avril", "avr", "ابريل", "أبريل", "نيسان", "افريل", "أفريل", "אפריל"),
    5: ("may", "mai", "مايو", "ايار", "أيار", "ماي", "מאי"),
    6: ("june", "jun", "juin", "يونيو", "يونيه", "حزيران", "جوان", "יוני"),
    7: ("july", "jul", "juillet", "juil", "يوليو", "يوليه", "تموز", "جويليه", "جويلية", "يوليوز", "יולי"),
    8: ("august", "aug", "aout", "août", "اغسطس", "أغسطس", "آب", "اب", "اوت", "أوت", "غشت", "אוגוסט"),
    9: ("september", "sep", "sept", "septembre", "سبتمبر", "ايلول", "أيلول", "شتنبر", "ספטמבר"),
    10: ("october", "oct", "octobre", "اكتوبر", "أكتوبر", "تشرين الاول", "تشرين الأول", "تشرين اول",
         "אוקטובר"),
    11: ("november", "nov", "novembre", "نوفمبر", "تشرين الثاني", "تشرين ثاني", "نونبر", "נובמבר"),
    12: ("december", "dec", "decembre", "décembre", "ديسمبر", "كانون الاول", "كانون الأول", "كانون اول",
         "دجنبر", "דצמבר"),
}
_WEEKDAYS: dict[int, tuple[str, ...]] = {
    0: ("monday", "mon", "lundi", "الاثنين", "الإثنين", "اثنين"),
    1: ("tuesday", "tue", "tues", "mardi", "الثلاثاء", "ثلاثاء"),
    2: ("wednesday", "wed", "mercredi", "الاربعاء", "الأربعاء", "اربعاء"),
    3: ("thursday", "thu", "thur", "thurs", "jeudi", "الخميس", "خميس"),
    4: ("friday", "fri", "vendredi", "الجمعة", "جمعة"),
    5: ("saturday", "sat", "samedi", "السبت", "سبت"),
    6: ("sunday", "sun", "dimanche", "الأحد", "الاحد"),
}
_HIJRI_MONTHS = ("محرم", "صفر", "ربيع الاول", "ربيع الأول", "ربيع الثاني", "ربيع الاخر", "ربيع الآخر",
                 "جمادى الاولى", "جمادى الأولى", "جمادى الاخرة", "جمادى الآخرة", "جمادى الثانية", "رجب",
                 "شعبان", "رمضان", "شوال", "ذو القعدة", "ذو الحجة")
_FILLERS = {"of", "the", "on", "de", "le", "يوم", "في", "من", "عام", "سنه", "لسنه", "لعام", "م", "ad", "ce", "الموافق",
            "موافق", "بتاريخ", "تاريخ"}
_HIJRI_MARKS = {"ه", "هـ", "هجري", "هجريه", "ah"}
_PLACEHOLDERS = {
    "unknown", "not known", "n/a", "na", "n.a.", "none", "null", "nil", "-", "--", "---", "—", "?", "??", "x",
    "0", "00/00/0000", "0000-00-00", "00-00-0000", "00.00.0000", "غير معروف", "غير معلوم", "غير محدد", "مجهول",
    "لا يوجد", "لايوجد", "لا يعرف", "غير متوفر", "לא ידוע",
}


def _phrase_table(groups: dict[int, tuple[str, ...]]) -> tuple[re.Pattern[str], dict[str, int]]:
    table = {_fold(name): number for number, names in groups.items() for name in names}
    # Hebrew writes "in October" as one word: באוקטובר
    table.update({"ב" + name: number for name, number in list(table.items()) if re.match("[\u05d0-\u05ea]", name)})
    alternatives = sorted(table, key=len, reverse=True)
    # whole words only: not inside another word of letters
    pattern = re.compile(r"(?<![^\W\d_])(" + "|".join(re.escape(a) for a in alternatives) + r")(?![^\W\d_])")
    return pattern, table


_MONTH_RE, _MONTHS = _phrase_table(_MONTH_NAMES)
_WEEKDAY_RE, _WEEKDAY_OF = _phrase_table(_WEEKDAYS)
_HIJRI_RE = re.compile("|".join(re.escape(_fold(m)) for m in sorted(_HIJRI_MONTHS, key=len, reverse=True)))
_PLACEHOLDER_SET = {_fold(p) for p in _PLACEHOLDERS}

_TIME = re.compile(
    r"(?:[t\s,]+)(\d{1,2}:\d{2}(?::\d{2}(?:[.,]\d+)?)?)\s*"
    r"(?:am|pm|a\.m\.|p\.m\.|ص|م|مساء|مساءا|صباحا)?\s*(?:z|utc|gmt|[+-]\d{2}:?\d{2})?\s*$"
)
_SERIAL = re.compile(r"\d+(?:\.\d+)?")
_NUMERIC = re.compile(r"(\d+)\s*([/\-.\s])\s*(\d+)\s*\2\s*(\d+)\.?")
_ORDINAL = re.compile(r"^(\d{1,2})(?:st|nd|rd|th|er|e|ème)$")
_TOKEN = re.compile(r"\d+[^\W\d_]*|[^\W\d_]+")
_ERA = re.compile(r"(?<=\d)\s*(?:م|ad|ce)$")


@dataclass(frozen=True)
class DateReading:
    """How one cell reads.

    Attributes:
        kind: ymd, numeric (day and month order decided by the column), yyyymmdd, serial, named,
            format, placeholder or bad.
        value: the date, for every kind but numeric, placeholder and bad.
        first, second, year: the numbers of a numeric date, in the order written.
        problem: why a bad cell is refused (no cell content).
    """

    kind: str
    value: date | None = None
    first: int = 0
    second: int = 0
    year: int = 0
    problem: str | None = None


def _bad(problem: str) -> DateReading:
    return DateReading("bad", problem=problem)


def _make(year: int, month: int, day: int, kind: str, weekday: int | None = None) -> DateReading:
    try:
        value = date(year, month, day)
    except ValueError:
        return _bad(NO_SUCH_DAY)
    if weekday is not None and value.weekday() != weekday:
        return _bad(WRONG_WEEKDAY)
    return DateReading(kind, value)


def _numeric(text: str) -> DateReading | None:
    """Three numbers with one separator: year first, or day and month then a four-digit year."""
    m = _NUMERIC.fullmatch(text)
    if not m:
        return None
    a, b, c = m.group(1), m.group(3), m.group(4)
    if len(a) == 4 and len(b) <= 2 and len(c) <= 2:
        return _make(int(a), int(b), int(c), "ymd")
    if len(a) <= 2 and len(b) <= 2:
        if len(c) == 4:
            first, second = int(a), int(b)
            if first > 12 and second > 12 or not (1 <= first <= 31 and 1 <= second <= 31):
                return _bad(NO_SUCH_DAY)
            return DateReading("numeric", first=first, second=second, year=int(c))
        if len(c) == 2:
            return _bad(TWO_DIGIT_YEAR)
    return _bad(NOT_A_DATE)


def _single_number(text: str) -> DateReading | None:
    if not _SERIAL.fullmatch(text):
        return None
    if len(text) == 8 and text.isdigit():
        return _make(int(text[:4]), int(text[4:6]), int(text[6:]), "yyyymmdd") if text[:2] in ("18", "19", "20", "21") \
            else _bad(NOT_A_DATE)
    number = float(text)
    if number.is_integer() and 1000 <= number <= 2100:
        return _bad(YEAR_ONLY)
    if _SERIAL_MIN <= number <= _SERIAL_MAX:
        return DateReading("serial", _EXCEL_EPOCH + timedelta(days=int(number)))
    return _bad(NOT_A_DATE)


def _named(folded: str) -> DateReading | None:
    """A date with a month name (day, month, year in any order; a weekday and fillers allowed)."""
    months = [_MONTHS[m.group(1)] for m in _MONTH_RE.finditer(folded)]
    if not months:
        return None
    weekdays = {_WEEKDAY_OF[m.group(1)] for m in _WEEKDAY_RE.finditer(folded)}
    rest = _WEEKDAY_RE.sub(" ", _MONTH_RE.sub(" ", folded))
    numbers: list[str] = []
    for token in _TOKEN.findall(rest):
        if token in _FILLERS:
            continue
        ordinal = _ORDINAL.match(token)
        if token.isdigit() or ordinal:
            numbers.append(ordinal.group(1) if ordinal else token)
        elif token in _HIJRI_MARKS:
            return _bad(HIJRI)
        else:
            return _bad(NOT_A_DATE)
    if len(set(months)) > 1:
        return _bad(TWO_MONTHS)
    if len(weekdays) > 1:
        return _bad(WRONG_WEEKDAY)
    years = [n for n in numbers if len(n) == 4]
    days = [n for n in numbers if len(n) <= 2]
    if len(numbers) == 2 and len(years) == 1 and len(days) == 1:
        return _make(int(years[0]), months[0], int(days[0]), "named", next(iter(weekdays), None))
    if len(numbers) == 2 and len(days) == 2:
        return _bad(TWO_DIGIT_YEAR)
    if numbers == years and len(years) == 1:
        return _bad(NO_DAY)
    if numbers == days and len(days) == 1:
        return _bad(NO_YEAR)
    return _bad(NOT_A_DATE)


@lru_cache(maxsize=200_000)
def classify_date(text: str) -> DateReading:
    """How one cell reads as a date, independently of its column.

    Args:
        text: the cell (any script, Arabic-Indic digits allowed).
    Returns:
        A :class:`DateReading`.

    Example:
        >>> classify_date("7 October 2023").value, classify_date("٢٠٢٣-١٠-٠٧").value
        (datetime.date(2023, 10, 7), datetime.date(2023, 10, 7))
        >>> classify_date("03/04/2024").kind, classify_date("12 2023").problem
        ('numeric', 'month and year without a day')
    """
    folded = " ".join(_fold(text).replace("\u200f", " ").replace("\u200e", " ").split())
    if not folded or folded in _PLACEHOLDER_SET:
        return DateReading("placeholder")
    if _HIJRI_RE.search(folded):
        return _bad(HIJRI)
    core = _ERA.sub("", _TIME.sub("", folded).strip().rstrip(","))
    if re.search(r"\d\s*(هـ|ه)$", core):
        return _bad(HIJRI)
    for reader in (_single_number, _numeric):
        reading = reader(core)
        if reading is not None:
            return reading
    named = _named(core)
    if named is not None:
        return named
    if re.fullmatch(r"\d{1,2}\s*[/\-.\s]\s*\d{4}|\d{4}\s*[/\-.]\s*\d{1,2}", core):
        return _bad(NO_DAY)
    return _bad(NOT_A_DATE)


# -- a column ------------------------------------------------------------------------------------
@dataclass(frozen=True)
class DateScan:
    """The distinct cells of one column, classified.

    Attributes:
        codes: per row, the index of its distinct value (-1 when empty).
        readings: one :class:`DateReading` per distinct value.
        counts: rows per distinct value.
    """

    codes: np.ndarray
    readings: list[DateReading]
    counts: np.ndarray

    def order_evidence(self) -> tuple[int, int, int]:
        """(rows that must be day first, rows that must be month first, ambiguous rows)."""
        day = month = ambiguous = 0
        for reading, n in zip(self.readings, self.counts):
            if reading.kind != "numeric":
                continue
            if reading.first > 12:
                day += int(n)
            elif reading.second > 12:
                month += int(n)
            elif reading.first != reading.second:
                ambiguous += int(n)
        return day, month, ambiguous


def scan_dates(cells: pd.Series, formats: tuple[str, ...] | None = None) -> DateScan:
    """Classify the distinct cells of a column (once each).

    Args:
        cells: the column's text cells (null or "" when empty).
        formats: the spec's formats (strptime patterns or "excel"): when given, only they are used.
    Returns:
        A :class:`DateScan`.
    """
    text = cells.astype("str")
    present = (text.notna() & (text.str.strip() != "")).fillna(False).to_numpy(dtype=bool)
    codes, uniques = pd.factorize(text.where(present))
    counts = np.bincount(codes[codes >= 0], minlength=len(uniques))
    values = [str(u) for u in uniques]
    readings = [_by_formats(v, formats) if formats else classify_date(v) for v in values]
    return DateScan(codes, readings, counts)


def _by_formats(text: str, formats: tuple[str, ...]) -> DateReading:
    t = to_ascii_digits(text).strip()
    if t.casefold() in _PLACEHOLDER_SET:
        return DateReading("placeholder")
    for fmt in formats:
        if fmt == "excel":
            reading = _single_number(t)
            if reading is not None and reading.kind == "serial":
                return reading
            continue
        for candidate in (t, _TIME.sub("", t.casefold()).strip()):
            try:
                return DateReading("format", datetime.strptime(candidate, fmt).date())
            except ValueError:
                continue
    return _bad(NOT_IN_FORMATS)


def column_order(scan: DateScan) -> str | None:
    """'DMY' or 'MDY' when the column's values decide it, 'mixed' when they contradict, else None."""
    day, month, _ = scan.order_evidence()
    if day and month:
        return "mixed"
    if day:
        return "DMY"
    return "MDY" if month else None


@dataclass(frozen=True)
class ColumnDates:
    """One date column, read.

    Attributes:
        dates: datetime64 per row (NaT where empty, refused or out of 1880-2100).
        problem: per row, why the cell was refused (None where read or empty).
        out_of_range: read, but before 1880 or after 2100.
        order: the day/month order used for numeric dates ('DMY', 'MDY') or None when none occur.
        order_source: 'data' (the values decide), 'spec', 'other columns', 'assumed' or ''.
        kinds: rows per kind of date read (see :data:`KIND_LABELS`).
        ambiguous: rows whose day and month were both 12 or less.
    """

    dates: pd.Series
    problem: pd.Series
    out_of_range: pd.Series
    order: str | None = None
    order_source: str = ""
    kinds: dict[str, int] = field(default_factory=dict)
    ambiguous: int = 0

    @property
    def unreadable(self) -> pd.Series:
        """Rows refused."""
        return self.problem.notna()


def _resolve(reading: DateReading, order: str | None, mixed: bool) -> tuple[date | None, str | None, str]:
    """(date, problem, kind) of one distinct cell in its column."""
    if reading.kind == "bad":
        return None, reading.problem, "bad"
    if reading.kind == "placeholder":
        return None, None, "placeholder"
    if reading.kind != "numeric":
        return reading.value, None, reading.kind
    first, second = reading.first, reading.second
    if first > 12 or second > 12:  # one reading only
        day, month = (first, second) if first > 12 else (second, first)
        if order is not None and ((order == "DMY") != (first > 12)) and not mixed:
            return None, against(order), "bad"
        r = _make(reading.year, month, day, "dmy" if first > 12 else "mdy")
        return r.value, r.problem, r.kind
    if mixed:
        return None, MIXED_ORDER, "bad"
    day, month = (first, second) if order != "MDY" else (second, first)
    r = _make(reading.year, month, day, "ambiguous" if first != second else "same")
    return r.value, r.problem, r.kind


def resolve_dates(scan: DateScan, index: pd.Index, *, order: str | None, order_source: str) -> ColumnDates:
    """Read a scanned column with its day/month order.

    Args:
        scan: from :func:`scan_dates`.
        index: the rows' index.
        order: 'DMY' or 'MDY' for numeric dates, 'mixed' when the column contradicts itself, or None.
        order_source: where the order comes from (for the summary).
    Returns:
        A :class:`ColumnDates`.
    """
    mixed = order == "mixed"
    resolved = [_resolve(r, None if mixed else order, mixed) for r in scan.readings]
    nat = np.datetime64("NaT", "s")
    values = np.array([np.datetime64(d, "s") if d is not None else nat for d, _, _ in resolved] + [nat],
                      dtype="datetime64[s]")
    problems = np.array([p for _, p, _ in resolved] + [None], dtype=object)
    in_range = np.array([d is not None and DATE_MIN <= d <= DATE_MAX for d, _, _ in resolved] + [False])
    read = np.array([d is not None for d, _, _ in resolved] + [False])
    codes = scan.codes
    dates = pd.Series(np.where(in_range[codes], values[codes], nat), index=index)
    kinds: Counter[str] = Counter()
    for (_, _, kind), n in zip(resolved, scan.counts):
        kinds[kind] += int(n)
    kinds.pop("bad", None)
    used_order = None if mixed else order
    if not any(k in kinds for k in ("dmy", "mdy", "ambiguous")):  # "same" (05/05/2020) needs no order
        used_order, order_source = None, ""
    return ColumnDates(
        dates=dates,
        problem=pd.Series(problems[codes], index=index, dtype=object),
        out_of_range=pd.Series(read[codes] & ~in_range[codes], index=index),
        order=used_order,
        order_source=order_source if used_order else "",
        kinds=dict(kinds),
        ambiguous=kinds.get("ambiguous", 0),
    )


# -- the date columns of one file ---------------------------------------------------------------
@dataclass(frozen=True)
class DateColumnsResult:
    """Every date column of a file, read with orders decided together.

    Attributes:
        columns: field -> :class:`ColumnDates`.
        notes: field -> what the summary says (header, order, where it came from, kinds read).
        warnings: sentences for the user (no cell content).
    """

    columns: dict[str, ColumnDates]
    notes: dict[str, dict[str, object]]
    warnings: list[str]


def _order_name(order: str) -> str:
    return "day/month/year" if order == "DMY" else "month/day/year"


def read_date_columns(cells: dict[str, tuple[str, pd.Series]], index: pd.Index, *,
                      orders: dict[str, str] | None = None,
                      formats: tuple[str, ...] | None = None) -> DateColumnsResult:
    """Read a file's date columns; an ambiguous column follows the others or day first, with a warning.

    Args:
        cells: field -> (header, text cells).
        index: the rows' index.
        orders: the spec's day/month order per field ('*' for every field).
        formats: the spec's formats (then only they are used).
    Returns:
        A :class:`DateColumnsResult`.
    """
    orders = orders or {}
    scans = {fld: scan_dates(col, formats) for fld, (_, col) in cells.items()}
    data_orders = {fld: column_order(scan) for fld, scan in scans.items()}
    decided = {o for o in data_orders.values() if o in ORDERS}
    out: dict[str, ColumnDates] = {}
    notes: dict[str, dict[str, object]] = {}
    warnings: list[str] = []
    for fld, scan in scans.items():
        header = cells[fld][0]
        spec_order = orders.get(fld) or orders.get("*")
        found = data_orders[fld]
        if spec_order:
            order, source = spec_order, "spec"
        elif found is not None:
            order, source = found, "data"
        elif len(decided) == 1:
            order, source = next(iter(decided)), "other columns"
        else:
            order, source = "DMY", "assumed"
        column = resolve_dates(scan, index, order=order, order_source=source)
        out[fld] = column
        read: Counter[str] = Counter()
        for kind, n in column.kinds.items():  # numeric dates under the column's order, whatever their numbers
            numeric = kind in ("dmy", "mdy", "ambiguous") or (kind == "same" and column.order)
            read[_order_name(column.order or "DMY") if numeric else KIND_LABELS[kind]] += n
        notes[fld] = {"header": header, "order": column.order, "order_source": column.order_source,
                      "read": dict(read), "ambiguous": column.ambiguous, "refused": int(column.unreadable.sum())}
        if column.ambiguous and source in ("assumed", "other columns"):
            why = ("as the file's other date columns are" if source == "other columns"
                   else "the usual order in the region's lists")
            example = "03/04/2024 = 3 April 2024" if column.order == "DMY" else "03/04/2024 = 4 March 2024"
            warnings.append(
                f"column {header!r}: {column.ambiguous:,} date(s) have a day and month of 12 or less, and no date "
                f"in the column tells the order: read as {_order_name(column.order or 'DMY')} ({why}; {example}). "
                f"If that is wrong, set [dates] order = \"{'MDY' if column.order == 'DMY' else 'DMY'}\" in a spec.")
        if found == "mixed" and not spec_order:
            warnings.append(f"column {header!r}: some dates are day first and others month first; the "
                            "dates whose order cannot be told are refused (set [dates] order in a spec)")
    return DateColumnsResult(out, notes, warnings)
