"""Progress bars with real steps: link_case reports each of its steps, in order, as it starts."""

from __future__ import annotations

import io
import tarfile
from pathlib import Path

import pytest

FIXTURE = Path(__file__).parents[1] / "store" / "fixtures" / "case_v1.tar.gz"


def test_link_reports_its_real_steps_and_the_bar_reaches_the_end(tmp_path: Path,
                                                               monkeypatch: pytest.MonkeyPatch) -> None:
    import importlib

    from rich.console import Console

    from undercount.link import link_case
    from undercount.link.run import LINK_STEPS
    from undercount.store import Case

    cli_app = importlib.import_module("undercount.cli.app")
    with tarfile.open(FIXTURE) as tar:
        tar.extractall(tmp_path, filter="data")
    case = Case.open(tmp_path / "case")
    screen = io.StringIO()
    monkeypatch.setattr(cli_app, "err_console", Console(file=screen, force_terminal=True, width=100))
    seen: list[str] = []
    with cli_app.Steps(LINK_STEPS, "Linking") as step:
        def record(name: str) -> None:
            seen.append(name)
            step(name)

        result = link_case(case, progress=record)
    assert tuple(seen) == LINK_STEPS
    assert result.persons > 0
    drawn = screen.getvalue()
    assert "Linking: blocking" in drawn and f"{len(LINK_STEPS)}/{len(LINK_STEPS)}" in drawn
