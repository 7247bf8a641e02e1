"""Fixtures of the report tests: a linked and estimated case built from rows (no other stage run)."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

sys.path.insert(0, str(Path(__file__).parent))

from fixture_case import build_case, fixture_audit, fixture_register
from tests.conftest import count_case_opens

from undercount.cli import app
from undercount.report import data as report_data
from undercount.report.html import render_report
from undercount.store import Case


def _patch(mp: pytest.MonkeyPatch) -> None:
    mp.setattr(report_data, "load_register", fixture_register)
    mp.setattr(report_data, "read_audit", fixture_audit)


@pytest.fixture(scope="session")
def _built_case(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build_case(tmp_path_factory.mktemp("report") / "case").path


@pytest.fixture
def fixture_stages(monkeypatch: pytest.MonkeyPatch) -> None:
    """Register and audit of the fixture case in place of the link and ingest stages."""
    _patch(monkeypatch)


@pytest.fixture
def report_case(_built_case: Path, fixture_stages: None) -> Case:
    """A linked, estimated case of three lists (700 synthetic people)."""
    return Case.open(_built_case)


@pytest.fixture(scope="session")
def written_report(_built_case: Path) -> dict[str, Any]:
    """The report of the fixture case, written once by ``undercount report ... --json``."""
    with pytest.MonkeyPatch.context() as mp:
        _patch(mp)
        out = _built_case.parent / "report.html"
        result = CliRunner().invoke(app, ["report", str(_built_case), "-o", str(out), "--json",
                                            "--title", "Fixture case <3 lists>"])
    assert result.exit_code == 0, result.output
    return json.loads(result.output)


@pytest.fixture(scope="session")
def report_html(written_report: dict[str, Any]) -> str:
    """The HTML of the fixture case's report."""
    return Path(written_report["path"]).read_text(encoding="utf-8")


@pytest.fixture(scope="session")
def redacted_render(_built_case: Path) -> tuple[str, int, list[bool]]:
    """The redacted report of the fixture case, rendered once: its HTML, its number of figures, and
    the connections to the case it opened (True: read-only)."""
    case = Case.open(_built_case)
    with pytest.MonkeyPatch.context() as mp:
        _patch(mp)
        opened = count_case_opens(mp)
        html, figures = render_report(case, redact=True)
    return html, figures, opened


@pytest.fixture(scope="session")
def redacted_html(redacted_render: tuple[str, int, list[bool]]) -> str:
    """The redacted report of the fixture case, rendered once."""
    return redacted_render[0]
