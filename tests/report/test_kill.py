"""Killing export and report at the moment of writing never leaves a partial or unaudited file (#20).

Each run is a real ``undercount`` process under umask 022, stopped with SIGKILL at a chosen step
of the safe write (a hook waits there and tells the test), or after a delay. Afterwards the
target is either absent, or complete, 600 and in the audit log with its SHA-256; no other file
appears in the folder.

The first run starts Python afresh (``python -c``), as a user's command does; the others are
forked from one server process that has loaded undercount and the modules the commands load, so
they pay for their own work, not for Python's and undercount's start (about 3 processor seconds
each). A forked run is still its own process, killed with SIGKILL at the same step.
"""

from __future__ import annotations

import hashlib
import json
import os
import select
import shutil
import signal
import stat
import subprocess
import sys
import time
from contextlib import suppress
from pathlib import Path
from typing import IO

import pytest

from undercount.store import Case

pytestmark = pytest.mark.slow

SRC = Path(__file__).resolve().parents[2] / "src"

# Runs the CLI with a pause at one step of undercount.store.output, announced through a marker file.
HOOK = r"""
import os, sys, time
from pathlib import Path
from undercount.store import output

def hooked(stage, marker, argv):
    os.umask(0o022)
    sys.argv = ["undercount", *argv]

    def pause():
        marker.write_text(stage)
        time.sleep(300)

    def after(func):
        def wrapped(*args, **kwargs):
            result = func(*args, **kwargs)
            pause()
            return result
        return wrapped

    if stage == "writing":      # half of an XLSX written
        def partial(frame, handle, sheet):
            handle.write(b"PK" + b"x" * 4096)
            handle.flush()
            pause()
        output._write_xlsx = partial
    elif stage == "written":    # the whole file on disk, before its audit entry
        output._digest = after(output._digest)
    elif stage == "audited":    # audited, not yet in place
        real_link, real_copy = output._link_anonymous, output._copy_to_named
        output._link_anonymous = lambda fd, target: (pause(), real_link(fd, target))
        output._copy_to_named = lambda fd, target: (pause(), real_copy(fd, target))
    from undercount.cli import main
    main()
"""

#: One run in a new Python: ``python -c COLD STAGE MARKER ARGS...``.
COLD = HOOK + "\nhooked(sys.argv[1], Path(sys.argv[2]), sys.argv[3:])\n"

#: The fork server: loads what the commands load, then for each line read (stage, marker, file for
#: the run's standard error, arguments) forks a process that runs the hooked command, writes its
#: pid, waits for it and writes its wait status.
SERVER = HOOK + r"""
import json, traceback
import openpyxl, undercount.cli, undercount.report, undercount.report.html, undercount.report.incidents
import undercount.report.releases, undercount.store.releases
while True:
    line = sys.stdin.readline()
    if not line:
        break
    stage, marker, errors, argv = json.loads(line)
    pid = os.fork()
    if pid == 0:
        os.dup2(os.open(os.devnull, os.O_WRONLY), 1)
        os.dup2(os.open(errors, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600), 2)
        code = 1
        try:
            hooked(stage, Path(marker), argv)
            code = 0
        except SystemExit as exc:
            code = exc.code if isinstance(exc.code, int) else 1
        except BaseException:
            traceback.print_exc()
        finally:
            sys.stderr.flush()
            os._exit(code)
    sys.stdout.write(f"{pid}\n")
    sys.stdout.flush()
    sys.stdout.write(f"{os.waitpid(pid, 0)[1]}\n")
    sys.stdout.flush()
"""


def _line(stream: IO[bytes]) -> str:
    """One line from an unbuffered pipe (so that ``select`` sees what has not been read)."""
    data = b""
    while not data.endswith(b"\n"):
        byte = stream.read(1)
        assert byte, "the fork server ended"
        data += byte
    return data.decode().strip()


class _Forks:
    """The fork server (see :data:`SERVER`)."""

    def __init__(self, tmp: Path) -> None:
        self.log = tmp / "server.err"
        with self.log.open("wb") as errors:
            self.proc = subprocess.Popen([sys.executable, "-c", SERVER], env={**os.environ, "PYTHONPATH": str(SRC)},
                                         stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=errors, bufsize=0)

    def run_and_kill(self, args: list[str], *, stage: str, marker: Path, errors: Path) -> None:
        assert self.proc.stdin is not None and self.proc.stdout is not None
        self.proc.stdin.write((json.dumps([stage, str(marker), str(errors), args]) + "\n").encode())
        pid = int(_line(self.proc.stdout))
        deadline = time.monotonic() + 120
        ended = False  # the server wrote the run's wait status: it ended before its pause
        try:
            while not marker.exists() and not ended and time.monotonic() < deadline:
                ended = bool(select.select([self.proc.stdout], [], [], 0.02)[0])
            assert marker.exists(), errors.read_text() if ended else "no pause within 120 s"
        finally:  # killed in any case, so that no run outlives the test
            if not ended:
                with suppress(ProcessLookupError):
                    os.kill(pid, signal.SIGKILL)
            status = int(_line(self.proc.stdout))
        assert os.WIFSIGNALED(status) and os.WTERMSIG(status) == signal.SIGKILL, status

    def close(self) -> None:
        assert self.proc.stdin is not None
        self.proc.stdin.close()
        try:
            assert self.proc.wait(timeout=60) == 0, self.log.read_text()
        finally:
            if self.proc.poll() is None:
                self.proc.kill()
                self.proc.wait()


def _run_and_kill(args: list[str], *, stage: str | None, delay: float, tmp: Path, forks: _Forks | None) -> None:
    marker = tmp / "marker"
    marker.unlink(missing_ok=True)
    if forks is not None and stage is not None:
        forks.run_and_kill(args, stage=stage, marker=marker, errors=tmp / "run.err")
        return
    env = {**os.environ, "PYTHONPATH": str(SRC)}
    cmd = [sys.executable, "-c", COLD, stage or "none", str(marker), *args]
    proc = subprocess.Popen(cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        deadline = time.monotonic() + 120
        if stage is None:
            time.sleep(delay)
        else:
            while not marker.exists() and proc.poll() is None and time.monotonic() < deadline:
                time.sleep(0.02)
            assert marker.exists(), proc.stderr.read().decode() if proc.poll() is not None and proc.stderr else ""
        proc.send_signal(signal.SIGKILL)
    finally:
        proc.wait()
        if proc.stderr:
            proc.stderr.close()


def _check(case: Path, folder: Path, target: Path) -> str:
    others = sorted(p.name for p in folder.iterdir() if p != target)
    assert others == [], others  # no partial or temporary file
    if not target.exists():
        return "absent"
    assert stat.S_IMODE(target.stat().st_mode) == 0o600
    if target.read_bytes() == OLD:
        return "old"
    digest = hashlib.sha256(target.read_bytes()).hexdigest()
    details = [json.loads(d) for d in Case.open(case).audit_log()["detail"]]
    assert any(d.get("sha256") == digest and d.get("file") == target.name for d in details), "file not audited"
    return "complete"


OLD = b"an older export, kept whole"
COMMANDS = {
    "register-csv": (["export", "{case}", "register", "-o", "{out}"], "r.csv"),
    "register-xlsx": (["export", "{case}", "register", "-f", "xlsx", "-o", "{out}"], "r.xlsx"),
    "estimates-hxl": (["export", "{case}", "estimates", "-f", "hxl", "-o", "{out}"], "e.csv"),
    "report": (["report", "{case}", "-o", "{out}"], "r.html"),
}
RUNS = [
    ("register-xlsx", "writing", 0.0), ("register-csv", "written", 0.0), ("estimates-hxl", "written", 0.0),
    ("report", "written", 0.0), ("register-csv", "audited", 0.0), ("report", "audited", 0.0),
]


def test_killed_exports_and_reports_leave_no_partial_or_unaudited_file(_built_case: Path, tmp_path: Path) -> None:
    shutil.copytree(_built_case, tmp_path / "case")  # its own copy: the shared case's audit log stays as it was
    _built_case = tmp_path / "case"
    outcomes = []
    forks = _Forks(tmp_path)
    try:
        for i, (name, stage, delay) in enumerate(RUNS):
            folder = tmp_path / f"{name}-{stage}-{delay}"
            folder.mkdir()
            args, file = COMMANDS[name]
            target = folder / file
            if i % 2:  # an older file of that name survives a killed run whole, or is replaced whole
                target.write_bytes(OLD)
                target.chmod(0o600)
            _run_and_kill([a.format(case=_built_case, out=target) for a in args], stage=stage, delay=delay, tmp=tmp_path,
                          forks=forks if i else None)  # the first run starts Python afresh
            outcomes.append((name, stage, _check(_built_case, folder, target)))
    finally:
        forks.close()
    for i, (name, stage, outcome) in enumerate(outcomes):
        if stage is not None:  # killed before the rename: nothing new in place
            assert outcome == ("old" if i % 2 else "absent"), (name, stage, outcome)
