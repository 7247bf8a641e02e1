"""The estimator registry: one object per method, typed options, a new method in one registration."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path

import pandas as pd
import pytest
from typer.testing import CliRunner

from undercount.cli import app
from undercount.errors import ConfigError
from undercount.estimate import registry
from undercount.estimate.auto import AutoOptions, estimate_table
from undercount.estimate.case import estimate_matrix
from undercount.estimate.chapman import fit_chapman
from undercount.estimate.histories import read_table
from undercount.estimate.lcmcr import LcmcrOptions
from undercount.estimate.registry import Estimator, choose, get_estimator, method_names, option_fields, parse_options
from undercount.estimate.results import EstimateResult

ROOT = Path(__file__).resolve().parents[2]
REF = ROOT / "tests" / "reference"
runner = CliRunner()


def test_every_builtin_method_is_registered_in_order() -> None:
    assert method_names()[:6] == ["auto", "chapman", "chao", "loglinear", "lcmcr", "dga"]
    for name in method_names():
        est = get_estimator(name)
        assert est.name == name and est.display_name and est.description and est.help
        assert est.default_options() == est.options_type()


def test_options_are_typed_from_text() -> None:
    opts = parse_options(LcmcrOptions, ["K=5", "chains=2", "a_alpha=1/4", "max_n=none"], method="lcmcr")
    assert (opts.K, opts.chains, opts.a_alpha, opts.max_n) == (5, 2, 0.25, None)
    auto = parse_options(AutoOptions, ["lcmcr.K=6", "dga.delta=1/16", "criterion=AIC"], method="auto")
    assert auto.lcmcr.K == 6 and auto.lcmcr.chains == LcmcrOptions().chains
    assert auto.dga.delta == 0.0625 and auto.criterion == "aic"
    nested = parse_options(AutoOptions, {"lcmcr": {"K": 7}}, method="auto")
    assert nested.lcmcr.K == 7


@pytest.mark.parametrize("given,message", [
    (["k=5"], "method 'lcmcr' has no option 'k' (did you mean 'K'?); its options: K, a_alpha"),
    (["chians=2"], "(did you mean 'chains'?)"),
    (["K=five"], "option K='five' of method 'lcmcr': expected int"),
    (["K=2.5"], "expected int"),
    (["K"], "--option 'K': write KEY=VALUE"),
    (["K=1"], "LCMCR options: K must be 2 or more"),
])
def test_a_misspelt_or_bad_option_is_a_clear_error(given: list[str], message: str) -> None:
    with pytest.raises(ConfigError, match=re.escape(message)):
        choose("lcmcr", given)


def test_auto_tells_where_a_sub_method_option_goes() -> None:
    with pytest.raises(ConfigError, match=re.escape("with method 'auto' write lcmcr.K=...")):
        choose("auto", ["K=5"])
    with pytest.raises(ConfigError, match=re.escape("method 'auto: lcmcr' has no option 'Q'")):
        choose("auto", ["lcmcr.Q=5"])
    with pytest.raises(ConfigError, match="did you mean 'lcmcr'"):
        get_estimator("lcmrc")


def test_model_and_criterion_shortcuts() -> None:
    assert choose("auto", model="[12]").name == "loglinear"
    assert choose("loglinear", criterion="aic").options.criterion == "aic"
    assert choose("auto", criterion="aic").options.criterion == "aic"
    with pytest.raises(ConfigError, match="cannot be used with method 'lcmcr'"):
        choose("lcmcr", model="[12]")


@dataclass(frozen=True)
class FirstTwoOptions:
    """Options of a method that only the test registers."""

    scale: float = 1.0


def _first_two(table: pd.DataFrame, level: float, seed: int, options: FirstTwoOptions) -> EstimateResult:
    lists = [c for c in table.columns if c != "count"][:2]
    two = table.groupby(lists, as_index=False)["count"].sum()
    two = two[two[lists].sum(axis=1) > 0]
    res = fit_chapman(two, level=level)
    return EstimateResult("firsttwo", int(table["count"].sum()), (res.estimate or 0) * options.scale,
                          res.lower, res.upper, level=level, model=f"scale={options.scale:g}")


def test_a_new_method_is_one_object_and_one_registration(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(registry, "_REGISTRY", dict(registry._REGISTRY))
    registry.register(Estimator(
        name="firsttwo", display_name="first two lists", description="Chapman on the first two lists",
        help="a test method", options_type=FirstTwoOptions, fit_function=_first_two, min_lists=2,
    ))
    assert "firsttwo" in method_names()
    table = read_table(REF / "kosovo_1999.csv")
    res = estimate_table(table, method="firsttwo", options=["scale=2"])
    assert res.method == "firsttwo" and res.model == "scale=2"
    matrix = pd.DataFrame({"a": [1, 0, 1, 1] * 30, "b": [0, 1, 1, 1] * 30, "c": [1, 1, 0, 1] * 30})
    _, total, _ = estimate_matrix(matrix, [pd.Series("total", index=matrix.index)], method="firsttwo")
    assert total.method == "firsttwo"
    with pytest.raises(ConfigError, match="has no option 'scael' \\(did you mean 'scale'\\?\\)"):
        estimate_table(table, method="firsttwo", options=["scael=2"])


def test_cli_passes_method_options(tmp_path: Path) -> None:
    table = str(REF / "kosovo_1999.csv")
    out = runner.invoke(app, ["estimate-table", table, "--method", "lcmcr", "--option", "K=5", "-o", "chains=2",
                              "-o", "iterations=2000", "-o", "burnin=500", "-o", "thinning=5", "--json"])
    assert out.exit_code == 0, out.output
    data = json.loads(out.stdout)
    assert data["model"] == "K=5" and data["details"]["chains"] == 2
    bad = runner.invoke(app, ["estimate-table", table, "--method", "lcmcr", "--option", "k=5"])
    assert bad.exit_code == 1
    assert "ConfigError: method 'lcmcr' has no option 'k' (did you mean 'K'?)" in bad.output
    assert "Traceback" not in bad.output


def test_docs_describe_every_method_and_option() -> None:
    docs = (ROOT / "docs" / "estimation.md").read_text(encoding="utf-8")
    for est in registry.estimators():
        assert f"`{est.name}`" in docs, est.name
        for name in option_fields(est.options_type):
            assert f"`{name}`" in docs, f"{est.name} option {name} is not documented"
