"""Turn a table of text cells into canonical records with validation flags.

Flags (a record may carry several):

=====================  ===================================================================
invalid_id             an ID was given but is not valid under the list's ID scheme (palestinian:
                       9 digits with a right check digit; other: letters and digits)
id_length              palestinian IDs: the digits were not exactly 9 (zero-padded, or too long)
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

from dataclasses import dataclass, field
from typing import Any

import pandas as pd

from undercount.errors import InputError, InputProblem
from undercount.ingest.columns import ColumnMap, describe_values, map_values
from undercount.ingest.dates import read_date_columns
from undercount.ingest.places import canonical_places
from undercount.ingest.read import RawTable
from undercount.ingest.spec import ImportSpec
from undercount.ingest.validate import age_dob_mismatch, id_validity, normalise_ids, parse_ages
from undercount.names import NameOrder, choose_name_order, normalise_name, parse_names
from undercount.store.fields import Field, record_table

__all__ = ["FLAGS", "BuildNotes", "build_records", "problem_entries", "LISTED_ROWS"]

FLAGS = (
    "invalid_id", "id_length", "age_range", "age_dob_mismatch", "date_range", "bad_date",
    "event_outside_period", "duplicate_id", "duplicate_row",
)
LISTED_ROWS = 3  # rows listed per column and kind of problem; the rest are counted
_NAME_PARTS = ("given", "father", "grandfather", "family")


def _text(cells: pd.DataFrame, columns: ColumnMap, fld: str) -> pd.Series:
    """The stripped cells of a field's column (null when empty or when the file lacks it)."""
    header = columns.get(fld)
    if header is None:
        return pd.Series(pd.NA, index=cells.index, dtype="str")
    col = cells[header].str.strip()
    return col.mask(col == "")


def _names(cells: pd.DataFrame, columns: ColumnMap, spec: ImportSpec | None = None) -> tuple[pd.DataFrame, NameOrder]:
    """Name fields via the names module; part columns, when present, win over the split.

    Latin-script full names are split in the list's order (:func:`undercount.names.choose_name_order`,
    or the spec's ``[list] name_order``): Arabic (given, father, grandfather, family) or Western
    (given, surname with its particles).
    """
    parts = {p: _text(cells, columns, p) for p in _NAME_PARTS}
    full = _text(cells, columns, "full_name")
    from_parts = columns.get("full_name") is None and any(columns.get(p) for p in _NAME_PARTS)
    if from_parts:
        joined = pd.concat([parts[p].fillna("") for p in _NAME_PARTS], axis=1).agg(" ".join, axis=1)
        joined = joined.str.split().str.join(" ")
        full = joined.mask(joined == "")
    order = choose_name_order(full if not from_parts else full.iloc[:0], spec.name_order if spec else None)
    surname_words = spec.surname_words if spec else 1
    parsed = parse_names(full.fillna(""), order.order, surname_words).reset_index(drop=True)
    parsed.index = cells.index
    out = pd.DataFrame(index=cells.index)
    has_name = full.notna()
    for col in ("full_name", "given", "father", "grandfather", "family", "script", "name_norm", "name_key"):
        values = parsed[col].astype("str")
        out[col] = values.where(has_name & (values.fillna("") != ""))
    for p in _NAME_PARTS:
        if columns.get(p) is not None:
            uniques = parts[p].dropna().unique()
            normed = parts[p].map({u: normalise_name(u) or None for u in uniques}).astype("str")
            out[p] = normed.where(normed.notna(), out[p])
        elif from_parts:
            # The list gives its name in part columns: a part it lacks is missing, not the token the
            # split of the joined parts puts there ("roberts yates" as family is not father roberts).
            out[p] = pd.Series(pd.NA, index=out.index, dtype="str")
    return out, order


def problem_entries(problem: pd.Series, rows: pd.Series, header: str, *, prefix: str = "",
                    listed: int = LISTED_ROWS) -> list[InputProblem]:
    """Problems of one column, summarised: per kind of problem its first rows, then a count of the rest.

    Args:
        problem: per row, the problem (None where there is none); never cell content.
        rows: the rows' 1-based data-row numbers.
        header: the column's header.
        prefix: put before each problem ("unreadable date: ").
        listed: how many rows of each kind to list.
    Returns:
        The :class:`InputProblem` entries, in the order the kinds first occur.
    """
    out: list[InputProblem] = []
    bad = problem.notna()
    if not bad.any():
        return out
    frame = pd.DataFrame({"p": problem[bad].astype(str), "row": rows[bad].astype(int)})
    for kind, group in frame.groupby("p", sort=False):
        message = prefix + str(kind)
        out.extend(InputProblem(message, row=int(r), column=header) for r in group["row"].head(listed))
        if len(group) > listed:
            out.append(InputProblem(message, column=header, count=len(group) - listed))
    return out


def _plain_field(cells: pd.DataFrame, columns: ColumnMap, fld: Field, values: dict[str, str] | None) -> pd.Series:
    """A field read by its type alone: a vocabulary's value, an integer, or the stripped text."""
    text = _text(cells, columns, fld.name)
    if fld.values:
        return map_values(text, fld.name, {**{v: v for v in fld.values}, **(values or {})})
    if fld.sql is not None and fld.sql.split()[0] in ("INTEGER", "BIGINT"):
        return pd.to_numeric(text, errors="coerce").astype("Int64")
    return text


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


@dataclass(frozen=True)
class BuildNotes:
    """What building the records did, for the import summary (no cell content but known words).

    Attributes:
        dates: date field -> {header, order, order_source, read: {kind: rows}, refused}.
        values: sex/status/cause -> :func:`describe_values` output (+ "default": rows given the spec's default).
        ids: {"scheme", "given", "valid", "invalid"}.
        names: {"order", "source", "latin_names", "arabic_like"}: how Latin full names were split.
        warnings: sentences for the user.
    """

    dates: dict[str, dict[str, Any]] = field(default_factory=dict)
    values: dict[str, dict[str, Any]] = field(default_factory=dict)
    ids: dict[str, Any] = field(default_factory=dict)
    names: dict[str, Any] = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)


def _ids(out: pd.DataFrame, cells: pd.DataFrame, columns: ColumnMap, spec: ImportSpec | None) -> dict[str, Any]:
    scheme = spec.id_scheme if spec else "palestinian"
    id_number, id_given, wrong_length = normalise_ids(_text(cells, columns, "id_number"), scheme)
    out["id_number"] = id_number
    out["id_valid"] = id_validity(id_number, id_given, scheme)
    out["f_invalid_id"] = (out["id_valid"] == False).fillna(False).astype(bool)  # noqa: E712
    out["f_id_length"] = wrong_length
    return {"scheme": scheme, "given": int(id_given.sum()), "valid": int((out["id_valid"] == True).sum()),  # noqa: E712
            "invalid": int(out["f_invalid_id"].sum())}


def _id_warning(ids: dict[str, Any], header: str | None, spec: ImportSpec | None) -> list[str]:
    """Most IDs failing the Palestinian check digit suggests another scheme: say how to tell undercount."""
    if ids["scheme"] != "palestinian" or (spec is not None and "id_scheme" in spec.raw.get("list", {})):
        return []
    if ids["given"] >= 20 and ids["invalid"] > 0.5 * ids["given"]:
        return [f"column {header!r}: {ids['invalid']:,} of {ids['given']:,} IDs fail the Palestinian ID check "
                "(9 digits, check digit): if this list uses another ID scheme, set [list] id_scheme = \"other\" "
                "in a spec, and they will be kept as valid IDs"]
    return []


def _order_warning(order: NameOrder) -> list[str]:
    """A list whose Latin names are neither clearly Arabic nor clearly Western: say what was chosen."""
    if order.source != "names" or order.latin_names < 10:
        return []
    share = order.arabic_like / order.latin_names
    if 0.3 <= share <= 0.6:
        other = "western" if order.order == "arabic" else "arabic"
        return [f"{order.arabic_like:,} of {order.latin_names:,} Latin names look like Arabic names: split in the "
                f"{order.order} order; if that is wrong, set [list] name_order = \"{other}\" in a spec"]
    return []


def _values(out: pd.DataFrame, cells: pd.DataFrame, columns: ColumnMap, spec: ImportSpec | None) -> dict[str, Any]:
    values = spec.values if spec else {}
    notes: dict[str, Any] = {}
    for fld in ("sex", "status", "cause"):
        text = _text(cells, columns, fld)
        out[fld] = map_values(text, fld, values.get(fld))
        if columns.get(fld) is not None:
            notes[fld] = describe_values(text, fld, values.get(fld))
    for fld, default in (("status", spec.default_status if spec else None), ("cause", spec.default_cause if spec else None)):
        if default:
            filled = int(out[fld].isna().sum())
            out[fld] = out[fld].fillna(default)
            notes.setdefault(fld, {})["default"] = {"value": default, "rows": filled}
    return notes


def _dates(out: pd.DataFrame, cells: pd.DataFrame, columns: ColumnMap, spec: ImportSpec | None,
           rows: pd.Series) -> tuple[list[InputProblem], dict[str, Any], list[str]]:
    date_fields = record_table().dates
    present = {fld: (str(columns.get(fld)), _text(cells, columns, fld)) for fld in date_fields
               if columns.get(fld) is not None}
    result = read_date_columns(present, cells.index, orders=spec.date_order if spec else None,
                               formats=spec.date_formats if spec else None)
    problems: list[InputProblem] = []
    bad_date = pd.Series(False, index=cells.index)
    date_range = pd.Series(False, index=cells.index)
    for fld in date_fields:
        column = result.columns.get(fld)
        if column is None:
            out[fld] = pd.Series(pd.NaT, index=cells.index, dtype="datetime64[s]")
            continue
        out[fld] = column.dates
        date_range |= column.out_of_range
        bad_date |= column.unreadable
        problems.extend(problem_entries(column.problem, rows, present[fld][0], prefix="unreadable date: "))
    out["f_date_range"] = date_range
    out["f_bad_date"] = bad_date
    return problems, result.notes, result.warnings


def build_records(table: RawTable, columns: ColumnMap, spec: ImportSpec | None,
                  file: str) -> tuple[pd.DataFrame, dict[str, int], BuildNotes]:
    """Canonical records of one list, with raw cells, row numbers and flag columns.

    Args:
        table: the file's cells.
        columns: the column mapping.
        spec: the import spec, or None.
        file: the file's name, for messages.
    Returns:
        (frame with columns r0..rN (raw cells), _row, the canonical fields and f_<flag>
        booleans; number of records per flag; :class:`BuildNotes`).
    Raises:
        InputError: dates refused (each kind of problem per column with its first rows and a
        count), unless the spec says ``[dates] on_error = "null"``.
    """
    cells = table.frame
    out, order = _names(cells, columns, spec)
    ids = _ids(out, cells, columns, spec)
    values = _values(out, cells, columns, spec)
    out["age"], out["f_age_range"] = parse_ages(_text(cells, columns, "age"))
    out["place"] = canonical_places(_text(cells, columns, "place"))
    rows = pd.Series(table.rows, index=cells.index)
    problems, date_notes, warnings = _dates(out, cells, columns, spec, rows)
    if problems and (spec is None or spec.date_errors == "error"):
        first = problems[0]
        raise InputError(first.message, file=file, problems=problems)
    if problems:
        refused = sum(p.count for p in problems)
        warnings.append(f"{refused:,} unreadable date(s) stored as empty and flagged bad_date ([dates] on_error = \"null\")")
    fields = record_table()
    spec_values = spec.values if spec else {}
    for fld in fields.built:
        if fld not in out.columns:  # a field without reading rules of its own: read by its type
            out[fld] = _plain_field(cells, columns, fields.field(fld), spec_values.get(fld))
    _flag_frame(out, cells, spec)
    # The raw cells join in one step (one column at a time was quadratic: 4,000 columns took minutes).
    raw = cells.set_axis([f"r{i}" for i in range(len(cells.columns))], axis=1)
    out = pd.concat([out, raw], axis=1)
    out["_row"] = table.rows
    counts = {f: int(out[f"f_{f}"].sum()) for f in FLAGS}
    names = {"order": order.order, "source": order.source, "latin_names": order.latin_names,
             "arabic_like": order.arabic_like}
    notes = BuildNotes(dates=date_notes, values=values, ids=ids, names=names,
                       warnings=_id_warning(ids, columns.get("id_number"), spec) + _order_warning(order) + warnings)
    return out.reset_index(drop=True), counts, notes
