"""The record's field table: every stage derives its view of the record from it.

The main test adds one line to a copy of the table and one migration, and follows the new field
through every stage: an old case migrates to it, a new case stores it, a list's column maps to
it, the review app shows it, the register keeps it, exports tag it and redaction drops it.
"""

from __future__ import annotations

import tarfile
from datetime import datetime
from pathlib import Path

import pandas as pd
import pytest

from undercount.ingest import import_list
from undercount.ingest.spec import spec_from_dict
from undercount.link import build_register
from undercount.report.data import person_columns
from undercount.report.export import export_table, hxl_tags, redacted_columns
from undercount.store import Case, Field, Role, record_table
from undercount.store import fields as fields_module
from undercount.store import migrations as migrations_module
from undercount.store.fields import RECORD, STATUS_GRAVITY, STATUSES, FieldTable
from undercount.store.migrations import MIGRATIONS, SCHEMA_VERSION, Migration
from undercount.web.records import field_rows

FIXTURES = Path(__file__).parent / "fixtures"
NATIONALITY = Field("nationality", "VARCHAR", "nationality as written", label="Nationality",
                    hxl="#x_victim+nationality", roles=Role.PERSONAL | Role.REGISTER)


@pytest.fixture
def with_nationality(monkeypatch: pytest.MonkeyPatch) -> FieldTable:
    """The field table with one more line, and the migration that adds its column."""
    table = RECORD.add(NATIONALITY)
    monkeypatch.setattr(fields_module, "RECORD", table)
    monkeypatch.setattr(migrations_module, "MIGRATIONS",
                        (*MIGRATIONS, Migration(SCHEMA_VERSION + 1, "nationality", add_fields=("nationality",))))
    return table


def _link_everyone_alone(case: Case) -> None:
    """A cluster run in which every record is its own person (what the register needs)."""
    with case.transaction() as con:
        run = case.new_run_id("link")
        con.execute("INSERT INTO uc_clusters SELECT ?, record_id, 'P' || lpad(record_id::VARCHAR, 9, '0'), 1.0 "
                    "FROM uc_records", [run])
        case.record_run(con, run_id=run, kind="link", started_at=datetime.now())


def test_adding_a_field_is_one_line_and_a_migration(tmp_path: Path, with_nationality: FieldTable) -> None:
    # An old case (schema 1) migrates to the new column.
    with tarfile.open(FIXTURES / "case_v1.tar.gz") as tar:
        tar.extractall(tmp_path / "old", filter="data")
    old = Case.open(tmp_path / "old" / "case")
    assert "nationality" in old.records().columns and old.records()["nationality"].isna().all()
    # A new case has it; a list's column maps to it through a spec.
    lst = tmp_path / "list.csv"
    lst.write_text("name,age,sex,Nationality\nOmar Khalil Hassan,40,m,Palestinian\nSara Adel,12,f,\n",
                   encoding="utf-8")
    case = Case.init(tmp_path / "new")
    import_list(case, lst, spec=spec_from_dict({"columns": {"full_name": "name", "nationality": "Nationality"}}))
    records = case.records()
    assert records["nationality"].tolist()[0] == "Palestinian" and pd.isna(records["nationality"][1])
    # The review app shows it, with its label, among the record's fields.
    plain = records.astype(object).where(records.notna(), None)  # as the app reads rows: None for missing
    rows = field_rows(plain.to_dict(orient="records"))
    shown = {r["label"]: [c["value"] for c in r["cells"]] for r in rows}
    assert shown["Nationality"] == ["Palestinian", ""]
    # The register keeps each person's best value; exports tag it and redaction drops it.
    _link_everyone_alone(case)
    assert build_register(case)["nationality"].tolist()[0] == "Palestinian"
    assert "nationality" in export_table(case, "register").columns
    assert hxl_tags(["nationality"]) == ["#x_victim+nationality"]
    assert "nationality" in redacted_columns()


def test_the_shipped_table_knows_no_such_field(empty_case: Case) -> None:
    assert "nationality" not in record_table().columns
    assert "nationality" not in empty_case.records().columns
    assert hxl_tags(["nationality"]) == ["#x_nationality"]


def test_views_of_the_shipped_table() -> None:
    table = record_table()
    assert table.columns[:5] == ("record_id", "source", "row", "file_hash", "raw")
    assert table.dates == ("date_of_birth", "event_date", "reported_date")
    assert table.choices == {"sex": ("male", "female"), "status": STATUSES,
                             "cause": ("direct_violence", "starvation", "disease", "other", "unknown")}
    assert "full_name_en" in table.inputs and "full_name_en" not in table.columns
    assert table.with_role(Role.NAME) == ("full_name", "given", "father", "grandfather", "family")
    assert {"full_name", "id_number", "date_of_birth", "raw", "name_key"} <= table.personal
    assert "sex" not in table.personal and "age" not in table.personal
    assert table.shown[0] == ("List", "source") and ("Reported", "reported_date") in table.shown
    assert person_columns() == ["person_id", "sex", "age", "event_date", "place", "status", "cause",
                                "n_records", "sources"]
    assert sorted(STATUS_GRAVITY) == sorted(STATUSES)


def test_a_field_named_twice_is_refused() -> None:
    with pytest.raises(ValueError, match="fields named twice: sex"):
        RECORD.add(Field("sex", "VARCHAR", "again"))


def test_the_ddl_comments_every_column() -> None:
    ddl = record_table().ddl()
    assert ddl.count(" -- ") == len(record_table().columns)
    assert '"row" INTEGER NOT NULL' in ddl and "full_name_en" not in ddl
