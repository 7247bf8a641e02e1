"""Classic estimators reproduce Rcapture's published numbers within 0.5% (tests/reference)."""

from __future__ import annotations

import itertools
import json
from pathlib import Path

import pytest

from undercount.errors import ConfigError
from undercount.estimate.auto import estimate_table
from undercount.estimate.histories import read_table
from undercount.estimate.loglinear import search_models

REF = Path(__file__).resolve().parents[1] / "reference"
EXPECTED = json.loads((REF / "classic_expected.json").read_text(encoding="utf-8"))
TOL = 0.005


def _all_two_way(k: int) -> str:
    return "[" + ",".join(f"{i}{j}" for i, j in itertools.combinations(range(1, k + 1), 2)) + "]"


class CheckReference:
    """One shared check: a point and both interval ends within the tolerance; null = no finite limit."""

    @staticmethod
    def check(value: float | None, expected: float | None, what: str) -> None:
        if expected is None:
            return
        assert value is not None, f"{what}: expected {expected}, got no value"
        assert abs(value - expected) <= TOL * expected, f"{what}: {value:.1f} vs {expected}"


@pytest.mark.parametrize("name,method,model,estimate,lower,upper", EXPECTED["fits"])
def test_reference_fit(name: str, method: str, model: str | None, estimate: float,
                       lower: float | None, upper: float | None) -> None:
    table = read_table(REF / name)
    k = table.shape[1] - 1
    if model == "all2":
        model = _all_two_way(k)
    result = estimate_table(table, method=method, model=model)
    CheckReference.check(result.estimate, estimate, f"{name} {method} {model} estimate")
    CheckReference.check(result.lower, lower, f"{name} lower")
    CheckReference.check(result.upper, upper, f"{name} upper")
    if estimate is not None and lower is None and upper is None:
        assert result.upper is None
        assert any("no finite upper limit" in w for w in result.warnings)


@pytest.mark.parametrize("name,model,estimate", EXPECTED["best_bic"])
def test_reference_best_bic(name: str, model: str, estimate: float | None) -> None:
    ranked = search_models(read_table(REF / name), criterion="bic")
    assert ranked.iloc[0]["model"] == model
    CheckReference.check(float(ranked.iloc[0]["estimate"]), estimate, f"{name} best BIC")


def test_ukdat5_search_warns_of_model_uncertainty() -> None:
    result = estimate_table(read_table(REF / "sparsemse_UKdat_5.csv"), method="loglinear")
    assert result.model == "[12,13,23,25,34]"
    assert any(w.startswith("model uncertainty: 3 models lie within 2 BIC") for w in result.warnings)


def test_shared_reference_tables_match_the_copies(reference_dir: Path) -> None:
    for name in {row[0] for row in EXPECTED["fits"]}:
        assert (reference_dir / name).read_text() == (REF / name).read_text()


def test_eight_lists_use_a_stepwise_search(monkeypatch: pytest.MonkeyPatch) -> None:
    from undercount.estimate import loglinear

    table = read_table(REF / "sparsemse_NewOrl.csv")
    ranked = search_models(table)
    assert 4 <= len(ranked) < 2**28
    assert ranked["bic"].is_monotonic_increasing
    monkeypatch.setattr(loglinear, "STEPWISE_TRIALS", 28)  # every free term fitted at every step
    full = search_models(table)
    assert len(full) > len(ranked) and full.iloc[0]["model"] == ranked.iloc[0]["model"] == "[45]"
    result = estimate_table(table, method="loglinear")
    assert "with 8 lists the model search is stepwise" in " ".join(result.warnings)


def test_ten_lists_write_terms_with_colons() -> None:
    from undercount.estimate.loglinear import format_model, parse_model

    assert parse_model("[1:2,6:10]", 10) == ((0, 1), (5, 9)) and parse_model("[1:2,34]", 5) == ((0, 1), (2, 3))
    assert format_model(((0, 1), (5, 9)), 10) == "[1:2,6:10]" and format_model(((0, 1),), 4) == "[12]"
    with pytest.raises(ConfigError, match="with 10 lists write each term with colons"):
        parse_model("[12,610]", 10)


def test_aic_ranks_by_aic() -> None:
    table = read_table(REF / "rcapture_lesbian.csv")
    by_aic = search_models(table, criterion="aic")
    assert by_aic["aic"].is_monotonic_increasing
    result = estimate_table(table, method="loglinear", criterion="aic")
    assert result.model == by_aic[by_aic["stable"]].iloc[0]["model"]
    assert result.details["criterion"] == "aic"
