"""The report in headless Chromium: every figure drawn, every section filled, offline, printable."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest

from undercount.report.html import SECTIONS

ROOT = Path(__file__).resolve().parents[2]
ARTIFACTS = ROOT / "test-artifacts"
FIGURES = {"summary": 0, "sources": 0, "releases": 0, "who": 2, "when": 3, "overlap": 1, "linkage": 2, "estimates": 2,
           "incidents": 0, "displacement": 0, "methods": 0, "reproducibility": 0}  # the fixture has no incidents
A4_PRINTABLE_PX = (210 - 28) / 25.4 * 96  # A4 width less the page margins, in CSS pixels

pytestmark = pytest.mark.browser


@pytest.fixture(scope="module")
def page(browser: Any) -> Any:
    context = browser.new_context(viewport={"width": 1200, "height": 900})
    yield context.new_page()
    context.close()


def test_report_renders_every_figure_and_section(page: Any, written_report: dict[str, Any]) -> None:
    requests: list[str] = []
    page.on("request", lambda r: requests.append(r.url))
    page.goto(Path(written_report["path"]).as_uri())
    page.wait_for_load_state("load")
    assert [r for r in requests if not r.startswith(("file:", "data:"))] == []
    for name in SECTIONS:
        section = page.locator(f"section#{name}")
        assert len(section.inner_text().split()) > 15, name
        images = section.locator("figure img")
        assert images.count() == FIGURES[name], name
        for i in range(images.count()):
            size = images.nth(i).evaluate("img => [img.complete, img.naturalWidth, img.naturalHeight]")
            box = images.nth(i).bounding_box()
            assert size[0] and size[1] > 100 and size[2] > 50, name
            assert box["width"] > 100 and box["height"] > 50, name
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "report-fixture.png"), full_page=True)


def test_names_are_right_to_left(page: Any, written_report: dict[str, Any]) -> None:
    page.goto(Path(written_report["path"]).as_uri())
    directions = page.locator("td.name").evaluate_all(
        "cells => cells.map(c => [getComputedStyle(c).direction, c.textContent])")
    assert directions
    arabic = [d for d, text in directions if any("\u0600" <= ch <= "\u06ff" for ch in text)]
    assert arabic and set(arabic) == {"rtl"}


def test_report_prints_on_a4(page: Any, written_report: dict[str, Any]) -> None:
    page.goto(Path(written_report["path"]).as_uri())
    page.emulate_media(media="print")
    page.set_viewport_size({"width": int(A4_PRINTABLE_PX), "height": 1000})
    assert page.locator("nav.toc").is_hidden()
    widths = page.locator("figure img").evaluate_all("imgs => imgs.map(i => i.getBoundingClientRect().width)")
    assert widths and max(widths) <= A4_PRINTABLE_PX + 1
    # No forced page per section (half-empty pages); headings stay with what follows, rows whole.
    breaks = page.locator("section").evaluate_all("ss => ss.map(s => getComputedStyle(s).breakBefore)")
    assert set(breaks) == {"auto"}
    assert set(page.locator("h2").evaluate_all("hs => hs.map(h => getComputedStyle(h).breakAfter)")) == {"avoid"}
    assert set(page.locator("tr").evaluate_all("rs => rs.map(r => getComputedStyle(r).breakInside)")) == {"avoid"}
    pdf = page.pdf(format="A4", print_background=True)
    pages = len(re.findall(rb"/Type\s*/Page(?!s)", pdf))
    assert pdf.startswith(b"%PDF") and 3 <= pages <= 9
    ARTIFACTS.mkdir(exist_ok=True)
    (ARTIFACTS / "report-fixture.pdf").write_bytes(pdf)


def test_a_reader_sees_the_verdict_the_share_missed_the_range_and_each_status(
        page: Any, written_report: dict[str, Any]) -> None:
    page.goto(Path(written_report["path"]).as_uri())
    verdict = page.locator("#verdict")
    assert verdict.is_visible()
    assert re.match(r"(Solid|Use with care|Lower bound only|Not estimable)", verdict.locator(".title").inner_text())
    assert verdict.locator("li").count() >= 1
    missed = page.locator("#share-missed")
    assert missed.is_visible() and re.fullmatch(r"\d+%", missed.locator(".value").inner_text().strip())
    assert "on no list" in missed.inner_text()
    statuses = page.locator("table#populations tbody tr")
    assert statuses.count() == 2
    assert [statuses.nth(i).locator("td").first.inner_text() for i in range(2)] == ["killed", "injured"]
    for by in ("period", "place"):  # estimates by period and by place, each row with its interval and verdict
        rows = page.locator(f"section#estimates table#breakdown-{by} tbody tr")
        assert rows.count() >= 3 and rows.first.is_visible()
        assert re.search(r"\d to (\d|no finite)", rows.first.inner_text())
    chart = page.locator("section#estimates figure#fig-range img")
    assert chart.count() == 1 and chart.evaluate("img => img.complete && img.naturalWidth > 100")
    assert "ranges from" in page.locator("section#summary p.lead").inner_text()
    details = page.locator("section#summary details.warnings")
    assert details.is_visible() and not details.locator("li").first.is_visible()  # folded until opened
    details.locator("summary").click()
    assert details.locator("li").first.is_visible()
    text = page.locator("body").inner_text()
    assert not re.search(r"R-hat|\bESS\b|ConvergenceWarning", text)


def test_report_on_a_phone_has_no_table_wider_than_the_screen(browser: Any, written_report: dict[str, Any]) -> None:
    context = browser.new_context(viewport={"width": 390, "height": 844}, device_scale_factor=2, is_mobile=True)
    phone = context.new_page()
    try:
        phone.goto(Path(written_report["path"]).as_uri())
        width = phone.evaluate("[document.documentElement.scrollWidth, document.documentElement.clientWidth]")
        assert width[0] <= width[1] == 390
        # Every table fits the screen: a wide one scrolls inside its own box.
        boxes = phone.locator("table").evaluate_all(
            "ts => ts.map(t => [t.getBoundingClientRect().left, t.getBoundingClientRect().right, "
            "t.scrollWidth, t.clientWidth, getComputedStyle(t).overflowX])")
        assert boxes
        for left, right, scroll, client, overflow in boxes:
            assert left >= 0 and right <= 390
            assert scroll <= client or overflow == "auto"
        ARTIFACTS.mkdir(exist_ok=True)
        phone.screenshot(path=str(ARTIFACTS / "report-390px.png"), full_page=False)
    finally:
        context.close()
