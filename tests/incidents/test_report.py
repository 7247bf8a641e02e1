"""The report's incidents and displacement sections, in HTML and in headless Chromium."""

from __future__ import annotations

import re
import sys
from pathlib import Path
from typing import Any

import pytest

from undercount.store import Case

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "report"))

from fixture_case import build_case


@pytest.fixture(scope="module")
def reported(sim_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """The report fixture's linked case with the simulated incidents and displacement, reported twice."""
    from undercount.displacement import import_displacement
    from undercount.incidents import assign_victims, dedupe_incidents, import_incidents
    from undercount.report import data as report_data
    from undercount.report.html import write_report

    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "report"))
    from fixture_case import fixture_audit, fixture_register

    folder = tmp_path_factory.mktemp("incident-report")
    case = build_case(folder / "case", people=300)
    for path in sorted(sim_dir.glob("incidents_*")):
        import_incidents(case, path)
    import_displacement(case, sim_dir / "displacement.csv")
    dedupe_incidents(case)
    assign_victims(case)
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(report_data, "load_register", fixture_register)
        mp.setattr(report_data, "read_audit", fixture_audit)
        full = write_report(case, folder / "report.html")
        redacted = write_report(case, folder / "redacted.html", redact=True)
    assert "incidents" in full.sections and "displacement" in full.sections
    return {"full": full.path, "redacted": redacted.path, "case": case.path}


def test_the_sections_hold_their_tables(reported: dict[str, Path]) -> None:
    html = reported["full"].read_text(encoding="utf-8")
    incidents = html[html.index('<section id="incidents">'):html.index('<section id="displacement">')]
    assert "Incidents by month and object type" in incidents and "The ten deadliest incidents" in incidents
    assert len(re.findall(r"\d+ named of [\d\-a-z ]+ reported", incidents)) == 10
    assert "residential" in incidents and "fair" in incidents
    displacement = html[html.index('<section id="displacement">'):html.index('<section id="methods"')]
    assert "People displaced" in displacement and "Deir al-Balah" in displacement
    redacted = reported["redacted"].read_text(encoding="utf-8")
    assert "families the reports name are left out" in redacted and "عائلة" not in redacted
    assert "عائلة" in html or " family" in incidents


def test_a_case_without_them_says_what_to_import(tmp_path: Path) -> None:
    from undercount.report.incidents import incidents_context

    case = Case.init(tmp_path / "empty")
    context, figures = incidents_context(case)
    assert figures == 0 and not context["incidents"]["has"] and not context["displacement"]["has"]


pytestmark = pytest.mark.browser


def test_a_browser_finds_both_sections(browser: Any, reported: dict[str, Path]) -> None:
    page = browser.new_context(viewport={"width": 1200, "height": 900}).new_page()
    page.goto(reported["full"].as_uri())
    for name, rows in (("incidents", 10), ("displacement", 1)):
        section = page.locator(f"section#{name}")
        assert section.is_visible()
        image = section.locator("figure img")
        assert image.count() == 1
        size = image.first.evaluate("img => [img.complete, img.naturalWidth, img.naturalHeight]")
        assert size[0] and size[1] > 100 and size[2] > 50
        assert section.locator("table tbody tr").count() >= rows
    toc = page.locator("nav.toc a").evaluate_all("links => links.map(a => a.getAttribute('href'))")
    assert "#incidents" in toc and "#displacement" in toc
    deadliest = page.locator("section#incidents table").nth(2).locator("tbody tr")
    assert deadliest.count() == 10
    page.context.close()
