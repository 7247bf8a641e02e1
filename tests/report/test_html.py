"""The HTML report of a fixture case: self-contained, every section filled, names right-to-left."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
from fixture_case import build_case

from undercount.errors import StoreError
from undercount.report.html import SECTIONS, render_report
from undercount.store import Case

EXTERNAL = re.compile(r"""(?:src|href|action|poster)\s*=\s*["']?\s*(?:https?:)?//""", re.I)


def _section(html: str, name: str) -> str:
    start = html.index(f'<section id="{name}"')
    return html[start:html.index("</section>", start)]


def test_report_is_self_contained(report_case: Case, written_report: dict[str, Any], report_html: str) -> None:
    result, html = written_report, report_html
    assert not EXTERNAL.search(html)
    assert "<script" not in html.lower() and "@import" not in html and "url(http" not in html
    assert "<link" not in html.lower()
    assert "<h1>Fixture case &lt;3 lists&gt;</h1>" in html  # the title, escaped
    assert result["figures"] == 10 and html.count('src="data:image/svg+xml;base64,') == 10
    assert result["bytes"] == len(html.encode()) and result["sections"] == SECTIONS
    log = report_case.audit_log()
    reports = log[log["action"] == "report"]
    assert len(reports) >= 1 and '"redacted": false' in reports["detail"].iloc[-1]
    assert '"file": "report.html"' in reports["detail"].iloc[-1]


def test_every_section_has_content(report_html: str) -> None:
    html = report_html
    figures_per_section = {"summary": 0, "sources": 0, "releases": 0, "who": 2, "when": 3, "overlap": 1, "linkage": 2,
                           "estimates": 2, "incidents": 0, "displacement": 0, "methods": 0, "reproducibility": 0}
    absent = {"releases", "incidents", "displacement"}  # the fixture has none: those sections say what to import
    for name in SECTIONS:
        body = _section(html, name)
        text = re.sub(r"<[^>]+>", " ", body)
        assert len(text.split()) > 15, name
        assert ('class="missing"' in body) == (name in absent), name
        assert body.count("<img ") == figures_per_section[name], name


def test_summary_numbers(report_case: Case, report_html: str) -> None:
    summary = _section(report_html, "summary")
    persons = report_case.clusters()["person_id"].nunique()
    total = report_case.query("SELECT documented, estimate FROM uc_estimates WHERE stratum = 'total' "
                              "ORDER BY run_id").iloc[0]  # the killed, the headline population
    assert f"{persons:,}" in summary
    assert f"{round(total['estimate']):,}" in summary
    assert f"{round(total['estimate'] - total['documented']):,}" in summary  # the undercount
    assert "three lists cannot test" in summary  # warnings shown prominently
    assert "18%" in summary  # share of the interval from linkage


def test_verdict_share_missed_populations_and_range_in_plain_words(report_case: Case, report_html: str) -> None:
    summary = _section(report_html, "summary")
    rows = report_case.query("SELECT documented, estimate FROM uc_estimates WHERE stratum = 'total' ORDER BY run_id")
    killed, injured = rows.iloc[0], rows.iloc[1]
    assert 'id="verdict"' in summary and "Verdict on the estimate of killed" in summary
    assert re.search(r'<p class="title">(Solid|Use with care[^<]*|Lower bound only[^<]*|Not estimable[^<]*)</p>', summary)
    share = 1 - killed["documented"] / killed["estimate"]
    assert f"{share:.0%}" in summary and "Share missed" in summary
    populations = re.search(r'<table id="populations">(.*?)</table>', summary, re.S)
    assert populations and "killed" in populations[1] and "injured" in populations[1]
    assert f"{round(injured['estimate']):,}" in populations[1]
    assert f"{round(killed['estimate'] + injured['estimate']):,}" not in report_html  # never summed
    estimates = _section(report_html, "estimates")
    assert 'id="model-range"' in estimates and "(Chao's lower bound)" in estimates
    for word in ("R-hat", "ESS", "ConvergenceWarning", "replicates", "envelope"):
        assert word not in summary and word not in estimates, word


def test_headline_cards_name_the_population(report_case: Case, report_html: str) -> None:
    summary = _section(report_html, "summary")
    killed = report_case.query("SELECT documented FROM uc_estimates WHERE stratum = 'total' ORDER BY run_id").iloc[0]
    cards = re.findall(r'<div class="card[^"]*"(?: id="[^"]+")?><div class="label">([^<]*)</div>\s*<div class="value"[^>]*>([^<]*)<',
                       summary)
    labels = dict(cards)
    assert "Documented: killed" in labels and "Estimated total: killed" in labels and "Share missed: killed" in labels
    assert labels["Documented: killed"].strip() == f"{int(killed['documented']):,}"  # the killed, not every status
    assert not any("victims" in label for label in labels)
    text = re.sub(r"<[^>]+>", " ", _section(report_html, "methods"))
    assert "The estimated total of killed is" in text and "victims (" not in text


def test_estimates_by_period_and_by_place_with_intervals_and_verdicts(report_case: Case, report_html: str) -> None:
    body = _section(report_html, "estimates")
    period = re.search(r'<table class="breakdown" id="breakdown-period">(.*?)</table>', body, re.S)
    place = re.search(r'<table class="breakdown" id="breakdown-place">(.*?)</table>', body, re.S)
    assert period and place and "Killed by period (quarter of the event)" in body and "Killed by place" in body
    quarters = re.findall(r'<tr><td dir="ltr">(\d{4}Q\d[^<]*)</td>', period[1])
    assert quarters == sorted(quarters) and "2024Q2+2024Q3" in quarters and "2023Q4" in quarters
    rafah = re.search(r'<tr><td dir="ltr">Rafah</td>(.*?)</tr>', place[1], re.S)
    assert rafah and "no finite upper limit" in rafah[1] and "lower bound only: at least" in rafah[1]
    assert "The groups add up to" in body
    assert "a governorate with at least 50 persons on two or more lists is a group of its own" in body  # said once
    assert body.count("other places&rdquo;") == 1
    for table in (period[1], place[1]):
        rows = re.findall(r"<tr><td", table)
        assert len(rows) >= 3 and table.count("%</td>") == len(rows)  # every row's share missed


def test_sources_say_who_compiled_each_list_and_how(report_html: str) -> None:
    body = _section(report_html, "sources")
    hospital = re.search(r'<b dir="ltr">hospital</b>.*?</tr>', body, re.S)
    assert hospital and '<b dir="rtl">وزارة الصحة - غزة</b>' in hospital[0]
    assert "Deaths registered by hospitals and morgues, with ID numbers" in hospital[0]
    survey = re.search(r'<b dir="ltr">survey</b>.*?</tr>', body, re.S)
    assert survey and "A household survey team" in survey[0] and "not described" not in survey[0]
    social = re.search(r'<b dir="ltr">social</b>.*?</tr>', body, re.S)
    assert social and "not described at import" in social[0]


def test_estimates_section_lists_models_and_open_intervals(report_html: str) -> None:
    body = _section(report_html, "estimates")
    assert "[12,13]" in body and "no finite upper limit" in body and "from linkage" in body


def test_a_strata_warning_is_shown_with_its_stratum_not_the_total(report_html: str) -> None:
    # the total inherits its strata's warnings; shown on "All persons" their numbers read as the total's
    estimates = _section(report_html, "estimates")
    total_row = re.search(r'<tr class="total">(.*?)</tr>', estimates, re.S)
    assert total_row and "three lists cannot test" in total_row[1] and "sparse table" not in total_row[1]
    assert estimates.count("sparse table: the interval has no finite upper limit") == 1
    summary = _section(report_html, "summary")
    assert "age 60+, female: sparse table" in summary and "the total and" not in summary


def test_names_render_right_to_left(report_html: str) -> None:
    body = _section(report_html, "linkage")
    cells = re.findall(r'<td class="name" dir="(rtl|ltr)">([^<]*)</td>', body)
    assert cells and any(d == "rtl" for d, _ in cells)
    for direction, text in cells:
        assert (direction == "rtl") == bool(re.search(r"[\u0600-\u06FF]", text))


def test_redacted_report_holds_no_names(report_case: Case, redacted_html: str) -> None:
    html = redacted_html
    names = report_case.query("SELECT DISTINCT full_name FROM uc_records")["full_name"]
    assert not any(name in html for name in names)
    assert "names redacted" in html


def test_methods_text_fills_in_numbers(report_case: Case, report_html: str) -> None:
    body = _section(report_html, "methods")
    records = len(report_case.records(["record_id"]))
    assert f"{records:,} records" in body
    assert "three lists" in body.lower() and "heterogeneity" in body
    assert "age group and sex" in body


def test_reproducibility_lists_hashes_and_seeds(report_case: Case, report_html: str) -> None:
    body = _section(report_html, "reproducibility")
    for digest in report_case.sources()["file_hash"]:
        assert digest in body
    assert "seed=11" in body and "seed=3" in body


def test_not_estimable_stratum_and_unlinked_case(tmp_path: Path, fixture_stages: None) -> None:
    case = build_case(tmp_path / "broken", people=150, broken=True)
    body = _section(render_report(case)[0], "estimates")
    assert "not estimable: fewer than 5 persons" in body
    with case.connect() as con:
        con.execute("DELETE FROM uc_runs WHERE kind IN ('link', 'estimate')")
    html, n = render_report(case)
    assert n == 0
    for name in ("who", "overlap", "linkage", "estimates"):
        assert 'class="missing"' in _section(html, name), name


def test_empty_case_is_a_clear_error(empty_case: Case) -> None:
    with pytest.raises(StoreError, match="holds no list"):
        render_report(empty_case)


def test_the_report_reads_the_case_on_a_few_connections(redacted_render: tuple[str, int, list[bool]]) -> None:
    """Opening the case costs tens of milliseconds: the report's reads (about 50 queries) share one
    connection, and the figures are drawn after it is closed (the old code opened one a query: 43)."""
    html, figures, opened = redacted_render
    assert figures == 10 and "<h1>" in html
    assert opened.count(False) == 0 and len(opened) <= 6, len(opened)
