from __future__ import annotations

import stat
from datetime import datetime

import pytest

from undercount.errors import StoreError
from undercount.store import Case


def test_init_twice_refused(tmp_path):
    Case.init(tmp_path / "c")
    with pytest.raises(StoreError, match="already holds a case"):
        Case.init(tmp_path / "c")


def test_open_missing(tmp_path):
    with pytest.raises(StoreError, match="no case at"):
        Case.open(tmp_path / "nothing")


def test_run_is_invisible_until_recorded(empty_case):
    with pytest.raises(RuntimeError):
        with empty_case.transaction() as con:
            run = empty_case.new_run_id("link")
            con.execute("INSERT INTO uc_clusters VALUES (?, 1, 'P1', 1.0)", [run])
            raise RuntimeError("killed half-way")
    assert empty_case.current_run("link") is None
    assert empty_case.query("SELECT count(*) AS n FROM uc_clusters")["n"][0] == 0
    with empty_case.transaction() as con:
        run = empty_case.new_run_id("link")
        empty_case.record_run(con, run_id=run, kind="link", started_at=datetime.now())
    assert empty_case.current_run("link") == run
    assert empty_case.audit_log()["action"].tolist() == ["link"]


def test_connections_draw_no_progress_bar(empty_case):
    # A progress bar on stdout would corrupt the --json output of slow commands.
    for read_only in (False, True):
        with empty_case.connect(read_only=read_only) as con:
            assert con.execute("SELECT current_setting('enable_progress_bar')").fetchone()[0] is False


def test_a_case_is_readable_by_its_owner_only(tmp_path):
    # The case holds the names of the dead and missing: no other user may read the folder or the database.
    case = Case.init(tmp_path / "c")
    assert stat.S_IMODE(case.path.stat().st_mode) == 0o700
    assert stat.S_IMODE(case.sources_dir.stat().st_mode) == 0o700
    assert stat.S_IMODE(case.db_path.stat().st_mode) == 0o600
    with case.connect():  # holds the database open, so the writer's log outlives its connection
        with case.transaction() as con:
            con.execute("INSERT INTO uc_clusters VALUES ('r', 1, 'P1', 1.0)")
        assert stat.S_IMODE(case.wal_path.stat().st_mode) == 0o600
