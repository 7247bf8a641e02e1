"""Does pooling over linkage draws make the interval honest? (issue 8)

For each of three levels of linkage difficulty (recording-error rates scaled by 0.5, 2 and 4),
simulate cases with a known N, import, link, and estimate twice: from the single best linkage
(--link-draws 0) and pooled over linkage draws (--link-draws 20). Prints, per level and method,
how often each 95% interval covers the true N, median relative error and median width, and the
median share of the pooled interval that comes from linkage.

With ``--review N`` a simulated reviewer first decides, from the truth, the N candidate pairs
closest to probability 0.5 (the review app's order) and the case is re-clustered: the best
linkage applies the decisions, and the draws keep them and recalibrate the other pairs on them
(``--review-spread``: N pairs spread over the range of probabilities instead).
The default (0) is the headline: no one has reviewed anything.

The small preset holds the killed, the missing, the injured and the detained; the bench estimates
the killed (``--population killed``) against the simulation's number of people killed. Its lists
record some missing or injured people as killed (as real lists do), so the register's documented
killed exceed the truly killed on the lists (``documented_over_true`` above 1 even at F1 1.0).

Usage:
    .venv/bin/python bench/link_uncertainty.py [--cases 102] [--people 500] [--draws 20]
        [--workers 2] [--method auto] [--by none] [--review 0] [--out bench/out/link_uncertainty.csv]
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
import warnings
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import numpy as np
import pandas as pd

LEVELS = {"easy": 0.5, "medium": 2.0, "hard": 4.0}


def level_config(people: int, factor: float):  # type: ignore[no-untyped-def]
    """The simulator settings of one level: the small preset's design with ``factor`` as error scale."""
    from undercount.simulate import resolve_config

    return resolve_config(preset="small", people=people, config={"error_scale": factor})


def _review(case, truth: pd.DataFrame, n: int, spread: bool) -> None:  # type: ignore[no-untyped-def]
    """Decide ``n`` candidate pairs from the truth, as a reviewer would, and re-cluster.

    The pairs are the ``n`` closest to probability 0.5 (the review app's order), or with ``spread``
    ``n`` pairs evenly spaced over the ranks of the uncertain pairs' probabilities (a review across
    the range, as docs/linkage-uncertainty.md recommends for calibration).
    """
    from undercount.link import recluster

    run = case.current_run("link")
    person = case.clusters().merge(truth.rename(columns={"list": "source"}), on=["source", "row"])
    true_person = person.set_index("record_id")["person_id_y"]
    pairs = case.pairs(run)
    if spread:
        uncertain = pairs[(pairs["probability"] > 1e-6) & (pairs["probability"] < 1 - 1e-6)].sort_values("probability")
        pairs = uncertain.iloc[np.unique(np.linspace(0, len(uncertain) - 1, min(n, len(uncertain))).astype(int))]
    else:
        pairs = pairs.iloc[np.argsort(np.abs(pairs["probability"].to_numpy() - 0.5), kind="stable")[:n]]
    same = true_person.reindex(pairs["record_id_l"]).to_numpy() == true_person.reindex(pairs["record_id_r"]).to_numpy()
    with case.transaction() as con:
        for (lo, hi), yes in zip(pairs[["record_id_l", "record_id_r"]].itertuples(index=False), same):
            con.execute("INSERT INTO uc_decisions VALUES (nextval('uc_decision_seq'), ?, ?, ?, 'bench', now(), ?, NULL)",
                        [int(lo), int(hi), "same" if yes else "different", run])
    recluster(case, username="bench")


def one_case(args: tuple[str, float, int, int, int, str, str, int, bool, str | None]) -> dict[str, object]:
    level, factor, seed, people, draws, method, by, review, spread, workdir = args
    warnings.simplefilter("ignore")
    from undercount.estimate.linkage import estimate_with_linkage
    from undercount.estimate.population import parse_population
    from undercount.link import evaluate_links, link_case
    from undercount.simulate import simulate
    from undercount.simulate.load import import_simulation
    from undercount.store import Case

    with tempfile.TemporaryDirectory(dir=workdir) as tmp:
        sim = simulate(Path(tmp) / "sim", config=level_config(people, factor), seed=seed)
        case = Case.init(Path(tmp) / "case")
        import_simulation(case, Path(tmp) / "sim")
        t0 = time.perf_counter()
        link_case(case)
        truth = pd.read_csv(Path(tmp) / "sim" / "truth.csv")
        if review:
            _review(case, truth, review, spread)
        f1 = evaluate_links(case, Path(tmp) / "sim" / "truth.csv").to_dict().get("pairwise_f1")
        # the small preset holds the killed and the missing: estimate the killed, as a user would
        true_n = int(sim.manifest["true_n_by"]["status"]["killed"])
        killed = parse_population("killed", None)
        people_of = pd.read_csv(Path(tmp) / "sim" / "truth_population.csv", usecols=["person_id", "status"])
        dead = truth["person_id"].isin(people_of.loc[people_of["status"] == "killed", "person_id"])
        row: dict[str, object] = {"level": level, "seed": seed, "true_n": true_n, "pairwise_f1": f1,
                                  "true_documented": int(truth.loc[dead, "person_id"].nunique())}
        for label, n_draws in (("best", 0), ("pooled", draws)):
            res = estimate_with_linkage(case, link_draws=n_draws, seed=seed, method=method, by=by, store=False,
                                        population=killed).total
            row[f"{label}_documented"] = res.documented
            row[f"{label}_estimate"] = res.estimate
            row[f"{label}_lower"] = res.lower
            row[f"{label}_upper"] = res.upper
            row[f"{label}_covers"] = bool(
                res.estimate is not None and res.lower is not None and res.lower <= true_n
                and (res.upper is None or true_n <= res.upper)
            )
            if label == "pooled":
                info = res.details.get("linkage", {})
                row["linkage_share"] = info.get("linkage_share")
                row["draws_documented_median"] = info.get("documented_median")
        row["seconds"] = time.perf_counter() - t0
        return row


def case_options(doc: str | None, cases: int, cases_help: str, people: int) -> argparse.ArgumentParser:
    """The options the linkage-uncertainty benches share: cases, people per case, draws, workers."""
    parser = argparse.ArgumentParser(description=doc, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--cases", type=int, default=cases, help=cases_help)
    parser.add_argument("--people", type=int, default=people)
    parser.add_argument("--draws", type=int, default=20)
    parser.add_argument("--workers", type=int, default=2)
    return parser


def main() -> int:
    parser = case_options(__doc__, 102, "simulated cases in all (split over 3 levels)", 500)
    parser.add_argument("--method", default="auto")
    parser.add_argument("--by", default="none", help="strata (none: one table per case, the fastest)")
    parser.add_argument("--review", type=int, default=0, help="pairs a simulated reviewer decides first")
    parser.add_argument("--review-spread", action="store_true",
                        help="review pairs spread over the range of probabilities (default: closest to 0.5)")
    parser.add_argument("--out", default="bench/out/link_uncertainty.csv")
    parser.add_argument("--workdir", default=None, help="folder for the cases' temporary folders")
    parser.add_argument("--resume", action="store_true", help="keep the rows already in --out, run the others")
    parser.add_argument("--summarise", default=None, help="only print the table of an earlier run's CSV")
    opts = parser.parse_args()
    if opts.summarise:
        print(summarise(pd.read_csv(opts.summarise)))
        return 0
    per_level = max(1, opts.cases // len(LEVELS))
    # levels interleaved, rows written as they come: a run stopped early still has all levels
    jobs = [(level, factor, 1000 + i, opts.people, opts.draws, opts.method, opts.by, opts.review, opts.review_spread,
             opts.workdir)
            for i in range(per_level) for level, factor in LEVELS.items()]
    start = time.perf_counter()
    rows: list[dict[str, object]] = []
    if opts.resume and Path(opts.out).exists():
        rows = pd.read_csv(opts.out).to_dict("records")
        done = {(str(r["level"]), int(r["seed"])) for r in rows}  # type: ignore[call-overload]
        jobs = [job for job in jobs if (job[0], job[2]) not in done]
    Path(opts.out).parent.mkdir(parents=True, exist_ok=True)
    with ProcessPoolExecutor(max_workers=opts.workers) as pool:
        for k, row in enumerate(pool.map(one_case, jobs), 1):
            rows.append(row)
            pd.DataFrame(rows).to_csv(opts.out, index=False)
            print(f"[{len(rows)}/{len(rows) + len(jobs) - k}] {row['level']} seed {row['seed']}: best covers {row['best_covers']}, "
                  f"pooled covers {row['pooled_covers']}, F1 {row['pairwise_f1']:.3f}, {row['seconds']:.0f}s",
                  file=sys.stderr, flush=True)
    print(summarise(pd.DataFrame(rows)))
    print(f"{len(rows)} cases ({opts.people} people, {opts.draws} draws, {opts.review} reviewed pairs"
          f"{', spread' if opts.review_spread else ''}) in "
          f"{time.perf_counter() - start:.0f} s with {opts.workers} workers "
          f"(cpus {os.cpu_count()}); rows in {opts.out}")
    return 0


def summarise(frame: pd.DataFrame) -> str:
    """The table per level and linkage (best, pooled) of a frame of case rows."""
    summary = []
    for level, grp in list(frame.groupby("level", sort=False)) + [("all", frame)]:
        for label in ("best", "pooled"):
            est = grp[f"{label}_estimate"].astype(float)
            width = grp[f"{label}_upper"].astype(float) - grp[f"{label}_lower"].astype(float)
            summary.append({
                "level": level, "linkage": label, "cases": len(grp),
                "coverage": grp[f"{label}_covers"].mean(),
                "median_rel_error": float(np.median(np.abs(est - grp["true_n"]) / grp["true_n"])),
                "median_width_over_n": float(np.nanmedian(width / grp["true_n"])),
                "no_finite_upper": float(grp[f"{label}_upper"].isna().mean()),
                "median_pairwise_f1": float(grp["pairwise_f1"].median()),
                "documented_over_true": float(np.median(grp[f"{label}_documented"] / grp["true_documented"])),
                "median_linkage_share": float(grp["linkage_share"].astype(float).median()) if label == "pooled" else None,
            })
    return pd.DataFrame(summary).to_string(index=False, float_format=lambda v: f"{v:.3f}")


if __name__ == "__main__":
    sys.exit(main())
