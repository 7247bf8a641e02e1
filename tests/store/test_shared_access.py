"""One case, several processes: connections wait for one another; the case's files stay 600,
the write-ahead log included, even when a writer is killed."""

from __future__ import annotations

import os
import signal
import stat
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from undercount.errors import StoreError
from undercount.store import Case

SRC = Path(__file__).resolve().parents[2] / "src"


def _child(code: str, *, umask: int = 0o022) -> subprocess.Popen[str]:
    """A Python process running ``code`` with undercount importable, under ``umask``."""
    env = {**os.environ, "PYTHONPATH": str(SRC)}
    script = f"import os; os.umask({umask:#o})\n" + textwrap.dedent(code)
    return subprocess.Popen([sys.executable, "-c", script], env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)


def _wait_for(path: Path, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while not path.exists():
        assert time.monotonic() < deadline, f"{path.name} never appeared"
        time.sleep(0.02)


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_a_connection_waits_while_another_process_writes(empty_case: Case, tmp_path: Path) -> None:
    ready = tmp_path / "ready"
    child = _child(f"""
        import time
        from undercount.store import Case
        case = Case.open({str(empty_case.path)!r})
        with case.transaction() as con:
            con.execute("INSERT INTO uc_meta (key, value) VALUES ('holder', 'child')")
            open({str(ready)!r}, "w").close()
            time.sleep(1.5)
    """)
    _wait_for(ready)
    started = time.monotonic()
    rows = empty_case.query("SELECT value FROM uc_meta WHERE key = 'holder'")
    waited = time.monotonic() - started
    assert child.wait(timeout=60) == 0, child.stderr.read() if child.stderr else ""
    assert rows["value"].tolist() == ["child"]  # read after the writer committed and let go
    assert waited > 0.5


def test_waiting_has_a_limit(empty_case: Case, tmp_path: Path) -> None:
    ready = tmp_path / "ready"
    child = _child(f"""
        import time
        from undercount.store import Case
        with Case.open({str(empty_case.path)!r}).connect() as con:
            open({str(ready)!r}, "w").close()
            time.sleep(5)
    """)
    try:
        _wait_for(ready)
        impatient = Case(empty_case.path)
        impatient.lock_wait = 0.3
        started = time.monotonic()
        with pytest.raises(StoreError, match=r"stayed in use by another undercount process for 0.3 s"):
            impatient.query("SELECT 1")
        assert time.monotonic() - started < 3
    finally:
        child.kill()
        child.wait()


def test_write_ahead_log_is_600_even_when_the_writer_is_killed(empty_case: Case, tmp_path: Path) -> None:
    ready = tmp_path / "ready"
    child = _child(f"""
        import time
        from undercount.store import Case
        case = Case.open({str(empty_case.path)!r})
        with case.transaction() as con:
            con.execute("INSERT INTO uc_meta (key, value) VALUES ('kept', 'yes')")
        with case.connect() as con:
            con.execute("INSERT INTO uc_meta (key, value) VALUES ('also', 'yes')")
            open({str(ready)!r}, "w").close()
            time.sleep(60)
    """, umask=0o022)
    _wait_for(ready)
    os.kill(child.pid, signal.SIGKILL)
    child.wait()
    assert empty_case.wal_path.exists(), "the killed writer left no log to check"
    assert _mode(empty_case.wal_path) == 0o600
    assert _mode(empty_case.db_path) == 0o600
    # The next opening replays the log: what was written before the kill is there.
    kept = Case.open(empty_case.path).query("SELECT key FROM uc_meta WHERE value = 'yes' ORDER BY key")
    assert kept["key"].tolist() == ["also", "kept"]
    assert sorted(p.name for p in empty_case.path.iterdir() if _mode(p) & 0o077) == []


def test_opening_repairs_modes_left_by_older_versions(empty_case: Case) -> None:
    with empty_case.connect() as con:
        con.execute("INSERT INTO uc_meta (key, value) VALUES ('x', 'y')")
    for path in (empty_case.db_path,):
        os.chmod(path, 0o644)
    source = empty_case.sources_dir / "abc.csv"
    source.write_text("name\n")
    os.chmod(source, 0o644)
    Case.open(empty_case.path)
    assert _mode(empty_case.db_path) == 0o600 and _mode(source) == 0o600


def test_the_process_umask_is_restored(empty_case: Case) -> None:
    before = os.umask(0o022)
    try:
        with empty_case.transaction() as con:
            con.execute("SELECT 1")
            inside = os.umask(0o077)
            os.umask(inside)
        after = os.umask(0o022)
    finally:
        os.umask(before)
    assert inside == 0o077 and after == 0o022
