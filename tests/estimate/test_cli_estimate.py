"""The estimate and estimate-table commands, in process."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from undercount.cli import app
from undercount.store import Case

REF = Path(__file__).resolve().parents[1] / "reference"
runner = CliRunner()


def test_estimate_table_json_keys() -> None:
    out = runner.invoke(app, ["estimate-table", str(REF / "kosovo_1999.csv"), "--method", "loglinear",
                              "--model", "[]", "--json"])
    assert out.exit_code == 0, out.output
    data = json.loads(out.stdout)
    assert {"documented", "estimate", "lower", "upper", "method", "model", "warnings"} <= set(data)
    assert data["documented"] == 4400 and data["model"] == "[]"
    assert round(data["estimate"], 1) == 7392.9


def test_estimate_table_infinite_upper_is_null_and_warned() -> None:
    model = "[12,13,14,15,23,24,25,34,35,45]"
    out = runner.invoke(app, ["estimate-table", str(REF / "sparsemse_Western.csv"), "--model", model, "--json"])
    data = json.loads(out.stdout)
    assert data["upper"] is None
    assert any("no finite upper limit" in w for w in data["warnings"])
    table = runner.invoke(app, ["estimate-table", str(REF / "sparsemse_Western.csv"), "--model", model])
    assert "no finite upper limit" in table.stdout


def test_estimate_table_errors_exit_1(tmp_path: Path) -> None:
    bad = tmp_path / "bad.csv"
    bad.write_text("A,count\n1,4\n", encoding="utf-8")
    out = runner.invoke(app, ["estimate-table", str(bad)])
    assert out.exit_code == 1
    assert "InputError: file bad.csv: 1 list column(s): capture-recapture needs at least two lists" in out.output
    out = runner.invoke(app, ["estimate-table", str(REF / "kosovo_1999.csv"), "--method", "magic"])
    assert out.exit_code == 1 and "ConfigError: method 'magic'" in out.output


def test_estimate_case_json_has_strata(linked_case: tuple[Case, int]) -> None:
    case, _ = linked_case
    out = runner.invoke(app, ["estimate", str(case.path), "--method", "loglinear", "--imputations", "2",
                              "--by", "age_group", "--json"])
    assert out.exit_code == 0, out.output
    data = json.loads(out.stdout)
    assert set(data["strata"]) == {"age_group=0-17", "age_group=18-59", "age_group=60+"}
    assert data["by"] == ["age_group"]
    text = runner.invoke(app, ["estimate", str(case.path), "--method", "loglinear", "--by", "none"])
    assert text.exit_code == 0 and "total" in text.stdout


def test_estimate_unlinked_case_exits_1(empty_case: Case) -> None:
    out = runner.invoke(app, ["estimate", str(empty_case.path)])
    assert out.exit_code == 1 and "has not been linked" in out.output


def test_total_does_not_repeat_a_strata_warning_as_its_own(capsys) -> None:  # type: ignore[no-untyped-def]
    # "warning (total): ... estimates from 46 to 49" beside a total of 498 misled: it is a stratum's.
    from undercount.cli.estimate import _render
    from undercount.estimate.results import EstimateResult

    stratum_warning = "model uncertainty: 3 models lie within 2 BIC of the best, with estimates from 46 to 49"
    old = EstimateResult("loglinear", 40, 47.0, 44.0, 60.0, warnings=(stratum_warning,))
    total = EstimateResult("auto", 400, 498.0, 470.0, 630.0, warnings=(stratum_warning, "the total's own"))
    _render([("age_group=60+", old), ("total", total)], "estimates")
    out = capsys.readouterr().out
    assert out.count("from 46 to 49") == 1 and "warning (age_group=60+): model uncertainty" in out
    assert "warning (total): the total's own" in out


@pytest.mark.parametrize("imputations", ["0", "-3"])
def test_fewer_than_one_imputation_is_wrong_usage(linked_case: tuple[Case, int], imputations: str) -> None:
    case, _ = linked_case  # taken silently as 1 before
    out = runner.invoke(app, ["estimate", str(case.path), "--imputations", imputations])
    assert out.exit_code == 2, out.output
    said = " ".join(out.output.replace("│", " ").split())  # the message wraps inside rich's box
    assert "Invalid value for '--imputations': Input should be greater than or equal to 1" in said


def test_estimate_case_takes_method_options_and_refuses_a_misspelt_one(linked_case: tuple[Case, int]) -> None:
    case, _ = linked_case
    out = runner.invoke(app, ["estimate", str(case.path), "--method", "loglinear", "--option", "criterion=aic",
                              "--imputations", "1", "--link-draws", "0", "--by", "none", "--json"])
    assert out.exit_code == 0, out.output
    assert json.loads(out.stdout)["details"]["criterion"] == "aic"
    stored = case.query("SELECT params FROM uc_runs WHERE kind = 'estimate' ORDER BY finished_at DESC LIMIT 1")
    assert json.loads(stored.iloc[0, 0])["options"]["criterion"] == "aic"  # the run says which options it used
    bad = runner.invoke(app, ["estimate", str(case.path), "--method", "lcmcr", "--option", "k=5"])
    assert bad.exit_code == 1
    assert "method 'lcmcr' has no option 'k' (did you mean 'K'?)" in bad.output
    assert "Traceback" not in bad.output
