"""A small linked and estimated case built by inserting rows straight into an empty store.

It holds three lists (two Arabic, one English), duplicates within a list, candidate pairs near
the threshold, a review decision, and an estimate run by age group and sex, so that every part of
the report has something to show without running the other stages.
"""

from __future__ import annotations

import json
from datetime import date, datetime, timedelta
from typing import Any

import numpy as np
import pandas as pd

from undercount.store import Case

GIVEN_AR = ["محمد", "أحمد", "محمود", "علي", "يوسف", "إبراهيم", "خالد", "عمر"]
GIVEN_F_AR = ["فاطمة", "مريم", "آمنة", "سارة", "نور", "هدى"]
FAMILY_AR = ["النجار", "الشوا", "أبو عمرة", "الكرد", "حماد", "السقا"]
LATIN = {"محمد": "Mohammed", "أحمد": "Ahmad", "محمود": "Mahmoud", "علي": "Ali", "يوسف": "Yousef",
         "إبراهيم": "Ibrahim", "خالد": "Khaled", "عمر": "Omar", "فاطمة": "Fatima", "مريم": "Maryam",
         "آمنة": "Amna", "سارة": "Sara", "نور": "Nour", "هدى": "Huda", "النجار": "Al-Najjar",
         "الشوا": "Al-Shawa", "أبو عمرة": "Abu Amra", "الكرد": "Al-Kurd", "حماد": "Hammad", "السقا": "Al-Saqqa"}
PLACES = ["Gaza", "North Gaza", "Deir al-Balah", "Khan Younis", "Rafah"]
LISTS = {"hospital": 0.72, "survey": 0.42, "social": 0.35}
START = datetime(2026, 1, 1, 12, 0, 0)
ABOUT = {"hospital": ("وزارة الصحة - غزة", "Deaths registered by hospitals and morgues, with ID numbers"),
         "survey": ("A household survey team", None)}  # 'social' is not described


def _people(rng: np.random.Generator, n: int) -> pd.DataFrame:
    sex = rng.choice(["male", "female"], n, p=[0.58, 0.42])
    age = np.clip(rng.gamma(2.0, 14.0, n), 0, 95).astype(int)
    day = rng.choice(270, n, p=np.r_[np.full(60, 3.0), np.full(210, 1.0)] / 390)
    event = [date(2023, 10, 7) + timedelta(days=int(d)) for d in day]
    given = [rng.choice(GIVEN_AR if s == "male" else GIVEN_F_AR) for s in sex]
    father, grand = rng.choice(GIVEN_AR, n), rng.choice(GIVEN_AR, n)
    family = rng.choice(FAMILY_AR, n)
    return pd.DataFrame({
        "sex": sex, "age": age, "event_date": event, "place": rng.choice(PLACES, n, p=[.3, .2, .15, .2, .15]),
        "status": rng.choice(["killed", "injured", "missing", "detained"], n, p=[.84, .05, .08, .03]),
        "cause": rng.choice(["direct_violence", "starvation", "disease", "other", "unknown"], n,
                            p=[.8, .05, .05, .04, .06]),
        "name": [f"{g} {f} {gf} {fa}" for g, f, gf, fa in zip(given, father, grand, family)],
        "id_number": [f"{rng.integers(4e8, 9e8):09d}" for _ in range(n)],
    })


def _records(rng: np.random.Generator, people: pd.DataFrame) -> pd.DataFrame:
    rows = []
    for source, p in LISTS.items():
        child = people["age"] < 18
        prob = np.where(child & (source == "social"), p * 0.4, p)
        caught = people[rng.random(len(people)) < prob]
        dup = caught[rng.random(len(caught)) < (0.04 if source == "hospital" else 0.01)]
        listed = pd.concat([caught, dup]).sample(frac=1.0, random_state=int(rng.integers(1e6)))
        for row, (person, rec) in enumerate(listed.iterrows(), start=1):
            name = rec["name"]
            if source == "social":
                for arabic, latin in sorted(LATIN.items(), key=lambda kv: -len(kv[0])):
                    name = name.replace(arabic, latin)
            rows.append({"source": source, "row": row, "truth": person, "full_name": name,
                         "sex": rec["sex"], "age": rec["age"] + (int(rng.integers(-1, 2)) if source == "social" else 0),
                         "event_date": rec["event_date"], "place": rec["place"], "status": rec["status"],
                         "cause": rec["cause"], "id_number": rec["id_number"] if source == "hospital" else None})
    records = pd.DataFrame(rows)
    records.insert(0, "record_id", np.arange(1, len(records) + 1))
    return records


def _run(case: Case, con: Any, kind: str, minutes: int, params: dict[str, Any]) -> str:
    run_id = f"{kind}-2026010{minutes % 10}T12{minutes:02d}00000000-{kind[:4]}"
    con.execute("INSERT INTO uc_runs (run_id, kind, started_at, finished_at, username, params, summary, version) "
                "VALUES (?, ?, ?, ?, 'tester', ?, '{}', '0.1.0')",
                [run_id, kind, START + timedelta(minutes=minutes), START + timedelta(minutes=minutes, seconds=30),
                 json.dumps(params)])
    return run_id


def _insert_lists(case: Case, con: Any, records: pd.DataFrame) -> None:
    for k, source in enumerate(LISTS):
        run = _run(case, con, "import", k, {"file": f"{source}.csv", "seed": None})
        part = records[records["source"] == source]
        digest = f"{k + 1:x}" * 64
        con.execute("INSERT INTO uc_sources VALUES (?, ?, ?, ?, ?, 'csv', 'utf-8', 1, ?, '{}', NULL, ?, ?, ?, ?)",
                    [source, digest, f"{source}.csv", f"sources/{digest}.csv", 1000 * len(part), len(part),
                     START + timedelta(minutes=k), run, *ABOUT.get(source, (None, None))])
        for rec in part.itertuples():
            con.execute(
                "INSERT INTO uc_records (record_id, source, \"row\", file_hash, raw, full_name, script, id_number, "
                "id_valid, sex, age, event_date, place, status, cause, reported_date, run_id) "
                "VALUES (?, ?, ?, ?, '{}', ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                [rec.record_id, source, rec.row, digest, rec.full_name, "latin" if source == "social" else "arabic",
                 rec.id_number, rec.id_number is not None, rec.sex, int(rec.age), rec.event_date, rec.place,
                 rec.status, rec.cause, rec.event_date + timedelta(days=3), run])


def _insert_links(case: Case, con: Any, rng: np.random.Generator, records: pd.DataFrame) -> pd.Series:
    run = _run(case, con, "link", 5, {"engine": "duckdb", "threshold": 0.9, "seed": 11})
    person = records.groupby("truth")["record_id"].transform("min").map(lambda r: f"P{r:09d}")
    for rid, pid in zip(records["record_id"], person):
        con.execute("INSERT INTO uc_clusters VALUES (?, ?, ?, ?)", [run, int(rid), pid, 1.0])
    pairs = []
    for _, group in records.groupby("truth"):
        ids = sorted(group["record_id"])
        pairs += [(a, b, float(rng.uniform(0.93, 1.0))) for i, a in enumerate(ids) for b in ids[i + 1:]]
    near = rng.choice(records["record_id"], (140, 2))
    pairs += [(int(min(a, b)), int(max(a, b)), float(rng.uniform(0.05, 0.9))) for a, b in near if a != b]
    for a, b, p in pairs:
        con.execute("INSERT INTO uc_pairs VALUES (?, ?, ?, ?, ?, '{}')", [run, a, b, float(np.log2(p / (1 - p + 1e-9))), p])
    con.execute("INSERT INTO uc_link_models VALUES (?, 'duckdb', 0.9, '{}')", [run])
    a, b, _ = next(p for p in pairs if 0.45 < p[2] < 0.9)
    con.execute("INSERT INTO uc_decisions VALUES (1, ?, ?, 'different', 'reviewer', ?, ?, NULL)",
                [a, b, START + timedelta(minutes=6), run])
    return person


AGE_GROUPS = [("0-17", 0, 17), ("18-59", 18, 59), ("60+", 60, 200)]


def _judged(total: dict[str, Any], lists: int) -> dict[str, Any]:
    """The range across models and the verdict of a total, as estimate_with_linkage stores them."""
    from undercount.estimate.models import ModelFit, ModelRange
    from undercount.estimate.results import EstimateResult
    from undercount.estimate.verdict import judge

    est, lo, hi = total["estimate"], total["lower"], total["upper"]
    fits = (
        ModelFit("headline: auto (by age group, sex)", "auto", "stratified", "age group, sex", est, lo, hi, headline=True),
        ModelFit("log-linear [12,13], no strata (best BIC)", "loglinear", "[12,13]", "none", est * 0.97, est * 0.92, est * 1.05),
        ModelFit("LCMCR (latent classes), no strata", "lcmcr", "K=10", "none", est * 1.02, est * 0.94, est * 1.21),
        ModelFit("Chao's lower bound, no strata", "chao", "Mth Chao", "none", est * 0.9, est * 0.85, est * 0.97,
                 admissible=False, note="a floor"),
    )
    spread = ModelRange(fits, est * 0.92, est * 1.21, fits[1].label, fits[2].label, chao_lower=est * 0.9)
    result = EstimateResult("auto", total["documented"], est, lo, hi, details=total["details"])
    return {"range": spread.to_dict(), "verdict": judge(result, lists=lists, models=spread).to_dict()}


def _breakdowns(persons: pd.DataFrame) -> dict[str, Any]:
    """Estimates by period and by place, as estimate_with_linkage stores them (a merged sparse quarter included)."""
    from undercount.estimate.breakdowns import Breakdown, BreakdownRow
    from undercount.estimate.results import EstimateResult
    from undercount.estimate.verdict import judge

    quarter = pd.to_datetime(persons["event_date"]).dt.to_period("Q").astype(str)
    quarter = quarter.where(~quarter.isin(["2024Q2", "2024Q3"]), "2024Q2+2024Q3")  # merged: too sparse alone
    made = {}
    for by, values in (("period", quarter), ("place", persons["place"])):
        rows = []
        for label, documented in sorted(values.value_counts().items()):
            est = documented * (1.5 if label == "North Gaza" else 1.25)
            upper = None if label == "Rafah" else est * 1.2  # a place three lists cannot bound
            result = EstimateResult("loglinear", int(documented), est, est * 0.9, upper, model="[12,13]")
            rows.append(BreakdownRow(str(label), result, 3, judge(result, lists=3)))
        made[by] = Breakdown(by, True, f"killed estimated by {by} alone", 1.0, tuple(rows),
                             EstimateResult("stratified", len(persons), sum(r.result.estimate or 0 for r in rows),
                                            None, None)).to_dict()
    return made


def _insert_estimates(case: Case, con: Any, records: pd.DataFrame, person: pd.Series, *, broken: bool) -> None:
    batch = "batch-fixture"
    run = _run(case, con, "estimate", 7, {"by": ["age_group", "sex"], "method": "auto", "seed": 3, "link_draws": 20,
                                          "batch": batch, "population": {"status": "killed", "label": "killed"}})
    persons = records.assign(person=person).groupby("person").first()
    rows = []
    for label, lo, hi in AGE_GROUPS:
        for sex in ("female", "male"):
            documented = int(((persons["age"] >= lo) & (persons["age"] <= hi) & (persons["sex"] == sex)).sum())
            est = documented * (1.45 if lo == 0 else 1.25)
            result: dict[str, Any] = {"method": "loglinear", "documented": documented, "estimate": est,
                                      "lower": est * 0.9, "upper": est * 1.2, "level": 0.95, "model": "[12,13]",
                                      "warnings": [], "estimable": True, "reason": None,
                                      "details": {"linkage": {"linkage_share": 0.21}}}
            if broken and label == "60+" and sex == "male":
                result.update(estimate=None, lower=None, upper=None, estimable=False,
                              reason="fewer than 5 persons on two or more lists",
                              warnings=["not estimable: fewer than 5 persons on two or more lists"])
            elif label == "60+" and sex == "female":
                result.update(upper=None, warnings=["sparse table: the interval has no finite upper limit"])
            rows.append((f"age_group={label}|sex={sex}", result))
    ests = [r for _, r in rows if r["estimable"]]
    total_est = sum(r["estimate"] for r in ests)
    inherited = [w for r in ests for w in r["warnings"]]  # as estimate_case does: the total carries its strata's
    rows.append(("total", {"method": "loglinear", "documented": len(persons), "estimate": total_est,
                           "lower": total_est * 0.93, "upper": total_est * 1.12, "level": 0.95, "model": "stratified",
                           "warnings": [*inherited, "three lists cannot test all dependence between lists"],
                           "estimable": True, "reason": None, "details": {"linkage": {
                               "linkage_share": 0.18, "draws": 20, "uncertain_pairs": 140, "best_estimate": total_est * 0.98,
                               "best_lower": total_est * 0.95, "best_upper": total_est * 1.08,
                               "documented_min": len(persons) - 6, "documented_median": len(persons) - 2.0,
                               "documented_max": len(persons) + 1}}}))
    rows[-1][1]["details"].update(_judged(rows[-1][1], len(LISTS)), breakdowns=_breakdowns(persons))
    injured = int((persons["status"] == "injured").sum())
    other = _run(case, con, "estimate", 8, {"by": [], "method": "auto", "seed": 3, "link_draws": 20, "batch": batch,
                                            "population": {"status": "injured", "label": "injured"}})
    hurt = {"method": "auto", "documented": injured, "estimate": injured * 1.6, "lower": injured * 1.2,
            "upper": None, "level": 0.95, "model": "lcmcr K=10", "warnings": [], "estimable": True, "reason": None,
            "details": {}}
    hurt["details"].update(_judged(hurt, len(LISTS)))
    for run_id, stratum, r in [*((run, s, r) for s, r in rows), (other, "total", hurt)]:
        con.execute("INSERT INTO uc_estimates VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                    [run_id, stratum, r["method"], r["documented"], r["estimate"], r["lower"], r["upper"],
                     json.dumps(r)])


def build_case(path: Any, *, people: int = 700, seed: int = 7, broken: bool = False) -> Case:
    """A linked and estimated case at ``path`` with a few hundred synthetic persons.

    Args:
        path: the new case folder.
        people: true persons before capture.
        seed: random seed.
        broken: make one stratum not estimable.
    """
    rng = np.random.default_rng(seed)
    case = Case.init(path)
    records = _records(rng, _people(rng, people))
    with case.transaction() as con:
        _insert_lists(case, con, records)
        person = _insert_links(case, con, rng, records)
        _insert_estimates(case, con, records, person, broken=broken)
    return case


def fixture_register(case: Case) -> pd.DataFrame:
    """A register of the fixture case (first record's values per person), as build_register returns."""
    records = case.query(
        "SELECT c.person_id, r.* FROM uc_clusters c JOIN uc_records r USING (record_id) ORDER BY r.record_id")
    grouped = records.groupby("person_id", sort=True)
    register = grouped[["full_name", "id_number", "sex", "age", "event_date", "place", "status", "cause"]].first()
    register["sources"] = grouped["source"].agg(lambda s: sorted(set(s)))
    register["n_records"] = grouped.size()
    return register.reset_index()


def fixture_audit(case: Case) -> dict[str, dict[str, Any]]:
    """An audit of the fixture case's lists in the shape audit_case(...).to_dict()['lists'] gives."""
    counts = case.query("SELECT source, count(*) AS n, count(*) FILTER (WHERE age IS NULL) AS missing_age "
                        "FROM uc_records GROUP BY source")
    return {s: {"rows": int(n), "invalid_ids": 0, "missing_age": int(m), "missing_sex": 0, "duplicate_ids": 0}
            for s, n, m in counts.itertuples(index=False)}
