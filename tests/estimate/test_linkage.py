"""Estimates pooled over linkage draws (issue 8): equal to the plain one when links are certain, wider otherwise."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

from undercount.cli.app import app
from undercount.estimate.case import estimate_case
from undercount.estimate.linkage import estimate_with_linkage
from undercount.estimate.thresholds import linkage_at
from undercount.report.data import read_estimates
from undercount.report.summary import headline
from undercount.store import Case


def _builder():  # type: ignore[no-untyped-def]
    """build_linked_case from this folder's conftest (tests/estimate is not a package)."""
    import importlib.util

    spec = importlib.util.spec_from_file_location("estimate_conftest", Path(__file__).with_name("conftest.py"))
    module = importlib.util.module_from_spec(spec)  # type: ignore[arg-type]
    spec.loader.exec_module(module)  # type: ignore[union-attr]
    return module.build_linked_case


build_linked_case = _builder()

OPTIONS = {"method": "loglinear", "by": "none"}


def _add_pairs(case: Case, pairs: pd.DataFrame) -> None:
    frame = pairs.assign(run_id="link-1", match_weight=0.0, evidence="{}")
    with case.transaction() as con:
        con.register("new_pairs", frame)
        con.execute("INSERT INTO uc_pairs BY NAME SELECT * FROM new_pairs")
        con.unregister("new_pairs")


def _true_pairs(case: Case) -> pd.DataFrame:
    """Every within-person pair of the case's current (true) clusters."""
    clusters = case.clusters()[["record_id", "person_id"]]
    both = clusters.merge(clusters, on="person_id", suffixes=("_l", "_r"))
    both = both[both["record_id_l"] < both["record_id_r"]]
    return both[["record_id_l", "record_id_r"]].reset_index(drop=True)


def _sibling_pairs(case: Case, n: int, seed: int) -> pd.DataFrame:
    """``n`` pairs of records of different persons on different lists (false candidates)."""
    clusters = case.clusters()
    left = clusters[clusters["source"] == "hospital"].sample(n, random_state=seed)
    right = clusters[clusters["source"] == "survey"].sample(n, random_state=seed + 1)
    keep = left["person_id"].to_numpy() != right["person_id"].to_numpy()
    lo, hi = left["record_id"].to_numpy()[keep], right["record_id"].to_numpy()[keep]
    return pd.DataFrame({"record_id_l": np.minimum(lo, hi), "record_id_r": np.maximum(lo, hi)})


@pytest.fixture(scope="module")
def certain_case(tmp_path_factory: pytest.TempPathFactory) -> Case:
    case, _ = build_linked_case(tmp_path_factory.mktemp("lk") / "certain", people=800, seed=3)
    true = _true_pairs(case).assign(probability=1.0)
    false = _sibling_pairs(case, 40, seed=3).assign(probability=0.0)
    _add_pairs(case, pd.concat([true, false], ignore_index=True))
    return case


@pytest.fixture(scope="module")
def uncertain_case(tmp_path_factory: pytest.TempPathFactory) -> tuple[Case, int]:
    return _with_uncertain_pairs(tmp_path_factory.mktemp("lk") / "uncertain", seed=4, false_probability=0.2)


def _with_uncertain_pairs(folder: Path, *, seed: int, false_probability: float) -> tuple[Case, int]:
    """800 people linked by hand: 30% of the true pairs at 0.7, the rest at 0.999999999, and 60 sibling
    pairs (false) at ``false_probability``."""
    case, people = build_linked_case(folder, people=800, seed=seed)
    true = _true_pairs(case)
    rng = np.random.default_rng(seed)
    true["probability"] = np.where(rng.random(len(true)) < 0.3, 0.7, 0.999999999)
    false = _sibling_pairs(case, 60, seed=seed).assign(probability=false_probability)
    _add_pairs(case, pd.concat([true, false], ignore_index=True))
    return case, people


def test_all_certain_links_give_the_plain_result(certain_case: Case) -> None:
    plain = estimate_case(certain_case, seed=5, store=False, **OPTIONS).total
    # Without the correction for missed links (which has its own tests), certain links leave nothing to pool.
    pooled = estimate_with_linkage(certain_case, link_draws=5, seed=5, store=False, correction="none", **OPTIONS).total
    assert pooled.details["linkage"] == {"draws": 0, "uncertain_pairs": 0}
    strip = {k: v for k, v in pooled.to_dict().items() if k != "details"}
    assert strip == {k: v for k, v in plain.to_dict().items() if k != "details"}
    assert pooled.estimate == plain.estimate and pooled.lower == plain.lower and pooled.upper == plain.upper


def test_pooled_interval_holds_the_best_and_reports_the_linkage(uncertain_case: tuple[Case, int]) -> None:
    case, _ = uncertain_case
    result = estimate_with_linkage(case, link_draws=6, seed=2, store=True, **OPTIONS)
    total = result.total
    info = total.details["linkage"]
    assert info["draws"] == 6 and info["uncertain_pairs"] > 0
    assert info["calibration"]["rule"] == "model"
    # false candidates at 0.2 and true ones at 0.7 make the documented count vary across draws
    assert info["documented_min"] < info["documented_max"]
    assert total.lower <= info["best_lower"] and total.upper >= info["best_upper"]
    assert total.upper - total.lower >= info["best_upper"] - info["best_lower"]
    assert 0.0 <= info["linkage_share"] <= 1.0
    assert info["variance_share"] >= info["linkage_share"]
    # stored: the report reads the share back
    rows, run = read_estimates(case)
    assert run["run_id"] == result.run_id
    stored = rows.loc[rows["is_total"], "linkage"].iloc[0]
    assert stored["linkage_share"] == pytest.approx(info["linkage_share"])
    assert headline(total.documented, rows).linkage_share == pytest.approx(info["linkage_share"])


def test_same_seed_same_pooled_result(uncertain_case: tuple[Case, int]) -> None:
    case, _ = uncertain_case
    first = estimate_with_linkage(case, link_draws=3, seed=9, store=False, **OPTIONS).total
    again = estimate_with_linkage(case, link_draws=3, seed=9, store=False, **OPTIONS).total
    assert first.to_dict() == again.to_dict()


def test_pooled_result_says_how_its_strata_were_chosen(uncertain_case: tuple[Case, int]) -> None:
    # No --by: the default rule chose the strata, and the pooled result must not say "as asked".
    case, _ = uncertain_case
    best = estimate_case(case, seed=2, imputations=2, store=False, method="loglinear")
    pooled = estimate_with_linkage(case, link_draws=2, seed=2, imputations=2, store=False, method="loglinear")
    assert best.why and best.why != "as asked"
    assert pooled.by == best.by and pooled.why == best.why
    assert pooled.to_dict()["by_why"] == best.why


def test_cli_link_draws(uncertain_case: tuple[Case, int], certain_case: Case) -> None:
    case, _ = uncertain_case
    runner = CliRunner()
    out = runner.invoke(app, ["estimate", str(case.path), "--method", "loglinear", "--by", "none",
                              "--link-draws", "3", "--json"])
    assert out.exit_code == 0, out.output
    data = json.loads(out.output)
    assert data["details"]["linkage"]["draws"] == 3
    assert 0.0 <= data["details"]["linkage"]["linkage_share"] <= 1.0
    plain = runner.invoke(app, ["estimate", str(Path(certain_case.path)), "--method", "loglinear", "--by", "none"])
    assert plain.exit_code == 0, plain.output
    assert "no uncertain links" in plain.output


@pytest.fixture(scope="module")
def threshold_case(tmp_path_factory: pytest.TempPathFactory) -> Case:
    """True pairs at 0.999999999 or 0.7, false candidates at 0.4, linked at 0.5 (a stored link model)."""
    case, _ = _with_uncertain_pairs(tmp_path_factory.mktemp("lk") / "thresholds", seed=6, false_probability=0.4)
    with case.transaction() as con:
        con.execute("INSERT INTO uc_link_models VALUES ('link-1', 'duckdb', 0.5, '{}')")
    return case


def test_the_range_holds_the_linkage_at_a_few_thresholds(threshold_case: Case) -> None:
    # The stored pairs are clustered again at 0.3 and 0.8 (no re-linking): at 0.3 the false candidates
    # join (fewer persons), at 0.8 the true pairs at 0.7 come apart (more persons seen once, a higher estimate).
    result = estimate_with_linkage(threshold_case, link_draws=2, seed=1, store=False, correction="none", **OPTIONS)
    spread = result.to_dict()["range"]
    rows = {m["threshold"]: m for m in spread["models"] if m["threshold"] is not None}
    assert sorted(rows) == [0.3, 0.5, 0.8]
    assert rows[0.3]["label"].startswith("linkage at match probability 0.3: loglinear")
    assert "(the one used)" in rows[0.5]["label"] and rows[0.5]["strata"] == "none"
    documented = {t: int(row["note"].split(": ")[1].split(" persons")[0].replace(",", "")) for t, row in rows.items()}
    assert documented[0.3] < documented[0.5] < documented[0.8]
    assert rows[0.8]["estimate"] > rows[0.5]["estimate"]
    assert all(row["admissible"] for row in rows.values())
    assert spread["lower"] <= min(row["lower"] for row in rows.values())
    assert spread["upper"] >= max(row["upper"] for row in rows.values())
    # the three linkages are the replicates of one pass; each row is its own linkage's estimate, as if alone
    for t, row in rows.items():
        alone = estimate_case(threshold_case, assignments=[linkage_at(threshold_case, t)], imputations=1, seed=1,
                              store=False, **OPTIONS).total
        assert (row["estimate"], row["lower"], row["upper"]) == (alone.estimate, alone.lower, alone.upper)
