"""ruff is configured in pyproject.toml and the whole tree is clean under it (``make test`` runs this).

Fix what it finds with ``ruff check --fix`` (the safe fixes) or by hand; a noqa comment names its
rule and says why (a bare or stale one is itself an error: PGH004, RUF100).
"""

from __future__ import annotations

import shutil
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
CHECKED = ["src", "tests", "bench", "scripts"]


def _ruff() -> list[str]:
    try:
        import ruff  # noqa: F401 - only to know whether the module is installed
    except ImportError:
        found = shutil.which("ruff")
        if found is None:
            pytest.skip("ruff is not installed (it is in the test extra)")
        return [found]
    return [sys.executable, "-m", "ruff"]


def test_ruff_is_configured() -> None:
    settings = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["tool"]["ruff"]
    rules = settings["lint"]["select"]
    assert {"E", "F", "I", "B", "UP", "PGH004", "RUF100"} <= set(rules)
    assert settings["target-version"] == "py311"


def test_the_tree_is_clean_under_ruff() -> None:
    result = subprocess.run([*_ruff(), "check", "--no-cache", "--output-format", "concise", *CHECKED],
                            cwd=ROOT, capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr


def test_no_bare_noqa() -> None:
    bare = [f"{path.relative_to(ROOT)}:{n}" for folder in CHECKED for path in (ROOT / folder).rglob("*.py")
            for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1)
            if "# noqa" in line and "# noqa:" not in line]
    assert not bare, f"a noqa must name its rule: {bare}"
