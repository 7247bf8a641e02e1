"""``export``: the register, the clusters or the estimates as CSV, XLSX, Parquet, JSON or HXL.

Every export is written by :func:`undercount.store.output.write_table`: a temporary file (mode
600) in the target folder, an entry in the case's audit log, then the file in place; a failure
leaves nothing. Spreadsheet formats (CSV, HXL, XLSX) get formula-like cells neutralised; CSV and
HXL start with a UTF-8 byte-order mark unless ``bom=False``.

HXL (the Humanitarian Exchange Language) is CSV with a second row of hashtags under the header.
Estimates use the core hashtags HDX knows: counts are ``#affected`` with the status attribute
(``+killed``, ``+injured``, ``+missing``; ``+detained`` is custom) when every record shares one
status, the interval's bounds ``+min`` and ``+max``, the documented count ``+documented``; each
disaggregation is its own column (``#date+start``/``#date+end``, ``#adm1+name``, ``#adm1+code``,
``#gender``, ``#age+range``, ``#age+min``, ``#age+max``, as HDX's own tables use them), and counts are whole
numbers (bounds rounded outwards). Record-level HXL (register, clusters) leaves out every column
that names or identifies a person unless ``personal_data=True``.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd

from undercount.errors import ConfigError, StoreError
from undercount.ingest.places import place_code
from undercount.report import data as report_data
from undercount.store import Case
from undercount.store.fields import STATUSES, record_table
from undercount.store.output import redaction_choice, write_table

__all__ = [
    "EXPORT_FORMATS",
    "EXPORT_KINDS",
    "ExportResult",
    "estimate_columns",
    "export",
    "export_table",
    "hxl_tags",
    "redacted_columns",
]

EXPORT_KINDS = ("register", "clusters", "estimates")
EXPORT_FORMATS = ("csv", "xlsx", "parquet", "json", "hxl")
# Columns of the exports that are not record fields but name or identify people.
_PERSONAL = frozenset({"id_numbers", "names", "name"})

# Hashtags of the columns that are not record fields (those are in the field table).
_HXL = {
    "person_id": "#meta+id",
    "place_code": "#adm1+code",
    "statuses": "#status+history",
    "sources": "#meta+source",
    "n_sources": "#meta+source+count",
    "n_records": "#meta+record+count",
    "probability": "#meta+match+probability",
    "stratum": "#meta+stratum",
    "age_group": "#age+range",
    "age_min": "#age+min",
    "age_max": "#age+max",
    "period": "#meta+period",
    "period_start": "#date+start",
    "period_end": "#date+end",
    "method": "#meta+method",
    "model": "#meta+model",
    "warnings": "#description+warnings",
    "estimable": "#meta+estimable",
    "reason": "#description+reason",
    "level": "#meta+level",
    "linkage_share": "#meta+linkage+share",
    "run_id": "#meta+run",
}
_COUNTS = {"documented": "+documented", "estimate": "", "lower": "+min", "upper": "+max", "mean": "+mean"}
_STANDARD_STATUS = {status: f"+{status}" for status in STATUSES}
_AGE_RANGE = re.compile(r"(\d+)\s*-\s*(\d+)|(\d+)\s*\+")
_PERIOD = re.compile(r"^(\d{4})Q([1-4])$")


@dataclass(frozen=True)
class ExportResult:
    """What ``export`` wrote.

    Attributes:
        path: the file; what: register, clusters or estimates; fmt: the format.
        rows: data rows written; columns: the columns written; redacted: whether names and IDs were dropped.
        size, sha256: the file's size in bytes and SHA-256 (as in the audit log).
    """

    path: Path
    what: str
    fmt: str
    rows: int
    columns: tuple[str, ...]
    redacted: bool
    size: int = 0
    sha256: str = ""


def redacted_columns() -> frozenset[str]:
    """The columns a redacted export drops: the record's personal fields and the lists of names and IDs."""
    return record_table().personal | _PERSONAL


def hxl_tags(columns: list[str], *, affected: str = "#affected") -> list[str]:
    """The HXL hashtag of each column.

    Args:
        columns: the table's columns.
        affected: the hashtag of counts of victims (e.g. '#affected+killed' when all are killed).

    Returns:
        One hashtag per column (a custom ``#x_...`` one where no standard hashtag fits).

    Example:
        >>> hxl_tags(["documented", "estimate", "lower", "upper", "sex"], affected="#affected+killed")
        ['#affected+killed+documented', '#affected+killed', '#affected+killed+min', '#affected+killed+max', '#gender']
    """
    tags = []
    known = {**record_table().hxl, **_HXL}
    for column in columns:
        if column in _COUNTS:
            tags.append(affected + _COUNTS[column])
        else:
            tags.append(known.get(column, "#x_" + "".join(ch for ch in column.lower() if ch.isalnum())))
    return tags


# -- the estimates table ------------------------------------------------------------------------
def _age_bounds(value: str) -> tuple[int | None, int | None]:
    lows, highs, open_ended = [], [], False
    for m in _AGE_RANGE.finditer(value):
        if m.group(3) is not None:
            lows.append(int(m.group(3)))
            open_ended = True
        else:
            lows.append(int(m.group(1)))
            highs.append(int(m.group(2)))
    if not lows:
        return None, None
    return min(lows), (None if open_ended or not highs else max(highs))


def _period_bounds(value: str) -> tuple[str | None, str | None]:
    parts = [_PERIOD.match(p) for p in value.split("+")]
    if not parts or not all(parts):
        return None, None
    quarters = sorted(pd.Period(f"{m.group(1)}Q{m.group(2)}", freq="Q") for m in parts if m)
    return quarters[0].start_time.date().isoformat(), quarters[-1].end_time.date().isoformat()


def estimate_columns(strata: pd.Series) -> pd.DataFrame:
    """One column per disaggregation of the stratum labels ('age_group=0-17|sex=female', 'total').

    Args:
        strata: the labels.

    Returns:
        Columns for the dimensions any stratum uses: age_group (with age_min, age_max), sex,
        place (with place_code where the gazetteer knows it), period (with period_start,
        period_end). Rows not split by age or sex say ``all`` there; place and period are empty.
    """
    parsed = [dict(p.split("=", 1) for p in str(s).split("|") if "=" in p) for s in strata]
    keys = [k for k in ("age_group", "sex", "place", "period") if any(k in p for p in parsed)]
    out = pd.DataFrame(index=strata.index)
    for key in keys:
        values = [p.get(key) for p in parsed]
        if key == "age_group":
            out["age_group"] = [v or "all" for v in values]
            bounds = [_age_bounds(v) if v else (None, None) for v in values]
            out["age_min"] = pd.array([b[0] for b in bounds], dtype="Int64")
            out["age_max"] = pd.array([b[1] for b in bounds], dtype="Int64")
        elif key == "sex":
            out["sex"] = [v or "all" for v in values]
        elif key == "place":
            out["place"] = values
            codes = [place_code(v) if v else None for v in values]
            if any(codes):
                out["place_code"] = codes
        else:
            out["period"] = values
            periods = [_period_bounds(v) if v else (None, None) for v in values]
            out["period_start"] = [p[0] for p in periods]
            out["period_end"] = [p[1] for p in periods]
    return out


def _estimates(case: Case) -> pd.DataFrame:
    """The rows of the newest estimate: every population of its batch (killed first), each row naming its population."""
    runs = report_data._batch_runs(case)
    if not runs:
        raise StoreError(f"{case.path} has no estimate: run 'undercount estimate {case.path}' first")
    return pd.concat([_run_estimates(case, run) for run in runs], ignore_index=True)


def _run_estimates(case: Case, run: dict[str, Any]) -> pd.DataFrame:
    run_id = str(run["run_id"])
    rows = case.query("SELECT stratum, documented, estimate, lower, upper, method, result FROM uc_estimates "
                      "WHERE run_id = ? ORDER BY stratum = 'total' DESC, stratum", [run_id])
    results = [json.loads(r) if isinstance(r, str) else (r or {}) for r in rows.pop("result")]
    dims = estimate_columns(rows["stratum"])
    population = (run["params"].get("population") or {}).get("label") or "all victims"
    rows = pd.concat([pd.DataFrame({"population": population}, index=rows.index), rows[["stratum"]], dims,
                      rows.drop(columns=["stratum"])], axis=1)
    rows["model"] = [r.get("model") for r in results]
    rows["estimable"] = [bool(r.get("estimable", True)) for r in results]
    rows["reason"] = [r.get("reason") for r in results]
    rows["linkage_share"] = [report_data.linkage_info(r.get("details")).get("linkage_share") for r in results]
    rows["verdict"] = [((r.get("details") or {}).get("verdict") or {}).get("title") for r in results]
    rows["warnings"] = [list(r.get("warnings") or []) for r in results]
    rows["run_id"] = run_id
    return rows


def _rounded(table: pd.DataFrame) -> pd.DataFrame:
    """Whole persons for HXL: the estimate rounded, the lower bound down, the upper bound up."""
    out = table.copy()
    how: dict[str, Callable[[float], int]] = {"documented": round, "estimate": round, "lower": math.floor,
                                              "upper": math.ceil}
    for column, func in how.items():
        if column in out:
            values = [None if v is None or pd.isna(v) else func(float(v)) for v in out[column]]
            out[column] = pd.Series(values, index=out.index, dtype="Int64")
    if "linkage_share" in out:
        out["linkage_share"] = pd.to_numeric(out["linkage_share"], errors="coerce").round(3)
    return out


# -- the register ---------------------------------------------------------------------------------
def _status_events(cell: Any) -> list[dict[str, Any]]:
    if isinstance(cell, str):
        try:
            parsed = json.loads(cell)
        except ValueError:
            return []
        return [e for e in parsed if isinstance(e, dict)] if isinstance(parsed, list) else []
    return list(cell) if isinstance(cell, list) else []


def _status_text(events: list[dict[str, Any]]) -> str:
    """'killed 2024-01-05 (moh); missing (family)': one status event per part, oldest first."""
    parts = []
    for e in events:
        text = str(e.get("status") or "")
        if e.get("date"):
            text += f" {e['date']}"
        if e.get("source"):
            text += f" ({e['source']})"
        parts.append(text.strip())
    return "; ".join(parts)


def export_table(case: Case, what: str) -> pd.DataFrame:
    """The table an export writes, before redaction.

    Args:
        case: the case.
        what: 'register', 'clusters' or 'estimates'.

    Returns:
        The table (the register's ``statuses`` as a list of {status, date, source} per person).

    Raises:
        ConfigError: unknown ``what``.
        StoreError: the case has not been linked or estimated.
    """
    if what == "register":
        if case.current_link_run() is None:
            raise StoreError(f"{case.path} has not been linked: run 'undercount link {case.path}'")
        table = report_data.load_register(case)
        if "statuses" in table:
            table["statuses"] = pd.Series([_status_events(c) for c in table["statuses"]], index=table.index,
                                          dtype=object)
        return table
    if what == "clusters":
        return case.clusters()[["source", "row", "person_id", "probability"]]
    if what == "estimates":
        return _estimates(case)
    raise ConfigError(f"cannot export '{what}': choose one of {', '.join(EXPORT_KINDS)}")


def _for_format(table: pd.DataFrame, fmt: str) -> pd.DataFrame:
    """Spreadsheet formats get the status history as readable text; HXL whole-number counts."""
    out = table
    if "statuses" in out and fmt in ("csv", "xlsx", "hxl"):
        out = out.copy()
        out["statuses"] = [_status_text(e) for e in out["statuses"]]
    if fmt == "hxl":
        out = _rounded(out)
    return out


def _affected_tag(case: Case) -> str:
    statuses = case.query("SELECT DISTINCT status FROM uc_records WHERE status IS NOT NULL")["status"].tolist()
    return "#affected" + (_STANDARD_STATUS.get(statuses[0], "") if len(statuses) == 1 else "")


def export(case: Case, what: str, *, fmt: str = "csv", redact: bool | None = None, personal_data: bool = False,
           path: str | Path, username: str | None = None, bom: bool = True) -> ExportResult:
    """Write the register, the clusters or the estimates of a case to a file (600, audited).

    Args:
        case: the case.
        what: 'register' (one row per person, best values and the lists naming them),
            'clusters' (source, row, person_id, probability) or 'estimates' (the current run's rows).
        fmt: 'csv', 'xlsx', 'parquet', 'json' or 'hxl' (CSV with the HXL hashtag row).
        redact: drop names, name parts, normalised names and keys, ID numbers, dates of birth and
            raw rows (default: no, except for HXL, which is always redacted unless ``personal_data``).
        personal_data: include names and IDs in HXL (for HXL only; refused with ``redact``).
        path: the file to write.
        username: who exports (for the audit log; the OS user by default).
        bom: start CSV and HXL with a UTF-8 byte-order mark (so Excel reads Arabic right).

    Returns:
        An :class:`ExportResult`.

    Raises:
        ConfigError: unknown ``what`` or ``fmt``, or contradictory redaction options.
        StoreError: nothing to export yet, or the file cannot be written (nothing is left behind).

    Example:
        >>> export(Case.open("c"), "register", fmt="hxl", path="register.csv")  # doctest: +SKIP
    """
    if fmt not in EXPORT_FORMATS:
        raise ConfigError(f"unknown export format '{fmt}': choose one of {', '.join(EXPORT_FORMATS)}")
    redacted = redaction_choice(fmt, redact, personal_data)
    table = export_table(case, what)
    if redacted:
        table = table.drop(columns=sorted(redacted_columns() & set(table.columns)))
    if what == "register" and "place" in table and fmt == "hxl":
        table.insert(list(table.columns).index("place") + 1, "place_code", [place_code(p) for p in table["place"]])
    table = _for_format(table, fmt)
    tags = hxl_tags(list(table.columns), affected=_affected_tag(case)) if fmt == "hxl" else None
    detail = {"what": what, "redacted": redacted}
    written = write_table(case, table, path, fmt=fmt, action="export", detail=detail, username=username,
                          bom=bom, hxl_tags=tags, sheet=what)
    return ExportResult(written.path, what, fmt, len(table), tuple(str(c) for c in table.columns), redacted,
                        written.size, written.sha256)
