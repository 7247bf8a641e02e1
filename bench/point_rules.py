"""auto's point against alternative point rules, on the calibration's tables (issue 13, session 15).

The question: with three lists, heterogeneity that every list shares (a class of people hard to list
everywhere) is the three-way interaction no table can identify, and auto's point leaves it out: LCMCR's
posterior median, or in the negative-dependence branch the criterion-best log-linear model holding the
pair (docs/end-to-end.md, session 12: -1.9% on average on the end-to-end bench's true tables). Would a
point that takes Rcapture's Gamma(3.5) heterogeneity fit in do better? Decided here on tables that were
not built for the end-to-end bench: every table of ``bench/mse_calibration.py`` (its generator, seed 0
and LCMCR options), its scenarios, and three-list tables with a negatively dependent pair given (the
pair L1 x L2 at -0.8 on L2's log odds for people on L1, as a case's pooled test gives it) under seven
heterogeneity designs. For each table auto is fitted once and the rules' points read from its fits:

* P0 today's point;
* P1 in the dependence branch, the dependent model + Gamma column when auto keeps that fit;
* P2 in the dependence branch, the dependent model and its Gamma fit averaged by Akaike weight;
* P3 everywhere, the log-linear point (the dependent model in that branch, else the BIC-best) + Gamma column when kept;
* P4 everywhere, that log-linear point and its Gamma fit averaged by Akaike weight (LCMCR out of the point);
* P5 the mean of LCMCR's median and P4 where LCMCR is the point, P2 in the dependence branch.

The interval is auto's envelope under every rule (it holds every fit above): coverage moves only where
Chao's stretch of the upper end (the point below Chao's lower end) comes or goes, and the table counts
the tables where a rule's point would undo today's stretch (their unstretched upper end is not known here).

Prints per set and design: tables, the share in the dependence branch, auto's coverage, and each rule's
mean relative error (bias) and root mean square relative error, in % of N.

Run: .venv/bin/python bench/point_rules.py [--tables 120] [--scenarios 10] [--per 15] [--out rows.csv]
"""

from __future__ import annotations

import argparse
import math
import sys
import time
import warnings
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from undercount.estimate.auto import AutoOptions, _fixed_fits, estimate_table
from undercount.estimate.histories import capture_table, table_counts

sys.path.insert(0, str(Path(__file__).resolve().parent))
import mse_calibration as cal  # the calibration's generators and LCMCR options

RULES = ("P0", "P1", "P2", "P3", "P4", "P5")
PAIR = '[["L1","L2"]]'
BASE = np.array([0.6, 0.3, 0.3])  # the end-to-end bench's capture probabilities
DESIGNS = ("none", "class 20% at -0.7", "class 35% hard", "continuous sd 0.5", "continuous sd 1", "random classes",
           "children 30%")
SIZES = (500, 2000)


def _logit(p: np.ndarray) -> np.ndarray:
    out: np.ndarray = np.log(p / (1 - p))
    return out


def pair_table(rng: np.random.Generator, n: int, design: str) -> pd.DataFrame:
    """Three lists, L1 x L2 negatively dependent (-0.8), with the heterogeneity of ``design``."""
    logits = np.broadcast_to(_logit(BASE)[None, :], (n, 3)).copy()
    if design == "class 20% at -0.7":  # the end-to-end bench's latent class
        logits -= 0.7 * (rng.random(n) < 0.2)[:, None]
    elif design == "class 35% hard":  # mse_calibration's latent heterogeneity scenario
        hard = rng.random(n) < 0.35
        logits = np.where(hard[:, None], _logit(rng.uniform(0.08, 0.2, 3))[None, :], _logit(rng.uniform(0.35, 0.6, 3))[None, :])
    elif design.startswith("continuous"):
        logits += rng.normal(0.0, float(design.split()[-1]), n)[:, None]
    elif design == "random classes":  # mse_calibration's latent classes design
        classes = int(rng.integers(2, 4))
        weights = rng.dirichlet(np.full(classes, 2.0))
        probs = rng.uniform(0.1, 0.6, size=(classes, 3))
        probs[0] = rng.uniform(0.05, 0.25, size=3)
        logits = _logit(probs[rng.choice(classes, size=n, p=weights)])
    elif design == "children 30%":  # heterogeneity tied to age: lists 2 and 3 find children at 0.4 times
        child = rng.random(n) < 0.3
        logits = np.where(child[:, None], _logit(BASE * np.array([1.0, 0.4, 0.4]))[None, :], logits)
    elif design != "none":
        raise ValueError(f"unknown design {design!r}")
    first = rng.random(n) < 1 / (1 + np.exp(-logits[:, 0]))
    logits[:, 1] -= 0.8 * first
    caught = np.column_stack([first] + [rng.random(n) < 1 / (1 + np.exp(-logits[:, j])) for j in (1, 2)])
    return capture_table(pd.DataFrame(caught.astype(np.int8), columns=["L1", "L2", "L3"]))


def _akaike(best: float, other: float) -> float:
    """The Akaike weight of the fit of AIC ``other`` against the fit of AIC ``best`` (two fits)."""
    return 1.0 / (1.0 + math.exp(min((other - best) / 2, 700.0)))


def points(table: pd.DataFrame, seed: int, extra: dict[str, str]) -> dict[str, Any]:
    """auto's fit of ``table`` as the calibration fits it, and every rule's point from the same fits."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        auto = estimate_table(table, seed=seed, options={"lcmcr": cal.LCMCR, **extra})
        pairs = tuple((str(p[0]), str(p[1])) for p in auto.details.get("negative_pairs", []))
        options = AutoOptions(lcmcr=cal.LCMCR, **extra)  # type: ignore[arg-type]
        fixed = _fixed_fits(table, table_counts(table)[0], 0.95, seed, options, pairs)  # cached by auto's fit
    dependence = auto.details.get("point_method") == "loglinear" and fixed.dependent is not None and bool(pairs)
    model, hetero = (fixed.dependent, fixed.dependent_hetero) if dependence else (fixed.loglin, fixed.hetero)
    today = math.nan if auto.estimate is None else float(auto.estimate)
    plain = float(model.estimate) if model is not None and model.estimate is not None else today
    gamma = float(hetero.estimate) if hetero is not None and hetero.estimate is not None else plain
    weight = _akaike(model.details["aic"], hetero.details["aic"]) if model is not None and hetero is not None else 0.0
    averaged = plain + weight * (gamma - plain)
    lcmcr = auto.details["checks"].get("lcmcr", {}).get("estimate")
    chao = auto.details["checks"]["chao"]
    return {
        "documented": auto.documented, "lower": auto.lower, "upper": math.inf if auto.upper is None else auto.upper,
        "chao_lower": chao["lower"], "stretched": any("below Chao" in w for w in auto.warnings),
        "dependence": dependence, "gamma_kept": hetero is not None, "akaike_weight": weight,
        "P0": today, "P1": gamma if dependence else today, "P2": averaged if dependence else today, "P3": gamma,
        "P4": averaged, "P5": averaged if dependence or lcmcr is None else (float(lcmcr) + averaged) / 2,
    }


def run(tables: int, scenarios: int, per: int) -> pd.DataFrame:
    """One row per table: the calibration's ``tables`` (seed 0), ``scenarios`` of each scenario (seed 0),
    and ``per`` tables of each pair design and size (seed 15)."""
    rows: list[dict[str, Any]] = []
    rng = np.random.default_rng(0)  # as mse_calibration.run(tables, seed=0)
    for i in range(tables):
        n, k, design = int(rng.choice(cal.SIZES)), int(rng.choice(cal.LISTS)), str(rng.choice(cal.DESIGNS))
        table = cal.simulate_table(rng, n, k, design)
        rows.append({"set": "tables", "design": f"{design}, {k} lists", "n": n, "table": i, **points(table, i, {})})
    rng = np.random.default_rng(0)  # as mse_calibration.run_scenarios(scenarios, seed=0)
    for scenario in cal.SCENARIOS:
        size = cal.SCENARIO_SIZES.get(scenario, cal.SCENARIO_N)
        for i in range(scenarios):
            table = cal.scenario_table(rng, scenario, size)
            rows.append({"set": "scenarios", "design": scenario, "n": size, "table": i, **points(table, i, {})})
    rng = np.random.default_rng(15)
    for design in DESIGNS:
        for n in SIZES:
            for i in range(per):
                table = pair_table(rng, n, design)
                rows.append({"set": "pair given", "design": design, "n": n, "table": i,
                             **points(table, i, {"negative_pairs": PAIR})})
    return pd.DataFrame(rows)


def summarise(df: pd.DataFrame) -> pd.DataFrame:
    """Per set and design (and per set): coverage, each rule's bias and RMSE in % of N, stretches undone."""
    out = []
    groups = [*df.groupby(["set", "design"], sort=False), *(((s, "all"), g) for s, g in df.groupby("set", sort=False))]
    for (name, design), g in groups:
        row: dict[str, Any] = {"set": name, "design": design, "tables": len(g), "dependence": g["dependence"].mean(),
                               "covers": ((g["lower"] <= g["n"]) & (g["n"] <= g["upper"])).mean()}
        for rule in RULES:
            error = (g[rule] - g["n"]) / g["n"] * 100
            row[f"{rule} bias"] = error.mean()
            row[f"{rule} rmse"] = math.sqrt(float((error**2).mean()))
        undone = [int((g["stretched"] & (g[r] >= g["chao_lower"])).sum()) for r in ("P2", "P4")]
        row["stretch undone (P2, P4)"] = f"{undone[0]}, {undone[1]}"
        out.append(row)
    return pd.DataFrame(out)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tables", type=int, default=120, help="tables of mse_calibration's designs (seed 0)")
    parser.add_argument("--scenarios", type=int, default=10, help="tables per mse_calibration scenario (seed 0)")
    parser.add_argument("--per", type=int, default=15, help="tables per pair design and size (500, 2,000)")
    parser.add_argument("--out", help="write one row per table to this CSV")
    args = parser.parse_args()
    start = time.process_time()
    df = run(args.tables, args.scenarios, args.per)
    if args.out:
        df.to_csv(args.out, index=False)
    pd.set_option("display.width", 250)
    print(summarise(df).round(2).to_string(index=False))
    print(f"CPU {time.process_time() - start:.0f} s")


if __name__ == "__main__":
    main()
