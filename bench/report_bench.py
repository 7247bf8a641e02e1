"""Benchmark: the report of the ``gaza-like`` preset, timed alone after linking and estimating.

Usage: .venv/bin/python bench/report_bench.py [--preset gaza-like] [--seed 0] [--link-draws 0]
                                               [--keep DIR] [--case DIR]

Simulates the preset, imports every list (with its spec where the simulator wrote one), links,
estimates (pooling over ``--link-draws`` linkages; 0 is the single best linkage, which does not
change the report's cost), then times ``write_report`` alone and prints the figure with the
report's size and the peak resident memory. ``--case`` reuses a linked and estimated case and
times only the report. Target: under 60 s for gaza-like.
"""

from __future__ import annotations

import argparse
import resource
import sys
import tempfile
import time
import warnings
from pathlib import Path

from undercount.errors import UndercountWarning
from undercount.store import Case


def _timed(label: str, func, *args, **kwargs):  # type: ignore[no-untyped-def]
    started = time.perf_counter()
    result = func(*args, **kwargs)
    print(f"{label:<28} {time.perf_counter() - started:8.1f} s", flush=True)
    return result


def build(out: Path, *, preset: str, seed: int, link_draws: int) -> Case:
    """Simulate, import, link and estimate a case under ``out``."""
    from undercount.estimate.linkage import estimate_with_linkage
    from undercount.ingest import import_list
    from undercount.link import link_case
    from undercount.simulate import simulate

    sim = _timed(f"simulate {preset}", simulate, out / "data", preset=preset, seed=seed)
    case = Case.init(out / "case")
    started = time.perf_counter()
    for name, path in sim.list_files.items():
        import_list(case, path, name=name, spec=sim.spec_files.get(name))
    print(f"{'import ' + str(len(sim.list_files)) + ' lists':<28} {time.perf_counter() - started:8.1f} s", flush=True)
    _timed("link", link_case, case)
    _timed(f"estimate ({link_draws} linkage draws)", estimate_with_linkage, case, link_draws=link_draws, seed=seed)
    return case


def main(argv: list[str] | None = None) -> int:
    """Run the benchmark and print its figures."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--preset", default="gaza-like")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--link-draws", type=int, default=0)
    parser.add_argument("--keep", type=Path, help="folder to keep the simulated case in")
    parser.add_argument("--case", type=Path, help="an existing linked and estimated case: time the report only")
    args = parser.parse_args(argv)
    warnings.simplefilter("ignore", UndercountWarning)
    from undercount.report import write_report

    with tempfile.TemporaryDirectory(prefix="uc-report-bench-") as tmp:
        out = args.keep or Path(tmp)
        out.mkdir(parents=True, exist_ok=True)
        case = Case.open(args.case) if args.case else build(out, preset=args.preset, seed=args.seed,
                                                             link_draws=args.link_draws)
        records = len(case.records(["record_id"]))
        persons = case.clusters()["person_id"].nunique()
        started = time.perf_counter()
        result = write_report(case, out / "report.html")
        seconds = time.perf_counter() - started
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"records {records:,}, persons {persons:,}, figures {result.figures}, report {result.size / 1e6:.2f} MB")
    print(f"report (write_report alone)  {seconds:8.1f} s   target < 60 s   {'OK' if seconds < 60 else 'SLOW'}")
    print(f"peak memory of the process   {peak:8.0f} MB")
    return 0


if __name__ == "__main__":
    sys.exit(main())
