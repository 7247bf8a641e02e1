"""The rounds of the one-to-one belief propagation of :mod:`undercount.link.posterior`, compiled.

The numpy round (``posterior._numpy_round``) is some thirty array operations over the edges (sums
per record by ``np.bincount``); here a round is a few passes over one connected component of the
graph at a time, each sum adding its terms in the order ``np.bincount`` adds them, so the messages
are the numpy round's to the last digit (tests/link/test_posterior.py checks it). Loaded only when
a link run has lists that compete one-to-one (numba takes a moment to import).
"""

from __future__ import annotations

import numpy as np
from numba import njit

__all__ = ["bp_components"]


@njit(cache=True, nogil=True, error_model="numpy", inline="always")
def _max(a: float, b: float) -> float:  # pragma: no cover - compiled
    """``np.maximum`` of two floats (the first on a tie or a NaN, as numpy does)."""
    return a if (a >= b or a != a) else b


@njit(cache=True, nogil=True, error_model="numpy")
def _twins_of(total: np.ndarray, lo: int, hi: int, t_lo: int, t_hi: int, has_twin: np.ndarray, edge: np.ndarray,
              weight: np.ndarray, partner: np.ndarray, seen: np.ndarray, removed: np.ndarray,
              added: np.ndarray) -> None:  # pragma: no cover - compiled
    """Competitors' odds seen by each edge of one component when some may be duplicates of the
    edge's own partner (``posterior._with_twins``: the mixture of "same person" and "another").

    ``total`` (every edge's competitors' odds) is changed in place at the component's edges
    ``lo:hi`` that have twins; its twins are ``t_lo:t_hi`` (``edge``, ``partner``: edge numbers,
    each edge's twins in the order ``posterior._with_twins`` adds them)."""
    for e in range(lo, hi):
        removed[e] = 0.0
        added[e] = 0.0
    for t in range(t_lo, t_hi):
        removed[edge[t]] += seen[partner[t]]
    for t in range(t_lo, t_hi):
        e = edge[t]
        rest = _max(total[e] - removed[e], 0.0)
        w = weight[t]
        message = w / (1.0 + rest) + (1.0 - w) / (1.0 + rest + seen[partner[t]])
        added[e] += _max(1.0 / _max(message, 1e-300) - (1.0 + rest), 0.0)
    for e in range(lo, hi):
        if has_twin[e]:
            total[e] = (total[e] - removed[e]) + added[e]


@njit(cache=True, nogil=True, error_model="numpy")
def bp_components(odds: np.ndarray, msg_r: np.ndarray, msg_c: np.ndarray, rows: np.ndarray, cols: np.ndarray,
                  n_rows: int, n_cols: int, starts: np.ndarray,
                  row_twins: tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray],
                  col_twins: tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray],
                  damping: float, rounds: int, tolerance: float) -> np.ndarray:  # pragma: no cover - compiled
    """The damped rounds of messages, in place, each connected component of the graph on its own.

    Edges are numbered by component (``starts``: where each begins, and the end), and so are the
    twins (``*_twins``: each edge has a twin, each twin's edge, its partner edge, its weight, where
    each component's twins begin); a component's messages depend on its own edges only, so it runs
    its rounds alone and stops when its own largest change is under ``tolerance`` (at most ``rounds``
    rounds).
    Within a component each sum adds its terms in the order of the numpy round over every edge
    (``posterior._numpy_round``): run for the same rounds, the messages are its messages to the last
    digit. Returns each component's rounds.
    """
    n = len(odds)
    n_comp = len(starts) - 1
    seen_r, seen_c = np.empty(n), np.empty(n)
    row_sum, col_sum = np.empty(n), np.empty(n)
    removed_r, added_r = np.empty(n), np.empty(n)
    removed_c, added_c = np.empty(n), np.empty(n)
    node_r, node_c = np.zeros(n_rows), np.zeros(n_cols)
    r_has, r_edge, r_partner, r_weight, r_starts = row_twins
    c_has, c_edge, c_partner, c_weight, c_starts = col_twins
    keep = 1.0 - damping
    done = np.zeros(n_comp, dtype=np.int64)
    for k in range(n_comp):
        lo, hi = starts[k], starts[k + 1]
        for step in range(rounds):
            for e in range(lo, hi):
                node_r[rows[e]] = 0.0
                node_c[cols[e]] = 0.0
            for e in range(lo, hi):
                seen_r[e] = odds[e] * msg_c[e]
                node_r[rows[e]] += seen_r[e]
            for e in range(lo, hi):
                seen_c[e] = odds[e] * msg_r[e]
                node_c[cols[e]] += seen_c[e]
            for e in range(lo, hi):
                row_sum[e] = node_r[rows[e]] - seen_r[e]
                col_sum[e] = node_c[cols[e]] - seen_c[e]
            _twins_of(row_sum, lo, hi, r_starts[k], r_starts[k + 1], r_has, r_edge, r_weight, r_partner, seen_r, removed_r,
                      added_r)
            _twins_of(col_sum, lo, hi, c_starts[k], c_starts[k + 1], c_has, c_edge, c_weight, c_partner, seen_c, removed_c,
                      added_c)
            delta = 0.0
            for e in range(lo, hi):
                new_r = 1.0 / (1.0 + _max(row_sum[e], 0.0))
                new_c = 1.0 / (1.0 + _max(col_sum[e], 0.0))
                delta = max(delta, abs(new_r - msg_r[e]), abs(new_c - msg_c[e]))
                msg_r[e] = damping * msg_r[e] + keep * new_r
                msg_c[e] = damping * msg_c[e] + keep * new_c
            done[k] = step + 1
            if delta < tolerance:
                break
    return done
