"""Benchmark: import wide CSV files (1,000 to 16,384 columns, 50 rows) and check the time grows
linearly with the columns.

Usage: .venv/bin/python bench/wide_bench.py [--columns 1000,2000,4000,8000,16384] [--rows 50]

Each import runs in a fresh process (`undercount import` into a new case); the processor
seconds of that process (user + system) are printed per file with the ratio to the file with
half the columns. Linear time gives ratios near 2 (start-up, about a second, pulls the small
files' ratios below 2); the quadratic importer of before gave 2,000 columns 6.6 s and 4,000
18.3 s (ratio 2.8, and over 240 s at 20,000).
"""

from __future__ import annotations

import argparse
import os
import resource
import subprocess
import sys
import tempfile
from pathlib import Path


def write(path: Path, columns: int, rows: int) -> None:
    with path.open("w", encoding="utf-8") as out:
        out.write("name,age," + ",".join(f"c{i}" for i in range(columns - 2)) + "\n")
        for r in range(rows):
            out.write(f"Person {r} Example,{20 + r % 60}," + ",".join(str((r + i) % 10) for i in range(columns - 2)) + "\n")


def cpu_of(args: list[str]) -> float:
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    subprocess.run(args, check=True, stdout=subprocess.DEVNULL, env={**os.environ, "PYTHONDONTWRITEBYTECODE": "1"})
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    return (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--columns", default="1000,2000,4000,8000,16384")
    parser.add_argument("--rows", type=int, default=50)
    opts = parser.parse_args()
    widths = [int(c) for c in opts.columns.split(",")]
    previous: float | None = None
    previous_cols = 1
    with tempfile.TemporaryDirectory() as tmp:
        for columns in widths:
            path = Path(tmp) / f"w{columns}.csv"
            write(path, columns, opts.rows)
            case = Path(tmp) / f"case{columns}"
            subprocess.run([sys.executable, "-m", "undercount", "init", str(case)], check=True, stdout=subprocess.DEVNULL)
            cpu = cpu_of([sys.executable, "-m", "undercount", "import", str(case), str(path)])
            ratio = f"  x{cpu / previous:.2f} for x{columns / previous_cols:.2f} columns" if previous else ""
            print(f"{columns:6} columns x {opts.rows} rows: {cpu:6.2f} processor s{ratio}", flush=True)
            previous, previous_cols = cpu, columns
    print(f"load average {os.getloadavg()[0]:.1f}")


if __name__ == "__main__":
    main()
