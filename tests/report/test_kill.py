"""Killing export and report at the moment of writing never leaves a partial or unaudited file (#20).

Each run is a real ``undercount`` process under umask 022, stopped with SIGKILL at a chosen step
of the safe write (a hook waits there and tells the test), or after a delay. Afterwards the
target is either absent, or complete, 600 and in the audit log with its SHA-256; no other file
appears in the folder.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import signal
import stat
import subprocess
import sys
import time
from pathlib import Path

import pytest

from undercount.store import Case

pytestmark = pytest.mark.slow

SRC = Path(__file__).resolve().parents[2] / "src"

# Runs the CLI with a pause at one step of undercount.store.output, announced through a marker file.
HOOK = r"""
import os, sys, time
from pathlib import Path
from undercount.store import output
stage, marker = sys.argv[1], Path(sys.argv[2])
os.umask(0o022)
sys.argv = ["undercount", *sys.argv[3:]]

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


def _run_and_kill(args: list[str], *, stage: str | None, delay: float, tmp: Path) -> None:
    marker = tmp / "marker"
    marker.unlink(missing_ok=True)
    env = {**os.environ, "PYTHONPATH": str(SRC)}
    cmd = [sys.executable, "-c", HOOK, stage or "none", str(marker), *args]
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
    for i, (name, stage, delay) in enumerate(RUNS):
        folder = tmp_path / f"{name}-{stage}-{delay}"
        folder.mkdir()
        args, file = COMMANDS[name]
        target = folder / file
        if i % 2:  # an older file of that name survives a killed run whole, or is replaced whole
            target.write_bytes(OLD)
            target.chmod(0o600)
        _run_and_kill([a.format(case=_built_case, out=target) for a in args], stage=stage, delay=delay, tmp=tmp_path)
        outcomes.append((name, stage, _check(_built_case, folder, target)))
    for i, (name, stage, outcome) in enumerate(outcomes):
        if stage is not None:  # killed before the rename: nothing new in place
            assert outcome == ("old" if i % 2 else "absent"), (name, stage, outcome)
