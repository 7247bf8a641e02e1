"""All of src/undercount is checked by mypy in strict mode (the settings in pyproject.toml).

CHECKED lists the paths under src/undercount that must stay clean. It is the whole package, so
this test is the same as running ``mypy`` in the project root, and it also checks that mypy saw
every module of the package.
"""

from __future__ import annotations

import re
import subprocess
import sys
import tempfile
import tomllib
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = ROOT / "src" / "undercount"

CHECKED = ["."]


def test_mypy_settings_are_strict() -> None:
    settings = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["tool"]["mypy"]
    assert settings["strict"] is True
    assert settings["python_version"] == "3.11"
    assert not settings.get("ignore_errors", False)
    assert not settings.get("follow_imports"), "follow_imports is set on the command line of this test only"


def test_checked_paths_exist() -> None:
    missing = [p for p in CHECKED if not (PACKAGE / p).exists()]
    assert not missing, f"CHECKED names paths that do not exist: {missing}"


def test_checked_areas_are_clean_under_mypy_strict() -> None:
    pytest.importorskip("mypy")
    # A cache outside the tree that outlives the test session keeps a rerun to a few seconds.
    cache = Path(tempfile.gettempdir()) / f"undercount-mypy-cache-py{sys.version_info[0]}{sys.version_info[1]}"
    command = [
        sys.executable, "-m", "mypy",
        "--config-file", str(ROOT / "pyproject.toml"),
        "--follow-imports=silent",
        "--cache-dir", str(cache),
        *(str(PACKAGE / p) for p in CHECKED),
    ]
    done = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, timeout=600)
    output = done.stdout + done.stderr
    assert done.returncode == 0, f"mypy --strict found problems:\n{output}"
    checked = re.search(r"no issues found in (\d+) source files", output)
    assert checked is not None, output
    assert int(checked.group(1)) == len(list(PACKAGE.rglob("*.py"))), output
