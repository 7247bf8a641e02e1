"""Dates read right or refused: real-world spellings, per-column order, never a guessed date (#15)."""

from __future__ import annotations

from datetime import date, timedelta

import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from undercount.ingest.dates import (
    HIJRI,
    MIXED_ORDER,
    NO_DAY,
    NO_SUCH_DAY,
    NO_YEAR,
    NOT_A_DATE,
    TWO_DIGIT_YEAR,
    TWO_MONTHS,
    WRONG_WEEKDAY,
    YEAR_ONLY,
    classify_date,
    read_date_columns,
)
from undercount.ingest.validate import parse_dates

D = date(2023, 10, 7)

# (cell, the date it means or the problem it is refused with). One column each: numeric dates whose
# order the cell alone cannot tell are read with the column's order (day first here, see below).
SPELLINGS: list[tuple[str, date | str]] = [
    # ISO and other year-first forms
    ("2023-10-07", D), ("2023/10/07", D), ("2023.10.07", D), ("2023-10-07 00:00:00", D),
    ("2023-10-07T13:45:00Z", D), ("2023-10-07T13:45:00+03:00", D), ("2023-10-7", D),
    # day/month/year (a day over 12 tells the order)
    ("13/10/2023", date(2023, 10, 13)), ("13-10-2023", date(2023, 10, 13)), ("13.10.2023", date(2023, 10, 13)),
    ("31/12/2023 23:59", date(2023, 12, 31)),
    # month/day/year (a second number over 12 tells the order), as US spreadsheets export them
    ("10/13/2023", date(2023, 10, 13)), ("10/13/2023 12:00:00 AM", date(2023, 10, 13)),
    ("12/25/2023 9:30 PM", date(2023, 12, 25)),
    # YYYYMMDD and Excel day numbers (bare numbers only)
    ("20231007", D), ("45206", D), ("45206.0", D), ("45206.75", D),
    # English month names
    ("7 October 2023", D), ("07 Oct 2023", D), ("7-Oct-2023", D), ("07-OCT-2023", D), ("Oct 7, 2023", D),
    ("October 7, 2023", D), ("Oct. 7 2023", D), ("7th October 2023", D), ("7th of October, 2023", D),
    ("Saturday, 7 October 2023", D), ("Sat 7 Oct 2023", D), ("2023-Oct-07", D), ("Sept 7 2023", date(2023, 9, 7)),
    # French and Hebrew month names
    ("7 octobre 2023", D), ("1er janvier 2024", date(2024, 1, 1)), ("7 באוקטובר 2023", D),
    # Arabic: Egyptian and Gulf names, Levantine names, both together, Maghrebi names, Arabic-Indic digits
    ("7 أكتوبر 2023", D), ("7 اكتوبر 2023", D), ("٧ أكتوبر ٢٠٢٣", D), ("السبت ٧ أكتوبر ٢٠٢٣", D),
    ("7 أكتوبر 2023م", D), ("07/أكتوبر/2023", D), ("7 تشرين الأول 2023", D), ("7 تشرين الاول 2023", D),
    ("٧ تشرين الأول / أكتوبر ٢٠٢٣", D), ("7 تشرين الأول/أكتوبر 2023", D), ("1 كانون الثاني 2024", date(2024, 1, 1)),
    ("15 شباط 2024", date(2024, 2, 15)), ("3 آذار 2024", date(2024, 3, 3)), ("9 حزيران 2024", date(2024, 6, 9)),
    ("12 آب 2024", date(2024, 8, 12)), ("5 أيلول 2024", date(2024, 9, 5)), ("25 كانون الأول 2023", date(2023, 12, 25)),
    ("1 يناير 2024", date(2024, 1, 1)), ("14 يونيو 2024", date(2024, 6, 14)), ("14 يونية 2024", date(2024, 6, 14)),
    ("2 جويلية 2024", date(2024, 7, 2)), ("2 يوليوز 2024", date(2024, 7, 2)), ("1 غشت 2024", date(2024, 8, 1)),
    ("٢٠٢٣-١٠-٠٧", D), ("٠٧/١٠/٢٠٢٣", D), ("يوم السبت الموافق 7 أكتوبر 2023", D),
    # refused: junk, incomplete, impossible, two-digit years, Hijri, contradictions
    ("Gaza", NOT_A_DATE), ("شهيد", NOT_A_DATE), ("yesterday", NOT_A_DATE), ("12 2023", NO_DAY),
    ("October 2023", NO_DAY), ("10/2023", NO_DAY), ("أيلول 2023", NO_DAY), ("7 October", NO_YEAR),
    ("2023", YEAR_ONLY), ("1999.0", YEAR_ONLY), ("7", NOT_A_DATE), ("31/02/2023", NO_SUCH_DAY),
    ("2023-02-30", NO_SUCH_DAY), ("2023-13-01", NO_SUCH_DAY), ("13/13/2023", NO_SUCH_DAY), ("7/10/23", TWO_DIGIT_YEAR),
    ("7-Oct-23", TWO_DIGIT_YEAR), ("22 ربيع الأول 1445", HIJRI), ("1445/03/22 هـ", HIJRI),
    ("Sunday, 7 October 2023", WRONG_WEEKDAY), ("7 October/November 2023", TWO_MONTHS), ("401234567", NOT_A_DATE),
    ("07102023", NOT_A_DATE), ("10/7/2023 junk", NOT_A_DATE),
    # placeholders: empty, not an error
    ("unknown", None), ("غير معروف", None), ("-", None), ("00/00/0000", None), ("n/a", None),
]


@pytest.mark.parametrize(("cell", "want"), SPELLINGS, ids=[c for c, _ in SPELLINGS])
def test_real_world_spellings_read_right_or_refused(cell: str, want: date | str | None) -> None:
    result = read_date_columns({"event_date": ("d", pd.Series([cell], dtype="str"))}, pd.RangeIndex(1))
    column = result.columns["event_date"]
    got, problem = column.dates.iloc[0], column.problem.iloc[0]
    if isinstance(want, date):
        assert problem is None and got == pd.Timestamp(want)
    elif want is None:
        assert problem is None and pd.isna(got) and column.kinds == {"placeholder": 1}
    else:
        assert pd.isna(got) and problem == want


def test_the_table_is_large_and_varied() -> None:
    assert len(SPELLINGS) >= 40
    assert sum(isinstance(w, date) for _, w in SPELLINGS) >= 40
    assert sum(isinstance(w, str) for _, w in SPELLINGS) >= 20


def _column(*cells: str, orders: dict[str, str] | None = None) -> tuple[pd.Series, pd.Series, list[str]]:
    series = pd.Series(list(cells), dtype="str")
    result = read_date_columns({"event_date": ("dod", series)}, series.index, orders=orders)
    column = result.columns["event_date"]
    return column.dates, column.problem, result.warnings


def test_the_order_comes_from_the_column() -> None:
    dates, problem, warnings = _column("03/04/2024", "25/12/2023")  # 25 cannot be a month: day first
    assert dates.tolist() == [pd.Timestamp("2024-04-03"), pd.Timestamp("2023-12-25")] and not warnings
    dates, problem, warnings = _column("03/04/2024", "12/25/2023")  # 25 cannot be a month: month first
    assert dates.tolist() == [pd.Timestamp("2024-03-04"), pd.Timestamp("2023-12-25")] and not warnings


def test_an_all_ambiguous_column_warns_with_its_assumption_and_the_spec_overrides() -> None:
    dates, problem, warnings = _column("03/04/2024", "01/02/2024")
    assert dates.tolist() == [pd.Timestamp("2024-04-03"), pd.Timestamp("2024-02-01")]
    assert len(warnings) == 1 and "read as day/month/year" in warnings[0] and 'order = "MDY"' in warnings[0]
    assert "2 date(s)" in warnings[0] and "03/04/2024 = 3 April 2024" in warnings[0]
    dates, problem, warnings = _column("03/04/2024", "01/02/2024", orders={"*": "MDY"})
    assert dates.tolist() == [pd.Timestamp("2024-03-04"), pd.Timestamp("2024-01-02")] and not warnings


def test_a_column_mixing_orders_refuses_what_it_cannot_tell() -> None:
    dates, problem, warnings = _column("25/12/2023", "12/25/2023", "03/04/2024", "2023-10-07")
    assert dates.tolist()[:2] == [pd.Timestamp("2023-12-25")] * 2 and pd.isna(dates[2])
    assert problem.tolist() == [None, None, MIXED_ORDER, None] and warnings


def test_a_spec_order_refuses_dates_that_contradict_it() -> None:
    dates, problem, _ = _column("12/25/2023", "03/04/2024", orders={"event_date": "DMY"})
    assert pd.isna(dates[0]) and "day first" in str(problem[0])
    assert dates[1] == pd.Timestamp("2024-04-03")


def test_an_ambiguous_column_follows_the_other_date_columns() -> None:
    dob = pd.Series(["01/02/1990", "03/04/1985"], dtype="str")  # ambiguous
    dod = pd.Series(["10/13/2023", "10/20/2023"], dtype="str")  # month first
    result = read_date_columns({"date_of_birth": ("dob", dob), "event_date": ("dod", dod)}, dob.index)
    assert result.columns["date_of_birth"].dates.tolist() == [pd.Timestamp("1990-01-02"), pd.Timestamp("1985-03-04")]
    assert result.notes["date_of_birth"]["order_source"] == "other columns"
    assert len(result.warnings) == 1 and "month/day/year" in result.warnings[0]


def test_spec_formats_are_the_only_ones_used() -> None:
    dates, unreadable, _ = parse_dates(pd.Series(["07/10/23", "2023-10-07", "45206"], dtype="str"),
                                       ["%d/%m/%y", "excel"])
    assert dates[0] == pd.Timestamp(D) and dates[2] == pd.Timestamp(D)
    assert unreadable.tolist() == [False, True, False]


def test_out_of_range_dates_are_nulled_not_refused() -> None:
    dates, unreadable, out_of_range = parse_dates(pd.Series(["01/01/1000", "2150-01-01", "1880-01-01"], dtype="str"))
    assert dates.isna().tolist() == [True, True, False] and out_of_range.tolist() == [True, True, False]
    assert not unreadable.any()


_MONTHS_EN = ["January", "February", "March", "April", "May", "June", "July", "August", "September", "October",
              "November", "December"]
_MONTHS_AR = ["يناير", "فبراير", "مارس", "أبريل", "مايو", "يونيو", "يوليو", "أغسطس", "سبتمبر", "أكتوبر", "نوفمبر",
              "ديسمبر"]
_MONTHS_LEV = ["كانون الثاني", "شباط", "آذار", "نيسان", "أيار", "حزيران", "تموز", "آب", "أيلول", "تشرين الأول",
               "تشرين الثاني", "كانون الأول"]
_ARABIC_DIGITS = str.maketrans("0123456789", "٠١٢٣٤٥٦٧٨٩")


def _render(d: date, style: int) -> str:
    m = d.month - 1
    return [
        d.isoformat(), d.strftime("%Y/%m/%d"), d.strftime("%Y%m%d"), f"{d.day} {_MONTHS_EN[m]} {d.year}",
        f"{_MONTHS_EN[m][:3]} {d.day}, {d.year}", f"{d.day} {_MONTHS_AR[m]} {d.year}",
        f"{d.day} {_MONTHS_LEV[m]} {d.year}".translate(_ARABIC_DIGITS), f"{d.day}-{_MONTHS_EN[m][:3]}-{d.year}",
        str((d - date(1899, 12, 30)).days), f"{d.strftime('%A')} {d.day} {_MONTHS_EN[m]} {d.year}",
    ][style]


@settings(max_examples=300, deadline=None)
@given(day=st.dates(min_value=date(1905, 10, 1), max_value=date(2100, 12, 31)), style=st.integers(0, 9))
def test_a_written_date_reads_back_as_itself(day: date, style: int) -> None:
    """Any date written in any of these forms reads back exactly: never another date."""
    reading = classify_date(_render(day, style))
    assert reading.value == day, (_render(day, style), reading)


@settings(max_examples=200, deadline=None)
@given(day=st.dates(min_value=date(1880, 1, 1), max_value=date(2100, 12, 24)), month_first=st.booleans())
def test_numeric_dates_read_back_with_the_columns_order(day: date, month_first: bool) -> None:
    other = day + timedelta(days=7)
    fmt = "%m/%d/%Y" if month_first else "%d/%m/%Y"
    # a second date whose day is over 12 tells the column's order
    teller = date(2020, 5, 20).strftime(fmt)
    dates, problem, _ = _column(day.strftime(fmt), other.strftime(fmt), teller)
    assert dates.tolist()[:2] == [pd.Timestamp(day), pd.Timestamp(other)] and problem.isna().all()


@settings(max_examples=300, deadline=None)
@given(text=st.text(max_size=30))
def test_no_cell_gives_a_date_it_does_not_spell(text: str) -> None:
    """A cell read as a date holds that date's year (or is a bare Excel day number or YYYYMMDD)."""
    reading = classify_date(text)
    if reading.value is not None and reading.kind != "serial":
        assert str(reading.value.year) in text.translate(str.maketrans("٠١٢٣٤٥٦٧٨٩", "0123456789"))
