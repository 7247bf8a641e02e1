"""The link and evaluate-links commands, run in-process."""

from __future__ import annotations

import json
from pathlib import Path

from typer.testing import CliRunner

from undercount.cli import app
from undercount.store import Case

from .conftest import write_lists

runner = CliRunner()


def test_link_on_an_empty_case_says_so_and_exits_1(empty_case: Case) -> None:
    result = runner.invoke(app, ["link", str(empty_case.path)])
    assert result.exit_code == 1
    assert f"LinkError: case {empty_case.path} holds no records: import a list first" in result.output


def test_link_on_a_single_record_says_so_and_exits_1(empty_case: Case, tmp_path: Path) -> None:
    data = tmp_path / "one.csv"
    data.write_text("name,sex,age\nسامي خليل العطار,M,12\n", encoding="utf-8")
    assert runner.invoke(app, ["import", str(empty_case.path), str(data)]).exit_code == 0
    result = runner.invoke(app, ["link", str(empty_case.path)])
    assert result.exit_code == 1
    assert "holds a single record: there is nothing to link" in result.output


def test_link_rejects_an_unknown_engine_and_a_bad_threshold(empty_case: Case) -> None:
    bad_engine = runner.invoke(app, ["link", str(empty_case.path), "--engine", "oracle"], env={"COLUMNS": "200"})
    assert bad_engine.exit_code == 2  # a usage error: the option lists its choices
    assert "'oracle' is not one of 'duckdb', 'spark'" in bad_engine.output
    bad_threshold = runner.invoke(app, ["link", str(empty_case.path), "--threshold", "1.5"])
    assert bad_threshold.exit_code == 1 and "between 0 and 1" in bad_threshold.output


def test_link_then_evaluate_links_json(empty_case: Case, tmp_path: Path) -> None:
    data = write_lists(tmp_path / "lists", families=30)
    for name in ("moh", "press"):
        assert runner.invoke(app, ["import", str(empty_case.path), str(data / f"{name}.csv")]).exit_code == 0
    linked = runner.invoke(app, ["link", str(empty_case.path), "--threshold", "0.95", "--json"])
    assert linked.exit_code == 0, linked.output
    summary = json.loads(linked.output)
    assert summary["threshold"] == 0.95 and summary["lists"] == 2
    evaluated = runner.invoke(app, ["evaluate-links", str(empty_case.path), "--truth", str(data / "truth.csv"), "--json"])
    assert evaluated.exit_code == 0, evaluated.output
    scores = json.loads(evaluated.output)
    assert scores["pairwise_f1"] >= 0.95 and scores["records"] == summary["records"]
    by_pair = {(r["list_l"], r["list_r"], r["subset"]): r for r in scores["list_pairs"]}
    across = by_pair[("moh", "press", "across scripts")]
    assert across["true_pairs"] == by_pair[("moh", "press", "all")]["true_pairs"] > 0  # press is English only
    assert across["recall"] >= 0.9
    text = runner.invoke(app, ["evaluate-links", str(empty_case.path), "--truth", str(data / "truth.csv")])
    assert "pairwise  precision" in text.output
    assert "moh x press, across scripts:" in text.output


def test_evaluate_links_before_linking_exits_1(empty_case: Case, tmp_path: Path) -> None:
    truth = tmp_path / "truth.csv"
    truth.write_text("list,row,person_id\na,1,p\n", encoding="utf-8")
    result = runner.invoke(app, ["evaluate-links", str(empty_case.path), "--truth", str(truth)])
    assert result.exit_code == 1 and "has not been linked" in result.output
