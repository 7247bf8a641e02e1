"""Benchmarks and scripts import only what the package still has (a moved module breaks them silently).

bench/ and scripts/ are not imported by any other test; this one reads their ``from undercount...``
statements and checks that each module and name exists.
"""

from __future__ import annotations

import ast
import importlib
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
FILES = sorted([*(ROOT / "bench").glob("*.py"), *(ROOT / "scripts").glob("*.py")])


def _imports(path: Path) -> list[tuple[str, str]]:
    found = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom) and node.level == 0 and (node.module or "").startswith("undercount"):
            found += [(str(node.module), alias.name) for alias in node.names]
        elif isinstance(node, ast.Import):
            found += [(alias.name, "") for alias in node.names if alias.name.startswith("undercount")]
    return found


@pytest.mark.parametrize("path", FILES, ids=lambda p: p.name)
def test_every_undercount_import_resolves(path: Path) -> None:
    missing = []
    for module, name in _imports(path):
        loaded = importlib.import_module(module)
        if name and not hasattr(loaded, name):
            try:
                importlib.import_module(f"{module}.{name}")
            except ImportError:
                missing.append(f"{module}.{name}")
    assert not missing, f"{path.name} imports what the package no longer has: {missing}"


def test_there_are_benchmarks() -> None:
    assert len(FILES) > 10
