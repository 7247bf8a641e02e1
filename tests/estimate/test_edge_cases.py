"""Edge cases found by use: empty lists in a stratum, nested lists, folders given as files."""

from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

from undercount.cli import app
from undercount.estimate.auto import estimate_table
from undercount.estimate.case import estimate_matrix
from undercount.estimate.histories import nested_lists


def test_a_list_with_no_one_in_a_stratum_is_left_out_of_that_stratum() -> None:
    rng = np.random.default_rng(0)
    n = 600
    matrix = pd.DataFrame({"a": rng.random(n) < 0.6, "b": rng.random(n) < 0.5, "c": rng.random(n) < 0.4}).astype(int)
    labels = pd.Series(np.where(np.arange(n) < 300, "x", "y"))
    matrix.loc[labels == "x", "c"] = 0
    keep = matrix.sum(axis=1) > 0
    matrix, labels = matrix[keep], labels[keep]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        strata, total, _ = estimate_matrix(matrix, [labels], method="loglinear")
    assert strata["x"].estimable and strata["y"].estimable
    assert any("list c names no one in this stratum" in w for w in strata["x"].warnings)
    assert not any("names no one" in w for w in strata["y"].warnings)
    assert total.estimate is not None and 500 < total.estimate < 700


def test_a_stratum_with_one_list_is_merged_or_not_estimable() -> None:
    from undercount.estimate.case import _estimate_stratum
    from undercount.estimate.registry import choose

    matrix = pd.concat([pd.DataFrame({"a": [1, 1, 0, 1], "b": [0, 1, 1, 1]})] * 20, ignore_index=True)
    labels = pd.Series(["sex=female"] * 40 + ["sex=male"] * 40)
    matrix.loc[labels == "sex=female", "b"] = 0
    keep = matrix.sum(axis=1) > 0
    strata, total, notes = estimate_matrix(matrix[keep], [labels[keep]], method="chapman")
    assert "sex=female" in notes  # too sparse alone: merged with its neighbour, and said so
    assert total.estimable
    alone = _estimate_stratum(matrix[keep & (labels == "sex=female")], fitting=choose("chapman"), seed=0, level=0.95)
    assert not alone.estimable
    assert "fewer than two lists name anyone" in (alone.reason or "")


def test_nearly_nested_lists_are_warned_about() -> None:
    table = pd.DataFrame({"a": [1, 0, 1], "b": [0, 1, 1], "count": [10, 20, 3000]})
    assert [(a, b) for a, b, _ in nested_lists(table)] == [("a", "b")]
    result = estimate_table(table, method="chapman")
    assert any("overlap almost entirely" in w for w in result.warnings)
    separate = pd.DataFrame({"a": [1, 0, 1], "b": [0, 1, 1], "count": [500, 400, 300]})
    assert nested_lists(separate) == []


def test_estimate_table_on_a_folder_is_a_clear_error(tmp_path: Path) -> None:
    result = CliRunner().invoke(app, ["estimate-table", str(tmp_path)])
    assert result.exit_code == 1
    assert "is a folder, not a CSV file" in result.output


def test_simulate_config_that_is_a_folder_is_a_clear_error(tmp_path: Path) -> None:
    result = CliRunner().invoke(app, ["simulate", str(tmp_path / "out"), "--config", str(tmp_path)])
    assert result.exit_code == 1
    assert "is a folder, not a TOML file" in result.output


@pytest.mark.parametrize("flag", ["--version"])
def test_version_flag(flag: str) -> None:
    from undercount import __version__

    result = CliRunner().invoke(app, [flag])
    assert result.exit_code == 0
    assert __version__ in result.output
