"""Exports of a diff: one row per record of either release, redacted unless personal data is asked for.

Each row names its records by release and file row (provenance), its class, the fields that
changed, and the values before and after of every compared field that is not personal (age, sex,
status, dates of events, place ...). Names, ID numbers and dates of birth before and after are
added only with ``personal=True``. Files are written through :func:`undercount.store.output.write_table`
(temporary file, audit entry, formula cells neutralised).
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from undercount.releases.diff import DiffResult
from undercount.releases.match import COMPARED
from undercount.store import Case
from undercount.store.fields import record_table
from undercount.store.output import OutputResult, write_table

__all__ = ["EXPORT_FORMATS", "diff_table", "export_diff"]

EXPORT_FORMATS = ("csv", "xlsx", "json", "parquet")


def _column(field: str) -> str:
    return "full_name" if field == "name" else field


def diff_table(case: Case, result: DiffResult, *, personal: bool = False) -> pd.DataFrame:
    """The diff as a flat table (see the module's docstring).

    Args:
        case: the case holding the two releases.
        result: a diff of two of its releases.
        personal: add the personal fields (names, ID numbers, dates of birth) before and after.
    """
    rows = result.rows
    out = pd.DataFrame({
        "list": result.list_name,
        "class": rows["class"].astype(str).to_numpy(),
        "release_from": [result.before.source if pd.notna(x) else None for x in rows["record_from"]],
        "row_from": rows["row_from"].to_numpy(),
        "release_to": [result.after.source if pd.notna(x) else None for x in rows["record_to"]],
        "row_to": rows["row_to"].to_numpy(),
        "probability": pd.to_numeric(rows["probability"], errors="coerce").round(4).to_numpy(),
        "fields_changed": ["; ".join(f) for f in rows["fields"]],
        "spelling_only": rows["spelling_only"].astype(bool).to_numpy(),
        "reference_row": rows["reference_row"].to_numpy(),
        "status_from": rows["status_from"].to_numpy(),
        "status_to": rows["status_to"].to_numpy(),
        "sex": rows["sex"].to_numpy(),
        "age_group": rows["age_group"].to_numpy(),
    })
    hidden = record_table().personal
    shown = [f for f in COMPARED if f != "status" and (personal or _column(f) not in hidden)]
    wanted = [_column(f) for f in shown]
    recs = case.records(["record_id", *wanted], sources=[result.before.source, result.after.source]).set_index("record_id")
    for end in ("from", "to"):
        ids = rows[f"record_{end}"].fillna(-1).astype("int64").to_numpy()
        part = recs.reindex(ids)
        for fld, col in zip(shown, wanted):
            out[f"{fld}_{end}"] = part[col].to_numpy()
    return out


def export_diff(case: Case, result: DiffResult, path: str | Path, *, fmt: str = "csv", personal: bool = False,
                username: str | None = None) -> OutputResult:
    """Write a diff (:func:`diff_table`) safely; the audit entry names the diff run, never a person.

    Raises:
        ConfigError: an unknown format.
        StoreError: the file cannot be written (nothing is left behind).
    """
    from undercount.errors import ConfigError

    if fmt not in EXPORT_FORMATS:
        raise ConfigError(f"unknown export format '{fmt}': choose one of {', '.join(EXPORT_FORMATS)}")
    table = diff_table(case, result, personal=personal)
    return write_table(case, table, path, fmt=fmt, action="export-diff", username=username,
                       detail={"run_id": result.run_id, "list": result.list_name, "from": result.before.source,
                               "to": result.after.source, "personal_data": personal})
