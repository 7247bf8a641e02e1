"""Incidents on simulated cases: deduplication F1 and victim-to-incident accuracy against the truth.

Usage:
    python bench/incidents_bench.py [--preset small] [--people N] [--seeds 0 1 2] [--keep DIR] [--json]
    python bench/incidents_bench.py --reuse DIR [--seeds 0 1 2]    # kept cases: dedupe and assign again

For each seed: simulate with incidents, import the victim lists, link them, import every
incident file, deduplicate, link victims to incidents, and score both against the truth
(:mod:`undercount.link.incidents`). Prints one line per seed and the pooled figures (pairs
and records summed over seeds), with wall and CPU time and the load average. ``--keep DIR`` keeps each seed's simulated folder and case
(``DIR/s<seed>/data``, ``DIR/s<seed>/case``) for diagnosis; by default they are deleted.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from pathlib import Path
from typing import Any


def run_one(preset: str, people: int | None, seed: int, workdir: Path) -> dict[str, Any]:
    """One simulated case, end to end; the scores and timings."""
    from undercount.incidents import import_incidents
    from undercount.link import link_case
    from undercount.simulate import simulate
    from undercount.simulate.load import import_simulation
    from undercount.store import Case

    times: dict[str, float] = {}
    started = time.perf_counter()
    sim = simulate(workdir / "data", preset=preset, people=people, seed=seed, incidents=True)
    times["simulate"] = time.perf_counter() - started
    case = Case.init(workdir / "case")
    step = time.perf_counter()
    import_simulation(case, workdir / "data")
    times["import_lists"] = time.perf_counter() - step
    step = time.perf_counter()
    link_case(case)
    times["link"] = time.perf_counter() - step
    step = time.perf_counter()
    for name, path in sim.incident_files.items():
        import_incidents(case, path, name=f"incidents_{name}")
    times["import_incidents"] = time.perf_counter() - step
    return _dedupe_assign_score(case, workdir, seed, sim.true_n, sim.manifest, times)


def _dedupe_assign_score(case: Any, workdir: Path, seed: int, true_n: int, manifest: dict[str, Any],
                         times: dict[str, float]) -> dict[str, Any]:
    """Deduplicate the case's incident reports, assign its victims, score both against the kept truth."""
    from undercount.incidents import assign_victims, dedupe_incidents
    from undercount.link.incidents import evaluate_assignment, evaluate_dedupe

    step = time.perf_counter()
    dedupe = dedupe_incidents(case)
    times["dedupe"] = time.perf_counter() - step
    step = time.perf_counter()
    assigned = assign_victims(case)
    times["assign"] = time.perf_counter() - step
    pairs = evaluate_dedupe(case, workdir / "data" / "truth_incident_reports.csv")
    score = evaluate_assignment(case, workdir / "data")
    return {"seed": seed, "true_n": true_n, "true_incidents": manifest["incidents"]["incidents"],
            "reported_incidents": manifest["incidents"]["reported_incidents"], "reports": dedupe.reports,
            "incidents_found": dedupe.incidents, "dedupe": pairs.to_dict(), "assignment": score.to_dict(),
            "assign": assigned.to_dict(), "seconds": {k: round(v, 2) for k, v in times.items()}}


def reuse_one(seed: int, workdir: Path) -> dict[str, Any]:
    """A kept case (``--keep``) deduplicated and assigned again with the current code; the scores.

    The simulated data and the linkage are those kept (linkage is the slow step): what changes is
    only what deduplication and assignment do, so the figures are those a full run would print.
    """
    from undercount.store import Case

    manifest = json.loads((workdir / "data" / "manifest.json").read_text(encoding="utf-8"))
    return _dedupe_assign_score(Case.open(workdir / "case"), workdir, seed, int(manifest.get("true_n", 0)), manifest, {})


def _line(r: dict[str, Any]) -> str:
    d, a = r["dedupe"], r["assignment"]
    return (f"seed {r['seed']}: N={r['true_n']:,} incidents={r['true_incidents']:,} (reported {r['reported_incidents']:,}) "
            f"reports={r['reports']:,} found={r['incidents_found']:,} | dedupe pairwise F1 {d['pairwise_f1']:.3f} "
            f"(P {d['pairwise_precision']:.3f} R {d['pairwise_recall']:.3f}) | assignment accuracy "
            f"{a['accuracy']:.4f} (P {a['precision']:.3f} R {a['recall']:.3f}, {a['linked']:,} of {a['records']:,} "
            f"records linked) | rules {r['assign']['details'].get('by_rule', {})} | {r['seconds']}")


def _f1(p: float, r: float) -> float:
    return 0.0 if p + r == 0 else 2 * p * r / (p + r)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--preset", default="small")
    parser.add_argument("--people", type=int, default=None)
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--keep", type=Path, default=None, help="keep each seed's data and case under this folder")
    parser.add_argument("--reuse", type=Path, default=None,
                        help="a folder --keep wrote: deduplicate and assign its kept cases again (no simulation, no linkage)")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args(argv)
    wall, cpu = time.perf_counter(), time.process_time()
    results = []
    for seed in args.seeds:
        if args.reuse is not None:
            results.append(reuse_one(seed, args.reuse / f"s{seed}"))
        elif args.keep is not None:
            results.append(run_one(args.preset, args.people, seed, args.keep / f"s{seed}"))
        else:
            with tempfile.TemporaryDirectory(prefix="uc-incidents-") as tmp:
                results.append(run_one(args.preset, args.people, seed, Path(tmp)))
        if not args.json:  # each seed's line as soon as it is measured (a run of ten seeds takes a while)
            print(_line(results[-1]), flush=True)
    correct = sum(r["dedupe"]["correct_pairs"] for r in results)
    predicted = sum(r["dedupe"]["predicted_pairs"] for r in results)
    true = sum(r["dedupe"]["true_pairs"] for r in results)
    precision, recall = correct / predicted if predicted else 1.0, correct / true if true else 1.0
    records = sum(r["assignment"]["records"] for r in results)
    right = sum(round(r["assignment"]["accuracy"] * r["assignment"]["records"]) for r in results)
    linked = sum(r["assignment"]["linked"] for r in results)
    good = sum(r["assignment"]["correct_links"] for r in results)
    with_incident = sum(r["assignment"]["with_incident"] for r in results)
    pooled = {"dedupe_pairwise_precision": round(precision, 4), "dedupe_pairwise_recall": round(recall, 4),
              "dedupe_pairwise_f1": round(_f1(precision, recall), 4),
              "assignment_accuracy": round(right / records, 4) if records else 1.0,
              "assignment_precision": round(good / linked, 4) if linked else 1.0,
              "assignment_recall": round(good / with_incident, 4) if with_incident else 1.0,
              "wall_seconds": round(time.perf_counter() - wall, 1), "cpu_seconds": round(time.process_time() - cpu, 1),
              "load_average": [round(x, 2) for x in os.getloadavg()]}
    if args.json:
        json.dump({"preset": args.preset, "people": args.people, "runs": results, "pooled": pooled}, sys.stdout, indent=2)
        sys.stdout.write("\n")
        return 0
    print(f"pooled over {len(results)} seeds: dedupe pairwise F1 {pooled['dedupe_pairwise_f1']:.3f} "
          f"(P {pooled['dedupe_pairwise_precision']:.3f} R {pooled['dedupe_pairwise_recall']:.3f}); "
          f"assignment accuracy {pooled['assignment_accuracy']:.3f} (P {pooled['assignment_precision']:.3f} "
          f"R {pooled['assignment_recall']:.3f}); {pooled['wall_seconds']} s wall, {pooled['cpu_seconds']} s CPU, "
          f"load average {pooled['load_average']}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
