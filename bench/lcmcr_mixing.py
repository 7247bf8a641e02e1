"""How well the LCMCR sampler mixes per CPU second, with and without the joint move (issue 21).

For each capture table the same chains (same seeds) are run twice, without and with the
partially collapsed joint update of each class's never-recorded count
(:func:`undercount.estimate.lcmcr_sampler._joint_missing`), one chain after the other in this
thread, so that each chain's CPU time is its own (``time.thread_time``). Each run: ``--chains``
chains, the warm-up, ``--burnin`` iterations discarded, then ``--iterations`` iterations thinned
to 1,000 draws per chain. Printed per table and mode: the bulk ESS of N (Vehtari et al. 2021),
R-hat, CPU seconds, ESS per CPU second, the pooled median and 95% interval; and the ratio of
ESS per second (joint / plain) for each seed, the modes alternating seed by seed (the machine's
speed drifts; pairing keeps the ratio fair). The median over seeds is the figure to quote.

Tables: the reference tables in tests/reference (R's published tables) and, with ``--case DIR``,
the capture table of each stratum of a linked case's best linkage (first imputation), as the
case estimate sees them (bench/estimate_speed.py builds such cases in bench/out/estimate_speed),
and with ``--csv FILE`` any capture table.

Run:
    .venv/bin/python bench/lcmcr_mixing.py [--tables kosovo_1999,...] [--case DIR ...]
        [--csv TABLE.csv ...] [--chains 4] [--burnin 2000] [--iterations 20000] [--seeds 3]
        [--modes 0,1,h1] [--hmc-burnin 200] [--hmc-iterations 2000]

Modes: 0 plain Gibbs, N the joint move every N-th iteration, hN the HMC move of lambda and the
weights (classes and N integrated out, :func:`undercount.estimate.lcmcr_sampler._hmc`) every N-th,
NhM both; an HMC chain's CPU time includes the tuning of its step size.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
import warnings
from pathlib import Path

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
REFERENCE = (ROOT / "tests" / "reference", ROOT.parent / "shared" / "reference")
DEFAULT_TABLES = ("kosovo_1999", "sudan_khartoum_d3o3_allcause", "rcapture_HIV", "sparsemse_UKdat_5")


def run(table: pd.DataFrame, mode: str, seed: int, chains: int, burnin: int, iterations: int) -> dict[str, float]:
    """One run of ``chains`` chains in this thread; its diagnostics and CPU seconds.

    ``mode``: '0' plain Gibbs, 'N' the joint move every N-th iteration, 'hN' the HMC move every N-th,
    'NhM' both.
    """
    from undercount.estimate import _rng
    from undercount.estimate.diagnostics import ess_bulk, rhat
    from undercount.estimate.histories import validate_table
    from undercount.estimate.lcmcr_sampler import Chain, block_cells

    clean = validate_table(table)
    patterns = clean.drop(columns="count").to_numpy(dtype=np.int8)
    counts = clean["count"].to_numpy(dtype=np.int64)
    n = int(counts.sum())
    cells = block_cells(patterns, counts)
    cap = max(1000 * n, 1_000_000)
    words = np.random.SeedSequence(seed).generate_state(chains, dtype=np.uint64)
    thin = max(1, iterations // 1000)
    draws = []
    cpu = 0.0
    for w in words:
        began = time.thread_time()
        joint_part, _, hmc_part = mode.partition("h")
        joint, hmc = int(joint_part or 0), int(hmc_part or 0)
        chain = Chain(cells, 10, 0.25, 0.25, cap - n, _rng.new_state(int(w)), joint=joint, hmc=hmc)
        chain.advance(burnin, 1, burnin)
        kept, _, _ = chain.advance(iterations, thin)
        cpu += time.thread_time() - began
        draws.append(kept)
    d = np.stack(draws)
    ess = ess_bulk(d)
    lo, med, hi = np.quantile(d.reshape(-1), [0.025, 0.5, 0.975])
    return {"n": n, "ess": ess, "rhat": rhat(d), "cpu": cpu, "ess_s": ess / cpu, "median": med, "lower": lo,
            "upper": hi}


def lengths(mode: str, opts: argparse.Namespace) -> tuple[int, int]:
    """(burn-in, iterations) of a mode's run."""
    if "h" in mode:
        return (opts.burnin if opts.hmc_burnin is None else opts.hmc_burnin,
                opts.iterations if opts.hmc_iterations is None else opts.hmc_iterations)
    return opts.burnin, opts.iterations


def mode_name(mode: str) -> str:
    joint, _, hmc = mode.partition("h")
    parts = ([f"joint/{joint}"] if joint not in ("", "0") else []) + ([f"hmc/{hmc}"] if hmc else [])
    return "+".join(parts) or "plain"


def case_tables(case_dir: Path) -> dict[str, pd.DataFrame]:
    sys.path.insert(0, str(ROOT / "bench"))
    from estimate_speed import stratum_tables

    from undercount.estimate.histories import read_table

    with tempfile.TemporaryDirectory() as tmp:
        paths = stratum_tables(case_dir, Path(tmp))
        return {f"{case_dir.parent.name}:{p.stem}": read_table(p) for p in paths}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--tables", default=",".join(DEFAULT_TABLES), help="reference tables ('' for none)")
    parser.add_argument("--case", action="append", default=[], help="a linked case folder (its strata)")
    parser.add_argument("--csv", action="append", default=[], help="a capture table CSV (0/1 list columns, count)")
    parser.add_argument("--chains", type=int, default=4)
    parser.add_argument("--burnin", type=int, default=2000)
    parser.add_argument("--iterations", type=int, default=20_000)
    parser.add_argument("--seeds", type=int, default=3)
    parser.add_argument("--hmc-burnin", type=int, default=None, help="burn-in of the hN modes (default: --burnin)")
    parser.add_argument("--hmc-iterations", type=int, default=None,
                        help="iterations of the hN modes (default: --iterations; an HMC iteration costs a trajectory)")
    parser.add_argument("--modes", default="0,1", help="N: joint move every N iterations (0: never); hN: the HMC move "
                        "every N iterations; ratios vs the first")
    opts = parser.parse_args()
    warnings.simplefilter("ignore")
    tables = {}
    for name in filter(None, opts.tables.split(",")):
        found = [folder / f"{name}.csv" for folder in REFERENCE if (folder / f"{name}.csv").is_file()]
        if not found:
            parser.error(f"no reference table {name}.csv in {', '.join(map(str, REFERENCE))}")
        tables[name] = pd.read_csv(found[0])
    for case in opts.case:
        tables.update(case_tables(Path(case)))
    for path in opts.csv:
        tables[Path(path).stem] = pd.read_csv(path)
    first = next(iter(tables.values()))
    modes = opts.modes.split(",")
    for joint in modes:  # compile (or load numba's cache) outside the timing
        run(first, joint, 99, 1, 10, 100)
    print(f"{opts.chains} chains x ({opts.burnin:,} burn-in + {opts.iterations:,}) iterations "
          f"(hN modes: {lengths('h1', opts)[0]:,} + {lengths('h1', opts)[1]:,}); "
          f"load {' '.join(f'{v:.1f}' for v in os.getloadavg())}")
    print(f"{'table':<34} {'n':>7} {'mode':<8} {'ESS':>6} {'R-hat':>6} {'CPU s':>6} {'ESS/s':>7}  "
          f"{'median (95%)':<28} ratio ESS/s")
    for name, table in tables.items():
        ratios: dict[str, list[float]] = {m: [] for m in modes[1:]}
        for seed in range(opts.seeds):
            order = modes if seed % 2 == 0 else modes[::-1]
            got = {joint: run(table, joint, seed, opts.chains, *lengths(joint, opts)) for joint in order}
            for joint in modes:
                r = got[joint]
                ratio = r["ess_s"] / got[modes[0]]["ess_s"]
                if joint != modes[0]:
                    ratios[joint].append(ratio)
                print(f"{name:<34} {r['n']:>7,} {mode_name(joint):<8} {r['ess']:>6.0f} "
                      f"{r['rhat']:>6.3f} {r['cpu']:>6.2f} {r['ess_s']:>7.0f}  {r['median']:>8,.0f} "
                      f"({r['lower']:,.0f}-{r['upper']:,.0f})" + (f"  seed {seed}: {ratio:.2f}" if joint != modes[0] else ""),
                      flush=True)
        for joint, got_ratios in ratios.items():
            print(f"{name:<34} median ratio ESS/s mode {joint} / mode {modes[0]}: {np.median(got_ratios):.2f} "
                  f"[{min(got_ratios):.2f}-{max(got_ratios):.2f}]; load {' '.join(f'{v:.1f}' for v in os.getloadavg())}",
                  flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
