"""The diff of releases of one list: precision and recall per class on a simulated series, and the
real releases' counts, time and memory.

Usage:
    .venv/bin/python bench/release_diff.py [--people 3000] [--releases 3] [--seed 0] [--out DIR] [--json]
    UNDERCOUNT_SHARED=/work/shared .venv/bin/python bench/release_diff.py --real

Simulated (default): ``simulate_releases`` writes a series of releases of a ministry-like list with
known changes; every release is imported (``--release-of``), each consecutive pair is diffed, and
every record of both releases is scored against its true class (issue 19's target: precision and
recall >= 0.98 for every class). ``--real``: the two Gaza MoH releases in ../shared/data (2024-06
with duplicates, 2024-08) are imported and diffed; the bench prints counts per class (each release's
counts must add up to its size), wall and CPU seconds of each step with the load average (issue
19's target: under 60 s) and the peak memory. Figures only, never names.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import pandas as pd

REAL = (("gaza_moh_raw_20240620_with_dups.csv", "2024-06-20"), ("gaza_moh_20240831_raw.csv", "2024-08-31"))


def _load() -> str:
    return " ".join(f"{x:.1f}" for x in os.getloadavg())


def simulated(people: int, releases: int, seed: int, out: Path) -> dict[str, Any]:
    """Simulate, import and diff a series; score every transition."""
    from undercount.ingest import import_list
    from undercount.releases import diff_releases
    from undercount.releases.evaluate import score_diff
    from undercount.simulate.releases import simulate_releases
    from undercount.store import Case
    from undercount.store.releases import list_releases

    series = simulate_releases(out / "series", people=people, releases=releases, seed=seed)
    case = Case.init(out / "case")
    for i, (path, day) in enumerate(series.files.values()):
        import_list(case, path, name="moh", released=day) if i == 0 else import_list(
            case, path, release_of="moh", released=day)
    rels = list_releases(case, "moh")
    files = {rel.source: name for rel, name in zip(rels, series.files)}
    transitions = []
    for early, late in zip(rels, rels[1:]):
        t, c = time.perf_counter(), time.process_time()
        result = diff_releases(case, "moh", before=early.source, after=late.source, again=True)
        wall, cpu = time.perf_counter() - t, time.process_time() - c
        score = score_diff(case, result, series.truth, files)
        transitions.append({"from": early.source, "to": late.source, "records": [early.rows, late.rows],
                            "wall_s": round(wall, 1), "cpu_s": round(cpu, 1), "load": _load(),
                            "score": score.reset_index().to_dict("records")})
    return {"people": people, "releases": releases, "seed": seed, "transitions": transitions}


def real(shared: Path, out: Path) -> dict[str, Any]:
    """Import the two real releases and diff them."""
    from undercount.ingest import import_list
    from undercount.releases import diff_releases
    from undercount.store import Case

    case = Case.init(out / "real")
    t = time.perf_counter()
    import_list(case, shared / "data" / REAL[0][0], name="moh", released=REAL[0][1])
    import_list(case, shared / "data" / REAL[1][0], release_of="moh", released=REAL[1][1])
    imported = time.perf_counter() - t
    t, c = time.perf_counter(), time.process_time()
    result = diff_releases(case, "moh")
    wall, cpu = time.perf_counter() - t, time.process_time() - c
    counts = result.counts()
    return {
        "import_s": round(imported, 1), "diff_wall_s": round(wall, 1), "diff_cpu_s": round(cpu, 1), "load": _load(),
        "phases": result.linkage.get("phases", {}), "rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024),
        "sizes": [result.before.rows, result.after.rows],
        "totals": [int(counts["earlier"].sum()), int(counts["later"].sum())],
        "counts": {str(k): [int(a), int(b)] for k, (a, b) in counts.iterrows()},
        "status_moves": result.status_moves(), "fields": result.field_changes(),
        "profiles": {k: {x: y for x, y in v.items() if x != "composition"} for k, v in result.profiles.items()},
        "pairs_scored": result.linkage.get("pairs_scored"),
    }


def _print_simulated(data: dict[str, Any]) -> None:
    print(f"Simulated series: {data['people']:,} people, {data['releases']} releases, seed {data['seed']}")
    worst = 1.0
    for tr in data["transitions"]:
        print(f"\n{tr['from']} ({tr['records'][0]:,} records) -> {tr['to']} ({tr['records'][1]:,}): "
              f"{tr['wall_s']} s wall, {tr['cpu_s']} s CPU, load {tr['load']}")
        table = pd.DataFrame(tr["score"]).set_index("class")
        print(table.to_string())
        worst = min(worst, float(table["precision"].min()), float(table["recall"].min()))
    print(f"\nLowest precision or recall of any class: {worst:.4f} (target >= 0.98: {'met' if worst >= 0.98 else 'NOT met'})")


def _print_real(data: dict[str, Any]) -> None:
    print(f"Real releases: {data['sizes'][0]:,} and {data['sizes'][1]:,} records; import {data['import_s']} s; "
          f"diff {data['diff_wall_s']} s wall, {data['diff_cpu_s']} s CPU (load {data['load']}); peak RSS {data['rss_mb']:,} MB")
    print(f"Phases: {data['phases']}")
    print(f"{'class':<22}{'earlier':>10}{'later':>10}")
    for cls, (a, b) in data["counts"].items():
        print(f"{cls:<22}{a:>10,}{b:>10,}")
    print(f"{'total':<22}{data['totals'][0]:>10,}{data['totals'][1]:>10,}  "
          f"(add up to the sizes: {data['totals'] == data['sizes']})")
    print(f"Fields changed among matched records: {data['fields']}")
    print(f"Status moves: {data['status_moves'] or 'none'}")
    for key, p in data["profiles"].items():
        print(f"{key}: {p}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--people", type=int, default=3000)
    parser.add_argument("--releases", type=int, default=3)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--real", action="store_true", help="Diff the real releases in ../shared/data instead.")
    parser.add_argument("--out", type=Path, default=None)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory() as tmp:
        out = args.out or Path(tmp)
        out.mkdir(parents=True, exist_ok=True)
        if args.real:
            shared = Path(os.environ.get("UNDERCOUNT_SHARED", Path(__file__).resolve().parents[1].parent / "shared"))
            if not (shared / "data" / REAL[0][0]).exists():
                print(f"no real releases under {shared}/data: set UNDERCOUNT_SHARED", file=sys.stderr)
                return 1
            data = real(shared, out)
            print(json.dumps(data, indent=2)) if args.json else _print_real(data)
        else:
            data = simulated(args.people, args.releases, args.seed, out)
            print(json.dumps(data, indent=2)) if args.json else _print_simulated(data)
    return 0


if __name__ == "__main__":
    sys.exit(main())
