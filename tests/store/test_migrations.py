"""Schema versions: a case made by an earlier release opens, migrates atomically, and matches a new one."""

from __future__ import annotations

import tarfile
from pathlib import Path

import pytest

from undercount.errors import StoreError
from undercount.store import SCHEMA_VERSION, Case
from undercount.store import migrations as migrations_module
from undercount.store.migrations import MIGRATIONS, Migration

FIXTURES = Path(__file__).parent / "fixtures"


def old_case(tmp_path: Path, version: int = 1) -> Path:
    """A copy of the committed case made by schema ``version`` (see fixtures/make_old_case.py)."""
    with tarfile.open(FIXTURES / f"case_v{version}.tar.gz") as tar:
        tar.extractall(tmp_path / f"v{version}", filter="data")
    return tmp_path / f"v{version}" / "case"


def _versions(case: Case) -> list[str]:
    return case.query("SELECT value FROM uc_meta WHERE key = 'schema_version' ORDER BY written_at")["value"].tolist()


def _columns(case: Case) -> list[tuple[str, str, str]]:
    return [tuple(r) for r in case.query(
        "SELECT table_name, column_name, data_type FROM information_schema.columns "
        "ORDER BY table_name, ordinal_position").itertuples(index=False)]


def test_a_version_1_case_opens_migrates_and_keeps_its_rows(tmp_path):
    path = old_case(tmp_path)
    case = Case.open(path)
    assert _versions(case) == ["1", str(SCHEMA_VERSION)]
    # Everything the old release stored is still there and readable by this one.
    assert case.sources()["name"].tolist() == ["hospital", "survey", "social"]
    assert len(case.records()) == 169
    assert case.clusters()["person_id"].nunique() == 104
    assert len(case.decisions()) == 2
    assert case.current_run("estimate") is not None
    event = case.audit_log().iloc[0]
    assert event["action"] == "migrate" and '"from": 1' in event["detail"]
    assert "inputs" in case.runs().columns
    sources = case.sources()  # schema 4: who compiled each list and how; unknown for lists imported before
    assert {"compiled_by", "description"} <= set(sources.columns) and sources["description"].isna().all()
    # A second open has nothing left to do.
    Case.open(path)
    assert _versions(Case(path)) == ["1", str(SCHEMA_VERSION)]
    assert (Case(path).audit_log()["action"] == "migrate").sum() == 1


def test_a_migrated_case_has_the_tables_of_a_new_one(tmp_path):
    migrated = Case.open(old_case(tmp_path))
    fresh = Case.init(tmp_path / "new")
    assert _columns(migrated) == _columns(fresh)


def test_a_case_made_by_a_newer_undercount_is_refused(empty_case):
    with empty_case.connect() as con:
        con.execute("INSERT INTO uc_meta (key, value) VALUES ('schema_version', ?)", [str(SCHEMA_VERSION + 1)])
    with pytest.raises(StoreError, match=f"schema version {SCHEMA_VERSION + 1}, made by a newer undercount"):
        Case.open(empty_case.path)


def test_a_failed_migration_leaves_the_case_as_it_was(tmp_path, monkeypatch):
    path = old_case(tmp_path)
    broken = (*MIGRATIONS, Migration(SCHEMA_VERSION + 1, "a broken change", statements=("ALTER TABLE nowhere ADD x INT",)))
    monkeypatch.setattr(migrations_module, "MIGRATIONS", broken)
    with pytest.raises(StoreError, match=f"cannot migrate .* to schema version {SCHEMA_VERSION + 1} "
                                         r"\(a broken change\)"):
        Case.open(path)
    case = Case(path)
    assert _versions(case) == ["1"]
    assert "inputs" not in case.query("SELECT * FROM uc_runs LIMIT 0").columns
    assert "migrate" not in case.audit_log()["action"].tolist()


def test_versions_increase_by_one():
    assert [m.version for m in MIGRATIONS] == list(range(2, SCHEMA_VERSION + 1))


def test_an_up_to_date_case_opens_without_a_write(empty_case, monkeypatch):
    """Opening a case that holds this version's schema reads only (``undercount status`` opens the case
    first: a write transaction with the whole DDL cost it tens of ms, and a write lock)."""
    def no_write(self, ddl):
        raise AssertionError("an up-to-date case was written to on open")
    monkeypatch.setattr(Case, "_migrate", no_write)
    assert Case.open(empty_case.path).path == empty_case.path


def test_a_changed_schema_is_applied_on_the_next_open_and_only_once(empty_case, monkeypatch):
    from undercount.store import case as case_module
    plain = case_module._schema_sql
    monkeypatch.setattr(case_module, "_schema_sql", lambda: plain() + "\nCREATE TABLE IF NOT EXISTS uc_later (x INTEGER);")
    case = Case.open(empty_case.path)
    assert case.rows("SELECT count(*) AS n FROM uc_later") == [{"n": 0}]
    digests = case.rows("SELECT value FROM uc_meta WHERE key = 'schema_digest' ORDER BY written_at")
    assert len(digests) == 2 and digests[0] != digests[1]
    applied = []
    monkeypatch.setattr(Case, "_migrate", lambda self, ddl: applied.append(ddl))
    Case.open(empty_case.path)
    assert applied == []
    monkeypatch.setattr(case_module, "_schema_sql", plain)  # back to the schema the case was made with: its digest is there
    Case.open(empty_case.path)
    assert applied == []
