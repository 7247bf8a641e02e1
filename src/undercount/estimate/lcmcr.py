"""Bayesian non-parametric latent-class capture-recapture (LCMCR), several chains at once.

Assumptions (Manrique-Vallier 2016, "Bayesian population size estimation using Dirichlet
process mixtures", Biometrics 72:1246-1254): the population is closed; people differ in how
listable they are, and that heterogeneity is captured by a mixture of latent classes (a
truncated Dirichlet process, K classes at most) within which the lists record people
independently. The prior on N is proportional to 1/N. This is the model of the R package LCMCR
and of HRDAG's published estimates; the sampler is in :mod:`undercount.estimate.lcmcr_sampler`.

Several chains run in parallel from different seeds. Their agreement is checked (R-hat, bulk
effective sample size, per-chain medians): chains that settle in different modes are reported
as such, with the interval widened to cover every chain, never as one confident number.
"""

from __future__ import annotations

import contextlib
import contextvars
import dataclasses
import os
import threading
import time
import warnings
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

import numpy as np
import pandas as pd

from undercount.errors import ConfigError, ConvergenceWarning, ModelError
from undercount.estimate import _rng
from undercount.estimate.cputime import charged, cpu_meter
from undercount.estimate.diagnostics import ESS_MIN, RHAT_TARGET, chain_summaries, chains_disagree, ess_bulk, rhat
from undercount.estimate.histories import validate_table
from undercount.estimate.lcmcr_sampler import Chain, ChainState, block_cells, run_chain
from undercount.estimate.registry import Convergence, Estimator
from undercount.estimate.results import EstimateResult

__all__ = ["ESTIMATOR", "LcmcrOptions", "adaptive_warm_starts", "continued_chains", "convergence_warning", "fit_lcmcr",
           "sample_lcmcr", "warm_starts"]

CAP_SHARE = 0.01
CHAIN_THREADS = 64  # most chains running at once in the process (threads are started only as needed)

_POOL: ThreadPoolExecutor | None = None
_POOL_LOCK = threading.Lock()


def _after_fork() -> None:
    """A forked child has none of its parent's threads: its first fit starts a pool of its own."""
    global _POOL, _POOL_LOCK
    _POOL, _POOL_LOCK = None, threading.Lock()


os.register_at_fork(after_in_child=_after_fork)


def _chain_pool() -> ThreadPoolExecutor:
    """The process's threads for chains, kept from fit to fit.

    A case estimate makes about a thousand short fits (each replicate of each stratum); a pool
    started for each spent about 4% of the run's samples starting threads (speed's py-spy of the
    small preset, session 14). Chains are leaf tasks (they submit nothing), so fits in several
    threads may share the pool without waiting on each other's tasks.
    """
    global _POOL
    with _POOL_LOCK:
        if _POOL is None:
            _POOL = ThreadPoolExecutor(max_workers=CHAIN_THREADS, thread_name_prefix="lcmcr")
        return _POOL


def _check_options(K: int, chains: int, iterations: int, burnin: int, thinning: int) -> None:
    if K < 2:
        raise ModelError(f"K={K}: LCMCR needs at least 2 latent classes")
    if chains < 1:
        raise ModelError(f"chains={chains}: at least one chain is needed")
    if burnin < 0 or thinning < 1:
        raise ModelError(f"burnin={burnin}, thinning={thinning}: burnin must be >= 0 and thinning >= 1")
    if iterations // thinning < 8:
        raise ModelError(
            f"iterations={iterations} with thinning={thinning} keeps fewer than 8 draws per chain"
        )


WARM_BURNIN = 200  # iterations discarded by a chain warm-started from a neighbouring table's chain
_WARM: contextvars.ContextVar[dict[tuple[object, ...], list[ChainState]] | None] = contextvars.ContextVar(
    "lcmcr_warm_starts", default=None)


@contextlib.contextmanager
def warm_starts() -> Iterator[None]:
    """Within the block (in this thread), runs of fixed length on tables of the same lists start warm.

    The first such run starts cold (warm-up and burn-in); each later run with the same lists, K,
    priors, number of chains and joint move starts its chains where the run before it left them,
    chain by chain, on its own table and with its own generators, and discards only
    ``WARM_BURNIN`` iterations instead of the burn-in. For the replicates of one stratum (linkage
    draws and imputations: tables that differ by a few people) the first run is the best
    linkage's, whose converged chains stand where the others' posteriors are, and chain ``c`` of
    the replicates is one chain run on from table to table: exactly what the pooled R-hat of the
    stratum (:func:`undercount.estimate.diagnostics.grouped_rhat`, which joins chain ``c`` of every
    replicate end to end) judges. Had every replicate started from the first run's states, the
    slow parts of those two or four states (the latent classes) would recur in every replicate:
    chain 1 stood above chain 0 in 15 of 20 replicates of a small-preset stratum, the pooled
    R-hat read 1.025 and the stratum ran two more passes to forget its start.
    """
    token = _WARM.set({})
    try:
        yield
    finally:
        _WARM.reset(token)


_WARM_ADAPTIVE: contextvars.ContextVar[dict[tuple[object, ...], list[ChainState]] | None] = contextvars.ContextVar(
    "lcmcr_adaptive_warm_starts", default=None)


@contextlib.contextmanager
def adaptive_warm_starts() -> Iterator[None]:
    """Within the block (in this thread), runs until convergence on tables of the same lists start warm.

    As :func:`warm_starts` for runs of fixed length: the first run starts cold and leaves its
    chains' final states; each later run with the same lists, K, priors and number of chains
    starts its chains there and discards ``WARM_BURNIN`` iterations instead of the burn-in, then
    runs round by round until its own chains meet the targets. For the fits of one population
    without strata (the range across models, the linkage at other thresholds: tables that differ
    by a few dozen people) this saves most of each later run's burn-in.
    """
    token = _WARM_ADAPTIVE.set({})
    try:
        yield
    finally:
        _WARM_ADAPTIVE.reset(token)


def _run_chains(
    clean: pd.DataFrame, K: int, a_alpha: float, b_alpha: float, chains: int, iterations: int,
    burnin: int, thinning: int, seed: int, max_n: int | None, joint: int = 0, hmc: int = 0,
) -> tuple[np.ndarray, np.ndarray, int]:
    """Run the chains on a validated table (see :func:`sample_lcmcr`; ``joint`` and ``hmc`` as
    :class:`LcmcrOptions`; inside :func:`warm_starts` a run may start warm)."""
    _check_options(K, chains, iterations, burnin, thinning)
    patterns = clean.drop(columns="count").to_numpy(dtype=np.int8)
    counts = clean["count"].to_numpy(dtype=np.int64)
    n = int(counts.sum())
    cap = max(1000 * n, 1_000_000) if max_n is None else int(max_n)
    if cap <= n:
        raise ModelError(f"max_n={cap} is not above the {n} people documented")
    cells = block_cells(patterns, counts)
    samples = iterations // thinning
    words = np.random.SeedSequence(seed).generate_state(chains, dtype=np.uint64)
    states = [_rng.new_state(int(w)) for w in words]

    store = _WARM.get()
    key = (tuple(clean.columns), K, float(a_alpha), float(b_alpha), chains, joint, hmc)
    warm = store.get(key) if store is not None else None
    if warm is not None and max(w.n0 for w in warm) > cap - n:
        warm = None
    going = _CONTINUE.get()
    if going is not None:
        where = (tuple(map(str, clean.columns)), clean.to_numpy(dtype=np.int64).tobytes(), K, float(a_alpha),
                 float(b_alpha), chains, burnin, cap, seed)
        saved = going.get(where)
        if saved is not None and iterations > saved.iterations:
            return _continue(saved, iterations, thinning, joint, cap, hmc)
        out = _run_warm(cells, K, a_alpha, b_alpha, cap - n, states, warm, burnin, samples, thinning, joint,
                        store if store is not None else {}, key, hmc)
        going[where] = _Going(out[3], list(out[0]), list(out[1]), samples * thinning, thinning)
        return out[0], out[1], out[2]
    if store is not None or hmc:  # run_chain has no HMC move: resumable chains have
        return _run_warm(cells, K, a_alpha, b_alpha, cap - n, states, warm, burnin, samples, thinning, joint,
                         store if store is not None else {}, key, hmc)[:3]

    def one(state: np.ndarray) -> tuple[np.ndarray, np.ndarray, int]:
        return run_chain(cells.pat_a, cells.pat_b, cells.code_a, cells.code_b, cells.freq,
                         K, float(a_alpha), float(b_alpha), burnin, samples, thinning, cap - n, state, joint)

    # One thread per chain (the kernels release the GIL): with more chains than cores they share
    # the cores evenly and finish together instead of running in rounds.
    workers = min(chains, 4 * (os.cpu_count() or 1))
    if workers == 1:
        results = [one(s) for s in states]
    else:
        results = list(_chain_pool().map(charged(one), states))
    draws_n = np.stack([r[0] for r in results])
    draws_alpha = np.stack([r[1] for r in results])
    return draws_n, draws_alpha, int(sum(r[2] for r in results))


def _run_warm(
    cells: object, K: int, a_alpha: float, b_alpha: float, max_n0: int, states: list[np.ndarray],
    warm: list[ChainState] | None, burnin: int, samples: int, thinning: int, joint: int,
    store: dict[tuple[object, ...], list[ChainState]], key: tuple[object, ...], hmc: int = 0,
) -> tuple[np.ndarray, np.ndarray, int, list[Chain]]:
    """:func:`_run_chains` on resumable chains: warm from ``warm`` (else cold, as run_chain), the
    final states left in ``store`` for the next run; the chains are returned too."""

    def one(i: int) -> tuple[np.ndarray, np.ndarray, int, Chain]:
        if warm is None:
            chain = Chain(cells, K, a_alpha, b_alpha, max_n0, states[i], joint=joint,  # type: ignore[arg-type]
                          hmc=hmc)
            chain.advance(burnin, 1, burnin)
        else:
            chain = Chain(cells, K, a_alpha, b_alpha, max_n0, states[i], joint=joint,  # type: ignore[arg-type]
                          warm=warm[i], hmc=hmc)
            chain.advance(min(burnin, WARM_BURNIN), 1, min(burnin, WARM_BURNIN))
        kept_n, kept_alpha, capped = chain.advance(samples * thinning, thinning)
        return kept_n, kept_alpha, capped, chain

    results = list(_chain_pool().map(charged(one), range(len(states))))
    store[key] = [r[3].export_state() for r in results]  # the next run goes on from here (warm_starts)
    return (np.stack([r[0] for r in results]), np.stack([r[1] for r in results]), int(sum(r[2] for r in results)),
            [r[3] for r in results])


@dataclass
class _Going:
    """Chains of a run of fixed length kept to be continued (:func:`continued_chains`): the chains,
    their kept draws of N and alpha, the iterations run after the burn-in and the thinning."""

    chains: list[Chain]
    kept_n: list[np.ndarray]
    kept_alpha: list[np.ndarray]
    iterations: int
    thinning: int


_CONTINUE: contextvars.ContextVar[dict[tuple[object, ...], _Going] | None] = contextvars.ContextVar(
    "lcmcr_continued_chains", default=None)


@contextlib.contextmanager
def continued_chains() -> Iterator[None]:
    """Within the block (in this thread), a longer run of fixed length on a table run before goes on.

    A run of fixed length on a table (its counts), seed, K, priors, chains and burn-in met before
    in the block, asked for more iterations, continues the earlier run's chains instead of starting
    again: its draws are the earlier ones (thinned to a multiple of the earlier thinning near the
    one asked for) and those of the iterations added, so the result is that of chains as long as
    asked for, and the earlier run's iterations and burn-in are not spent again. A case estimate
    whose pooled replicates fall short of the convergence targets refits them with longer chains
    (:func:`undercount.estimate.case.estimate_case`): inside this block each replicate's chains
    just run on. The joint move is on for the added iterations when the longer run asks for it.
    """
    token = _CONTINUE.set({})
    try:
        yield
    finally:
        _CONTINUE.reset(token)


def _continue(saved: _Going, iterations: int, thinning: int, joint: int, cap: int, hmc: int = 0
              ) -> tuple[np.ndarray, np.ndarray, int]:
    """Run ``saved``'s chains on to ``iterations`` after the burn-in; all their draws, thinned alike."""
    thin = saved.thinning * max(1, round(thinning / saved.thinning))
    factor = thin // saved.thinning
    more = iterations - saved.iterations
    more -= more % thin
    for chain in saved.chains:
        chain.joint = int(joint)
        chain.use_hmc(hmc)

    def advance(chain: Chain) -> tuple[np.ndarray, np.ndarray, int]:
        return chain.advance(more, thin)

    outs = list(_chain_pool().map(charged(advance), saved.chains))
    saved.kept_n = [np.concatenate([a[factor - 1::factor], out[0]]) for a, out in zip(saved.kept_n, outs)]
    saved.kept_alpha = [np.concatenate([a[factor - 1::factor], out[1]]) for a, out in zip(saved.kept_alpha, outs)]
    saved.iterations += more
    saved.thinning = thin
    draws = np.stack(saved.kept_n)
    return draws, np.stack(saved.kept_alpha), int((draws >= cap).sum())


def sample_lcmcr(
    table: pd.DataFrame,
    *,
    K: int = 10,
    a_alpha: float = 0.25,
    b_alpha: float = 0.25,
    chains: int = 4,
    iterations: int = 100_000,
    burnin: int = 10_000,
    thinning: int = 50,
    seed: int = 0,
    max_n: int | None = None,
) -> tuple[np.ndarray, np.ndarray, int]:
    """Run the LCMCR chains and return their raw draws.

    Args: as :func:`fit_lcmcr`.

    Returns:
        (draws of N as a (chains, kept) int array, draws of alpha of the same shape, the number
        of kept draws at which N sat on its cap).

    Raises:
        InputError: the table is not a valid capture table.
        ModelError: impossible sampler options.
    """
    return _run_chains(validate_table(table), K, a_alpha, b_alpha, chains, iterations, burnin,
                       thinning, seed, max_n)


@dataclass(frozen=True)
class Adaptive:
    """How an adaptive run went: rounds, iterations per chain after burn-in, thinning, whether it converged,
    and the moves its chains ran with from the first round (``joint`` None: from the second round if needed)."""

    rounds: int
    iterations: int
    thinning: int
    converged: bool
    rhat: float
    ess: float
    joint: int | None = None
    hmc: int = 0
    burnin: int = 0


MOVES_MAX_LISTS = 5  # auto (hmc=None): the joint and HMC moves from the first round on tables of at most this many lists
MOVES_SHORTER = 10  # with them, an adaptive run's first round is first_round / MOVES_SHORTER (1,000 by default)
MOVES_BURNIN = 50  # and its burn-in burnin / MOVES_BURNIN (200 by default)


def auto_moves(options: LcmcrOptions, lists: int) -> tuple[int | None, int, int, int]:
    """The moves, first round and burn-in of an adaptive run on a table of ``lists`` lists.

    ``hmc=None`` (auto): on tables of at most ``MOVES_MAX_LISTS`` lists the joint and HMC moves run on
    every iteration from the first round, which is then ``MOVES_SHORTER`` times shorter and its burn-in
    ``MOVES_BURNIN`` times shorter (a few hundred iterations with both moves carry hundreds of effective
    draws: docs/estimation.md, sessions 15 and 16); on more lists (a leapfrog step costs the observed
    cells times K times the lists) the chains run plain, the joint move from the second round on if the
    first falls short. A set ``hmc`` runs as asked, the joint move off unless asked for.

    Returns:
        (joint: every how many iterations, or None for auto's switch after the first round; hmc; the first
        round's iterations per chain; the burn-in).

    Example:
        >>> auto_moves(LcmcrOptions(), 3), auto_moves(LcmcrOptions(), 6), auto_moves(LcmcrOptions(hmc=0), 3)
        ((1, 1, 1000, 200), (None, 0, 10000, 10000), (None, 0, 10000, 10000))
    """
    o = options
    if o.hmc is None and lists <= MOVES_MAX_LISTS:
        return (1 if o.joint is None else o.joint, 1, max(8, o.first_round // MOVES_SHORTER),
                o.burnin // MOVES_BURNIN)
    if o.hmc:
        return o.joint or 0, o.hmc, o.first_round, o.burnin
    return o.joint, 0, o.first_round, o.burnin


KEEP = 1000  # an adaptive run keeps KEEP to 2 * KEEP draws per chain
JOINT_COST = 1.7  # an iteration with the joint move costs about this many without (bench/lcmcr_mixing.py, session 15)
STEP = 0.25  # the smallest next round of an adaptive run, as a share of the chains' length so far


def next_round(total: int, r_hat: float, ess: float, options: LcmcrOptions, switch: bool) -> int:
    """Iterations per chain of an adaptive run's next round, after ``total`` fell short of the targets.

    Rounds are checked often, so that a run stops soon after its chains meet the targets instead
    of up to twice as late (as when each round doubled the length). When only the ESS falls short,
    the run grows to where the ESS, which grows with the length, is expected to reach 1.1 times
    its target (at least ``STEP`` and at most once more the length so far); while R-hat falls short
    the length grows by half. The round that switches the joint move on doubles the length (the
    first round's plain chains say little of the joint move's).

    Example:
        >>> o = LcmcrOptions()
        >>> next_round(10_000, 1.2, 50.0, o, True), next_round(40_000, 1.003, 350.0, o, False)
        (10000, 10000)
    """
    if switch:
        return total
    if r_hat > options.rhat_max:
        return max(1, total // 2)
    wanted = 1.1 * options.ess_min / max(ess, 1.0) - 1.0
    return max(1, int(total * min(max(wanted, STEP), 1.0)))


def _run_adaptive(
    clean: pd.DataFrame, options: LcmcrOptions, seed: int,
) -> tuple[np.ndarray, np.ndarray, int, Adaptive]:
    """Run the chains round by round until R-hat and bulk ESS meet their targets or time runs out.

    After the warm-up and the burn-in, a first round of ``first_round`` iterations per chain; then
    more rounds (the same chains continue; their length grows by :func:`next_round`: by a quarter
    to a half, or to where the ESS is expected to meet its target) while the diagnostics fall
    short and the next round is expected to end within ``time_budget`` CPU seconds of the start
    (all chains together, :mod:`undercount.estimate.cputime`: load does not cut the work) and
    within ``WALL_CAP`` times as many seconds of wall time. The thinning grows with the length,
    so every chain keeps about 1,000-2,000 equally spaced draws.
    """
    o = options
    patterns = clean.drop(columns="count").to_numpy(dtype=np.int8)
    counts = clean["count"].to_numpy(dtype=np.int64)
    n = int(counts.sum())
    cap = max(1000 * n, 1_000_000) if o.max_n is None else int(o.max_n)
    if cap <= n:
        raise ModelError(f"max_n={cap} is not above the {n} people documented")
    start = time.perf_counter()
    cells = block_cells(patterns, counts)
    words = np.random.SeedSequence(seed).generate_state(o.chains, dtype=np.uint64)
    joint, hmc, first_round, burnin = auto_moves(o, patterns.shape[1])
    store = _WARM_ADAPTIVE.get()
    key = (tuple(clean.columns), o.K, float(o.a_alpha), float(o.b_alpha), o.chains, hmc)
    warm = store.get(key) if store is not None else None
    if warm is not None and max(w.n0 for w in warm) > cap - n:
        warm = None

    def start_chain(i: int) -> Chain:
        state = _rng.new_state(int(words[i]))
        if warm is None:
            chain = Chain(cells, o.K, o.a_alpha, o.b_alpha, cap - n, state, joint=joint or 0, hmc=hmc)
            chain.advance(burnin, 1, burnin)
        else:  # where a neighbouring table's converged chain stands: a short burn-in; with the joint move
            # from the start when that chain needed it (auto), instead of a first round that would show it again
            chain = Chain(cells, o.K, o.a_alpha, o.b_alpha, cap - n, state, joint=warm[i].joint if joint is None else joint,
                          warm=warm[i], hmc=hmc)
            chain.advance(min(burnin, WARM_BURNIN), 1, min(burnin, WARM_BURNIN))
        return chain

    def advance(chain: Chain, length: int, thin: int) -> tuple[np.ndarray, np.ndarray, int]:
        return chain.advance(length, thin)

    pool = _chain_pool()
    with cpu_meter() as meter:
        chains = list(pool.map(charged(start_chain), range(o.chains)))
        length, thin = first_round, max(1, first_round // KEEP)
        kept_n: list[np.ndarray] = [np.empty(0, dtype=np.int64)] * o.chains
        kept_alpha: list[np.ndarray] = [np.empty(0)] * o.chains
        capped, total, rounds = 0, 0, 0
        while True:
            began, began_cpu = time.perf_counter(), meter.seconds
            outs = list(pool.map(charged(advance), chains, [length] * o.chains, [thin] * o.chains))
            kept_n = [np.concatenate([a, out[0]]) for a, out in zip(kept_n, outs)]
            kept_alpha = [np.concatenate([a, out[1]]) for a, out in zip(kept_alpha, outs)]
            capped += sum(out[2] for out in outs)
            total, rounds = total + length, rounds + 1
            draws = np.stack(kept_n)
            r_hat, ess = rhat(draws), ess_bulk(draws)
            converged = r_hat <= o.rhat_max and ess >= o.ess_min
            took, took_cpu = time.perf_counter() - began, meter.seconds - began_cpu
            switch = joint is None and rounds == 1 and not chains[0].joint  # auto on plain chains: joint move from round 2
            nxt = next_round(total, r_hat, ess, o, switch)
            grow = nxt / length * (JOINT_COST if switch else 1.0)  # the next round's cost, in this round's
            if converged or out_of_budget(meter.seconds, grow * took_cpu, time.perf_counter() - start, grow * took,
                                          o.time_budget):
                break
            if switch:
                for chain in chains:
                    chain.joint = 1
            factor = -(-(total + nxt) // (2 * KEEP * thin))
            if factor > 1:  # at most 2 * KEEP draws per chain: thin the draws kept so far to the new spacing
                kept_n, kept_alpha = [a[factor - 1::factor] for a in kept_n], [a[factor - 1::factor] for a in kept_alpha]
                thin *= factor
            length = -(-nxt // thin) * thin  # a whole number of the (new) thinning
    if store is not None and warm is None:
        store[key] = [chain.export_state() for chain in chains]
    return (np.stack(kept_n), np.stack(kept_alpha), capped,
            Adaptive(rounds, total, thin, converged, r_hat, ess, joint, hmc, burnin))


WALL_CAP = 5.0  # a run also stops when its next round would end after this many times its budget in wall seconds


def out_of_budget(cpu: float, next_cpu: float, wall: float, next_wall: float, budget: float) -> bool:
    """Whether the next round (or pass) of a run until convergence would overrun its budget.

    Args:
        cpu, wall: CPU seconds (all threads of the run) and wall seconds spent so far.
        next_cpu, next_wall: what the next round is expected to cost.
        budget: the budget in CPU seconds; the wall-time cap is ``WALL_CAP`` times as many seconds.

    Example:
        >>> out_of_budget(100.0, 100.0, 60.0, 60.0, 240.0), out_of_budget(100.0, 200.0, 60.0, 60.0, 240.0)
        (False, True)
    """
    return cpu + next_cpu > budget or wall + next_wall > WALL_CAP * budget


def fit_lcmcr(
    table: pd.DataFrame,
    *,
    K: int = 10,
    a_alpha: float = 0.25,
    b_alpha: float = 0.25,
    chains: int = 4,
    iterations: int | None = None,
    burnin: int = 10_000,
    thinning: int = 50,
    seed: int = 0,
    max_n: int | None = None,
    level: float = 0.95,
    time_budget: float = 240.0,
    rhat_max: float = RHAT_TARGET,
    ess_min: int = ESS_MIN,
    first_round: int = 10_000,
    joint: int | None = None,
    hmc: int | None = None,
) -> EstimateResult:
    """Estimate N with the latent-class model of Manrique-Vallier (2016), several chains in parallel.

    By default the chains run until they have converged (R-hat at most ``rhat_max`` = 1.01 and
    bulk effective sample size at least ``ess_min`` = 400, Vehtari et al. 2021) or until
    ``time_budget`` CPU seconds have been spent; an estimate whose chains did not converge says so and
    is unreliable. With ``iterations`` set the chains run that many iterations after the burn-in,
    thinned by ``thinning``: ``iterations=100_000`` with the other defaults is R's reference run
    (K=10, alpha ~ Gamma(0.25, 0.25), 10,000 burn-in iterations then 2,000 draws thinned by 50,
    after a 500-iteration warm-up).

    Args:
        table: capture table (one 0/1 column per list, ``count``).
        K: the truncation level (most latent classes).
        a_alpha, b_alpha: shape and rate of the Gamma prior on the stick-breaking concentration.
        chains: independent chains (at least 2 for between-chain diagnostics).
        iterations: iterations per chain after burn-in (None: until converged or out of time).
        burnin: iterations discarded per chain after the warm-up.
        thinning: keep one iteration in this many (fixed-length runs; adaptive runs keep about
            1,000-2,000 draws per chain).
        seed: seed of all chains (each chain gets its own stream from it).
        max_n: cap on N (default 1,000 times the documented count, at least 1,000,000); when
            the chains press against it the data do not bound N and no upper limit is given.
        level: credible-interval level (equal-tailed).
        time_budget: CPU seconds an adaptive run may take, all chains together (warm-up and burn-in
            included); it also stops after ``WALL_CAP`` times as many seconds of wall time.
        rhat_max, ess_min: the convergence targets.
        first_round: iterations per chain of an adaptive run's first round.
        joint: the sampler's joint update of each class's never-recorded count with its lambdas
            and the weights integrated out (:func:`undercount.estimate.lcmcr_sampler._joint_missing`):
            every ``joint``-th iteration, 0 never; None (auto): as ``hmc``'s auto says, else off in runs
            of fixed length.
        hmc: the sampler's Hamiltonian Monte Carlo move of lambda and the class weights with the
            classes and N integrated out (:func:`undercount.estimate.lcmcr_sampler._hmc`) every
            ``hmc``-th iteration, 0 never. It costs a trajectory (tens to hundreds of leapfrog steps over
            the observed cells) per use and mixes N many times better per CPU second on large tables with
            few lists (docs/estimation.md, sessions 15 and 16); set, the joint move stays off unless asked
            for. None (auto, the default): an adaptive run on a table of at most 5 lists uses both moves on
            every iteration from a first round and burn-in 10 and 50 times shorter than ``first_round`` and
            ``burnin`` (:func:`auto_moves`); on more lists plain chains, with the joint move from the
            second round on when the first fell short; runs of fixed length run plain, but for a case's
            pooled replicates (inside :func:`warm_starts`) on at most 5 lists and 1,000 people or more, which
            run both moves with chains a tenth as long (see :func:`_for_replicates`).

    Returns:
        An :class:`EstimateResult` with the posterior median as ``estimate``, the posterior mean,
        the interval, the pooled draws (``chains`` keeps them per chain), and in ``details`` the
        per-chain medians, R-hat, bulk ESS, iterations, rounds, ``converged``, K, seconds and
        ``chains_disagree``.

    Raises:
        InputError: the table is not a valid capture table.
        ModelError: impossible sampler options.

    Example:
        >>> t = pd.DataFrame({"A": [1, 0, 1], "B": [0, 1, 1], "C": [1, 1, 0], "count": [40, 30, 12]})
        >>> fit_lcmcr(t, chains=2, iterations=2000, burnin=500, thinning=5).method
        'lcmcr'
    """
    start = time.perf_counter()
    clean = validate_table(table)
    documented = int(clean["count"].sum())
    adaptive: Adaptive | None = None
    with cpu_meter() as meter:
        if iterations is None:
            _check_options(K, chains, max(first_round, 8 * max(thinning, 1)), burnin, thinning)
            opts = LcmcrOptions(K=K, a_alpha=a_alpha, b_alpha=b_alpha, chains=chains, burnin=burnin, max_n=max_n,
                                time_budget=time_budget, rhat_max=rhat_max, ess_min=ess_min, first_round=first_round,
                                joint=joint, hmc=hmc)
            draws, alphas, n_capped, adaptive = _run_adaptive(clean, opts, seed)
            iterations, thinning = adaptive.iterations, adaptive.thinning
            joint, hmc, burnin = adaptive.joint, adaptive.hmc, adaptive.burnin
        else:
            if hmc is None and _WARM.get() is not None and clean.shape[1] - 1 <= MOVES_MAX_LISTS and \
                    documented >= MOVES_MIN_PEOPLE:  # auto in a case's pooled replicates: the moves, a tenth as long
                iterations, burnin = max(MOVES_LENGTH, iterations // MOVES_SHORTER), min(burnin, MOVES_BURNIN_REPLICATE)
                thinning, joint, hmc = max(1, thinning // MOVES_SHORTER), 1 if joint is None else joint, 1
            joint, hmc = joint or 0, hmc or 0  # other runs of fixed length (R's reference runs): as asked, plain by default
            draws, alphas, n_capped = _run_chains(clean, K, a_alpha, b_alpha, chains, iterations, burnin,
                                                  thinning, seed, max_n, joint, hmc)
        cpu_seconds = meter.seconds
    seconds = time.perf_counter() - start
    tail = (1.0 - level) / 2.0
    pooled = draws.reshape(-1)
    lower, median, upper = (float(v) for v in np.quantile(pooled, [tail, 0.5, 1.0 - tail]))
    per_chain = chain_summaries(draws, level=level)
    r_hat = rhat(draws)
    ess = ess_bulk(draws)
    converged = r_hat <= rhat_max and ess >= ess_min
    notes: list[str] = []
    if not converged:
        notes.append(convergence_warning(r_hat, ess, rhat_max=rhat_max, ess_min=ess_min,
                                         budget=time_budget if adaptive is not None else None,
                                         iterations=iterations, seconds=cpu_seconds))
    disagree = chains > 1 and chains_disagree(per_chain, r_hat=r_hat)
    if disagree:
        medians = ", ".join(f"{c['median']:,.0f}" for c in per_chain)
        lower = min(lower, min(c["lower"] for c in per_chain))
        upper = max(upper, max(c["upper"] for c in per_chain))
        notes.append(
            f"chains disagree: the chains settled on different answers (medians {medians}); the "
            "posterior has several modes or mixes too slowly, so no single number is reliable and "
            "the interval is widened to cover every chain"
        )
    capped_share = n_capped / pooled.size
    upper_out: float | None = upper
    if capped_share > CAP_SHARE:
        upper_out = None
        notes.append(
            f"the data do not bound N: {capped_share:.0%} of the draws reached the cap on N "
            "(max_n); no finite upper limit is given"
        )
    for note in notes:
        if note.startswith(("ConvergenceWarning", "chains disagree")):
            warnings.warn(note, ConvergenceWarning, stacklevel=2)
    details = {
        "chain_medians": [c["median"] for c in per_chain],
        "chain_intervals": [[c["lower"], c["upper"]] for c in per_chain],
        "rhat": r_hat,
        "ess_bulk": ess,
        "converged": bool(converged),
        "rhat_max": rhat_max,
        "ess_min": ess_min,
        "chains_disagree": bool(disagree),
        "chains": chains,
        "iterations": 500 + burnin + iterations,
        "burnin": burnin,
        "thinning": thinning,
        "draws_per_chain": int(draws.shape[1]),
        "adaptive": adaptive is not None,
        "rounds": adaptive.rounds if adaptive is not None else 1,
        "joint": joint,
        "hmc": hmc,
        "time_budget": time_budget if adaptive is not None else None,
        "K": K,
        "a_alpha": a_alpha,
        "b_alpha": b_alpha,
        "alpha_median": float(np.median(alphas)),
        "seconds": seconds,
        "cpu_seconds": cpu_seconds,
        "seed": seed,
    }
    return EstimateResult(
        method="lcmcr",
        documented=documented,
        estimate=median,
        lower=lower,
        upper=upper_out,
        level=level,
        model=f"K={K}",
        mean=float(pooled.mean()),
        warnings=tuple(notes),
        details=details,
        draws=pooled.astype(float),
        chains=draws.astype(float),
    )


def convergence_warning(r_hat: float, ess: float, *, rhat_max: float = RHAT_TARGET, ess_min: float = ESS_MIN,
                        budget: float | None = None, iterations: int | None = None,
                        seconds: float | None = None) -> str:
    """The warning of chains that fell short of the convergence targets, saying which target and what to do."""
    short = []
    if r_hat > rhat_max:
        short.append(f"the chains have not mixed (R-hat {r_hat:.3f}, target {rhat_max})")
    if ess < ess_min:
        short.append(f"too few effective draws for reliable interval ends (bulk ESS {ess:.0f}, target {ess_min:.0f})")
    ran = f" after {iterations:,} iterations per chain" if iterations else ""
    ran += f" in {seconds:.0f} CPU seconds" if seconds is not None and budget is not None else ""
    remedy = (f"the time budget ({budget:.0f} CPU seconds) ran out: allow more time (--time-budget) or fix the length "
              "(--iterations)" if budget is not None else "run longer chains (--iterations)")
    return f"ConvergenceWarning: {' and '.join(short)}{ran}; {remedy}. The estimate is unreliable"


@dataclass(frozen=True)
class LcmcrOptions:
    """Options of LCMCR (see :func:`fit_lcmcr`).

    Attributes:
        K: most latent classes.
        a_alpha, b_alpha: the Gamma prior of the stick-breaking concentration.
        chains: chains run in parallel.
        iterations: iterations per chain after burn-in; None (the default) runs until R-hat
            <= ``rhat_max`` and bulk ESS >= ``ess_min`` or ``time_budget`` seconds have passed.
        burnin: iterations discarded per chain after the warm-up.
        thinning: keep one iteration in this many (runs of fixed length).
        max_n: cap on N (None: 1,000 times n, at least 1,000,000).
        time_budget: CPU seconds a run may take, all its chains together (per stratum in a case
            estimate); load slows a run down but does not cut its work. A run also stops after
            ``WALL_CAP`` (5) times as many seconds of wall time.
        rhat_max, ess_min: the convergence targets (1.01 and 400).
        first_round: iterations per chain of the first round of a run until convergence.
        joint: the joint move of the never-recorded counts every ``joint``-th iteration (0:
            never); None (auto): with the HMC move when auto turns it on (:func:`auto_moves`), else from
            the second round (or the second, longer pass of pooled replicates) on, once the first fell
            short of the targets.
        hmc: the HMC move of lambda and the weights every ``hmc``-th iteration (0: never); None (auto):
            both moves from the first round of an adaptive run on at most 5 lists (see :func:`fit_lcmcr`).
    """

    K: int = 10
    a_alpha: float = 0.25
    b_alpha: float = 0.25
    chains: int = 4
    iterations: int | None = None
    burnin: int = 10_000
    thinning: int = 50
    max_n: int | None = None
    time_budget: float = 240.0
    rhat_max: float = RHAT_TARGET
    ess_min: int = ESS_MIN
    first_round: int = 10_000
    joint: int | None = None
    hmc: int | None = None

    def __post_init__(self) -> None:
        length = self.first_round if self.iterations is None else self.iterations
        checks = [(self.K >= 2, "K must be 2 or more"), (self.chains >= 1, "chains must be 1 or more"),
                  (self.burnin >= 0, "burnin must be 0 or more"), (self.thinning >= 1, "thinning must be 1 or more"),
                  (self.a_alpha > 0 and self.b_alpha > 0, "a_alpha and b_alpha must be above 0"),
                  (length // max(self.thinning if self.iterations else 1, 1) >= 8,
                   "iterations / thinning must keep 8 draws or more"),
                  (self.time_budget > 0, "time_budget must be above 0 CPU seconds"),
                  (self.rhat_max > 1.0, "rhat_max must be above 1"), (self.ess_min >= 1, "ess_min must be 1 or more"),
                  (self.joint is None or self.joint >= 0, "joint must be 0 (never), N >= 1 (every N-th iteration) or unset"),
                  (self.hmc is None or self.hmc >= 0, "hmc must be 0 (never), N >= 1 (every N-th iteration) or unset")]
        for ok, text in checks:
            if not ok:
                raise ConfigError(f"LCMCR options: {text}")


# Each of R pooled replicates (imputations, linkage draws) runs two chains of a fixed length; the
# case estimate checks their pooled R-hat and ESS per stratum and doubles the length until the
# stratum converges or its time budget runs out (undercount.estimate.case).
REPLICATE_CHAINS = 2
REPLICATE_BURNIN = 2_000
REPLICATE_LENGTH = 20_000  # iterations per chain, shared out over the replicates (at least 2,000 each)


MOVES_BURNIN_REPLICATE = 200  # with the moves, a replicate's burn-in (a tenth of the plain one) ...
MOVES_LENGTH = 200  # ... and its chains' shortest length (the plain shares divided by MOVES_SHORTER)
MOVES_MIN_PEOPLE = 1_000  # auto (hmc=None) in a case's pooled replicates: the moves on strata of at least this many


def _for_replicates(options: LcmcrOptions, replicates: int) -> LcmcrOptions:
    """Fixed, shorter chains for one of several pooled replicates (adaptive runs only; a set length stays).

    With the HMC move set (``hmc`` N >= 1) the lengths are ``MOVES_SHORTER`` times shorter: an
    iteration with the moves costs 6-25 plain ones and carries far more (docs/estimation.md, session 16);
    the replicates after a stratum's first start warm from the chain before them and keep its tuned step
    size (:func:`warm_starts`), so only the first tunes it. With ``hmc`` unset (auto) the lengths are the
    plain ones, and a fit inside :func:`warm_starts` (a case's pooled replicates) on a table of at most
    ``MOVES_MAX_LISTS`` lists and ``MOVES_MIN_PEOPLE`` people or more runs the joint and HMC moves with its
    lengths divided by ``MOVES_SHORTER`` as above (on the small preset's strata of 47-685 people plain
    replicates converge in one pass and cost a little less; on gaza-like's of 1,230-18,025 the moves took
    one pass each and 3.2 times less CPU: docs/estimation.md, session 16).
    """
    if options.iterations is not None:
        return options
    if options.hmc:
        length = max(MOVES_LENGTH, REPLICATE_LENGTH // MOVES_SHORTER // replicates)
        burnin = min(options.burnin, MOVES_BURNIN_REPLICATE)
    else:
        length = max(2_000, REPLICATE_LENGTH // replicates)
        burnin = min(options.burnin, REPLICATE_BURNIN)
    return dataclasses.replace(options, iterations=length, chains=REPLICATE_CHAINS, burnin=burnin,
                               thinning=max(1, length // 500))


def _extend(options: LcmcrOptions, factor: float) -> LcmcrOptions:
    """Chains ``factor`` times longer (a replicate's fixed length) or a higher ESS target (adaptive)."""
    if options.iterations is None:
        return dataclasses.replace(options, ess_min=int(options.ess_min * factor))
    length = int(options.iterations * factor)
    joint = 1 if options.joint is None else options.joint  # auto: the joint move once the first pass fell short
    return dataclasses.replace(options, iterations=length, thinning=max(1, length // 500), joint=joint)


def _convergence(options: LcmcrOptions) -> Convergence | None:
    """The targets an adaptive run works to (None for a run of fixed length)."""
    if options.iterations is not None:
        return None
    return Convergence(options.rhat_max, options.ess_min, options.time_budget)


_FITTED: dict[tuple[object, ...], EstimateResult] = {}
_FITTED_LOCK = threading.Lock()
FITTED_CACHE_SIZE = 256


def _fit(table: pd.DataFrame, level: float, seed: int, options: LcmcrOptions) -> EstimateResult:
    """fit_lcmcr; outside :func:`warm_starts` a table fitted before in this process with the same seed,
    level and options takes that fit (the chains would repeat it draw for draw), its warnings given again."""
    if _WARM.get() is not None or _WARM_ADAPTIVE.get() is not None or _CONTINUE.get() is not None:
        # a warm start or a continued run depends on the run before it
        return fit_lcmcr(table, seed=seed, level=level, **dataclasses.asdict(options))
    clean = validate_table(table)
    key = (tuple(map(str, clean.columns)), clean.to_numpy(dtype=np.int64).tobytes(), level, seed, options)
    with _FITTED_LOCK:
        hit = _FITTED.get(key)
    if hit is None:
        hit = fit_lcmcr(clean, seed=seed, level=level, **dataclasses.asdict(options))
        with _FITTED_LOCK:
            if len(_FITTED) >= FITTED_CACHE_SIZE:
                _FITTED.clear()
            _FITTED[key] = hit
        return hit
    for note in hit.warnings:
        if note.startswith(("ConvergenceWarning", "chains disagree")):
            warnings.warn(note, ConvergenceWarning, stacklevel=2)
    return hit


ESTIMATOR = Estimator(
    name="lcmcr",
    display_name="LCMCR (latent classes)",
    description="the Bayesian non-parametric latent-class model of Manrique-Vallier (2016)",
    help="3 or more lists; latent classes of catchability (Manrique-Vallier 2016); posterior quantiles",
    options_type=LcmcrOptions,
    fit_function=_fit,
    min_lists=3,
    in_range=True,
    for_replicates=_for_replicates,
    extend=_extend,
    convergence=_convergence,
)
