"""Extra fields declared in the lists' import specs, read for the linkage.

A spec's ``[fields]`` table (:mod:`undercount.ingest.fields`) names a column and its comparison
kind. The values stay in each record's raw row; this module reads the declarations stored with
the lists, checks that lists sharing a field name compare it the same way, and gives one column
per field for the linkage table (``f_<name>``), normalised for its kind:

* exact and string: text folded (case, Arabic letter variants, digits, separators to one space);
* numeric: a number (digits in any script, a decimal point or comma), else missing;
* date: a date read with the list's own date formats (the spec's ``[dates] formats``), else missing.

A record of a list that does not declare a field has it missing (weight 0), like any missing value.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

import pandas as pd

from undercount.errors import ConfigError
from undercount.ingest.columns import field_headers
from undercount.ingest.fields import ExtraField, parse_fields
from undercount.store import Case

__all__ = ["FieldComparison", "declared_fields", "field_values", "field_column"]


@dataclass(frozen=True)
class FieldComparison:
    """How the linkage compares one extra field (shared by the lists that declare it).

    Attributes:
        name: the field's name.
        compare: exact | string | numeric | date.
        within: thresholds of the numeric or date levels.
        lists: the lists that declare it.
    """

    name: str
    compare: str
    within: tuple[float, ...] = ()
    lists: tuple[str, ...] = ()

    @property
    def column(self) -> str:
        """Its column in the linkage table."""
        return field_column(self.name)


def field_column(name: str) -> str:
    """The linkage-table column of an extra field."""
    return f"f_{name}"


def _specs(case: Case) -> list[tuple[str, dict[str, Any], list[str]]]:
    """(list name, parsed spec document, headers) of every imported list with a spec."""
    sources = case.query("SELECT name, spec, file_name FROM uc_sources ORDER BY imported_at")
    out = []
    for name, spec, file_name in sources.itertuples(index=False):
        if spec is None or (isinstance(spec, float) and pd.isna(spec)):
            continue
        doc = json.loads(spec) if isinstance(spec, str) else dict(spec)
        if doc.get("fields"):
            out.append((str(name), doc, [str(file_name)]))
    return out


def declared_fields(case: Case) -> dict[str, tuple[FieldComparison, dict[str, ExtraField]]]:
    """The extra fields of a case: the comparison of each, and its declaration per list.

    Args:
        case: an open case.

    Returns:
        Field name -> (FieldComparison, {list name: ExtraField}).

    Raises:
        ConfigError: two lists declare one field with different comparison kinds or levels.
    """
    found: dict[str, tuple[FieldComparison, dict[str, ExtraField]]] = {}
    for list_name, doc, (file_name,) in _specs(case):
        for name, decl in parse_fields(doc["fields"], f"of list {list_name} ({file_name})").items():
            if name not in found:
                found[name] = (FieldComparison(name, decl.compare, decl.within, (list_name,)), {list_name: decl})
                continue
            comparison, per_list = found[name]
            if (comparison.compare, comparison.within) != (decl.compare, decl.within):
                first = comparison.lists[0]
                raise ConfigError(
                    f"field {name!r} is compared as {comparison.compare} in list {first} but as {decl.compare}"
                    f"{' with other levels' if comparison.compare == decl.compare else ''} in list {list_name}: "
                    "declare it the same way in both specs"
                )
            per_list[list_name] = decl
            found[name] = (FieldComparison(name, comparison.compare, comparison.within, (*comparison.lists, list_name)), per_list)
    return found


def _normalise(values: pd.Series, kind: str, formats: tuple[str, ...] | None) -> pd.Series:
    from undercount.ingest.text import fold
    from undercount.ingest.validate import parse_dates

    text = values.astype("object").map(lambda v: v.strip() if isinstance(v, str) and v.strip() else None)
    if kind in ("exact", "string"):
        uniques = text.dropna().unique()
        return text.map({u: fold(u) or None for u in uniques}).astype("object")
    if kind == "numeric":
        from undercount.ingest.text import to_ascii_digits

        cleaned = text.map(lambda v: to_ascii_digits(v).replace(",", ".").replace(" ", "") if isinstance(v, str) else None)
        return pd.to_numeric(cleaned, errors="coerce").astype("float64")
    dates, _, _ = parse_dates(text.astype("str"), formats)
    return pd.to_datetime(dates, errors="coerce").dt.date.astype("object").where(dates.notna(), None)


def field_values(case: Case, fields: dict[str, tuple[FieldComparison, dict[str, ExtraField]]]) -> pd.DataFrame:
    """One column per extra field (``f_<name>``), normalised for its kind, indexed by record_id.

    Args:
        case: an open case.
        fields: from :func:`declared_fields`.

    Returns:
        A DataFrame indexed by record_id (every record of the case), one column per field.
    """
    ids = case.records(["record_id"])["record_id"].astype("int64")
    out = pd.DataFrame(index=pd.Index(ids.to_numpy(), name="record_id"))
    if not fields:
        return out
    specs = case.query("SELECT name, spec FROM uc_sources").itertuples(index=False)
    sources = {str(n): (json.loads(s) if isinstance(s, str) else s) for n, s in specs}
    for name, (comparison, per_list) in fields.items():
        parts = []
        for list_name, decl in per_list.items():
            keys = case.query("SELECT json_keys(raw) AS k FROM uc_records WHERE source = ? LIMIT 1", [list_name])
            headers = [str(k) for k in keys["k"].iloc[0]] if len(keys) else [decl.column]
            header = field_headers({name: decl}, headers, spec=f"of list {list_name}", file=list_name)[name]
            pointer = "/" + header.replace("~", "~0").replace("/", "~1")  # a JSON pointer: any header
            rows = case.query(
                "SELECT record_id, json_extract_string(raw, ?) AS v FROM uc_records WHERE source = ? ORDER BY record_id",
                [pointer, list_name],
            )
            cells = pd.Series(rows["v"].to_numpy(dtype=object), index=rows["record_id"].astype("int64").to_numpy())
            formats = (sources.get(list_name) or {}).get("dates", {}).get("formats")
            parts.append(_normalise(cells, comparison.compare, tuple(formats) if formats else None))
        values = pd.concat(parts) if parts else pd.Series(dtype="object")
        column = values.reindex(out.index)
        if comparison.compare == "numeric":
            out[comparison.column] = column.astype("float64")
        else:
            out[comparison.column] = column.astype("object").where(column.notna(), None)
    return out
