"""Match probabilities per pair of lists: a prior for each pair of lists, and one-to-one matching.

Splink gives each pair a Bayes factor (its match weight less the prior) and one prior for every
pair of records. Lists overlap at very different rates (a hospital list and a ministry list
share most people; an obituary list and a survey few), and records of one list are rarely the
same person, so one prior is wrong for nearly every pair of lists: too low across lists that
overlap much (true pairs scored below 0.5 and missed), too high within a clean list.

This module re-estimates the prior of each pair of lists (``a x b``, and ``a x a`` for
duplicates within a list) by expectation-maximisation on the scored pairs: the prior is the
expected number of matching pairs divided by the number of record pairs of the two lists (with
one expected match at the global rate as a pseudo-count, so that a pair of lists without scored
matches keeps a small prior), each
pair's probability is recomputed with its lists' prior, until the priors settle (Fellegi and
Sunter's prior, fitted per pair of lists; Winkler 1988 for the EM).

Between two lists that each hold few duplicates of their own (expected duplicate records per
record at most ``one_to_one_below``), a record matches at most one record of the other list: its
candidate pairs compete. A pair's probability is its odds against those of every other candidate
of either record, by loopy belief propagation on the bipartite graph of candidate pairs (each
record matches at most one record of the other list; Bayati, Shah and Sharma 2008; cf. Sadinle
2017 for the bipartite-matching model of record linkage): a pair's posterior odds are its prior
odds times its Bayes factor, divided by ``1 +`` the odds of its first record's other candidates and
by ``1 +`` those of its second record's, each candidate discounted by how likely it is taken by
another record. A candidate that may be a duplicate of the pair's own record in its list
competes only as far as it is another person: the pair's share is the mixture of "no
competition" (weight ``p``, the probability of the duplicate pair) and "full competition"
(weight ``1 - p``). Two candidates that both look certain
then share the probability instead of both being 1, and the draws of the link-uncertainty
stage see the competition.

Between such lists the prior odds of a pair are those of the bipartite model, not of
independent pairs (:func:`_bipartite_bits`): ``M / ((n_a - M)(n_b - M))`` for ``M`` expected matches
between lists of ``n_a`` and ``n_b`` records, where independent pairs give ``M / (n_a n_b)`` (Sadinle
2017). Lists that hold most of each other's people thus lift a record's lone candidate, and its
competitors count as much more against a record with several.

Everything is vectorised; the priors and the one-to-one decision per pair of lists are stored
with the run (``training.list_pairs``).
"""

from __future__ import annotations

import copy
import os
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from undercount.link.refit import list_pair_codes

__all__ = ["ListPairPosterior", "list_pair_posterior", "plus_bits"]

_MIN_PRIOR = 1e-12
_MAX_PRIOR = 0.5


@dataclass(frozen=True)
class ListPairPosterior:
    """The fitted priors and what each pair's probability became.

    Attributes:
        probability: the pairs' posterior probabilities (aligned with the input).
        log2_odds: their posterior log2 odds.
        prior_weight: bits added to each pair by its lists' prior (against the global one).
        competition: bits added to each pair by one-to-one competition (never positive).
        priors: {"a x b": {"prior", "pairs", "expected_matches", "one_to_one"}}.
        duplicates: expected duplicate records per record, per list.
        iterations: EM iterations run.
    """

    probability: np.ndarray
    log2_odds: np.ndarray
    prior_weight: np.ndarray
    competition: np.ndarray
    priors: dict[str, dict[str, Any]] = field(default_factory=dict)
    duplicates: dict[str, float] = field(default_factory=dict)
    iterations: int = 0

    def summary(self) -> dict[str, Any]:
        """The fitted priors, duplicate rates and iterations (JSON-ready)."""
        return {"priors": self.priors, "duplicates": self.duplicates, "iterations": self.iterations}


def _logit2(p: np.ndarray | float) -> Any:
    p = np.clip(p, _MIN_PRIOR, 1 - _MIN_PRIOR)
    return np.log2(p / (1 - p))


def _sigmoid2(x: np.ndarray) -> np.ndarray:
    out: np.ndarray = 1.0 / (1.0 + np.exp2(-np.clip(x, -1000, 1000)))
    return out


def plus_bits(prob: np.ndarray, bits: np.ndarray) -> np.ndarray:
    """Probabilities with ``bits`` added to their log2 odds (evidence learnt after the model: the spelling
    and third-list bits of undercount.link.run, on stored pairs and on link.missed's sample alike).

    The odds are taken to within 1e-300 of 0 and 1, so that the sample's tiny probabilities keep their size.

    Example:
        >>> [round(float(v), 4) for v in plus_bits(np.array([0.5, 0.2, 1e-20]), np.array([1.0, 0.0, 1.0]))]
        [0.6667, 0.2, 0.0]
    """
    prob = np.clip(np.asarray(prob, dtype=float), 1e-300, 1.0)
    log2_odds = np.log2(prob) - np.log2(np.clip(1.0 - prob, 1e-300, 1.0))
    out: np.ndarray = 1.0 / (1.0 + np.exp2(-(log2_odds + bits)))
    return out


def list_pair_posterior(
    ids_l: np.ndarray,
    ids_r: np.ndarray,
    bayes_log2: np.ndarray,
    sources: pd.Series,
    *,
    prior: float,
    one_to_one_below: float = 0.05,
    bipartite_prior: bool = True,
    iterations: int = 30,
    tolerance: float = 1e-4,
    reuse: dict[str, Any] | None = None,
) -> ListPairPosterior:
    """Fit a prior per pair of lists and compute each pair's posterior, one-to-one where it holds.

    Args:
        ids_l, ids_r: record ids of the scored pairs.
        bayes_log2: each pair's log2 Bayes factor (its match weight less the global prior's).
        sources: list name of every record of the case, indexed by record id (sizes come from it).
        prior: the global prior (the starting value of every pair of lists).
        one_to_one_below: two different lists compete one-to-one when each holds at most this
            many expected duplicate records per record.
        bipartite_prior: two lists that compete one-to-one take the bipartite model's prior odds
            (:func:`_bipartite_bits`) instead of independent pairs'.
        iterations: EM iterations at most.
        tolerance: stop when no prior moves by more than this share of itself.
        reuse: where the matching graph's structure (node codes, twins, numbering) is kept for the next call on
            the same pairs (the refit's rounds score the same pairs with new weights); never its messages.

    Returns:
        A :class:`ListPairPosterior`.

    Example:
        >>> src = pd.Series(["a", "a", "b", "b"], index=[1, 2, 3, 4])
        >>> post = list_pair_posterior(np.array([1, 2]), np.array([3, 3]), np.array([20.0, 20.0]), src, prior=1e-3)
        >>> [round(float(p), 2) for p in post.probability]  # two records of a compete for one of b
        [0.5, 0.5]
    """
    weight = np.asarray(bayes_log2, dtype=float)
    ids_l, ids_r = np.asarray(ids_l), np.asarray(ids_r)
    # Each pair's lists as an integer code (no name per pair), oriented by its lists (a record of
    # the first list, a record of the second), so that a record is one node of the matching graph
    # whatever the order of the record ids.
    codes, names, flip = list_pair_codes(sources, ids_l, ids_r)
    node_a, node_b = np.where(flip, ids_r, ids_l), np.where(flip, ids_l, ids_r)
    groups = pd.Index(names, dtype=object)
    sizes = sources.astype(str).value_counts()
    firsts = [g.split(" x ")[0] for g in groups]
    seconds = [g.split(" x ")[1] for g in groups]
    n_first = sizes.reindex(firsts).to_numpy(dtype=float)
    n_second = sizes.reindex(seconds).to_numpy(dtype=float)
    same = np.array([a == b for a, b in zip(firsts, seconds)], dtype=bool)
    total = np.where(same, n_first * (n_first - 1) / 2, n_first * n_second)
    total = np.maximum(total, 1.0)
    graph = _Graph.reused(reuse, node_a, node_b, codes, ids_l, ids_r, same[codes])
    priors = np.full(len(groups), float(prior))
    competing = np.zeros(len(groups), dtype=bool)
    bipartite = np.zeros(len(groups))
    log_odds = weight + _logit2(priors)[codes]
    competition = np.zeros(len(weight))
    done = 0
    for done in range(1, iterations + 1):  # noqa: B007 - the count of rounds run is reported below
        log_odds = weight + (_logit2(priors) + bipartite)[codes]
        prob = _sigmoid2(log_odds)
        competition = np.zeros(len(weight))
        if competing.any():
            competition = graph.competition(competing, log_odds, prob)
            prob = _sigmoid2(log_odds + competition)
        expected = np.bincount(codes, weights=prob, minlength=len(groups))
        # One expected match at the global rate as a pseudo-count: a pair of lists with no scored
        # match keeps a small prior (a clean list's duplicates can still be found on strong evidence).
        new = np.clip((expected + 1.0) / (total + 1.0 / prior), _MIN_PRIOR, _MAX_PRIOR)
        duplicates = _duplicate_rates(groups, same, expected, sizes)
        competing = np.array([
            not s and one_to_one_below > 0
            and max(duplicates.get(g.split(" x ")[0], 0.0), duplicates.get(g.split(" x ")[1], 0.0)) <= one_to_one_below
            for g, s in zip(groups, same)
        ])
        moved = np.max(np.abs(new - priors) / np.maximum(priors, _MIN_PRIOR)) if len(groups) else 0.0
        priors = new
        bipartite = np.where(competing & bipartite_prior, _bipartite_bits(expected, n_first, n_second), 0.0)
        if moved < tolerance:
            break
    log_odds = weight + (_logit2(priors) + bipartite)[codes]
    competition = np.zeros(len(weight))
    if competing.any():
        competition = graph.competition(competing, log_odds, _sigmoid2(log_odds))
    final = log_odds + competition
    probability = _sigmoid2(final)
    expected = np.bincount(codes, weights=probability, minlength=len(groups))
    table = {
        str(g): {"prior": float(priors[k]), "pairs": int(total[k]), "expected_matches": round(float(expected[k]), 2),
                 "one_to_one": bool(competing[k]), "bipartite_bits": round(float(bipartite[k]), 4)}
        for k, g in enumerate(groups)
    }
    return ListPairPosterior(
        probability=probability, log2_odds=final, prior_weight=(_logit2(priors) + bipartite)[codes] - _logit2(prior),
        competition=competition, priors=table, duplicates={k: round(v, 4) for k, v in
                                                           _duplicate_rates(groups, same, expected, sizes).items()},
        iterations=done,
    )


def _bipartite_bits(expected: np.ndarray, n_first: np.ndarray, n_second: np.ndarray) -> np.ndarray:
    """Bits the bipartite prior adds to the prior odds of a pair of two lists that match one-to-one.

    Under independent pairs the prior odds of a pair are ``lambda = M / (n_a n_b)`` (``M`` the
    matches between the lists); when each record has at most one match in the other list, the
    conditional odds of a record's link against none are ``M / ((n_a - M)(n_b - M))`` (Sadinle
    2017, the Gibbs step of the bipartite model): a record with a single plausible candidate is
    likelier linked the more the lists overlap, while its competitors count as much more against
    it. The ratio is ``1 / ((1 - M / n_a)(1 - M / n_b))``, capped at 90% overlap per side.
    """
    share_a = np.clip(expected / np.maximum(n_first, 1.0), 0.0, 0.9)
    share_b = np.clip(expected / np.maximum(n_second, 1.0), 0.0, 0.9)
    out: np.ndarray = -np.log2(1.0 - share_a) - np.log2(1.0 - share_b)
    return out


def _duplicate_rates(groups: pd.Index, same: np.ndarray, expected: np.ndarray, sizes: pd.Series) -> dict[str, float]:
    """Expected duplicate records per record of each list (from its within-list pairs)."""
    out = {str(name): 0.0 for name in sizes.index}
    for k, g in enumerate(groups):
        if same[k]:
            name = g.split(" x ")[0]
            out[name] = float(expected[k]) / max(float(sizes.get(name, 1)), 1.0)
    return out


def _node_codes(record: np.ndarray, group: np.ndarray) -> np.ndarray:
    """One code per (record, pair of lists): a record is one node of each pair of lists' graph.

    An integer key (the record's code times the number of groups plus the group) gives the same
    grouping as factorising a pandas MultiIndex of the two, at a tenth of the processor time on
    tens of millions of pairs."""
    if len(record) == 0:
        return np.zeros(0, dtype=np.int64)
    codes = pd.factorize(record)[0].astype(np.int64)
    groups = np.asarray(group, dtype=np.int64)
    return pd.factorize(codes * (int(groups.max()) + 1) + groups)[0]


_Twins = tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]

#: Competing pairs from which belief propagation runs compiled (:mod:`undercount.link.posterior_kernel`):
#: loading numba costs about as much CPU as the compiled rounds save on 50,000 pairs.
COMPILED_FROM = 100_000


class _Graph:
    """The matching graph of the scored pairs, built once for every round of the EM: each pair's
    nodes (a record in a pair of lists, integer codes) and, per set of competing pairs of lists,
    the twins of its competing edges (:func:`_twin_structure`) and their last messages.

    Each EM iteration's belief propagation starts from the previous iteration's messages (warm
    start): the priors move little from one iteration to the next, so the messages settle in a few
    rounds instead of forty from 1. At 198,475 records the four posteriors' last messages are then
    nearer their fixed point, not farther: probabilities within 6.3e-6 of starting from 1 each
    time, no link at 0.5 moved (docs/linkage.md, session 12)."""

    def __init__(self, node_a: np.ndarray, node_b: np.ndarray, codes: np.ndarray, ids_l: np.ndarray, ids_r: np.ndarray,
                 same: np.ndarray) -> None:
        self.node_a, self.node_b, self.codes, self.ids_l, self.ids_r, self.same = node_a, node_b, codes, ids_l, ids_r, same
        self.rows, self.cols = _node_codes(node_a, codes), _node_codes(node_b, codes)
        self._twins: dict[bytes, tuple[np.ndarray, _Twins]] = {}
        self._messages: dict[bytes, tuple[np.ndarray, np.ndarray]] = {}
        self._layouts: dict[bytes, dict[str, _Layout]] = {}  # the compiled rounds' numbering, made once per graph

    @classmethod
    def reused(cls, reuse: dict[str, Any] | None, node_a: np.ndarray, node_b: np.ndarray, codes: np.ndarray, ids_l: np.ndarray,
               ids_r: np.ndarray, same: np.ndarray) -> _Graph:
        """The graph of these pairs: the structure kept in ``reuse`` when it is of the same pairs (node codes, twins
        and numbering shared, messages from 1 as for a new graph), else a new one, kept there for the next call."""
        old = reuse.get("graph") if reuse is not None else None
        if isinstance(old, _Graph) and all(np.array_equal(a, b) for a, b in zip(
                (old.node_a, old.node_b, old.codes, old.ids_l, old.ids_r, old.same), (node_a, node_b, codes, ids_l, ids_r, same))):
            graph = copy.copy(old)
            graph._messages = {}  # the warm start is within one posterior only: each call starts from 1
            return graph
        graph = cls(node_a, node_b, codes, ids_l, ids_r, same)
        if reuse is not None:
            reuse["graph"] = graph
        return graph

    def competition(self, competing: np.ndarray, log_odds: np.ndarray, prob: np.ndarray) -> np.ndarray:
        """Bits of one-to-one competition of every pair (0 outside the competing pairs of lists).

        Belief propagation runs on the pairs that have a competitor: a pair whose two records have
        no other candidate in its pair of lists gets messages of exactly 1 (0 bits) whatever the
        rounds, and leaves every other pair's sums as they were (each record's sum adds its own
        pairs in the same order), so leaving it out gives the same bits to the last digit."""
        key = np.asarray(competing, dtype=bool).tobytes()
        if key not in self._twins:
            self._twins[key] = self._structure(competing)
        rows, twins = self._twins[key]
        out = np.zeros(len(log_odds))
        if len(rows):
            start = self._messages.get(key)  # the last EM iteration's messages: a few rounds from settling
            msg_r, msg_c = _messages(self.node_a[rows], self.node_b[rows], self.codes[rows], log_odds[rows], self.ids_l,
                                     self.ids_r, prob, self.same, nodes=(self.rows[rows], self.cols[rows]), twins=twins,
                                     start=start, cache=self._layouts.setdefault(key, {}))
            self._messages[key] = (msg_r, msg_c)
            out[rows] = np.log2(np.maximum(msg_r * msg_c, 1e-300))
        return out

    def _structure(self, competing: np.ndarray) -> tuple[np.ndarray, _Twins]:
        """The pairs of the competing pairs of lists that have a competitor (their positions), and
        their twins (:func:`_twin_structure`, numbered among those pairs)."""
        rows = np.flatnonzero(competing[self.codes])
        node_r, node_c = self.rows[rows], self.cols[rows]
        alone = (np.bincount(node_r)[node_r] == 1) & (np.bincount(node_c)[node_c] == 1)
        rows = rows[~alone]  # a twin shares a record with its pair: never alone
        return rows, _twin_structure(self.node_a[rows], self.node_b[rows], self.codes[rows], self.ids_l, self.ids_r,
                                     self.same)


def _messages(
    left: np.ndarray, right: np.ndarray, group: np.ndarray, log_odds: np.ndarray,
    all_l: np.ndarray, all_r: np.ndarray, all_prob: np.ndarray, all_same: np.ndarray,
    *, iterations: int = 40, damping: float = 0.5, nodes: tuple[np.ndarray, np.ndarray] | None = None,
    twins: _Twins | None = None, start: tuple[np.ndarray, np.ndarray] | None = None, cache: dict[str, _Layout] | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """Each competing pair's two messages (its bits are ``log2`` of their product), by belief propagation.

    Each pair (an edge between a record of one list and a record of the other) may be a match;
    each record matches at most one record of the other list. Loopy belief propagation gives each
    edge's posterior odds ``o * r * c``: ``r = 1 / (1 + sum of o' * c'`` over the other edges of
    its first record``)`` and ``c`` likewise over its second record's, where ``c'`` and ``r'`` are
    the messages of those edges (Bayati, Shah and Sharma 2008; Huang and Jebara 2007). A
    competitor that is itself the likely match of another record is discounted by its own
    message, so it takes little from the pair; two candidates both looking certain share the
    probability. A candidate that may be a duplicate of the pair's own record in its list counts
    only as far as it is another person (a mixture on ``p`` of the duplicate pair,
    :func:`_with_twins`). ``nodes``: the edges' node codes (:func:`_node_codes`
    of ``left`` and ``right``), ``twins`` the edges' :func:`_twin_structure`, when the caller has them; ``cache``
    keeps the compiled rounds' numbering of the graph between calls on the same graph (:func:`_by_component`).
    """
    n = len(left)
    odds = np.exp2(np.clip(log_odds, -60.0, 60.0))
    rows, cols = nodes if nodes is not None else (_node_codes(left, group), _node_codes(right, group))
    # Pairs of edges on one record whose other records may be duplicates of each other.
    row_a, row_b, row_k, col_a, col_b, col_k = twins if twins is not None else _twin_structure(
        left, right, group, all_l, all_r, all_same)
    rows, cols = np.asarray(rows, dtype=np.int64), np.asarray(cols, dtype=np.int64)
    n_rows, n_cols = (int(rows.max()) + 1, int(cols.max()) + 1) if n else (0, 0)
    # each twin weighs the duplicate pair's probability
    row_w, col_w = all_prob[row_k].astype(float), all_prob[col_k].astype(float)
    # from the edge's first record: share of the odds left by its other candidates; and from its second
    msg_r, msg_c = (np.ones(n), np.ones(n)) if start is None else (start[0].copy(), start[1].copy())
    if n >= COMPILED_FROM:  # compiled, component by component (numba takes a moment to load: worth it on large cases)
        _by_component(odds, rows, cols, (row_a, row_b, row_w), (col_a, col_b, col_w), iterations, damping, msg_r, msg_c, cache=cache)
    else:
        row_e, row_i = np.unique(row_a, return_inverse=True)  # the edges that have twins, and each twin's edge among them
        col_e, col_i = np.unique(col_a, return_inverse=True)
        row_twins = (row_e, row_i.astype(np.int64), row_w, row_b)
        col_twins = (col_e, col_i.astype(np.int64), col_w, col_b)
        for _ in range(iterations):
            if _numpy_round(odds, msg_r, msg_c, rows, cols, n_rows, n_cols, row_twins, col_twins, float(damping)) < _CONVERGED:
                break
    return msg_r, msg_c


#: Belief propagation stops when no message moves by more than this in a round.
_CONVERGED = 1e-6


def _by_component(odds: np.ndarray, rows: np.ndarray, cols: np.ndarray, row_twins: tuple[np.ndarray, np.ndarray, np.ndarray],
                  col_twins: tuple[np.ndarray, np.ndarray, np.ndarray], iterations: int, damping: float,
                  msg_r: np.ndarray, msg_c: np.ndarray, tolerance: float = _CONVERGED, threads: int | None = None,
                  cache: dict[str, _Layout] | None = None) -> np.ndarray:
    """The messages of every edge, each connected component of the graph run alone, compiled
    (:func:`undercount.link.posterior_kernel.bp_components`).

    A component's messages depend only on its own edges (a twin shares a record with its edge), so
    it stops when its own messages settle instead of running until every component's have: most
    components are a few records and settle in a few rounds, while the round over every edge ran
    as long as the slowest. The edges are numbered by component, in their order within it, and the
    twins by their edge's component, in their order, so every sum adds its terms as the round over
    every edge does. ``msg_r``, ``msg_c``: the messages to start from, updated in place. ``threads``: how many
    parts of the components run at once (default :data:`BP_THREADS`; the messages are the same). ``cache``: where
    the numbering (:class:`_Layout`, the same for every EM iteration of one graph) is kept between calls. Returns the
    rounds each edge's component ran.
    """
    from undercount.link.posterior_kernel import bp_components

    layout = cache.get("layout") if cache is not None else None
    if layout is None:
        layout = _Layout.of(rows, cols, row_twins[:2], col_twins[:2])
        if cache is not None:
            cache["layout"] = layout
    order, place, starts = layout.order, layout.place, layout.starts
    sorted_r, sorted_c = msg_r[order], msg_c[order]
    edges = (odds[order], sorted_r, sorted_c, rows[order], cols[order])
    twins = (layout.weighted(0, row_twins[2]), layout.weighted(1, col_twins[2]))
    # Components share no edge, record or twin: the kernel runs on parts of them in threads (it holds no GIL), each
    # part's messages written in place and computed as by one call. No numba parallel kernel (its workqueue layer
    # stops the process when two threads launch one at once, and the web app runs link jobs in threads).
    bounds = _parts(starts, threads if threads is not None else BP_THREADS)
    if len(bounds) > 2:
        from concurrent.futures import ThreadPoolExecutor

        with ThreadPoolExecutor(len(bounds) - 1) as pool:
            done = np.concatenate(list(pool.map(
                lambda k: _bp_part(edges, layout.n_rows, layout.n_cols, starts, twins, int(bounds[k]), int(bounds[k + 1]), damping,
                                   iterations, tolerance), range(len(bounds) - 1))))
    else:
        done = bp_components(*edges, layout.n_rows, layout.n_cols, starts, *twins, float(damping), int(iterations), float(tolerance))
    msg_r[:], msg_c[:] = sorted_r[place], sorted_c[place]
    out: np.ndarray = np.repeat(done, np.diff(starts))[place]
    return out


_Numbered = tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]


@dataclass(frozen=True)
class _Layout:
    """The numbering of one graph's edges and twins by connected component, the largest component first.

    Attributes:
        n_rows, n_cols: the node codes' bounds.
        order: the edges in component order (stable: within a component, in their order); ``place`` its inverse.
        starts: where each component's edges begin, and the end.
        twins: per side (first records, second records): which edges have a twin, each twin's edge and partner
            numbered in component order, the twins' order (``by``) and where each component's twins begin.
    """

    n_rows: int
    n_cols: int
    order: np.ndarray
    place: np.ndarray
    starts: np.ndarray
    twins: tuple[_Numbered, _Numbered]

    @classmethod
    def of(cls, rows: np.ndarray, cols: np.ndarray, row_twins: tuple[np.ndarray, np.ndarray],
           col_twins: tuple[np.ndarray, np.ndarray]) -> _Layout:
        """The layout of the edges ``rows``-``cols`` and their twins ((edge, partner) per side)."""
        from scipy.sparse import coo_matrix
        from scipy.sparse.csgraph import connected_components

        n = len(rows)
        n_rows, n_cols = int(rows.max()) + 1, int(cols.max()) + 1
        graph = coo_matrix((np.ones(n, dtype=np.int8), (rows, n_rows + cols)), shape=(n_rows + n_cols,) * 2)
        label = connected_components(graph, directed=False)[1][rows]
        # The largest component first (every component's messages are its own, whatever the order): the threads take
        # runs of whole components, and one component may hold most edges (43% of 364,537 at 198,475 records).
        label = np.where(label == np.argmax(np.bincount(label)), -1, label)
        order = np.argsort(label, kind="stable")
        place = np.empty(n, dtype=np.int64)
        place[order] = np.arange(n)
        sorted_label = label[order]
        starts = np.r_[0, np.flatnonzero(np.diff(sorted_label)) + 1, n].astype(np.int64)
        first = sorted_label[starts[:-1]]  # each component's label, in the order of the edges

        def numbered(edge: np.ndarray, partner: np.ndarray) -> _Numbered:
            by = np.argsort(label[edge], kind="stable")
            has = np.zeros(n, dtype=np.bool_)
            has[place[edge]] = True
            bounds = np.searchsorted(label[edge][by], first, side="left")
            return has, place[edge][by], place[partner][by], by, np.r_[bounds, len(edge)].astype(np.int64)

        return cls(n_rows, n_cols, order, place, starts, (numbered(*row_twins), numbered(*col_twins)))

    def weighted(self, side: int, weight: np.ndarray) -> _Numbered:
        """The kernel's twins of one side (0: first records, 1: second) with this call's weights."""
        has, edge, partner, by, bounds = self.twins[side]
        return has, edge, partner, weight[by], bounds


#: Threads the compiled belief propagation runs its components on (the cores this process may use, at most 2:
#: the machine the project targets has two; the messages do not depend on it).
BP_THREADS = max(1, min(2, len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)))
#: Edges below which the components run in one call (a thread's start costs more than it saves).
BP_SPLIT_FROM = 200_000


def _parts(starts: np.ndarray, threads: int) -> np.ndarray:
    """Component bounds of ``threads`` runs of whole components with about as many edges each
    (``[0, k1, ..., n_comp]``; ``[0, n_comp]`` for one run)."""
    n_comp, n = len(starts) - 1, int(starts[-1])
    if threads <= 1 or n < BP_SPLIT_FROM or n_comp < 2:
        return np.array([0, n_comp], dtype=np.int64)
    targets = np.array([n * (i + 1) // threads for i in range(threads - 1)], dtype=np.int64)
    after = np.clip(np.searchsorted(starts, targets, side="left"), 1, n_comp - 1)
    cuts = np.where(starts[after] - targets <= targets - starts[after - 1], after, np.maximum(after - 1, 1))  # the nearer bound
    return np.unique(np.r_[0, cuts, n_comp]).astype(np.int64)



def _bp_part(edges: tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray], n_rows: int, n_cols: int,
             starts: np.ndarray, twins: tuple[_Numbered, _Numbered], first: int, last: int, damping: float, iterations: int,
             tolerance: float) -> np.ndarray:
    """:func:`bp_components` on the components ``first:last`` only: their edges' slices (views: the messages are
    written in place), their twins renumbered from the part's first edge."""
    from undercount.link.posterior_kernel import bp_components

    lo, hi = int(starts[first]), int(starts[last])
    odds, msg_r, msg_c, rows, cols = (a[lo:hi] for a in edges)

    def part(numbered: _Numbered) -> _Numbered:
        has, edge, partner, weight, t_starts = numbered
        t_lo, t_hi = int(t_starts[first]), int(t_starts[last])
        return has[lo:hi], edge[t_lo:t_hi] - lo, partner[t_lo:t_hi] - lo, weight[t_lo:t_hi], t_starts[first:last + 1] - t_lo

    out: np.ndarray = bp_components(odds, msg_r, msg_c, rows, cols, n_rows, n_cols, starts[first:last + 1] - lo, part(twins[0]),
                                    part(twins[1]), float(damping), int(iterations), float(tolerance))
    return out


def _numpy_round(odds: np.ndarray, msg_r: np.ndarray, msg_c: np.ndarray, rows: np.ndarray, cols: np.ndarray,
                 n_rows: int, n_cols: int, row_twins: tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray],
                 col_twins: tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray], damping: float) -> float:
    """One damped round of messages in place; returns the largest change of a message.

    Seen by a record: each edge's odds times the other side's message; an edge's competitors are
    its record's sum less itself, twins mixed in (:func:`_with_twins`). The compiled round
    (:func:`undercount.link.posterior_kernel.bp_components`) gives the same messages to the last digit.
    """
    seen_by_row = odds * msg_c
    row_sum = np.bincount(rows, weights=seen_by_row, minlength=n_rows)[rows] - seen_by_row
    seen_by_col = odds * msg_r
    col_sum = np.bincount(cols, weights=seen_by_col, minlength=n_cols)[cols] - seen_by_col
    _with_twins(row_sum, row_twins[0], row_twins[1], row_twins[2], seen_by_row[row_twins[3]])
    _with_twins(col_sum, col_twins[0], col_twins[1], col_twins[2], seen_by_col[col_twins[3]])
    new_r = 1.0 / (1.0 + np.maximum(row_sum, 0.0))
    new_c = 1.0 / (1.0 + np.maximum(col_sum, 0.0))
    delta = max(float(np.max(np.abs(new_r - msg_r), initial=0.0)), float(np.max(np.abs(new_c - msg_c), initial=0.0)))
    msg_r[:] = damping * msg_r + (1 - damping) * new_r
    msg_c[:] = damping * msg_c + (1 - damping) * new_c
    return delta


def _with_twins(total: np.ndarray, edges: np.ndarray, edge: np.ndarray, weight: np.ndarray, twin: np.ndarray) -> None:
    """Competitors' odds seen by each edge when some may be duplicates of the edge's own partner.

    A twin (odds ``x``) is the same person as the edge's partner with probability ``w`` (then it
    takes nothing from the edge) and another person otherwise (then it competes in full), so the
    edge's message is the mixture ``w / (1 + s) + (1 - w) / (1 + s + x)``, ``s`` the other
    competitors' odds. Each twin adds the odds that give that message: bounded by
    ``(1 + s)(1 - w) / w`` however certain the twin looks, where discounting its odds by ``1 - w``
    let a near-certain twin (odds 2^25) still crush the edge.

    ``total`` (every edge's competitors' odds) is changed in place at ``edges``, the edges that have
    twins; ``edge`` is each twin's edge among them (the edges without twins, most of them, are
    not touched, and each sum adds its terms in the same order as over every edge).
    """
    if len(edges) == 0:
        return
    plain = total[edges] - np.bincount(edge, weights=twin, minlength=len(edges))
    rest = np.maximum(plain[edge], 0.0)
    message = weight / (1.0 + rest) + (1.0 - weight) / (1.0 + rest + twin)
    added = 1.0 / np.maximum(message, 1e-300) - (1.0 + rest)
    total[edges] = plain + np.bincount(edge, weights=np.maximum(added, 0.0), minlength=len(edges))


def _twin_structure(
    left: np.ndarray, right: np.ndarray, group: np.ndarray, all_l: np.ndarray, all_r: np.ndarray, all_same: np.ndarray,
) -> _Twins:
    """Pairs of competing edges (a, b) sharing one record whose other records may be duplicates
    of each other, and k, the row of that duplicate pair among all pairs (its probability is the
    twin's weight; a duplicate pair at probability 0 weighs nothing): (a, b, k) of the twins that
    share the first record (they meet in its row), then of those that share the second."""
    empty = np.zeros(0, dtype=np.int64)
    if not all_same.any():
        return empty, empty, empty, empty, empty, empty
    within = np.flatnonzero(all_same)
    dups = pd.DataFrame({"x": all_l[within], "y": all_r[within], "k": within})
    dups = pd.concat([dups, dups.rename(columns={"x": "y", "y": "x"})])
    edges = pd.DataFrame({"e": np.arange(len(left)), "l": left, "r": right, "g": group})
    parts: list[np.ndarray] = []
    for shared, other in (("l", "r"), ("r", "l")):
        mine = edges.rename(columns={other: "x"})[["e", shared, "x", "g"]]
        theirs = edges.rename(columns={other: "y", "e": "f"})[["f", shared, "y", "g"]]
        linked = mine.merge(dups, on="x").merge(theirs, on=[shared, "y", "g"])
        parts += [linked[c].to_numpy(dtype=np.int64) for c in ("e", "f", "k")]
    return parts[0], parts[1], parts[2], parts[3], parts[4], parts[5]
