"""Time `undercount simulate` on the gaza-like and large presets; print wall time and peak RSS.

Usage:
    .venv/bin/python bench/simulate_bench.py [--presets gaza-like,large] [--out DIR] [--seed S]

Each preset runs in its own child process (so peak RSS is that run's alone). Target: the large
preset (1,000,000 records in total across the lists) in under 2 minutes.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

CHILD = """
import json, resource, sys, time
from undercount.simulate import simulate
t, c = time.perf_counter(), time.process_time()
r = simulate(sys.argv[1], preset=sys.argv[2], seed=int(sys.argv[3]))
wall, cpu = time.perf_counter() - t, time.process_time() - c
rows = {item["name"]: item["rows"] for item in r.manifest["lists"]}
print(json.dumps({"wall_s": wall, "cpu_s": cpu, "rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
                  "true_n": r.manifest["true_n"], "rows": rows}))
"""


def run(preset: str, out: Path, seed: int) -> dict[str, object]:
    """Simulate one preset in a child process; return its figures."""
    started = time.perf_counter()
    done = subprocess.run([sys.executable, "-c", CHILD, str(out), preset, str(seed)],
                          capture_output=True, text=True, check=True)
    figures = json.loads(done.stdout.strip().splitlines()[-1])
    figures["process_s"] = time.perf_counter() - started
    figures["bytes"] = sum(p.stat().st_size for p in out.iterdir())
    return figures


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--presets", default="gaza-like,large")
    parser.add_argument("--out", type=Path, default=None, help="folder for the outputs (default: a temp dir)")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        base = args.out or Path(tmp)
        for preset in args.presets.split(","):
            f = run(preset, base / preset, args.seed)
            rows = f["rows"]
            assert isinstance(rows, dict)
            print(f"{preset}: N={f['true_n']:,} records={sum(rows.values()):,} "
                  f"({', '.join(f'{k} {v:,}' for k, v in rows.items())}); "
                  f"simulate {f['wall_s']:.1f} s wall ({f['cpu_s']:.1f} s CPU), whole process {f['process_s']:.1f} s, "
                  f"peak RSS {f['rss_mb']:,.0f} MB, output {f['bytes'] / 1e6:,.0f} MB")
    load = os.getloadavg()[0]
    print(f"load average at the end: {load:.1f} on {os.cpu_count()} cores (wall times stretch under load)")


if __name__ == "__main__":
    main()
