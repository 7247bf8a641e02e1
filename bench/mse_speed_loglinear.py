"""Speed of the log-linear model search (all hierarchical models with at most two-way terms).

Times ``search_models`` on the 5-list UK table (1,024 models), the 6-list UK and Netherlands tables
(32,768 models each) and a simulated 6-list table of 60,000 people, then one profile-likelihood fit
and the whole ``method='loglinear'`` call (search, profile interval, warnings).

Target: the 6-list search in under 30 s (R's Rcapture closedpMS.t takes 267 s).

Run: .venv/bin/python bench/mse_speed_loglinear.py
"""

from __future__ import annotations

import os
import time
from pathlib import Path

import numpy as np
import pandas as pd

from undercount.estimate.auto import estimate_table
from undercount.estimate.histories import capture_table, read_table
from undercount.estimate.loglinear import search_models

REF = Path(__file__).resolve().parents[1] / "tests" / "reference"
SHARED = Path(__file__).resolve().parents[2] / "shared" / "reference"
TARGET_SECONDS = 30.0


def _table(name: str) -> pd.DataFrame | None:
    for folder in (REF, SHARED):
        if (folder / name).is_file():
            return read_table(folder / name)
    return None


def simulated_six(n: int = 60_000, seed: int = 0) -> pd.DataFrame:
    """Six lists, heterogeneous capture, about ``n`` people."""
    rng = np.random.default_rng(seed)
    logit = rng.normal(-1.2, 0.5, size=6)[None, :] + rng.normal(0, 1, size=(n, 1))
    caught = rng.random((n, 6)) < 1 / (1 + np.exp(-logit))
    return capture_table(pd.DataFrame(caught.astype(np.int8), columns=[f"L{j + 1}" for j in range(6)]))


def main() -> None:
    search_models(_table("kosovo_1999.csv") if _table("kosovo_1999.csv") is not None else simulated_six(2000))
    cases = [
        ("UKdat_5 (5 lists)", _table("sparsemse_UKdat_5.csv")),
        ("UKdat (6 lists)", _table("sparsemse_UKdat.csv")),
        ("Ned (6 lists)", _table("sparsemse_Ned.csv")),
        ("simulated 6 lists, 60k", simulated_six()),
    ]
    print(f"{'table':<26} {'models':>7} {'search s':>9} {'cpu s':>7} {'loglinear s':>12}  best model (BIC), estimate")
    worst = 0.0
    for name, table in cases:
        if table is None:
            print(f"{name:<26} (table not available)")
            continue
        start, cpu = time.perf_counter(), time.process_time()
        ranked = search_models(table)
        search, cpu = time.perf_counter() - start, time.process_time() - cpu
        start = time.perf_counter()
        res = estimate_table(table, method="loglinear")
        whole = time.perf_counter() - start
        k = table.shape[1] - 1
        if k == 6:
            worst = max(worst, search)
        print(f"{name:<26} {len(ranked):>7,} {search:>9.2f} {cpu:>7.2f} {whole:>12.2f}  {res.model}, {res.estimate:,.0f}")
    print(f"load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores")
    print(f"\n6-list search: {worst:.1f} s (target < {TARGET_SECONDS:.0f} s; R's closedpMS.t 267 s): "
          f"{'met' if worst < TARGET_SECONDS else 'NOT met'}")


if __name__ == "__main__":
    main()
