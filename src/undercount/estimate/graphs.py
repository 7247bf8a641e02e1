"""Decomposable graphs on a few lists, for model averaging in :mod:`undercount.estimate.dga`.

A graph on p lists is a set of edges; it is decomposable (chordal) when maximum cardinality
search visits every vertex after a complete set of its visited neighbours. Visiting order then
gives each vertex a *family*: itself and its earlier neighbours. The hyper-Dirichlet marginal
likelihood of a decomposable graph is the product over vertices of the family's marginal
likelihood divided by that of the earlier neighbours (the cliques-over-separators formula written
along a perfect ordering), so a graph is stored as the subsets that enter with sign +1 and -1.
There are 8, 61 and 822 decomposable graphs on 3, 4 and 5 vertices.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from itertools import combinations

__all__ = ["DecomposableGraph", "decomposable_graphs"]


@dataclass(frozen=True)
class DecomposableGraph:
    """One decomposable graph on lists 0..p-1.

    Attributes:
        edges: pairs (i, j), i < j.
        cliques: maximal cliques as sorted tuples.
        plus: bit masks of the families (sign +1 in the marginal likelihood).
        minus: bit masks of the earlier-neighbour sets (sign -1); empty sets are left out.
    """

    edges: tuple[tuple[int, int], ...]
    cliques: tuple[tuple[int, ...], ...]
    plus: tuple[int, ...]
    minus: tuple[int, ...]

    def label(self) -> str:
        """Cliques written with 1-based list positions, e.g. '[12,3]' (Rcapture's style)."""
        return "[" + ",".join("".join(str(v + 1) for v in c) for c in self.cliques) + "]"


def _visit_order(p: int, adj: list[set[int]]) -> list[int] | None:
    """Maximum cardinality search; None when the graph is not chordal."""
    weight = [0] * p
    seen: list[int] = []
    free = set(range(p))
    while free:
        v = max(sorted(free), key=lambda u: weight[u])
        earlier = adj[v] & set(seen)
        for a, b in combinations(sorted(earlier), 2):
            if b not in adj[a]:
                return None
        seen.append(v)
        free.remove(v)
        for u in adj[v] & free:
            weight[u] += 1
    return seen


def _graph(p: int, edges: tuple[tuple[int, int], ...]) -> DecomposableGraph | None:
    adj: list[set[int]] = [set() for _ in range(p)]
    for a, b in edges:
        adj[a].add(b)
        adj[b].add(a)
    order = _visit_order(p, adj)
    if order is None:
        return None
    families: list[frozenset[int]] = []
    plus: list[int] = []
    minus: list[int] = []
    for i, v in enumerate(order):
        earlier = adj[v] & set(order[:i])
        fam = frozenset(earlier | {v})
        families.append(fam)
        plus.append(sum(1 << u for u in fam))
        if earlier:
            minus.append(sum(1 << u for u in earlier))
    maximal = [f for f in families if not any(f < g for g in families)]
    cliques = sorted({tuple(sorted(f)) for f in maximal})
    return DecomposableGraph(edges, tuple(cliques), tuple(plus), tuple(minus))


@lru_cache(maxsize=8)
def decomposable_graphs(p: int) -> tuple[DecomposableGraph, ...]:
    """Every decomposable graph on ``p`` vertices (8, 61, 822 for p = 3, 4, 5).

    Args:
        p: the number of lists (vertices).

    Returns:
        The graphs, the empty graph (independence) first.

    Example:
        >>> [len(decomposable_graphs(p)) for p in (3, 4, 5)]
        [8, 61, 822]
    """
    pairs = list(combinations(range(p), 2))
    found = []
    for mask in range(1 << len(pairs)):
        edges = tuple(pr for i, pr in enumerate(pairs) if mask >> i & 1)
        graph = _graph(p, edges)
        if graph is not None:
            found.append(graph)
    return tuple(found)
