"""The incidents and displacement commands, in-process: exit codes and what they print."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

from typer.testing import CliRunner

from undercount.cli import app
from undercount.store import Case

from .conftest import write

runner = CliRunner()


def test_import_dedupe_list_review_export(empty_case: Case, sim_dir: Path, tmp_path: Path) -> None:
    path = str(empty_case.path)
    for file in sorted(sim_dir.glob("incidents_*")):
        result = runner.invoke(app, ["incidents", "import", path, str(file)])
        assert result.exit_code == 0, result.output
        assert "Imported" in result.output
    again = runner.invoke(app, ["incidents", "import", path, str(sim_dir / "incidents_airwars.csv")])
    assert again.exit_code == 0 and "skipped" in again.output
    before = runner.invoke(app, ["incidents", "list", path, "--json"])
    assert before.exit_code == 0 and json.loads(before.output)["run_id"] is None
    result = runner.invoke(app, ["incidents", "dedupe", path, "--json"])
    assert result.exit_code == 0, result.output
    deduped = json.loads(result.output)
    assert deduped["incidents"] < deduped["reports"] and sum(deduped["grades"].values()) == deduped["incidents"]
    listed = json.loads(runner.invoke(app, ["incidents", "list", path, "--json"]).output)
    assert len(listed["incidents"]) == deduped["incidents"]
    assert listed["incidents"][0]["coverage"].endswith("reported")
    table = runner.invoke(app, ["incidents", "list", path, "--limit", "3"])
    assert table.exit_code == 0 and "more (--limit 0 shows all)" in table.output
    review = runner.invoke(app, ["incidents", "review", path, "--json"])
    pairs = json.loads(review.output)["pairs"]
    if pairs:
        first = pairs[0]
        decided = runner.invoke(app, ["incidents", "decide", path, str(first["report_id_l"]),
                                      str(first["report_id_r"]), "different"])
        assert decided.exit_code == 0 and "Saved" in decided.output
    graded = runner.invoke(app, ["incidents", "grade", path, "I0000001", "confirmed", "--note", "statement"])
    assert graded.exit_code == 0 and "confirmed" in graded.output
    out = tmp_path / "incidents.csv"
    exported = runner.invoke(app, ["incidents", "export", path, "--format", "hxl", "--redact", "-o", str(out)])
    assert exported.exit_code == 0 and "redacted" in exported.output and out.is_file()
    for file in ("displacement.csv", "displacement_ocha.json"):
        assert runner.invoke(app, ["displacement", "import", path, str(sim_dir / file)]).exit_code == 0
    shown = runner.invoke(app, ["displacement", "list", path])
    assert shown.exit_code == 0 and "Rafah" in shown.output
    assert runner.invoke(app, ["displacement", "export", path, "-o", str(tmp_path / "d.xlsx"), "--format",
                               "xlsx"]).exit_code == 0


def test_errors_are_exit_1_and_usage_errors_exit_2(empty_case: Case, tmp_path: Path) -> None:
    path = str(empty_case.path)
    missing = runner.invoke(app, ["incidents", "dedupe", path])
    assert missing.exit_code == 1 and "StoreError" in missing.output
    assert runner.invoke(app, ["incidents", "import", path, str(tmp_path / "nope.csv")]).exit_code == 1
    assert runner.invoke(app, ["incidents", "export", path, "-o", str(tmp_path / "x"), "--format", "pdf"]).exit_code == 2
    assert runner.invoke(app, ["incidents", "dedupe"]).exit_code == 2
    assert runner.invoke(app, ["incidents", "decide", path, "1"]).exit_code == 2
    bad = write(tmp_path / "d.csv", "date,arrival,idps\nlater,Rafah,3\n")
    result = runner.invoke(app, ["displacement", "import", path, str(bad)])
    assert result.exit_code == 1 and "row 1, column 'date'" in result.output and "Traceback" not in result.output


def test_assign_and_evaluate_from_the_cli(deduped_dir: Path, tmp_path: Path) -> None:
    copy = tmp_path / "case"
    shutil.copytree(deduped_dir, copy)
    result = runner.invoke(app, ["incidents", "assign", str(copy)])
    assert result.exit_code == 1 and "not been linked" in result.output
