"""The model's own estimate of the true pairs that linkage missed, per pair of lists (issue 13).

A true pair that linkage misses turns one person into two who each appear on one list only, and
the estimate of the total rises. Linkage can miss a pair in two ways:

* **scored but not linked**: the pair is stored with a probability ``p`` but its records end in
  different persons (below the threshold, or cut by the chaining guard). The model expects
  ``sum(p)`` true pairs among them; this part is exact given the model and is computed from the
  stored pairs and the current clusters (:func:`missed_links`).
* **never stored**: no blocking rule proposed the pair, or it scored below the floor. Nothing
  about these pairs is stored, so a sample of them is scored with the trained model and the
  model's expected number of true pairs among all of them is estimated
  (:func:`estimate_unstored`).

The frame of the sample is every unstored pair of records that share **two or more** name-part
keys in any slots (transliteration keys, so scripts do not matter), found through pairs of keys
(a block per pair of keys, capped so that the frame holds at most 60 pairs per record and 5 million in all; the cap
is reported). Pairs sharing at most one name part are outside the frame: the model could only
give them a low probability, and no estimate is made for them.

Sampling is Poisson with probability ``min(1, c * exp(0.6 * proxy) + 0.1 * n / N)``: the proxy
is ``z``, the sum of the shared keys' inverse log frequencies (rare shared names weigh more),
plus 2 for ages within a year, -3 for ages more than five years apart, -4 for different sexes;
``c`` is chosen so that about ``n = LinkOptions.missed_sample`` pairs are drawn, a tenth of them
uniformly from the ``N`` pairs of the frame (so that no weight is huge). As the model's log-odds
grow by about 0.7 per unit of the proxy, this draws pairs roughly in proportion to their
probability (an importance sample); the Horvitz-Thompson sum ``sum(p / pi)`` is unbiased for the
frame's ``sum(p)`` whatever the proxy, and ``sum((1 - pi) p^2 / pi^2)`` estimates its variance.

The sample is scored twice: with the model **as trained** (Splink's training on its training
blocks; ``probability``, what ``expected_missed`` sums) and with the run's final model (m
probabilities refitted on the blocked candidates, undercount.link.refit; ``final_probability``),
both with the bits that the run learnt on its stored pairs after the model and added to them (the
Latin record's spelling, undercount.link.spelling; a third list, undercount.link.thirdlist).
:func:`unstored_pairs` puts it on the stored pairs' footing (the final model where the run
matched pairs of the two lists, their prior and one-to-one odds). The structural calibration
(:func:`structural_calibration`) measures the stored pairs; the pairs left apart (a pair the
chaining guard refused competing with the weakest link its persons hold, :func:`refused_logit`) and
the unstored sample, which no structural label can reach, keep the model's probabilities with the
shift's prior as uncertainty (:func:`apart_calibration`, :func:`unstored_calibration`).

The model's own estimate is only as good as its probabilities: where it gives true pairs low
probabilities it also expects few missed ones. A clerical search sample measures what it cannot
(undercount.review.sample).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from undercount.link.posterior import plus_bits
from undercount.store.runs import link_model

__all__ = [
    "MISSED_COLUMNS",
    "Calibration",
    "UnstoredEstimate",
    "apart_calibration",
    "apart_pairs",
    "estimate_unstored",
    "fit_shift",
    "missed_links",
    "record_keys",
    "refused_logit",
    "score_pair_sample",
    "structural_calibration",
    "structural_labels",
    "unstored_calibration",
    "unstored_pairs",
    "write_unstored",
]

PAIRS_PER_RECORD = 60
MAX_FRAME = 5_000_000
CAPS = (1000, 500, 200, 100, 50, 20, 10)
# Share of the sample drawn uniformly from the frame (a defensive mixture: no pair's weight can
# exceed frame / (DEFENSIVE * sample), whatever the proxy says).
DEFENSIVE = 0.1
# The model's log-odds grow by about this much per unit of the proxy (0.68 fitted on a case built
# from the real lists, bench/end_to_end.py); sampling in proportion to exp(GAMMA * proxy) draws
# pairs roughly in proportion to their odds.
GAMMA = 0.6
_NAME_KEYS = ("given_key", "father_key", "grandfather_key", "family_key")

MISSED_COLUMNS = ["list_l", "list_r", "linked_pairs", "expected_false", "missed_scored", "missed_unstored",
                  "missed_unstored_se", "expected_missed", "frame_pairs", "sampled_pairs",
                  "calibrated_missed", "missed_low", "missed_high"]
# A link at least this probable between two lists anchors the structural labels (a third list's record);
# link.calibrate anchors its labels on the same strong links.
STRONG = 0.9
# The prior of the calibration shift (natural log-odds): N(0, SHIFT_PRIOR_SD^2). On cases built from
# the real lists the stored probabilities were too low by 0.5 to 2 in log-odds (bench/end_to_end.py).
SHIFT_PRIOR_SD = 1.0
_LOGIT_CLIP = 1e-6
_CALIBRATED = ("calibrated_missed", "missed_low", "missed_high")
# The sampled unstored pairs of a pair of lists are scored with the run's final model (the stored
# pairs' model, which the calibration measures) when the run expected at least this many matches
# among that pair of lists' stored pairs: its refit then learnt from pairs of those lists.
MATCHED_FOR_FINAL = 10.0


@dataclass(frozen=True)
class UnstoredEstimate:
    """The model's expected number of true pairs among unstored pairs, per pair of lists.

    Attributes:
        table: list_l, list_r (list_l <= list_r), frame_pairs, sampled_pairs, expected, se.
        cap: the largest block of a pair of keys kept in the frame.
        sample: the pairs asked for.
        notes: what could not be done.
        pairs: the sampled pairs with a probability above 0 (a, b, probability, pi).
    """

    table: pd.DataFrame
    cap: int | None
    sample: int
    notes: list[str] = field(default_factory=list)
    pairs: pd.DataFrame | None = None


def record_keys(prepared: pd.DataFrame) -> pd.DataFrame:
    """unique_id, source and the distinct name-part keys of each record (any slot, any token)."""
    parts = prepared[list(_NAME_KEYS)].to_numpy(dtype=object).tolist()
    tokens = prepared["name_tokens"].tolist() if "name_tokens" in prepared else [[]] * len(prepared)
    keys = [
        sorted({k for k in (*row, *(tok if isinstance(tok, (list, tuple, np.ndarray)) else ())) if isinstance(k, str) and k})
        for row, tok in zip(parts, tokens)
    ]
    return pd.DataFrame({"unique_id": prepared["unique_id"].astype("int64").to_numpy(),
                         "source": prepared["source"].astype(object).to_numpy(), "keys": keys})


def _frame(con: Any, n_records: int) -> int | None:
    """Build table ``frame(a, b, m, z)``: pairs sharing two or more keys; return the cap used."""
    con.execute("CREATE TEMP TABLE e AS SELECT unique_id AS id, unnest(keys) AS k FROM rk")
    con.execute("CREATE TEMP TABLE kf AS SELECT k, ln(? / count(*)) AS idf FROM e GROUP BY k", [float(n_records)])
    con.execute("CREATE TEMP TABLE c AS SELECT a.id, a.k AS k1, b.k AS k2 FROM e a JOIN e b ON a.id = b.id AND a.k < b.k")
    con.execute("CREATE TEMP TABLE g AS SELECT k1, k2, count(*) AS n FROM c GROUP BY k1, k2 HAVING count(*) >= 2")
    budget = min(PAIRS_PER_RECORD * n_records, MAX_FRAME)
    cap = None
    for candidate in CAPS:
        row = con.execute("SELECT coalesce(sum(n * (n - 1) / 2), 0) FROM g WHERE n <= ?", [candidate]).fetchone()
        if row is not None and float(row[0]) <= budget:
            cap = candidate
            break
    if cap is None:
        con.execute("CREATE TEMP TABLE frame (a BIGINT, b BIGINT, m BIGINT, z DOUBLE)")
        return None
    con.execute(
        "CREATE TEMP TABLE frame AS WITH cc AS (SELECT c.* FROM c JOIN g USING (k1, k2) WHERE g.n <= ?), "
        "p AS (SELECT DISTINCT x.id AS a, y.id AS b FROM cc x JOIN cc y ON x.k1 = y.k1 AND x.k2 = y.k2 AND x.id < y.id), "
        "s AS (SELECT p.a, p.b, unnest(list_intersect(ra.keys, rb.keys)) AS k FROM p "
        "JOIN rk ra ON ra.unique_id = p.a JOIN rk rb ON rb.unique_id = p.b) "
        "SELECT s.a, s.b, count(*) AS m, sum(kf.idf) AS z FROM s JOIN kf USING (k) GROUP BY s.a, s.b",
        [cap],
    )
    return cap


def _inclusion(proxy: np.ndarray, size: int) -> np.ndarray:
    """Poisson inclusion probabilities: a share ``1 - DEFENSIVE`` of ``size`` as min(1, c exp(proxy)),
    the rest uniform; they sum to about ``size``."""
    n = len(proxy)
    if n <= size:
        return np.ones(n)
    target = (1 - DEFENSIVE) * size
    lo, hi = -float(proxy.max()) - 50.0, -float(proxy.min()) + 50.0
    work = np.empty(n)
    for _ in range(100):
        mid = (lo + hi) / 2
        np.add(proxy, mid, out=work)  # mid + proxy, as one array pass each (no new array per step)
        np.minimum(work, 0.0, out=work)
        np.exp(work, out=work)
        was = (lo, hi)
        if work.sum() > target:
            hi = mid
        else:
            lo = mid
        if (lo, hi) == was:  # lo and hi are neighbouring numbers: every further step leaves them so
            break
    return np.minimum(1.0, np.exp(np.minimum(lo + proxy, 0.0)) + DEFENSIVE * size / n)


def _proxy(frame: pd.DataFrame) -> np.ndarray:
    """The sampling proxy of a pair's log-odds: shared rare names, then age and sex."""
    gap = (frame["age_a"] - frame["age_b"]).abs().astype("Float64").to_numpy(dtype=float, na_value=np.nan)
    age = np.where(np.isnan(gap), 0.0, np.where(gap <= 1, 2.0, np.where(gap <= 5, 0.0, -3.0)))
    sa, sb = frame["sex_a"].to_numpy(dtype=object), frame["sex_b"].to_numpy(dtype=object)
    known = pd.notna(sa) & pd.notna(sb)
    sex = np.where(known & (sa != sb), -4.0, 0.0)
    proxy: np.ndarray = frame["z"].to_numpy(dtype=float) + age + sex
    return proxy


def _sample_frame(prepared: pd.DataFrame, stored: pd.DataFrame, size: int, seed: int
                  ) -> tuple[pd.DataFrame, pd.DataFrame, int | None]:
    """The frame's unstored pairs counted per pair of lists, and a Poisson sample of them."""
    import duckdb

    keys = record_keys(prepared)
    con = duckdb.connect()
    try:
        con.register("rk", keys)
        cap = _frame(con, len(prepared))
        con.register("st", stored[["record_id_l", "record_id_r"]])
        con.register("rec", pd.DataFrame({"unique_id": keys["unique_id"], "source": keys["source"],
                                          "age": prepared["age"].astype("Int64").to_numpy(),
                                          "sex": prepared["sex"].astype(object).to_numpy()}))
        frame = con.execute(
            "SELECT f.a, f.b, f.z, least(ra.source, rb.source) AS list_l, greatest(ra.source, rb.source) AS list_r, "
            "ra.age AS age_a, rb.age AS age_b, ra.sex AS sex_a, rb.sex AS sex_b "
            "FROM frame f JOIN rec ra ON ra.unique_id = f.a JOIN rec rb ON rb.unique_id = f.b "
            "ANTI JOIN st ON st.record_id_l = f.a AND st.record_id_r = f.b ORDER BY f.a, f.b"
        ).df()
    finally:
        con.close()
    counts = frame.groupby(["list_l", "list_r"]).size().rename("frame_pairs").reset_index()
    proxy = _proxy(frame)
    pi = _inclusion(GAMMA * proxy, size)
    take = np.random.default_rng(seed).random(len(frame)) < pi
    sample = frame.loc[take, ["a", "b", "list_l", "list_r", "z"]].assign(proxy=proxy[take], pi=pi[take])
    return counts, sample.reset_index(drop=True), cap


def score_pair_sample(prepared: pd.DataFrame, pairs: pd.DataFrame, settings: dict[str, Any], *,
                      options: Any, rates: Any, comparisons: Any = None, lookups: Any = None,
                      bits: Callable[[pd.DataFrame], np.ndarray] | None = None) -> np.ndarray:
    """Match probabilities of given record pairs under a trained model (DuckDB, lineage corrections).

    Args:
        prepared: the linkage table.
        pairs: columns ``a`` < ``b`` (unique ids).
        settings: the trained Splink model of the run.
        options: the run's LinkOptions.
        rates: the run's lineage rates (:class:`undercount.link.lineage.LineageRates`).
        comparisons: the run's comparisons (default: the default ones).
        lookups: the corrections' look-ups in ``prepared`` (:class:`undercount.link.lookups.TableLookups`),
            kept from an earlier scoring.
        bits: the bits the run added to its stored pairs after the model (``undercount.link.run.PairBits``:
            spelling, third list), given the scored pairs (unique ids, ``gamma_`` columns); added to
            each pair's log-odds so that the sample stands where the stored pairs do.

    Returns:
        One probability per row of ``pairs`` (0 where Splink returned no score).
    """
    from undercount.link import splink_compat
    from undercount.link.backends import get_backend
    from undercount.link.blocking import KEYS_COLUMN, capped_columns
    from undercount.link.lineage import apply_corrections
    from undercount.link.model import (
        prediction_columns,
        settings_dict,
        transfer_parameters,
    )

    if pairs.empty:
        return np.zeros(0)
    ids: dict[int, list[int]] = {}
    for i, (a, b) in enumerate(pairs[["a", "b"]].itertuples(index=False)):
        ids.setdefault(int(a), []).append(i)
        ids.setdefault(int(b), []).append(i)
    # the blocking keys only propose pairs: the sample's pairs are given (and turning a million
    # records' key lists into the engine's lists took seconds, twice per run)
    table = prepared.drop(columns=[c for c in (KEYS_COLUMN, *capped_columns()) if c in prepared])
    table["uc_sample"] = pd.Series([ids.get(int(u), []) for u in table["unique_id"]], index=table.index, dtype=object)
    target = settings_dict("duckdb", options=options, n_records=len(prepared), comparisons=comparisons)
    model = transfer_parameters(settings, target)
    model["blocking_rules_to_generate_predictions"] = [
        {"blocking_rule": "l.uc_sample = r.uc_sample", "arrays_to_explode": ["uc_sample"]}
    ]
    backend = get_backend("duckdb", memory_limit=options.memory_limit)
    try:
        linker = splink_compat.linker(backend.register(table, "uc_missed_input"), model)
        predictions = splink_compat.predict(linker, 0.0)
        scored = backend.to_pandas(predictions, ", ".join(prediction_columns(comparisons)))
    finally:
        backend.close()
    scored = apply_corrections(prepared, scored, settings, rates, lookups=lookups)
    if bits is not None and len(scored):
        scored = scored.assign(match_probability=plus_bits(scored["match_probability"].to_numpy(dtype=float), bits(scored)))
    lo = np.minimum(scored["unique_id_l"], scored["unique_id_r"]).astype("int64")
    hi = np.maximum(scored["unique_id_l"], scored["unique_id_r"]).astype("int64")
    prob = pd.Series(scored["match_probability"].to_numpy(dtype=float), index=pd.MultiIndex.from_arrays([lo, hi]))
    prob = prob[~prob.index.duplicated()]
    wanted = pd.MultiIndex.from_arrays([pairs["a"].astype("int64"), pairs["b"].astype("int64")])
    return prob.reindex(wanted).fillna(0.0).to_numpy(dtype=float)


def estimate_unstored(prepared: pd.DataFrame, stored: pd.DataFrame, person: pd.Series, settings: dict[str, Any], *,
                      options: Any, rates: Any, comparisons: Any = None,
                      final: dict[str, Any] | None = None,
                      bits: Callable[[pd.DataFrame], np.ndarray] | None = None) -> UnstoredEstimate:
    """Estimate, per pair of lists, how many true pairs the model expects among unstored pairs.

    Args:
        prepared: the linkage table of the run.
        stored: the run's stored pairs (record_id_l, record_id_r).
        person: person_id per record_id (the run's clusters): pairs already in one person count 0.
        settings: the model as trained, before the refit on the blocked candidates.
        options: the run's LinkOptions (``missed_sample`` pairs are scored; 0 turns this off).
        rates: the run's lineage rates.
        comparisons: the run's comparisons (default: the default ones).
        final: the run's final model (refitted on the blocked candidates: the model of the stored
            pairs); the sample is scored with it too (``final_probability``), the footing on which
            :func:`unstored_pairs` puts it where the run matched pairs of its two lists.
        bits: the bits the run added to its stored pairs after the model (spelling, third list),
            added to both scorings of the sample (:func:`score_pair_sample`).

    Returns:
        An :class:`UnstoredEstimate`.
    """
    size = int(getattr(options, "missed_sample", 0))
    if size <= 0:
        return UnstoredEstimate(pd.DataFrame(columns=["list_l", "list_r", "frame_pairs", "sampled_pairs",
                                                      "expected", "se"]), None, 0, ["not estimated (missed_sample 0)"])
    from undercount.link.lookups import TableLookups

    counts, sample, cap = _sample_frame(prepared, stored, size, options.seed)
    lookups = TableLookups(prepared)  # for both scorings of the sample
    p = score_pair_sample(prepared, sample, settings, options=options, rates=rates, comparisons=comparisons, lookups=lookups,
                          bits=bits)
    apart = person.reindex(sample["a"]).to_numpy() != person.reindex(sample["b"]).to_numpy()
    y = p * apart
    pi = sample["pi"].to_numpy(dtype=float)
    sample = sample.assign(ht=y / pi, var=(1 - pi) * y**2 / pi**2)
    agg = sample.groupby(["list_l", "list_r"]).agg(sampled_pairs=("a", "size"), expected=("ht", "sum"),
                                                    var=("var", "sum")).reset_index()
    table = counts.merge(agg, on=["list_l", "list_r"], how="left").fillna({"sampled_pairs": 0, "expected": 0.0,
                                                                           "var": 0.0})
    table["se"] = np.sqrt(table.pop("var").to_numpy(dtype=float))
    table["sampled_pairs"] = table["sampled_pairs"].astype("int64")
    notes = [] if cap is not None else ["no cap keeps the frame small enough: unstored pairs not estimated"]
    q = (np.full(len(sample), np.nan) if final is None else
         score_pair_sample(prepared, sample, final, options=options, rates=rates, comparisons=comparisons, lookups=lookups,
                           bits=bits))
    kept = sample.assign(probability=p, final_probability=q)[["a", "b", "probability", "pi", "final_probability"]]
    useful = (kept["probability"] > 0) | (kept["final_probability"].fillna(0.0) > 0)
    return UnstoredEstimate(table, cap, size, notes, kept[useful].reset_index(drop=True))


def write_unstored(con: Any, run_id: str, estimate: UnstoredEstimate) -> None:
    """Insert the estimate's rows into ``uc_missed_links`` (inside the link run's transaction)."""
    detail = json.dumps({"cap": estimate.cap, "sample": estimate.sample, "notes": estimate.notes,
                         "frame": "unstored pairs sharing two or more name-part keys"})
    for row in estimate.table.to_dict("records"):
        con.execute("INSERT INTO uc_missed_links VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                    [run_id, row["list_l"], row["list_r"], int(row["frame_pairs"]), int(row["sampled_pairs"]),
                     float(row["expected"]), float(row["se"]), detail])
    if estimate.pairs is not None and not estimate.pairs.empty:
        con.register("uc_new_missed", estimate.pairs)
        con.execute("INSERT INTO uc_missed_sample (run_id, record_id_l, record_id_r, probability, inclusion, final_probability) "
                    "SELECT ?, a, b, probability, pi, final_probability FROM uc_new_missed", [run_id])
        con.unregister("uc_new_missed")


def _logit(prob: np.ndarray) -> np.ndarray:
    p = np.clip(np.asarray(prob, dtype=float), _LOGIT_CLIP, 1 - _LOGIT_CLIP)
    out: np.ndarray = np.log(p / (1 - p))
    return out


def _sigmoid(x: np.ndarray) -> np.ndarray:
    out: np.ndarray = 1.0 / (1.0 + np.exp(-np.clip(x, -700, 700)))
    return out


@dataclass(frozen=True)
class Calibration:
    """How far the stored probabilities are off, measured on the lists' own structure.

    The calibrated log-odds of a pair is its log-odds plus a shift ``a``; ``a`` is uncertain:
    normal with mean ``shift`` and standard deviation ``sd`` (a Laplace approximation of its
    posterior under the prior N(0, SHIFT_PRIOR_SD^2)). Without labels it is the prior.

    Attributes:
        shift: the posterior mean of ``a`` (natural log-odds).
        sd: its posterior standard deviation.
        labels: structural labels used; positives: of them, pairs of one person.
    """

    shift: float
    sd: float
    labels: int
    positives: int

    def draw(self, rng: np.random.Generator | None) -> float:
        """One draw of the shift (None: its mean)."""
        return self.shift if rng is None else float(rng.normal(self.shift, self.sd))

    def to_dict(self) -> dict[str, float | int]:
        return {"shift": self.shift, "sd": self.sd, "labels": self.labels, "positives": self.positives}


def structural_labels(left: np.ndarray, right: np.ndarray, prob: np.ndarray, source: pd.Series, *,
                      strong: float = STRONG) -> np.ndarray:
    """Labels of stored pairs that a third list decides: 1 one person, 0 two, -1 undecided.

    A pair of records of lists X and Y is decided by a third list Z when each of its records has
    exactly one link of at least ``strong`` to a record of Z: the pair is one person when
    that is the same record of Z, two persons when they are different ones. The pair's own
    probability plays no part, so the labels can measure its calibration (a third list as a
    witness; cf. the transitivity checks of multiple-list linkage, Sadinle and Fienberg 2013).

    Args:
        left, right: record ids of the stored pairs.
        prob: their probabilities.
        source: list of every record, indexed by record id.
        strong: the least probability of an anchoring link (default :data:`STRONG`).

    Returns:
        One label per pair (int8).
    """
    left, right = np.asarray(left, dtype=np.int64), np.asarray(right, dtype=np.int64)
    prob = np.asarray(prob, dtype=float)
    src_l = source.reindex(left).to_numpy(dtype=object)
    src_r = source.reindex(right).to_numpy(dtype=object)
    anchor = (prob >= strong) & (src_l != src_r)
    edges = pd.DataFrame({"rec": np.concatenate([left[anchor], right[anchor]]),
                          "z": np.concatenate([src_r[anchor], src_l[anchor]]),
                          "partner": np.concatenate([right[anchor], left[anchor]])})
    counts = edges.groupby(["rec", "z"])["partner"].transform("size")
    unique = edges[counts == 1].set_index(["rec", "z"])["partner"]
    labels = np.full(len(left), -1, dtype=np.int8)
    for z in pd.unique(source.to_numpy(dtype=object)):
        undecided = (labels < 0) & (src_l != z) & (src_r != z)
        if not undecided.any():
            continue
        za = unique.reindex(pd.MultiIndex.from_arrays([left, np.full(len(left), z, dtype=object)])).to_numpy()
        zb = unique.reindex(pd.MultiIndex.from_arrays([right, np.full(len(right), z, dtype=object)])).to_numpy()
        both = undecided & pd.notna(za) & pd.notna(zb)
        labels[both] = (za[both] == zb[both]).astype(np.int8)
    return labels


def fit_shift(prob: np.ndarray, labels: np.ndarray, *, prior_sd: float = SHIFT_PRIOR_SD) -> Calibration:
    """The posterior of a log-odds shift ``a`` from labelled pairs: P(one person) = sigmoid(logit p + a).

    Penalised maximum likelihood (Newton) with the prior N(0, prior_sd^2); the standard deviation is
    the inverse square root of the curvature at the mode (Laplace).

    Example:
        >>> c = fit_shift(np.array([0.2, 0.2, 0.2, 0.2]), np.array([1, 1, 1, 0]))
        >>> round(c.shift, 2) > 0
        True
    """
    keep = np.asarray(labels) >= 0
    x = _logit(np.asarray(prob, dtype=float)[keep])
    y = np.asarray(labels, dtype=float)[keep]
    a, hess = 0.0, 1 / prior_sd**2
    for _ in range(100):
        mu = _sigmoid(x + a)
        grad = float(np.sum(y - mu)) - a / prior_sd**2
        hess = float(np.sum(mu * (1 - mu))) + 1 / prior_sd**2
        step = grad / hess
        a += step
        if abs(step) < 1e-10:
            break
    return Calibration(shift=float(a), sd=float(1 / np.sqrt(hess)), labels=int(keep.sum()), positives=int(y.sum()))


def structural_calibration(case: Any, run: str, *, anchor: float = STRONG) -> Calibration:
    """The calibration shift of a link run's stored probabilities, from structural labels anchored
    on the run's links of at least ``anchor``.

    It measures the stored pairs only (the pairs blocking proposed, scored by the final model with
    their pair of lists' prior and one-to-one competition): :func:`unstored_calibration` is what the
    unstored sample takes."""
    pairs = case.query("SELECT record_id_l, record_id_r, probability FROM uc_pairs WHERE run_id = ?", [run])
    source = case.clusters(run).set_index("record_id")["source"]
    labels = structural_labels(pairs["record_id_l"].to_numpy(), pairs["record_id_r"].to_numpy(),
                               pairs["probability"].to_numpy(dtype=float), source, strong=anchor)
    return fit_shift(pairs["probability"].to_numpy(dtype=float), labels)


def unstored_calibration() -> Calibration:
    """The calibration of the unstored sample's log-odds: the shift's prior, N(0, SHIFT_PRIOR_SD^2).

    No structural label can reach a pair that linkage left apart when both of its records are
    witnessed: two records with strong links to the same record of a third list are in one person
    through it. So the pairs the missed count sums over are labelled "two persons" or not at all,
    and the shift is measured on stored pairs that linkage joined or kept apart with confidence.
    Carried to the unstored pairs (no rule proposed them; they are a different population) it
    moved the count with whatever anchor defined the labels: on real-list cases with one blocking
    rule removed the unstored part came out 1.4 to 1.7 times the model's own sum, where the truth
    fitted a shift near 0 there (docs/missed-links.md). The unstored pairs therefore take the
    model's probabilities at their word, with the prior's uncertainty in the interval.
    """
    return Calibration(shift=0.0, sd=SHIFT_PRIOR_SD, labels=0, positives=0)


def apart_calibration() -> Calibration:
    """The calibration of the stored pairs left apart (the count's and the model correction's): the
    shift's prior, N(0, SHIFT_PRIOR_SD^2), as the unstored sample has it.

    No structural label reaches a pair left apart with both records witnessed (:func:`unstored_calibration`),
    so the structural shift, measured on pairs linkage joined or kept apart with confidence, was carried
    to them. On the lead's kept cases it over-counted them: their calibrated sum over the true count
    was 1.31 on average with the shift and 1.00 at the model's word at 12,000 people (ten seeds), 1.58
    and 1.53 against 1.28 and 1.12 at 34,344 (docs/missed-links.md, session 13). The links the run
    holds keep the structural shift (the model correction's cuts).
    """
    return unstored_calibration()


def _ordered(sa: np.ndarray, sb: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    swap = sa.astype(str) > sb.astype(str)
    return np.where(swap, sb, sa), np.where(swap, sa, sb)


def _threshold(case: Any, run: str) -> float:
    """The link run's threshold (the default for a run stored without one)."""
    from undercount.link.model import LinkOptions

    value = link_model(case, run)[1]
    return float(LinkOptions().threshold) if value is None else value


def apart_pairs(case: Any, run: str) -> pd.DataFrame:
    """The stored pairs whose records the run's clusters left in different persons.

    A pair at or above the run's threshold that is left apart was refused by the chaining guard
    (undercount.link.clusters): joining it would put in one person records that the model or a
    person says are different (two valid ID numbers, two sexes, two records of one list without a
    link of their own, a cannot-link decision). The guard refuses the weakest link of the
    would-be person; the pair's own probability does not know of the conflict. So such a pair
    carries ``rival``: the log-odds of the weakest link its two persons hold, the link that would
    have to be false for the pair to be true (:func:`refused_logit`).

    Returns:
        a, b (record ids), list_l, list_r, logit (the stored probability's log-odds), rival (the
        weakest held link's log-odds for a pair the guard refused; NaN otherwise, and where neither
        person holds a link).
    """
    pairs = case.query("SELECT record_id_l, record_id_r, probability FROM uc_pairs WHERE run_id = ?", [run])
    clusters = case.clusters(run).set_index("record_id")
    person, source = clusters["person_id"], clusters["source"]
    threshold = _threshold(case, run)
    prob = pairs["probability"].to_numpy(dtype=float)
    pl, pr = person.reindex(pairs["record_id_l"]).to_numpy(), person.reindex(pairs["record_id_r"]).to_numpy()
    apart = pl != pr
    held = ~apart & (prob >= threshold)
    weakest = pd.Series(prob[held], index=pl[held]).groupby(level=0).min()
    rival = np.fmin(weakest.reindex(pl[apart]).to_numpy(dtype=float), weakest.reindex(pr[apart]).to_numpy(dtype=float))
    rival = np.where(prob[apart] >= threshold, rival, np.nan)
    pairs = pairs[apart]
    first, second = _ordered(source.reindex(pairs["record_id_l"]).to_numpy(dtype=object),
                             source.reindex(pairs["record_id_r"]).to_numpy(dtype=object))
    finite = ~np.isnan(rival)
    return pd.DataFrame({"a": pairs["record_id_l"].to_numpy(dtype=np.int64), "b": pairs["record_id_r"].to_numpy(dtype=np.int64),
                         "list_l": first, "list_r": second, "logit": _logit(pairs["probability"].to_numpy(dtype=float)),
                         "rival": np.where(finite, _logit(np.where(finite, rival, 0.5)), np.nan)})


def refused_logit(logit: np.ndarray, rival: np.ndarray, shift: float = 0.0) -> np.ndarray:
    """The log-odds that a pair left apart is one person, its rival link considered.

    A pair without a rival (NaN) keeps its own log-odds (plus ``shift``). A pair the guard refused
    and the weakest link its persons hold cannot both be true; with their odds ``o`` and ``r``
    (both shifted), the pair is one person with odds ``o / (1 + r)``: the competition of two
    exclusive candidates, as the one-to-one prior has it (neither true: 1; the held link: ``r``;
    the pair: ``o``). This is also what the model correction does with such a pair in the
    estimate: it joins the pair only where its re-clustering cuts the rival link.

    Example:
        >>> float(np.round(refused_logit(np.array([np.log(4.0)]), np.array([np.log(19.0)]))[0], 4))
        -1.6094
    """
    x = np.asarray(logit, dtype=float) + shift
    r = np.asarray(rival, dtype=float) + shift
    out: np.ndarray = np.where(np.isnan(r), x, x - np.logaddexp(0.0, np.nan_to_num(r)))
    return out


def _run_model(case: Any, run: str) -> dict[str, Any]:
    found = case.query("SELECT settings FROM uc_link_models WHERE run_id = ?", [run])
    if found.empty:
        return {}
    model: dict[str, Any] = json.loads(str(found["settings"].iloc[0]))
    return model


def _refit_prior(bayes: np.ndarray, offset: np.ndarray, pi: np.ndarray, *, stored: float, total: float,
                 start: float, global_prior: float) -> float:
    """The prior of a pair of lists refitted with its unstored pairs counted (EM on the prior alone).

    ``stored`` matches are expected among the run's stored pairs; the sample's pairs (log Bayes
    factors ``bayes``, fixed offsets, inclusion probabilities ``pi``) stand for the frame's.
    """
    prior = start
    for _ in range(200):
        unstored = float(np.sum(_sigmoid(bayes + offset + np.log(prior / (1 - prior))) / pi))
        new = float(np.clip((stored + unstored + 1.0) / (total + 1.0 / global_prior), 1e-12, 0.5))
        if abs(new - prior) <= 1e-6 * prior:
            return new
        prior = new
    return prior


def unstored_pairs(case: Any, run: str) -> pd.DataFrame:
    """The link run's scored sample of unstored pairs, on the footing of the stored pairs.

    The calibration (:func:`structural_calibration`) measures the stored pairs' probabilities, so
    the sample must be scored as they were. Where the run matched pairs of the two lists (at least
    :data:`MATCHED_FOR_FINAL` expected matches among its stored pairs), each sampled pair takes the
    run's final model's log Bayes factor (``final_probability``: m probabilities refitted on the
    blocked candidates, the model that scored the stored pairs); elsewhere, or for a run stored
    before the final model's scores were kept, the model as trained (the refit learnt nothing about
    a pair of lists it never matched and would put its levels at their floor). Then (1) its pair of
    lists' prior, refitted with the unstored pairs counted (a pair of lists that blocking never
    compared would otherwise keep the tiny prior of no stored match), and (2) where the two lists
    match one to one and one of its records' persons already holds a record of the other list,
    the odds of a second match (the larger of the two lists' duplicate rates), else the bipartite
    prior's bits (undercount.link.posterior) that the stored pairs of those lists carry.

    Returns:
        a, b, list_l, list_r, logit (natural log-odds), pi (inclusion probability), model ('final'
        or 'trained'); pairs whose records are in one person are left out.
    """
    sample = case.query("SELECT record_id_l, record_id_r, probability, inclusion, final_probability FROM uc_missed_sample "
                        "WHERE run_id = ?", [run])
    clusters = case.clusters(run).set_index("record_id")
    person, source = clusters["person_id"], clusters["source"]
    pa, pb = person.reindex(sample["record_id_l"]).to_numpy(), person.reindex(sample["record_id_r"]).to_numpy()
    keep = pa != pb
    sample, pa, pb = sample[keep].reset_index(drop=True), pa[keep], pb[keep]
    sa = source.reindex(sample["record_id_l"]).to_numpy(dtype=object)
    sb = source.reindex(sample["record_id_r"]).to_numpy(dtype=object)
    first, second = _ordered(sa, sb)
    model = _run_model(case, run)
    gprior = float(model.get("splink", {}).get("probability_two_random_records_match", 1e-4))
    fitted = model.get("training", {}).get("list_pairs", {}) or {}
    priors, dups = fitted.get("priors", {}), fitted.get("duplicates", {})
    trained_bayes = _logit(sample["probability"].to_numpy(dtype=float)) - np.log(gprior / (1 - gprior))
    final_p = pd.to_numeric(sample["final_probability"], errors="coerce").to_numpy(dtype=float)
    final_bayes = _logit(np.nan_to_num(final_p)) - np.log(gprior / (1 - gprior))
    on = clusters.reset_index().groupby(["person_id", "source"]).size()
    holds_a = on.reindex(pd.MultiIndex.from_arrays([pa, sb])).fillna(0).to_numpy() > 0
    holds_b = on.reindex(pd.MultiIndex.from_arrays([pb, sa])).fillna(0).to_numpy() > 0
    sizes = source.value_counts()
    out = np.zeros(len(sample))
    used = np.full(len(sample), "trained", dtype=object)
    names = pd.Series(first.astype(str)) + " x " + pd.Series(second.astype(str))
    pi = sample["inclusion"].to_numpy(dtype=float)
    for name in pd.unique(names):
        rows = (names == name).to_numpy()
        info = priors.get(name, {})
        l, r = name.split(" x ")
        final = bool(np.isfinite(final_p[rows]).all()) and float(info.get("expected_matches", 0.0)) >= MATCHED_FOR_FINAL
        bayes = final_bayes[rows] if final else trained_bayes[rows]
        used[rows] = "final" if final else "trained"
        offset = np.zeros(int(rows.sum()))
        if l != r and info.get("one_to_one"):
            second_match = max(float(dups.get(l, 0.0)), float(dups.get(r, 0.0)), 1e-3)
            # a pair of records both still unmatched takes the bipartite prior's bits, as stored pairs do
            bipartite = float(info.get("bipartite_bits", 0.0)) * np.log(2.0)
            offset = np.where((holds_a | holds_b)[rows], np.log(second_match), bipartite)
        nl, nr = float(sizes.get(l, 0)), float(sizes.get(r, 0))
        total = nl * (nl - 1) / 2 if l == r else nl * nr
        start = max(float(info.get("prior", gprior)), gprior)
        prior = _refit_prior(bayes, offset, pi[rows], stored=float(info.get("expected_matches", 0.0)),
                             total=max(total, 1.0), start=start, global_prior=gprior)
        out[rows] = bayes + offset + np.log(prior / (1 - prior))
    return pd.DataFrame({"a": sample["record_id_l"].to_numpy(dtype=np.int64), "b": sample["record_id_r"].to_numpy(dtype=np.int64),
                         "list_l": first, "list_r": second, "logit": out, "pi": pi, "model": used})


def _calibrated_counts(apart: pd.DataFrame, unstored: pd.DataFrame, calibration: Calibration | None = None, *,
                       unstored_shift: Calibration | None = None, draws: int = 400, seed: int = 0) -> pd.DataFrame:
    """Per pair of lists: the calibrated expected missed pairs and a 95% interval.

    The stored pairs left apart take ``calibration`` (default :func:`apart_calibration`), the unstored
    sample ``unstored_shift`` (default :func:`unstored_calibration`), each drawn independently. The
    interval mixes both shifts' uncertainty, the Poisson-binomial spread of the true pairs among
    the scored ones and the unstored sample's Horvitz-Thompson variance.
    """
    rng = np.random.default_rng(seed)
    calibration = apart_calibration() if calibration is None else calibration
    other = unstored_calibration() if unstored_shift is None else unstored_shift
    shifts = rng.normal(calibration.shift, calibration.sd, draws)
    shifts_u = rng.normal(other.shift, other.sd, draws)
    keys = sorted(set(zip(apart["list_l"], apart["list_r"])) | set(zip(unstored["list_l"], unstored["list_r"])))
    rows = []
    for key in keys:
        rows_a = (apart["list_l"] == key[0]) & (apart["list_r"] == key[1])
        xa = apart.loc[rows_a, "logit"].to_numpy(dtype=float)
        ra = apart.loc[rows_a, "rival"].to_numpy(dtype=float) if "rival" in apart else np.full(len(xa), np.nan)
        sel = (unstored["list_l"] == key[0]) & (unstored["list_r"] == key[1])
        xu, pi = unstored.loc[sel, "logit"].to_numpy(dtype=float), unstored.loc[sel, "pi"].to_numpy(dtype=float)
        mean, var = np.zeros(draws), np.zeros(draws)
        for d in range(draws):  # one draw at a time: memory stays linear in the pairs
            pa, pu = _sigmoid(refused_logit(xa, ra, shifts[d])), _sigmoid(xu + shifts_u[d])
            mean[d] = pa.sum() + (pu / pi).sum()
            var[d] = (pa * (1 - pa)).sum() + (pu * (1 - pu) / pi + (1 - pi) * pu**2 / pi**2).sum()
        counts = np.maximum(0.0, rng.normal(mean, np.sqrt(var)))
        point = float(_sigmoid(refused_logit(xa, ra, calibration.shift)).sum() + (_sigmoid(xu + other.shift) / pi).sum())
        rows.append({"list_l": key[0], "list_r": key[1], "calibrated_missed": point,
                     # whole pairs: the interval's ends are whole numbers, outward
                     "missed_low": float(np.floor(np.quantile(counts, 0.025))),
                     "missed_high": float(np.ceil(np.quantile(counts, 0.975)))})
    return pd.DataFrame(rows, columns=["list_l", "list_r", "calibrated_missed", "missed_low", "missed_high"])


def _co_clustered(person: pd.Series, source: pd.Series, lists: list[str]) -> dict[tuple[str, str], int]:
    """Record pairs placed in one person, per pair of lists (sorted names)."""
    frame = pd.DataFrame({"person": person.to_numpy(), "source": source.reindex(person.index).to_numpy()})
    table = frame.groupby(["person", "source"]).size().unstack("source", fill_value=0)
    counts = table.reindex(columns=lists, fill_value=0).to_numpy(dtype=np.int64)
    out: dict[tuple[str, str], int] = {}
    for i, a in enumerate(lists):
        for j in range(i, len(lists)):
            b = lists[j]
            col_i, col_j = counts[:, i], counts[:, j]
            value = int((col_i * (col_i - 1) // 2).sum()) if i == j else int((col_i * col_j).sum())
            key = (min(a, b), max(a, b))
            out[key] = out.get(key, 0) + value
    return out


def missed_links(case: Any, *, link_run: str | None = None) -> pd.DataFrame:
    """The model's expected missed and false links per pair of lists for a case's current clusters.

    Args:
        case: a linked case.
        link_run: the link run (default: the current one).

    Returns:
        One row per pair of lists (MISSED_COLUMNS): record pairs in one person (``linked_pairs``),
        the model's expected false links among the stored ones (``expected_false``: sum of 1 - p),
        expected true pairs among stored pairs left apart (``missed_scored``: sum of p), among
        unstored pairs (``missed_unstored`` and its standard error, from the run's sample; null
        when the run has none) and their sum ``expected_missed``; then the same with the
        stored pairs left apart (a refused pair competing with its rival, :func:`refused_logit`) and
        the unstored sample put on the stored pairs' model and priors (:func:`unstored_pairs`) both
        at the model's word with the shift's prior as uncertainty (:func:`apart_calibration`,
        :func:`unstored_calibration`): ``calibrated_missed``,
        and its 95% interval (``missed_low``, ``missed_high``: both calibrations' uncertainty, the
        spread of true pairs among scored ones and the sample's variance; wider than zero
        whenever some pair was scored and left apart).

    Raises:
        StoreError: the case has not been linked.
    """
    run = link_run or case.current_run("link")
    clusters = case.clusters()
    person = clusters.set_index("record_id")["person_id"]
    source = clusters.set_index("record_id")["source"]
    pairs = case.pairs(run)[["record_id_l", "record_id_r", "probability"]]
    lists = [s for s in case.sources()["name"].tolist() if s in set(source)]
    same = person.reindex(pairs["record_id_l"]).to_numpy() == person.reindex(pairs["record_id_r"]).to_numpy()
    sa = source.reindex(pairs["record_id_l"]).to_numpy(dtype=object)
    sb = source.reindex(pairs["record_id_r"]).to_numpy(dtype=object)
    p = pairs["probability"].to_numpy(dtype=float)
    stored = pd.DataFrame({"list_l": np.where(sa <= sb, sa, sb), "list_r": np.where(sa <= sb, sb, sa),
                           "false": np.where(same, 1 - p, 0.0), "missed": np.where(same, 0.0, p)})
    sums = stored.groupby(["list_l", "list_r"])[["false", "missed"]].sum().reset_index()
    agg = {(str(a), str(b)): (float(f), float(m))
           for a, b, f, m in sums[["list_l", "list_r", "false", "missed"]].itertuples(index=False)}
    found = case.query("SELECT list_l, list_r, frame_pairs, sampled_pairs, expected, se FROM uc_missed_links "
                       "WHERE run_id = ?", [run])
    unstored = {(str(r["list_l"]), str(r["list_r"])): r for r in found.to_dict("records")}
    zero = {"expected": 0.0, "se": 0.0, "frame_pairs": 0, "sampled_pairs": 0} if unstored else None
    rows = []
    for key, linked in sorted(_co_clustered(person, source, lists).items()):
        false, scored = agg.get(key, (0.0, 0.0))
        u = unstored.get(key, zero)
        rows.append({"list_l": key[0], "list_r": key[1], "linked_pairs": linked, "expected_false": false,
                     "missed_scored": scored,
                     "missed_unstored": None if u is None else float(u["expected"]),
                     "missed_unstored_se": None if u is None else float(u["se"]),
                     "expected_missed": scored + (0.0 if u is None else float(u["expected"])),
                     "frame_pairs": None if u is None else int(u["frame_pairs"]),
                     "sampled_pairs": None if u is None else int(u["sampled_pairs"])})
    out = pd.DataFrame(rows, columns=[c for c in MISSED_COLUMNS if c not in _CALIBRATED])
    calibrated = _calibrated_counts(apart_pairs(case, run), unstored_pairs(case, run), apart_calibration())
    out = out.merge(calibrated, on=["list_l", "list_r"], how="left").fillna({c: 0.0 for c in _CALIBRATED})
    return out[MISSED_COLUMNS]
