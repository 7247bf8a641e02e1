"""Speed of the Bayesian estimators against R's figures (../shared/reference/README.md).

LCMCR: seconds per 1,000 Gibbs iterations of one chain, and the wall time per 1,000 iterations of
four chains run together, on Kosovo and on simulated 5-, 10- and 15-list tables shaped like the
reference ones (same n and number of observed cells). dga: seconds to fit 4 and 5 lists.

Targets: never slower per iteration than R's LCMCR; at least 3 times faster on the 10- and 15-list
tables; four chains in less wall time than R takes for one.

Run: .venv/bin/python bench/mse_speed.py [--tables kosovo,5,10,15] [--repeat N] [--no-dga]
(--help lists the options). Other jobs on the machine inflate wall times: the load average is
printed, and --repeat keeps the fastest of N timings of each figure.
"""

from __future__ import annotations

import argparse
import os
import time
import warnings
from pathlib import Path

import numpy as np
import pandas as pd

from undercount.errors import ConvergenceWarning
from undercount.estimate.dga import fit_dga
from undercount.estimate.histories import validate_table
from undercount.estimate.lcmcr import _run_chains

REF = Path(__file__).resolve().parents[1] / "tests" / "reference"
CLASSES = 8

# (key, name, lists, n, observed cells, R's seconds per 1,000 iterations, iterations to time)
LCMCR_CASES = [
    ("kosovo", "Kosovo", 4, 4_400, 15, 0.011, 20_000),
    ("5", "5 lists", 5, 34_309, 31, 0.052, 20_000),
    ("10", "10 lists", 10, 43_220, 1_017, 0.53, 4_000),
    ("15", "15 lists", 15, 190_262, 26_601, 10.1, 400),
]


def simulated_table(lists: int, n: int, cells: int, seed: int = 0) -> pd.DataFrame:
    """A table from an eight-class latent-class population with about ``n`` people and ``cells`` patterns.

    The capture probabilities are scaled until the number of observed patterns reaches ``cells``.
    """
    best: tuple[np.ndarray, np.ndarray] | None = None
    for scale in np.arange(0.3, 2.0, 0.02):
        rng = np.random.default_rng(seed)
        weights = rng.dirichlet(np.full(CLASSES, 2.0))
        probs = np.clip(rng.uniform(0.02, 0.6, size=(CLASSES, lists)) * scale, 0.0, 0.95)
        seen = (weights * (1.0 - np.prod(1.0 - probs, axis=1))).sum()
        people = int(n / seen)
        cls = rng.choice(CLASSES, size=people, p=weights)
        caught = rng.random((people, lists)) < probs[cls]
        codes = (caught.astype(np.int64) << np.arange(lists)).sum(axis=1)
        uniq, counts = np.unique(codes[codes > 0], return_counts=True)
        if best is None or abs(uniq.size - cells) < abs(best[0].size - cells):
            best = (uniq, counts)
        if uniq.size >= min(cells, 2**lists - 1):
            break
    assert best is not None
    uniq, counts = best
    pats = (uniq[:, None] >> np.arange(lists)) & 1
    table = pd.DataFrame(pats.astype(np.int8), columns=[f"L{j + 1}" for j in range(lists)])
    table["count"] = counts
    return table


def lcmcr_seconds(table: pd.DataFrame, iterations: int, chains: int, repeat: int = 1) -> tuple[float, float]:
    """Wall and CPU seconds per 1,000 iterations of ``chains`` chains run together.

    Two runs of different lengths are timed and differenced, so the fixed costs (table checks,
    warm-up, thread start) do not count. CPU seconds are summed over the threads; on a shared,
    busy machine they are the steadier figure (on an idle machine with two cores, four chains take
    about half their CPU time in wall time). With ``repeat`` > 1 the fastest of the repeats is
    kept (wall and CPU separately).
    """
    clean = validate_table(table)

    def timed(iters: int) -> tuple[float, float]:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ConvergenceWarning)
            wall, cpu = time.perf_counter(), time.process_time()
            _run_chains(clean, 10, 0.25, 0.25, chains, iters, 0, max(1, iters // 100), 1, None)
            return time.perf_counter() - wall, time.process_time() - cpu

    short = max(100, iterations // 10)
    walls, cpus = [], []
    for _ in range(max(1, repeat)):
        long_wall, long_cpu = timed(iterations + short)
        short_wall, short_cpu = timed(short)
        walls.append((long_wall - short_wall) / iterations * 1000.0)
        cpus.append((long_cpu - short_cpu) / iterations * 1000.0)
    return min(walls), min(cpus)


def bench_lcmcr(keys: list[str], repeat: int) -> None:
    """Print LCMCR timings next to R's for the tables named in ``keys``."""
    warm = pd.read_csv(REF / "kosovo_1999.csv")
    lcmcr_seconds(warm, 100, 1)
    cores = os.cpu_count() or 1
    print(f"machine: {cores} cores, load average {os.getloadavg()[0]:.1f} (figures are inflated when busy)")
    print("LCMCR, K=10: seconds per 1,000 iterations (R: one chain on one core)")
    print(f"{'table':<10} {'n':>8} {'cells':>6} {'R':>7} | {'1 chain wall':>12} {'cpu':>7} {'R/cpu':>6} | "
          f"{'4 chains wall':>13} {'cpu/' + str(min(cores, 4)):>7} {'R/that':>6}")
    for key, name, lists, n, cells, r_sec, iters in LCMCR_CASES:
        if key not in keys:
            continue
        table = warm if key == "kosovo" else simulated_table(lists, n, cells)
        one_wall, one_cpu = lcmcr_seconds(table, iters, 1, repeat)
        four_wall, four_cpu = lcmcr_seconds(table, iters, 4, repeat)
        four_idle = four_cpu / min(cores, 4)
        print(f"{name:<10} {int(table['count'].sum()):>8,} {len(table):>6,} {r_sec:>7.3f} | {one_wall:>12.4f} "
              f"{one_cpu:>7.4f} {r_sec / one_cpu:>5.1f}x | {four_wall:>13.4f} {four_idle:>7.4f} "
              f"{r_sec / four_idle:>5.1f}x")
    print(f"load average at the end: {os.getloadavg()[0]:.1f}")


def bench_dga() -> None:
    """Print dga timings (4 lists: Kosovo; 5 lists: UK 2013 and a simulated table)."""
    print("dga: seconds per fit (grid 0..15n, all decomposable graphs)")
    cases = [("Kosovo (4 lists)", pd.read_csv(REF / "kosovo_1999.csv")),
             ("UK 2013 (5 lists)", pd.read_csv(REF / "sparsemse_UKdat_5.csv")),
             ("simulated 5 lists", simulated_table(5, 34_309, 31))]
    fit_dga(cases[0][1])
    for name, table in cases:
        start = time.perf_counter()
        fit_dga(table)
        print(f"{name:<20} n={int(table['count'].sum()):>7,} {time.perf_counter() - start:7.2f} s")


def main() -> None:
    """Parse the options and run the benchmarks."""
    parser = argparse.ArgumentParser(description="Speed of LCMCR and dga against R's figures.")
    parser.add_argument("--tables", default="kosovo,5,10,15",
                        help="comma-separated LCMCR tables: kosovo, 5, 10, 15 (default: all)")
    parser.add_argument("--repeat", type=int, default=1, help="keep the fastest of N timings of each figure")
    parser.add_argument("--no-dga", action="store_true", help="skip the dga timings")
    args = parser.parse_args()
    keys = [k.strip() for k in args.tables.split(",") if k.strip()]
    unknown = sorted(set(keys) - {case[0] for case in LCMCR_CASES})
    if unknown:
        parser.error(f"unknown tables: {', '.join(unknown)}")
    bench_lcmcr(keys, args.repeat)
    if not args.no_dga:
        bench_dga()


if __name__ == "__main__":
    main()
