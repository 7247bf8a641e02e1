"""Correcting the capture histories for the links that linkage missed (issue 13).

A missed link splits one person into fragments, each on fewer lists: the capture table then holds
too many persons on one list only and too few on several, and the estimate rises. The correction
puts the fragments back together, per stratum, in every replicate of the estimate (each
imputation of unknown strata, each linkage draw), with a fresh draw of its own uncertainty each
time, so that pooling the replicates (docs/linkage-uncertainty.md) carries its variance into the
interval.

**From a search sample** (:class:`SampleCorrection`, measured). People searched, for a random
sample of the persons of every cell but the full one (undercount.review.sample), every list the
person is not on. An answered item ``i`` names the records the person holds and those found on
other lists. In a replicate's linkage, the persons holding them are the fragments of one true
person; merging them changes the table by ``delta_i``: minus one in the cell (and stratum) of
each fragment, plus one in the cell of their union (the stratum of the sampled person). A true
person with several fragments can be drawn through any fragment that lies in a sampled cell, so
``delta_i`` is divided by ``m_i``, the number of its fragments in sampled cells at drawing time
(a multiplicity estimator, Hansen and Hurwitz 1943). The table's correction is
``sum over cells S of N_S * mean over S's answered items of delta_i / m_i``: unbiased for the
change that merging every fragment would make, when the cells' items are a simple random sample
and the searchers find what is there. Its uncertainty is drawn by the Bayesian bootstrap (Rubin
1981): each replicate weights a cell's answered items by Dirichlet(1, ..., 1) weights instead of
1/n. The result is rounded stochastically to whole persons and applied to the replicate's
persons x lists matrix (rows removed from the fragments' cells, rows added to the union's).

This is the K-list case of correcting observed counts by estimated linkage errors (Ding and
Fienberg 1994 for two lists; Di Consiglio and Tuoto 2015, 2018 for K lists), with the error
estimated cell by cell from a clerical sample instead of by homogeneous error rates per list
pair: the sample measures where missed links lie (which cells, which strata) rather than
assuming that every pair of lists misses its links at one rate.

**From the model** (:class:`ModelCorrection`, unverified). Without a search sample, the link
run's own estimate of the true pairs it left apart stands in, calibrated on the lists' own
structure (undercount.link.missed: a third list's strong links label stored pairs; a log-odds
shift with its uncertainty is fitted on them). The unstored sample, which no label can reach,
takes the model's probabilities with the shift's prior as their uncertainty
(undercount.link.missed.unstored_calibration). Each replicate draws one shift for all stored pairs
and one for all unstored ones; a stored pair
left apart in the replicate is merged with the part of its calibrated probability that the
linkage draws did not already give, and each sampled unstored pair ``j`` (drawn with probability
``pi_j``) merges the persons holding its records ``Poisson(p_j / (pi_j c_j))`` times, ``c_j``
being the number of record pairs between those two persons (a merge is counted once, not once
per record pair). The model's probabilities decide this correction: it is reported as
unverified.
"""

from __future__ import annotations

import copy
from abc import ABC, abstractmethod
from collections import defaultdict
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np
import pandas as pd

from undercount.estimate.results import EstimateResult
from undercount.link.missed import Calibration, unstored_calibration
from undercount.store import Case

__all__ = [
    "CORRECTIONS",
    "CORRECTION_DRAWS",
    "Correction",
    "ModelCorrection",
    "SampleCorrection",
    "apply_delta",
    "correction_for",
    "correction_line",
    "with_correction",
]

CORRECTION_DRAWS = 20
CORRECTIONS = ("auto", "sample", "model", "none")

Cell = tuple[str, tuple[int, ...]]  # (stratum label, pattern as 0/1 per list)


def _codes(matrix: pd.DataFrame) -> np.ndarray:
    """Each person's capture pattern as an integer (bit k: list k)."""
    bits = np.left_shift(1, np.arange(matrix.shape[1], dtype=np.int64))
    codes: np.ndarray = matrix.to_numpy(dtype=np.int64) @ bits
    return codes


def apply_delta(matrix: pd.DataFrame, labels: pd.Series, delta: dict[Cell, int], rng: np.random.Generator
                ) -> tuple[pd.DataFrame, pd.Series, int]:
    """A persons x lists matrix changed by whole persons per (stratum, pattern).

    Negative entries remove that many persons of the pattern and stratum, chosen at random; when
    the stratum has too few, the rest are taken from the same pattern in other strata. Positive
    entries add persons. Returns the new matrix, its labels and the number of removals made
    outside their stratum or not at all (there were not enough persons of the pattern).
    """
    k = matrix.shape[1]
    codes = _codes(matrix)
    labs = labels.reindex(matrix.index).astype(str).to_numpy()
    gone = np.zeros(len(matrix), dtype=bool)
    short = 0
    add_codes: list[int] = []
    add_labels: list[str] = []
    bits = np.left_shift(1, np.arange(k, dtype=np.int64))
    for (label, pat), n in sorted(delta.items()):
        code = int(np.dot(np.asarray(pat, dtype=np.int64), bits))
        if n > 0:
            add_codes.extend([code] * n)
            add_labels.extend([label] * n)
            continue
        need = -n
        pool = np.flatnonzero((codes == code) & (labs == label) & ~gone)
        take = rng.choice(pool, size=min(need, len(pool)), replace=False)
        gone[take] = True
        if need > len(take):
            short += need - len(take)
            other = np.flatnonzero((codes == code) & ~gone)
            gone[rng.choice(other, size=min(need - len(take), len(other)), replace=False)] = True
    kept = matrix.loc[~gone]
    kept_labels = labels.reindex(matrix.index).loc[~gone]
    if add_codes:
        ids = pd.Index([f"C{i:07d}" for i in range(len(add_codes))], name=matrix.index.name)
        rows = ((np.asarray(add_codes, dtype=np.int64)[:, None] >> np.arange(k)) & 1).astype(np.int8)
        kept = pd.concat([kept, pd.DataFrame(rows, index=ids, columns=matrix.columns)])
        kept_labels = pd.concat([kept_labels, pd.Series(add_labels, index=ids)])
    return kept, kept_labels, short


def _sigmoid(x: np.ndarray) -> np.ndarray:
    out: np.ndarray = 1.0 / (1.0 + np.exp(-np.clip(x, -700, 700)))
    return out


def _round(values: dict[Cell, float], rng: np.random.Generator) -> dict[Cell, int]:
    """Stochastic rounding to whole persons (the expectation is kept)."""
    out: dict[Cell, int] = {}
    for key, v in values.items():
        base = np.floor(v)
        k = int(base + (rng.random() < v - base))
        if k:
            out[key] = k
    return out


class _Replicate:
    """A replicate's persons as positions, pattern codes and stratum labels, for fast merging."""

    def __init__(self, matrix: pd.DataFrame, labels: pd.Series, person: pd.Series) -> None:
        self.k = matrix.shape[1]
        self.codes = _codes(matrix)
        self.labels = labels.reindex(matrix.index).astype(str).to_numpy()
        self.position = pd.Series(matrix.index.get_indexer(pd.Index(person.to_numpy())).astype(float), index=person.index)

    def persons(self, records: list[int]) -> list[int]:
        """Positions of the persons holding these records (each once, in order)."""
        found = self.position.reindex(records).dropna().astype(int)
        return list(dict.fromkeys(int(p) for p in found if p >= 0))

    def pattern(self, code: int) -> tuple[int, ...]:
        return tuple(int(code >> b & 1) for b in range(self.k))

    def merge(self, persons: list[int], anchor: int, weight: float, into: dict[Cell, float]) -> None:
        """Add ``weight`` times the change of merging these persons (in the anchor's stratum)."""
        if len(persons) < 2:
            return
        union = 0
        for p in persons:
            key = (str(self.labels[p]), self.pattern(int(self.codes[p])))
            into[key] = into.get(key, 0.0) - weight
            union |= int(self.codes[p])
        key = (str(self.labels[anchor]), self.pattern(union))
        into[key] = into.get(key, 0.0) + weight


@dataclass
class Correction(ABC):
    """A correction of the capture histories, drawn afresh for every replicate.

    Attributes:
        kind: 'search sample' or 'model'.
        verified: True when people's answers measured it.
        draws: replicates the estimate should have at least, so that its spread is pooled.
        info: figures for the report (no names).
    """

    kind: str
    verified: bool
    draws: int = CORRECTION_DRAWS
    info: dict[str, Any] = field(default_factory=dict)
    applied: list[dict[str, float]] = field(default_factory=list)

    def fresh(self) -> Correction:
        """The same correction with nothing applied yet (one per estimate, so that each summary counts its own draws)."""
        out = copy.copy(self)
        out.applied = []
        return out

    def adjust(self, matrix: pd.DataFrame, labels: pd.Series, person: pd.Series, rng: np.random.Generator
               ) -> tuple[pd.DataFrame, pd.Series]:
        """One corrected draw of a replicate's matrix (persons x lists) and labels."""
        delta = self.draw(_Replicate(matrix, labels, person), rng)
        rounded = _round(delta, rng)
        out, out_labels, short = apply_delta(matrix, labels, rounded, rng)
        self.applied.append({"merged_persons": float(len(matrix) - len(out)), "short": float(short)})
        return out, out_labels

    @abstractmethod
    def draw(self, rep: _Replicate, rng: np.random.Generator | None) -> dict[Cell, float]:
        """The real-valued change of one draw (each kind its own); ``rng`` None: the point estimate."""

    def point(self, matrix: pd.DataFrame, labels: pd.Series, person: pd.Series) -> dict[Cell, float]:
        """The estimated change of the table (no random draw), per (stratum, pattern)."""
        return {k: v for k, v in self.draw(_Replicate(matrix, labels, person), None).items() if abs(v) > 1e-12}

    def summary(self) -> dict[str, Any]:
        """What the correction is and did (figures only)."""
        merged = [a["merged_persons"] for a in self.applied]
        return {"kind": self.kind, "verified": self.verified, **self.info,
                "draws_applied": len(merged),
                "persons_merged_mean": float(np.mean(merged)) if merged else 0.0,
                "persons_merged_range": [float(min(merged)), float(max(merged))] if merged else [0.0, 0.0],
                "removals_outside_stratum": float(sum(a["short"] for a in self.applied))}


@dataclass
class _Item:
    cell: str
    weight: float           # N_S (the cell's persons at drawing)
    records: list[int]      # the person's records and the records found, together
    anchor: int             # one of the person's own records
    multiplicity: int       # fragments of the merged person in sampled cells, at drawing


class SampleCorrection(Correction):
    """The correction measured by an answered search sample."""

    def __init__(self, items: list[_Item], info: dict[str, Any]) -> None:
        super().__init__(kind="search sample", verified=True, info=info)
        by_cell: dict[str, list[_Item]] = defaultdict(list)
        for it in items:
            by_cell[it.cell].append(it)
        self.cells = dict(by_cell)

    def draw(self, rep: _Replicate, rng: np.random.Generator | None) -> dict[Cell, float]:
        """One draw of the change (Bayesian bootstrap weights); ``rng`` None: the point estimate
        (weights 1/n, the Horvitz-Thompson estimator)."""
        total: dict[Cell, float] = {}
        for items in self.cells.values():
            weights = np.full(len(items), 1 / len(items)) if rng is None else rng.dirichlet(np.ones(len(items)))
            for w, it in zip(weights, items):
                persons = rep.persons(it.records)
                anchor = rep.persons([it.anchor])
                if anchor and len(persons) > 1:
                    rep.merge(persons, anchor[0], it.weight * w / it.multiplicity, total)
        return total


class ModelCorrection(Correction):
    """The model's unverified correction for the true pairs a link run left apart.

    Two kinds of pairs, with log-odds shifted by a calibration drawn afresh for each replicate
    (one draw shared by every pair of a kind, so that the calibration's uncertainty moves the
    whole correction and reaches the interval instead of averaging out): the stored pairs by the
    structural calibration ``a``, the unstored sample by ``unstored_shift`` (default: the prior,
    mean 0; undercount.link.missed.unstored_calibration):

    * stored pairs whose records the replicate left in different persons: merged with
      probability ``(p_a - p) / (1 - p)``, the part of the calibrated ``p_a`` that the linkage
      draws (which sample each pair with ``p``) did not already give (never below 0);
    * the link run's sample of unstored pairs: merged ``Poisson(p_a / (pi c))`` times;
    * true pairs that neither blocking nor the sample's frame can see (``unseen``): per pair of
      lists, a count with the rule of three's uncertainty (:func:`_unseen`); they only widen the
      interval (the point estimate leaves them out).
    """

    def __init__(self, apart: pd.DataFrame, unstored: pd.DataFrame, calibration: Calibration,
                 info: dict[str, Any], *, unseen: bool = True, unstored_shift: Calibration | None = None) -> None:
        super().__init__(kind="model", verified=False, info=info)
        self.apart_a = apart["a"].to_numpy(dtype=np.int64)
        self.apart_b = apart["b"].to_numpy(dtype=np.int64)
        self.apart_logit = apart["logit"].to_numpy(dtype=float)
        self.unstored_a = unstored["a"].to_numpy(dtype=np.int64)
        self.unstored_b = unstored["b"].to_numpy(dtype=np.int64)
        self.unstored_logit = unstored["logit"].to_numpy(dtype=float)
        self.unstored_weight = 1 / (unstored["pi"].to_numpy(dtype=float) * unstored["c"].to_numpy(dtype=float))
        self.calibration = calibration
        self.unstored_shift = unstored_calibration() if unstored_shift is None else unstored_shift
        self.unseen = unseen

    def draw(self, rep: _Replicate, rng: np.random.Generator | None) -> dict[Cell, float]:
        total: dict[Cell, float] = {}
        shift = self.calibration.draw(rng)
        shift_u = self.unstored_shift.draw(rng)
        pos_a = rep.position.reindex(self.apart_a).fillna(-1).to_numpy(dtype=np.int64)
        pos_b = rep.position.reindex(self.apart_b).fillna(-1).to_numpy(dtype=np.int64)
        excess = _excess(self.apart_logit, shift)
        live = (pos_a >= 0) & (pos_b >= 0) & (pos_a != pos_b) & (excess > 0)
        if live.any():
            # a pair of persons is merged once, whatever the number of its record pairs
            frame = pd.DataFrame({"x": np.minimum(pos_a, pos_b)[live], "y": np.maximum(pos_a, pos_b)[live],
                                  "keep": np.log1p(-np.minimum(excess[live], 1 - 1e-12))})
            merged = frame.groupby(["x", "y"])["keep"].sum()
            chance = 1 - np.exp(merged.to_numpy())
            weights = chance if rng is None else (rng.random(len(chance)) < chance).astype(float)
            for (x, y), w in zip(merged.index, weights):
                if w:
                    rep.merge([int(x), int(y)], int(x), float(w), total)
        if len(self.unstored_a):
            rates = _sigmoid(self.unstored_logit + shift_u) * self.unstored_weight
            counts = rates if rng is None else rng.poisson(rates).astype(float)
            for k in np.flatnonzero(counts > 0):
                persons = rep.persons([int(self.unstored_a[k]), int(self.unstored_b[k])])
                if len(persons) == 2:
                    rep.merge(persons, persons[0], float(counts[k]), total)
        if rng is not None and self.unseen:
            _unseen(rep, rng, total)
        return total

    def expected_merges(self) -> float:
        """The merges the point correction expects: stored pairs left apart (their excess at the
        calibration's shift) plus the unstored sample's Horvitz-Thompson sum at its own shift."""
        unstored = _sigmoid(self.unstored_logit + self.unstored_shift.shift) * self.unstored_weight
        return float(unstored.sum() + _excess(self.apart_logit, self.calibration.shift).sum())


def _excess(logit: np.ndarray, shift: float) -> np.ndarray:
    """The part of a stored pair's calibrated probability ``p_a`` that linkage draws sampling it
    with ``p`` did not already give: ``(p_a - p) / (1 - p)``, never below 0."""
    p = _sigmoid(logit)
    out: np.ndarray = np.clip((_sigmoid(logit + shift) - p) / np.maximum(1 - p, 1e-12), 0.0, 1.0)
    return out


def _unseen(rep: _Replicate, rng: np.random.Generator, total: dict[Cell, float]) -> None:
    """Merges for the true pairs no part of the model can see (the rule of three).

    For each pair of lists, ``U ~ Poisson(lambda)`` with ``lambda ~ Gamma(1, 1)``: the posterior of
    a Poisson mean after seeing no event, whose 95% upper bound is 3. Each merge joins a person
    holding the first list but not the second with one holding the second but not the first (and
    no list in common), drawn at random: the effect of a missed link on the table.
    """
    for i in range(rep.k):
        for j in range(i + 1, rep.k):
            count = int(rng.poisson(rng.gamma(1.0, 1.0)))
            if not count:
                continue
            on_i = (rep.codes >> i & 1) == 1
            on_j = (rep.codes >> j & 1) == 1
            left, right = np.flatnonzero(on_i & ~on_j), np.flatnonzero(on_j & ~on_i)
            for _ in range(count):
                if not len(left) or not len(right):
                    break
                a = int(rng.choice(left))
                fits = right[(rep.codes[right] & rep.codes[a]) == 0]
                if len(fits):
                    rep.merge([a, int(rng.choice(fits))], a, 1.0, total)


def _sample_correction(case: Case, sample_id: str) -> SampleCorrection | None:
    from undercount.review.sample import answers, linked_lists, sample_items

    items = sample_items(case, sample_id)
    got = answers(case, sample_id)
    decided = got[got["answer"].isin(["found", "absent"])]
    per_item = decided.groupby("item")["list"].nunique()
    need = items.set_index("item")["search_lists"].map(len)
    complete = need.index[per_item.reindex(need.index, fill_value=0).to_numpy() >= need.to_numpy()]
    if len(complete) == 0:
        return None
    link_run = str(items["link_run_id"].iloc[0])
    clusters = case.clusters(link_run)
    person_then = clusters.set_index("record_id")["person_id"]
    lists = linked_lists(case, clusters["source"])
    order = {name: i for i, name in enumerate(lists)}
    on_then: dict[str, set[str]] = {}
    for pid, src in clusters[["person_id", "source"]].itertuples(index=False):
        on_then.setdefault(str(pid), set()).add(str(src))
    cell_then = {pid: "+".join(sorted(on, key=order.__getitem__)) for pid, on in on_then.items()}
    sampled_cells = set(items["cell"])
    found: dict[int, list[int]] = {}
    for item, rec in decided.loc[decided["answer"] == "found", ["item", "found_record_id"]].itertuples(index=False):
        found.setdefault(int(item), []).append(int(rec))
    rows = items.set_index("item").loc[complete]
    sampled_per_cell = rows.groupby("cell").size()
    out: list[_Item] = []
    for item, row in rows.iterrows():
        records = [int(r) for r in row["record_ids"]]
        extra = found.get(int(str(item)), [])
        fragments = set(person_then.reindex(records + extra).dropna())
        # the merged person could have been drawn through any of its fragments in a sampled cell
        multiplicity = max(1, sum(1 for p in fragments if cell_then.get(str(p)) in sampled_cells))
        out.append(_Item(str(row["cell"]), float(row["cell_size"]), records + extra, records[0], multiplicity))
    with_found = len(found)
    info = {"sample_id": sample_id, "link_run_id": link_run, "items": len(items),
            "answered": len(complete), "with_found": with_found,
            "cells": {str(c): {"persons": int(rows.loc[rows["cell"] == c, "cell_size"].iloc[0]),
                               "answered": int(n)} for c, n in sampled_per_cell.items()}}
    return SampleCorrection(out, info)


def _model_correction(case: Case) -> ModelCorrection | None:
    from undercount.link.missed import apart_pairs, structural_calibration, unstored_pairs

    run = case.current_run("link")
    if run is None:
        return None
    apart = apart_pairs(case, run)
    unstored = unstored_pairs(case, run)
    if apart.empty and unstored.empty:
        return None
    person = case.clusters(run).set_index("record_id")["person_id"]
    sizes = person.value_counts()
    pa = person.reindex(unstored["a"]).to_numpy()
    pb = person.reindex(unstored["b"]).to_numpy()
    unstored = unstored.assign(c=sizes.reindex(pa).fillna(1).to_numpy() * sizes.reindex(pb).fillna(1).to_numpy())
    calibration = structural_calibration(case, run)
    info = {"link_run_id": run, "sampled_pairs": len(unstored), "apart_pairs": len(apart),
            "calibration": calibration.to_dict(), "unstored_calibration": unstored_calibration().to_dict()}
    correction = ModelCorrection(apart, unstored, calibration, info)
    info["expected_merges"] = correction.expected_merges()
    return correction


def correction_for(case: Case, which: str = "auto") -> Correction | None:
    """The correction to apply when estimating a case.

    Args:
        case: a linked case.
        which: 'auto' (the newest search sample with answers, else the model's), 'sample',
            'model' or 'none'.

    Returns:
        A Correction, or None ('none', or nothing to correct with).

    Raises:
        ConfigError: an unknown choice, or 'sample' asked for where no sample has answers.
    """
    from undercount.errors import ConfigError
    from undercount.review.sample import latest_sample

    if which not in CORRECTIONS:
        raise ConfigError(f"unknown correction {which!r}: use one of {', '.join(CORRECTIONS)}")
    if which == "none":
        return None
    if which in ("auto", "sample"):
        sid = latest_sample(case)
        found = _sample_correction(case, sid) if sid is not None else None
        if found is not None:
            return found
        if which == "sample":
            raise ConfigError(f"{case.path} holds no answered search sample: draw one ('undercount search-sample') "
                              "and answer it, or use --correction model")
    return _model_correction(case)


UNVERIFIED = ("the correction for missed links is the model's own estimate, unverified: it expects only as "
              "many missed links as its probabilities allow; a search sample measures them "
              "('undercount search-sample')")


def _spread(result: EstimateResult) -> float | None:
    """The variance of a result's replicate estimates (None with one replicate)."""
    reps = result.details.get("replicate_estimates")
    return float(np.var(reps, ddof=1)) if isinstance(reps, list) and len(reps) > 1 else None


def with_correction(result: EstimateResult, correction: Correction | None, plain: EstimateResult,
                    corrected: EstimateResult) -> EstimateResult:
    """The final result with ``details['correction']``: what the correction did to the estimate and
    to its interval, and how many searches would narrow it; warned when it is unverified.

    Args:
        result: the final (pooled) result.
        correction: the correction applied, or None.
        plain: the best linkage's result without the correction.
        corrected: the best linkage's result with it.
    """
    if correction is None:
        return replace(result, details={**result.details, "correction": {"kind": "none"}})
    info: dict[str, Any] = correction.summary()
    info.update(uncorrected_estimate=plain.estimate, uncorrected_lower=plain.lower, uncorrected_upper=plain.upper,
                corrected_best_estimate=corrected.estimate)
    if plain.estimate is not None and corrected.estimate is not None:
        info["shift"] = float(corrected.estimate - plain.estimate)
    var_plain, var_corr = _spread(plain), _spread(corrected)
    width = None if result.upper is None or result.lower is None else float(result.upper - result.lower)
    share = None
    if var_corr is not None and width:
        added = max(0.0, var_corr - (var_plain or 0.0))
        share = float(min(1.0, added / (width / (2 * 1.96)) ** 2))
        info["correction_sd"] = float(np.sqrt(added))
    info["variance_share"] = share
    answered = int(info.get("answered", 0))
    if correction.verified and share is not None and answered:
        # the correction's variance falls as 1/n: searches for it to widen the interval by 10% at most
        rest = max(1e-9, 1 - share)
        info["searches_for_10pct"] = int(np.ceil(answered * share / (0.21 * rest))) if share > 0 else answered
    out = replace(result, details={**result.details, "correction": info})
    return out if correction.verified else out.with_warning(UNVERIFIED)


def correction_line(info: dict[str, Any]) -> str:
    """One line on the correction for missed links: what it is, how much it moved the estimate,
    its part of the interval, and how many searches would narrow it (figures only)."""
    kind = info.get("kind", "none")
    if kind == "none":
        return ("missed links: no correction (--correction none, or nothing to correct with); "
                "a search sample measures them ('undercount search-sample')")
    shift = info.get("shift")
    moved = "" if shift is None else f"; it moved the best linkage's estimate by {shift:+,.0f}"
    share = info.get("variance_share")
    part = "" if share is None else f", {share:.0%} of the interval's variance"
    if kind == "model":
        return (f"missed links: corrected by the model's own estimate (unverified){moved}{part}; "
                f"a search sample (e.g. 300 persons, 'undercount search-sample') would measure it")
    more = info.get("searches_for_10pct")
    narrow = "" if more is None else f"; about {more:,} answered searches would keep its part of the width under 10%"
    return (f"missed links: corrected by search sample {info.get('sample_id')} ({info.get('answered', 0):,} persons "
            f"searched, {info.get('with_found', 0):,} found on another list){moved}{part}{narrow}")
