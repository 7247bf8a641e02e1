"""Everything the report shows, read from a case into plain pandas objects.

Each reader tolerates a stage that has not run yet (no link run, no estimate run) and returns
empty tables, so a report can be written at any point of a case's life and say what is missing.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from typing import Any, cast

import pandas as pd

from undercount.review.queue import review_band
from undercount.store import Case
from undercount.store.fields import STATUS_GRAVITY, Role, record_table
from undercount.store.runs import link_model

__all__ = [
    "LinkageSummary",
    "load_register",
    "read_persons",
    "read_memberships",
    "read_linkage",
    "read_estimates",
    "read_sources",
    "read_audit",
    "stratum_label",
    "linkage_info",
    "review_band",
    "records",
]



def records(frame: pd.DataFrame) -> list[dict[str, Any]]:
    """The rows of a table with text column names as dicts keyed by column name.

    Args:
        frame: a table whose column names are all ``str`` (every table the report reads is).

    Returns:
        ``frame.to_dict(orient="records")``, typed by its real key type.

    Example:
        >>> records(pd.DataFrame({"a": [1]}))
        [{'a': 1}]
    """
    # pandas-stubs types the keys as Hashable, whatever the columns are; here they are str.
    return cast(list[dict[str, Any]], frame.to_dict(orient="records"))


def _objects(values: list[Any], index: pd.Index) -> pd.Series:
    """An object column holding lists or dicts, one per row (pandas-stubs only types scalar lists)."""
    return pd.Series(values, index=index, dtype=object)


def load_register(case: Case) -> pd.DataFrame:
    """The register of the current linkage (:func:`undercount.link.build_register`).

    Args:
        case: a linked case.

    Returns:
        One row per person with best values and the lists naming them, and each person's incident
        (incident_id, incident_date, incident_place, incident_object, incident_method) when victims
        were linked to incidents (``undercount incidents assign``).
    """
    from undercount.incidents.assign import person_incidents
    from undercount.link import build_register

    register = build_register(case)
    incidents = person_incidents(case)  # each person's incident, when victims were linked to incidents
    if incidents.empty:
        return register
    shown = incidents.rename(columns={"object_type": "incident_object", "method": "incident_method"})
    return register.merge(shown[["person_id", "incident_id", "incident_date", "incident_place", "incident_object",
                                 "incident_method"]], on="person_id", how="left")


_BEST = """
best_{f} AS (
  SELECT person_id, {f} FROM (
    SELECT person_id, {f}, count(*) AS n, min(rank) AS best_rank FROM f
    WHERE {f} IS NOT NULL{extra} GROUP BY person_id, {f}
  ) QUALIFY row_number() OVER (PARTITION BY person_id ORDER BY n DESC, best_rank, CAST({f} AS VARCHAR)) = 1
)"""

_PERSONS_SQL = """
WITH f AS (
  SELECT c.person_id, r.record_id, r.source, {fields},
         coalesce(r.event_date, r.reported_date) AS date, k.rank, {gravity} AS gravity
  FROM uc_clusters c JOIN uc_records r USING (record_id) JOIN ranks k ON k.source = r.source
  WHERE c.run_id = ?
),
persons AS (
  SELECT person_id, count(*) AS n_records, list(DISTINCT source ORDER BY source) AS sources FROM f GROUP BY person_id
),
latest AS (
  SELECT person_id, status FROM f WHERE status IS NOT NULL
  QUALIFY row_number() OVER (PARTITION BY person_id
                             ORDER BY gravity = 4 DESC, date DESC NULLS LAST, gravity DESC, rank DESC,
                                      record_id DESC) = 1
),
{best}
SELECT p.person_id, {chosen}, p.n_records, p.sources
FROM persons p {joins} LEFT JOIN latest USING (person_id)
ORDER BY p.person_id
"""


def person_columns() -> list[str]:
    """The columns of :func:`read_persons`: person_id, the record fields with the report role, n_records, sources."""
    return ["person_id", *record_table().with_role(Role.REPORT), "n_records", "sources"]


def _persons_sql() -> str:
    """The query of :func:`read_persons`, with a best value for every report field but the status."""
    fields = record_table().with_role(Role.REPORT)
    best = [f for f in fields if f != "status"]
    gravity = " ".join(f"WHEN '{s}' THEN {i}" for i, s in enumerate(STATUS_GRAVITY, start=1))
    return _PERSONS_SQL.format(
        fields=", ".join(f"r.{f}" for f in fields),
        gravity=f"CASE r.status {gravity} ELSE 0 END",
        best=",\n".join(_BEST.format(f=f, extra=" AND cause <> 'unknown'" if f == "cause" else "").strip()
                         for f in best),
        chosen=", ".join("latest.status" if f == "status" else f"best_{f}.{f}" for f in fields),
        joins=" ".join(f"LEFT JOIN best_{f} USING (person_id)" for f in best),
    )


def read_persons(case: Case) -> pd.DataFrame:
    """One row per person of the current linkage with the fields the figures need.

    Follows the register's documented rule (:mod:`undercount.link.register`), computed in the
    database because the report needs only these fields: a field's value is the most frequent
    non-null value among the person's records, ties to the more reliable list
    (:func:`undercount.link.register.source_ranks`); the status is killed when any record says
    killed, else the latest dated one, the gravest on equal dates; the cause is the most frequent known cause.

    Args:
        case: the case.

    Returns:
        The :func:`person_columns`: person_id, sex, age, event_date, place, status, cause,
        n_records, sources (list of list names); empty when the case has not been linked.
    """
    run = case.current_link_run()
    if run is None:
        return pd.DataFrame(columns=person_columns())
    from undercount.link.register import source_ranks

    ranks = source_ranks(case.query("SELECT source, id_valid FROM uc_records"))
    with case.connect(read_only=True) as con:
        con.register("ranks", pd.DataFrame({"source": ranks.index, "rank": ranks.to_numpy()}))
        persons = con.execute(_persons_sql(), [run]).df()
    persons["age"] = pd.to_numeric(persons["age"], errors="coerce")
    persons["event_date"] = pd.to_datetime(persons["event_date"], errors="coerce")
    persons["sources"] = persons["sources"].map(_as_list)
    return persons[person_columns()]


def _as_list(value: Any) -> list[str]:
    if value is None or (isinstance(value, float) and pd.isna(value)):
        return []
    if isinstance(value, str):
        text = value.strip()
        if text.startswith("["):
            return [str(v) for v in json.loads(text)]
        return [v.strip() for v in re.split(r"[;|,]", text) if v.strip()]
    return [str(v) for v in value]


def read_memberships(case: Case, lists: list[str]) -> pd.DataFrame:
    """One row per person, one boolean column per list (in the given order).

    Args:
        case: a linked case.
        lists: the list names, in import order.

    Returns:
        The membership table, empty when the case is not linked.
    """
    if case.current_link_run() is None:
        return pd.DataFrame(columns=lists, dtype=bool)
    clusters = case.clusters()
    table = pd.crosstab(clusters["person_id"], clusters["source"]) > 0
    return table.reindex(columns=lists, fill_value=False)


@dataclass(frozen=True)
class LinkageSummary:
    """The linkage of a case in numbers.

    Attributes:
        linked: whether a link run exists.
        run_id: the current link (or re-cluster) run.
        records, persons, multi_list: counts of records, persons, and persons on two lists or more.
        duplicates_within: records folded into another record of the same list.
        per_list: per list records, persons and duplicates removed.
        pairs: number of candidate pairs stored; probabilities: their match probabilities.
        threshold: the clustering threshold; band: the review band.
        waiting: undecided pairs inside the band; decided: pairs people have decided.
        waiting_examples: the pairs nearest the threshold (with names, for reviewers).
        sizes: records per person.
        engine: the linkage engine.
    """

    linked: bool
    run_id: str | None = None
    records: int = 0
    persons: int = 0
    multi_list: int = 0
    duplicates_within: int = 0
    per_list: pd.DataFrame = field(default_factory=pd.DataFrame)
    pairs: int = 0
    probabilities: pd.Series = field(default_factory=lambda: pd.Series(dtype=float))
    threshold: float | None = None
    band: tuple[float, float] | None = None
    waiting: int = 0
    decided: int = 0
    waiting_examples: pd.DataFrame = field(default_factory=pd.DataFrame)
    sizes: pd.Series = field(default_factory=lambda: pd.Series(dtype=int))
    engine: str | None = None


_EXAMPLE_SQL = """
SELECT p.probability, l.source AS source_l, l."row" AS row_l, l.full_name AS name_l, l.age AS age_l,
       l.sex AS sex_l, r.source AS source_r, r."row" AS row_r, r.full_name AS name_r, r.age AS age_r,
       r.sex AS sex_r
FROM uc_pairs p JOIN uc_records l ON l.record_id = p.record_id_l JOIN uc_records r ON r.record_id = p.record_id_r
WHERE p.run_id = ? AND p.probability BETWEEN ? AND ?
  AND NOT EXISTS (SELECT 1 FROM uc_decisions d WHERE d.record_id_l = p.record_id_l
                  AND d.record_id_r = p.record_id_r AND d.decision <> 'skip')
ORDER BY abs(p.probability - ?), p.record_id_l, p.record_id_r LIMIT ?
"""


def read_linkage(case: Case, *, examples: int = 12) -> LinkageSummary:
    """Counts of the current linkage, the pair probabilities and the links waiting for review.

    Args:
        case: the case.
        examples: how many waiting pairs to list by name.

    Returns:
        A :class:`LinkageSummary` (``linked`` False when the case has no link run).
    """
    run = case.current_link_run()
    if run is None:
        return LinkageSummary(linked=False)
    clusters = case.clusters()
    per_source = clusters.groupby(["person_id", "source"]).size()
    per_list = pd.DataFrame({
        "records": clusters.groupby("source").size(),
        "persons": per_source.groupby(level="source").size(),
    })
    per_list["duplicates"] = per_list["records"] - per_list["persons"]
    lists_per_person = per_source.groupby(level="person_id").size()
    pair_run = case.current_run("link")
    engine, threshold = link_model(case, pair_run) if pair_run is not None else (None, None)
    probabilities = case.query("SELECT probability FROM uc_pairs WHERE run_id = ?", [pair_run])["probability"]
    band = review_band(threshold) if threshold is not None else None
    waiting, waiting_examples = 0, pd.DataFrame()
    if band is not None:
        with case.connect(read_only=True) as con:
            count_sql = "SELECT count(*) FROM (" + _EXAMPLE_SQL.split("ORDER BY")[0] + ")"
            found = con.execute(count_sql, [pair_run, band[0], band[1]]).fetchone()
            waiting = 0 if found is None else int(found[0])
            waiting_examples = con.execute(_EXAMPLE_SQL, [pair_run, *band, threshold, examples]).df()
    decided = int(case.query("SELECT count(*) AS n FROM (SELECT DISTINCT record_id_l, record_id_r "
                             "FROM uc_decisions WHERE decision <> 'skip')")["n"].iloc[0])
    return LinkageSummary(
        linked=True,
        run_id=run,
        records=len(clusters),
        persons=int(clusters["person_id"].nunique()),
        multi_list=int((lists_per_person > 1).sum()),
        duplicates_within=int(per_list["duplicates"].sum()),
        per_list=per_list,
        pairs=len(probabilities),
        probabilities=probabilities,
        threshold=threshold,
        band=band,
        waiting=waiting,
        decided=decided,
        waiting_examples=waiting_examples,
        sizes=clusters.groupby("person_id").size(),
        engine=engine,
    )


def stratum_label(stratum: str) -> str:
    """A readable label for a stratum key: 'age_group=0-17|sex=female' -> 'age 0-17, female'.

    Args:
        stratum: the key stored in uc_estimates.

    Returns:
        The label ('All persons' for the total).
    """
    if stratum in ("total", "", "all"):
        return "All persons"
    parts = []
    for item in stratum.split("|"):
        key, _, value = item.partition("=")
        if key == "age_group":
            parts.append(f"age {value}")
        elif key in ("sex", "place", "status", "cause"):
            parts.append(value.replace("_", " "))
        else:
            parts.append(f"{key.replace('_', ' ')} {value}")
    return ", ".join(parts)


def linkage_info(details: dict[str, Any] | None) -> dict[str, Any]:
    """The linkage-uncertainty figures of a result's details ({} when the linkage was taken as certain).

    Args:
        details: ``EstimateResult.details`` (``details['linkage']`` holds draws, linkage_share,
            documented_min/median/max and the best linkage's estimate).

    Returns:
        The figures, with ``linkage_share`` set (None when not measured).
    """
    details = details or {}
    info = dict(details.get("linkage") or {})
    info.setdefault("linkage_share", details.get("linkage_share"))
    return info


def _batch_runs(case: Case) -> list[dict[str, Any]]:
    """The runs of the newest estimate: one per population, in the order they were estimated (killed first).

    An estimate of several populations stores one run per population, sharing ``params['batch']``.
    """
    runs = case.runs("estimate")
    if runs.empty:
        return []
    table = [dict(r) for r in records(runs)]
    for run in table:
        run["params"], run["summary"] = _json(run["params"]), _json(run["summary"])
    batch = table[0]["params"].get("batch")
    chosen = [r for r in table if batch is not None and r["params"].get("batch") == batch] or table[:1]
    return sorted(chosen, key=lambda r: (r["finished_at"], r["run_id"]))


def _run_rows(case: Case, run_id: str) -> pd.DataFrame:
    rows = case.query("SELECT * FROM uc_estimates WHERE run_id = ? ORDER BY stratum", [run_id])
    results = [json.loads(r) if isinstance(r, str) else (r or {}) for r in rows["result"]]
    rows["model"] = [r.get("model") for r in results]
    rows["estimable"] = [bool(r.get("estimable", e is not None)) for r, e in zip(results, rows["estimate"])]
    rows["reason"] = [r.get("reason") for r in results]
    rows["warnings"] = [list(r.get("warnings") or []) for r in results]
    rows["details"] = _objects([dict(r.get("details") or {}) for r in results], rows.index)
    rows["linkage"] = _objects([linkage_info(d) for d in rows["details"]], rows.index)
    rows["level"] = [float(r.get("level") or 0.95) for r in results]
    rows["is_total"] = rows["stratum"].isin(["total", "", "all"])
    rows["warnings"] = _objects(_own_warnings(rows["warnings"], rows["is_total"]), rows.index)
    rows["label"] = rows["stratum"].map(stratum_label)
    rows = pd.concat([rows[rows["is_total"]], rows[~rows["is_total"]]]).reset_index(drop=True)
    return rows.drop(columns=["result", "run_id"])


def _population_summary(run: dict[str, Any], rows: pd.DataFrame) -> dict[str, Any]:
    population = dict(run["params"].get("population") or {})
    total = rows[rows["is_total"]].iloc[0] if not rows.empty and rows["is_total"].any() else None
    out: dict[str, Any] = {"label": population.get("label") or "all victims", "status": population.get("status"),
                           "cause": population.get("cause"), "run_id": str(run["run_id"]), "notes": population}
    for key in ("documented", "estimate", "lower", "upper", "estimable", "reason", "level", "warnings", "details"):
        out[key] = None if total is None else total[key]
    for key in ("estimate", "lower", "upper"):
        value = out[key]
        out[key] = None if value is None or pd.isna(value) else float(value)
    return out


def read_estimates(case: Case) -> tuple[pd.DataFrame, dict[str, Any]]:
    """The rows of the current estimate's headline population and that run's parameters.

    Args:
        case: the case.

    Returns:
        (rows, run) where rows has stratum, label, method, model, documented, estimate, lower,
        upper, estimable, reason, warnings (list), details (dict), is_total of the headline
        population (the first estimated: killed when the lists hold any); run holds run_id,
        params, summary, finished_at, population (the headline's label, status, cause) and
        populations (one summary per population of the same estimate, the headline first);
        an empty dict when nothing was estimated.
    """
    runs = _batch_runs(case)
    if not runs:
        return pd.DataFrame(), {}
    tables = [_run_rows(case, str(run["run_id"])) for run in runs]
    first = runs[0]
    info = {
        "run_id": str(first["run_id"]),
        "params": first["params"],
        "summary": first["summary"],
        "finished_at": first["finished_at"],
        "populations": [_population_summary(run, rows) for run, rows in zip(runs, tables)],
    }
    info["population"] = info["populations"][0]
    return tables[0], info


def _own_warnings(warnings: pd.Series, is_total: pd.Series) -> list[list[str]]:
    # the total inherits its strata's warnings: keep each with its stratum only (its numbers are the stratum's)
    inherited = {w for ws, total in zip(warnings, is_total) if not total for w in ws}
    return [[w for w in ws if w not in inherited] if total else ws for ws, total in zip(warnings, is_total)]


def _json(value: Any) -> dict[str, Any]:
    if isinstance(value, str):
        loaded = json.loads(value)
        return loaded if isinstance(loaded, dict) else {"value": loaded}
    return dict(value or {})


def read_audit(case: Case) -> dict[str, dict[str, Any]]:
    """The quality audit of each list (:func:`undercount.ingest.audit_case`), by list name."""
    from undercount.ingest import audit_case

    lists = audit_case(case).to_dict().get("lists", {})
    return {str(k): dict(v) for k, v in lists.items()}


def read_sources(case: Case) -> pd.DataFrame:
    """Each imported list with its file, hash, rows, date range of events and audit.

    Args:
        case: the case.

    Returns:
        One row per list: name, file_name, file_hash, format, encoding, row_count, imported_at,
        first_event, last_event, last_reported, audit (dict).
    """
    sources = case.sources()
    if sources.empty:
        return sources
    ranges = case.query(
        "SELECT source AS name, min(event_date) AS first_event, max(event_date) AS last_event, "
        "max(reported_date) AS last_reported FROM uc_records GROUP BY source"
    )
    table = sources.merge(ranges, on="name", how="left")
    audit = read_audit(case)
    table["audit"] = _objects([audit.get(name, {}) for name in table["name"]], table.index)
    return table
