"""How long the command line takes to answer `undercount --help` (issue 21: under 0.5 s).

Each command runs ``--runs`` times (default 10) in a new process, after one run that is not
counted (it fills the operating system's file cache); the median wall time and the median CPU time
(user + system) are printed with the load average before and after. The machine may be shared:
under load the wall time is mostly waiting for a core, and the CPU time is the steadier figure.

With ``--baseline REF`` the same commands are also run by the code of git commit REF (its ``src``
exported to a temporary folder), alternating run by run, and the ratio new / baseline is taken
pair by pair. With ``--case DIR`` ``undercount status DIR`` is timed too, when the command exists.

Run: .venv/bin/python bench/cli_start.py [--runs 10] [--baseline REF] [--case DIR]
"""

from __future__ import annotations

import argparse
import os
import resource
import subprocess
import sys
import tarfile
import tempfile
import time
from io import BytesIO
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]


def export_source(ref: str, into: Path) -> Path:
    """The ``src`` folder of git commit ``ref``, written under ``into``; returns it."""
    data = subprocess.run(["git", "-C", str(ROOT), "archive", ref, "src"], check=True, capture_output=True).stdout
    with tarfile.open(fileobj=BytesIO(data)) as tar:
        tar.extractall(into, filter="data")
    return into / "src"


def run(args: list[str], src: Path) -> tuple[float, float, int]:
    """(wall s, CPU s, exit code) of ``python -m undercount ARGS`` with ``src`` first on the path."""
    env = {**os.environ, "PYTHONPATH": str(src)}
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.perf_counter()
    code = subprocess.run([sys.executable, "-m", "undercount", *args], capture_output=True, env=env, check=False).returncode
    wall = time.perf_counter() - started
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    return wall, (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime), code


def load() -> str:
    return " ".join(f"{v:.2f}" for v in os.getloadavg())


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=10)
    parser.add_argument("--baseline", default=None, help="a git commit to compare with")
    parser.add_argument("--case", default=None, help="a case folder for 'undercount status'")
    opts = parser.parse_args()
    commands = [["--help"]]
    if opts.case:
        commands.append(["status", opts.case])
    with tempfile.TemporaryDirectory(prefix="cli-start-") as tmp:
        versions = {"new": ROOT / "src"}
        if opts.baseline:
            versions["base"] = export_source(opts.baseline, Path(tmp))
        print(f"cores {os.cpu_count()}, load before {load()}")
        for args in commands:
            label = "undercount " + " ".join(args)
            for src in versions.values():
                run(args, src)  # not counted
            times: dict[str, list[tuple[float, float, int]]] = {v: [] for v in versions}
            for _ in range(opts.runs):
                for version, src in versions.items():
                    times[version].append(run(args, src))
            for version, got in times.items():
                codes = sorted({c for _, _, c in got})
                print(f"{label:<28} {version:<5} median wall {np.median([w for w, _, _ in got]):.3f} s "
                      f"(min {min(w for w, _, _ in got):.3f}, max {max(w for w, _, _ in got):.3f}), "
                      f"median cpu {np.median([c for _, c, _ in got]):.3f} s, exit {codes}")
            if "base" in times:
                wall = [a[0] / b[0] for a, b in zip(times["new"], times["base"])]
                cpu = [a[1] / b[1] for a, b in zip(times["new"], times["base"])]
                print(f"{label:<28} ratio new/base (pair by pair, median): wall {np.median(wall):.3f}, "
                      f"cpu {np.median(cpu):.3f}")
        print(f"load after {load()}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
