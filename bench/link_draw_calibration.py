"""Are the linkage draws calibrated, and where does the linkage itself lose true matches? (issue 8)

For each level of linkage difficulty of bench/link_uncertainty.py (simulator error_scale 0.5, 2
and 4), simulate cases with a known truth, import, link and draw linkages as
``estimate_with_linkage`` does. Prints two tables:

1. reliability per probability bin of the stored candidate pairs: how many pairs, their mean
   model probability, the share that are true matches, and the share of draws in which the two
   records end up as one person (after clustering under the chaining guard). Calibrated draws
   have the three columns close: a pair at 0.3 is a true match, and is linked, about 30% of the
   time.
2. per level, what bounds the draws: true record pairs, the share of them among the stored
   candidate pairs (the others are never drawn), and the documented persons of the truth, of the
   best linkage, of the draws (median), and of the oracle that links exactly the true candidate
   pairs under the same guard (the fewest persons any draw could reach).

3. the calibration curve per pair of lists: the same reliability in deciles of probability, for
   each level and pair of lists ('a x a' holds a list's duplicates); a decile holding 200 pairs or
   more whose share of true matches is more than 0.05 from its mean probability is marked '*'
   (the target of issue 13).

``--case DIR --truth CSV`` prints the per-pair-of-lists curve of a case already linked (the
gaza-like preset of bench/link_bench.py, a case of bench/end_to_end.py), with the share linked in
``--draws`` draws.

Usage:
    .venv/bin/python bench/link_draw_calibration.py [--cases 12] [--people 200] [--draws 20]
        [--workers 2] [--floor 0.01]
    .venv/bin/python bench/link_draw_calibration.py --case WORK/case --truth WORK/lists/truth.csv [--draws 20]
"""

from __future__ import annotations

import sys
import tempfile
import time
import warnings
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from link_uncertainty import LEVELS, case_options, level_config  # the same levels and cases

BINS = [0.0, 0.01, 0.05, 0.1, 0.2, 0.3, 0.5, 0.7, 0.9, 0.99, 1 - 1e-6, 1.0 + 1e-9]
DECILES = [0.0, 0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 1.0 + 1e-9]
MIN_PAIRS = 200
TOLERANCE = 0.05


def one_case(args: tuple[str, float, int, int, int, float]) -> tuple[pd.DataFrame, dict[str, object]]:
    level, factor, seed, people, n_draws, floor = args
    warnings.simplefilter("ignore")
    from undercount.link import link_case
    from undercount.link.clusters import cluster_records
    from undercount.link.model import LinkOptions
    from undercount.simulate import simulate
    from undercount.simulate.load import import_simulation
    from undercount.store import Case

    with tempfile.TemporaryDirectory() as tmp:
        simulate(Path(tmp) / "sim", config=level_config(people, factor), seed=seed)
        case = Case.init(Path(tmp) / "case")
        import_simulation(case, Path(tmp) / "sim")
        link_case(case, options=LinkOptions(floor=floor))
        truth = pd.read_csv(Path(tmp) / "sim" / "truth.csv").rename(columns={"list": "source", "person_id": "true"})
        clusters = case.clusters().merge(truth, on=["source", "row"])
        true_person = clusters.set_index("record_id")["true"]
        pairs, draws = scored_pairs(case, true_person, n_draws, seed)
        pairs["level"] = level
        records = case.records(columns=["record_id", "source", "sex", "id_number", "id_valid"])
        pairs["lists"] = _list_pairs(pairs, records)
        oracle = cluster_records(records, pairs[pairs["match"]].assign(probability=1.0), threshold=0.5,
                                 must_link=[], cannot_link=[])
        members = clusters.groupby("true")["record_id"].size()
        summary: dict[str, object] = {
            "level": level, "seed": seed,
            "true_pairs": int((members * (members - 1) // 2).sum()),
            "candidate_true_pairs": int(pairs["match"].sum()),
            "true_persons": int(true_person.nunique()),
            "best_persons": int(clusters["person_id"].nunique()),
            "draw_persons": float(np.median([p.nunique() for p in draws])) if draws else np.nan,
            "oracle_persons": int(oracle.nunique()),
        }
        return pairs[["level", "lists", "probability", "match", "linked_in_draws"]], summary


def scored_pairs(case: Any, true_person: pd.Series, n_draws: int, seed: int) -> tuple[pd.DataFrame, list[pd.Series]]:
    """The current link run's candidate pairs with their truth (``match``) and the share of
    ``n_draws`` linkage draws that put the two records in one person (``linked_in_draws``); and the draws."""
    from undercount.link.draws import draw_linkages

    pairs = case.pairs(case.current_run("link"))[["record_id_l", "record_id_r", "probability"]].copy()
    left, right = pairs["record_id_l"].to_numpy(), pairs["record_id_r"].to_numpy()
    pairs["match"] = true_person.reindex(left).to_numpy() == true_person.reindex(right).to_numpy()
    draws: list[pd.Series] = draw_linkages(case, n_draws, seed=seed).assignments
    linked = np.zeros(len(pairs))
    for person in draws:
        linked += person.reindex(left).to_numpy() == person.reindex(right).to_numpy()
    pairs["linked_in_draws"] = linked / max(len(draws), 1)
    return pairs, draws


def _list_pairs(pairs: pd.DataFrame, records: pd.DataFrame) -> np.ndarray:
    source = records.set_index("record_id")["source"].astype(str)
    left = source.reindex(pairs["record_id_l"].to_numpy()).to_numpy(dtype=object)
    right = source.reindex(pairs["record_id_r"].to_numpy()).to_numpy(dtype=object)
    return np.array([" x ".join(sorted((str(a), str(b)))) for a, b in zip(left, right)], dtype=object)


def curve_by_lists(pairs: pd.DataFrame, keys: list[str]) -> pd.DataFrame:
    """Reliability in deciles per group (``keys``, e.g. level and lists), with the target's flag."""
    frame = pairs.assign(decile=pd.cut(pairs["probability"], DECILES, right=False))
    table = frame.groupby([*keys, "decile"], observed=True).agg(
        pairs=("match", "size"), mean_probability=("probability", "mean"), share_true=("match", "mean"),
        linked_in_draws=("linked_in_draws", "mean"))
    gap = (table["share_true"] - table["mean_probability"]).abs()
    table["off"] = np.where((table["pairs"] >= MIN_PAIRS) & (gap > TOLERANCE), "*", "")
    return table


def one_linked_case(case_dir: Path, truth_csv: Path, n_draws: int, seed: int) -> pd.DataFrame:
    """The candidate pairs of a linked case with their truth and the share linked in the draws."""
    from undercount.store import Case

    case = Case.open(case_dir)
    truth = pd.read_csv(truth_csv, dtype={"list": str, "person_id": str}).rename(columns={"list": "source"})
    records = case.records(columns=["record_id", "source", "row", "sex", "id_number", "id_valid"])
    true_person = records.merge(truth, on=["source", "row"]).set_index("record_id")["person_id"]
    pairs, _ = scored_pairs(case, true_person, n_draws, seed)
    pairs["lists"] = _list_pairs(pairs, records)
    return pairs


def main() -> int:
    parser = case_options(__doc__, 12, "simulated cases per level", 200)
    parser.add_argument("--floor", type=float, default=0.01, help="link floor: pairs below it are not stored")
    parser.add_argument("--case", type=Path, default=None, help="a linked case (with --truth)")
    parser.add_argument("--truth", type=Path, default=None, help="its truth: list,row,person_id")
    parser.add_argument("--seed", type=int, default=1)
    opts = parser.parse_args()
    if opts.case is not None:
        start = time.perf_counter()
        pairs = one_linked_case(opts.case, opts.truth, opts.draws, opts.seed)
        table = curve_by_lists(pairs, ["lists"])
        print(table.to_string(float_format=lambda v: f"{v:.3f}"))
        everything = curve_by_lists(pairs.assign(lists="all"), ["lists"])
        print(everything.to_string(float_format=lambda v: f"{v:.3f}"))
        flagged = int((table["off"] == "*").sum() + (everything["off"] == "*").sum())
        print(f"{len(pairs):,} candidate pairs, {opts.draws} draws; deciles with {MIN_PAIRS}+ pairs off by more than "
              f"{TOLERANCE}: {flagged}; in {time.perf_counter() - start:.0f} s")
        return 0
    start = time.perf_counter()
    jobs = [(level, factor, 1000 + i, opts.people, opts.draws, opts.floor)
            for i in range(opts.cases) for level, factor in LEVELS.items()]
    with ProcessPoolExecutor(max_workers=opts.workers) as pool:
        out = list(pool.map(one_case, jobs))
    pairs = pd.concat([p for p, _ in out], ignore_index=True)
    pairs["bin"] = pd.cut(pairs["probability"], BINS, right=False)
    pairs["level"] = pd.Categorical(pairs["level"], categories=list(LEVELS), ordered=True)
    reliability = pairs.groupby(["level", "bin"], observed=True).agg(
        pairs=("match", "size"), mean_probability=("probability", "mean"),
        share_true=("match", "mean"), linked_in_draws=("linked_in_draws", "mean"))
    print(reliability.to_string(float_format=lambda v: f"{v:.3f}"))
    summary = pd.DataFrame([s for _, s in out]).drop(columns="seed").groupby("level", sort=False).sum()
    summary.insert(2, "candidate_recall", summary["candidate_true_pairs"] / summary["true_pairs"])
    for col in ("best_persons", "draw_persons", "oracle_persons"):
        summary[col.replace("_persons", "_over_true")] = summary[col] / summary["true_persons"]
    print()
    print(curve_by_lists(pairs, ["level", "lists"]).to_string(float_format=lambda v: f"{v:.3f}"))
    print()
    print(summary.to_string(float_format=lambda v: f"{v:.3f}"))
    print(f"{opts.cases} cases per level of {opts.people} people, {opts.draws} draws, floor {opts.floor}, "
          f"in {time.perf_counter() - start:.0f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
