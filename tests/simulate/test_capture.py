"""Capture: realised rates match targets; covariates, dependence and latent classes act as set."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pandas as pd
import pytest

from undercount.errors import ConfigError
from undercount.simulate import preset_config
from undercount.simulate.capture import draw_captures


@pytest.fixture(scope="module")
def gaza_config():  # the gaza-like lists on 20,000 people
    return preset_config("gaza-like", people=20_000)


def test_realised_capture_rates_match_targets(population: pd.DataFrame, gaza_config, within) -> None:
    result = draw_captures(population, gaza_config, np.random.default_rng(2))
    for lst, (name, rate) in zip(gaza_config.lists, result.rates().items()):
        assert name == lst.name
        assert within(rate, lst.capture, len(population)), (name, rate, lst.capture)
    # the probabilities themselves average to the target (the calibration)
    assert np.allclose(result.probability.mean(axis=0), [lst.capture for lst in gaza_config.lists], atol=1e-6)


def test_covariates_move_capture_the_way_real_lists_do(population: pd.DataFrame, gaza_config) -> None:
    result = draw_captures(population, gaza_config, np.random.default_rng(4))
    hospital, survey, social = (result.captured[:, k] for k in range(3))
    unrecovered = population["unrecovered"].to_numpy()
    assert hospital[unrecovered].mean() < 0.5 * hospital[~unrecovered].mean()
    missing = population["status"].to_numpy() == "missing"
    assert hospital[missing].mean() < 0.5 * hospital[~missing].mean()
    child = population["age"].to_numpy() < 18
    assert social[child].mean() < 0.6 * social[~child].mean()
    wiped = population["wiped_out"].to_numpy()
    assert survey[wiped].mean() < 0.3 * survey[~wiped].mean()


def test_survey_captures_households_together(population: pd.DataFrame, gaza_config) -> None:
    result = draw_captures(population, gaza_config, np.random.default_rng(5))
    frame = pd.DataFrame({"h": population["household_id"], "on": result.captured[:, 1]})
    sizes = frame.groupby("h")["on"].agg(["size", "mean"])
    big = sizes[sizes["size"] >= 3]["mean"]
    # household effect: shares per household spread more than independent draws would give
    p = frame["on"].mean()
    independent_var = p * (1 - p) / sizes.loc[big.index, "size"].mean()
    assert big.var() > 1.5 * independent_var


def test_positive_and_negative_dependence(population: pd.DataFrame, gaza_config) -> None:
    def lift(effect: float) -> float:
        cfg = replace(gaza_config, dependence=(("hospital", "social", effect),))
        cap = draw_captures(population, cfg, np.random.default_rng(6)).captured
        return cap[cap[:, 0], 2].mean() - cap[~cap[:, 0], 2].mean()

    assert lift(2.0) > 0.15
    assert lift(-2.0) < -0.1


def test_latent_classes_make_hidden_heterogeneity(population: pd.DataFrame, gaza_config) -> None:
    result = draw_captures(population, gaza_config, np.random.default_rng(7))
    hard = population["latent_class"].to_numpy() == 1
    assert 0.15 < hard.mean() < 0.25
    for k in range(3):
        assert result.captured[hard, k].mean() < result.captured[~hard, k].mean()


def test_histories_count_everyone_documented(population: pd.DataFrame, gaza_config) -> None:
    result = draw_captures(population, gaza_config, np.random.default_rng(8))
    table = result.histories()
    assert list(table.columns) == ["hospital", "survey", "social", "count"]
    assert table["count"].sum() == result.captured.any(axis=1).sum()
    assert (table[["hospital", "survey", "social"]].sum(axis=1) > 0).all()


def test_bad_settings_are_config_errors() -> None:
    cfg = preset_config("small")
    with pytest.raises(ConfigError, match="capture"):
        replace(cfg, lists=(replace(cfg.lists[0], capture=1.5),)).validate()
    with pytest.raises(ConfigError, match="unknown covariate"):
        replace(cfg, lists=(replace(cfg.lists[0], effects={"height": 1.0}),)).validate()
    with pytest.raises(ConfigError, match="dependence"):
        replace(cfg, dependence=(("social", "hospital", 1.0),)).validate()
    for name in ("../evil", "a/b", "", ".hidden", "count"):  # a list name is its file's stem, in OUT_DIR
        with pytest.raises(ConfigError, match="cannot be a list name"):
            replace(cfg, lists=(replace(cfg.lists[0], name=name),)).validate()
