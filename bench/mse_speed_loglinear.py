"""Speed of the log-linear model search (all hierarchical models with at most two-way terms).

Times ``search_models`` on the 5-list UK table (1,024 models), the 6-list UK and Netherlands tables
(32,768 models each) and a simulated 6-list table of 60,000 people, then one profile-likelihood fit
and the whole ``method='loglinear'`` call (search, profile interval, warnings).

Target: the 6-list search in under 30 s (R's Rcapture closedpMS.t takes 267 s).

With ``--wide`` it times instead the command people run on 10 and 15 lists (issue 14):
``undercount estimate-table TABLE.csv --method loglinear|auto --json`` in a fresh process, on the
simulated 10- and 15-list tables of ``bench/mse_speed.py`` (the n and number of observed cells of
the reference README), with wall and CPU seconds (user + system of the process) and the load.

Run: .venv/bin/python bench/mse_speed_loglinear.py [--wide [--methods loglinear,auto] [--lists 10,15]]
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
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


def wide(methods: list[str], lists: list[int]) -> None:
    """Time 'undercount estimate-table' on the simulated 10- and 15-list tables, one fresh process per run."""
    sys.path.insert(0, str(Path(__file__).resolve().parent))
    from mse_speed import LCMCR_CASES, simulated_table

    shapes = {k: (n, cells) for _, _, k, n, cells, _, _ in LCMCR_CASES}
    print(f"{'lists':>5} {'n':>8} {'cells':>6} {'method':<10} {'wall s':>7} {'cpu s':>7} {'load':>5}  estimate (interval), model")
    with tempfile.TemporaryDirectory() as tmp:
        for k in lists:
            n, cells = shapes[k]
            table = simulated_table(k, n, cells)
            path = Path(tmp) / f"lists{k}.csv"
            table.to_csv(path, index=False)
            for method in methods:
                before = resource.getrusage(resource.RUSAGE_CHILDREN)
                start = time.perf_counter()
                out = subprocess.run([sys.executable, "-m", "undercount", "estimate-table", str(path), "--method", method,
                                      "--json"], capture_output=True, text=True, check=False)
                wall = time.perf_counter() - start
                after = resource.getrusage(resource.RUSAGE_CHILDREN)
                cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
                if out.returncode != 0:
                    print(f"{k:>5} {int(table['count'].sum()):>8,} {len(table):>6,} {method:<10} FAILED: {out.stderr[-300:]}")
                    continue
                res = json.loads(out.stdout)
                upper = "no limit" if res["upper"] is None else f"{res['upper']:,.0f}"
                print(f"{k:>5} {int(table['count'].sum()):>8,} {len(table):>6,} {method:<10} {wall:>7.1f} {cpu:>7.1f} "
                      f"{os.getloadavg()[0]:>5.1f}  {res['estimate']:,.0f} ({res['lower']:,.0f} to {upper}), {res['model']}",
                      flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--wide", action="store_true", help="time estimate-table on 10 and 15 lists instead")
    parser.add_argument("--methods", default="loglinear,auto")
    parser.add_argument("--lists", default="10,15")
    args = parser.parse_args()
    if args.wide:
        wide(args.methods.split(","), [int(k) for k in args.lists.split(",")])
        return
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
