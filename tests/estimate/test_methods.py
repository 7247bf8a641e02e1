"""Chapman, Chao and log-linear fits on small tables, and the auto rule."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from undercount.errors import ConfigError, ModelError
from undercount.estimate.auto import approximate_draws, estimate_table
from undercount.estimate.histories import capture_table
from undercount.estimate.loglinear import format_model, parse_model

TWO = pd.DataFrame({"A": [1, 0, 1], "B": [0, 1, 1], "count": [30, 20, 10]})


def _three(n: int, seed: int = 3) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    caught = rng.random((n, 3)) < [0.4, 0.3, 0.5]
    caught = caught[caught.any(axis=1)]
    df = pd.DataFrame(caught.astype(int), columns=["A", "B", "C"])
    return df.value_counts().rename("count").reset_index()


def test_chapman_formula_and_interval() -> None:
    res = estimate_table(TWO, method="chapman")
    assert res.estimate == pytest.approx(41 * 31 / 11 - 1)
    assert res.details["se"] == pytest.approx(np.sqrt(41 * 31 * 30 * 20 / (11**2 * 12)))
    assert res.documented <= res.lower < res.estimate < res.upper
    assert any("two lists cannot reveal" in w for w in res.warnings)


def test_chapman_needs_two_lists_and_chao_three() -> None:
    with pytest.raises(ModelError, match="chapman needs exactly two lists"):
        estimate_table(_three(500), method="chapman")
    with pytest.raises(ModelError, match="Chao's lower bound needs at least 3 lists"):
        estimate_table(TWO, method="chao")


def test_auto_two_lists_is_chapman_with_reason() -> None:
    res = estimate_table(TWO)
    assert res.method == "chapman"
    assert "two lists" in res.details["why"]


def test_independent_lists_recover_n() -> None:
    table = _three(4000)
    res = estimate_table(table, method="loglinear", model="[]")
    assert res.lower < 4000 < res.upper


@pytest.mark.filterwarnings("ignore::undercount.errors.ConvergenceWarning")
def test_auto_three_lists_widens_and_says_why() -> None:
    table = _three(1500)
    plain = estimate_table(table, method="loglinear")
    res = estimate_table(table, options={"lcmcr": {"chains": 2, "iterations": 4000, "burnin": 1000, "thinning": 10}})
    assert res.method == "auto"
    assert res.details["why"]
    assert any("three lists" in w for w in res.warnings)
    assert res.lower <= plain.lower and res.upper >= plain.upper
    assert set(res.details["checks"]) >= {"loglinear", "chao"}


def test_model_notation_round_trip() -> None:
    assert parse_model("[12,13,34]", 4) == ((0, 1), (0, 2), (2, 3))
    assert parse_model("[]", 3) == ()
    assert format_model(((0, 1), (0, 1, 2))) == "[123]"
    with pytest.raises(ConfigError, match="outside 1..3"):
        parse_model("[14]", 3)
    with pytest.raises(ConfigError, match="write it as Rcapture does"):
        parse_model("12,13", 3)


def test_bad_method_and_criterion() -> None:
    with pytest.raises(ConfigError, match="method 'magic'"):
        estimate_table(TWO, method="magic")
    with pytest.raises(ConfigError, match="criterion 'hqic'"):
        estimate_table(TWO, criterion="hqic")
    with pytest.raises(ConfigError, match="cannot be used with method 'chao'"):
        estimate_table(TWO, method="chao", model="[]")
    with pytest.raises(ConfigError, match="seed -1: must be 0 or more"):  # was numpy's bare ValueError
        estimate_table(TWO, method="lcmcr", seed=-1)


def test_approximate_draws_match_interval() -> None:
    res = estimate_table(_three(3000), method="loglinear", model="[]")
    draws = approximate_draws(res, 40000, np.random.default_rng(0))
    lo, med, hi = np.quantile(draws, [0.025, 0.5, 0.975])
    assert med == pytest.approx(res.estimate, rel=0.01)
    assert lo == pytest.approx(res.lower, rel=0.01)
    assert hi == pytest.approx(res.upper, rel=0.01)


def test_gamma_heterogeneity_column_raises_kosovo_estimate() -> None:
    from pathlib import Path

    from undercount.estimate.histories import read_table
    from undercount.estimate.loglinear import fit_loglinear, gamma_column

    assert gamma_column(3).tolist()[0] == pytest.approx(-np.log(4.5) + np.log(3.5))
    table = read_table(Path(__file__).resolve().parents[1] / "reference" / "kosovo_1999.csv")
    plain = fit_loglinear(table, model="[12,13,14,23,34]")
    hetero = fit_loglinear(table, model="[12,13,14,23,34]", heterogeneity=True)
    assert hetero.model == "[12,13,14,23,34] + Gamma3.5 heterogeneity"
    assert hetero.estimate > plain.estimate
    with pytest.raises(ModelError, match="not identifiable"):
        fit_loglinear(_three(800), model="[12,13,23]", heterogeneity=True)


def test_ten_lists_run_with_loglinear_and_auto() -> None:
    """The stepwise search names its terms with colons, and its own parser reads them back (was '...,610,...')."""
    rng = np.random.default_rng(4)
    probs = rng.uniform(0.05, 0.3, size=10)
    caught = rng.random((2500, 10)) < probs
    table = capture_table(pd.DataFrame(caught[caught.any(axis=1)].astype(np.int8),
                                       columns=[f"L{j + 1}" for j in range(10)]))
    res = estimate_table(table, method="loglinear")
    assert res.estimable and res.model is not None and res.model.startswith("[")
    assert "stepwise" in res.details["search"]
    assert 2000 < res.estimate < 3100
    auto = estimate_table(table, options={"lcmcr": {"chains": 2, "iterations": 2000, "burnin": 500, "thinning": 5}})
    assert auto.estimable and auto.details["checks"]["loglinear"]["model"] == res.model
