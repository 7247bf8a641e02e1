"""The report and export commands, in-process."""

from __future__ import annotations

from pathlib import Path

from typer.testing import CliRunner

from undercount.cli import app
from undercount.store import Case

runner = CliRunner()


def test_export_command_writes_and_reports(report_case: Case, tmp_path: Path) -> None:
    out = tmp_path / "register.csv"
    result = runner.invoke(app, ["export", str(report_case.path), "register", "--format", "hxl", "--redact",
                                 "-o", str(out)])
    assert result.exit_code == 0, result.output
    persons = report_case.clusters()["person_id"].nunique()
    assert f"Wrote {persons:,} rows of register to {out} (hxl, redacted)" in result.output
    assert out.read_text(encoding="utf-8").splitlines()[1].startswith("#meta+id")


def test_export_command_errors_exit_1(report_case: Case, tmp_path: Path) -> None:
    result = runner.invoke(app, ["export", str(report_case.path), "register", "--format", "xml",
                                 "-o", str(tmp_path / "x")], env={"COLUMNS": "200"})
    assert result.exit_code == 2  # the choices are the option's: a usage error
    assert "'xml' is not one of 'csv', 'xlsx', 'parquet', 'json', 'hxl'" in result.output
    result = runner.invoke(app, ["export", str(tmp_path / "nowhere"), "clusters", "-o", str(tmp_path / "x")])
    assert result.exit_code == 1 and "StoreError: no case at" in result.output


def test_report_command_on_an_empty_case_exits_1(empty_case: Case, tmp_path: Path) -> None:
    result = runner.invoke(app, ["report", str(empty_case.path), "-o", str(tmp_path / "r.html")])
    assert result.exit_code == 1
    assert "StoreError" in result.output and "holds no list" in result.output
    assert not (tmp_path / "r.html").exists()


def test_export_personal_data_only_on_request(report_case: Case, tmp_path: Path) -> None:
    out = tmp_path / "r.csv"
    result = runner.invoke(app, ["export", str(report_case.path), "register", "-f", "hxl", "-o", str(out), "--json"])
    assert result.exit_code == 0, result.output
    assert '"redacted": true' in result.output and "full_name" not in out.read_text(encoding="utf-8-sig")
    result = runner.invoke(app, ["export", str(report_case.path), "register", "-f", "hxl", "--personal-data",
                                 "-o", str(out)])
    assert result.exit_code == 0 and "full_name" in out.read_text(encoding="utf-8-sig")
    for bad in (["-f", "csv", "--personal-data"], ["-f", "hxl", "--personal-data", "--redact"]):
        result = runner.invoke(app, ["export", str(report_case.path), "register", *bad, "-o", str(tmp_path / "x")])
        assert result.exit_code == 2 and "--personal-data" in result.output
    result = runner.invoke(app, ["export", str(report_case.path), "clusters", "--no-bom", "-o", str(out)])
    assert result.exit_code == 0 and out.read_bytes().startswith(b"source,row")
