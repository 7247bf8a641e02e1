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
1/n, their spread about 1/n shrunk by ``sqrt(1 - n/N_S)`` (:func:`frame_weights`): the sample is
drawn without replacement from a cell of ``N_S`` persons, so its variance carries the finite
population correction ``1 - n/N_S`` (Cochran 1977, 2.5), and a cell searched whole (a census) adds
no variance at all. The result is rounded stochastically to whole persons and applied to the replicate's
persons x lists matrix (rows removed from the fragments' cells, rows added to the union's).

The sample's review half (undercount.review.sample_links) measures the **false** links the same
way: for a random sample of the persons linkage built from two or more records, stratified by the
model's doubt about their links, people say record by record whether it is the same person as the
person's first record. In a replicate's linkage, the person holding that first record loses the
records answered "not this person" that it holds, which become one other person: the table
changes by ``delta_i`` (minus one in the merged person's cell, plus one in each part's cell, all in
the merged person's stratum), weighted by its band's ``N_S / n_S`` and drawn with the same
bootstrap. The two halves correct the table in both directions.

This is the K-list case of correcting observed counts by estimated linkage errors (Ding and
Fienberg 1994 for two lists; Di Consiglio and Tuoto 2015, 2018 for K lists), with the error
estimated cell by cell from a clerical sample instead of by homogeneous error rates per list
pair: the sample measures where missed links lie (which cells, which strata) rather than
assuming that every pair of lists misses its links at one rate. The false-link rate per pair of
lists (the weighted share of reviewed links answered "not this person", with its bootstrap
standard error) is reported beside it (``false_link_rates``).

**From the model** (:class:`ModelCorrection`, unverified). Without a search sample, the link
run's own probabilities stand in, calibrated on the lists' own structure (undercount.link.missed:
a third list's strong links label stored pairs; a log-odds shift with its uncertainty is fitted
on them). Each replicate draws one shift for the links the linkage holds, one for the stored pairs
it left apart and one for all unstored ones; no structural label reaches a pair left apart, so those
pairs, like the unstored sample, take the model's probabilities with the shift's prior as their
uncertainty (undercount.link.missed.apart_calibration: the structural shift over-counted them,
docs/missed-links.md session 13). A stored pair is a link in truth with its calibrated probability ``p_a``; what the replicate's
linkage already gave it depends on how that linkage was made. The run's own clusters (the best
linkage) are deterministic: a pair they left apart is joined with probability ``p_a`` and a link
they hold is cut with probability ``1 - p_a``, both ways alike. Linkage draws
(undercount.link.draws) sampled every pair with the model's ``p`` already: a pair a draw left apart
is joined with the excess ``(p_a - p) / (1 - p)`` and a link it holds is cut with
``(p - p_a) / p`` (each never below 0). The persons these events touch are clustered again under
the linkage's chaining guard. Each sampled unstored pair ``j`` (drawn with probability ``pi_j``;
the unstored sample takes the model's probabilities with the shift's prior as their uncertainty,
undercount.link.missed.unstored_calibration) merges the persons holding its records
``Poisson(p_j / (pi_j c_j))`` times, ``c_j`` being the number of record pairs between those two
persons (a merge is counted once, not once per record pair). The model's probabilities decide this
correction: it is reported as unverified.
"""

from __future__ import annotations

import copy
import functools
import hashlib
from abc import ABC, abstractmethod
from collections import Counter, defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np
import pandas as pd

from undercount.estimate.results import EstimateResult
from undercount.link.clusters import cluster_records
from undercount.link.missed import Calibration, apart_calibration, unstored_calibration
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
    "false_link_rates",
    "frame_weights",
    "with_correction",
]

CORRECTION_DRAWS = 20
CORRECTIONS = ("auto", "sample", "model", "none")
#: How the linkage a model correction is applied to was made: the run's own clusters, or drawn.
LINKAGES = ("best", "draws")
#: Draws averaged for a model correction's point change (the table's expected change).
POINT_DRAWS = 200
# A stored pair this sure (log-odds, after the shift) joins before every drawn one (as link.draws' certain pairs).
_CERTAIN_LOGIT = float(np.log((1 - 1e-6) / 1e-6))

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


def frame_weights(n: int, frame: float, rng: np.random.Generator, size: int | None = None) -> np.ndarray:
    """Bayesian-bootstrap weights (Rubin 1981) for ``n`` items drawn without replacement from a
    stratum of ``frame`` persons: Dirichlet(1, ..., 1) weights whose spread about ``1/n`` is shrunk
    by ``sqrt(1 - n/frame)``, so that a weighted mean's variance carries the finite population
    correction of simple random sampling without replacement (zero for a census). The weights stay
    positive and sum to 1; the same draws of ``rng`` are used whatever the frame.

    Returns:
        ``n`` weights, or ``size`` rows of them when ``size`` is given.
    """
    drawn: np.ndarray = rng.dirichlet(np.ones(n), size=size)
    shrink = float(np.sqrt(max(0.0, 1.0 - n / frame))) if frame > 0 else 0.0
    out: np.ndarray = 1.0 / n + shrink * (drawn - 1.0 / n)
    return out


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
        self.bits = {str(c): 1 << i for i, c in enumerate(matrix.columns)}
        self.codes = _codes(matrix)
        self.labels = labels.reindex(matrix.index).astype(str).to_numpy()
        self.position = pd.Series(matrix.index.get_indexer(pd.Index(person.to_numpy())).astype(float), index=person.index)

    @functools.cached_property
    def linkage_key(self) -> tuple[int, bytes]:
        """The replicate's linkage by content: each record's person, as a position among the matrix's persons."""
        index = self.position.index.to_numpy(dtype=np.int64)
        return len(index), hashlib.sha256(index.tobytes() + self.position.to_numpy(dtype=float).tobytes()).digest()

    @functools.cached_property
    def _position_of(self) -> dict[int, int]:
        """Record id -> its person's position (-1: a person not in the matrix), made once: a
        dictionary look-up a call, where a pandas reindex cost about a millisecond."""
        return dict(zip(self.position.index.tolist(), self.position.to_numpy().astype(np.int64).tolist()))

    def persons(self, records: list[int]) -> list[int]:
        """Positions of the persons holding these records (each once, in order)."""
        where = self._position_of
        found = (where.get(int(r), -1) for r in records)
        return list(dict.fromkeys(p for p in found if p >= 0))

    def pattern(self, code: int) -> tuple[int, ...]:
        return tuple(int(code >> b & 1) for b in range(self.k))

    @functools.cached_property
    def by_position(self) -> tuple[np.ndarray, np.ndarray]:
        """Record positions sorted, and the records in that order (made once, on first use)."""
        pos = self.position.to_numpy()
        order = np.argsort(pos, kind="stable")
        return pos[order], self.position.index.to_numpy(dtype=np.int64)[order]

    def members(self, position: int) -> np.ndarray:
        """The records the person at this position holds."""
        pos_sorted, recs = self.by_position
        lo, hi = np.searchsorted(pos_sorted, [position, position + 1])
        out: np.ndarray = recs[lo:hi]
        return out

    def split(self, position: int, away: set[int], sources: pd.Series, weight: float, into: dict[Cell, float]) -> None:
        """Add ``weight`` times the change of splitting the records ``away`` off the person at this
        position into one other person (both parts in the person's stratum)."""
        held = self.members(position)
        gone = np.isin(held, list(away))
        if not gone.any() or gone.all():
            return
        label = str(self.labels[position])
        codes = [0, 0]
        for rec, out in zip(held.tolist(), gone.tolist()):
            codes[int(out)] |= self.bits.get(str(sources.get(rec)), 0)
        key = (label, self.pattern(int(self.codes[position])))
        into[key] = into.get(key, 0.0) - weight
        for code in codes:
            if code:
                part = (label, self.pattern(code))
                into[part] = into.get(part, 0.0) + weight

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

    def regroup(self, records: np.ndarray, persons: np.ndarray, sources: np.ndarray, into: dict[Cell, float]) -> None:
        """Add the change of regrouping these records (every record of the persons they belong to)
        into new ``persons``: each old person that is not a new one record for record leaves its
        cell, each new person that is not an old one enters its own (the list of each record; the
        stratum of the old person holding most of its records)."""
        old = self.position.reindex(records).to_numpy(dtype=np.int64).tolist()
        whole = Counter(old)
        groups: dict[object, list[tuple[int, int]]] = {}
        for o, new, src in zip(old, persons.tolist(), sources.tolist()):
            groups.setdefault(new, []).append((o, self.bits.get(str(src), 0)))
        left: set[int] = set()
        for members in groups.values():
            held = Counter(o for o, _ in members)
            if len(held) == 1 and len(members) == whole[members[0][0]]:
                continue  # an old person, record for record
            left.update(held)
            code = 0
            for _, bit in members:
                code |= bit
            if code:
                key = (str(self.labels[held.most_common(1)[0][0]]), self.pattern(code))
                into[key] = into.get(key, 0.0) + 1.0
        for o in left:
            key = (str(self.labels[o]), self.pattern(int(self.codes[o])))
            into[key] = into.get(key, 0.0) - 1.0


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

    def on_draws(self) -> Correction:
        """This correction for linkages drawn with the model's probabilities (undercount.link.draws);
        the same one where that makes no difference."""
        return self

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
    away: frozenset[int] = frozenset()  # a reviewed person's records answered "not this person"
    review: bool = False    # an item of the review half (its links reviewed, not lists searched)


class SampleCorrection(Correction):
    """The correction measured by an answered search sample (both halves: lists searched for the
    links linkage missed, links reviewed for the false ones)."""

    def __init__(self, items: list[_Item], info: dict[str, Any], sources: pd.Series | None = None) -> None:
        super().__init__(kind="search sample", verified=True, info=info)
        by_cell: dict[str, list[_Item]] = defaultdict(list)
        for it in items:
            by_cell[it.cell].append(it)
        self.cells = dict(by_cell)
        self.sources = pd.Series(dtype=object) if sources is None else sources

    def draw(self, rep: _Replicate, rng: np.random.Generator | None) -> dict[Cell, float]:
        """One draw of the change (Bayesian bootstrap weights); ``rng`` None: the point estimate
        (weights 1/n, the Horvitz-Thompson estimator)."""
        total: dict[Cell, float] = {}
        for items in self.cells.values():
            weights = (np.full(len(items), 1 / len(items)) if rng is None
                       else frame_weights(len(items), items[0].weight, rng))
            for w, it in zip(weights, items):
                anchor = rep.persons([it.anchor])
                if it.review:
                    if anchor and it.away:
                        rep.split(anchor[0], set(it.away), self.sources, it.weight * w, total)
                    continue
                persons = rep.persons(it.records)
                if anchor and len(persons) > 1:
                    rep.merge(persons, anchor[0], it.weight * w / it.multiplicity, total)
        return total


class ModelCorrection(Correction):
    """The model's unverified correction for the links a link run got wrong.

    Two kinds of pairs, with log-odds shifted by a calibration drawn afresh for each replicate
    (one draw shared by every pair of a kind, so that the calibration's uncertainty moves the
    whole correction and reaches the interval instead of averaging out): the stored pairs the
    linkage holds by the structural calibration ``a`` (calibrated probability ``p_a``), the stored
    pairs it left apart by ``apart_shift`` (default: the prior, mean 0;
    undercount.link.missed.apart_calibration), the unstored sample by ``unstored_shift`` (default:
    the prior too; undercount.link.missed.unstored_calibration).

    * **Stored pairs** (every pair the run scored and kept, ``stored``). What the replicate's
      linkage already gave a pair depends on how that linkage was made (``linkage``):

      - ``'best'``, the run's own clusters, a deterministic linkage: a pair it left apart is
        joined with probability ``p_a``, and a pair it holds in one person is cut with probability
        ``1 - p_a`` (a held link at 0.9 is wrong one time in ten);
      - ``'draws'``, linkages drawn with the model's ``p`` (undercount.link.draws): a pair the draw
        left apart is joined with the excess ``(p_a - p) / (1 - p)`` (it was drawn with ``p``
        already), a pair it holds is cut with ``(p - p_a) / p`` (never below 0 either).

      The persons these events touch are clustered again (undercount.link.clusters, the linkage's
      chaining guard, joins in a random order weighted by the odds as in the draws), so that a cut
      link of a person whose records another link still joins splits nothing, and the change of
      the table is that of the new persons against the old.
    * **Unstored sample**: each sampled pair ``j`` (drawn with probability ``pi_j``) merges the
      persons holding its records ``Poisson(p_j / (pi_j c_j))`` times, ``c_j`` being the number of
      record pairs between those two persons (a merge is counted once, not once per record pair).
    * **Unseen** true pairs that neither blocking nor the sample's frame can see: per pair of
      lists, a count with the rule of three's uncertainty (:func:`_unseen`); they only widen the
      interval (the point estimate leaves them out).
    """

    def __init__(self, stored: pd.DataFrame, unstored: pd.DataFrame, calibration: Calibration,
                 info: dict[str, Any], *, records: pd.DataFrame, must: Sequence[tuple[int, int]] = (),
                 cannot: Sequence[tuple[int, int]] = (), unseen: bool = True,
                 unstored_shift: Calibration | None = None, apart_shift: Calibration | None = None,
                 linkage: str = "best") -> None:
        super().__init__(kind="model", verified=False, info=info)
        if linkage not in LINKAGES:
            raise ValueError(f"linkage {linkage!r}: use one of {', '.join(LINKAGES)}")
        self.stored_a = stored["a"].to_numpy(dtype=np.int64)
        self.stored_b = stored["b"].to_numpy(dtype=np.int64)
        self.stored_logit = stored["logit"].to_numpy(dtype=float)
        self.unstored_a = unstored["a"].to_numpy(dtype=np.int64)
        self.unstored_b = unstored["b"].to_numpy(dtype=np.int64)
        self.unstored_logit = unstored["logit"].to_numpy(dtype=float)
        self.unstored_weight = 1 / (unstored["pi"].to_numpy(dtype=float) * unstored["c"].to_numpy(dtype=float))
        self.records = _guard_records(records)
        self.must = [(int(a), int(b)) for a, b in must]
        self.cannot = [(int(a), int(b)) for a, b in cannot]
        decided = {(min(a, b), max(a, b)) for a, b in (*self.must, *self.cannot)}
        self.decided = np.array([(min(a, b), max(a, b)) in decided for a, b in zip(self.stored_a, self.stored_b)],
                                dtype=bool)
        self.calibration = calibration
        self.unstored_shift = unstored_calibration() if unstored_shift is None else unstored_shift
        self.apart_shift = apart_calibration() if apart_shift is None else apart_shift
        self.unseen = unseen
        self.linkage = linkage
        self.point_draws = POINT_DRAWS
        # the stored pairs' draws of a replicate, regrouped (see _stored): shared by this correction's copies
        self._regrouped: dict[tuple[Any, ...], tuple[dict[str, Any], tuple[np.ndarray, np.ndarray, np.ndarray] | None]] = {}

    def on_draws(self) -> ModelCorrection:
        """The same correction for linkages drawn with the model's probabilities (``linkage='draws'``);
        what it applies is counted with this one's."""
        out = copy.copy(self)
        out.linkage = "draws"
        return out

    def draw(self, rep: _Replicate, rng: np.random.Generator | None) -> dict[Cell, float]:
        if rng is None:  # the point: the mean of point_draws draws at the calibrations' means
            return self._mean(rep)
        return self._one(rep, rng, self.calibration.draw(rng), self.unstored_shift.draw(rng), self.apart_shift.draw(rng),
                         unseen=self.unseen, remember=True)

    def _mean(self, rep: _Replicate) -> dict[Cell, float]:
        rng = np.random.default_rng(0)
        total: dict[Cell, float] = {}
        for _ in range(self.point_draws):
            for key, v in self._one(rep, rng, self.calibration.shift, self.unstored_shift.shift, self.apart_shift.shift,
                                    unseen=False).items():
                total[key] = total.get(key, 0.0) + v / self.point_draws
        return total

    def _one(self, rep: _Replicate, rng: np.random.Generator, shift: float, shift_u: float, shift_apart: float, *,
             unseen: bool, remember: bool = False) -> dict[Cell, float]:
        total: dict[Cell, float] = {}
        self._stored(rep, rng, shift, shift_apart, total, remember=remember)
        if len(self.unstored_a):
            rates = _sigmoid(self.unstored_logit + shift_u) * self.unstored_weight
            counts = rng.poisson(rates).astype(float)
            for k in np.flatnonzero(counts > 0):
                persons = rep.persons([int(self.unstored_a[k]), int(self.unstored_b[k])])
                if len(persons) == 2:
                    rep.merge(persons, persons[0], float(counts[k]), total)
        if unseen:
            _unseen(rep, rng, total)
        return total

    def event_chances(self, together: np.ndarray, shift: float, apart: float | None = None) -> np.ndarray:
        """Each stored pair's chance of changing state in a replicate whose linkage holds the pairs
        marked ``together`` in one person: cut (held) or joined (apart); see the class docstring.
        Held pairs take ``shift``, pairs left apart ``apart`` (None: ``shift`` too)."""
        p = _sigmoid(self.stored_logit)
        pa = _sigmoid(self.stored_logit + np.where(together, shift, shift if apart is None else apart))
        if self.linkage == "best":
            chance = np.where(together, 1 - pa, pa)
        else:
            join = (pa - p) / np.maximum(1 - p, 1e-12)
            cut = (p - pa) / np.maximum(p, 1e-12)
            chance = np.where(together, cut, join)
        out: np.ndarray = np.clip(chance, 0.0, 1.0) * ~self.decided
        return out

    def _stored(self, rep: _Replicate, rng: np.random.Generator, shift: float, shift_apart: float,
                total: dict[Cell, float], *, remember: bool = False) -> None:
        """Cut and join stored pairs, cluster the persons they touch again, and add the change.

        Which pairs change and how the touched records regroup depend on the replicate's linkage, the
        shifts and the generator's state only, not on the strata: the passes of one run that draw the
        same linkage with the same generator (the pooled draws and each breakdown, the corrected pass and
        each breakdown without draws) differ only in their strata's labels. With ``remember`` the
        regrouping is made once and kept (with the generator's state after it, which a later call takes
        on, so its next draws are those it would have made); each call adds the change under its own labels.
        """
        if not len(self.stored_a):
            return
        key = (self.linkage, shift, shift_apart, rep.linkage_key, repr(rng.bit_generator.state)) if remember else None
        made = None if key is None else self._regrouped.get(key)
        if made is None:
            found = self._regroup(rep, rng, shift, shift_apart)
            if key is not None:
                self._regrouped[key] = (dict(rng.bit_generator.state), found)
        else:
            state, found = made
            rng.bit_generator.state = state
        if found is not None:
            records, persons, sources = found
            rep.regroup(records, persons, sources, total)

    def _regroup(self, rep: _Replicate, rng: np.random.Generator, shift: float, shift_apart: float
                 ) -> tuple[np.ndarray, np.ndarray, np.ndarray] | None:
        """The stored pairs cut and joined in one draw: the records the persons they touch hold, their
        new persons and their lists (None: no pair changed)."""
        pos_a = rep.position.reindex(self.stored_a).fillna(-1).to_numpy(dtype=np.int64)
        pos_b = rep.position.reindex(self.stored_b).fillna(-1).to_numpy(dtype=np.int64)
        inside = (pos_a >= 0) & (pos_b >= 0)
        together = inside & (pos_a == pos_b)
        flip = inside & (rng.random(len(pos_a)) < self.event_chances(together, shift, shift_apart))
        if not flip.any():
            return None
        touched = np.union1d(pos_a[flip], pos_b[flip])
        record_pos = rep.position.to_numpy()
        rec_ids = rep.position.index.to_numpy(dtype=np.int64)[np.isin(record_pos, touched)]
        present = ((together & ~flip) | (~together & flip)) & inside
        within = np.isin(pos_a, touched) & np.isin(pos_b, touched)
        links = present & within
        shifted = self.stored_logit[links] + np.where(together, shift, shift_apart)[links]
        odds = np.exp(np.clip(shifted, -30, 30))
        certain = shifted >= _CERTAIN_LOGIT
        order = np.where(certain, 2.0, rng.random(int(links.sum())) ** (1.0 / odds))
        edges = pd.DataFrame({"record_id_l": self.stored_a[links], "record_id_r": self.stored_b[links],
                              "probability": order})
        kept = set(rec_ids.tolist())
        must = [m for m in self.must if m[0] in kept and m[1] in kept]
        must += _glue(rep, rec_ids, self.stored_a[together & within], self.stored_b[together & within], must)
        cannot = [c for c in self.cannot if c[0] in kept and c[1] in kept]
        records = self.records.reindex(rec_ids).rename_axis("record_id").reset_index()
        records["source"] = records["source"].fillna("")
        # the edges' probabilities are only an order (as in the draws): the bridge reads the pairs' own
        scored = pd.DataFrame({"record_id_l": self.stored_a[within], "record_id_r": self.stored_b[within],
                               "probability": _sigmoid(self.stored_logit[within])})
        new = cluster_records(records, edges, threshold=0.0, must_link=must, cannot_link=cannot, bridge_pairs=scored)
        return rec_ids, new.to_numpy(), self.records["source"].reindex(rec_ids).to_numpy(dtype=object)

    def expected(self, person: pd.Series) -> dict[str, float]:
        """What the point correction expects of a linkage (person_id by record_id) read as this
        correction's ``linkage``: pairs joined and cut (at the calibration's mean shift), and the
        unstored sample's Horvitz-Thompson sum of merges at its own shift."""
        pa = person.reindex(self.stored_a).to_numpy()
        pb = person.reindex(self.stored_b).to_numpy()
        inside = pd.notna(pa) & pd.notna(pb)
        together = inside & (pa == pb)
        chance = self.event_chances(together, self.calibration.shift, self.apart_shift.shift) * inside
        unstored = _sigmoid(self.unstored_logit + self.unstored_shift.shift) * self.unstored_weight
        return {"joined": float(chance[~together].sum()), "cut": float(chance[together].sum()),
                "unstored": float(unstored.sum())}


def _guard_records(records: pd.DataFrame) -> pd.DataFrame:
    """The records' fields the chaining guard reads, indexed by record_id (missing fields: unknown)."""
    out = records.set_index(records["record_id"].astype("int64"))
    for column in ("sex", "id_number", "id_valid"):
        if column not in out:
            out[column] = None
    return out[["source", "sex", "id_number", "id_valid"]].rename_axis(None)


def _glue(rep: _Replicate, rec_ids: np.ndarray, held_a: np.ndarray, held_b: np.ndarray,
          must: list[tuple[int, int]]) -> list[tuple[int, int]]:
    """Must-links that keep together the parts of a person that none of its stored pairs joins
    (a linkage made otherwise, e.g. a given assignment): only a stored pair can be cut."""
    parent = {int(r): int(r) for r in rec_ids}

    def find(x: int) -> int:
        while parent[x] != x:
            parent[x] = parent[parent[x]]
            x = parent[x]
        return x

    for a, b in (*zip(held_a.tolist(), held_b.tolist()), *must):
        if a in parent and b in parent:
            parent[find(a)] = find(b)
    first: dict[int, int] = {}
    glue: list[tuple[int, int]] = []
    seen: set[int] = set()
    for rec, pos in zip(rec_ids.tolist(), rep.position.reindex(rec_ids).to_numpy(dtype=np.int64).tolist()):
        root = find(rec)
        if root in seen:
            continue
        seen.add(root)
        if pos in first:
            glue.append((first[pos], rec))
        else:
            first[pos] = rec
    return glue


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
    from undercount.review.sample import answers, linked_lists, sample_items, stratum_cell
    from undercount.review.sample_links import item_status

    items = sample_items(case, sample_id)
    got = answers(case, sample_id)
    status = item_status(items, got)
    complete = status.index[status["complete"].to_numpy()]
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
    sampled_cells = {stratum_cell(str(c)) for c in items.loc[~status["review"].to_numpy(), "cell"]}
    found: dict[int, list[int]] = {}
    for item, rec in got.loc[got["answer"] == "found", ["item", "found_record_id"]].itertuples(index=False):
        found.setdefault(int(item), []).append(int(rec))
    away: dict[int, set[int]] = {}
    for item, rec in got.loc[got["answer"] == "different", ["item", "found_record_id"]].itertuples(index=False):
        away.setdefault(int(item), set()).add(int(rec))
    rows = items.set_index("item").loc[complete]
    reviewed = status.loc[complete, "review"]
    sampled_per_cell = rows.groupby("cell").size()
    out: list[_Item] = []
    for item, row in rows.iterrows():
        records = [int(r) for r in row["record_ids"]]
        if reviewed[item]:
            gone = frozenset(away.get(int(str(item)), set()))
            out.append(_Item(str(row["cell"]), float(row["cell_size"]), records, records[0], 1, gone, review=True))
            continue
        extra = found.get(int(str(item)), [])
        fragments = set(person_then.reindex(records + extra).dropna())
        # the merged person could have been drawn through any of its fragments in a sampled cell
        multiplicity = max(1, sum(1 for p in fragments if cell_then.get(str(p)) in sampled_cells))
        out.append(_Item(str(row["cell"]), float(row["cell_size"]), records + extra, records[0], multiplicity))
    sources = clusters.set_index("record_id")["source"]
    info = {"sample_id": sample_id, "link_run_id": link_run, "items": len(items),
            "answered": int((~reviewed).sum()), "with_found": int(status.loc[complete, "found"].sum()),
            "reviewed": int(reviewed.sum()), "with_split": int(status.loc[complete, "split"].sum()),
            "cells": {str(c): {"persons": int(rows.loc[rows["cell"] == c, "cell_size"].iloc[0]),
                               "answered": int(n)} for c, n in sampled_per_cell.items()},
            "false_link_rates": false_link_rates([it for it in out if it.review], sources)}
    return SampleCorrection(out, info, sources)


def false_link_rates(items: list[_Item], sources: pd.Series, draws: int = 400, seed: int = 0) -> dict[str, Any]:
    """Per pair of lists, the share of reviewed links (a person's first record and another of its
    records) answered "not this person", weighted by the bands' ``N_S / n_S``, with its
    Bayesian-bootstrap standard error: the false-link rate of that pair's links among the persons
    the review half covers (a model doubt of REVIEW_FROM or more; the links below are taken as right).

    Returns:
        'A x B' -> {'links': reviewed links, 'false': answered not this person, 'rate', 'se'}.
    """
    if not items:
        return {}
    pair_of: list[str] = []
    owner: list[int] = []
    wrong: list[float] = []
    for k, it in enumerate(items):
        first = str(sources.get(it.anchor))
        for rec in it.records[1:]:
            pair_of.append(" x ".join(sorted((first, str(sources.get(rec))))))
            owner.append(k)
            wrong.append(float(rec in it.away))
    links = np.asarray(owner, dtype=np.int64)
    bad = np.asarray(wrong)
    cells = pd.Series([it.cell for it in items])
    band_of = pd.factorize(cells, sort=True)[0]
    # a band's N_S / n_S: its size over the items reviewed in it
    scale = np.array([it.weight for it in items]) / cells.groupby(band_of).transform("size").to_numpy(dtype=float)
    rng = np.random.default_rng(seed)
    weights = np.empty((draws + 1, len(items)))
    weights[0] = scale
    for b in range(int(band_of.max()) + 1):
        members = np.flatnonzero(band_of == b)
        weights[1:, members] = (frame_weights(len(members), float(items[members[0]].weight), rng, size=draws)
                                * scale[members] * len(members))
    out: dict[str, Any] = {}
    names = np.asarray(pair_of, dtype=object)
    for pair in sorted(set(pair_of)):
        sel = names == pair
        w = weights[:, links[sel]]
        rate = (w * bad[sel]).sum(axis=1) / np.maximum(w.sum(axis=1), 1e-12)
        out[pair] = {"links": int(sel.sum()), "false": int(bad[sel].sum()), "rate": float(rate[0]),
                     "se": float(np.std(rate[1:], ddof=1))}
    return out


def _model_correction(case: Case) -> ModelCorrection | None:
    from undercount.link.draws import RECORD_COLUMNS
    from undercount.link.missed import structural_calibration, unstored_pairs
    from undercount.link.run import decision_pairs

    run = case.current_run("link")
    if run is None:
        return None
    stored = case.query("SELECT record_id_l AS a, record_id_r AS b, probability FROM uc_pairs WHERE run_id = ?", [run])
    stored = stored.assign(logit=_logit(stored.pop("probability").to_numpy(dtype=float)))
    unstored = unstored_pairs(case, run)
    if stored.empty and unstored.empty:
        return None
    clusters = case.clusters(run)
    person = clusters.set_index("record_id")["person_id"]
    sizes = person.value_counts()
    pa = person.reindex(unstored["a"]).to_numpy()
    pb = person.reindex(unstored["b"]).to_numpy()
    unstored = unstored.assign(c=sizes.reindex(pa).fillna(1).to_numpy() * sizes.reindex(pb).fillna(1).to_numpy())
    calibration = structural_calibration(case, run)
    must, cannot = decision_pairs(case)
    # the stored pairs the run's clusters left apart, counted on what is read here (not read again)
    apart = int((person.reindex(stored["a"]).to_numpy() != person.reindex(stored["b"]).to_numpy()).sum())
    info = {"link_run_id": run, "sampled_pairs": len(unstored), "apart_pairs": apart,
            "stored_pairs": len(stored), "calibration": calibration.to_dict(),
            "unstored_calibration": unstored_calibration().to_dict(), "apart_calibration": apart_calibration().to_dict()}
    correction = ModelCorrection(stored, unstored, calibration, info, records=case.records(columns=RECORD_COLUMNS),
                                 must=must, cannot=cannot)
    expected = correction.expected(person)
    info.update(expected_merges=expected["joined"] + expected["unstored"], expected_cuts=expected["cut"])
    return correction


def _logit(prob: np.ndarray) -> np.ndarray:
    p = np.clip(prob, 1e-12, 1 - 1e-12)
    out: np.ndarray = np.log(p / (1 - p))
    return out


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
    answered = int(info.get("answered", 0)) + int(info.get("reviewed", 0))
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
    links = "" if not info.get("reviewed") else (f"; {info['reviewed']:,} persons' links reviewed, "
                                                 f"{info.get('with_split', 0):,} with a record not this person")
    return (f"missed links: corrected by search sample {info.get('sample_id')} ({info.get('answered', 0):,} persons "
            f"searched, {info.get('with_found', 0):,} found on another list{links}){moved}{part}{narrow}")
