"""Bayesian model averaging over decomposable graphical models (Madigan and York 1997).

Assumptions (Madigan and York, "Bayesian methods for estimation of the size of a closed
population", Biometrika 84:19-31, 1997; the R package dga of Johndrow, Lum and Ball): the
population is closed and list dependence is described by a decomposable log-linear (graphical)
model; every decomposable graph on the lists is equally likely a priori; given the graph the
cell probabilities have a hyper-Dirichlet prior with ``delta`` prior people per cell of the full
table; the prior on N is proportional to 1/N. Heterogeneity that no graph describes (latent
classes) is not modelled: use LCMCR for that.

The posterior over the number never recorded is computed exactly on a grid
n_missing_min..n_missing_max (1..15 n by default, as R's ``Nmissing = 1:(15 n)``):
for each graph, the marginal likelihood of the completed table is a sum of log-gamma terms of
its families' marginal tables, in which only the unobserved cell depends on the grid point.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from typing import Literal

import numpy as np
import pandas as pd
from scipy.special import gammaln

from undercount.errors import ConfigError, ModelError
from undercount.estimate.graphs import DecomposableGraph, decomposable_graphs
from undercount.estimate.histories import CountedTable, validated_counts
from undercount.estimate.registry import Estimator
from undercount.estimate.results import EstimateResult

__all__ = ["fit_dga", "dga_posterior", "DgaOptions", "ESTIMATOR"]

MAX_LISTS = 5
DRAWS = 4000
CHUNK = 96
COARSE = 20_000
MARGIN = 80.0
TOP_GRAPHS = 5


def _lgamma_shifted(grid: np.ndarray, wanted: list[tuple[float, float]]) -> dict[tuple[float, float], np.ndarray]:
    """``gammaln(shift + grid + offset)`` for every (shift, offset) in ``wanted``, each exactly as computed alone.

    On a grid of consecutive integers with whole shifts, the shifted grids of one offset are slices of
    one range, so gammaln is evaluated once over their union (``shift + grid`` is then the same whole
    number either way, so the values are bit for bit those of separate calls): the terms of the
    margins and the common term of a 3-list table take about 4 evaluations of the grid instead of 10.
    """
    out: dict[tuple[float, float], np.ndarray] = {}
    by_offset: dict[float, list[float]] = {}
    for shift, offset in wanted:
        by_offset.setdefault(offset, [])
        if shift not in by_offset[offset]:
            by_offset[offset].append(shift)
    consecutive = grid.size > 1 and grid[-1] - grid[0] == grid.size - 1 and float(grid[0]).is_integer()
    for offset, shifts in by_offset.items():
        low, high = min(shifts), max(shifts)
        if consecutive and all(float(v).is_integer() for v in shifts) and high - low + grid.size < len(shifts) * grid.size:
            union = gammaln(np.arange(low + grid[0], high + grid[-1] + 1.0) + offset)
            for shift in shifts:
                start = int(shift - low)
                out[(shift, offset)] = union[start:start + grid.size]
        else:
            for shift in shifts:
                out[(shift, offset)] = gammaln(shift + grid + offset)
    return out


def _grid_terms(y: np.ndarray, p: int, delta: float, grid: np.ndarray, prior: str) -> tuple[np.ndarray, np.ndarray]:
    """Log marginal likelihood (Dirichlet-multinomial) of every marginal table, per grid point, and the
    term common to every graph (the completed table's multinomial coefficient and the prior on N).

    Row ``s`` of the first is the margin over the lists in bit mask ``s`` (row 0, the empty margin, is zero).
    """
    full = np.concatenate([[0.0], y])
    cells = np.arange(2**p)
    total_prior = delta * 2**p
    n = full.sum()
    margins = []
    for s in range(1, 2**p):
        size = bin(s).count("1")
        margin = np.bincount(cells & s, weights=full, minlength=2**p)
        margins.append((s, margin, np.unique(cells & s), delta * 2 ** (p - size)))
    wanted = [(n, total_prior), (n, 1.0), (0.0, 1.0)] + [(float(m[0]), float(pr)) for _, m, _, pr in margins]
    lg = _lgamma_shifted(grid, wanted)
    terms = np.zeros((2**p, grid.size))
    shared = gammaln(total_prior) - lg[(n, total_prior)]  # the same for every margin
    for s, margin, keys, margin_prior in margins:
        fixed = sum(gammaln(margin[k] + margin_prior) - gammaln(margin_prior) for k in keys if k != 0)
        terms[s] = shared + lg[(float(margin[0]), float(margin_prior))] - gammaln(margin_prior) + fixed
    common: np.ndarray = lg[(n, 1.0)] - lg[(0.0, 1.0)]
    if prior == "1/N":
        common = common - np.log(np.maximum(n + grid, 1.0))
    return terms, common


def _graphs(p: int, saturated: bool) -> tuple[DecomposableGraph, ...]:
    """The decomposable graphs averaged over: every one, or (``saturated`` False) all but the
    complete graph, the saturated model, under which N is not identified."""
    graphs = decomposable_graphs(p)
    return graphs if saturated else tuple(g for g in graphs if len(g.edges) < p * (p - 1) // 2)


@functools.lru_cache(maxsize=2 * MAX_LISTS)
def _graph_signs(p: int, saturated: bool = True) -> np.ndarray:
    """Graphs by subsets: +1 for a family, -1 for its earlier neighbours (see graphs.py); made once per
    number of lists (read-only)."""
    graphs = _graphs(p, saturated)
    signs = np.zeros((len(graphs), 2**p))
    for g, graph in enumerate(graphs):
        np.add.at(signs[g], list(graph.plus), 1.0)
        np.add.at(signs[g], list(graph.minus), -1.0)
    signs.flags.writeable = False
    return signs


@functools.lru_cache(maxsize=2 * MAX_LISTS)
def _graph_labels(p: int, saturated: bool) -> tuple[str, ...]:
    """The labels of :func:`_graphs`, made once per number of lists."""
    return tuple(graph.label() for graph in _graphs(p, saturated))


SMALL_PRODUCT = 1024  # graphs x subsets up to which the graphs' sums are added up without BLAS


def _by_graph(signs: np.ndarray, terms: np.ndarray) -> np.ndarray:
    """``signs @ terms``: each graph's log marginal likelihood per grid point, the sum of its signed subset terms.

    For few graphs (3 lists: 8 graphs of 8 subsets) the subsets are added one after the other in
    numpy: the same sums in the same order as BLAS's kernel (the signs are small whole numbers, so
    its fused multiply-adds round as a product and a sum do), bit for bit, without the threaded
    matrix product, which cost milliseconds per table on a loaded machine for a few thousand flops.
    """
    if signs.size > SMALL_PRODUCT:
        product: np.ndarray = signs @ terms
        return product
    out = np.zeros((signs.shape[0], terms.shape[1]))
    for subset in range(signs.shape[1]):
        column = signs[:, subset]
        if column.any():
            out += column[:, None] * terms[subset]
    return out


def _support(
    y: np.ndarray, p: int, delta: float, grid: np.ndarray, prior: str, signs: np.ndarray,
) -> tuple[np.ndarray, int, int, tuple[np.ndarray, np.ndarray] | None]:
    """Graphs and grid range that carry the posterior, found on a coarse grid.

    A graph whose log posterior stays more than ``MARGIN`` below the best anywhere, and grid points
    where every graph is that far below, hold less than e^-MARGIN of the mass and are skipped.
    When the grid is short enough to be its own coarse grid, the subset terms and the common term
    on the range kept are returned too (else None), so that they are not computed twice.
    """
    stride = max(1, grid.size // COARSE)
    idx = np.arange(0, grid.size, stride)
    terms, shared = _grid_terms(y, p, delta, grid[idx], prior)
    coarse = _by_graph(signs, terms) + shared
    best = coarse.max()
    keep = np.flatnonzero(coarse.max(axis=1) > best - MARGIN)
    live = np.flatnonzero(coarse[keep].max(axis=0) > best - MARGIN)
    lo = max(0, int(idx[live[0]]) - stride)
    hi = min(grid.size, int(idx[live[-1]]) + stride + 1)
    return keep, lo, hi, ((terms[:, lo:hi], shared[lo:hi]) if stride == 1 else None)


def dga_posterior(
    table: pd.DataFrame | CountedTable,
    *,
    delta: float | None = None,
    n_missing_max: int | None = None,
    prior: str = "1/N",
    n_missing_min: int = 1,
    saturated: bool = True,
) -> tuple[np.ndarray, np.ndarray, list[tuple[str, float]]]:
    """The exact posterior over N, averaged over the decomposable graphs (all of them, or with
    ``saturated`` False all but the complete graph).

    Args: as :func:`fit_dga`.

    Returns:
        (grid of N, posterior probabilities on it, every graph's label and posterior weight,
        heaviest first).

    Raises:
        InputError: the table is not a valid capture table.
        ModelError: more than 5 or fewer than 3 lists, or an unknown prior.
    """
    counts = validated_counts(table)
    p, y, n = counts.k, counts.y, counts.n
    if not 3 <= p <= MAX_LISTS:
        raise ModelError(f"dga averages decomposable graphs over 3 to {MAX_LISTS} lists; this table has {p}")
    if prior not in ("1/N", "uniform"):
        raise ModelError(f"prior {prior!r}: use '1/N' or 'uniform'")
    delta = 2.0**-p if delta is None else float(delta)
    if delta <= 0:
        raise ModelError(f"delta={delta}: the hyper-Dirichlet prior needs delta > 0")
    top = 15 * n if n_missing_max is None else int(n_missing_max)
    if not 0 <= n_missing_min < top:
        raise ModelError(f"n_missing_min={n_missing_min}: the grid of the number never recorded runs from "
                         f"0 or more to below n_missing_max ({top})")
    grid = np.arange(n_missing_min, top + 1, dtype=float)
    big_n = n + grid

    signs = _graph_signs(p, saturated)
    keep, lo, hi, made = _support(y, p, delta, grid, prior, signs)
    terms, common_live = made if made is not None else _grid_terms(y, p, delta, grid[lo:hi], prior)
    ref = -np.inf
    acc = np.zeros(hi - lo)
    graph_logw = np.full(signs.shape[0], -np.inf)
    for start in range(0, keep.size, CHUNK):
        rows = keep[start:start + CHUNK]
        block = _by_graph(signs[rows], terms) + common_live
        peak = block.max()
        if peak > ref:
            acc *= np.exp(ref - peak) if np.isfinite(ref) else 0.0
            ref = peak
        weights = np.exp(block - ref)
        acc += weights.sum(axis=0)
        with np.errstate(divide="ignore"):
            graph_logw[rows] = np.log(weights.sum(axis=1)) + ref
    post = np.zeros(grid.size)
    post[lo:hi] = acc
    post /= post.sum()
    gw = np.exp(graph_logw - graph_logw.max())
    gw /= gw.sum()
    labels = _graph_labels(p, saturated)
    order = np.argsort(-gw)
    ranked = [(labels[i], float(gw[i])) for i in order]
    return big_n, post, ranked


def _quantile(grid: np.ndarray, post: np.ndarray, q: float) -> float:
    cdf = np.cumsum(post)
    return float(grid[min(int(np.searchsorted(cdf, q - 1e-12)), grid.size - 1)])


def _modes(grid: np.ndarray, post: np.ndarray) -> list[float]:
    """Separate peaks of the posterior, each at least 5% of the highest, with a real dip between."""
    inner = np.flatnonzero((post[1:-1] > post[:-2]) & (post[1:-1] >= post[2:])) + 1
    if post.size > 1 and post[0] > post[1]:
        inner = np.concatenate([[0], inner])
    peaks = [int(i) for i in inner[post[inner] >= 0.05 * post.max()]]
    kept: list[int] = []
    for i in peaks:
        if kept and post[kept[-1]:i + 1].min() > 0.9 * min(post[kept[-1]], post[i]):
            if post[i] > post[kept[-1]]:
                kept[-1] = i
            continue
        kept.append(i)
    return [float(grid[i]) for i in kept]


def fit_dga(
    table: pd.DataFrame | CountedTable,
    *,
    delta: float | None = None,
    prior: str = "1/N",
    n_missing_max: int | None = None,
    seed: int = 0,
    level: float = 0.95,
    n_missing_min: int = 1,
    saturated: bool = True,
) -> EstimateResult:
    """Estimate N by averaging over decomposable graphical models (Madigan and York 1997).

    Args:
        table: capture table of 3 to 5 lists (one 0/1 column per list, ``count``), or the counts of one
            (:func:`undercount.estimate.histories.count_table` with ``check``; ``valid`` must be True).
        delta: hyper-Dirichlet prior count per cell of the full table; default 2^-K for K lists
            (one prior person spread over the table, as in the reference runs of R's dga).
        prior: prior on N, '1/N' (dga's default) or 'uniform'.
        n_missing_max: largest number never recorded on the grid (default 15 times n).
        seed: seed for the draws sampled from the posterior.
        n_missing_min: smallest number never recorded on the grid: 1, as R's dga (its
            ``Nmissing = 1:(15 n)``); 0 lets the posterior say that no one was missed, which on small
            tables holds much of the mass (CARE1's hepatitis table: 33%, median 291 instead of 379).
        level: credible-interval level (equal-tailed).
        saturated: average over the complete graph too (R's dga does). Under it, the saturated
            model, N is not identified: the count never recorded is only bounded by the prior and
            the grid. With three lists it is also the only graph that holds all three pairwise
            interactions, so a table that needs them (log-linear ``[12,13,23]``, which no decomposable
            graph expresses) puts its weight there and the interval becomes the prior's
            (docs/estimation.md, "dga's complete graph"). False leaves it out.

    Returns:
        An :class:`EstimateResult`: posterior median, mean and interval computed exactly on the
        grid; ``draws`` sampled from the posterior; ``details`` with the heaviest graphs and
        their posterior weights, and the posterior's modes.

    Raises:
        InputError: the table is not a valid capture table.
        ModelError: more than 5 or fewer than 3 lists, delta <= 0, or an unknown prior.

    Example:
        >>> t = pd.DataFrame({"A": [1, 0, 0, 1], "B": [0, 1, 0, 1], "C": [0, 0, 1, 1],
        ...                   "count": [60, 50, 40, 20]})
        >>> fit_dga(t).method
        'dga'
    """
    counts = validated_counts(table)
    grid, post, ranked = dga_posterior(counts, delta=delta, n_missing_max=n_missing_max, prior=prior,
                                       n_missing_min=n_missing_min, saturated=saturated)
    documented = int(grid[0]) - n_missing_min
    p = counts.k
    delta_used = 2.0**-p if delta is None else float(delta)
    tail = (1.0 - level) / 2.0
    median = _quantile(grid, post, 0.5)
    lower = _quantile(grid, post, tail)
    upper: float | None = _quantile(grid, post, 1.0 - tail)
    mean = float((grid * post).sum())
    notes: list[str] = []
    edge = post[grid >= grid[0] + 0.9 * (grid[-1] - grid[0])].sum()
    if edge > 0.005 or upper == grid[-1]:
        upper = None
        notes.append(
            f"the data do not bound N: {edge:.1%} of the posterior lies in the top tenth of the grid "
            f"(up to {grid[-1]:,.0f}); no finite upper limit is given"
        )
    modes = _modes(grid, post)
    if len(modes) > 1:
        notes.append(
            "the posterior has several modes (near " + ", ".join(f"{m:,.0f}" for m in modes)
            + "): the graphs disagree about list dependence and no single number is reliable"
        )
    rng = np.random.default_rng(seed)
    draws = rng.choice(grid, size=DRAWS, p=post)
    details = {
        "delta": delta_used,
        "prior": prior,
        "n_missing_min": n_missing_min,
        "saturated": saturated,
        "n_missing_max": int(grid[-1]) - documented,
        "graphs": [{"model": label, "weight": w} for label, w in ranked[:TOP_GRAPHS]],
        "n_graphs": len(ranked),
        "modes": modes,
    }
    return EstimateResult(
        method="dga",
        documented=documented,
        estimate=median,
        lower=lower,
        upper=upper,
        level=level,
        model=ranked[0][0],
        mean=mean,
        warnings=tuple(notes),
        details=details,
        draws=draws.astype(float),
    )


@dataclass(frozen=True)
class DgaOptions:
    """Options of dga (see :func:`fit_dga`).

    Attributes:
        delta: hyper-Dirichlet prior count per cell (None: 2^-K).
        prior: the prior on N, '1/N' or 'uniform'.
        n_missing_max: the largest number never recorded on the grid (None: 15 times n).
        n_missing_min: the smallest number never recorded on the grid (1, as R's dga; 0 allows none).
        saturated: average over the complete graph (the saturated model, N not identified) too, as R's dga.
    """

    delta: float | None = None
    prior: Literal["1/N", "uniform"] = "1/N"
    n_missing_max: int | None = None
    n_missing_min: int = 1
    saturated: bool = True

    def __post_init__(self) -> None:
        if self.delta is not None and self.delta <= 0:
            raise ConfigError(f"dga option delta={self.delta}: must be above 0")
        if self.prior not in ("1/N", "uniform"):
            raise ConfigError(f"dga option prior={self.prior!r}: use '1/N' or 'uniform'")
        if self.n_missing_max is not None and self.n_missing_max < 1:
            raise ConfigError(f"dga option n_missing_max={self.n_missing_max}: must be 1 or more")
        if self.n_missing_min < 0:
            raise ConfigError(f"dga option n_missing_min={self.n_missing_min}: must be 0 or more")


def _fit(table: pd.DataFrame, level: float, seed: int, options: DgaOptions) -> EstimateResult:
    return fit_dga(table, delta=options.delta, prior=options.prior, n_missing_max=options.n_missing_max,
                   n_missing_min=options.n_missing_min, seed=seed, level=level, saturated=options.saturated)


ESTIMATOR = Estimator(
    name="dga",
    display_name="dga (decomposable graphs)",
    description="Bayesian model averaging over decomposable graphical models (Madigan and York 1997)",
    help="3 to 5 lists; averages decomposable graphical log-linear models (Madigan and York 1997)",
    options_type=DgaOptions,
    fit_function=_fit,
    min_lists=3,
    max_lists=MAX_LISTS,
    in_range=True,
)
