"""Link a case: train, score, cluster, and store the run (pairs, clusters, model).

``link_case`` is the whole stage; ``recluster`` re-applies the clustering to the current
pairs with the newest review decisions; ``export_clusters`` writes the clusters as CSV.
"""

from __future__ import annotations

import json
import math
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field, replace
from datetime import UTC, datetime
from functools import partial
from pathlib import Path
from typing import Any, TypedDict

import numpy as np
import pandas as pd

from undercount.errors import ConfigError, LinkError
from undercount.link import splink_compat
from undercount.link.backends import ENGINES, get_backend
from undercount.link.blocking import KEYS_COLUMN
from undercount.link.calibrate import recalibrate
from undercount.link.clusters import attachment_probability, cluster_records
from undercount.link.comparisons import NAME_PARTS, ComparisonSpec, default_comparisons, field_comparison
from undercount.link.fields import declared_fields, field_values
from undercount.link.lineage import (
    LIST_OFFSETS_KEY,
    OFFSETS_KEY,
    LineageRates,
    apply_corrections,
    measure_rates,
    refit_lineage,
)
from undercount.link.lookups import TableLookups
from undercount.link.missed import estimate_unstored, missed_links, write_unstored
from undercount.link.model import (
    LinkOptions,
    cross_script_share,
    evidence_frame,
    floor_of,
    prediction_blocking_rules,
    score_pairs,
    scored_select,
    settings_dict,
    train,
    transfer_parameters,
    women_share,
)
from undercount.link.posterior import list_pair_posterior, plus_bits
from undercount.link.prepare import LIST_COLUMNS, prepare_records
from undercount.link.refit import refit_m
from undercount.link.spelling import (
    SPELLING_COLUMN,
    SPELLING_LEVELS,
    SpellingWeights,
    spelling_summary,
    spelling_weights,
)
from undercount.link.thirdlist import THIRD_LIST_LEVELS, ThirdListWeights, third_list_weights
from undercount.names import pivot_scripts
from undercount.store import Case
from undercount.store.fields import Role, record_table
from undercount.store.output import write_output
from undercount.store.releases import ReleaseChoice, choose_releases
from undercount.store.runs import link_model, run_inputs

#: The steps :func:`link_case` reports to its ``progress`` callback, in order.
LINK_STEPS = ("blocking", "training and scoring", "clustering", "missed links", "storing")

__all__ = [
    "LINK_STEPS",
    "LinkResult", "blocked_pairs", "score_records", "decision_pairs", "linkage_table", "link_case", "recluster",
    "export_clusters", "DEFAULT_THRESHOLD",
]

DEFAULT_THRESHOLD = LinkOptions().threshold
_RECORD_COLUMNS = list(record_table().with_role(Role.LINK))  # the fields linkage reads
# ... and the normalised full name, whose Latin tokens a typing error at a space may have damaged.
_LINK_READ = [*_RECORD_COLUMNS, "name_norm"]


@dataclass(frozen=True)
class LinkResult:
    """What a link or re-cluster run did (no names, no IDs)."""

    run_id: str
    kind: str
    engine: str
    threshold: float
    records: int
    lists: int
    pairs: int
    links: int
    persons: int
    persons_with_several_records: int
    largest_cluster: int
    seconds: float
    training: dict[str, Any] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)
    missed: list[dict[str, Any]] = field(default_factory=list)

    @property
    def blocking(self) -> dict[str, Any]:
        """What blocking's caps and conditions left out ({"dropped": {rule: {blocks, records, pairs}}, "skipped": [...],
        "held_back": {family: pairs}, "capped": {family capped on purpose: {blocks, records, pairs, cap}}})."""
        return dict(self.training.get("blocking", {}))

    def to_dict(self) -> dict[str, Any]:
        """The result as a JSON-ready dict."""
        return asdict(self)


def _now() -> datetime:
    return datetime.now(UTC).replace(tzinfo=None)


def decision_pairs(case: Case) -> tuple[list[tuple[int, int]], list[tuple[int, int]]]:
    """People's newest decisions as (must-link, cannot-link) record-id pairs; skips excluded."""
    decisions = case.decisions()
    pairs = {
        kind: [(int(a), int(b)) for a, b in
               decisions.loc[decisions["decision"] == kind, ["record_id_l", "record_id_r"]].itertuples(index=False)]
        for kind in ("same", "different")
    }
    return pairs["same"], pairs["different"]


def _check_records(case: Case, records: pd.DataFrame) -> list[str]:
    if records.empty:
        raise LinkError(f"case {case.path} holds no records: import a list first ('undercount import')")
    if len(records) == 1:
        raise LinkError(f"case {case.path} holds a single record: there is nothing to link")
    if records["source"].nunique() == 1:
        return ["the case holds one list: linking finds duplicates within it"]
    return []


def _linker(backend: Any, prepared: pd.DataFrame, settings: dict[str, Any]) -> Any:
    return splink_compat.linker(backend.register(prepared, "uc_link_input"), settings)


def _backend(engine: str, options: LinkOptions) -> Any:
    return get_backend(engine, memory_limit=options.memory_limit) if engine == "duckdb" else get_backend(engine)


def _score(
    prepared: pd.DataFrame, *, engine: str, options: LinkOptions, labels: pd.DataFrame | None,
    comparisons: tuple[ComparisonSpec, ...], reviewed: dict[tuple[int, int], int] | None = None,
) -> tuple[pd.DataFrame, dict[str, Any], dict[str, Any], PairBits]:
    """Train (on the training engine), then score every blocked pair (on the chosen engine);
    ``reviewed`` (record pair -> 1 same, 0 different) recalibrates the probabilities. Also returns
    the bits learnt on the stored pairs after the model (spelling, third list), for other pairs."""
    splink_compat.quiet()
    train_engine = engine if options.train_engine == "same" else options.train_engine
    backend = _backend(train_engine, options)
    scorer = backend
    try:
        settings = settings_dict(backend.dialect, options=options, n_records=len(prepared), comparisons=comparisons)
        linker = _linker(backend, prepared, settings)
        if engine == train_engine:  # the linker that trains also scores: compare a small case's pairs once
            splink_compat.share_vectors(linker)
        share = cross_script_share(prepared["script"])
        texts = tuple(c for c in prepared.columns if c.startswith("f_") and prepared[c].dtype == object
                      and not prepared[c].dropna().map(lambda v: not isinstance(v, str)).any())
        summary = train(linker, n_records=len(prepared), options=options, labels=labels, cross_share=share,
                        prepared=prepared, fields=texts)
        settings = splink_compat.save_model(linker)
        trained = settings  # before the refit on the candidates (link.missed scores unblocked pairs with it)
        if engine != train_engine:
            scorer = _backend(engine, options)
            target = settings_dict(scorer.dialect, options=options, n_records=len(prepared), comparisons=comparisons)
            linker = _linker(scorer, prepared, transfer_parameters(settings, target))
        predictions = score_pairs(linker, options)
        scored = scorer.to_pandas(predictions, scored_select(comparisons))
        # The engine's work is done: free its memory (DuckDB's buffers, up to its memory limit)
        # before the pairs are refitted in memory (closing twice below is harmless).
        backend.close()
        if scorer is not backend:
            scorer.close()
        rates = measure_rates(prepared)
        lookups = TableLookups(prepared)  # what the corrections read of the table, made once for every round
        graph: dict[str, Any] = {}  # the one-to-one graph's structure: the rounds score the same pairs
        scored, settings, lists = refit_m(
            scored, settings,
            lambda frame, model: _list_pair_posterior(prepared, apply_corrections(prepared, frame, model, rates, lookups=lookups),
                                                      model, options, reuse=graph),
            rounds=options.refit_rounds, floor_of=partial(floor_of, women=women_share(prepared)),
            update=lambda frame, model: refit_lineage(prepared, frame, model),
        )
        calibration: dict[str, Any] = {}
        if options.recalibrate:
            scored, calibration = recalibrate(prepared, scored, reviewed)
        scored = scored[scored["match_probability"] >= options.floor]
        spelling: dict[str, Any] = {}
        bits = PairBits()
        if options.spelling:
            scored, spelling, bits = _spelling(prepared, scored)
        third: dict[str, Any] = {}
        if options.third_list:
            scored, third, bits = _third_list(prepared, scored, options, bits)
    finally:
        backend.close()
        if scorer is not backend:
            scorer.close()
    return evidence_frame(scored, comparisons), settings, {
        **summary, "train_engine": train_engine, "corrections": asdict(rates), "list_pairs": lists,
        "calibration": calibration, "spelling": spelling, "third_list": third,
        "lineage_offsets": settings.get(OFFSETS_KEY, {}),
        # the u offsets of shared names hold for unblocked pairs as well (they count the whole table)
        "lineage_offsets_by_lists": settings.get(LIST_OFFSETS_KEY, {}),
        "trained_model": {**trained, OFFSETS_KEY: settings.get(OFFSETS_KEY, {}),
                          LIST_OFFSETS_KEY: settings.get(LIST_OFFSETS_KEY, {})},
    }, bits


def _list_pair_posterior(
    prepared: pd.DataFrame, scored: pd.DataFrame, settings: dict[str, Any], options: LinkOptions,
    reuse: dict[str, Any] | None = None,
) -> tuple[pd.DataFrame, dict[str, Any]]:
    """Each pair's probability with the prior of its pair of lists, one-to-one where it holds (``reuse``: see
    :func:`undercount.link.posterior.list_pair_posterior`)."""
    prior = float(settings["probability_two_random_records_match"])
    if scored.empty:
        return scored, {}
    global_log2 = math.log2(prior / (1 - prior))
    post = list_pair_posterior(
        scored["unique_id_l"].to_numpy(), scored["unique_id_r"].to_numpy(),
        scored["match_weight"].to_numpy(dtype=float) - global_log2,
        prepared.set_index("unique_id")["source"], prior=prior, one_to_one_below=options.one_to_one_below,
        bipartite_prior=options.bipartite_prior, reuse=reuse,
    )
    out = scored.copy(deep=False)  # new columns only (copy-on-write: ``scored`` is not changed)
    out["mw_list_prior"] = post.prior_weight
    out["mw_one_to_one"] = post.competition
    out["match_weight"] = post.log2_odds
    out["match_probability"] = post.probability
    return out, post.summary()


def _write_clusters(con: Any, run_id: str, person: pd.Series, prob: pd.Series) -> None:
    frame = pd.DataFrame({"record_id": person.index.to_numpy(), "person_id": person.to_numpy(), "probability": prob.to_numpy()})
    con.register("uc_new_clusters", frame)
    con.execute("INSERT INTO uc_clusters SELECT ?, record_id, person_id, probability FROM uc_new_clusters", [run_id])
    con.unregister("uc_new_clusters")


class _ClusterCounts(TypedDict):
    persons: int
    persons_with_several_records: int
    largest_cluster: int


def _summarise(person: pd.Series) -> _ClusterCounts:
    sizes = person.value_counts()
    return {
        "persons": int(len(sizes)),
        "persons_with_several_records": int((sizes > 1).sum()),
        "largest_cluster": int(sizes.max()) if len(sizes) else 0,
    }


def linkage_table(
    case: Case, options: LinkOptions | None = None, *, records: pd.DataFrame | None = None
) -> tuple[pd.DataFrame, tuple[ComparisonSpec, ...], dict[str, Any]]:
    """The linkage table of a case and the comparisons the model makes on it.

    Args:
        case: an open case.
        options: the run's options (``skip_blocking`` leaves rare-key families out).
        records: the case's records (default: read them).

    Returns:
        (the prepared table, see :func:`undercount.link.prepare.prepare_records`; the
        comparisons, extra fields declared in the import specs included; the declared fields).

    Raises:
        ConfigError: a name in ``skip_blocking`` that is no rule's, or lists that declare one
            field differently.
    """
    opts = options or LinkOptions()
    prediction_blocking_rules(opts)  # refuses an unknown name in skip_blocking before any work
    if records is None:  # one release per list: the newest (docs/releases.md)
        records = case.records(_LINK_READ, sources=choose_releases(case).sources)
    fields = declared_fields(case)
    comparisons = default_comparisons() + tuple(
        field_comparison(name, fc.column, fc.compare, fc.within) for name, (fc, _) in fields.items()
    )
    kinds = {fc.column: fc.compare for fc, _ in fields.values()}
    prepared = prepare_records(records, extra=field_values(case, fields), kinds=kinds, skip=opts.skip_blocking)
    return prepared, comparisons, fields


def score_records(
    case: Case, records: pd.DataFrame, *, options: LinkOptions | None = None, engine: str = "duckdb"
) -> tuple[pd.DataFrame, dict[str, Any]]:
    """Train the model on some records of a case and score their blocked pairs; nothing is stored.

    What ``link_case`` does before clustering, for a chosen set of records (e.g. two releases of
    one list, :mod:`undercount.releases`).

    Args:
        case: an open case (for the fields its import specs declare).
        records: the records to link, with the linkage columns (``Role.LINK`` fields).
        options: the options (training sizes, floor, blocking).
        engine: 'duckdb' or 'spark'.

    Returns:
        (the scored pairs at or above ``options.floor``: record_id_l, record_id_r, match_weight,
        probability, evidence; a training summary).

    Raises:
        LinkError: fewer than two records.
    """
    opts = options or LinkOptions()
    if len(records) < 2:
        raise LinkError("fewer than two records: there is nothing to link")
    prepared, comparisons, _ = linkage_table(case, opts, records=records[[c for c in _LINK_READ if c in records]])
    pairs, _, training, _ = _score(prepared, engine=engine, options=opts, labels=None, comparisons=comparisons)
    return pairs, {**training, "blocking": dict(prepared.attrs.get("blocking", {}))}


def blocked_pairs(case: Case, options: LinkOptions | None = None) -> pd.DataFrame:
    """Every record pair (``a < b``, record ids) that the blocking rules of a link run would compare.

    Args:
        case: an open case.
        options: the run's options (a case small enough to compare every pair still gives
            only the blocked pairs: this measures blocking).

    Returns:
        Columns a, b.
    """
    import duckdb

    from undercount.link.blocking import candidate_pairs_sql

    opts = options or LinkOptions()
    prepared, _, _ = linkage_table(case, opts)
    rules = prediction_blocking_rules(opts)
    con = duckdb.connect()
    try:
        con.register("t", prepared.drop(columns=[c for c in LIST_COLUMNS if c != KEYS_COLUMN]))
        return con.execute(" UNION ".join(candidate_pairs_sql(rule, "t") for rule in rules)).df()
    finally:
        con.close()


@dataclass(frozen=True)
class PairBits:
    """The bits a run adds to its pairs after the model's scoring, learnt on its stored pairs: the Latin
    record's spelling (:mod:`undercount.link.spelling`) and a third list's links (:mod:`undercount.link.thirdlist`).

    Called on other scored pairs of the run's linkage table (the sample of unstored pairs that
    :mod:`undercount.link.missed` scores), it gives them the same bits as the stored pairs.
    """

    spelling: SpellingWeights | None = None
    third_list: ThirdListWeights | None = None

    def __call__(self, scored: pd.DataFrame) -> np.ndarray:
        """The bits of each scored pair (unique_id_l, unique_id_r and the ``gamma_`` columns)."""
        left, right = scored["unique_id_l"].to_numpy(dtype=np.int64), scored["unique_id_r"].to_numpy(dtype=np.int64)
        bits = np.zeros(len(scored))
        if self.spelling is not None:
            bits += self.spelling.apply(left, right, _name_gammas(scored))[0]
        if self.third_list is not None:
            bits += self.third_list.apply(left, right)[0]
        return bits


def _name_gammas(scored: pd.DataFrame) -> list[np.ndarray]:
    return [scored[f"gamma_{part}"].to_numpy() if f"gamma_{part}" in scored else np.full(len(scored), -1) for part in NAME_PARTS]


def _spelling(prepared: pd.DataFrame, scored: pd.DataFrame) -> tuple[pd.DataFrame, dict[str, Any], PairBits]:
    """The stored pairs with the bits their Latin record's spelling gives their name parts' levels (:mod:`undercount.link.spelling`)."""
    if SPELLING_COLUMN not in prepared:
        return scored, {}, PairBits()
    table = prepared.set_index("unique_id")
    pivoted = table["script"].isin([s.id for s in pivot_scripts()])
    left, right = scored["unique_id_l"].to_numpy(), scored["unique_id_r"].to_numpy()
    gammas = _name_gammas(scored)
    weights = spelling_weights(left, right, scored["match_probability"].to_numpy(dtype=float), gammas, table[SPELLING_COLUMN], pivoted)
    if weights is None:
        return scored, {}, PairBits()
    bits, code = weights.apply(left, right, gammas)
    return _with_bits(scored, bits, "spelling", np.where(code >= 0, np.array(SPELLING_LEVELS, dtype=object)[np.maximum(code, 0)],
                                                         "within one script")), spelling_summary(bits, code), PairBits(weights)


def _third_list(prepared: pd.DataFrame, scored: pd.DataFrame, options: LinkOptions,
                before: PairBits) -> tuple[pd.DataFrame, dict[str, Any], PairBits]:
    """The stored pairs with the bits a third list's links of their records give (:mod:`undercount.link.thirdlist`)."""
    left, right = scored["unique_id_l"].to_numpy(), scored["unique_id_r"].to_numpy()
    weights = third_list_weights(left, right, scored["match_probability"].to_numpy(dtype=float),
                                 prepared.set_index("unique_id")["source"], threshold=options.threshold)
    if weights is None:
        return scored, {}, before
    bits, code = weights.apply(left, right)
    return _with_bits(scored, bits, "third_list", np.where(code >= 0, np.array(THIRD_LIST_LEVELS, dtype=object)[np.maximum(code, 0)],
                                                           "no third list")), weights.summary(), replace(before, third_list=weights)


def _with_bits(scored: pd.DataFrame, bits: np.ndarray, name: str, level: np.ndarray) -> pd.DataFrame:
    """The scored pairs with ``bits`` added to their weights and log-odds, shown as evidence ``name`` at ``level``."""
    out = scored.copy(deep=False)  # new columns only
    out[f"mw_{name}"] = bits
    out[f"{name}_level"] = level
    out["match_weight"] = scored["match_weight"].to_numpy(dtype=float) + bits
    out["match_probability"] = plus_bits(scored["match_probability"].to_numpy(dtype=float), bits)
    return out


def link_case(
    case: Case,
    *,
    engine: str = "duckdb",
    threshold: float | None = None,
    options: LinkOptions | None = None,
    username: str | None = None,
    releases: Any = None,
    progress: Callable[[str], None] | None = None,
) -> LinkResult:
    """Link every record of a case, within and across lists, and store the run.

    A list with several releases is linked by one of them: its newest unless ``releases`` names
    another (``{"moh": "moh@2024-06-20"}`` or ``["moh=2024-06-20"]``); the others are kept for
    ``undercount diff`` (docs/releases.md).

    Args:
        case: an open case.
        engine: 'duckdb' (default) or 'spark'.
        threshold: match probability for a link (default 0.5).
        options: further options (floor, seed, training sizes).
        username: who runs it (default: the OS user).
        progress: called with the name of each step as it starts (:data:`LINK_STEPS`: blocking,
            training and scoring, clustering, missed links, storing), for progress bars.

    Returns:
        A LinkResult with counts (records, pairs stored, links, persons).

    Raises:
        LinkError: the case holds no records or one record.
        ConfigError: unknown engine.
    """
    started, t0 = _now(), time.perf_counter()
    opts = options or LinkOptions()
    if engine not in ENGINES:
        raise ConfigError(f"unknown linkage engine {engine!r}: use one of {', '.join(ENGINES)}")
    if threshold is not None:
        if not 0.0 < threshold < 1.0:
            raise LinkError(f"the threshold must be between 0 and 1 (got {threshold})")
        opts = LinkOptions(**{**opts.to_dict(), "threshold": float(threshold)})
    step = progress or (lambda name: None)
    inputs = replace(run_inputs(case), cluster_run=None)  # the lists and decisions this run reads
    choice: ReleaseChoice = choose_releases(case, None, releases)
    records = case.records(_LINK_READ, sources=choice.sources)
    notes = _check_records(case, records) + choice.notes("linked")
    must, cannot = decision_pairs(case)
    labels = pd.DataFrame(must, columns=["unique_id_l", "unique_id_r"]) if must else None
    step("blocking")
    prepared, comparisons, fields = linkage_table(case, opts, records=records)
    blocking = dict(prepared.attrs.get("blocking", {}))
    step("training and scoring")
    reviewed = {**{(min(a, b), max(a, b)): 1 for a, b in must}, **{(min(a, b), max(a, b)): 0 for a, b in cannot}}
    pairs, settings, training, bits = _score(prepared, engine=engine, options=opts, labels=labels, comparisons=comparisons,
                                             reviewed=reviewed)
    training["blocking"] = blocking
    if fields:
        training["fields"] = {name: {"compare": fc.compare, "within": list(fc.within), "lists": list(fc.lists)}
                              for name, (fc, _) in fields.items()}
    step("clustering")
    person = cluster_records(records, pairs, threshold=opts.threshold, must_link=must, cannot_link=cannot)
    prob = attachment_probability(person, pairs)
    step("missed links")
    trained = training.pop("trained_model", settings)
    unstored = estimate_unstored(prepared, pairs, person, trained, options=opts, comparisons=comparisons,
                                 rates=LineageRates(**training["corrections"]), final=settings, bits=bits)
    run_id = case.new_run_id("link")
    counts = _summarise(person)
    links = int((pairs["probability"] >= opts.threshold).sum())
    summary = {"records": len(records), "pairs": len(pairs), "links": links, **counts}
    step("storing")
    with case.transaction() as con:
        con.register("uc_new_pairs", pairs)
        con.execute(
            "INSERT INTO uc_pairs SELECT ?, record_id_l, record_id_r, match_weight, probability, evidence::JSON FROM uc_new_pairs",
            [run_id],
        )
        con.unregister("uc_new_pairs")
        _write_clusters(con, run_id, person, prob)
        write_unstored(con, run_id, unstored)
        model = {"splink": settings, "options": opts.to_dict(), "training": training}
        con.execute("INSERT INTO uc_link_models VALUES (?, ?, ?, ?)", [run_id, engine, opts.threshold, json.dumps(model, default=str)])
        params = {"engine": engine, **opts.to_dict(), **({"releases": choice.to_dict()} if choice.several else {})}
        case.record_run(con, run_id=run_id, kind="link", started_at=started, params=params, summary=summary,
                        username=username, inputs=inputs)
    return LinkResult(
        run_id=run_id, kind="link", engine=engine, threshold=opts.threshold, records=len(records),
        lists=int(records["source"].nunique()), pairs=len(pairs), links=links, seconds=round(time.perf_counter() - t0, 2),
        training=training, notes=notes + unstored.notes,
        missed=[{str(k): v for k, v in r.items()} for r in missed_links(case, link_run=run_id).to_dict("records")],
        **counts,
    )


def recluster(case: Case, *, username: str | None = None) -> LinkResult:
    """Re-cluster the current link run's pairs with the newest review decisions.

    Args:
        case: an open, linked case.
        username: who asks (the app passes the account name).

    Returns:
        A LinkResult of kind 'recluster' (pairs are those of the link run).

    Raises:
        LinkError: the case has not been linked.
    """
    started, t0 = _now(), time.perf_counter()
    link_run = case.current_run("link")
    if link_run is None:
        raise LinkError(f"case {case.path} has not been linked: run 'undercount link {case.path}' first")
    engine, stored = link_model(case, link_run)
    if engine is None or stored is None:
        raise LinkError(f"case {case.path}: link run {link_run} stored no model; link the case again")
    threshold = stored
    records = case.query(  # the records the link run linked (one release per list)
        "SELECT r.record_id, r.source, r.sex, r.id_number, r.id_valid FROM uc_records r "
        "JOIN uc_clusters c ON c.record_id = r.record_id AND c.run_id = ? ORDER BY r.record_id", [link_run])
    pairs = case.query("SELECT record_id_l, record_id_r, probability FROM uc_pairs WHERE run_id = ?", [link_run])
    inputs = replace(run_inputs(case), cluster_run=link_run)
    must, cannot = decision_pairs(case)
    person = cluster_records(records, pairs, threshold=threshold, must_link=must, cannot_link=cannot)
    prob = attachment_probability(person, pairs)
    run_id = case.new_run_id("recluster")
    counts = _summarise(person)
    links = int((pairs["probability"] >= threshold).sum())
    summary = {"link_run_id": link_run, "must_link": len(must), "cannot_link": len(cannot), **counts}
    with case.transaction() as con:
        _write_clusters(con, run_id, person, prob)
        case.record_run(con, run_id=run_id, kind="recluster", started_at=started,
                        params={"link_run_id": link_run, "threshold": threshold}, summary=summary, username=username,
                        inputs=inputs)
    return LinkResult(
        run_id=run_id, kind="recluster", engine=engine, threshold=threshold, records=len(records),
        lists=int(records["source"].nunique()), pairs=len(pairs), links=links, seconds=round(time.perf_counter() - t0, 2), **counts,
    )


def export_clusters(case: Case, path: str | Path) -> int:
    """Write the current clusters as CSV: source,row,person_id,probability.

    Args:
        case: an open, linked case.
        path: the CSV file to write.

    Returns:
        The number of rows written.

    Raises:
        StoreError: the case has not been linked, or the file cannot be written.
    """
    clusters = case.clusters()[["source", "row", "person_id", "probability"]]
    clusters = clusters.sort_values(["source", "row"], kind="stable")
    data = clusters.to_csv(index=False, float_format="%.6f").encode("utf-8")
    write_output(case, path, lambda handle: handle.write(data), action="export",
                 detail={"what": "clusters", "format": "csv", "redacted": True, "rows": len(clusters)})
    return len(clusters)
