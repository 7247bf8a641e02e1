"""Importing incident files: every format, HXL, specs, atomicity, and errors that name file, row and column."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest
from typer.testing import CliRunner

from undercount.cli import app
from undercount.errors import ConfigError, InputError
from undercount.incidents import import_incidents
from undercount.incidents.vocab import parse_range
from undercount.store import Case

from .conftest import HEADER, ROWS, snapshot, write


def _reports(case: Case) -> pd.DataFrame:
    return case.query("SELECT * EXCLUDE (raw, report_id, run_id, file_hash, file) FROM uc_incident_reports ORDER BY \"row\"")


def test_import_reads_every_field(empty_case: Case, reports_csv: Path) -> None:
    result = import_incidents(empty_case, reports_csv)
    assert (result.name, result.rows, result.skipped, result.hxl) == ("airwars", 3, False, False)
    rep = _reports(empty_case)
    assert rep["row"].tolist() == [1, 2, 3]
    assert rep["code"].tolist() == ["AW-1", "AW-2", "AW-3"]
    assert [str(d)[:10] for d in rep["date_start"]] == ["2023-10-17", "2023-10-01", "2023-10-17"]
    assert [str(d)[:10] for d in rep["date_end"]] == ["2023-10-17", "2023-10-31", "2023-10-17"]
    assert rep["date_precision"].tolist() == ["day", "month", "day"]
    assert rep["place"].tolist() == ["Jabalia camp", "Nuseirat", "Khan Younis"]
    assert rep["adm1"].tolist() == ["North Gaza", "Deir al-Balah", "Khan Younis"]
    assert rep["admin_level"].tolist() == [3, 3, 1]
    assert rep["place_written"].tolist() == ["Jabalia camp", "مخيم النصيرات", "Khan Yunis"]
    assert rep["object_type"].tolist() == ["residential", "shelter", "health_facility"]
    assert rep["weapon_class"].tolist() == ["airstrike", "shelling", "shelling"]
    assert rep["killed_min"].tolist() == [15, 12, 4]
    assert rep["killed_max"].tolist()[:2] == [20, 12] and pd.isna(rep["killed_max"][2])
    assert rep["injured_min"].tolist()[0] == 30 and rep["injured_min"].isna().tolist()[1:] == [True, True]
    assert rep["actor"].tolist()[0] == "Armed forces A" and rep["actor"].isna().tolist()[1:] == [True, True]
    assert rep["source_name"].tolist() == ["Airwars", "Airwars", "Al Jazeera"]
    assert rep["source_kind"].tolist() == ["casualty_recorder", "casualty_recorder", "press"]
    stored = empty_case.path / empty_case.query("SELECT stored_as FROM uc_entity_files")["stored_as"][0]
    assert stored.read_bytes() == reports_csv.read_bytes()
    raw = json.loads(empty_case.query("SELECT raw FROM uc_incident_reports WHERE \"row\" = 2")["raw"][0])
    assert raw["location"] == "مخيم النصيرات"
    assert empty_case.runs("incidents-import")["run_id"].tolist() == [result.run_id]


def test_same_file_again_is_skipped_and_a_name_is_one_file(empty_case: Case, reports_csv: Path, tmp_path: Path) -> None:
    import_incidents(empty_case, reports_csv)
    again = import_incidents(empty_case, reports_csv)
    assert again.skipped and again.rows == 0 and "skipped" in again.message
    other = write(tmp_path / "x" / "airwars.csv" if (tmp_path / "x").mkdir() is None else tmp_path, HEADER + ROWS[0] + "\n")
    with pytest.raises(ConfigError, match="already used"):
        import_incidents(empty_case, other)


@pytest.mark.parametrize("fmt", ["xlsx", "json", "hxl", "tsv-1256"])
def test_every_format_gives_the_same_reports(empty_case: Case, reports_csv: Path, tmp_path: Path, fmt: str) -> None:
    import_incidents(empty_case, reports_csv)
    table = pd.read_csv(reports_csv, dtype=str, keep_default_na=False)
    if fmt == "xlsx":
        path = tmp_path / "other.xlsx"
        table.to_excel(path, index=False)
    elif fmt == "json":
        path = write(tmp_path / "other.json", json.dumps(table.to_dict(orient="records"), ensure_ascii=False))
    elif fmt == "hxl":
        tags = "#event+id,#date,#loc+name,#adm1+name,#loc+type,#event+weapon,#affected+killed,#affected+injured," \
               "#org+perpetrator,#meta+source,#meta+source+type,#meta+url\n"
        text = "Code,When,Where,Area,What,How,Dead,Hurt,Who,By,Kind,Link\n" + tags + "\n".join(ROWS) + "\n"
        path = write(tmp_path / "other.csv", text)
    else:
        path = tmp_path / "other.tsv"
        path.write_bytes(reports_csv.read_text(encoding="utf-8").replace(",", "\t").encode("cp1256", errors="replace"))
    result = import_incidents(empty_case, path, name="other")
    assert result.rows == 3 and result.hxl == (fmt == "hxl")
    rep = empty_case.query("SELECT * EXCLUDE (raw, report_id, run_id, file_hash, file) FROM uc_incident_reports "
                           "ORDER BY file, \"row\"")
    first, second = rep[rep.index < 3].reset_index(drop=True), rep[rep.index >= 3].reset_index(drop=True)
    columns = ["row", "code", "date_start", "date_precision", "place", "adm1", "object_type", "killed_min",
               "killed_max", "source_name", "source_kind"]
    if fmt == "tsv-1256":  # Windows-1256 has no sign for some letters: compare the columns it keeps
        columns = ["row", "code", "date_start", "killed_min", "source_name"]
    pd.testing.assert_frame_equal(first[columns], second[columns])


def test_a_malformed_file_stores_nothing_and_names_file_row_and_column(empty_case: Case, reports_csv: Path,
                                                                       tmp_path: Path) -> None:
    import_incidents(empty_case, reports_csv)
    before = snapshot(empty_case)
    bad = write(tmp_path / "bad.csv", "incident id,date,location,type,killed,source type,archive hash,latitude\n"
                "B1,2023-13-45,Gaza,bakery,12,press,abc,31.5\n"
                "B2,2023-10-10,Gaza,school,20-10,television,,\n"
                "B3,2023-10-11,Gaza,school,many,press,,95\n")
    with pytest.raises(InputError) as caught:
        import_incidents(empty_case, bad)
    err = caught.value
    assert err.file == "bad.csv"
    found = {(p.row, p.column) for p in err.problems}
    assert found == {(1, "date"), (1, "type"), (1, "archive hash"), (1, "latitude"), (2, "killed"), (2, "source type"),
                     (3, "killed"), (3, "latitude")}
    assert str(err).startswith("file bad.csv, row 1, column ")
    assert "bakery" not in str(err) and "television" not in str(err) and "many" not in str(err)
    assert snapshot(empty_case) == before


def test_files_are_read_as_victim_lists_are(empty_case: Case, reports_csv: Path, tmp_path: Path,
                                            monkeypatch: pytest.MonkeyPatch) -> None:
    """The victim importer's reading (a folder, a missing file, the size limit) holds for incident files too."""
    from undercount.displacement import import_displacement
    from undercount.ingest import importer, limits

    before = snapshot(empty_case)
    with pytest.raises(InputError, match="is a folder, not a file: give the file of incidents"):
        import_incidents(empty_case, tmp_path)
    with pytest.raises(InputError, match="no such file"):
        import_displacement(empty_case, tmp_path / "absent.csv")
    small = limits.ReadLimits(file_bytes=64)
    monkeypatch.setattr(importer, "check_size", lambda size, file: limits.check_size(size, file, small))
    with pytest.raises(InputError, match=r"bytes, more than the 64 undercount reads") as caught:
        import_incidents(empty_case, reports_csv)
    assert caught.value.file == reports_csv.name
    assert snapshot(empty_case) == before


def test_the_cli_lists_every_problem_and_exits_1(empty_case: Case, tmp_path: Path) -> None:
    bad = write(tmp_path / "bad.csv", "date,place,killed\n2023-10-01,Gaza,lots\nnot a date,Gaza,3\n")
    result = CliRunner().invoke(app, ["incidents", "import", str(empty_case.path), str(bad)])
    assert result.exit_code == 1
    assert "2 problems in bad.csv" in result.output
    assert "row 1, column 'killed'" in result.output and "row 2, column 'date'" in result.output
    assert "Traceback" not in result.output
    assert snapshot(empty_case)[1] is None or snapshot(empty_case)[1] == 0


def test_a_file_without_a_date_column_is_refused(empty_case: Case, tmp_path: Path) -> None:
    path = write(tmp_path / "nodate.csv", "place,killed\nGaza,3\n")
    with pytest.raises(InputError, match="no column of incidents found"):
        import_incidents(empty_case, path)


def test_hxl_rows_are_counted_under_the_hashtag_row(empty_case: Case, tmp_path: Path) -> None:
    path = write(tmp_path / "hxl.csv", "#date,#loc+name,#affected+killed+min,#affected+killed+max\n"
                 "2023-10-01,Rafah,3,5\n2023-10-02,Rafah,1,1\n")
    result = import_incidents(empty_case, path)
    assert result.hxl and result.rows == 2
    rep = _reports(empty_case)
    assert rep["row"].tolist() == [1, 2] and rep["killed_max"].tolist() == [5, 1]
    bad = write(tmp_path / "hxl2.csv", "When,Where\n#date,#loc+name\n2023-10-01,Rafah\nsoon,Rafah\n")
    with pytest.raises(InputError) as caught:
        import_incidents(empty_case, bad)
    assert (caught.value.row, caught.value.column) == (2, "When")


def test_a_spec_maps_columns_values_and_the_source(empty_case: Case, tmp_path: Path) -> None:
    data = write(tmp_path / "ngo.csv", "يوم الحادثة,الموقع,الهدف,الضحايا\n2023-11-02,رفح,مخبز,4\n")
    spec = write(tmp_path / "ngo.toml", '[list]\nname = "ngo_reports"\nsource = "NGO X"\nsource_kind = "ngo"\n'
                 '[columns]\ndate = "يوم الحادثة"\nkilled = "الضحايا"\n[values.object_type]\n"مخبز" = "aid_distribution"\n')
    result = import_incidents(empty_case, data, spec=spec)
    rep = _reports(empty_case)
    assert result.name == "ngo_reports"
    assert rep[["object_type", "source_name", "source_kind", "place", "killed_min"]].values.tolist() == [
        ["aid_distribution", "NGO X", "ngo", "Rafah", 4]]


@pytest.mark.parametrize("text, message", [
    ('[columns]\nkiled = "x"\n', "not a field of incidents"),
    ('[values.object_type]\n"x" = "bakery"\n', "must be one of"),
    ('[list]\nsource_kind = "blog"\n', "source_kind must be one of"),
    ('[extra]\n', "unknown section"),
])
def test_a_wrong_spec_is_a_config_error(empty_case: Case, reports_csv: Path, tmp_path: Path, text: str,
                                        message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        import_incidents(empty_case, reports_csv, spec=write(tmp_path / "s.toml", text))


@pytest.mark.parametrize("cell, expected", [
    ("12", (12, 12)), ("15-20", (15, 20)), ("15 – 20", (15, 20)), ("at least 12", (12, None)), ("12+", (12, None)),
    ("أكثر من ١٢", (12, None)), ("up to 9", (0, 9)), ("about 30", (30, 30)), ("unknown", (None, None)),
    ("غير معروف", (None, None)), ("", (None, None)), ("1,250", (1250, 1250)), ("many", None), ("-3", None),
])
def test_counts_are_read_as_ranges(cell: str, expected: tuple[int | None, int | None] | None) -> None:
    assert parse_range(cell) == expected
