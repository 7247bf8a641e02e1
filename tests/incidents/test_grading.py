"""The grade rule: every grade, the order of the rules, independence, credibility, reviewers."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from undercount.incidents import grade_incident
from undercount.incidents.grading import independent_sources
from undercount.store import Case

from .conftest import write


def r(source: str, **kw: Any) -> dict[str, Any]:
    return {"source_name": source, "reference": None, "credible": None, "actor": None, "acknowledged": None,
            "assessment": None, **kw}


CASES = [
    # (reports, reviewer, grade, words in the reason)
    ([r("Airwars")], None, "weak", "single source (Airwars)"),
    ([r("Airwars", reference="u1"), r("airwars ", reference="u2")], None, "weak", "single source"),
    ([r("Airwars"), r("WHO")], None, "fair", "2 independent credible sources: Airwars, WHO"),
    ([r("Reuters", reference="https://x/1"), r("AP", reference="https://x/1/")], None, "weak", "single source"),
    ([r("Airwars"), r("Blog", credible=False)], None, "weak", "1 credible source(s); 1 marked not credible"),
    ([r("Airwars", actor="Armed forces A"), r("WHO", actor="Armed group B")], None, "contested", "2 different"),
    ([r("Airwars", actor="A"), r("WHO", actor=" a ")], None, "fair", "2 independent"),
    ([r("Army", actor="Armed forces A", acknowledged=True)], None, "confirmed", "accepted responsibility"),
    ([r("Army", actor="A", acknowledged=True), r("WHO", actor="B")], None, "confirmed", "accepted responsibility"),
    ([r("Army", acknowledged=True)], None, "weak", "single source"),  # acknowledged, but by whom is not said
    ([r("Airwars", assessment="discounted"), r("WHO", assessment="discounted")], None, "discounted", "every report"),
    ([r("Airwars", assessment="discounted"), r("WHO", assessment="fair")], None, "fair", "2 independent"),
    ([r("Army", actor="A", acknowledged=True), r("X", assessment="discounted")], None, "discounted", "every report"),
    ([r("Airwars"), r("WHO")], "discounted", "discounted", "reviewer"),
    ([r("Airwars")], "confirmed", "confirmed", "reviewer"),
    ([r("Airwars", actor="A"), r("WHO", actor="B")], "confirmed", "confirmed", "reviewer"),
    ([r("Airwars", actor="A"), r("WHO", actor="B")], "discounted", "discounted", "reviewer"),
]


@pytest.mark.parametrize("reports, reviewer, grade, reason", CASES)
def test_every_grade_follows_the_rule(reports: list[dict[str, Any]], reviewer: str | None, grade: str,
                                      reason: str) -> None:
    result = grade_incident(reports, decision=reviewer)
    assert result.grade == grade
    assert reason in result.reason


def test_every_grade_is_reached() -> None:
    assert {grade for _, _, grade, _ in CASES} == {"confirmed", "fair", "weak", "contested", "discounted"}


def test_sources_citing_one_reference_are_one_source() -> None:
    rows = [r("A", reference="u1"), r("B", reference="u2"), r("C", reference="u2"), r("D", reference="u3"),
            r("E", reference="u1")]
    assert independent_sources(rows) == ("A", "B", "D")


def test_grades_are_recomputed_from_merged_sources(empty_case: Case, tmp_path: Path) -> None:
    """One report alone is weak; a second source's report of the same strike makes the merged incident fair;
    a reviewer's discount wins and can be cleared."""
    from undercount.incidents import dedupe_incidents, import_incidents, list_incidents
    from undercount.incidents.review import decide_grade, decide_pair

    write(tmp_path / "a.csv", "id,date,place,type,killed,source,family\n"
          "A1,2023-10-17,Jabalia camp,home,7,Airwars,al-Najjar family\n"
          "A2,2023-11-02,Rafah,school,3,Airwars,\n")
    write(tmp_path / "b.csv", "date,place,type,killed,source,family,actor\n"
          "2023-10-17,مخيم جباليا,منزل,7,Al Jazeera,عائلة النجار,Armed forces A\n")
    import_incidents(empty_case, tmp_path / "a.csv")
    dedupe_incidents(empty_case)
    assert sorted(list_incidents(empty_case).incidents["grade"]) == ["weak", "weak"]
    import_incidents(empty_case, tmp_path / "b.csv")
    result = dedupe_incidents(empty_case)
    table = list_incidents(empty_case).incidents.set_index("incident_id")
    assert result.incidents == 2 and table.loc["I0000001", "grade"] == "fair"
    assert table.loc["I0000001", "n_sources"] == 2 and table.loc["I0000001", "killed_min"] == 7
    decide_grade(empty_case, "I0000001", "discounted", note="combatants")
    assert list_incidents(empty_case).incidents.set_index("incident_id").loc["I0000001", "grade"] == "discounted"
    decide_grade(empty_case, 3, "clear")
    assert list_incidents(empty_case).incidents.set_index("incident_id").loc["I0000001", "grade"] == "fair"
    decide_grade(empty_case, 1, "discounted")
    decide_pair(empty_case, 1, 3, "different")  # split again: the discount stays with the report it named
    table = list_incidents(empty_case).incidents.set_index("incident_id")
    assert table["grade"].to_dict() == {"I0000001": "discounted", "I0000002": "weak", "I0000003": "weak"}
