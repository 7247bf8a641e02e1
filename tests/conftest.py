"""Shared fixtures: an empty case, the shared data folder (skipped when absent)."""

from __future__ import annotations

from pathlib import Path

import pytest

from undercount.store import Case

ROOT = Path(__file__).resolve().parents[1]
SHARED = ROOT.parent / "shared"


@pytest.fixture
def empty_case(tmp_path: Path) -> Case:
    """A new, empty case folder."""
    return Case.init(tmp_path / "case")


@pytest.fixture(scope="session")
def shared_dir() -> Path:
    """../shared, or skip: users and some machines do not have it."""
    if not SHARED.is_dir():
        pytest.skip("../shared is not present")
    return SHARED


@pytest.fixture(scope="session")
def reference_dir(shared_dir: Path) -> Path:
    path = shared_dir / "reference"
    if not path.is_dir():
        pytest.skip("../shared/reference is not present")
    return path
