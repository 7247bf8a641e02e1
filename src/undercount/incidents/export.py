"""Exports of incidents and displacement: CSV, XLSX, JSON and HXL (CSV with a hashtag row).

HXL hashtags follow the issue and core HXL 1.1 where one fits: ``#event+id``, ``#date``,
``#loc+name``, ``#adm1+name``, ``#geo+lat``, ``#affected+killed+min`` / ``+max``,
``#affected+idps``; fields without a core hashtag use ``#meta`` attributes. ``redact`` drops
what names people or families (the families a report names, the register ids of named
victims); as for the register's exports, HXL (made for sharing) drops them unless
``personal_data`` asks for them. Files are written by the project's safe writer (:func:`undercount.store.output.write_table`:
a temporary file readable by the owner only, audited, then put in place; formula-like cells
neutralised), so every export is in the case's audit log (what, format, rows; no names).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pandas as pd

from undercount.errors import ConfigError, StoreError

if TYPE_CHECKING:
    from undercount.store import Case

__all__ = ["ENTITY_EXPORTS", "ENTITY_FORMATS", "EntityExportResult", "export_entities", "entity_table",
           "INCIDENT_TAGS", "DISPLACEMENT_TAGS", "REDACTED"]

ENTITY_EXPORTS = ("incidents", "displacement")
ENTITY_FORMATS = ("csv", "xlsx", "json", "hxl")
REDACTED = frozenset({"families", "person_ids"})

INCIDENT_TAGS = {
    "incident_id": "#event+id", "date": "#date", "date_end": "#date+end", "date_precision": "#meta+date+precision",
    "place": "#loc+name", "adm1": "#adm1+name", "lat": "#geo+lat", "lon": "#geo+lon", "object_type": "#loc+type",
    "weapon": "#event+weapon", "killed_min": "#affected+killed+min", "killed_max": "#affected+killed+max",
    "injured_min": "#affected+injured+min", "injured_max": "#affected+injured+max", "actors": "#org+perpetrator",
    "grade": "#meta+grade", "grade_reason": "#description+grade", "n_reports": "#meta+report+count",
    "n_sources": "#meta+source+count", "sources": "#meta+source", "references": "#meta+url",
    "archive_hashes": "#meta+archive+hash", "named_killed": "#affected+killed+named", "named": "#affected+named",
    "coverage": "#description+coverage", "families": "#group+family", "person_ids": "#meta+person+id",
}
DISPLACEMENT_TAGS = {
    "date": "#date", "date_end": "#date+end", "date_precision": "#meta+date+precision", "origin": "#loc+name+origin",
    "origin_adm1": "#adm1+name+origin", "arrival": "#loc+name", "arrival_adm1": "#adm1+name",
    "displaced": "#affected+idps", "households": "#affected+idps+hh", "population": "#meta+population",
    "source": "#meta+source", "file": "#meta+file", "row": "#meta+row", "file_hash": "#meta+file+hash",
}


@dataclass(frozen=True)
class EntityExportResult:
    """What an export wrote: path, what, format, rows, columns and whether it was redacted."""

    path: Path
    what: str
    fmt: str
    rows: int
    columns: tuple[str, ...]
    redacted: bool


def _joined(values: Any, key: str | None = None) -> str | None:
    items = values if isinstance(values, list) else []
    texts = [str(v.get(key) if key and isinstance(v, dict) else v) for v in items]
    texts = [t for t in dict.fromkeys(texts) if t and t != "None"]
    return "; ".join(texts) or None


def _incidents(case: Case) -> pd.DataFrame:
    from undercount.incidents.assign import person_incidents
    from undercount.incidents.listing import coverage_text, list_incidents

    listed = list_incidents(case)
    table = listed.incidents
    if listed.run_id is None:
        raise StoreError(f"{case.path} has no deduplicated incidents: run 'undercount incidents dedupe' first")
    out = pd.DataFrame({
        "incident_id": table["incident_id"], "date": table["date_start"].dt.date, "date_end": table["date_end"].dt.date,
        "date_precision": table["date_precision"], "place": table["place"], "adm1": table["adm1"],
        "lat": table["lat"], "lon": table["lon"], "object_type": table["object_type"], "weapon": table["weapon"],
        "killed_min": table["killed_min"], "killed_max": table["killed_max"], "injured_min": table["injured_min"],
        "injured_max": table["injured_max"], "actors": [_joined(a) for a in table["actors"]],
        "grade": table["grade"], "grade_reason": table["grade_reason"], "n_reports": table["n_reports"],
        "n_sources": table["n_sources"], "sources": [_joined(s, "name") for s in table["sources"]],
        "references": [_joined(s, "reference") for s in table["sources"]],
        "archive_hashes": [_joined(s, "archive_hash") for s in table["sources"]],
        "named_killed": table["named_killed"], "named": table["named"],
        "coverage": [coverage_text(int(n), lo, hi) for n, lo, hi in
                     zip(table["named_killed"], table["killed_min"], table["killed_max"])],
    })
    families = case.query("SELECT c.incident_id, string_agg(DISTINCT r.family, '; ' ORDER BY r.family) AS families "
                          "FROM uc_incident_clusters c JOIN uc_incident_reports r USING (report_id) "
                          "WHERE c.run_id = ? AND r.family IS NOT NULL GROUP BY c.incident_id", [listed.run_id])
    out["families"] = out["incident_id"].map(families.set_index("incident_id")["families"])
    persons = person_incidents(case)
    ids = persons.groupby("incident_id")["person_id"].agg(lambda s: "; ".join(sorted(s)))
    out["person_ids"] = out["incident_id"].map(ids)
    for col in ("killed_min", "killed_max", "injured_min", "injured_max", "n_reports", "n_sources"):
        out[col] = pd.to_numeric(out[col], errors="coerce").astype("Int64")
    return out


def _displacement(case: Case) -> pd.DataFrame:
    from undercount.displacement import read_displacement

    table = read_displacement(case).counts
    if table.empty:
        raise StoreError(f"{case.path} holds no displacement counts: run 'undercount displacement import' first")
    return pd.DataFrame({
        "date": table["date_start"].dt.date, "date_end": table["date_end"].dt.date,
        "date_precision": table["date_precision"], "origin": table["origin"], "origin_adm1": table["origin_adm1"],
        "arrival": table["arrival"], "arrival_adm1": table["arrival_adm1"],
        "displaced": pd.to_numeric(table["displaced"]).astype("Int64"),
        "households": pd.to_numeric(table["households"]).astype("Int64"), "population": table["population"],
        "source": table["source_name"], "file": table["file"], "row": table["row"], "file_hash": table["file_hash"],
    })


def entity_table(case: Case, what: str) -> pd.DataFrame:
    """The table an export writes, before redaction.

    Raises:
        ConfigError: unknown ``what``. StoreError: nothing to export yet.
    """
    if what == "incidents":
        return _incidents(case)
    if what == "displacement":
        return _displacement(case)
    raise ConfigError(f"cannot export '{what}': choose one of {', '.join(ENTITY_EXPORTS)}")


def export_entities(case: Case, what: str, *, fmt: str = "csv", redact: bool | None = None, personal_data: bool = False,
                    path: str | Path, username: str | None = None) -> EntityExportResult:
    """Write the incidents or the displacement counts of a case to a file.

    Args:
        case: the case.
        what: 'incidents' (one row per incident of the current deduplication, with its named
            victims against its reported range) or 'displacement' (one row per count).
        fmt: 'csv', 'xlsx', 'json' or 'hxl' (CSV with the HXL hashtag row under the header).
        redact: drop the families reports name and the register ids of named victims (default: no,
            except for HXL, which drops them unless ``personal_data``).
        personal_data: keep them in HXL (refused with ``redact``).
        path: the file to write.
        username: who exports (for the audit log).

    Returns:
        An :class:`EntityExportResult`.

    Raises:
        ConfigError: unknown ``what`` or ``fmt``; ``redact`` with ``personal_data``; HXL with
            ``redact=False`` and no ``personal_data``. StoreError: nothing to export, or the file cannot be written.

    Example:
        >>> export_entities(case, "incidents", fmt="hxl", redact=True, path="incidents.csv")  # doctest: +SKIP
    """
    if fmt not in ENTITY_FORMATS:
        raise ConfigError(f"unknown export format '{fmt}': choose one of {', '.join(ENTITY_FORMATS)}")
    from undercount.store.output import redaction_choice, write_table

    redacted = redaction_choice(fmt, redact, personal_data)
    table = entity_table(case, what)
    if redacted:
        table = table.drop(columns=[c for c in table.columns if c in REDACTED])

    tags = INCIDENT_TAGS if what == "incidents" else DISPLACEMENT_TAGS
    target = Path(path)
    write_table(case, table, target, fmt=fmt, action="export", username=username, sheet=what,
                hxl_tags=[tags[c] for c in table.columns] if fmt == "hxl" else None,
                detail={"what": what, "redacted": redacted})
    return EntityExportResult(target, what, fmt, len(table), tuple(table.columns), redacted)
