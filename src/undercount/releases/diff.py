"""The diff of two releases of one list: what was added, removed, corrected, moved, and why.

:func:`diff_releases` links the records of two releases with the project's linkage model (the
same comparisons, blocking and training as ``undercount link``; the ID number is strong evidence,
not a key), matches them one to one (:mod:`undercount.releases.match`), classifies every record,
sets each release beside its top line (:mod:`undercount.releases.profile`) and stores the result
as a ``diff`` run (``uc_release_diffs``). The same two releases diffed again with the same options
read the stored run back (releases never change) unless ``again`` is asked.

Example:
    >>> result = diff_releases(Case.open("case"), "moh")  # doctest: +SKIP
    >>> result.counts().loc["removed", "earlier"]  # doctest: +SKIP
    1204
"""

from __future__ import annotations

import json
import time
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from typing import Any

import numpy as np
import pandas as pd

from undercount.errors import ConfigError, StoreError
from undercount.estimate.strata import AGE_GROUPS, age_group
from undercount.link.clusters import cluster_records
from undercount.link.model import LinkOptions
from undercount.link.run import score_records
from undercount.releases.match import CLASSES, COMPARED, classify_pairs, match_releases
from undercount.releases.profile import release_profile
from undercount.store import Case
from undercount.store.fields import Role, record_table
from undercount.store.releases import ReleaseInfo, list_releases

__all__ = ["DiffOptions", "DiffResult", "diff_releases", "pick_releases", "read_diff", "write_diff"]

_COLUMNS = ("record_id", "source", "row", "full_name", "name_norm", "id_number", "id_valid", "sex", "age",
            "date_of_birth", "event_date", "place", "status", "cause", "reported_date")
AGE_SEX_GROUPS = tuple(f"{a}|{s}" for a in (*AGE_GROUPS, "unknown") for s in ("female", "male", "unknown"))


@dataclass(frozen=True)
class DiffOptions:
    """Options of a diff (stored with its run).

    Attributes:
        threshold: match probability at or above which two records are one person.
        u_max_pairs, em_max_pairs: training sample sizes of the linkage model (smaller than a
            link run's: two releases of one list share most of their records, and the diff
            should take seconds, not minutes).
        seed: seed of the model's sampling.
        engine: 'duckdb' or 'spark'.
        refit_rounds: rounds of the model's last fit on the scored candidate pairs (a link run
            makes 3; one is enough between two releases of one list, which share most records).
    """

    threshold: float = 0.5
    u_max_pairs: float = 1e6
    em_max_pairs: float = 2.5e5
    seed: int = 0
    engine: str = "duckdb"
    refit_rounds: int = 1

    def __post_init__(self) -> None:
        if not 0.0 < self.threshold < 1.0:
            raise ConfigError(f"the threshold must be between 0 and 1 (got {self.threshold})")

    def link_options(self) -> LinkOptions:
        """The linkage options of the diff's model."""
        # No one-to-one competition in the model: the diff matches the releases one to one itself,
        # on the plain match weights (competition lowers a true pair's weight by its own
        # duplicate's, so an extra copy could win the match); duplicates are expected here.
        return LinkOptions(threshold=self.threshold, u_max_pairs=self.u_max_pairs, em_max_pairs=self.em_max_pairs,
                           seed=self.seed, missed_sample=0, one_to_one_below=0.0, refit_rounds=self.refit_rounds)

    def to_dict(self) -> dict[str, Any]:
        """The options as a plain dict."""
        return asdict(self)


@dataclass(frozen=True)
class DiffResult:
    """What changed between two releases of one list (no names, no ID numbers: record references).

    Attributes:
        list_name: the list.
        before, after: the earlier and the later release.
        rows: one row per record of either release (a matched pair shares one): class,
            record_from/record_to, row_from/row_to (the records' rows in their files), probability,
            fields (changed fields of a matched pair), spelling_only, reference (the record a
            duplicate copies, or the other holder of a reassigned ID) and reference_row,
            status_from/status_to, status, sex, age_group.
        profiles: ``{"before": ..., "after": ...}`` of :func:`release_profile`.
        options: the options used.
        linkage: the model's training summary and the pairs it scored.
        seconds: time taken (of the run that computed it).
        run_id: the stored 'diff' run.
        reused: read back from a stored run rather than computed.
    """

    list_name: str
    before: ReleaseInfo
    after: ReleaseInfo
    rows: pd.DataFrame = field(repr=False)
    profiles: dict[str, dict[str, Any]] = field(default_factory=dict)
    options: DiffOptions = field(default_factory=DiffOptions)
    linkage: dict[str, Any] = field(default_factory=dict)
    seconds: float = 0.0
    run_id: str | None = None
    reused: bool = False

    def counts(self) -> pd.DataFrame:
        """Rows per class: records of the earlier release (``earlier``) and of the later (``later``).

        The ``earlier`` column sums to the earlier release's size, ``later`` to the later's.
        """
        earlier = self.rows.loc[self.rows["record_from"].notna(), "class"].value_counts()
        later = self.rows.loc[self.rows["record_to"].notna(), "class"].value_counts()
        table = pd.DataFrame({"earlier": earlier, "later": later}).reindex(list(CLASSES)).fillna(0).astype(int)
        table.index.name = "class"
        return table

    def _crosstab(self, column: str, order: tuple[str, ...]) -> pd.DataFrame:
        table = pd.crosstab(self.rows["class"], self.rows[column])
        extra = [c for c in table.columns if c not in order]
        return table.reindex(index=list(CLASSES), columns=[*[c for c in order if c in table.columns], *extra]).fillna(0).astype(int)

    def by_status(self) -> pd.DataFrame:
        """Rows per class and status (the later record's status, else the earlier's)."""
        from undercount.store.fields import STATUSES

        return self._crosstab("status", (*STATUSES, "unknown"))

    def by_age_sex(self) -> pd.DataFrame:
        """Rows per class and age group|sex (the later record's values, else the earlier's)."""
        return self._crosstab("age_sex", AGE_SEX_GROUPS)

    def status_moves(self) -> dict[str, int]:
        """'missing -> killed': number of persons, for each status move."""
        moved = self.rows[self.rows["class"] == "status_moved"]
        keys = moved["status_from"].fillna("unknown") + " -> " + moved["status_to"].fillna("unknown")
        return {str(k): int(v) for k, v in keys.value_counts().items()}

    def field_changes(self) -> dict[str, dict[str, int]]:
        """Per field, matched persons whose value changed: names also how many in spelling only,
        ages the most common shifts ('by -1 year': a release that recomputed ages shows here),
        dates of birth how many only swapped day and month."""
        pairs = self.rows[self.rows["record_from"].notna() & self.rows["record_to"].notna()]
        out: dict[str, dict[str, int]] = {}
        for fld in COMPARED:
            has = pairs["fields"].map(lambda f, fld=fld: fld in f)
            n = int(has.sum())
            if n:
                out[fld] = {"changed": n}
                if fld == "name":
                    out[fld]["spelling_only"] = int((has & pairs["spelling_only"].astype(bool)).sum())
                if fld == "age" and "age_shift" in pairs:
                    shifts = pairs.loc[has, "age_shift"].dropna().astype(int).value_counts().head(4)
                    out[fld].update({f"by {int(k):+d} year{'s' if abs(int(k)) != 1 else ''}": int(v)
                                     for k, v in shifts.items()})
                if fld == "date_of_birth" and "dob_swapped" in pairs:
                    out[fld]["day_month_swapped"] = int((has & pairs["dob_swapped"].astype(bool)).sum())
        return out

    def references(self, cls: str) -> list[tuple[int | None, int | None]]:
        """(row in the earlier release, row in the later) of every row of a class."""
        part = self.rows[self.rows["class"] == cls]
        return [(None if pd.isna(a) else int(a), None if pd.isna(b) else int(b))
                for a, b in zip(part["row_from"], part["row_to"])]

    def to_dict(self, *, records: bool = True) -> dict[str, Any]:
        """A JSON-ready dict: counts, tables, profiles and (``records``) the rows behind each count.

        ``records[class]`` lists ``[row_from, row_to]`` (null where the record is in one release
        only): rows of the files of ``from.source`` and ``to.source``.
        """
        counts = self.counts()
        earlier: dict[str, int] = {str(k): int(v) for k, v in counts["earlier"].items()}
        later: dict[str, int] = {str(k): int(v) for k, v in counts["later"].items()}
        out: dict[str, Any] = {
            "list": self.list_name, "from": self.before.to_dict(), "to": self.after.to_dict(),
            "counts": {c: {"earlier": earlier[c], "later": later[c]} for c in CLASSES},
            "totals": {"earlier": sum(earlier.values()), "later": sum(later.values())},
            "by_status": _table_dict(self.by_status()), "by_age_sex": _table_dict(self.by_age_sex()),
            "status_moves": self.status_moves(), "fields": self.field_changes(), "profiles": self.profiles,
            "options": self.options.to_dict(), "linkage": self.linkage, "seconds": round(self.seconds, 2),
            "run_id": self.run_id, "reused": self.reused,
        }
        if records:
            out["records"] = {c: [list(r) for r in self.references(c)] for c in CLASSES}
        return out


def _table_dict(table: pd.DataFrame) -> dict[str, dict[str, int]]:
    return {str(i): {str(c): int(v) for c, v in row.items() if v} for i, row in table.iterrows() if row.sum()}


def pick_releases(case: Case, list_name: str, before: str | None = None, after: str | None = None
                  ) -> tuple[ReleaseInfo, ReleaseInfo]:
    """The two releases to diff: by default the list's two newest; ``before`` alone is diffed with
    the newest, ``after`` alone with the release before it.

    Raises:
        ConfigError: a list of one release, an unknown release, or ``before`` not earlier than ``after``.
    """
    rels = list_releases(case, list_name)
    owner = rels[0].list_name
    if len(rels) < 2:
        raise ConfigError(f"list '{owner}' has one release: import a later one with "
                          f"'undercount import CASE FILE --release-of {owner} --released YYYY-MM-DD'")

    def find(wanted: str) -> ReleaseInfo:
        for rel in rels:
            if wanted in (rel.source, rel.released.isoformat() if rel.released else None):
                return rel
        raise ConfigError(f"list '{owner}' has no release {wanted!r}: its releases are "
                          + ", ".join(r.label for r in rels))

    late = find(after) if after else rels[-1]
    early = find(before) if before else (rels[late.position - 2] if late.position > 1 else None)
    if early is None or early.position >= late.position:
        first = early.label if early else "(none)"
        raise ConfigError(f"the earlier release must come before the later one in list '{owner}' "
                          f"(got {first} and {late.label})")
    return early, late


def _records(case: Case, sources: tuple[str, str]) -> pd.DataFrame:
    link_cols = list(record_table().with_role(Role.LINK))
    cols = list(dict.fromkeys([*_COLUMNS, *link_cols]))
    return case.records(cols, sources=list(sources))


def _within_persons(recs: pd.DataFrame, pairs: pd.DataFrame, threshold: float) -> int:
    """Distinct persons among one release's records (its own duplicates linked)."""
    ids = set(recs["record_id"].astype("int64"))
    inside = pairs[pairs["record_id_l"].isin(ids) & pairs["record_id_r"].isin(ids)]
    person = cluster_records(recs[["record_id", "source", "sex", "id_number", "id_valid"]], inside,
                             threshold=threshold)
    return int(person.nunique())


def _detail(frame: pd.DataFrame, recs: pd.DataFrame) -> pd.DataFrame:
    """Rows of the records, statuses, and the age-sex group of each row."""
    out = frame.copy()
    by_id = recs.set_index("record_id")
    for end in ("from", "to"):
        ids = out[f"record_{end}"]
        rows = by_id["row"].reindex(ids.fillna(-1).astype("int64").to_numpy()).to_numpy()
        out[f"row_{end}"] = pd.array([None if pd.isna(r) else int(r) for r in rows], dtype="Int64")
        out[f"status_{end}"] = by_id["status"].reindex(ids.fillna(-1).astype("int64").to_numpy()).to_numpy()
    ref = out["reference"].fillna(-1).astype("int64").to_numpy()
    out["reference_row"] = pd.array([None if pd.isna(r) else int(r) for r in by_id["row"].reindex(ref).to_numpy()],
                                    dtype="Int64")
    before = by_id.reindex(out["record_from"].fillna(-1).astype("int64").to_numpy())
    after = by_id.reindex(out["record_to"].fillna(-1).astype("int64").to_numpy())
    # how a matched person's age moved (a whole release recomputing ages shows as one shift) and
    # whether a changed date of birth only swapped its day and month
    out["age_shift"] = (pd.to_numeric(after["age"], errors="coerce").to_numpy()
                        - pd.to_numeric(before["age"], errors="coerce").to_numpy())
    born_b = pd.to_datetime(before["date_of_birth"], errors="coerce").reset_index(drop=True)
    born_a = pd.to_datetime(after["date_of_birth"], errors="coerce").reset_index(drop=True)
    out["dob_swapped"] = ((born_b.dt.day == born_a.dt.month) & (born_b.dt.month == born_a.dt.day)
                          & (born_b.dt.year == born_a.dt.year) & (born_b != born_a)).fillna(False).to_numpy(bool)
    own = out["record_to"].fillna(out["record_from"]).astype("int64").to_numpy()
    mine = by_id.reindex(own)
    out["status"] = mine["status"].fillna("unknown").to_numpy()
    out["sex"] = mine["sex"].to_numpy()
    out["age_group"] = age_group(mine["age"]).to_numpy()
    out["age_sex"] = (pd.Series(out["age_group"]).fillna("unknown").to_numpy().astype(object) + "|"
                      + pd.Series(out["sex"]).fillna("unknown").to_numpy().astype(object))
    order = out["class"].map({c: i for i, c in enumerate(CLASSES)})
    out = out.assign(_o=order.to_numpy(), _f=out["record_from"].fillna(-1).to_numpy(), _t=out["record_to"].fillna(-1).to_numpy())
    return out.sort_values(["_o", "_f", "_t"], kind="stable").drop(columns=["_o", "_f", "_t"]).reset_index(drop=True)


def diff_releases(case: Case, list_name: str, *, before: str | None = None, after: str | None = None,
                  options: DiffOptions | None = None, store: bool = True, again: bool = False,
                  username: str | None = None) -> DiffResult:
    """Diff two releases of one list, classify every record of both, store the run.

    Args:
        case: an open case.
        list_name: the list (or the name of one of its releases).
        before, after: the releases (names or dates); see :func:`pick_releases`.
        options: the diff's options.
        store: write the result as a 'diff' run (``uc_release_diffs``).
        again: compute even when a stored run of the same releases and options exists.
        username: who runs it (default: the OS user).

    Returns:
        A :class:`DiffResult`.

    Raises:
        ConfigError: see :func:`pick_releases`; a bad option.
        StoreError: the case cannot be read or written.
    """
    opts = options or DiffOptions()
    early, late = pick_releases(case, list_name, before, after)
    if not again:
        stored = _stored_run(case, early, late, opts)
        if stored is not None:
            return read_diff(case, stored)
    started, t0 = datetime.now(UTC).replace(tzinfo=None), time.perf_counter()
    phases: dict[str, float] = {}
    clock = [t0, time.process_time()]

    def phase(name: str) -> None:  # wall and CPU seconds of each step (printed by the bench)
        now, cpu = time.perf_counter(), time.process_time()
        phases[name], phases[f"{name}_cpu"] = round(now - clock[0], 2), round(cpu - clock[1], 2)
        clock[:] = [now, cpu]

    recs = _records(case, (early.source, late.source))
    side = pd.Series(np.where(recs["source"] == early.source, "from", "to"), index=recs["record_id"].to_numpy())
    phase("read")
    pairs, training = score_records(case, recs, options=opts.link_options(), engine=opts.engine)
    phase("linkage")
    indexed = recs.set_index("record_id")
    rows = match_releases(indexed, side, pairs, threshold=opts.threshold).frame
    rows = _detail(classify_pairs(rows, indexed), recs)
    phase("classify")
    profiles = {}
    for key, rel in (("before", early), ("after", late)):
        part = recs[recs["source"] == rel.source]
        profiles[key] = release_profile(part, top_line=rel.top_line, top_line_identified=rel.top_line_identified,
                                        persons=_within_persons(part, pairs, opts.threshold))
    phase("profiles")
    linkage = {"pairs_scored": len(pairs), "prior": training.get("prior"), "em_sessions": training.get("em_sessions"),
               "blocking": training.get("blocking", {}), "phases": phases}
    result = DiffResult(early.list_name, early, late, rows, profiles, opts, linkage, time.perf_counter() - t0)
    if store:
        result = write_diff(case, result, started=started, username=username)
    return result


def _changes(row: Any) -> str:
    data: dict[str, Any] = {}
    if row.fields:
        data["fields"] = list(row.fields)
    if row.spelling_only:
        data["spelling_only"] = True
    if not pd.isna(row.reference):
        data["reference"] = int(row.reference)
    return json.dumps(data)


def write_diff(case: Case, result: DiffResult, *, started: datetime, username: str | None = None) -> DiffResult:
    """Store a computed diff as a 'diff' run; returns it with its run id.

    Raises:
        StoreError: the case cannot be written (nothing is stored).
    """
    from dataclasses import replace

    run_id = case.new_run_id("diff")
    rows = result.rows
    frame = pd.DataFrame({
        "class": rows["class"].astype(str).reset_index(drop=True),
        "record_from": rows["record_from"].astype("Int64").reset_index(drop=True),
        "record_to": rows["record_to"].astype("Int64").reset_index(drop=True),
        "probability": pd.to_numeric(rows["probability"], errors="coerce").to_numpy(),
        "changes": [_changes(r) for r in rows[["fields", "spelling_only", "reference"]].itertuples(index=False)],
    })
    summary = {
        "list": result.list_name, "from": result.before.source, "to": result.after.source,
        "counts": result.to_dict(records=False)["counts"],
        "profiles": result.profiles, "linkage": result.linkage, "seconds": round(result.seconds, 2),
    }
    params = {"list": result.list_name, "from": result.before.source, "to": result.after.source,
              "options": result.options.to_dict()}
    with case.transaction() as con:
        con.register("uc_new_diff", frame)
        try:
            con.execute("INSERT INTO uc_release_diffs SELECT ?, ?, ?, ?, class, record_from, record_to, probability, "
                        "changes::JSON FROM uc_new_diff", [run_id, result.list_name, result.before.source, result.after.source])
        finally:
            con.unregister("uc_new_diff")
        case.record_run(con, run_id=run_id, kind="diff", started_at=started, params=params, summary=summary,
                        username=username)
    return replace(result, run_id=run_id)



def _stored_run(case: Case, early: ReleaseInfo, late: ReleaseInfo, opts: DiffOptions) -> str | None:
    from undercount._version import __version__

    runs = case.query(
        "SELECT run_id, params, version FROM uc_runs WHERE kind = 'diff' ORDER BY finished_at DESC, run_id DESC")
    for run_id, params, version in runs.itertuples(index=False):
        p = json.loads(params) if isinstance(params, str) else dict(params or {})
        if (p.get("from") == early.source and p.get("to") == late.source and p.get("options") == opts.to_dict()
                and version == __version__):
            return str(run_id)
    return None


def read_diff(case: Case, run_id: str) -> DiffResult:
    """A stored diff run, read back with its records' rows and statuses.

    Raises:
        StoreError: no such diff run.
    """
    runs = case.query("SELECT params, summary FROM uc_runs WHERE run_id = ? AND kind = 'diff'", [run_id])
    if runs.empty:
        raise StoreError(f"{case.path} has no diff run {run_id}")
    params = json.loads(runs["params"].iloc[0])
    summary = json.loads(runs["summary"].iloc[0])
    rels = {r.source: r for r in list_releases(case, params["list"])}
    if params["from"] not in rels or params["to"] not in rels:
        raise StoreError(f"diff run {run_id} names releases the case no longer lists")
    early, late = rels[params["from"]], rels[params["to"]]
    stored = case.query("SELECT class, record_from, record_to, probability, changes FROM uc_release_diffs "
                        "WHERE run_id = ?", [run_id])
    changes = [json.loads(c) if isinstance(c, str) else (c or {}) for c in stored["changes"]]
    frame = pd.DataFrame({
        "class": stored["class"].astype(object), "record_from": stored["record_from"].astype("Int64"),
        "record_to": stored["record_to"].astype("Int64"), "probability": stored["probability"],
        "match_weight": np.nan,
        "reference": pd.array([c.get("reference") for c in changes], dtype="Int64"),
        "fields": [tuple(c.get("fields", ())) for c in changes],
        "spelling_only": [bool(c.get("spelling_only", False)) for c in changes],
    })
    recs = _records(case, (early.source, late.source))
    rows = _detail(frame, recs)
    opts = DiffOptions(**params.get("options", {}))
    return DiffResult(early.list_name, early, late, rows, summary.get("profiles", {}), opts,
                      summary.get("linkage", {}), float(summary.get("seconds", 0.0)), run_id, reused=True)
