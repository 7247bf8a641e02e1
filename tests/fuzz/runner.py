"""Run `undercount import` on each hostile input in its own process, with a time limit.

Each input gets a fresh copy of a case that already holds one list; the command runs in a
process forked from a server that has undercount loaded (multiprocessing's forkserver), so a
run costs the import, not Python's start-up, and a hang can be killed. What comes back: the
exit code, everything printed, the traceback of an exception that escaped, and whether the
case changed.
"""

from __future__ import annotations

import hashlib
import multiprocessing
import os
import resource
import shutil
import tempfile
import time
import traceback
from collections.abc import Iterable
from dataclasses import dataclass, field
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any

#: Modules the fork server loads once, so each run starts warm; the last (forkserver_warm.py, next
#: to this file) also does what the first import of a process does (the name tables: about half of
#: a small input's run).
PRELOAD = ["undercount.cli", "undercount.ingest.importer", "undercount.store", "pyarrow.parquet",
           "pyarrow.csv", "pyarrow.compute", "openpyxl", "typer.testing", "charset_normalizer", "forkserver_warm"]


@dataclass
class Outcome:
    """What one run did."""

    exit_code: int | None
    output: str = ""
    crash: str | None = None
    hang: bool = False
    changed: bool = False
    grew: bool = False
    seconds: float = 0.0
    cpu: float = 0.0
    extra: dict[str, Any] = field(default_factory=dict)


def fingerprint(case_dir: Path) -> tuple[Any, ...]:
    """What a failed import must leave as it was: every table's rows, the copied sources."""
    import duckdb

    con = duckdb.connect(str(case_dir / "case.duckdb"), read_only=True)
    try:
        parts: list[Any] = []
        for table in ("uc_records", "uc_sources", "uc_runs", "uc_audit", "uc_meta"):
            count, digest = con.execute(
                f"SELECT count(*), coalesce(sum(hash(t::VARCHAR)), 0)::VARCHAR FROM {table} t").fetchone()  # type: ignore[misc]
            parts.append((table, count, digest))
    finally:
        con.close()
    sources = sorted((p.name, hashlib.sha256(p.read_bytes()).hexdigest())
                     for p in (case_dir / "sources").iterdir() if p.is_file())
    return (*parts, tuple(sources))


def _child(template: str, before: tuple[Any, ...], item: dict[str, str | None], conn: Connection) -> None:
    from typer.testing import CliRunner

    from undercount.cli import app

    work = Path(tempfile.mkdtemp(prefix="fuzz-"))
    try:
        case_dir = work / "case"
        shutil.copytree(template, case_dir)
        args = ["import", str(case_dir), str(item["file"])]
        if item.get("spec"):
            args += ["--spec", str(item["spec"])]
        result = CliRunner().invoke(app, args)
        crash = None
        if result.exception is not None and not isinstance(result.exception, SystemExit):
            crash = "".join(traceback.format_exception(result.exception))
        after = fingerprint(case_dir)
        usage = resource.getrusage(resource.RUSAGE_SELF)
        conn.send(Outcome(result.exit_code, result.output, crash, changed=before != after,
                          grew=after[0][1] > before[0][1], cpu=usage.ru_utime + usage.ru_stime))
    except BaseException as exc:  # noqa: BLE001 - reported as a crash of the harness itself
        conn.send(Outcome(None, "", "harness: " + "".join(traceback.format_exception(exc))))
    finally:
        shutil.rmtree(work, ignore_errors=True)
        conn.close()


def _start_server() -> None:
    """Start the fork server (once a process) with this folder on its path, so that it can load
    forkserver_warm.py. Python 3.11's fork server does not take the parent's sys.path (it is handed
    over, then ignored), only the environment's PYTHONPATH, which is set for its start alone."""
    from multiprocessing import forkserver

    before = os.environ.get("PYTHONPATH")
    os.environ["PYTHONPATH"] = os.pathsep.join([*filter(None, (before or "").split(os.pathsep)), str(Path(__file__).parent)])
    try:
        forkserver.ensure_running()
    finally:
        if before is None:
            del os.environ["PYTHONPATH"]
        else:
            os.environ["PYTHONPATH"] = before


def cpu_seconds(pid: int) -> float:
    """Processor seconds (user + system) a running process has used so far (Linux /proc)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def run_all(items: Iterable[dict[str, str | None]], template: Path, *, timeout: float = 30.0,
            workers: int = 2, wall_limit: float = 600.0) -> list[Outcome]:
    """Run every input (``file`` and ``spec`` paths) against copies of ``template``; a run that
    uses more than ``timeout`` processor seconds (or ``wall_limit`` seconds of a clock) is
    killed and counted as a hang. Processor time, not a clock, because the machine running the
    suite is shared: a clock would count the time other programs ran."""
    context = multiprocessing.get_context("forkserver")
    context.set_forkserver_preload(PRELOAD)
    _start_server()
    before = fingerprint(template)
    pending = list(enumerate(items))
    results: dict[int, Outcome] = {}
    running: dict[int, tuple[Any, Connection, float]] = {}
    while pending or running:
        while pending and len(running) < workers:
            index, item = pending.pop(0)
            receive, send = context.Pipe(duplex=False)
            process = context.Process(target=_child, args=(str(template), before, item, send), daemon=True)
            process.start()
            send.close()
            running[index] = (process, receive, time.monotonic())
        for index, (process, receive, started) in list(running.items()):
            elapsed = time.monotonic() - started
            if receive.poll(0.02):
                try:
                    outcome: Outcome = receive.recv()
                except EOFError:
                    outcome = Outcome(None, "", crash=f"the process died (exit {process.exitcode})")
                outcome.seconds = elapsed
                results[index] = outcome
            elif not process.is_alive():
                results[index] = Outcome(None, "", crash=f"the process died (exit {process.exitcode})",
                                         seconds=elapsed)
            elif elapsed > wall_limit or (elapsed > timeout and cpu_seconds(process.pid) > timeout):
                used = cpu_seconds(process.pid)
                process.kill()
                results[index] = Outcome(None, "", hang=True, seconds=elapsed, cpu=used)
            else:
                continue
            process.join(5)
            receive.close()
            del running[index]
    return [results[i] for i in range(len(results))]
