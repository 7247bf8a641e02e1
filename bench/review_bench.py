"""Benchmark: server time of a review decision in the app, median of 50, on a gaza-like case.

Usage: .venv/bin/python bench/review_bench.py [--case DIR] [--preset gaza-like] [--seed 0] [--decisions 50]

With ``--case`` a COPY of that linked case is used (the original is never written); otherwise the
preset is simulated, imported and linked first (minutes). A reviewer account is added to the copy,
the app is built as ``undercount serve`` builds it, and a client logged in as that reviewer takes
the first pair of the queue each time, decides it (same and different in turn) and loads the next
pair, as a person with the keyboard does. Printed: the median and 90th percentile of the decision
(the POST, stored and audited) and of the next pair's page (the GET that follows it), in
milliseconds, with CPU time and load average. Target (#17): decision median under 150 ms.
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import statistics
import tempfile
import time
from pathlib import Path

from undercount.store import Case

PASSWORD = "bench passphrase 1"


def _linked_case(out: Path, preset: str, seed: int) -> Path:
    from undercount.ingest import import_list
    from undercount.link import link_case
    from undercount.simulate import simulate

    sim = simulate(out / "data", preset=preset, seed=seed)
    case = Case.init(out / "case")
    for name, path in sim.list_files.items():
        import_list(case, path, name=name, spec=sim.spec_files.get(name))
    link_case(case)
    return case.path


def _pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def main(argv: list[str] | None = None) -> int:
    """Run the benchmark and print its figures."""
    from fastapi.testclient import TestClient

    from undercount.web import add_user, create_app

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--case", type=Path, help="a linked case to copy (not changed)")
    parser.add_argument("--preset", default="gaza-like")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--decisions", type=int, default=50)
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="uc-review-bench-") as tmp:
        work = Path(tmp)
        if args.case is not None:
            path = work / "case"
            shutil.copytree(args.case, path)
        else:
            path = _linked_case(work, args.preset, args.seed)
        case = Case.open(path)
        records = int(case.query("SELECT count(*) AS n FROM uc_records")["n"].iloc[0])
        add_user(case, "bench", "reviewer", PASSWORD, written_by="bench")
        client = TestClient(create_app(path), follow_redirects=False, base_url="http://127.0.0.1")
        token = re.search(r'name="csrf_token" value="([^"]+)"', client.get("/login").text).group(1)  # type: ignore[union-attr]
        client.post("/login", data={"username": "bench", "password": PASSWORD, "csrf_token": token})
        page = client.get("/review").text
        token = re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)  # type: ignore[union-attr]
        posts: list[float] = []
        gets: list[float] = []
        post_cpu: list[float] = []
        get_cpu: list[float] = []
        cpu = time.process_time()
        for i in range(args.decisions):
            found = re.search(r'id="pair" data-l="(\d+)" data-r="(\d+)"', page)
            if found is None:
                break
            started, cpu_started = time.perf_counter(), time.process_time()
            response = client.post("/review/decide", data={"record_id_l": found.group(1), "record_id_r": found.group(2),
                                                           "decision": ("same", "different")[i % 2], "csrf_token": token})
            posts.append(time.perf_counter() - started)
            post_cpu.append(time.process_time() - cpu_started)
            assert response.status_code == 303, response.text[:500]
            started, cpu_started = time.perf_counter(), time.process_time()
            page = client.get(response.headers["location"]).text
            gets.append(time.perf_counter() - started)
            get_cpu.append(time.process_time() - cpu_started)
        cpu = time.process_time() - cpu
        load = os.getloadavg()
        print(f"case: {records:,} records, {case.query('SELECT count(*) AS n FROM uc_pairs')['n'].iloc[0]:,} candidate pairs")
        print(f"decisions: {len(posts)}")
        print(f"decision (POST) median {1000 * statistics.median(posts):.0f} ms, p90 {1000 * _pct(posts, 0.9):.0f} ms "
              f"(target < 150 ms); CPU median {1000 * statistics.median(post_cpu):.0f} ms")
        print(f"next pair (GET)  median {1000 * statistics.median(gets):.0f} ms, p90 {1000 * _pct(gets, 0.9):.0f} ms; "
              f"CPU median {1000 * statistics.median(get_cpu):.0f} ms")
        print(f"CPU {cpu:.1f} s for {len(posts)} decisions and pages; load average {load[0]:.1f} {load[1]:.1f} {load[2]:.1f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
