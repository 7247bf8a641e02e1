"""Turn a table of text cells into canonical records with validation flags.

Flags (a record may carry several):

=====================  ===================================================================
invalid_id             an ID was given but is not a 9-digit number with a right check digit
id_length              the ID's digits were not exactly 9 (zero-padded, or too long)
age_range              the age was outside 0-120 (stored as null)
age_dob_mismatch       the age contradicts the date of birth
date_range             a date was before 1880 or after 2100 (stored as null)
bad_date               a date matched no format (only with ``[dates] on_error = "null"``)
event_outside_period   the event date is outside the spec's period_start..period_end
duplicate_id           another record of the same list has the same ID (all of them flagged)
duplicate_row          an exact copy of an earlier row of the same list (the copies flagged)
=====================  ===================================================================
"""

from __future__ import annotations

import pandas as pd

from undercount.errors import InputError, InputProblem
from undercount.ingest.columns import ColumnMap, map_values
from undercount.names import normalise_name, parse_names
from undercount.ingest.places import canonical_places
from undercount.ingest.read import RawTable
from undercount.ingest.spec import ImportSpec
from undercount.ingest.validate import (
    DEFAULT_DATE_FORMATS,
    age_dob_mismatch,
    luhn_check,
    normalise_ids,
    parse_ages,
    parse_dates,
)
from undercount.store.fields import Field, record_table

__all__ = ["FLAGS", "build_records", "MAX_PROBLEMS"]

FLAGS = (
    "invalid_id", "id_length", "age_range", "age_dob_mismatch", "date_range", "bad_date",
    "event_outside_period", "duplicate_id", "duplicate_row",
)
MAX_PROBLEMS = 200
_NAME_PARTS = ("given", "father", "grandfather", "family")


def _text(cells: pd.DataFrame, columns: ColumnMap, fld: str) -> pd.Series:
    """The stripped cells of a field's column (null when empty or when the file lacks it)."""
    header = columns.get(fld)
    if header is None:
        return pd.Series(pd.NA, index=cells.index, dtype="str")
    col = cells[header].str.strip()
    return col.mask(col == "")


def _names(cells: pd.DataFrame, columns: ColumnMap) -> pd.DataFrame:
    """Name fields via the names module; part columns, when present, win over the split."""
    parts = {p: _text(cells, columns, p) for p in _NAME_PARTS}
    full = _text(cells, columns, "full_name")
    if columns.get("full_name") is None and any(columns.get(p) for p in _NAME_PARTS):
        joined = pd.concat([parts[p].fillna("") for p in _NAME_PARTS], axis=1).agg(" ".join, axis=1)
        joined = joined.str.split().str.join(" ")
        full = joined.mask(joined == "")
    parsed = parse_names(full.fillna("")).reset_index(drop=True)
    parsed.index = cells.index
    out = pd.DataFrame(index=cells.index)
    has_name = full.notna()
    for col in ("full_name", "given", "father", "grandfather", "family", "script", "name_norm", "name_key"):
        values = parsed[col].astype("str")
        out[col] = values.where(has_name & (values.fillna("") != ""))
    from_parts = columns.get("full_name") is None and any(columns.get(p) for p in _NAME_PARTS)
    for p in _NAME_PARTS:
        if columns.get(p) is not None:
            uniques = parts[p].dropna().unique()
            normed = parts[p].map({u: normalise_name(u) or None for u in uniques}).astype("str")
            out[p] = normed.where(normed.notna(), out[p])
        elif from_parts:
            # The list gives its name in part columns: a part it lacks is missing, not the token the
            # split of the joined parts puts there ("roberts yates" as family is not father roberts).
            out[p] = pd.Series(pd.NA, index=out.index, dtype="str")
    return out


def _plain_field(cells: pd.DataFrame, columns: ColumnMap, fld: Field, values: dict[str, str] | None) -> pd.Series:
    """A field read by its type alone: a vocabulary's value, an integer, or the stripped text."""
    text = _text(cells, columns, fld.name)
    if fld.values:
        return map_values(text, fld.name, {**{v: v for v in fld.values}, **(values or {})})
    if fld.sql is not None and fld.sql.split()[0] in ("INTEGER", "BIGINT"):
        return pd.to_numeric(text, errors="coerce").astype("Int64")
    return text


def _date_problems(unreadable: pd.Series, rows: pd.Series, header: str, formats: tuple[str, ...]) -> list[InputProblem]:
    bad_rows = rows[unreadable].tolist()
    message = (f"date in no accepted format ({', '.join(formats)}); "
               "give the formats in a spec: [dates] formats = [...]")
    problems = [InputProblem(message, row=int(r), column=header) for r in bad_rows[:MAX_PROBLEMS]]
    if len(bad_rows) > MAX_PROBLEMS:
        more = len(bad_rows) - MAX_PROBLEMS
        problems.append(InputProblem(f"{more} more rows with such dates", column=header, count=more))
    return problems


def _flag_frame(out: pd.DataFrame, cells: pd.DataFrame, spec: ImportSpec | None) -> None:
    """Add f_<flag> columns computed from the canonical fields (some set earlier)."""
    ref = out["event_date"].fillna(out["reported_date"])
    if spec is not None and spec.period_end is not None:
        ref = ref.fillna(pd.Timestamp(spec.period_end))
    out["f_age_dob_mismatch"] = age_dob_mismatch(out["age"], out["date_of_birth"], ref)
    outside = pd.Series(False, index=out.index)
    if spec is not None and spec.period_start is not None:
        outside |= (out["event_date"] < pd.Timestamp(spec.period_start)).fillna(False)
    if spec is not None and spec.period_end is not None:
        outside |= (out["event_date"] > pd.Timestamp(spec.period_end)).fillna(False)
    out["f_event_outside_period"] = outside.astype(bool)
    ids = out["id_number"]
    out["f_duplicate_id"] = (ids.notna() & ids.duplicated(keep=False)).astype(bool)
    out["f_duplicate_row"] = cells.duplicated(keep="first").to_numpy() if len(cells.columns) else False


def build_records(table: RawTable, columns: ColumnMap, spec: ImportSpec | None,
                  file: str) -> tuple[pd.DataFrame, dict[str, int]]:
    """Canonical records of one list, with raw cells, row numbers and flag columns.

    Args:
        table: the file's cells.
        columns: the column mapping.
        spec: the import spec, or None.
        file: the file's name, for messages.
    Returns:
        (frame with columns r0..rN (raw cells), _row, the canonical fields and f_<flag>
        booleans; number of records per flag).
    Raises:
        InputError: dates in no accepted format (all of them listed), unless the spec says
        ``[dates] on_error = "null"``.
    """
    cells = table.frame
    out = _names(cells, columns)
    id_number, id_given, wrong_length = normalise_ids(_text(cells, columns, "id_number"))
    valid = luhn_check(id_number)
    out["id_number"] = id_number
    out["id_valid"] = valid.mask(id_given & id_number.isna(), False)
    out["f_invalid_id"] = (out["id_valid"] == False).fillna(False).astype(bool)  # noqa: E712
    out["f_id_length"] = wrong_length
    values = spec.values if spec else {}
    for fld in ("sex", "status", "cause"):
        out[fld] = map_values(_text(cells, columns, fld), fld, values.get(fld))
    if spec is not None and spec.default_status:
        out["status"] = out["status"].fillna(spec.default_status)
    if spec is not None and spec.default_cause:
        out["cause"] = out["cause"].fillna(spec.default_cause)
    out["age"], out["f_age_range"] = parse_ages(_text(cells, columns, "age"))
    out["place"] = canonical_places(_text(cells, columns, "place"))
    formats = (spec.date_formats if spec and spec.date_formats else None) or DEFAULT_DATE_FORMATS
    rows = pd.Series(table.rows, index=cells.index)
    problems: list[InputProblem] = []
    bad_date = pd.Series(False, index=cells.index)
    date_range = pd.Series(False, index=cells.index)
    fields = record_table()
    for fld in fields.dates:
        out[fld], unreadable, out_of_range = parse_dates(_text(cells, columns, fld), formats)
        date_range |= out_of_range
        bad_date |= unreadable
        if unreadable.any() and (spec is None or spec.date_errors == "error"):
            problems.extend(_date_problems(unreadable, rows, str(columns.get(fld)), tuple(formats)))
    if problems:
        raise InputError(problems[0].message, file=file, problems=problems)
    out["f_date_range"] = date_range
    out["f_bad_date"] = bad_date
    for fld in fields.built:
        if fld not in out.columns:  # a field without reading rules of its own: read by its type
            out[fld] = _plain_field(cells, columns, fields.field(fld), values.get(fld))
    _flag_frame(out, cells, spec)
    for i, col in enumerate(cells.columns):
        out[f"r{i}"] = cells[col]
    out["_row"] = table.rows
    counts = {f: int(out[f"f_{f}"].sum()) for f in FLAGS}
    return out.reset_index(drop=True), counts
