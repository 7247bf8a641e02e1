"""One round of the one-to-one belief propagation of :mod:`undercount.link.posterior`, compiled.

The round was some thirty numpy array operations over the edges (sums per record by
``np.bincount``); here it is a few passes, each sum adding its terms in the order ``np.bincount``
adds them, so the messages are the same to the last digit (tests/link/test_posterior.py holds the
numpy round and checks it). Loaded only when a link run has lists
that compete one-to-one (numba takes a moment to import).
"""

from __future__ import annotations

import numpy as np
from numba import njit

__all__ = ["bp_round"]


@njit(cache=True, nogil=True, error_model="numpy", inline="always")
def _max(a: float, b: float) -> float:  # pragma: no cover - compiled
    """``np.maximum`` of two floats (the first on a tie or a NaN, as numpy does)."""
    return a if (a >= b or a != a) else b


@njit(cache=True, nogil=True, error_model="numpy")
def _with_twins(total: np.ndarray, edges: np.ndarray, edge: np.ndarray, weight: np.ndarray, partner: np.ndarray,
                seen: np.ndarray) -> None:  # pragma: no cover - compiled
    """Competitors' odds seen by each edge when some may be duplicates of the edge's own partner.

    A twin (odds ``x = seen[partner]``) is the same person as the edge's partner with probability
    ``w`` (then it takes nothing from the edge) and another person otherwise (then it competes in
    full), so the edge's message is the mixture ``w / (1 + s) + (1 - w) / (1 + s + x)``, ``s`` the
    other competitors' odds. Each twin adds the odds that give that message: bounded by
    ``(1 + s)(1 - w) / w`` however certain the twin looks, where discounting its odds by ``1 - w``
    let a near-certain twin (odds 2^25) still crush the edge.

    ``total`` (every edge's competitors' odds) is changed in place at ``edges``, the edges that
    have twins; ``edge`` is each twin's edge among them.
    """
    m = len(edges)
    if m == 0:
        return
    removed = np.zeros(m)
    for t in range(len(edge)):
        removed[edge[t]] += seen[partner[t]]
    plain = np.empty(m)
    for j in range(m):
        plain[j] = total[edges[j]] - removed[j]
    added = np.zeros(m)
    for t in range(len(edge)):
        rest = _max(plain[edge[t]], 0.0)
        w = weight[t]
        message = w / (1.0 + rest) + (1.0 - w) / (1.0 + rest + seen[partner[t]])
        added[edge[t]] += _max(1.0 / _max(message, 1e-300) - (1.0 + rest), 0.0)
    for j in range(m):
        total[edges[j]] = plain[j] + added[j]


@njit(cache=True, nogil=True, error_model="numpy")
def bp_round(odds: np.ndarray, msg_r: np.ndarray, msg_c: np.ndarray, rows: np.ndarray, cols: np.ndarray,
             n_rows: int, n_cols: int, row_twins: tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray],
             col_twins: tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray],
             damping: float) -> float:  # pragma: no cover - compiled
    """One damped round of messages, in place; returns the largest change of a message.

    ``rows``/``cols``: each edge's node codes (``n_rows``/``n_cols`` codes); ``*_twins``: (the edges
    that have twins, each twin's edge among them, its weight, its partner edge).
    """
    n = len(odds)
    seen_r = np.empty(n)
    seen_c = np.empty(n)
    node_r = np.zeros(n_rows)
    node_c = np.zeros(n_cols)
    for e in range(n):
        seen_r[e] = odds[e] * msg_c[e]
        node_r[rows[e]] += seen_r[e]
    for e in range(n):
        seen_c[e] = odds[e] * msg_r[e]
        node_c[cols[e]] += seen_c[e]
    row_sum = np.empty(n)
    col_sum = np.empty(n)
    for e in range(n):
        row_sum[e] = node_r[rows[e]] - seen_r[e]
        col_sum[e] = node_c[cols[e]] - seen_c[e]
    _with_twins(row_sum, row_twins[0], row_twins[1], row_twins[2], row_twins[3], seen_r)
    _with_twins(col_sum, col_twins[0], col_twins[1], col_twins[2], col_twins[3], seen_c)
    keep = 1.0 - damping
    delta = 0.0
    for e in range(n):
        new_r = 1.0 / (1.0 + _max(row_sum[e], 0.0))
        new_c = 1.0 / (1.0 + _max(col_sum[e], 0.0))
        delta = max(delta, abs(new_r - msg_r[e]), abs(new_c - msg_c[e]))
        msg_r[e] = damping * msg_r[e] + keep * new_r
        msg_c[e] = damping * msg_c[e] + keep * new_c
    return delta
