"""Case.reading(): the reads of a block share one read-only connection, writes still work, nothing stays open."""

from __future__ import annotations

import threading
from datetime import datetime

import pytest

from undercount.store import Case


def _count_opens(monkeypatch: pytest.MonkeyPatch, case: Case) -> list[bool]:
    opened: list[bool] = []
    real = Case._open

    def counting(self: Case, read_only: bool, threads: int | None):  # type: ignore[no-untyped-def]
        opened.append(read_only)
        return real(self, read_only, threads)

    monkeypatch.setattr(Case, "_open", counting)
    return opened


def test_reads_in_a_block_share_one_connection_and_it_is_closed_after(
        empty_case: Case, monkeypatch: pytest.MonkeyPatch) -> None:
    opened = _count_opens(monkeypatch, empty_case)
    empty_case.sources()
    empty_case.records()
    assert opened == [True, True]  # outside a block: one connection per read
    opened.clear()
    with empty_case.reading():
        before = empty_case.sources()
        empty_case.records()
        with empty_case.reading():  # nested blocks share the same connection
            empty_case.sources()
    assert opened == [True]
    assert empty_case._shared.con is None  # closed on exit: another process may write again
    with empty_case.transaction() as con:  # a writer opens at once after the block
        con.execute("SELECT 1")
    assert before.empty


def test_a_write_inside_a_block_closes_the_shared_reader_first(
        empty_case: Case, monkeypatch: pytest.MonkeyPatch) -> None:
    opened = _count_opens(monkeypatch, empty_case)
    with empty_case.reading():
        empty_case.sources()
        run_id = empty_case.new_run_id("estimate")
        with empty_case.transaction() as con:
            empty_case.record_run(con, run_id=run_id, kind="estimate", started_at=datetime.now(), log=False)
        assert empty_case.current_run("estimate") == run_id  # a later read reopens and sees the write
    assert opened == [True, False, True]
    assert empty_case._shared.con is None


def test_other_threads_open_their_own(empty_case: Case, monkeypatch: pytest.MonkeyPatch) -> None:
    opened = _count_opens(monkeypatch, empty_case)
    with empty_case.reading():
        empty_case.sources()
        worker = threading.Thread(target=empty_case.sources)
        worker.start()
        worker.join()
        empty_case.sources()
    assert opened == [True, True]
