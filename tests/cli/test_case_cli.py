"""The init, import and audit commands, run in-process."""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from undercount.cli import app

# The small synthetic list of the ingest tests (loaded by path: tests/ is not a package).
_SPEC = importlib.util.spec_from_file_location("_ingest_data", Path(__file__).parents[1] / "ingest" / "conftest.py")
assert _SPEC is not None and _SPEC.loader is not None
_DATA = importlib.util.module_from_spec(_SPEC)
_SPEC.loader.exec_module(_DATA)
ROWS, assert_no_secrets, csv_text, write_csv = _DATA.ROWS, _DATA.assert_no_secrets, _DATA.csv_text, _DATA.write_csv

runner = CliRunner()


def _run(*args: str) -> tuple[int, str]:
    result = runner.invoke(app, [str(a) for a in args])
    assert result.exception is None or isinstance(result.exception, SystemExit), result.exception
    return result.exit_code, result.output


@pytest.fixture
def case_dir(tmp_path: Path) -> Path:
    code, _ = _run("init", tmp_path / "case")
    assert code == 0
    return tmp_path / "case"


def test_import_then_again_then_audit(case_dir: Path, tmp_path: Path) -> None:
    src = write_csv(tmp_path / "moh.csv")
    code, out = _run("import", case_dir, src)
    assert code == 0
    assert out.startswith("Imported 6 rows from moh.csv as list 'moh' (sha256 ")
    assert "Flags: invalid_id 1, age_range 1" in out
    code, out = _run("import", case_dir, src)
    assert code == 0 and "was already imported as list 'moh'" in out and out.rstrip().endswith("skipped")
    code, out = _run("audit", case_dir, "--json")
    assert code == 0
    data = json.loads(out)
    assert list(data) == ["lists"] and data["lists"]["moh"]["rows"] == 6
    assert {"rows", "invalid_ids", "missing_age", "missing_sex", "duplicate_ids"} <= set(data["lists"]["moh"])
    code, out = _run("audit", case_dir)
    assert code == 0 and "moh" in out and "invalid IDs" in out
    assert_no_secrets(out)


def test_import_json_output(case_dir: Path, tmp_path: Path) -> None:
    code, out = _run("import", case_dir, write_csv(tmp_path / "x.csv"), "--name", "press", "--json")
    assert code == 0
    data = json.loads(out)
    assert data["name"] == "press" and data["rows"] == 6 and data["columns"]["id_number"] == "رقم الهوية"


def test_missing_columns_message(case_dir: Path, tmp_path: Path) -> None:
    src = write_csv(tmp_path / "bad.csv", [["1", "x"]], ["notes", "age"])
    code, out = _run("import", case_dir, src)
    assert code == 1
    assert out.strip() == (
        "InputError: file bad.csv: no name or ID column among the headers found: notes, age (map one "
        "with a spec: [columns] full_name = \"...\" or id_number = \"...\")"
    )


def test_spec_naming_absent_column(case_dir: Path, tmp_path: Path) -> None:
    spec = tmp_path / "s.toml"
    spec.write_text('[columns]\nplace = "Town"\n', encoding="utf-8")
    code, out = _run("import", case_dir, write_csv(tmp_path / "moh.csv"), "--spec", spec)
    assert code == 1
    assert out.startswith("ConfigError: spec s.toml: column(s) not in file moh.csv: place = 'Town' (headers found: ")


def test_truncated_file_message(case_dir: Path, tmp_path: Path) -> None:
    text = csv_text(ROWS)
    src = tmp_path / "cut.csv"
    src.write_text(text[: text.index("3 أشهر") + len("3 أشهر")], encoding="utf-8")
    code, out = _run("import", case_dir, src)
    assert code == 1
    assert out.strip() == ("InputError: file cut.csv, row 5: has 3 fields, the header has 7 "
                           "(the file may be truncated or damaged)")
    assert_no_secrets(out)


def test_wrong_encoding_message(case_dir: Path, tmp_path: Path) -> None:
    src = tmp_path / "noise.csv"
    src.write_bytes(bytes(range(256)) * 10)
    code, out = _run("import", case_dir, src)
    assert code == 1
    assert out.strip() == ("InputError: file noise.csv: the file is not text in any encoding undercount "
                           "reads (UTF-8, UTF-16, Windows-1256, Windows-1255)")


def test_impossible_dates_message(case_dir: Path, tmp_path: Path) -> None:
    rows = [list(r) for r in ROWS]
    rows[2][5] = "2023-02-30"
    code, out = _run("import", case_dir, write_csv(tmp_path / "d.csv", rows))
    assert code == 1
    assert out.strip() == "InputError: file d.csv, row 3, column 'تاريخ الوفاة': unreadable date: no such day or month"
    assert_no_secrets(out)


def test_usage_and_missing_case(tmp_path: Path) -> None:
    code, _ = _run("import")
    assert code == 2
    code, out = _run("audit", tmp_path / "nowhere")
    assert code == 1 and out.startswith("StoreError: no case at ")


def test_every_problem_is_listed(case_dir: Path, tmp_path: Path) -> None:
    rows = [list(r) for r in ROWS]
    rows[1][5] = "2023-13-45"
    rows[3][4] = "soon"
    code, out = _run("import", case_dir, write_csv(tmp_path / "two.csv", rows))
    assert code == 1
    lines = out.strip().splitlines()
    assert lines[0] == "2 problems in two.csv:"
    assert lines[1] == "  column 'تاريخ الميلاد': unreadable date: not a date: 1 row (rows 4)"
    assert lines[2] == "  column 'تاريخ الوفاة': unreadable date: no such day or month: 1 row (rows 2)"
    assert lines[3].startswith("InputError: file two.csv, row 4, column 'تاريخ الميلاد'")
    assert lines[3].endswith("(and 1 more problem(s))")
    assert_no_secrets(out)
