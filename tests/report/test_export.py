"""Exports: every format, redaction that really drops names and IDs, the HXL row, the audit log."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import pandas as pd
import pytest

from undercount.errors import ConfigError, StoreError
from undercount.report import export
from undercount.report.export import hxl_tags, redacted_columns
from undercount.store import Case


def _read(path: Path, fmt: str) -> pd.DataFrame:
    if fmt == "parquet":
        return pd.read_parquet(path)
    if fmt == "json":
        return pd.DataFrame(json.loads(path.read_text(encoding="utf-8")))
    return pd.read_csv(path, skiprows=[1] if fmt == "hxl" else None, dtype=str)


@pytest.mark.parametrize("fmt", ["csv", "parquet", "json", "hxl"])
@pytest.mark.parametrize("what", ["register", "clusters", "estimates"])
def test_every_export_round_trips(report_case: Case, tmp_path: Path, what: str, fmt: str) -> None:
    path = tmp_path / f"{what}.{fmt}"
    result = export(report_case, what, fmt=fmt, path=path)
    table = _read(path, fmt)
    persons = report_case.clusters()["person_id"].nunique()
    expected = {"register": persons, "clusters": len(report_case.clusters()), "estimates": 7}[what]
    assert len(table) == result.rows == expected
    if what == "clusters":
        assert list(table.columns) == ["source", "row", "person_id", "probability"]
    if what == "estimates":
        assert {"stratum", "documented", "estimate", "lower", "upper", "method", "model", "warnings"} <= set(table.columns)
        assert str(table.iloc[0]["stratum"]) == "total"
    if what == "register":
        assert table["person_id"].is_unique


def test_register_names_the_sources(report_case: Case, tmp_path: Path) -> None:
    export(report_case, "register", fmt="csv", path=tmp_path / "r.csv")
    table = pd.read_csv(tmp_path / "r.csv", dtype=str)
    multi = table[table["n_records"].astype(int) > 1]
    assert multi["sources"].str.contains("; |hospital|survey|social", regex=True).all()
    assert set("; ".join(table["sources"]).split("; ")) == {"hospital", "survey", "social"}


@pytest.mark.parametrize("fmt", ["csv", "parquet", "json", "hxl"])
def test_redaction_drops_names_and_ids(report_case: Case, tmp_path: Path, fmt: str) -> None:
    path = tmp_path / f"redacted.{fmt}"
    result = export(report_case, "register", fmt=fmt, redact=True, path=path)
    assert result.redacted and not set(result.columns) & redacted_columns()
    content = path.read_bytes().decode("utf-8", errors="replace") if fmt != "parquet" else ""
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
    with open(tmp_path / "e.csv", encoding="utf-8") as handle:
        header, tags = next(csv.reader(handle)), next(csv.reader(handle))
    assert len(header) == len(tags) and all(t.startswith("#") for t in tags)
    assert tags[header.index("documented")] == "#affected+documented"
    assert tags[header.index("stratum")] == "#group+name"
    export(report_case, "register", fmt="hxl", redact=True, path=tmp_path / "r.csv")
    with open(tmp_path / "r.csv", encoding="utf-8") as handle:
        header, tags = next(csv.reader(handle)), next(csv.reader(handle))
    assert tags[header.index("event_date")] == "#date+occurred"
    assert tags[header.index("place")] == "#adm1+name"
    assert tags[header.index("person_id")] == "#meta+id"


def test_hxl_counts_say_killed_when_every_record_is_killed() -> None:
    assert hxl_tags(["estimate", "upper"], affected="#affected+killed") == [
        "#affected+killed+estimated", "#affected+killed+estimated+upper"]
    assert hxl_tags(["Odd col!"]) == ["#x_oddcol"]


def test_each_export_is_logged_without_personal_data(report_case: Case, tmp_path: Path) -> None:
    export(report_case, "clusters", fmt="json", redact=True, path=tmp_path / "c.json", username="analyst")
    event = report_case.audit_log().iloc[0]
    detail = json.loads(event["detail"])
    assert event["action"] == "export" and event["username"] == "analyst"
    assert detail == {"what": "clusters", "format": "json", "redacted": True,
                      "rows": len(report_case.clusters()), "file": "c.json"}


def test_bad_requests_are_clear_errors(report_case: Case, empty_case: Case, tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="unknown export format 'xml'"):
        export(report_case, "register", fmt="xml", path=tmp_path / "x")
    with pytest.raises(ConfigError, match="cannot export 'people'"):
        export(report_case, "people", path=tmp_path / "x")
    with pytest.raises(StoreError, match="has not been linked"):
        export(empty_case, "register", path=tmp_path / "x")
    with pytest.raises(StoreError, match="has no estimate"):
        export(empty_case, "estimates", path=tmp_path / "x")
    with pytest.raises(StoreError, match="cannot write"):
        export(report_case, "clusters", path=tmp_path / "missing" / "dir" / "x.csv")
