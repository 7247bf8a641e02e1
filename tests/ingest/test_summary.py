"""Import tells what it did (mapping, values, dates, IDs), dry runs store nothing, ID schemes (#15)."""

from __future__ import annotations

import json
import random
from datetime import date, timedelta
from pathlib import Path

import pandas as pd
import pytest
from typer.testing import CliRunner

from undercount.cli import app
from undercount.errors import ConfigError
from undercount.ingest import import_list
from undercount.names import normalise_name, split_name
from undercount.store import Case

from .conftest import HEADERS_AR, ROWS, assert_no_secrets, luhn_complete, write_csv

runner = CliRunner()

SURNAMES = ["De la Cruz", "Van der Berg", "García López", "Alonso Téllez", "Abu Khalil", "Del Rosario", "Smith",
            "O'Brien", "Von Trapp", "Bin Laden", "Al-Masri", "El Amrani", "Da Silva", "Ibn Rushd", "Le Roux"]
GIVEN = ["Maria", "José", "John", "Ana", "Ahmed", "Linda", "James", "Fatima", "Carlos", "Mary"]


def _us_list(path: Path, n: int = 60, seed: int = 4) -> list[dict[str, object]]:
    """A US-style list: SSNs, MM/DD/YYYY dates (days over 12 among them), two-word surnames."""
    rng = random.Random(seed)
    people = []
    lines = ["First Name,Last Name,SSN,DOB,Date of Death,Sex,Age,City"]
    for i in range(n):
        dob = date(1950, 1, 1) + timedelta(days=rng.randrange(0, 25_000))
        dod = date(2023, 10, 1) + timedelta(days=rng.randrange(0, 300))
        ssn = f"{rng.randrange(100, 900)}-{rng.randrange(10, 99)}-{rng.randrange(1000, 9999)}"
        person = {"given": GIVEN[i % len(GIVEN)], "family": SURNAMES[i % len(SURNAMES)], "ssn": ssn, "dob": dob,
                  "dod": dod}
        people.append(person)
        lines.append(f"{person['given']},{person['family']},{ssn},{dob:%m/%d/%Y},{dod:%m/%d/%Y},"
                     f"{'FM'[i % 2]},{(dod - dob).days // 365},Dearborn")
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return people


def _no_secrets(text: str) -> None:
    """No name or ID of the test rows in an output, the headers it may quote apart ("العمر" holds "عمر")."""
    for header in HEADERS_AR:
        text = text.replace(header, "")
    assert_no_secrets(text)


def _spec(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "spec.toml"
    path.write_text(text, encoding="utf-8")
    return path


def test_a_us_list_imports_with_no_invalid_id_right_dates_and_whole_surnames(empty_case: Case, tmp_path: Path) -> None:
    people = _us_list(tmp_path / "us.csv")
    result = import_list(empty_case, tmp_path / "us.csv", spec=_spec(tmp_path, '[list]\nid_scheme = "other"\n'))
    assert result.flags["invalid_id"] == 0 and result.ids == {"scheme": "other", "given": 60, "valid": 60, "invalid": 0}
    rec = empty_case.records()
    assert rec["id_number"].tolist() == [str(p["ssn"]).replace("-", "") for p in people]
    assert rec["id_valid"].tolist() == [True] * 60
    assert [d.date() for d in pd.to_datetime(rec["date_of_birth"])] == [p["dob"] for p in people]
    assert [d.date() for d in pd.to_datetime(rec["event_date"])] == [p["dod"] for p in people]
    assert result.dates["event_date"]["order"] == "MDY" and result.dates["event_date"]["order_source"] == "data"
    # the whole surname, never spilled into the father's or grandfather's place
    assert rec["father"].isna().all() and rec["grandfather"].isna().all()
    assert all(len(f.split()) >= len(str(p["family"]).replace("-", " ").split()) - 1 or f
               for f, p in zip(rec["family"], people))
    families = dict(zip([p["family"] for p in people], rec["family"]))
    assert families == {f: normalise_name(f) for f in SURNAMES}
    assert families["De la Cruz"] == "de la cruz" and families["Van der Berg"] == "van der berg"
    assert families["García López"] == "garcia lopez" and len(families["Alonso Téllez"].split()) == 2
    assert rec["given"].tolist()[:3] == ["maria", "jose", "john"]


def test_without_the_scheme_a_us_list_is_flagged_and_told_how(empty_case: Case, tmp_path: Path) -> None:
    _us_list(tmp_path / "us.csv")
    result = import_list(empty_case, tmp_path / "us.csv")
    assert result.flags["invalid_id"] > 30  # an SSN passes the Palestinian check digit one time in ten
    assert any('id_scheme = "other"' in w and f"{result.flags['invalid_id']} of 60 IDs" in w for w in result.warnings)


def test_id_schemes(empty_case: Case, tmp_path: Path) -> None:
    headers = ["name", "id"]
    rows = [["A B", "P-1234567"], ["C D", "طفل رضيع"], ["E F", "987 654 321"], ["G H", ""]]
    path = write_csv(tmp_path / "ids.csv", rows, headers)
    other = import_list(empty_case, path, name="other", spec=_spec(tmp_path, '[list]\nid_scheme = "other"\n'))
    none = import_list(Case.init(tmp_path / "c2"), path, name="none",
                       spec=_spec(tmp_path, '[list]\nid_scheme = "none"\n'))
    rec = empty_case.records()
    assert rec["id_number"][0] == "P1234567" and rec["id_number"][2] == "987654321"
    assert pd.isna(rec["id_number"][1]) and pd.isna(rec["id_number"][3])
    assert rec["id_valid"].tolist()[:3] == [True, False, True] and pd.isna(rec["id_valid"][3])
    assert other.flags["invalid_id"] == 1 and none.flags["invalid_id"] == 1  # a cell that is not an ID
    rec2 = Case.open(tmp_path / "c2").records()
    assert pd.isna(rec2["id_valid"][0]) and rec2["id_number"][0] == "P1234567"
    with pytest.raises(ConfigError, match="id_scheme must be one of palestinian, other, none"):
        import_list(empty_case, path, name="x", spec=_spec(tmp_path, '[list]\nid_scheme = "ssn"\n'))


def test_the_summary_shows_the_mapping_and_what_was_read(empty_case: Case, sample_csv: Path) -> None:
    result = import_list(empty_case, sample_csv)
    assert [(m["header"], m["field"], m["how"]) for m in result.mapping] == [
        ("الاسم الرباعي", "full_name", "recognised header"), ("رقم الهوية", "id_number", "recognised header"),
        ("العمر", "age", "recognised header"), ("الجنس", "sex", "recognised header"),
        ("تاريخ الميلاد", "date_of_birth", "recognised header"), ("تاريخ الوفاة", "event_date", "recognised header"),
        ("المحافظة", "place", "recognised header")]
    assert result.values["sex"]["mapped"] == {"ذكر": "male", "أنثى": "female", "انثى": "female", "M": "male"}
    assert result.dates["event_date"]["read"] == {"year-month-day": 5, "day/month/year": 1}
    out = runner.invoke(app, ["import", str(empty_case.path), str(sample_csv), "--name", "again", "--json"])
    assert out.exit_code == 0 and json.loads(out.stdout)["skipped"]


def test_the_cli_summary_says_which_column_became_what(empty_case: Case, sample_csv: Path) -> None:
    out = runner.invoke(app, ["import", str(empty_case.path), str(sample_csv)])
    assert out.exit_code == 0, out.output
    lines = out.stdout.splitlines()
    assert "  'الاسم الرباعي' -> full_name (recognised header)" in lines
    assert "  'تاريخ الوفاة': year-month-day 5 rows, day/month/year 1 row; order day/month (assumed), 1 row with day and month 12 or less" \
        not in lines  # 20/10/2023 tells the order itself: no assumption
    assert any(line.startswith("  sex: 'ذكر' -> male (3 rows)") for line in lines)
    assert any(line.startswith("IDs (palestinian scheme): 5 given, 4 valid, 1 invalid") for line in lines)
    _no_secrets(out.output)


def _state(case: Case) -> tuple[object, ...]:
    with case.connect(read_only=True) as con:
        tables = tuple(con.execute(f"SELECT * FROM {t} ORDER BY ALL").fetchall()
                       for t in ("uc_records", "uc_sources", "uc_runs", "uc_audit"))
    return tables, sorted(p.name for p in case.path.rglob("*") if p.name != "case.duckdb.wal")


def test_dry_run_stores_nothing_and_shows_the_first_rows(empty_case: Case, sample_csv: Path, tmp_path: Path) -> None:
    import_list(empty_case, write_csv(tmp_path / "first.csv", ROWS[:2]))
    before = _state(empty_case)
    result = import_list(empty_case, sample_csv, dry_run=True)
    assert result.dry_run and result.rows == 6 and result.run_id is None and result.stored_as is None
    assert _state(empty_case) == before
    assert [r["row"] for r in result.preview] == [1, 2, 3, 4, 5]
    first = result.preview[0]
    assert first["full_name"] == "[Arabic, 4 words]" and first["id_number"] == "[9 characters]"
    assert first["age"] == 34 and first["sex"] == "male" and first["event_date"] == "2023-10-20"
    _no_secrets(json.dumps(result.to_dict(), ensure_ascii=False))
    out = runner.invoke(app, ["import", str(empty_case.path), str(sample_csv), "--dry-run"])
    assert out.exit_code == 0 and "nothing was stored" in out.stdout and "row 1: full_name [Arabic, 4 words]" in out.stdout
    _no_secrets(out.output)
    assert _state(empty_case) == before
    shown = runner.invoke(app, ["import", str(empty_case.path), str(sample_csv), "--dry-run", "--show-names"])
    assert shown.exit_code == 0 and ROWS[0][1] in shown.stdout  # asked for: the names and IDs as read
    assert _state(empty_case) == before
    assert runner.invoke(app, ["import", str(empty_case.path), str(sample_csv), "--show-names"]).exit_code == 2
    assert import_list(empty_case, sample_csv).rows == 6  # and the real import still works


def test_a_dry_run_of_a_bad_file_reports_like_an_import(empty_case: Case, tmp_path: Path) -> None:
    rows = [list(r) for r in ROWS]
    rows[1][5] = "13/13/2023"
    out = runner.invoke(app, ["import", str(empty_case.path), str(write_csv(tmp_path / "b.csv", rows)), "--dry-run"])
    assert out.exit_code == 1 and "unreadable date: no such day or month" in out.output
    assert luhn_complete("40123456") not in out.output


def test_a_us_list_with_one_full_name_column_keeps_whole_surnames(empty_case: Case, tmp_path: Path) -> None:
    people = _us_list(tmp_path / "parts.csv")
    lines = ["Full Name,SSN,Date of Death"]
    lines += [f"{p['given']} {p['family']},{p['ssn']},{p['dod']:%m/%d/%Y}" for p in people]
    (tmp_path / "full.csv").write_text("\n".join(lines) + "\n", encoding="utf-8")
    result = import_list(empty_case, tmp_path / "full.csv", spec=_spec(tmp_path, '[list]\nid_scheme = "other"\n'))
    assert result.names["order"] == "western" and result.names["source"] == "names"
    assert result.flags["invalid_id"] == 0
    rec = empty_case.records()
    assert [d.date() for d in pd.to_datetime(rec["event_date"])] == [p["dod"] for p in people]
    assert rec["father"].isna().all() and rec["grandfather"].isna().all()
    # every surname whole: "De la Cruz", "Van der Berg", "Abu Khalil" ... (two-word surnames without a
    # particle, "García López", need [list] surname_words = 2 or a surname column)
    particles = {"De la Cruz", "Van der Berg", "Abu Khalil", "Del Rosario", "Von Trapp", "Bin Laden", "Al-Masri",
                 "El Amrani", "Da Silva", "Ibn Rushd", "Le Roux", "Smith", "O'Brien"}
    for p, family in zip(people, rec["family"]):
        if p["family"] in particles:
            assert family == normalise_name(str(p["family"])) or family == split_name(
                f"{p['given']} {p['family']}", "western").family, p["family"]
            assert family.replace(" ", "") == normalise_name(str(p["family"])).replace(" ", "")
    Case.init(tmp_path / "c3")
    out = runner.invoke(app, ["import", str(tmp_path / "c3"), str(tmp_path / "full.csv"), "--dry-run"])
    assert "Names: Latin full names split in the Western order" in out.stdout
    two = import_list(Case.init(tmp_path / "c2"), tmp_path / "full.csv",
                      spec=_spec(tmp_path, '[list]\nid_scheme = "other"\nsurname_words = 2\n'))
    assert two.names["order"] == "western"
    families = Case.open(tmp_path / "c2").records()["family"].tolist()
    assert families[SURNAMES.index("García López")] == "garcia lopez"


def test_the_assumptions_are_kept_with_the_import_run(empty_case: Case, tmp_path: Path) -> None:
    path = tmp_path / "amb.csv"
    path.write_text("name,date_of_death\nA B,03/04/2024\nC D,01/02/2024\n", encoding="utf-8")
    result = import_list(empty_case, path)
    assert len(result.warnings) == 1 and 'order = "MDY"' in result.warnings[0]
    summary = json.loads(empty_case.runs("import")["summary"][0])
    assert summary["dates"] == {"event_date": {"order": "DMY", "order_source": "assumed"}}
    assert summary["warnings"] == list(result.warnings) and summary["id_scheme"] == "palestinian"
    out = runner.invoke(app, ["import", str(Case.init(tmp_path / "c2").path), str(path)])
    assert out.exit_code == 0 and "Warning: column 'date_of_death': 2 date(s) have a day and month of 12" in out.output
