"""Luhn, IDs, ages, dates and the age/date-of-birth check."""

from __future__ import annotations

from datetime import date

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from undercount.ingest import luhn_valid
from undercount.ingest.validate import age_dob_mismatch, luhn_check, normalise_ids, parse_ages, parse_dates

from .conftest import luhn_complete

VALID = [luhn_complete(b) for b in ("40123456", "80435949", "00000001", "12345678", "99999999", "31415926")]


@pytest.mark.parametrize("id_number", VALID)
def test_luhn_valid_ids(id_number: str) -> None:
    assert luhn_valid(id_number)
    assert luhn_valid(int(id_number))  # leading zeros lost by a spreadsheet come back


@pytest.mark.parametrize("id_number", VALID)
def test_luhn_every_single_digit_change_is_caught(id_number: str) -> None:
    for pos in range(9):
        for d in "0123456789":
            if d != id_number[pos]:
                assert not luhn_valid(id_number[:pos] + d + id_number[pos + 1:])


@pytest.mark.parametrize("bad", ["123456789", "000000019", "12345678901", "abc", "", None, "4012 3456"])
def test_luhn_invalid(bad: str | None) -> None:
    assert not luhn_valid(bad)


def test_luhn_known_values() -> None:
    assert luhn_complete("00000001") == "000000018"
    assert luhn_valid("000000018") and luhn_valid("0-0000-0018") and luhn_valid("٠٠٠٠٠٠٠١٨")


def test_normalise_ids() -> None:
    cells = pd.Series(["40123456", "٤٠١٢٣٤٥٦٢", "401-234-562", "401234562.0", "طفل رضيع 5", None, "1234567890"],
                      dtype="str")
    ids, given, wrong = normalise_ids(cells)
    assert ids.tolist()[:4] == ["040123456", "401234562", "401234562", "401234562"]
    assert pd.isna(ids[4]) and pd.isna(ids[5]) and ids[6] == "1234567890"
    assert given.tolist() == [True, True, True, True, True, False, True]
    assert wrong.tolist() == [True, False, False, False, False, False, True]
    valid = luhn_check(ids)
    assert valid.tolist()[1] is True and valid.tolist()[6] is False and pd.isna(valid[5])


def test_ages() -> None:
    cells = pd.Series(["34", "34 سنة", "٧", "3 أشهر", "10 days", "18 months", "34.0", "٣٤ عاماً", "150", "-3", "1234", "abc",
                       None], dtype="str")
    ages, out = parse_ages(cells)
    assert ages.tolist()[:8] == [34, 34, 7, 0, 0, 1, 34, 34]
    assert all(pd.isna(a) for a in ages.tolist()[8:])
    assert out.tolist() == [False] * 8 + [True, True, True, False, False]


def test_dates_default_formats() -> None:
    cells = pd.Series(["2023-10-07", "07/10/2023", "07-10-2023", "2023/10/07", "45206", "2023-10-07 13:00:00",
                       "", None, "01/01/1000", "31/02/2023", "Oct 7"], dtype="str")
    dates, unreadable, out = parse_dates(cells)
    want = pd.Timestamp("2023-10-07")
    assert (dates[:6] == want).all()
    assert dates[6:].isna().all()
    assert unreadable.tolist() == [False] * 9 + [True, True]
    assert out.tolist() == [False] * 8 + [True, False, False]


def test_dates_formats_override() -> None:
    dates, unreadable, _ = parse_dates(pd.Series(["10/07/2023", "2023-10-07"], dtype="str"), ["%m/%d/%Y"])
    assert dates[0] == pd.Timestamp("2023-10-07") and unreadable.tolist() == [False, True]


def test_age_dob_mismatch() -> None:
    dob = pd.Series(pd.to_datetime(["2000-06-01", "2000-06-01", "2000-06-01", None, "2030-01-01"])).astype("datetime64[s]")
    ref = pd.Series(pd.to_datetime(["2023-10-07", "2023-10-07", None, None, None])).astype("datetime64[s]")
    age = pd.Series([23, 40, 60, 5, 1], dtype="Int64")
    got = age_dob_mismatch(age, dob, ref, today=date(2025, 1, 1))
    assert got.tolist() == [False, True, True, False, True]
    assert isinstance(np.asarray(got)[0], np.bool_)


@settings(max_examples=60, deadline=None)
@given(cells=st.lists(st.one_of(st.none(), st.text(max_size=15)), min_size=1, max_size=20))
def test_parsers_never_raise_and_keep_length(cells: list[str | None]) -> None:
    series = pd.Series(cells, dtype="str")
    ids, given_, wrong = normalise_ids(series)
    ages, out = parse_ages(series)
    dates, unreadable, out_of_range = parse_dates(series)
    assert len(ids) == len(ages) == len(dates) == len(cells)
    assert ages.dropna().between(0, 120).all()
    assert not (unreadable & out_of_range).any()
    assert all(v is pd.NA or (isinstance(v, str) and v.isdigit()) for v in ids.astype(object).fillna(pd.NA))
