"""``export``: the register, the clusters or the estimates as CSV, Parquet, JSON or HXL.

HXL (the Humanitarian Exchange Language) is CSV with a second row of hashtags under the header,
so that humanitarian tools know what each column holds. Core HXL 1.1 hashtags and attributes are
used where they fit (#affected, #date+occurred, #adm1+name, #cause, #status, #meta+id ...);
per-person fields without a core hashtag use the custom hashtag ``#x_victim``.

``redact`` drops every column that names or identifies a person. Each export is written to the
case's audit log (what, format, redacted, rows; never a name).
"""

from __future__ import annotations

import csv
import io
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd

from undercount.errors import ConfigError, StoreError
from undercount.report import data as report_data
from undercount.store import Case
from undercount.store.fields import record_table

__all__ = ["EXPORT_KINDS", "EXPORT_FORMATS", "ExportResult", "export", "export_table", "hxl_tags", "redacted_columns"]

EXPORT_KINDS = ("register", "clusters", "estimates")
EXPORT_FORMATS = ("csv", "parquet", "json", "hxl")
# Columns of the exports that are not record fields but name or identify people.
_PERSONAL = frozenset({"id_numbers", "names", "name"})

# Hashtags of the columns that are not record fields (those are in the field table).
_HXL = {
    "person_id": "#meta+id",
    "statuses": "#status+history",
    "sources": "#meta+source",
    "n_sources": "#meta+source+count",
    "n_records": "#meta+record+count",
    "probability": "#meta+match+probability",
    "stratum": "#group+name",
    "method": "#meta+method",
    "model": "#meta+model",
    "warnings": "#description+warnings",
    "estimable": "#meta+estimable",
    "reason": "#description+reason",
    "level": "#meta+level",
    "linkage_share": "#meta+linkage+share",
}


@dataclass(frozen=True)
class ExportResult:
    """What ``export`` wrote.

    Attributes:
        path: the file; what: register, clusters or estimates; fmt: the format.
        rows: data rows written; columns: the columns written; redacted: whether names and IDs were dropped.
    """

    path: Path
    what: str
    fmt: str
    rows: int
    columns: tuple[str, ...]
    redacted: bool


def redacted_columns() -> frozenset[str]:
    """The columns a redacted export drops: the record's personal fields and the lists of names and IDs."""
    return record_table().personal | _PERSONAL


def hxl_tags(columns: list[str], *, affected: str = "#affected") -> list[str]:
    """The HXL hashtag of each column ('' where none fits).

    Args:
        columns: the table's columns.
        affected: the hashtag of counts of victims (e.g. '#affected+killed' when all are killed).

    Returns:
        One hashtag per column.
    """
    counts = {"documented": "+documented", "estimate": "+estimated", "lower": "+estimated+lower",
              "upper": "+estimated+upper", "mean": "+estimated+mean"}
    tags = []
    known = {**record_table().hxl, **_HXL}
    for column in columns:
        if column in counts:
            tags.append(affected + counts[column])
        else:
            tags.append(known.get(column, "#x_" + "".join(ch for ch in column.lower() if ch.isalnum())))
    return tags


def _estimates(case: Case) -> pd.DataFrame:
    run = case.current_run("estimate")
    if run is None:
        raise StoreError(f"{case.path} has no estimate: run 'undercount estimate {case.path}' first")
    rows = case.query("SELECT stratum, documented, estimate, lower, upper, method, result FROM uc_estimates "
                      "WHERE run_id = ? ORDER BY stratum = 'total' DESC, stratum", [run])
    results = [json.loads(r) if isinstance(r, str) else (r or {}) for r in rows.pop("result")]
    rows["model"] = [r.get("model") for r in results]
    rows["estimable"] = [bool(r.get("estimable", True)) for r in results]
    rows["reason"] = [r.get("reason") for r in results]
    rows["linkage_share"] = [report_data.linkage_info(r.get("details")).get("linkage_share") for r in results]
    rows["warnings"] = [list(r.get("warnings") or []) for r in results]
    rows["run_id"] = run
    return rows


def export_table(case: Case, what: str) -> pd.DataFrame:
    """The table an export writes, before redaction.

    Args:
        case: the case.
        what: 'register', 'clusters' or 'estimates'.

    Returns:
        The table.

    Raises:
        ConfigError: unknown ``what``.
        StoreError: the case has not been linked or estimated.
    """
    if what == "register":
        if case.current_link_run() is None:
            raise StoreError(f"{case.path} has not been linked: run 'undercount link {case.path}'")
        return report_data.load_register(case)
    if what == "clusters":
        return case.clusters()[["source", "row", "person_id", "probability"]]
    if what == "estimates":
        return _estimates(case)
    raise ConfigError(f"cannot export '{what}': choose one of {', '.join(EXPORT_KINDS)}")


def _flat(value: Any) -> Any:
    """Lists and dicts as text for CSV cells: lists joined by '; ', dicts as JSON."""
    if isinstance(value, (list, tuple)):
        return "; ".join(_flat_item(v) for v in value)
    if hasattr(value, "tolist") and not isinstance(value, (str, bytes)):
        return _flat(value.tolist())
    if isinstance(value, dict):
        return json.dumps(value, ensure_ascii=False, default=str, sort_keys=True)
    return value


def _flat_item(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, default=str, sort_keys=True) if isinstance(value, dict) else str(value)


def _write(table: pd.DataFrame, path: Path, fmt: str, *, affected: str) -> None:
    if fmt == "parquet":
        table.to_parquet(path, index=False)
        return
    if fmt == "json":
        text = table.to_json(orient="records", force_ascii=False, date_format="iso", indent=1)
        path.write_text(text + "\n", encoding="utf-8")
        return
    flat = table.copy()
    for column in flat.columns:
        if flat[column].dtype == object:
            flat[column] = flat[column].map(_flat)
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    writer.writerow(flat.columns)
    if fmt == "hxl":
        writer.writerow(hxl_tags(list(flat.columns), affected=affected))
    flat.to_csv(buf, index=False, header=False, lineterminator="\n", date_format="%Y-%m-%d")
    path.write_text(buf.getvalue(), encoding="utf-8")


def _affected_tag(case: Case) -> str:
    statuses = case.query("SELECT DISTINCT status FROM uc_records WHERE status IS NOT NULL")["status"].tolist()
    return f"#affected+{statuses[0]}" if len(statuses) == 1 else "#affected"


def export(case: Case, what: str, *, fmt: str = "csv", redact: bool = False, path: str | Path,
           username: str | None = None) -> ExportResult:
    """Write the register, the clusters or the estimates of a case to a file.

    Args:
        case: the case.
        what: 'register' (one row per person, best values and the lists naming them),
            'clusters' (source, row, person_id, probability) or 'estimates' (the current run's rows).
        fmt: 'csv', 'parquet', 'json' or 'hxl' (CSV with the HXL hashtag row).
        redact: drop names, name parts, normalised names and keys, ID numbers, dates of birth and raw rows.
        path: the file to write.
        username: who exports (for the audit log; the OS user by default).

    Returns:
        An :class:`ExportResult`.

    Raises:
        ConfigError: unknown ``what`` or ``fmt``.
        StoreError: nothing to export yet, or the file cannot be written.

    Example:
        >>> export(Case.open("c"), "register", fmt="hxl", redact=True, path="register.csv")  # doctest: +SKIP
    """
    if fmt not in EXPORT_FORMATS:
        raise ConfigError(f"unknown export format '{fmt}': choose one of {', '.join(EXPORT_FORMATS)}")
    table = export_table(case, what)
    if redact:
        table = table.drop(columns=sorted(redacted_columns() & set(table.columns)))
    target = Path(path)
    try:
        _write(table, target, fmt, affected=_affected_tag(case))
    except OSError as exc:
        raise StoreError(f"cannot write {target}: {exc.strerror or exc}") from exc
    detail = {"what": what, "format": fmt, "redacted": redact, "rows": len(table), "file": target.name}
    with case.transaction() as con:
        case.log(con, action="export", detail=detail, username=username)
    return ExportResult(target, what, fmt, len(table), tuple(table.columns), redact)
