"""One list as its keeper wrote it: the captured people, with errors, in the list's own columns.

:func:`build_list` turns the captured rows of the population into the cells of the file (headers,
sex and status words, place names and dates in the list's language and format) plus its truth
rows (list, row, person_id), rows shuffled as real lists are.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from undercount.simulate.config import ListConfig
from undercount.simulate.noise import NAME_PARTS, ErrorTally, apply_errors, as_text
from undercount.simulate.writers import iso_dates

__all__ = ["BuiltList", "HEADERS", "build_list", "transliterate_parts"]

HEADERS: dict[str, dict[str, str]] = {
    "arabic": {"id": "رقم الهوية", "name": "الاسم", "sex": "الجنس", "age": "العمر", "dob": "تاريخ الميلاد",
               "date": "تاريخ الوفاة", "place": "المحافظة", "status": "الحالة"},
    "english": {"id": "id", "name": "name", "sex": "sex", "age": "age", "dob": "date_of_birth",
                "date": "date_of_death", "place": "governorate", "status": "status"},
    "english_title": {"id": "ID Number", "name": "Name", "sex": "Sex", "age": "Age", "dob": "Date of birth",
                      "date": "Date of death", "place": "Governorate", "status": "Status"},
    "unusual": {"id": "رقم البطاقة الشخصية", "name": "اسم الضحية كما ورد", "sex": "ذكر/أنثى",
                "age": "العمر بالسنوات", "dob": "مولود في", "date": "يوم الحادثة", "place": "منطقة السكن",
                "status": "وضع الشخص"},
}
_SPEC_FIELD = {"id": "id_number", "name": "full_name", "sex": "sex", "age": "age", "dob": "date_of_birth",
               "date": "event_date", "place": "place", "status": "status"}
SEX_WORDS = {
    "arabic": {"male": "ذكر", "female": "أنثى"},
    "mf": {"male": "M", "female": "F"},
    "words": {"male": "male", "female": "female"},
    "letters": {"male": "ذ", "female": "ث"},
}
STATUS_ARABIC = {"killed": "شهيد", "missing": "مفقود", "detained": "معتقل", "injured": "جريح"}
PLACE_ARABIC = {"North Gaza": "شمال غزة", "Gaza": "غزة", "Deir al-Balah": "دير البلح",
                "Khan Younis": "خان يونس", "Rafah": "رفح"}


@dataclass(frozen=True)
class BuiltList:
    """The cells of one list, its truth rows and its error tally.

    Attributes:
        config: the list's settings.
        table: the cells, one column per header, rows in file order (text, ints or None).
        truth: list, row (1-based data row), person_id.
        tally: realised recording errors.
        spec: the import spec as TOML data, or None when the importer needs none.
    """

    config: ListConfig
    table: pd.DataFrame
    truth: pd.DataFrame
    tally: ErrorTally
    spec: dict[str, dict[str, object]] | None


def transliterate_parts(records: pd.DataFrame, rng: np.random.Generator) -> None:
    """Write the name parts in English transliteration, in place, a spelling drawn per row.

    The same Arabic name gets several spellings across rows (Mohammed, Muhammad ...), drawn by
    ``undercount.names.transliterate`` (dictionary spellings more often than rule-based).
    """
    from undercount.names import transliterate

    for part in NAME_PARTS:
        values = records[part].to_numpy(dtype=object)
        spelled = [transliterate(v, rng) if isinstance(v, str) else None for v in values]
        records[part] = as_text(np.array(spelled, dtype=object), records.index)


def _full_name(records: pd.DataFrame) -> pd.Series:
    """Join the present name parts with single spaces (None when no part is left)."""
    parts = [pa.array(records[part].to_numpy(dtype=object), type=pa.string()) for part in NAME_PARTS]
    joined = pc.binary_join_element_wise(*parts, " ", null_handling="skip")
    names = joined.to_numpy(zero_copy_only=False).astype(object)
    names[names == ""] = None
    return pd.Series(names, index=records.index, dtype=object)


def _cells(records: pd.DataFrame, lst: ListConfig) -> pd.DataFrame:
    """The list's columns in its own headers, words and formats."""
    headers = HEADERS[lst.headers]
    arabic_words = lst.script == "arabic"
    sex_words = SEX_WORDS[lst.sex_values]
    columns: dict[str, pd.Series] = {}
    for fld in lst.fields:
        if fld == "id":
            col = records["id_number"]
        elif fld == "name":
            col = _full_name(records)
        elif fld == "sex":
            col = records["sex"].map(sex_words)
        elif fld == "age":
            col = records["age"]
        elif fld == "dob":
            col = iso_dates(records["date_of_birth"], lst.date_format)
        elif fld == "date":
            col = iso_dates(records["event_date"], lst.date_format)
        elif fld == "place":
            col = records["place"].map(PLACE_ARABIC).fillna(records["place"]) if arabic_words else records["place"]
        else:
            col = records["status"].map(STATUS_ARABIC) if arabic_words else records["status"]
        columns[headers[fld]] = col.astype("Int64") if fld == "age" else col.astype(object).where(col.notna(), None)
    return pd.DataFrame(columns)


def _spec(lst: ListConfig, period: tuple[str, str] | None) -> dict[str, dict[str, object]] | None:
    """The import spec the list needs (unusual headers or values, a default status), or None.

    A spec written anyway also gives the period, so the importer flags events outside it.
    """
    spec: dict[str, dict[str, object]] = {}
    if lst.default_status:
        spec["list"] = {"default_status": lst.default_status}
    if lst.headers == "unusual":
        spec["columns"] = {_SPEC_FIELD[f]: HEADERS["unusual"][f] for f in lst.fields}
    if lst.sex_values == "letters":
        spec["values"] = {"sex": {SEX_WORDS["letters"][k]: k for k in ("male", "female")}}
    if lst.date_format not in ("%Y-%m-%d", "%d/%m/%Y", "%d-%m-%Y", "%Y/%m/%d", "%d.%m.%Y"):
        spec["dates"] = {"formats": [lst.date_format]}
    if spec and period:
        spec.setdefault("list", {}).update({"period_start": period[0], "period_end": period[1]})
    return spec or None


def build_list(population: pd.DataFrame, captured: np.ndarray, lst: ListConfig,
               rng: np.random.Generator, *, period: tuple[str, str] | None = None,
               transliterate: Callable[[pd.DataFrame, np.random.Generator], None] | None = None) -> BuiltList:
    """Make one list from the people it captured.

    Args:
        population: the true population.
        captured: bool mask of the people on this list.
        lst: the list's settings.
        rng: the random generator.
        period: (start, end) ISO dates of the events, written into the list's spec if it has one.
        transliterate: how a 'latin' list writes the Arabic name parts in Latin letters, in place
            (default :func:`transliterate_parts`; bench/end_to_end.py passes other schemes).

    Returns:
        The list's cells, truth rows, error tally and spec.
    """
    keep = ["person_id", *NAME_PARTS, "sex", "age", "date_of_birth", "id_number", "event_date", "place", "status",
            "role", "household_family"]
    records = population.loc[captured, keep].reset_index(drop=True)
    for column in (*NAME_PARTS, "sex", "id_number", "place", "status", "role", "household_family"):
        records[column] = as_text(records[column], records.index)
    romanise = transliterate or transliterate_parts
    records, tally = apply_errors(records, lst, rng, romanise if lst.script == "latin" else None)
    records = records.iloc[rng.permutation(len(records))].reset_index(drop=True)
    truth = pd.DataFrame({"list": lst.name, "row": np.arange(1, len(records) + 1), "person_id": records["person_id"]})
    return BuiltList(lst, _cells(records, lst), truth, tally, _spec(lst, period))
