"""Safe outputs: temporary file 600, audit entry, then rename; a failure leaves nothing; formulas neutralised."""

from __future__ import annotations

import csv
import io
import json
import os
import stat
import subprocess
import sys
from pathlib import Path

import openpyxl
import pandas as pd
import pytest

from undercount.errors import ConfigError, StoreError
from undercount.store import Case, output
from undercount.store.output import neutralise, write_output, write_table

HOSTILE = ["=HYPERLINK(\"http://x\",\"y\")", "=cmd|' /C calc'!A0", "+1+1", "-2+3", "@SUM(A1)", "\tx", "\r=1"]


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def _audits(case: Case) -> list[dict[str, object]]:
    log = case.audit_log()
    return [json.loads(d) for d in log["detail"]]


@pytest.fixture
def out(tmp_path: Path) -> Path:
    """An empty folder beside the case."""
    folder = tmp_path / "out"
    folder.mkdir()
    return folder


@pytest.fixture
def umask_022() -> object:
    old = os.umask(0o022)
    yield None
    os.umask(old)


def test_neutralise_only_formula_like_text() -> None:
    for text in HOSTILE:
        assert neutralise(text) == "'" + text
    for text in ("-3", "+972599000000", "-12.5", "Gaza", "", "a=b", " =1", "2024-01-05"):
        assert neutralise(text) == text
    assert neutralise(-3) == -3 and neutralise(None) is None


@pytest.mark.parametrize("fmt", ["csv", "xlsx", "hxl", "json", "parquet"])
def test_every_table_format_is_600_and_audited(empty_case: Case, out: Path, fmt: str, umask_022: object) -> None:
    frame = pd.DataFrame({"place": ["غزة", "Gaza"], "n": [1, 2]})
    target = out / f"t.{fmt}"
    result = write_table(empty_case, frame, target, fmt=fmt, action="export", detail={"what": "test"},
                         hxl_tags=["#adm1+name", "#affected"] if fmt == "hxl" else None)
    assert _mode(target) == 0o600
    assert sorted(p.name for p in out.iterdir()) == [target.name]
    entry = _audits(empty_case)[0]
    assert entry == {"what": "test", "format": fmt, "rows": 2, "file": target.name,
                     "bytes": target.stat().st_size, "sha256": result.sha256}


def test_a_writer_that_fails_leaves_no_file_and_no_audit(empty_case: Case, out: Path) -> None:
    before = len(empty_case.audit_log())

    def boom(handle: io.BufferedIOBase) -> None:
        handle.write(b"names and IDs ...")
        raise RuntimeError("disk on fire")

    with pytest.raises(RuntimeError):
        write_output(empty_case, out / "x.csv", boom, action="export")
    assert list(out.iterdir()) == [] and len(empty_case.audit_log()) == before


def test_an_older_file_is_replaced_with_a_600_one(empty_case: Case, out: Path, umask_022: object) -> None:
    target = out / "r.csv"
    target.write_text("old")
    os.chmod(target, 0o644)
    write_output(empty_case, target, lambda h: h.write(b"new"), action="export")
    assert target.read_text() == "new" and _mode(target) == 0o600
    assert [p.name for p in out.iterdir()] == ["r.csv"]


def test_the_named_fallback_is_600_and_cleans_up(empty_case: Case, out: Path, monkeypatch: pytest.MonkeyPatch,
                                                 umask_022: object) -> None:
    monkeypatch.setattr(output.os, "O_TMPFILE", 0, raising=False)
    stale = out / ".r.csv.uc-999999999-0123abcd.part"  # left by a killed process (no such pid)
    stale.write_text("partial")
    write_output(empty_case, out / "r.csv", lambda h: h.write(b"x"), action="export")
    assert [p.name for p in out.iterdir()] == ["r.csv"] and _mode(out / "r.csv") == 0o600
    with pytest.raises(RuntimeError):
        write_output(empty_case, out / "s.csv", lambda h: (_ for _ in ()).throw(RuntimeError()), action="export")
    assert [p.name for p in out.iterdir()] == ["r.csv"]


def test_a_locked_case_writes_nothing(empty_case: Case, out: Path) -> None:
    """The case held by another process (the app serving): the audit entry fails, so no file."""
    code = ("import duckdb, sys, time; con = duckdb.connect(sys.argv[1]); print('held', flush=True); "
            "time.sleep(60)")
    holder = subprocess.Popen([sys.executable, "-c", code, str(empty_case.db_path)], stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "held"
        empty_case.lock_wait = 0.5  # connections wait for another process's lock; not that long
        with pytest.raises(StoreError):
            write_output(empty_case, out / "r.csv", lambda h: h.write(b"names"), action="export")
    finally:
        holder.kill()
        holder.wait()
    assert list(out.iterdir()) == []


def test_formulas_are_neutralised_in_csv_hxl_and_xlsx(empty_case: Case, out: Path) -> None:
    frame = pd.DataFrame({"place": HOSTILE, "sources": [["=a", "b"]] * len(HOSTILE), "n": range(len(HOSTILE))})
    write_table(empty_case, frame, out / "t.csv", fmt="csv", action="export")
    write_table(empty_case, frame, out / "t.hxl", fmt="hxl", action="export",
                hxl_tags=["#adm1+name", "#meta+source", "#affected"])
    for name, skip in (("t.csv", 1), ("t.hxl", 2)):
        with open(out / name, encoding="utf-8-sig", newline="") as handle:
            rows = list(csv.reader(handle))[skip:]
        assert [r[0] for r in rows] == ["'" + t for t in HOSTILE]
        assert {r[1] for r in rows} == {"'=a; b"}
    write_table(empty_case, frame, out / "t.xlsx", fmt="xlsx", action="export")
    sheet = openpyxl.load_workbook(out / "t.xlsx").active
    cells = [row[0] for row in sheet.iter_rows(min_row=2)]
    # the values read back unchanged (XML stores a carriage return as a line feed) ...
    assert [c.value for c in cells] == [t.replace("\r", "\n") for t in HOSTILE]
    assert all(c.data_type == "s" for c in cells)  # ... as text, never formulas
    assert all(c.quotePrefix for c in cells)


def test_xlsx_round_trips_with_right_to_left_arabic(empty_case: Case, out: Path) -> None:
    frame = pd.DataFrame({
        "full_name": ["محمد أحمد", "Sami Odeh"], "age": pd.array([34, None], dtype="Int64"),
        "event_date": pd.to_datetime(["2024-01-05", None]), "probability": [0.25, 1.0], "ok": [True, False],
    })
    write_table(empty_case, frame, out / "t.xlsx", fmt="xlsx", action="export", sheet="register")
    book = openpyxl.load_workbook(out / "t.xlsx")
    sheet = book["register"]
    rows = [[c.value for c in r] for r in sheet.iter_rows()]
    assert rows[0] == ["full_name", "age", "event_date", "probability", "ok"]
    assert rows[1][0] == "محمد أحمد" and rows[1][1] == 34 and rows[1][2].date().isoformat() == "2024-01-05"
    assert rows[2] == ["Sami Odeh", None, None, 1.0, False]
    assert sheet["A2"].alignment.readingOrder == 2 and sheet["A3"].alignment.readingOrder in (0, None)


def test_csv_bom_lets_excel_read_arabic(empty_case: Case, out: Path) -> None:
    frame = pd.DataFrame({"full_name": ["عايدة"]})
    write_table(empty_case, frame, out / "bom.csv", fmt="csv", action="export")
    write_table(empty_case, frame, out / "plain.csv", fmt="csv", action="export", bom=False)
    # Windows Excel reads UTF-8 only after a byte-order mark; without one it uses the ANSI code page.
    assert _excel_decode((out / "bom.csv").read_bytes()).splitlines()[1] == "عايدة"
    assert _excel_decode((out / "plain.csv").read_bytes()).splitlines()[1] != "عايدة"
    assert (out / "plain.csv").read_bytes() == "full_name\nعايدة\n".encode()


def _excel_decode(data: bytes) -> str:
    if data.startswith(b"\xef\xbb\xbf"):
        return data[3:].decode("utf-8")
    return data.decode("cp1252", errors="replace")


def test_bad_requests(empty_case: Case, tmp_path: Path) -> None:
    frame = pd.DataFrame({"a": [1]})
    with pytest.raises(ConfigError, match="unknown format"):
        write_table(empty_case, frame, tmp_path / "x", fmt="xml", action="export")
    with pytest.raises(ConfigError, match="hashtag"):
        write_table(empty_case, frame, tmp_path / "x", fmt="hxl", action="export")
    with pytest.raises(StoreError, match="folder"):
        write_table(empty_case, frame, tmp_path, fmt="csv", action="export")
    with pytest.raises(StoreError, match="own files"):
        write_table(empty_case, frame, empty_case.sources_dir / "x.csv", fmt="csv", action="export")
    assert [p.name for p in tmp_path.iterdir()] == ["case"]


def test_an_audit_log_that_fails_writes_nothing(empty_case: Case, out: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    def broken(*args: object, **kwargs: object) -> None:
        raise RuntimeError("the database refused")

    monkeypatch.setattr(empty_case, "log", broken)
    with pytest.raises(StoreError, match="cannot record r.csv in the audit log .* nothing was written"):
        write_output(empty_case, out / "r.csv", lambda h: h.write(b"names"), action="export")
    assert list(out.iterdir()) == []
