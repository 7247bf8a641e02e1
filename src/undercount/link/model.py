"""The linkage model: Splink settings from the plain descriptions, training, scoring.

Training has no labels by default:
1. the prior (probability that two random records match) from near-certain rules, assuming
   they find 60% of the matches, bounded to a sensible range;
2. u probabilities from random pairs (almost all non-matches);
3. m probabilities by expectation-maximisation on blocks that hold many matches and few
   siblings (see :func:`undercount.link.blocking.training_blocking_rules`);
4. when people have reviewed pairs, their 'same' decisions estimate m once more, and Splink
   takes the median of the estimates.
"""

from __future__ import annotations

import logging
import math
import re
from dataclasses import asdict, dataclass
from typing import Any

import pandas as pd

from undercount.errors import ConfigError
from undercount.link import splink_compat
from undercount.link.blocking import (
    BlockingRuleSpec,
    blocking_sql,
    default_blocking_rules,
    deterministic_rules,
    general_training_rules,
    key_families,
    splink_blocking_rules,
    training_blocking_rules,
)
from undercount.link.comparisons import (
    NAME_PARTS,
    ComparisonSpec,
    LevelRole,
    default_comparisons,
    find_level,
    level_labels,
    splink_comparisons,
)

__all__ = [
    "LinkOptions", "compare_all", "prediction_blocking_rules", "settings_dict", "train", "transfer_parameters",
    "score_pairs", "evidence_frame", "scored_select",
]

log = logging.getLogger("undercount.link")


@dataclass(frozen=True)
class LinkOptions:
    """Options of a link run (stored with the run).

    Args:
        threshold: match probability at or above which two records are linked.
        floor: pairs below this probability are not stored.
        seed: random seed of the u sampling.
        u_max_pairs: random pairs sampled for u.
        em_max_pairs: pairs per EM session at most.
        max_iterations: EM iterations per session.
        min_labels: 'same' decisions needed before they are used as labels.
        compare_all_below: a case with fewer possible pairs than this compares every pair
            (blocking saves time only on large cases; on small ones it would only lose links).
        memory_limit: DuckDB's memory limit while linking (it spills to disk beyond it), so a
            million records link in a few GB; None leaves DuckDB's own (80% of RAM).
        train_engine: engine that trains the model ('duckdb', or 'same' for the scoring
            engine). Training works on samples, so DuckDB does it in seconds in-process; the
            trained parameters are then given to the scoring engine (identical model).
        skip_blocking: names of default blocking rules or rare-key families left out of
            prediction (to measure what blocking misses, e.g. bench/end_to_end.py; never needed
            in normal use).
        one_to_one_below: two lists whose records each have at most this many expected
            duplicates in their own list match one-to-one (a record's candidates in the other
            list compete, :mod:`undercount.link.posterior`); 0 turns competition off.
        bipartite_prior: two lists that match one-to-one take the prior odds of the bipartite
            model (Sadinle 2017): ``M / ((n_a - M)(n_b - M))`` instead of ``M / (n_a n_b)``, so a
            record with one plausible candidate in a list that holds most of its people is
            likelier linked, one with several less (:mod:`undercount.link.posterior`).
        refit_rounds: rounds of the last EM of the m probabilities on every scored candidate
            pair, with the priors per pair of lists (:mod:`undercount.link.refit`); 0 keeps
            the m of the training blocks.
        recalibrate: shift the probabilities of each pair of lists by what labels the model did
            not make show (reviewers' decisions, a third list's strong links;
            :mod:`undercount.link.calibrate`). Off by default: it raised recall on the real-list
            case but cost precision on gaza-like (docs/linkage.md).
        third_list: each stored pair of two lists takes the bits of its class by a third list's
            links of its two records (one record of the third list links both, two different
            ones, ...; :mod:`undercount.link.thirdlist`), weighed on the model's own posterior.
            Off by default: on the kept cases it raised precision on most pairs of lists but
            took recall from survey x obituaries at full size, and the estimate of missed links
            does not see its bits (docs/linkage.md, session 13).
        spelling: each stored pair of a Latin record and an Arabic one takes the bits of its name
            parts' levels given whether every name part of the Latin record is a dictionary
            spelling (:mod:`undercount.link.spelling`), weighed on the model's own posterior.
        missed_sample: unstored pairs scored to estimate the true pairs linkage missed
            (:mod:`undercount.link.missed`); 0 skips the estimate.
    """

    threshold: float = 0.5
    floor: float = 0.01
    seed: int = 0
    u_max_pairs: float = 3e6
    em_max_pairs: float = 1e6
    max_iterations: int = 20
    min_labels: int = 5
    train_engine: str = "duckdb"
    compare_all_below: float = 5e6
    memory_limit: str | None = "3GB"
    skip_blocking: tuple[str, ...] = ()
    one_to_one_below: float = 0.05
    bipartite_prior: bool = True
    refit_rounds: int = 3
    recalibrate: bool = False
    third_list: bool = False
    spelling: bool = True
    missed_sample: int = 20_000

    def to_dict(self) -> dict[str, Any]:
        """The options as a plain dict."""
        return asdict(self)


def settings_dict(
    dialect: str, *, options: LinkOptions, prior: float = 1e-4, n_records: int | None = None,
    comparisons: tuple[ComparisonSpec, ...] | None = None,
) -> dict[str, Any]:
    """Splink settings (dedupe over all lists) built from the plain descriptions.

    Args:
        dialect: 'duckdb' or 'spark'.
        options: the run's options.
        prior: starting probability that two random records match.
        n_records: records to link; when they make fewer pairs than
            ``options.compare_all_below``, every pair is compared.
        comparisons: the comparisons (default: :func:`default_comparisons`, no extra fields).

    Returns:
        A Splink settings dictionary.
    """
    return {
        "link_type": "dedupe_only",
        "unique_id_column_name": "unique_id",
        "probability_two_random_records_match": prior,
        "comparisons": splink_comparisons(comparisons, dialect=dialect),
        "blocking_rules_to_generate_predictions": (
            [{"blocking_rule": "1=1"}] if compare_all(n_records, options)
            else splink_blocking_rules(prediction_blocking_rules(options))
        ),
        "retain_matching_columns": True,
        "retain_intermediate_calculation_columns": True,
        "additional_columns_to_retain": [],
        "max_iterations": options.max_iterations,
        "em_convergence": 0.001,
    }


def prediction_blocking_rules(options: LinkOptions) -> tuple[BlockingRuleSpec, ...]:
    """The default blocking rules less those named in ``options.skip_blocking``.

    Rare-key families named there are left out when the keys are built
    (:func:`undercount.link.prepare.prepare_records`).

    Raises:
        ConfigError: a name that is neither a default rule's nor a key family's.
    """
    rules = default_blocking_rules()
    known = [r.name for r in rules] + [f.name for f in key_families()]
    unknown = sorted(n for n in set(options.skip_blocking) - set(known) if not _is_field_family(n))
    if unknown:
        raise ConfigError(f"unknown blocking rule {', '.join(map(repr, unknown))}: the rules are {'; '.join(known)}")
    return tuple(r for r in rules if r.name not in options.skip_blocking)


def _is_field_family(name: str) -> bool:
    """Families of extra fields are named '<field>, a name token' or '<field>, <field>'."""
    return bool(re.fullmatch(r"[a-z][a-z0-9_]*, ([a-z][a-z0-9_]*|a name token)", name))


def compare_all(n_records: int | None, options: LinkOptions) -> bool:
    """Whether a case of ``n_records`` records compares every pair instead of blocking."""
    return n_records is not None and n_records * (n_records - 1) / 2 < options.compare_all_below


def _set_prior(linker: Any, n: int, rules: tuple[str, ...]) -> float:
    """Estimate lambda from near-certain rules; fall back to 1/n (about one duplicate each)."""
    fallback = 1.0 / max(n, 2)
    try:
        prior = splink_compat.estimate_prior(linker, list(rules), recall=0.6)
    except Exception as exc:  # noqa: BLE001 - Splink raises ValueError or engine errors
        log.info("prior from deterministic rules failed (%s); using 1/n", type(exc).__name__)
        prior = fallback
    if not math.isfinite(prior) or prior <= 0:
        prior = fallback
    prior = min(max(prior, 0.1 / max(n, 2)), 0.5)
    splink_compat.set_prior(linker, prior)
    return prior


def _em(linker: Any, rule: BlockingRuleSpec, options: LinkOptions, *, sample: bool = True) -> bool:
    """One EM session; False when it could not run (the linker's settings are then unchanged)."""
    try:
        splink_compat.em_session(linker, blocking_sql(rule), max_pairs=options.em_max_pairs if sample else None)
        return True
    except Exception as exc:  # noqa: BLE001 - too few pairs in a small case, engine errors
        log.info("EM on %r skipped: %s: %s", rule.name, type(exc).__name__, str(exc)[:300])
        return False


def _correct_cross_script_u(linker: Any, share: float) -> None:
    """Rescale u of the cross-script levels to cross-script pairs.

    Random sampling measures u over all pairs, but the cross-script levels can only fire
    on pairs written in different scripts; dividing by that share of pairs gives u among them.
    """
    if share <= 0:
        return
    for level in splink_compat.levels(linker):
        if LevelRole.CROSS_SCRIPT in _roles(level.comparison, level.label):
            level.scale_trained_u(share, cap=0.5)
    splink_compat.refresh_m_u(linker)


def cross_script_share(scripts: pd.Series) -> float:
    """Share of record pairs whose two records are written in different scripts."""
    p = scripts.fillna("unknown").value_counts(normalize=True).to_numpy()
    return float(max(1.0 - (p**2).sum(), 0.0))


def train(
    linker: Any,
    *,
    n_records: int,
    options: LinkOptions,
    labels: pd.DataFrame | None = None,
    cross_share: float = 0.0,
    prepared: pd.DataFrame | None = None,
    fields: tuple[str, ...] = (),
) -> dict[str, Any]:
    """Train a Splink linker in place.

    Args:
        linker: a Splink Linker on the linkage table.
        n_records: records in the table.
        options: the run's options.
        labels: unique_id_l, unique_id_r of pairs people decided are the same person.
        cross_share: share of pairs across scripts (see :func:`cross_script_share`).
        prepared: the linkage table: comparisons with data that the four-part EM blocks left
            untrained are trained on blocks of the fields the lists hold
            (:func:`undercount.link.blocking.general_training_rules`).
        fields: exact and string extra fields' columns (further EM blocks).

    Returns:
        A summary: prior, EM sessions that ran, labels used.
    """
    prior = _set_prior(linker, n_records, deterministic_rules(prepared))
    pairs_possible = n_records * (n_records - 1) / 2
    small = pairs_possible <= options.u_max_pairs  # every pair fits: no sampling passes needed
    splink_compat.estimate_u(
        linker,
        max_pairs=max(min(options.u_max_pairs, pairs_possible), 1.0),
        seed=options.seed,
        num_chunks=1 if small else 10,
        min_count_per_level=None if small else 100,
    )
    _correct_cross_script_u(linker, cross_share)
    sessions = [r.name for r in training_blocking_rules() if _em(linker, r, options, sample=not small)]
    if prepared is not None:
        pending = _untrained(linker, prepared)
        for rule in general_training_rules(prepared, fields):
            if not pending:
                break
            if _em(linker, rule, options, sample=not small):
                sessions.append(rule.name)
                pending = _untrained(linker, prepared)
    used = 0
    if labels is not None and len(labels) >= options.min_labels:
        table = labels[["unique_id_l", "unique_id_r"]].astype("int64")
        splink_compat.m_from_labels(linker, table, "__undercount_labels")
        used = len(table)
    splink_compat.set_prior(linker, prior)
    _floor_m(linker, women_share(prepared))
    return {"prior": prior, "em_sessions": sessions, "labels_used": used}


def _untrained(linker: Any, prepared: pd.DataFrame) -> set[str]:
    """Comparisons whose column holds values but whose m no EM session has estimated."""
    return {
        comparison for comparison, column in splink_compat.untrained(linker)
        if column in prepared and prepared[column].notna().any()
    }


def transfer_parameters(trained: dict[str, Any], target: dict[str, Any]) -> dict[str, Any]:
    """Copy trained m/u probabilities and the prior onto settings built for another dialect.

    Both dicts come from :func:`settings_dict` (same comparisons, same levels, same order).

    Returns:
        ``target`` with the trained parameters (a new dict).
    """
    out = {**target, "probability_two_random_records_match": trained["probability_two_random_records_match"]}
    comparisons = []
    for src, dst in zip(trained["comparisons"], target["comparisons"]):
        levels = []
        for lsrc, ldst in zip(src["comparison_levels"], dst["comparison_levels"]):
            level = dict(ldst)
            for key in ("m_probability", "u_probability"):
                if key in lsrc:
                    level[key] = lsrc[key]
            levels.append(level)
        comparisons.append({**dst, "comparison_levels": levels})
    out["comparisons"] = comparisons
    return out


M_FLOOR = 0.002
NAME_M_FLOOR = 0.01
SHIFT_M_FLOOR = 0.04


def _roles(comparison: str, label: str | None) -> LevelRole:
    """The roles of a trained model's level (the model keeps labels; the roles are the specs')."""
    spec = find_level(comparison, label)
    return spec.roles if spec is not None else LevelRole.NONE


def _floor(comparison: str, label: str | None, women: float = 1.0) -> float:
    roles = _roles(comparison, label)
    if LevelRole.SLOT in roles:
        return SHIFT_M_FLOOR
    if comparison in NAME_PARTS and LevelRole.DIFFERENT in roles:
        spec = find_level(comparison, label)
        return NAME_M_FLOOR * (women if spec is not None and spec.id == "women" else 1.0)
    return M_FLOOR


def women_share(prepared: pd.DataFrame | None) -> float:
    """P(both records are women | match), for the floor of 'different, both women': the share of
    the table's records whose sex is female (a person's records share a sex), 1.0 without a sex.

    Example:
        >>> women_share(pd.DataFrame({"sex": ["female", "male", "male", None]}))
        0.25
    """
    if prepared is None or "sex" not in prepared or prepared.empty:
        return 1.0
    female = int((prepared["sex"] == "female").sum())
    return female / len(prepared) if female else 1.0


def floor_of(comparison: str, level: dict[str, Any], women: float = 1.0) -> float:
    """The floor of a level's m (see :func:`_floor_m`), from its settings dict."""
    return _floor(comparison, level.get("label_for_charts"), women)


def _floor_m(linker: Any, women: float = 1.0) -> None:
    """Keep every m probability at or above a floor: no single disagreement (a mistyped date
    of birth) may rule a match out on its own. A different name part keeps at least 0.01 (family
    names change at marriage, parts go missing); a part found in another slot 0.04: EM cannot
    learn these, as its training blocks need the parts in their usual slots.

    The floor is a share of all matches, as the level's u is a share of all pairs of different
    people. 'Different, both women' holds only pairs of two women (its u, about 0.1 on the real
    lists, counts them among all pairs), so its floor is 0.01 of the matches of two women:
    0.01 times ``women``, the share of matches that are two women (:func:`women_share`). Held at
    0.01 of all matches, the level weighed 1.5 bits too little against a pair (log2 of 1/0.34 on
    the real lists), counting the women's agreeing sex a second time (docs/linkage.md, session 12)."""
    for level in splink_compat.levels(linker):
        floor = _floor(level.comparison, level.label, women)
        m = level.m
        if m is not None and m < floor:
            level.set_m(floor)


# Pairs are scored down to this share of the floor under the global prior: the prior of their
# pair of lists (undercount.link.posterior) may raise them above the floor.
SCORE_FLOOR_FACTOR = 1e-3


def score_pairs(linker: Any, options: LinkOptions) -> Any:
    """Score every blocked pair; keep those that may reach the floor (a SplinkDataFrame)."""
    return splink_compat.predict(linker, options.floor * SCORE_FLOOR_FACTOR)


def _weight_sql(name: str, has_tf: bool) -> str:
    tf = f" + coalesce(mw_tf_adj_{name}, 0.0)" if has_tf else ""
    return f"round(mw_{name}{tf}, 2)"


def evidence_frame(predictions: pd.DataFrame, comparisons: tuple[ComparisonSpec, ...] | None = None) -> pd.DataFrame:
    """Turn scored pairs into uc_pairs rows: ids, match_weight, probability, evidence JSON.

    Args:
        predictions: Splink output with gamma_/mw_/mw_tf_adj_ columns.
        comparisons: the model's comparisons (default: :func:`default_comparisons`).

    Returns:
        record_id_l, record_id_r, match_weight, probability, evidence (JSON text).
    """
    import duckdb

    con = duckdb.connect()
    try:
        con.register("pred", predictions)
        return con.execute(_evidence_sql(list(predictions.columns), comparisons or default_comparisons())).df()
    finally:
        con.close()


def _evidence_sql(columns: list[str], comparisons: tuple[ComparisonSpec, ...]) -> str:
    fields = []
    labels_all = level_labels(comparisons)
    for spec in comparisons:
        labels = labels_all[spec.name]
        cases = " ".join(f"WHEN {g} THEN '{lab}'" for g, lab in sorted(labels.items()))
        has_tf = f"mw_tf_adj_{spec.name}" in columns
        fields.append(
            f"{spec.name} := struct_pack(level := CASE gamma_{spec.name} {cases} END, "
            f"weight := {_weight_sql(spec.name, has_tf)})"
        )
    if "mw_list_prior" in columns:
        fields.append(
            "lists := struct_pack(level := 'prior of this pair of lists', weight := round(mw_list_prior, 2))"
        )
    if "mw_one_to_one" in columns:
        fields.append(
            "one_to_one := struct_pack(level := CASE WHEN mw_one_to_one < -0.005 THEN 'other candidates compete' "
            "ELSE 'no competitor' END, weight := round(mw_one_to_one, 2))"
        )
    if "mw_calibration" in columns:
        fields.append(
            "calibration := struct_pack(level := CASE WHEN abs(mw_calibration) >= 0.005 THEN 'shift of this pair of lists' "
            "ELSE 'none' END, weight := round(mw_calibration, 2))"
        )
    if "mw_spelling" in columns:
        fields.append("spelling := struct_pack(level := spelling_level, weight := round(mw_spelling, 2))")
    if "mw_third_list" in columns:
        fields.append("third_list := struct_pack(level := third_list_level, weight := round(mw_third_list, 2))")
    if "mw_lineage" in columns:
        fields.append(
            "lineage := struct_pack(level := CASE WHEN mw_lineage < 0 THEN 'family names counted once' "
            "ELSE 'none' END, weight := round(mw_lineage, 2))"
        )
    return (
        "SELECT least(unique_id_l, unique_id_r)::BIGINT AS record_id_l, "
        "greatest(unique_id_l, unique_id_r)::BIGINT AS record_id_r, "
        "match_weight::DOUBLE AS match_weight, match_probability::DOUBLE AS probability, "
        f"to_json(struct_pack({', '.join(fields)}))::VARCHAR AS evidence "
        "FROM pred ORDER BY record_id_l, record_id_r"
    )


def scored_select(comparisons: tuple[ComparisonSpec, ...] | None = None) -> str:
    """The SELECT list a link run reads Splink's scored pairs with (tens of millions of rows at scale).

    The columns of :func:`prediction_columns` less ``match_probability`` (the run recomputes it
    from the corrected weight), each ``gamma_`` as a one-byte integer (levels number a handful):
    about a quarter less memory per pair, the same numbers.
    """
    cols = [f"CAST({c} AS TINYINT) AS {c}" if c.startswith("gamma_") else c
            for c in prediction_columns(comparisons) if c != "match_probability"]
    return ", ".join(cols)


def prediction_columns(comparisons: tuple[ComparisonSpec, ...] | None = None) -> list[str]:
    """Columns of Splink's output that :func:`evidence_frame` needs."""
    cols = ["unique_id_l", "unique_id_r", "match_weight", "match_probability"]
    for spec in comparisons or default_comparisons():
        cols += [f"gamma_{spec.name}", f"mw_{spec.name}"]
        if any(lv.tf for lv in spec.levels):
            cols.append(f"mw_tf_adj_{spec.name}")
    return cols
