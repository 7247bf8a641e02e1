"""A whole simulated case: files, truth, manifest, determinism, import, settings, CLI."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

from undercount.cli import app
from undercount.errors import ConfigError
from undercount.simulate import SimulationResult, preset_config, simulate
from undercount.store import Case


def _files(folder: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted(folder.iterdir())}


def test_files_truth_and_manifest(small_case: SimulationResult) -> None:
    names = {p.name for p in small_case.out_dir.iterdir()}
    assert {"hospital.csv", "survey.xlsx", "social.csv", "truth.csv", "truth_population.csv",
            "manifest.json", "hospital.spec.toml"} <= names
    manifest = json.loads((small_case.out_dir / "manifest.json").read_text(encoding="utf-8"))
    assert manifest["true_n"] == 2000 == len(small_case.population)
    assert sum(manifest["true_n_by_stratum"].values()) == 2000
    truth = pd.read_csv(small_case.truth_path)
    assert list(truth.columns) == ["list", "row", "person_id"]
    for item in manifest["lists"]:
        rows = truth[truth["list"] == item["name"]]
        assert len(rows) == item["rows"] and rows["row"].tolist() == list(range(1, item["rows"] + 1))
        assert rows["person_id"].nunique() == item["persons"]
        assert item["capture_rate"] == pytest.approx(item["persons"] / 2000)
    assert set(truth["person_id"]) <= set(small_case.population["person_id"])
    assert sum(h["count"] for h in manifest["histories"]) == manifest["documented_n"]
    assert manifest["undercount_version"] and manifest["seed"] == 5


def test_file_formats_and_encodings(small_dir: Path) -> None:
    raw = (small_dir / "hospital.csv").read_bytes()
    with pytest.raises(UnicodeDecodeError):
        raw.decode("utf-8")
    lines = raw.decode("cp1256").splitlines()
    assert "رقم الهوية" in lines[1] and "رقم الهوية" not in lines[0]  # a title row above the header
    assert (small_dir / "survey.xlsx").read_bytes()[:2] == b"PK"
    social = pd.read_csv(small_dir / "social.csv", dtype=str)
    assert list(social.columns) == ["name", "age", "sex", "date_of_death", "governorate"]
    assert social["name"].dropna().map(str.isascii).all()
    assert set(social["sex"].dropna()) == {"M", "F"}


def test_same_seed_same_bytes_other_seed_other_bytes(tmp_path: Path, small_dir: Path) -> None:
    again = simulate(tmp_path / "again", preset="small", seed=5)
    assert _files(again.out_dir) == _files(small_dir)
    other = simulate(tmp_path / "other", preset="small", seed=6)
    differ = [name for name, data in _files(other.out_dir).items() if data != _files(small_dir)[name]]
    assert {"hospital.csv", "survey.xlsx", "social.csv", "truth.csv", "manifest.json"} <= set(differ)


def test_lists_import_and_rows_map_to_truth(small_case: SimulationResult, tmp_path: Path) -> None:
    pytest.importorskip("undercount.ingest")
    from undercount.simulate.load import import_simulation

    case = Case.init(tmp_path / "case")
    results = import_simulation(case, small_case.out_dir)
    assert [r.rows for r in results] == [item["rows"] for item in small_case.manifest["lists"]]
    records = case.records()
    truth = pd.read_csv(small_case.truth_path)
    keys = set(zip(records["source"], records["row"]))
    assert keys == set(zip(truth["list"], truth["row"])) and len(records) == len(truth)
    merged = records.merge(truth, left_on=["source", "row"], right_on=["list", "row"]).merge(
        small_case.population, on="person_id", suffixes=("", "_true"))
    known = merged["sex"].notna()
    assert (merged.loc[known, "sex"] == merged.loc[known, "sex_true"]).all()
    aged = merged["age"].notna()
    assert ((merged.loc[aged, "age"] - merged.loc[aged, "age_true"]).abs() <= 3).all()
    hospital = merged[merged["source"] == "hospital"]
    assert (hospital["id_number"] == hospital["id_number_true"]).mean() > 0.95
    assert (hospital["status"] == "killed").all()  # the spec's default status
    assert merged["event_date"].notna().mean() > 0.85


def test_lists_headers_are_recognised_without_a_spec(small_case: SimulationResult, tmp_path: Path) -> None:
    ingest = pytest.importorskip("undercount.ingest")
    case = Case.init(tmp_path / "case")
    for item in small_case.manifest["lists"]:
        result = ingest.import_list(case, small_case.out_dir / item["file"])
        assert result.rows == item["rows"]
    records = case.records()
    for column in ("full_name", "age", "sex", "event_date", "place"):
        assert records.groupby("source")[column].apply(lambda s: s.notna().mean()).min() > 0.8, column


def test_more_lists_carry_their_specs(tmp_path: Path) -> None:
    ingest = pytest.importorskip("undercount.ingest")
    result = simulate(tmp_path / "five", preset="small", people=300, lists=5, seed=2)
    assert list(result.list_files) == ["hospital", "survey", "social", "ngo", "press"]
    assert "ngo" in result.spec_files  # unusual headers and sex letters need one
    case = Case.init(tmp_path / "case")
    for item in result.manifest["lists"]:
        spec = result.out_dir / item["spec"] if item["spec"] else None
        assert ingest.import_list(case, result.out_dir / item["file"], spec=spec).rows == item["rows"]
    ngo = case.records().query("source == 'ngo'")
    assert ngo["sex"].notna().mean() > 0.9 and ngo["full_name"].notna().all()


def test_settings_file_overrides_the_preset(tmp_path: Path) -> None:
    toml = tmp_path / "sim.toml"
    toml.write_text(
        'preset = "small"\n[population]\npeople = 500\nchild_share = 0.5\n'
        '[[lists]]\nname = "hospital"\ncapture = 0.9\n[lists.errors]\nduplicate = 0.0\n', encoding="utf-8")
    result = simulate(tmp_path / "out", config=toml, lists=2, seed=1)
    assert result.true_n == 500 and result.config.population.child_share == 0.5
    hospital = result.config.lists[0]
    assert hospital.capture == 0.9 and hospital.errors.duplicate == 0.0 and hospital.errors.typo > 0
    assert result.manifest["lists"][0]["rows"] == result.manifest["lists"][0]["persons"]
    assert len(result.list_files) == 2
    toml.write_text("[population]\nheight = 3\n", encoding="utf-8")
    with pytest.raises(ConfigError, match="height"):
        simulate(tmp_path / "bad", config=toml)
    for bad, message in (({"population": {"people": "many"}}, "population.people must be of type int"),
                         ({"lists": [{"name": "survey", "capture": "half"}]}, "lists.survey.capture must be"),
                         ({"lists": [{"name": "survey", "effects": 3}]}, "lists.survey.effects must be a table"),
                         ({"lists": [{"name": "x", "errors": {"typo": True}}]}, "errors.typo must be")):
        with pytest.raises(ConfigError, match=message):
            simulate(tmp_path / "bad", config=bad)


@pytest.mark.parametrize(
    ("bad", "message"),
    [
        ({"population": 3}, "population must be a table"),
        ({"lists": 3}, r"lists must be a list of tables \(\[\[lists\]\] sections\)"),
        ({"lists": [3]}, r"lists must be a list of tables"),
        ({"lists": [{"name": "hospital", "errors": 3}]}, "lists.hospital.errors must be a table"),
        ({"dependence": "x"}, r"dependence must be a list of \[list a, list b, effect\]"),
        ({"dependence": [["hospital"]]}, r"dependence must be a list of \[list a, list b, effect\]"),
        ({"error_scale": "x"}, "error_scale must be a number"),
        ({"population": {"start_date": "x"}}, "population.start_date must be a date like 2023-10-07"),
        ({"population": {"start_date": "2024-09-01"}}, "population.start_date is after end_date"),
        ({"population": {"date_peaks": [[1]]}}, r"population.date_peaks must be a list of \[date, spread, weight\]"),
        ({"population": {"date_peaks": [["soon", 3, 1]]}}, "population.date_peaks must be a list of"),
        ({"population": {"governorates": {"Gaza": "x"}}}, "population.governorates must hold numbers only"),
        ({"population": {"household_sizes": ["a"]}}, "population.household_sizes must hold numbers only"),
        ({"population": {"stratum_by": [1]}}, "population.stratum_by must hold text only"),
        ({"lists": [{"name": "hospital", "effects": {"child": "x"}}]}, "lists.hospital.effects must hold numbers"),
        ({"population": {"governorates": {"Gaza": -1, "Rafah": 1}}}, "population.governorates needs at least one"),
        ({"population": {"household_sizes": []}}, "population.household_sizes needs at least one positive"),
        ({"population": {"status_shares": {"killed": 0}}}, "population.status_shares needs at least one positive"),
        ({"population": {"status_shares": {"zombie": 1}}}, "population.status_shares: unknown zombie"),
        ({"population": {"cause_shares": {"aliens": 1}}}, "population.cause_shares: unknown aliens"),
        ({"population": {"date_peaks": [["2023-10-25", 0, 1]]}}, "each spread must be positive"),
        ({"population": {"stratum_by": ["height"]}}, "population.stratum_by: unknown field"),
    ],
)
def test_settings_of_the_wrong_shape_are_config_errors(tmp_path: Path, bad: dict[str, object], message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        simulate(tmp_path / "bad", config=bad, people=50)
    assert not (tmp_path / "bad").exists()


def test_a_negative_seed_is_a_config_error(tmp_path: Path) -> None:
    # numpy's SeedSequence raised a plain ValueError ("expected non-negative integer")
    with pytest.raises(ConfigError, match=r"seed must be 0 or more \(got -1\)"):
        simulate(tmp_path / "bad", people=50, seed=-1)
    assert not (tmp_path / "bad").exists()


def test_target_records_sizes_the_population(tmp_path: Path) -> None:
    result = simulate(tmp_path / "t", config={"population": {"target_records": 3000}}, lists=2, seed=0)
    rows = sum(item["rows"] for item in result.manifest["lists"])
    assert abs(rows - 3000) < 200


def test_cli_simulate(tmp_path: Path) -> None:
    runner = CliRunner()
    out = tmp_path / "cli"
    done = runner.invoke(app, ["simulate", str(out), "--people", "300", "--lists", "2", "--seed", "4", "--json"])
    assert done.exit_code == 0, done.output
    summary = json.loads(done.stdout)
    assert summary["true_n"] == 300 and set(summary["lists"]) == {"hospital", "survey"}
    assert (out / "truth.csv").is_file()
    bad = runner.invoke(app, ["simulate", str(out), "--preset", "huge"], env={"COLUMNS": "200"})
    assert bad.exit_code == 2 and "'huge' is not one of 'small', 'gaza-like', 'large'" in bad.output  # a usage error
    usage = runner.invoke(app, ["simulate", str(out), "--people", "0"])
    assert usage.exit_code == 2
    (tmp_path / "file").write_text("x")
    blocked = runner.invoke(app, ["simulate", str(tmp_path / "file"), "--people", "50"])
    assert blocked.exit_code == 1 and "ConfigError: cannot write to" in blocked.output
    missing = runner.invoke(app, ["simulate", str(out), "--config", str(tmp_path / "none.toml")])
    assert missing.exit_code == 1 and "none.toml: not found" in missing.output


def test_population_table_on_disk_matches(small_case: SimulationResult) -> None:
    disk = pd.read_csv(small_case.out_dir / "truth_population.csv", dtype={"id_number": str})
    assert list(disk["person_id"]) == list(small_case.population["person_id"])
    assert (disk["id_number"] == small_case.population["id_number"]).all()
    assert np.array_equal(disk["age"].to_numpy(), small_case.population["age"].to_numpy())


@pytest.mark.parametrize("scale", [0.0, 3.0])
def test_error_scale_sets_linkage_difficulty(tmp_path: Path, scale: float, within) -> None:
    result = simulate(tmp_path / "s", preset="small", people=1500, lists=2, seed=3,
                      config={"error_scale": scale})
    errors = result.manifest["lists"][1]["errors"]  # the survey: secondary-list defaults
    base = preset_config("small").lists[1].errors
    for kind in ("drop_grandfather", "age_heaping", "date_shift", "duplicate"):
        expected = min(1.0, getattr(base, kind) * scale)
        assert within(errors[kind]["rate"], expected, errors[kind]["eligible"]), (kind, errors[kind])
    if scale == 0.0:
        assert all(e["changed"] == 0 for e in errors.values())


def test_xlsx_with_a_title_row_opens_and_imports(tmp_path: Path) -> None:
    ingest = pytest.importorskip("undercount.ingest")
    from openpyxl import load_workbook

    config = {"lists": [{"name": "survey", "title_row": True, "headers": "arabic"}]}
    result = simulate(tmp_path / "x", preset="small", people=400, lists=2, seed=8, config=config)
    sheet = load_workbook(result.list_files["survey"], read_only=True).active
    rows = list(sheet.iter_rows(values_only=True))
    assert rows[1][0] == "الاسم" and len(rows) == 2 + result.manifest["lists"][1]["rows"]
    assert isinstance(rows[2][1], int)  # ages are numbers
    case = Case.init(tmp_path / "case")
    assert ingest.import_list(case, result.list_files["survey"]).rows == result.manifest["lists"][1]["rows"]


def test_same_bytes_in_another_process_with_another_hash_seed(tmp_path: Path, small_dir: Path) -> None:
    import os
    import subprocess
    import sys

    env = {**os.environ, "PYTHONHASHSEED": "12345"}
    done = subprocess.run([sys.executable, "-m", "undercount", "simulate", str(tmp_path / "p"), "--preset", "small",
                           "--seed", "5"], env=env, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert _files(tmp_path / "p") == _files(small_dir)
