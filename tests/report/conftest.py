"""Fixtures of the report tests: a linked and estimated case built from rows (no other stage run)."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))

from fixture_case import build_case, fixture_audit, fixture_register  # noqa: E402

from undercount.report import data as report_data  # noqa: E402
from undercount.store import Case  # noqa: E402


@pytest.fixture(scope="session")
def _built_case(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build_case(tmp_path_factory.mktemp("report") / "case").path


@pytest.fixture
def fixture_stages(monkeypatch: pytest.MonkeyPatch) -> None:
    """Register and audit of the fixture case in place of the link and ingest stages."""
    monkeypatch.setattr(report_data, "load_register", fixture_register)
    monkeypatch.setattr(report_data, "read_audit", fixture_audit)


@pytest.fixture
def report_case(_built_case: Path, fixture_stages: None) -> Case:
    """A linked, estimated case of three lists (700 synthetic people)."""
    return Case.open(_built_case)
