"""Clustering scored pairs into persons, with a guard against chaining.

Pairs at or above the threshold are joined strongest first (union-find). A join is refused when
the merged cluster would hold two different valid ID numbers, two sexes, two records of the same
list that the model does not itself consider duplicates (no pair at or above the threshold
between them, and no strong chain of links through another record: see ``bridge`` of
:func:`cluster_records`), or two records someone decided are different people. Refusing the join
is the same as splitting the would-be cluster at its weakest link: the refused pair is weaker
than every link already in either part. People's must-link decisions are applied first and always
hold; their cannot-link decisions are never crossed.

The function is pure and fast (a few seconds for a million pairs): the link-uncertainty draws
call it many times.
"""

from __future__ import annotations

import contextlib
import gc
import threading
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

__all__ = ["BRIDGE", "BRIDGE_SUPPORT", "cluster_records", "attachment_probability", "collector_paused", "person_ids"]

#: Two records of one list may share a cluster without a link of their own when the chain of
#: links through the join joins them with probability at least this (a lower bound, below).
BRIDGE = 0.9
#: ... and their own pair was scored at least this likely (their names do not rule it out).
BRIDGE_SUPPORT = 0.1


class _PairLookup:
    """The probability of any scored pair of record positions (0.0 when it was not scored), from
    sorted integer keys: a few bytes per pair, looked up only when the guard meets two records
    of one list."""

    def __init__(self, lo: np.ndarray, hi: np.ndarray, prob: np.ndarray, n: int) -> None:
        keys = lo.astype(np.int64) * max(n, 1) + hi.astype(np.int64)
        order = np.argsort(keys, kind="stable")
        self.keys, self.prob, self.n = keys[order], prob[order], max(n, 1)

    def __call__(self, i: int, j: int) -> float:
        if i == j:
            return 1.0
        key = min(i, j) * self.n + max(i, j)
        k = int(np.searchsorted(self.keys, key))
        return float(self.prob[k]) if k < len(self.keys) and self.keys[k] == key else 0.0


@dataclass(frozen=True)
class _Bridge:
    """The rule that lets two records of one list share a cluster through a third record.

    When a join by the link ``x``-``y`` (probability ``p``) would put records ``i`` (with ``x``)
    and ``j`` (with ``y``) of one list together, the chain ``i - x - y - j`` is one person with
    probability at least ``1 - (1 - p_ix) - (1 - p) - (1 - p_yj)`` whatever the dependence
    between the links (Boole's inequality; a missing direct link counts as probability 0), and so
    are ``i`` and ``j``. The join is allowed when that bound reaches ``level`` and the pair
    ``i``-``j`` itself was scored at least ``support``.
    """

    lookup: _PairLookup
    level: float
    support: float
    scored: bool = False  # the join's probability is read from ``lookup`` (the pairs' own is only an order)

    def joins(self, i: int, j: int, x: int, y: int, p: float) -> bool:
        if self.lookup(i, j) < self.support:
            return False
        if self.scored:
            p = self.lookup(x, y)
        return 1.0 - (1.0 - self.lookup(i, x)) - (1.0 - p) - (1.0 - self.lookup(y, j)) >= self.level


class _Clusters:
    """Union-find whose roots carry what the guard checks."""

    def __init__(
        self, ids: np.ndarray, sources: Sequence[object], sexes: Sequence[object], valid_ids: Sequence[object]
    ) -> None:
        n = len(ids)
        self.parent = list(range(n))
        self.size = [1] * n
        self.members: list[list[int]] = [[i] for i in range(n)]
        self.sources: list[dict[object, list[int]]] = [{s: [i]} for i, s in enumerate(sources)]
        self.sexes: list[set[object]] = [{s} if s is not None else set() for s in sexes]
        self.ids: list[set[object]] = [{v} if v is not None else set() for v in valid_ids]
        self.cannot: list[set[int]] = [set() for _ in range(n)]

    def find(self, i: int) -> int:
        root = i
        while self.parent[root] != root:
            root = self.parent[root]
        while self.parent[i] != root:
            self.parent[i], i = root, self.parent[i]
        return root

    def union(self, a: int, b: int) -> None:
        if self.size[a] < self.size[b]:
            a, b = b, a
        self.parent[b] = a
        self.size[a] += self.size[b]
        self.members[a].extend(self.members[b])
        for src, recs in self.sources[b].items():
            self.sources[a].setdefault(src, []).extend(recs)
        self.sexes[a] |= self.sexes[b]
        self.ids[a] |= self.ids[b]
        self.cannot[a] |= self.cannot[b]
        self.members[b], self.sources[b], self.sexes[b], self.ids[b], self.cannot[b] = [], {}, set(), set(), set()

    def conflicts(self, a: int, b: int, strong: set[tuple[int, int]],
                  join: tuple[int, int, float] | None = None, bridge: _Bridge | None = None) -> bool:
        """True when joining roots ``a`` and ``b`` (by the link ``join``: a record of ``a``, one of
        ``b``, its probability) would break the guard."""
        if _grows(self.ids[a], self.ids[b]) or _grows(self.sexes[a], self.sexes[b]):
            return True
        if self.cannot[a] and not self.cannot[a].isdisjoint(self.members[b]):
            return True
        if self.cannot[b] and not self.cannot[b].isdisjoint(self.members[a]):
            return True
        small, big = (a, b) if len(self.sources[a]) <= len(self.sources[b]) else (b, a)
        for src, recs in self.sources[small].items():
            others = self.sources[big].get(src)
            if others:
                for i in recs:
                    for j in others:
                        if (min(i, j), max(i, j)) not in strong and not self._bridged(i, j, small == a, join, bridge):
                            return True
        return False

    @staticmethod
    def _bridged(i: int, j: int, i_in_a: bool, join: tuple[int, int, float] | None, bridge: _Bridge | None) -> bool:
        """Whether records ``i`` and ``j`` of one list are joined by a strong chain through the join."""
        if bridge is None or join is None:
            return False
        x, y, p = join
        return bridge.joins(i, j, x, y, p) if i_in_a else bridge.joins(i, j, y, x, p)


def _grows(x: set[object], y: set[object]) -> bool:
    """True when joining adds a second value that neither side had (a new conflict)."""
    if not x or not y:
        return False
    return len(x | y) > max(len(x), len(y))


def _index_pairs(index: pd.Index, pairs: Iterable[tuple[int, int]]) -> list[tuple[int, int]]:
    out = []
    for left, right in pairs:
        li, ri = index.get_indexer(pd.Index([left, right]))
        if li >= 0 and ri >= 0 and li != ri:
            out.append((int(li), int(ri)))
    return out


def person_ids(record_ids: np.ndarray, roots: np.ndarray) -> np.ndarray:
    """'P' + nine-digit smallest record_id of each cluster, for every record."""
    smallest = pd.Series(record_ids).groupby(roots).transform("min").to_numpy()
    return np.array([f"P{int(v):09d}" for v in smallest], dtype=object)


class _Pauses:
    """The blocks of :func:`collector_paused` open now, in every thread, and whether the collector was on before."""

    lock = threading.Lock()
    open = 0
    was_on = False


@contextlib.contextmanager
def collector_paused() -> Iterator[None]:
    """Python's cyclic garbage collector paused within the block, as it was after the last block ends.

    Code that makes many small containers and no reference cycles (the union-find of
    :func:`cluster_records`: a list, a dict and three sets per record, freed by reference counting
    when it returns) otherwise sets off a collection every 700 new containers, each of which walks
    the young objects and, now and then, every object of the process: on the gaza-like case (58,423
    records) 40% of a clustering's CPU time. Blocks may be nested or open in several threads at
    once: the collector is on again when the last one ends, if it was on when the first began.

    Example:
        >>> with collector_paused():
        ...     gc.isenabled()
        False
    """
    with _Pauses.lock:
        if _Pauses.open == 0:
            _Pauses.was_on = gc.isenabled()
            gc.disable()
        _Pauses.open += 1
    try:
        yield
    finally:
        with _Pauses.lock:
            _Pauses.open -= 1
            if _Pauses.open == 0 and _Pauses.was_on:
                gc.enable()


def cluster_records(
    records: pd.DataFrame,
    pairs: pd.DataFrame,
    *,
    threshold: float,
    must_link: Iterable[tuple[int, int]] = (),
    cannot_link: Iterable[tuple[int, int]] = (),
    bridge: float | None = BRIDGE,
    bridge_support: float = BRIDGE_SUPPORT,
    bridge_pairs: pd.DataFrame | None = None,
) -> pd.Series:
    """Cluster records into persons at a threshold, under the chaining guard.

    Two records of one list share a cluster when their own pair is a link, or (``bridge``) when
    the join that would put them together is part of a chain of links through records of other
    lists that makes them one person with probability at least ``max(bridge, threshold)`` (by
    Boole's inequality, ``1 -`` the sum of the links' ``1 - p``) and their own pair was scored at
    least ``bridge_support``: a list that holds a person twice, written too differently for the
    two records to link alone, keeps both with the record of another list that links each.

    Args:
        records: record_id, source, sex, id_number, id_valid (one row per record).
        pairs: record_id_l, record_id_r, probability (scored candidate pairs).
        threshold: pairs with probability >= threshold are links.
        must_link: (record_id, record_id) pairs people decided are the same person.
        cannot_link: pairs people decided are different people.
        bridge: the chain's lower bound that lets two records of one list share a cluster
            without a link of their own; None: never (the pairs' ``probability`` is then only an
            order, as in the link-uncertainty draws).
        bridge_support: the least probability of their own pair for a bridge.
        bridge_pairs: the scored pairs (record_id_l, record_id_r, probability) whose
            probabilities the bridge reads when ``pairs``' probability is only an order (the
            link-uncertainty draws, the model correction's regrouping); None: ``pairs``.

    Returns:
        A Series indexed by record_id (in the order of ``records``) holding person_id,
        'P' + the zero-padded smallest record_id of the cluster.

    Example:
        >>> recs = pd.DataFrame({"record_id": [1, 2, 3], "source": ["a", "b", "b"],
        ...     "sex": ["male"] * 3, "id_number": [None] * 3, "id_valid": [None] * 3})
        >>> prs = pd.DataFrame({"record_id_l": [1], "record_id_r": [2], "probability": [0.99]})
        >>> cluster_records(recs, prs, threshold=0.9).tolist()
        ['P000000001', 'P000000001', 'P000000003']
    """
    with collector_paused():  # a list, a dict and three sets a record, and no cycles: nothing for it to collect
        return _cluster(records, pairs, threshold=threshold, must_link=must_link, cannot_link=cannot_link,
                        bridge=bridge, bridge_support=bridge_support, bridge_pairs=bridge_pairs)


def _cluster(records: pd.DataFrame, pairs: pd.DataFrame, *, threshold: float, must_link: Iterable[tuple[int, int]],
             cannot_link: Iterable[tuple[int, int]], bridge: float | None, bridge_support: float,
             bridge_pairs: pd.DataFrame | None) -> pd.Series:
    """:func:`cluster_records`' work."""
    ids = records["record_id"].astype("int64").to_numpy()
    index = pd.Index(ids)
    valid = records["id_valid"].astype("boolean").fillna(False).to_numpy(dtype=bool)
    id_numbers = records["id_number"].astype("object").to_numpy()
    valid_ids = [v if ok and isinstance(v, str) and v else None for v, ok in zip(id_numbers, valid)]
    sexes = [s if isinstance(s, str) and s else None for s in records["sex"].astype("object")]
    uf = _Clusters(ids, records["source"].astype("object").tolist(), sexes, valid_ids)

    for left, right in _index_pairs(index, cannot_link):
        uf.cannot[left].add(right)
        uf.cannot[right].add(left)
    for left, right in _index_pairs(index, must_link):
        a, b = uf.find(left), uf.find(right)
        if a != b:
            uf.union(a, b)

    prob = pairs["probability"].to_numpy(dtype=float)
    keep = prob >= threshold
    li = index.get_indexer(pd.Index(pairs["record_id_l"].to_numpy()[keep]))
    ri = index.get_indexer(pd.Index(pairs["record_id_r"].to_numpy()[keep]))
    prob = prob[keep]
    ok = (li >= 0) & (ri >= 0)
    li, ri, prob = li[ok], ri[ok], prob[ok]
    lo, hi = np.minimum(li, ri), np.maximum(li, ri)
    strong = set(zip(lo.tolist(), hi.tolist()))
    chain = _bridge(pairs if bridge_pairs is None else bridge_pairs, index, bridge, bridge_support, threshold,
                    scored=bridge_pairs is not None)
    order = np.lexsort((hi, lo, -prob))
    for k in order.tolist():
        x, y = int(lo[k]), int(hi[k])
        a, b = uf.find(x), uf.find(y)
        if a == b or uf.conflicts(a, b, strong, (x, y, float(prob[k])), chain):
            continue
        uf.union(a, b)

    roots = np.array([uf.find(i) for i in range(len(ids))])
    return pd.Series(person_ids(ids, roots), index=pd.Index(ids, name="record_id"), name="person_id")


def _bridge(pairs: pd.DataFrame, index: pd.Index, level: float | None, support: float, threshold: float, *,
            scored: bool = False) -> _Bridge | None:
    """The bridge rule over the scored pairs at or above ``support`` (None when off)."""
    if level is None:
        return None
    prob = pairs["probability"].to_numpy(dtype=float)
    keep = prob >= support
    li = index.get_indexer(pd.Index(pairs["record_id_l"].to_numpy()[keep]))
    ri = index.get_indexer(pd.Index(pairs["record_id_r"].to_numpy()[keep]))
    ok = (li >= 0) & (ri >= 0)
    li, ri = li[ok], ri[ok]
    lookup = _PairLookup(np.minimum(li, ri), np.maximum(li, ri), prob[keep][ok], len(index))
    return _Bridge(lookup, max(float(level), float(threshold)), float(support), scored)


def attachment_probability(person: pd.Series, pairs: pd.DataFrame) -> pd.Series:
    """Each record's strongest link to another record of its cluster (1.0 for singletons).

    Args:
        person: person_id indexed by record_id (from :func:`cluster_records`).
        pairs: record_id_l, record_id_r, probability.

    Returns:
        A float Series indexed like ``person``.
    """
    pl = person.reindex(pairs["record_id_l"].to_numpy()).to_numpy()
    pr = person.reindex(pairs["record_id_r"].to_numpy()).to_numpy()
    same = pairs[(pl == pr) & pd.notna(pl)]
    both = pd.concat(
        [
            pd.DataFrame({"record_id": same["record_id_l"], "p": same["probability"]}),
            pd.DataFrame({"record_id": same["record_id_r"], "p": same["probability"]}),
        ]
    )
    best = both.groupby("record_id")["p"].max()
    sizes = person.map(person.value_counts())
    out = best.reindex(person.index).astype(float)
    out[sizes.to_numpy() == 1] = 1.0
    # A record held in its cluster only by a decision has no scored pair: it was decided certain.
    return out.fillna(1.0).rename("probability")
