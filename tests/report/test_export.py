"""Exports: every format, redaction that really drops names and IDs, the HXL row, the audit log."""

from __future__ import annotations

import csv
import hashlib
import json
import os
import re
import shutil
import stat
from pathlib import Path
from typing import Any

import pandas as pd
import pytest

from undercount.errors import ConfigError, StoreError
from undercount.report import export
from undercount.report.export import export_table, hxl_tags, redacted_columns
from undercount.store import Case


def _read(path: Path, fmt: str) -> pd.DataFrame:
    if fmt == "parquet":
        return pd.read_parquet(path)
    if fmt == "json":
        return pd.DataFrame(json.loads(path.read_text(encoding="utf-8")))
    if fmt == "xlsx":
        return pd.read_excel(path, dtype=str)
    return pd.read_csv(path, skiprows=[1] if fmt == "hxl" else None, dtype=str, encoding="utf-8-sig")


def _head(path: Path) -> tuple[list[str], list[str]]:
    with open(path, encoding="utf-8-sig", newline="") as handle:
        reader = csv.reader(handle)
        return next(reader), next(reader)


@pytest.mark.parametrize("fmt", ["csv", "xlsx", "parquet", "json", "hxl"])
@pytest.mark.parametrize("what", ["register", "clusters", "estimates"])
def test_every_export_round_trips(report_case: Case, tmp_path: Path, what: str, fmt: str) -> None:
    path = tmp_path / f"{what}.{fmt}"
    result = export(report_case, what, fmt=fmt, path=path)
    table = _read(path, fmt)
    persons = report_case.clusters()["person_id"].nunique()
    expected = {"register": persons, "clusters": len(report_case.clusters()), "estimates": 8}[what]
    assert len(table) == result.rows == expected
    if what == "clusters":
        assert list(table.columns) == ["source", "row", "person_id", "probability"]
    if what == "estimates":
        assert {"stratum", "documented", "estimate", "lower", "upper", "method", "model", "warnings"} <= set(table.columns)
        assert str(table.iloc[0]["stratum"]) == "total"
        # every population of the estimate, each row naming its own, killed first; never summed
        assert table["population"].tolist() == ["killed"] * 7 + ["injured"]
        assert str(table.iloc[7]["stratum"]) == "total"
    if what == "register":
        assert table["person_id"].is_unique


def test_register_names_the_sources(report_case: Case, tmp_path: Path) -> None:
    export(report_case, "register", fmt="csv", path=tmp_path / "r.csv")
    table = pd.read_csv(tmp_path / "r.csv", dtype=str)
    multi = table[table["n_records"].astype(int) > 1]
    assert multi["sources"].str.contains("; |hospital|survey|social", regex=True).all()
    assert set("; ".join(table["sources"]).split("; ")) == {"hospital", "survey", "social"}


@pytest.mark.parametrize("fmt", ["csv", "xlsx", "parquet", "json", "hxl"])
def test_redaction_drops_names_and_ids(report_case: Case, tmp_path: Path, fmt: str) -> None:
    path = tmp_path / f"redacted.{fmt}"
    result = export(report_case, "register", fmt=fmt, redact=True, path=path)
    assert result.redacted and not set(result.columns) & redacted_columns()
    content = path.read_bytes().decode("utf-8", errors="replace") if fmt not in ("parquet", "xlsx") else ""
    if fmt == "xlsx":
        content = _read(path, fmt).to_csv(index=False)
    table = _read(path, fmt)
    assert not set(table.columns) & redacted_columns()
    records = report_case.query("SELECT full_name, id_number FROM uc_records")
    for name in records["full_name"].head(200):
        assert name not in content
    for number in records["id_number"].dropna().head(200):
        assert number not in content
    assert {"age", "sex", "sources"} <= set(table.columns)


def test_unredacted_register_keeps_names(report_case: Case, tmp_path: Path) -> None:
    export(report_case, "register", fmt="csv", path=tmp_path / "r.csv")
    assert "full_name" in pd.read_csv(tmp_path / "r.csv", nrows=1).columns


def test_hxl_row_sits_under_the_header(report_case: Case, tmp_path: Path) -> None:
    export(report_case, "estimates", fmt="hxl", path=tmp_path / "e.csv")
    header, tags = _head(tmp_path / "e.csv")
    assert len(header) == len(tags) and all(t.startswith("#") for t in tags)
    assert tags[header.index("documented")] == "#affected+documented"
    assert tags[header.index("estimate")] == "#affected"
    assert tags[header.index("lower")] == "#affected+min" and tags[header.index("upper")] == "#affected+max"
    assert tags[header.index("sex")] == "#gender" and tags[header.index("age_group")] == "#age+range"
    export(report_case, "register", fmt="hxl", path=tmp_path / "r.csv")
    header, tags = _head(tmp_path / "r.csv")
    assert tags[header.index("event_date")] == "#date+occurred"
    assert tags[header.index("place")] == "#adm1+name"
    assert tags[header.index("person_id")] == "#meta+id"


def test_hxl_counts_say_killed_when_every_record_is_killed() -> None:
    assert hxl_tags(["estimate", "upper", "documented"], affected="#affected+killed") == [
        "#affected+killed", "#affected+killed+max", "#affected+killed+documented"]
    assert hxl_tags(["Odd col!"]) == ["#x_oddcol"]


def test_each_export_is_logged_without_personal_data(report_case: Case, tmp_path: Path) -> None:
    result = export(report_case, "clusters", fmt="json", redact=True, path=tmp_path / "c.json", username="analyst")
    event = report_case.audit_log().iloc[0]
    detail = json.loads(event["detail"])
    assert event["action"] == "export" and event["username"] == "analyst"
    data = (tmp_path / "c.json").read_bytes()
    assert detail == {"what": "clusters", "format": "json", "redacted": True,
                      "rows": len(report_case.clusters()), "file": "c.json", "bytes": len(data),
                      "sha256": hashlib.sha256(data).hexdigest()}
    assert result.sha256 == detail["sha256"]


def test_bad_requests_are_clear_errors(report_case: Case, empty_case: Case, tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="unknown export format 'xml'"):
        export(report_case, "register", fmt="xml", path=tmp_path / "x")
    with pytest.raises(ConfigError, match="cannot export 'people'"):
        export(report_case, "people", path=tmp_path / "x")
    with pytest.raises(StoreError, match="has not been linked"):
        export(empty_case, "register", path=tmp_path / "x")
    with pytest.raises(StoreError, match="has no estimate"):
        export(empty_case, "estimates", path=tmp_path / "x")
    with pytest.raises(StoreError, match="cannot write .* does not exist"):
        export(report_case, "clusters", path=tmp_path / "missing" / "dir" / "x.csv")
    with pytest.raises(StoreError, match="one of the case's own files"):
        export(report_case, "clusters", path=report_case.db_path)
    with pytest.raises(ConfigError, match="explicitly"):
        export(report_case, "register", fmt="hxl", redact=False, path=tmp_path / "x")
    with pytest.raises(ConfigError, match="not both"):
        export(report_case, "register", fmt="hxl", redact=True, personal_data=True, path=tmp_path / "x")
    assert [p.name for p in tmp_path.iterdir()] == ["case"]


def test_every_output_is_600_under_umask_022(_built_case: Path, fixture_stages: None, tmp_path: Path) -> None:
    from undercount.link import export_clusters
    from undercount.report import write_report

    shutil.copytree(_built_case, tmp_path / "case")  # its own copy: the shared case's audit log stays as it was
    report_case = Case.open(tmp_path / "case")
    tmp_path = tmp_path / "out"
    tmp_path.mkdir()
    old = os.umask(0o022)
    try:
        written = []
        for what in ("register", "clusters", "estimates"):
            for fmt in ("csv", "xlsx", "parquet", "json", "hxl"):
                written.append(export(report_case, what, fmt=fmt, path=tmp_path / f"{what}.{fmt}").path)
        written.append(write_report(report_case, tmp_path / "report.html", redact=True).path)
        export_clusters(report_case, tmp_path / "clusters-link.csv")
        written.append(tmp_path / "clusters-link.csv")
    finally:
        os.umask(old)
    assert len(written) == 17
    assert {p.name: stat.S_IMODE(p.stat().st_mode) for p in written} == {p.name: 0o600 for p in written}
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(p.name for p in written)


def _hxl_report(path: Path) -> dict[str, Any]:
    hxl = pytest.importorskip("hxl")
    return dict(hxl.validate(hxl.data(str(path), hxl.InputOptions(allow_local=True))))


def test_hxl_estimates_validate_with_libhxl(report_case: Case, tmp_path: Path) -> None:
    export(report_case, "estimates", fmt="hxl", path=tmp_path / "e.csv")
    report = _hxl_report(tmp_path / "e.csv")
    assert report["is_valid"] and report["stats"]["error"] == 0, report["issues"]
    _header, tags = _head(tmp_path / "e.csv")
    table = pd.read_csv(tmp_path / "e.csv", skiprows=[1], dtype=str, encoding="utf-8-sig")
    # one column per disaggregation, no stratum packed into one cell
    assert {"#age+range", "#age+min", "#age+max", "#gender"} <= set(tags)
    females = table[table["sex"] == "female"]
    assert set(females["age_group"]) == {"0-17", "18-59", "60+"}
    assert table.iloc[0][["age_group", "sex"]].tolist() == ["all", "all"]
    assert table.loc[table["age_group"] == "60+", "age_max"].isna().all()
    # whole numbers; bounds rounded outwards
    assert table["population"].tolist() == ["killed"] * 7 + ["injured"]
    table = table[table["population"] == "killed"]
    stored = report_case.query("SELECT stratum, estimate, lower, upper FROM uc_estimates e JOIN uc_runs r USING (run_id) "
                               "WHERE json_extract_string(r.params, '$.population.status') = 'killed'"
                               ).set_index("stratum")
    for _, row in table.iterrows():
        for column in ("documented", "estimate", "lower", "upper"):
            assert pd.isna(row[column]) or str(row[column]).isdigit()
        if not pd.isna(row["lower"]):
            assert int(row["lower"]) <= stored.loc[row["stratum"], "lower"] <= int(row["lower"]) + 1
    assert not {"#x_victim+name", "#x_victim+id"} & set(tags)


def test_record_level_hxl_is_redacted_unless_asked(report_case: Case, tmp_path: Path) -> None:
    records = report_case.query("SELECT full_name, id_number FROM uc_records")
    for what in ("register", "clusters"):
        export(report_case, what, fmt="hxl", path=tmp_path / f"{what}.csv")
        assert _hxl_report(tmp_path / f"{what}.csv")["stats"]["error"] == 0
        content = (tmp_path / f"{what}.csv").read_text(encoding="utf-8-sig")
        assert not any(n in content for n in records["full_name"].dropna())
        assert not any(i in content for i in records["id_number"].dropna())
    result = export(report_case, "register", fmt="hxl", personal_data=True, path=tmp_path / "named.csv")
    assert not result.redacted and "full_name" in result.columns
    header, tags = _head(tmp_path / "named.csv")
    assert tags[header.index("full_name")] == "#x_victim+name"


def test_register_csv_opens_in_excel_with_arabic_and_readable_statuses(report_case: Case, tmp_path: Path,
                                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    from undercount.link import build_register
    from undercount.report import data as report_data

    monkeypatch.setattr(report_data, "load_register", build_register)  # the real register, with statuses
    export(report_case, "register", path=tmp_path / "r.csv")
    data = (tmp_path / "r.csv").read_bytes()
    assert data.startswith(b"\xef\xbb\xbf")  # Excel reads UTF-8 only after this mark
    text = data[3:].decode("utf-8")
    arabic = report_case.query("SELECT full_name FROM uc_records WHERE script = 'arabic' LIMIT 1")["full_name"][0]
    assert arabic in text
    table = pd.read_csv(tmp_path / "r.csv", dtype=str, encoding="utf-8-sig")
    assert not table["statuses"].str.startswith("[").any()
    assert table["statuses"].str.fullmatch(r"(\w+( \d{4}-\d{2}-\d{2})? \(\w+\))(; \w+( \d{4}-\d{2}-\d{2})? \(\w+\))*").all()
    export(report_case, "register", path=tmp_path / "plain.csv", bom=False)
    assert not (tmp_path / "plain.csv").read_bytes().startswith(b"\xef\xbb\xbf")


def test_xlsx_register_round_trips(report_case: Case, tmp_path: Path) -> None:
    import openpyxl

    export(report_case, "register", fmt="xlsx", path=tmp_path / "r.xlsx")
    sheet = openpyxl.load_workbook(tmp_path / "r.xlsx")["register"]
    rows = list(sheet.iter_rows(values_only=True))
    expected = export_table(report_case, "register")
    assert list(rows[0]) == list(expected.columns) and len(rows) - 1 == len(expected)
    got = pd.DataFrame(rows[1:], columns=rows[0])
    for column in ("person_id", "full_name", "sex", "place", "id_number", "status"):
        want = expected[column].astype(object).where(expected[column].notna(), None).tolist()
        assert got[column].tolist() == want, column
    assert got["age"].tolist() == [None if pd.isna(a) else int(a) for a in expected["age"]]
    column = list(expected.columns).index("full_name") + 1
    names = [sheet.cell(row=r, column=column) for r in range(2, len(rows) + 1)]
    arabic = [c for c in names if isinstance(c.value, str) and re.search("[\u0600-\u06ff]", c.value)]
    latin = [c for c in names if isinstance(c.value, str) and re.fullmatch("[A-Za-z' -]+", c.value)]
    assert arabic and latin
    assert all(c.alignment.readingOrder == 2 for c in arabic)  # right to left
    assert not any(c.alignment.readingOrder == 2 for c in latin)


def test_every_disaggregation_is_its_own_column(tmp_path: Path, empty_case: Case) -> None:
    from undercount.report.export import estimate_columns
    from undercount.store.output import write_table

    strata = pd.Series(["total", "place=Gaza|period=2024Q1", "place=Khan Younis|period=2023Q4+2024Q1",
                        "place=Beit Lahia|period=2024Q2", "age_group=18-59+60+|sex=female+male"])
    columns = estimate_columns(strata)
    assert list(columns.columns) == ["age_group", "age_min", "age_max", "sex", "place", "place_code", "period",
                                     "period_start", "period_end"]
    assert columns.loc[1, ["place", "place_code", "period_start", "period_end"]].tolist() == [
        "Gaza", "PS-GZA", "2024-01-01", "2024-03-31"]
    assert columns.loc[2, ["period_start", "period_end"]].tolist() == ["2023-10-01", "2024-03-31"]
    assert pd.isna(columns.loc[3, "place_code"])
    assert columns.loc[4, ["age_group", "age_min", "sex"]].tolist() == ["18-59+60+", 18, "female+male"]
    assert pd.isna(columns.loc[4, "age_max"]) and columns.loc[0, "age_group"] == "all"
    table = pd.concat([strata.rename("stratum"), columns], axis=1).assign(estimate=[10.4, 3.0, 2.0, 1.0, 4.0])
    write_table(empty_case, table, tmp_path / "e.csv", fmt="hxl", action="export",
                hxl_tags=hxl_tags(list(table.columns), affected="#affected+killed"))
    report = _hxl_report(tmp_path / "e.csv")
    assert report["stats"]["error"] == 0, report["issues"]
    _header, tags = _head(tmp_path / "e.csv")
    assert tags == ["#meta+stratum", "#age+range", "#age+min", "#age+max", "#gender", "#adm1+name", "#adm1+code",
                    "#meta+period", "#date+start", "#date+end", "#affected+killed"]
