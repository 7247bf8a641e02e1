"""Progress bars with real steps: link_case reports each of its steps, in order, as it starts."""

from __future__ import annotations

import io
import tarfile
from pathlib import Path
from typing import Any

import pytest

FIXTURE = Path(__file__).parents[1] / "store" / "fixtures" / "case_v1.tar.gz"


def _terminal(monkeypatch: pytest.MonkeyPatch, width: int = 100) -> tuple[Any, io.StringIO]:
    """The CLI module with its stderr console drawing into a string, as a terminal would."""
    import importlib

    from rich.console import Console

    cli_app = importlib.import_module("undercount.cli.app")
    screen = io.StringIO()
    monkeypatch.setattr(cli_app, "err_console", Console(file=screen, force_terminal=True, width=width))
    return cli_app, screen


def _fixture_case(tmp_path: Path) -> Any:
    """A copy of the stored old-version case (imported, not linked)."""
    from undercount.store import Case

    with tarfile.open(FIXTURE) as tar:
        tar.extractall(tmp_path, filter="data")
    return Case.open(tmp_path / "case")


def test_link_reports_its_real_steps_and_the_bar_reaches_the_end(tmp_path: Path,
                                                               monkeypatch: pytest.MonkeyPatch) -> None:
    from undercount.link import link_case
    from undercount.link.run import LINK_STEPS

    case = _fixture_case(tmp_path)
    cli_app, screen = _terminal(monkeypatch)
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


def test_estimate_reports_strata_and_draws_and_the_bar_shows_them(tmp_path: Path,
                                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    from undercount.estimate.linkage import estimate_populations
    from undercount.link import link_case

    case = _fixture_case(tmp_path)
    link_case(case)
    cli_app, screen = _terminal(monkeypatch, width=120)
    seen: list[tuple[str, int, int]] = []
    with cli_app.Counts("Estimating") as bar:
        def record(what: str, done: int, total: int) -> None:
            seen.append((what, done, total))
            bar(what, done, total)

        estimate_populations(case, link_draws=3, imputations=2, store=False, models=False, method="loglinear",
                             progress=record)
    steps = [what.split(": ", 1)[-1] if what.count(": ") > 1 else what for what, _, _ in seen]
    assert any("drawing 3 plausible linkages" in s for s in steps)
    best = [(d, t) for what, d, t in seen if what.endswith("best linkage: strata")]
    draws = [(d, t) for what, d, t in seen if what.endswith("linkage draws: strata")]
    assert best[0][0] == 0 and best[-1][0] == best[-1][1] >= 1  # from none to every stratum
    assert [d for d, _ in best] == sorted(d for d, _ in best)
    assert draws and draws[-1][0] == draws[-1][1]  # the fixture holds uncertain links: 3 draws pooled
    assert any(what.endswith("range across models") for what, _, _ in seen)
    assert "Estimating: " in screen.getvalue()


def test_import_reports_its_real_steps(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from undercount.ingest import import_list
    from undercount.ingest.importer import IMPORT_STEPS
    from undercount.store import Case

    path = tmp_path / "hospital.csv"
    path.write_text("name,age,sex\nAhmad Ali Hasan,34,m\nMona Ali Hasan,30,f\n", encoding="utf-8")
    cli_app, screen = _terminal(monkeypatch)
    seen: list[str] = []
    with cli_app.Steps(IMPORT_STEPS, "Importing") as step:
        def record(name: str) -> None:
            seen.append(name)
            step(name)

        result = import_list(Case.init(tmp_path / "case"), path, progress=record)
    assert tuple(seen) == IMPORT_STEPS and result.rows == 2
    assert "Importing: reading the file" in screen.getvalue()
    again: list[str] = []
    import_list(Case.open(tmp_path / "case"), path, progress=again.append)  # the same file: skipped after reading
    assert again == [IMPORT_STEPS[0]]


def test_the_demos_bars_follow_the_real_steps() -> None:
    from rich.console import Console
    from rich.progress import Progress

    from undercount.demo import _Steps

    progress = Progress(console=Console(file=io.StringIO(), force_terminal=True))
    steps = _Steps(progress)
    with progress, steps.step("Linking records", total=5):
        steps.at(3, 5)
        assert (progress.tasks[0].completed, progress.tasks[0].total) == (3, 5)
        steps.at(2, 6)  # the estimate's next phase: its own count of strata
        assert (progress.tasks[0].completed, progress.tasks[0].total) == (2, 6)
    assert progress.tasks[0].completed == progress.tasks[0].total
