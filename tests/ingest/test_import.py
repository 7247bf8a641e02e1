"""Import end to end: canonical fields, flags, atomicity, idempotence, real lists."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd
import pytest

from undercount.errors import ConfigError, InputError, StoreError
from undercount.ingest import audit_case, import_list, importer
from undercount.store import Case

from .conftest import HEADERS_AR, ROWS, assert_no_secrets, luhn_complete, write_csv


def _snapshot(case: Case) -> tuple[int, int, int, int, list[str]]:
    with case.connect(read_only=True) as con:
        counts = [con.execute(f"SELECT count(*) FROM {t}").fetchall()[0][0]
                  for t in ("uc_records", "uc_sources", "uc_runs", "uc_audit")]
    return (*counts, sorted(p.name for p in case.sources_dir.iterdir() if not p.name.startswith(".")))


def test_import_canonical_fields(empty_case: Case, sample_csv: Path) -> None:
    result = import_list(empty_case, sample_csv)
    assert (result.name, result.rows, result.skipped) == ("moh_sample", 6, False)
    rec = empty_case.records()
    assert rec["row"].tolist() == [1, 2, 3, 4, 5, 6]
    assert rec["source"].unique().tolist() == ["moh_sample"]
    assert rec["id_number"].tolist()[:4] == [r[1] for r in ROWS[:4]] and pd.isna(rec["id_number"][4])
    assert rec["id_valid"].tolist()[:4] == [True, True, True, False] and pd.isna(rec["id_valid"][4])
    assert rec["sex"].tolist() == ["male", "female", "male", "female", "male", "male"]
    assert rec["age"].tolist()[:5] == [34, 7, 5, 61, 0] and pd.isna(rec["age"][5])  # 150 -> null
    assert str(rec["event_date"][2])[:10] == "2023-10-20"
    assert rec["place"].tolist()[0] == "Gaza" and rec["script"].tolist()[0] == "arabic"
    assert rec["given"].notna().all() and rec["name_key"].notna().all()
    assert list(rec["flags"][3]) == ["invalid_id"] and list(rec["flags"][5]) == ["age_range"]
    assert json.loads(rec["raw"][0]) == dict(zip(HEADERS_AR, ROWS[0]))
    src = empty_case.sources()
    assert src["row_count"].tolist() == [6] and src["format"].tolist() == ["csv"]
    stored = empty_case.path / src["stored_as"][0]
    assert stored.read_bytes() == sample_csv.read_bytes()
    assert stored.name == f"{result.file_hash}.csv"
    runs = empty_case.runs("import")
    assert runs["run_id"].tolist() == [result.run_id] and set(rec["run_id"]) == {result.run_id}
    assert_no_secrets(empty_case.audit_log()["detail"].str.cat())


def test_second_list_gets_new_record_ids(empty_case: Case, sample_csv: Path, tmp_path: Path) -> None:
    import_list(empty_case, sample_csv)
    other = write_csv(tmp_path / "survey.csv", ROWS[:2])
    import_list(empty_case, other)
    rec = empty_case.records()
    assert rec["record_id"].tolist() == list(range(1, 9))
    assert rec.groupby("source")["row"].max().to_dict() == {"moh_sample": 6, "survey": 2}


def test_idempotent(empty_case: Case, sample_csv: Path) -> None:
    first = import_list(empty_case, sample_csv)
    before = _snapshot(empty_case)
    again = import_list(empty_case, sample_csv, name="another_name")
    assert again.skipped and again.rows == 0 and again.name == "moh_sample"
    assert again.message == f"moh_sample.csv was already imported as list 'moh_sample' (sha256 {first.file_hash[:12]}...): skipped"
    assert _snapshot(empty_case) == before


def test_same_name_other_file_is_refused(empty_case: Case, sample_csv: Path, tmp_path: Path) -> None:
    import_list(empty_case, sample_csv)
    release = write_csv(tmp_path / "r2.csv", ROWS[:3])
    with pytest.raises(ConfigError) as info:
        import_list(empty_case, release, name="moh_sample")
    assert "list name 'moh_sample' is already used" in str(info.value) and "--name" in str(info.value)
    assert import_list(empty_case, release, name="moh_sample_r2").rows == 3


def test_failure_half_way_stores_nothing(empty_case: Case, sample_csv: Path, tmp_path: Path,
                                         monkeypatch: pytest.MonkeyPatch) -> None:
    import_list(empty_case, write_csv(tmp_path / "first.csv", ROWS[:2]))
    before = _snapshot(empty_case)
    real = importer._insert_records

    def insert_then_fail(con, *args, **kwargs):  # type: ignore[no-untyped-def]
        real(con, *args, **kwargs)
        assert con.execute("SELECT count(*) FROM uc_records").fetchall()[0][0] == 8  # inside the transaction
        raise RuntimeError("disk full")

    monkeypatch.setattr(importer, "_insert_records", insert_then_fail)
    with pytest.raises(StoreError, match="could not store moh_sample.csv"):
        import_list(empty_case, sample_csv)
    after = _snapshot(empty_case)
    assert after[:4] == before[:4]  # the copied source file may stay: harmless, reused next time
    monkeypatch.undo()
    assert import_list(empty_case, sample_csv).rows == 6


_KILLED_SCRIPT = """
import sys, time
from pathlib import Path
from undercount.ingest import importer, import_list
from undercount.store import Case
real = importer._insert_records
def slow(con, *args, **kwargs):
    real(con, *args, **kwargs)
    Path(sys.argv[3]).write_text("inserted")
    time.sleep(60)
importer._insert_records = slow
import_list(Case.open(sys.argv[1]), sys.argv[2])
"""


def test_import_killed_half_way_leaves_case_as_it_was(empty_case: Case, tmp_path: Path) -> None:
    import_list(empty_case, write_csv(tmp_path / "first.csv", ROWS[:2]))
    before = _snapshot(empty_case)
    big = write_csv(tmp_path / "big.csv", [[*r[:1], luhn_complete(f"{i:08d}"), *r[2:]] for i in range(5_000) for r in ROWS[:1]])
    marker = tmp_path / "marker"
    proc = subprocess.Popen([sys.executable, "-c", _KILLED_SCRIPT, str(empty_case.path), str(big), str(marker)],
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        deadline = time.monotonic() + 60
        while not marker.exists():
            assert proc.poll() is None, proc.stderr.read().decode() if proc.stderr else ""
            assert time.monotonic() < deadline
            time.sleep(0.05)
    finally:
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait()
    reopened = Case.open(empty_case.path)
    assert _snapshot(reopened)[:4] == before[:4]
    assert reopened.records()["source"].unique().tolist() == ["first"]
    assert import_list(reopened, big).rows == 5_000


def test_impossible_dates_are_all_reported(empty_case: Case, tmp_path: Path) -> None:
    rows = [list(r) for r in ROWS]
    rows[1][5] = "2023-13-45"
    rows[4][4] = "yesterday"
    rows[5][5] = "20.10.23x"
    path = write_csv(tmp_path / "dates.csv", rows)
    with pytest.raises(InputError) as info:
        import_list(empty_case, path)
    err = info.value
    assert [(p.row, p.column) for p in err.problems] == [(5, "تاريخ الميلاد"), (2, "تاريخ الوفاة"), (6, "تاريخ الوفاة")]
    assert str(err).startswith("file dates.csv, row 5, column 'تاريخ الميلاد': unreadable date: not a date")
    assert str(err).endswith("(and 2 more problem(s))")
    assert _snapshot(empty_case)[:3] == (0, 0, 0)
    spec = tmp_path / "lenient.toml"
    spec.write_text('[dates]\non_error = "null"\n', encoding="utf-8")
    result = import_list(empty_case, path, spec=spec)
    assert result.flags["bad_date"] == 3
    assert any("3 unreadable date(s) stored as empty" in w for w in result.warnings)


def test_many_bad_dates_are_summarised_per_column_and_problem(empty_case: Case, tmp_path: Path) -> None:
    from typer.testing import CliRunner

    from undercount.cli import app
    from undercount.ingest.records import LISTED_ROWS

    path = tmp_path / "many.csv"
    body = "".join(f"x{i},{'notadate' if i % 2 else '2023'},{'12 2023' if i % 3 else '07/10/2023'}\n"
                   for i in range(250))
    path.write_text("name,date_of_death,date_of_birth\n" + body)
    with pytest.raises(InputError) as info:
        import_list(empty_case, path)
    err = info.value
    assert err.total == 125 + 125 + 166
    assert str(err).endswith(f"(and {err.total - 1} more problem(s))")
    groups = err.grouped()
    assert sorted((str(g["column"]), str(g["problem"]), g["count"]) for g in groups) == sorted([
        ("date_of_birth", "unreadable date: month and year without a day", 166),
        ("date_of_death", "unreadable date: a year alone", 125),
        ("date_of_death", "unreadable date: not a date", 125)])
    assert all(len(g["rows"]) == LISTED_ROWS for g in groups)
    runner = CliRunner()
    result = runner.invoke(app, ["import", str(empty_case.path), str(path)])
    assert result.exit_code == 1
    lines = result.output.strip().splitlines()
    assert lines[0] == f"{err.total} problems in many.csv:" and len(lines) == 5  # one line per column and problem
    assert "  column 'date_of_death': unreadable date: not a date: 125 rows (rows 2, 4, 6 ...)" in lines
    result = runner.invoke(app, ["import", str(empty_case.path), str(path), "--json"])
    data = json.loads(result.stdout)
    assert result.exit_code == 1 and data["error"] == "InputError" and data["total"] == err.total
    assert {(p["column"], p["count"]) for p in data["problems"]} == {
        ("date_of_birth", 166), ("date_of_death", 125)}


def test_spec_end_to_end(empty_case: Case, tmp_path: Path) -> None:
    headers = ["Nom complet", "Numéro", "Sexe", "Âge", "Décès"]
    rows = [["سامر خليل يوسف الحداد", luhn_complete("40123456"), "H", "34", "10/20/2023"],
            ["ليلى سامر خليل الحداد", luhn_complete("40123457"), "F", "7", "12/01/2022"],
            ["ليلى سامر خليل الحداد", luhn_complete("40123457"), "F", "7", "12/01/2022"]]
    path = write_csv(tmp_path / "fr.csv", rows, headers, above=["Liste", "note"])
    spec = tmp_path / "fr.toml"
    spec.write_text(
        '[list]\nname = "french_list"\ndefault_status = "killed"\nperiod_start = 2023-10-07\n'
        'period_end = 2024-08-31\n[columns]\nfull_name = "Nom complet"\nid_number = "Numéro"\n'
        'sex = "Sexe"\nage = "Âge"\nevent_date = "Décès"\n[values.sex]\nH = "male"\n'
        '[dates]\nformats = ["%m/%d/%Y"]\n', encoding="utf-8")
    result = import_list(empty_case, path, spec=spec)
    assert result.name == "french_list" and result.header_row == 3
    rec = empty_case.records()
    assert rec["sex"].tolist() == ["male", "female", "female"]
    assert rec["status"].tolist() == ["killed"] * 3
    assert [sorted(f) for f in rec["flags"]] == [
        [], ["duplicate_id", "event_outside_period"], ["duplicate_id", "duplicate_row", "event_outside_period"]]
    assert json.loads(empty_case.sources()["spec"][0])["list"]["name"] == "french_list"


def test_parts_columns_make_the_name(empty_case: Case, tmp_path: Path) -> None:
    headers = ["الاسم الأول", "اسم الأب", "اسم الجد", "اسم العائلة", "العمر"]
    path = write_csv(tmp_path / "parts.csv", [["سامر", "خليل", "يوسف", "الحداد", "34"]], headers)
    import_list(empty_case, path)
    rec = empty_case.records().iloc[0]
    assert rec["full_name"] == "سامر خليل يوسف الحداد"
    assert (rec["given"], rec["father"], rec["grandfather"], rec["family"]) == ("سامر", "خليل", "يوسف", "الحداد")


@pytest.mark.parametrize("name", ["count", "Count", "tab\there"])
def test_reserved_list_names_refused(empty_case: Case, tmp_path: Path, name: str) -> None:
    path = write_csv(tmp_path / "l.csv", [["سامر خليل يوسف الحداد", "34"]], ["الاسم", "العمر"])
    with pytest.raises(ConfigError, match="cannot be used"):
        import_list(empty_case, path, name=name)
    assert len(empty_case.sources()) == 0


def test_missing_file(empty_case: Case, tmp_path: Path) -> None:
    with pytest.raises(InputError, match="file nope.csv: no such file"):
        import_list(empty_case, tmp_path / "nope.csv")
    (tmp_path / "lists").mkdir()
    with pytest.raises(InputError, match="file lists: is a folder, not a file"):
        import_list(empty_case, tmp_path / "lists")


@pytest.mark.parametrize(
    ("file", "step", "lines"),
    [
        # Every third row: the failing IDs cluster at the start (infants), so a head would not do.
        ("gaza_moh_20240831_raw.csv", 3, 11_448),
        ("gaza_moh_raw_20240620_with_dups.csv", 1, 3_000),
        ("tfp_killed_in_gaza_20240921.csv", 1, 3_000),
    ],
)
def test_real_lists(shared_dir: Path, empty_case: Case, tmp_path: Path, file: str, step: int, lines: int) -> None:
    text = (shared_dir / "data" / file).read_text(encoding="utf-8").splitlines(keepends=True)
    sample = tmp_path / file
    sample.write_text(text[0] + "".join(text[1::step][:lines]), encoding="utf-8")
    result = import_list(empty_case, sample)
    assert result.rows == lines
    assert {"full_name", "id_number", "age", "sex", "date_of_birth"} <= set(result.columns)
    figures = audit_case(empty_case).to_dict()["lists"][sample.stem]
    assert figures["rows"] == lines and figures["missing_sex"] == 0 and figures["missing_name"] == 0
    if file.startswith("tfp"):
        assert result.columns["full_name"] == "name" and result.columns["full_name_en"] == "en_name"
    if file == "gaza_moh_20240831_raw.csv":
        # README: 0.74% of the IDs fail the check digit in this list (0.71% in this sample).
        assert abs(figures["check_digit_failures"] / lines - 0.0074) < 0.001
        assert figures["invalid_ids"] / lines < 0.012 and figures["duplicate_ids"] == 0
        assert 0.15 < figures["age_heaping"] < 0.3


@pytest.mark.parametrize("fmt", ["xlsx", "json", "parquet"])
def test_every_format_imports_the_same_records(empty_case: Case, sample_csv: Path, tmp_path: Path, fmt: str) -> None:
    frame = pd.DataFrame(ROWS, columns=HEADERS_AR)
    path = tmp_path / f"other.{fmt}"
    if fmt == "xlsx":
        frame.to_excel(path, index=False)
    elif fmt == "json":
        frame.to_json(path, orient="records", force_ascii=False)
    else:
        frame.to_parquet(path)
    import_list(empty_case, sample_csv)
    result = import_list(empty_case, path)
    assert result.format == fmt and result.rows == 6
    rec = empty_case.records()
    cols = ["row", "full_name", "id_number", "id_valid", "sex", "age", "date_of_birth", "event_date", "place"]
    a = rec[rec.source == "moh_sample"][cols].reset_index(drop=True)
    b = rec[rec.source == "other"][cols].reset_index(drop=True)
    pd.testing.assert_frame_equal(a, b)


def test_header_only_file(empty_case: Case, tmp_path: Path) -> None:
    with pytest.raises(InputError, match="file head.csv: the file has a header but no data rows"):
        import_list(empty_case, write_csv(tmp_path / "head.csv", []))


def test_who_compiled_a_list_and_how_is_stored_with_it(empty_case: Case, sample_csv: Path, tmp_path: Path) -> None:
    """Issue 14: a description per list, set at import (option or spec), kept in uc_sources."""
    from typer.testing import CliRunner

    from undercount.cli import app

    out = CliRunner().invoke(app, ["import", str(empty_case.path), str(sample_csv), "--compiled-by",
                                   " وزارة الصحة - غزة ", "--description", "Hospital and morgue deaths,\nwith IDs"])
    assert out.exit_code == 0, out.output
    spec = tmp_path / "s.toml"
    spec.write_text('[list]\nname = "second"\ncompiled_by = "An NGO"\ndescription = "Family reports by phone"\n',
                    encoding="utf-8")
    other = write_csv(tmp_path / "other.csv", [["سامر خليل يوسف الحداد", "34"]], ["الاسم", "العمر"])
    import_list(empty_case, other, spec=spec, description="Family reports by phone and in person")  # option wins
    src = empty_case.sources().set_index("name")
    assert src.loc["moh_sample", "compiled_by"] == "وزارة الصحة - غزة"
    assert src.loc["moh_sample", "description"] == "Hospital and morgue deaths,\nwith IDs"
    assert (src.loc["second", "compiled_by"], src.loc["second", "description"]) == (
        "An NGO", "Family reports by phone and in person")


@pytest.mark.parametrize(("kwargs", "message"), [
    ({"compiled_by": "x" * 201}, "compiled by is 201 characters long: at most 200"),
    ({"description": "bad\x07bell"}, "description holds control characters"),
])
def test_a_bad_list_description_is_refused_and_nothing_is_stored(empty_case: Case, sample_csv: Path,
                                                                  kwargs: dict[str, str], message: str) -> None:
    before = _snapshot(empty_case)
    with pytest.raises(ConfigError, match=message):
        import_list(empty_case, sample_csv, **kwargs)
    assert _snapshot(empty_case) == before
