"""How long `undercount estimate` takes with its defaults, before and after a change (issue 21).

Three linked cases, built once and kept in ``--cache``:

* ``small``: the small preset (2,000 people, 3 lists), seed 0;
* ``gaza-like``: the gaza-like preset (60,000 people, 3 lists, about 58,000 records), seed 0;
* ``3list-50k``: the small preset's three lists with 38,000 people (about 50,000 records).

Each case is estimated as a user would: ``undercount estimate CASE --json`` in a new process, on a
fresh copy of the case (the run stores its result), with the defaults (20 linkage draws, 10
imputations, method auto). With ``--baseline REF`` the same command is also run by the code of the
git commit REF (its ``src`` exported to a temporary folder), alternating new and baseline run by
run, and the ratio new / baseline is taken pair by pair (the machine's speed drifts; pairing keeps
the ratio fair). Each run's wall time and CPU time (user + system of the process and its children)
are printed with the load average; the machine is shared, so wall times alone say little.

``--ess`` also prints, per stratum of the best linkage, the LCMCR sampler's efficiency: the
stratum's capture table is fitted with the options one of the estimate's pooled replicates uses
(by each code version in its own process), and its bulk effective sample size of N, its R-hat and
its CPU seconds are printed, with ESS per CPU second.

``--phases`` also runs, once per code version and case, the same estimate in one process
(``estimate_populations`` with the defaults, on a fresh copy) and prints each phase's wall and CPU
seconds (drawing the linkages, the best linkage, the correction for missed links, the pooled draws,
the range across models, each breakdown), the CPU of the process and of its worker processes
together, read at each progress call. ``UNDERCOUNT_WORKERS`` is passed on to every run as it is set.

Run:
    .venv/bin/python bench/estimate_speed.py [--cases small,gaza-like,3list-50k] [--repeat 3]
        [--baseline REF] [--ess] [--phases] [--cache bench/out/estimate_speed] [--draws 20]
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import subprocess
import sys
import tarfile
import tempfile
import time
import warnings
from io import BytesIO
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
CASES = {  # name -> (preset, people or None for the preset's, seed)
    "small": ("small", None, 0),
    "gaza-like": ("gaza-like", None, 0),
    "3list-50k": ("small", 38_000, 0),
}


def build_case(name: str, cache: Path) -> Path:
    """The linked case ``name`` in ``cache`` (simulated, imported and linked on first use)."""
    folder = cache / name
    case_dir = folder / "case"
    if (folder / "ready").is_file():
        return case_dir
    from undercount.link import link_case
    from undercount.simulate import simulate
    from undercount.simulate.load import import_simulation
    from undercount.store import Case

    preset, people, seed = CASES[name]
    if folder.exists():
        shutil.rmtree(folder)
    folder.mkdir(parents=True)
    started = time.perf_counter()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        simulate(folder / "sim", preset=preset, people=people, seed=seed)
        case = Case.init(case_dir)
        import_simulation(case, folder / "sim")
        link_case(case)
    (folder / "ready").write_text(f"built in {time.perf_counter() - started:.0f} s\n", encoding="utf-8")
    return case_dir


def export_source(ref: str, into: Path) -> Path:
    """The ``src`` folder of git commit ``ref``, written under ``into``; returns it."""
    data = subprocess.run(["git", "-C", str(ROOT), "archive", ref, "src"], check=True, capture_output=True).stdout
    with tarfile.open(fileobj=BytesIO(data)) as tar:
        tar.extractall(into, filter="data")
    return into / "src"


def load_average() -> str:
    return " ".join(f"{v:.1f}" for v in os.getloadavg())


def run_timed(cmd: list[str], src: Path) -> tuple[float, float, str, int]:
    """Run ``cmd`` with ``src`` first on the path: (wall s, CPU s of it and its children, stdout, exit code).

    The CPU time is the growth of this process's reaped children's user + system time, so the
    commands are run one at a time.
    """
    env = {**os.environ, "PYTHONPATH": str(src), "PYTHONWARNINGS": "ignore"}
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.perf_counter()
    proc = subprocess.run(cmd, capture_output=True, env=env, text=True, check=False)
    wall = time.perf_counter() - started
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    if proc.returncode != 0:
        sys.stderr.write(proc.stderr[-2000:])
    return wall, cpu, proc.stdout, proc.returncode


def estimate_once(src: Path, case_dir: Path, draws: int, work: Path) -> dict[str, Any]:
    """One ``undercount estimate --json`` on a fresh copy of the case; its times and figures."""
    copy = work / "case-copy"
    if copy.exists():
        shutil.rmtree(copy)
    shutil.copytree(case_dir, copy)
    load = load_average()
    wall, cpu, out, code = run_timed(
        [sys.executable, "-m", "undercount", "estimate", str(copy), "--json", "--link-draws", str(draws)], src)
    row: dict[str, Any] = {"wall": wall, "cpu": cpu, "load": load, "exit": code}
    if code == 0:
        data = json.loads(out)
        row.update(estimate=data["estimate"], lower=data["lower"], upper=data["upper"],
                   documented=data["documented"], strata=len(data.get("strata", {})))
        row["converged"] = _converged(data)
    shutil.rmtree(copy, ignore_errors=True)
    return row


def _converged(data: dict[str, Any]) -> str:
    """The result's own word on convergence, if it gives one (a warning naming R-hat or ESS)."""
    texts = [w for w in data.get("warnings", []) if "R-hat" in w or "ESS" in w or "converge" in w]
    for stratum in data.get("strata", {}).values():
        texts += [w for w in stratum.get("warnings", []) if "R-hat" in w or "ESS" in w or "converge" in w]
    return "warned" if texts else "no warning"


# ------------------------------------------------------------------------------------------------
# ESS per second: a worker run by each code version on the stratum tables of the best linkage


def stratum_tables(case_dir: Path, out: Path) -> list[Path]:
    """Write the capture table of each stratum of the best linkage (first imputation) as CSV files."""
    from undercount.estimate.case import _records
    from undercount.estimate.histories import capture_matrix, capture_table
    from undercount.estimate.strata import (
        default_strata,
        impute_strata,
        merge_sparse,
        person_covariates,
    )
    from undercount.store import Case

    case = Case.open(case_dir)
    clusters = case.clusters()
    records = _records(case)
    lists = [s for s in case.sources()["name"].tolist() if s in set(clusters["source"])]
    person = clusters.set_index("record_id")["person_id"]
    recs = records.assign(person_id=records["record_id"].map(person))
    matrix = capture_matrix(recs[recs["person_id"].notna()], lists)
    cov = person_covariates(recs, matrix.index)
    chosen, _ = default_strata(matrix, cov)
    labels = next(iter(impute_strata(matrix, cov, chosen, m=1, rng=np.random.default_rng(0))))
    mapping, _ = merge_sparse(matrix, labels) if chosen else ({"total": "total"}, {})
    merged = labels.map(lambda s: mapping.get(s, s))
    out.mkdir(parents=True, exist_ok=True)
    paths = []
    for name, idx in merged.groupby(merged.to_numpy()).groups.items():
        sub = matrix.loc[idx]
        sub = sub.loc[:, sub.sum(axis=0) > 0]
        path = out / f"{str(name).replace('/', '_')}.csv"
        capture_table(sub).to_csv(path, index=False)
        paths.append(path)
    return paths


def ess_worker(tables: list[str], replicates: int) -> None:
    """Fit LCMCR on each table with the options of one of ``replicates`` pooled replicates; print JSON."""
    from undercount.estimate.histories import read_table
    from undercount.estimate.registry import get_estimator

    warnings.simplefilter("ignore")
    lcmcr = get_estimator("lcmcr")
    options = lcmcr.replicate_options(lcmcr.default_options(), replicates)
    rows = {}
    first = True
    for path in tables:
        table = read_table(path)
        if first:  # compile (or load the cache) outside the timing
            lcmcr.fit(table, seed=1, options=options)
            first = False
        before = resource.getrusage(resource.RUSAGE_SELF)
        result = lcmcr.fit(table, seed=0, options=options)
        after = resource.getrusage(resource.RUSAGE_SELF)
        cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
        rows[Path(path).stem] = {"n": result.documented, "ess": result.details.get("ess_bulk"),
                                 "rhat": result.details.get("rhat"), "cpu": cpu,
                                 "iterations": result.details.get("iterations"),
                                 "chains": result.details.get("chains")}
    print(json.dumps(rows))


def ess_table(versions: dict[str, Path], tables: list[Path], replicates: int) -> None:
    per_version = {}
    for label, src in versions.items():
        _, _, out, code = run_timed([sys.executable, __file__, "--ess-worker", str(replicates),
                                     *[str(t) for t in tables]], src)
        per_version[label] = json.loads(out) if code == 0 else {}
    print(f"  LCMCR per stratum (options of one of {replicates} pooled replicates), load {load_average()}:")
    print(f"  {'stratum':<28} {'n':>7} " + " ".join(
        f"{label + ' ESS':>12} {'R-hat':>6} {'CPU s':>6} {'ESS/s':>7}" for label in per_version))
    for table in tables:
        name = table.stem
        cells = []
        n = ""
        for rows in per_version.values():
            row = rows.get(name)
            if row is None:
                cells.append(f"{'-':>12} {'-':>6} {'-':>6} {'-':>7}")
                continue
            n = f"{row['n']:,}"
            cells.append(f"{row['ess']:>12.0f} {row['rhat']:>6.3f} {row['cpu']:>6.2f} {row['ess'] / max(row['cpu'], 1e-9):>7.0f}")
        print(f"  {name:<28} {n:>7} " + " ".join(cells))


# ------------------------------------------------------------------------------------------------
# Phases: one estimate in one process, timed at each progress call


def _cpu_now() -> float:
    """CPU seconds of this process and of its reaped children (the strata's and the side passes' workers)."""
    own, children = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + children.ru_utime + children.ru_stime


def phases_worker(case_dir: str, draws: int) -> None:
    """Estimate ``case_dir`` (a fresh copy) with the defaults in this process; print each phase's seconds as JSON."""
    from undercount.estimate.linkage import estimate_populations
    from undercount.store import Case

    warnings.simplefilter("ignore")
    rows: list[list[Any]] = []
    current = ["opening", time.perf_counter(), _cpu_now()]

    def close(now: float, cpu: float) -> None:
        rows.append([current[0], now - current[1], cpu - current[2]])

    def report(what: str, done: int, total: int) -> None:
        name = what.split(": strata")[0]
        if name != current[0]:
            now, cpu = time.perf_counter(), _cpu_now()
            close(now, cpu)
            current[:] = [name, now, cpu]

    result = estimate_populations(Case.open(case_dir), link_draws=draws, progress=report)
    close(time.perf_counter(), _cpu_now())
    total = result.headline.total
    print(json.dumps({"phases": rows, "estimate": total.estimate, "lower": total.lower, "upper": total.upper}))


def phases_table(versions: dict[str, Path], case_dir: Path, draws: int, work: Path) -> None:
    """Each version's phases (:func:`phases_worker` in its own process, on a fresh copy of the case), side by side."""
    per_version: dict[str, dict[str, tuple[float, float]]] = {}
    order: list[str] = []
    loads = []
    for label, src in versions.items():
        copy = work / "case-phases"
        if copy.exists():
            shutil.rmtree(copy)
        shutil.copytree(case_dir, copy)
        loads.append(load_average())
        _, _, out, code = run_timed([sys.executable, __file__, "--phases-worker", str(draws), str(copy)], src)
        shutil.rmtree(copy, ignore_errors=True)
        phases: dict[str, tuple[float, float]] = {}
        for name, wall, cpu in (json.loads(out)["phases"] if code == 0 else []):
            wall0, cpu0 = phases.get(name, (0.0, 0.0))
            phases[name] = (wall0 + wall, cpu0 + cpu)
            if name not in order:
                order.append(name)
        per_version[label] = phases
    print(f"  by phase, one run each in one process (load at the starts: {'; '.join(loads)}):")
    print(f"  {'phase':<44} " + " ".join(f"{label + ' wall':>10} {'CPU s':>7}" for label in per_version))
    for name in [*order, "all"]:
        cells = []
        for phases in per_version.values():
            wall, cpu = ((sum(w for w, _ in phases.values()), sum(c for _, c in phases.values())) if name == "all"
                         else phases.get(name, (float("nan"), float("nan"))))
            cells.append(f"{wall:>10.2f} {cpu:>7.2f}")
        print(f"  {name:<44} " + " ".join(cells))


# ------------------------------------------------------------------------------------------------


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--cases", default="small,gaza-like,3list-50k")
    parser.add_argument("--repeat", type=int, default=3, help="runs of each version per case")
    parser.add_argument("--baseline", default=None, help="a git commit to compare with (its src is exported)")
    parser.add_argument("--draws", type=int, default=20, help="--link-draws of the estimate")
    parser.add_argument("--ess", action="store_true", help="print ESS per CPU second per stratum")
    parser.add_argument("--phases", action="store_true", help="print each version's seconds by phase (one more run)")
    parser.add_argument("--no-estimate", action="store_true", help="skip the timed estimates (with --ess or --phases)")
    parser.add_argument("--cache", default=str(ROOT / "bench" / "out" / "estimate_speed"))
    parser.add_argument("--ess-worker", type=int, default=None, help=argparse.SUPPRESS)
    parser.add_argument("--phases-worker", type=int, default=None, help=argparse.SUPPRESS)
    opts, rest = parser.parse_known_args()
    if opts.ess_worker is not None:
        ess_worker(rest, opts.ess_worker)
        return 0
    if opts.phases_worker is not None:
        phases_worker(rest[0], opts.phases_worker)
        return 0
    cache = Path(opts.cache)
    cache.mkdir(parents=True, exist_ok=True)
    names = [c.strip() for c in opts.cases.split(",") if c.strip()]
    unknown = set(names) - set(CASES)
    if unknown:
        parser.error(f"unknown case(s) {sorted(unknown)}: use {', '.join(CASES)}")
    with tempfile.TemporaryDirectory(prefix="estimate-speed-") as tmp:
        work = Path(tmp)
        versions = {"new": ROOT / "src"}
        if opts.baseline:
            versions["base"] = export_source(opts.baseline, work / "baseline")
        head = subprocess.run(["git", "-C", str(ROOT), "rev-parse", "--short", "HEAD"], capture_output=True, check=False,
                              text=True).stdout.strip()
        print(f"new = working tree at {head}" + (f"; base = {opts.baseline}" if opts.baseline else "")
              + f"; cores {os.cpu_count()}; load {load_average()}")
        for name in names:
            started = time.perf_counter()
            case_dir = build_case(name, cache)
            print(f"\n{name}: case ready ({time.perf_counter() - started:.0f} s)")
            if opts.ess:
                ess_table(versions, stratum_tables(case_dir, work / f"tables-{name}"), replicates=10 + opts.draws)
            if opts.phases:
                phases_table(versions, case_dir, opts.draws, work)
            if opts.no_estimate:
                continue
            for src in versions.values():  # a first run of each compiles or loads numba's cache
                estimate_once(src, case_dir, opts.draws, work)
            rows: dict[str, list[dict[str, Any]]] = {label: [] for label in versions}
            for _ in range(opts.repeat):
                for label, src in versions.items():
                    row = estimate_once(src, case_dir, opts.draws, work)
                    rows[label].append(row)
                    print(f"  {label:<5} wall {row['wall']:7.1f} s  cpu {row['cpu']:7.1f} s  load {row['load']}  "
                          + (f"estimate {row['estimate']:,.0f} ({row['lower']:,.0f} to "
                             f"{'-' if row['upper'] is None else format(row['upper'], ',.0f')}), documented "
                             f"{row['documented']:,}, {row['strata']} strata, {row['converged']}"
                             if row["exit"] == 0 else f"exit {row['exit']}"), flush=True)
            for label, got in rows.items():
                print(f"  {label}: median wall {np.median([r['wall'] for r in got]):.1f} s, "
                      f"median cpu {np.median([r['cpu'] for r in got]):.1f} s")
            if "base" in rows:
                wall = [a["wall"] / b["wall"] for a, b in zip(rows["new"], rows["base"])]
                cpu = [a["cpu"] / b["cpu"] for a, b in zip(rows["new"], rows["base"])]
                print(f"  ratio new/base (pair by pair, median): wall {np.median(wall):.3f} "
                      f"[{min(wall):.3f}-{max(wall):.3f}], cpu {np.median(cpu):.3f} [{min(cpu):.3f}-{max(cpu):.3f}]")
    return 0


if __name__ == "__main__":
    sys.exit(main())
