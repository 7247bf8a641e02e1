"""Victims linked to incidents: each rule, at most one incident per person, the unlinked stay unlinked."""

from __future__ import annotations

import json
from datetime import datetime
from pathlib import Path

import pytest

from undercount.errors import StoreError
from undercount.incidents import assign_victims, dedupe_incidents, import_incidents, list_incidents, person_incidents
from undercount.incidents.assign import incident_labels
from undercount.ingest import import_list
from undercount.store import Case

from .conftest import write

VICTIMS = """name,age,sex,date_of_death,governorate,incident
Mohammed Ahmad Ali Najjar,34,M,17/10/2023,North Gaza,
Fatima Ahmad Ali Najjar,9,F,17/10/2023,North Gaza,
Omar Khaled Sami Shawa,40,M,18/10/2023,Jabalia camp,
Yousef Khaled Sami Hammad,30,M,02/11/2023,Rafah,AW-9
Huda Omar Ali Kurd,25,F,17/10/2023,North Gaza,
Sara Ibrahim Ali Saqqa,60,F,17/10/2023,North Gaza,
Ali Hasan Salim Amra,21,M,10/12/2023,Khan Younis,
Ali Hasan Salim Amra,21,M,10/12/2023,Khan Younis,
"""
REPORTS = """id,date,place,type,killed,source,family,victim names
AW-1,2023-10-17,Jabalia camp,home,3-5,Airwars,al-Najjar family,
AW-2,2023-10-18,Jabalia camp,school,2,Airwars,,
AW-9,2023-11-02,Rafah,aid distribution,10,Airwars,,
AW-4,2023-10-17,North Gaza,home,1,Airwars,,Huda Omar Kurd
AW-5,2023-12-10,Khan Younis,home,2,Airwars,Amra family,
AW-6,2023-12-10,Khan Younis,home,2,Airwars,Amra family,
"""


def _linked(case: Case, *, same_as: dict[int, int] | None = None) -> None:
    """A link run by hand: every record its own person, except the rows ``same_as`` maps to the person of
    another row (one person listed twice)."""
    records = case.records(["record_id", "row"])
    same_as = same_as or {}
    with case.transaction() as con:
        for rid, row in zip(records["record_id"], records["row"]):
            person = same_as.get(int(row), int(rid))
            con.execute("INSERT INTO uc_clusters VALUES ('link-test', ?, ?, 1.0)", [int(rid), f"P{person:07d}"])
        case.record_run(con, run_id="link-test", kind="link", started_at=datetime(2026, 1, 1))


@pytest.fixture
def case(empty_case: Case, tmp_path: Path) -> Case:
    import_list(empty_case, write(tmp_path / "victims.csv", VICTIMS), spec=write(
        tmp_path / "v.toml", '[list]\ndefault_status = "killed"\n[dates]\nformats = ["%d/%m/%Y"]\n'))
    _linked(empty_case, same_as={8: 7})  # rows 7 and 8: one person listed twice
    import_incidents(empty_case, write(tmp_path / "airwars.csv", REPORTS))
    dedupe_incidents(empty_case)
    return empty_case


def test_each_rule_links_and_the_rest_stay_unlinked(case: Case) -> None:
    result = assign_victims(case)
    links = person_incidents(case).set_index("person_id")
    assert links.loc["P0000001", ["incident_id", "method"]].tolist() == ["I0000001", "family"]
    assert links.loc["P0000002", ["incident_id", "method"]].tolist() == ["I0000001", "family"]
    assert links.loc["P0000003", ["incident_id", "method"]].tolist() == ["I0000002", "locality"]
    assert links.loc["P0000004", ["incident_id", "method"]].tolist() == ["I0000003", "reference"]
    assert links.loc["P0000005", ["incident_id", "method"]].tolist() == ["I0000004", "named"]
    # a governorate and a date alone never link; two Amra strikes the same day tie: linked to neither
    assert "P0000006" not in links.index and "P0000007" not in links.index
    assert not links.index.duplicated().any()
    assert result.linked == 5 and result.by_method == {"reference": 1, "named": 1, "family": 2, "locality": 1}
    assert result.ambiguous == 1 and result.persons == 7
    # a code, a name, a family the same day: high; a shared locality: medium
    assert links["confidence"].to_dict() == {"P0000001": "high", "P0000002": "high", "P0000003": "medium",
                                             "P0000004": "high", "P0000005": "high"}
    assert result.details["by_confidence"] == {"high": 4, "medium": 1, "low": 0}
    assert incident_labels(case, ["P0000003"]) == {
        "P0000003": "I0000002: 18 Oct 2023, Jabalia camp, school; linked by locality, medium confidence"}


def test_an_incident_shows_named_victims_against_its_reported_range(case: Case) -> None:
    assign_victims(case)
    listed = list_incidents(case)
    first = next(r for r in listed.to_dict()["incidents"] if r["incident_id"] == "I0000001")
    assert first["coverage"] == "2 named of 3-5 reported" and first["named_killed"] == 2
    assert listed.assignment_run is not None


def test_assignment_needs_a_linkage_and_incidents(empty_case: Case) -> None:
    with pytest.raises(StoreError, match="not been linked"):
        assign_victims(empty_case)


def test_the_assignment_run_is_recorded_without_names(case: Case) -> None:
    result = assign_victims(case)
    run = case.runs("incident-assign").iloc[0]
    params = json.loads(run["params"])
    assert params["link_run_id"] == "link-test" and params["dedupe_run_id"] == result.dedupe_run_id
    log = case.audit_log()["detail"].str.cat()
    assert "Najjar" not in log and "Kurd" not in log


HOUSEHOLD = """name,age,sex,date_of_death,place,status
Mona Salem Odeh Shawa,35,F,18/10/2023,Jabalia camp,killed
Rana Ahmad Odeh Shawa,9,F,18/10/2023,Jabalia camp,killed
Khaled Ahmad Ali Najjar,40,M,23/10/2023,Jabalia camp,killed
Samir Ahmad Ali Najjar,41,M,23/10/2023,North Gaza,killed
Adel Ahmad Ali Najjar,30,M,18/10/2023,Jabalia camp,detained
Huda Omar Ali Kurd,25,F,,North Gaza,killed
"""
HOUSEHOLD_REPORTS = """id,date,place,type,killed,source,family,victim names
AW-1,2023-10-18,Jabalia camp,home,3-5,Airwars,al-Najjar family,
AW-4,2023-10-17,North Gaza,home,1,Airwars,,Huda Omar Kurd
"""


def test_wives_detainees_and_dates_a_list_got_wrong(empty_case: Case, tmp_path: Path) -> None:
    """A grown woman keeps her father's family name: a strike naming her husband's family at her locality is hers,
    not a girl's of another family; the family named at the person's own locality links within a week; a detainee
    is never linked; a person with no date is linked to the one incident naming them."""
    import_list(empty_case, write(tmp_path / "household.csv", HOUSEHOLD),
                spec=write(tmp_path / "h.toml", '[dates]\nformats = ["%d/%m/%Y"]\n'))
    _linked(empty_case)
    import_incidents(empty_case, write(tmp_path / "reports.csv", HOUSEHOLD_REPORTS))
    dedupe_incidents(empty_case)
    assign_victims(empty_case)
    links = person_incidents(empty_case).set_index("person_id")
    assert links.loc["P0000001", ["incident_id", "method"]].tolist() == ["I0000001", "locality"]  # the wife
    assert "P0000002" not in links.index  # a girl of another family
    assert links.loc["P0000003", ["incident_id", "method"]].tolist() == ["I0000001", "family"]  # 5 days off, same camp
    assert links.loc["P0000003", ["rule", "confidence"]].tolist() == ["family at own locality", "low"]
    assert links.loc["P0000006", ["rule", "confidence"]].tolist() == ["named, no date", "high"]
    assert "P0000004" not in links.index  # 5 days off, the governorate only
    assert "P0000005" not in links.index  # detained
    assert links.loc["P0000006", ["incident_id", "method"]].tolist() == ["I0000002", "named"]  # no date, named once


RELATIVES = """name,age,sex,date_of_death,place,status
Mohammed Ahmad Ali Abdrabbo,34,M,17/10/2023,Jabalia camp,killed
Mohammed Hassan Omar Saud,30,M,20/10/2023,Rafah,killed
Mohammed Khalil Sami Saud,28,M,23/10/2023,Rafah,killed
Samir Ali Odeh Mushtaha,40,M,03/05/2024,Khan Younis,killed
Rana Ali Odeh Mushtaha,12,F,03/05/2024,Khan Younis,killed
Adel Ali Odeh Mushtaha,9,M,03/05/2024,Khan Younis,killed
Huda Omar Ali Kurd,25,F,03/05/2024,Khan Younis,killed
Sami Omar Ali Hilu,50,M,04/05/2024,Khan Younis,killed
Nour Omar Ali Hilu,20,F,04/05/2024,Khan Younis,killed
"""
RELATIVES_REPORTS = """id,date,place,type,killed,source,family,victim names
AW-1,2023-10-17,Jabalia camp,home,3-5,Airwars,Abed Rabbo family,
AW-2,2023-10-20,Rafah,home,4,Airwars,,Mohammed Saud
ST-1,2024-05-03,Khan Younis,home,5-8,Army statement,,
PR-1,2023-10-17,North Gaza,home,,Press,,
"""


def test_compound_families_one_name_one_person_households_and_vague_reports(empty_case: Case, tmp_path: Path) -> None:
    """'Abed Rabbo' is the Abdrabbo family; a name a report gives is the nearest of the persons who fit it, not
    both cousins; three relatives killed on the day of the one strike on a home in their governorate that names no
    family (and no more than it counted) are its victims, one or two are not."""
    from undercount.incidents.review import review_queue

    import_list(empty_case, write(tmp_path / "relatives.csv", RELATIVES),
                spec=write(tmp_path / "r.toml", '[dates]\nformats = ["%d/%m/%Y"]\n'))
    _linked(empty_case)
    import_incidents(empty_case, write(tmp_path / "reports.csv", RELATIVES_REPORTS))
    deduped = dedupe_incidents(empty_case)
    assert deduped.incidents == 4  # PR-1 stays apart from AW-1: it waits for a reviewer
    assert [(r["code_l"], r["code_r"]) for r in review_queue(empty_case).to_dict("records")] == [("AW-1", "PR-1")]
    result = assign_victims(empty_case)
    links = person_incidents(empty_case).set_index("person_id")
    assert links.loc["P0000001", ["incident_id", "method"]].tolist() == ["I0000001", "family"]  # Abed Rabbo
    assert links.loc["P0000002", ["incident_id", "method"]].tolist() == ["I0000002", "named"]
    assert "P0000003" not in links.index  # the cousin three days later: the name is the nearer one's
    for pid in ("P0000004", "P0000005", "P0000006"):
        assert links.loc[pid, ["incident_id", "method"]].tolist() == ["I0000003", "family"]
    assert not links.index.isin(["P0000007", "P0000008", "P0000009"]).any()  # alone; two relatives a day later
    assert result.details["by_rule"] == {"family": 1, "family group": 3, "named": 1}


def test_the_score_counts_an_unlinked_victim_of_a_reported_incident_as_a_miss(case: Case, tmp_path: Path) -> None:
    """Accuracy as docs/incidents.md defines it: right when linked to the true incident or left unlinked when no
    report describes it; a victim of a reported incident left unlinked is wrong (missed), as is a link for a
    person whose incident no report describes."""
    from undercount.link.incidents import evaluate_assignment

    assign_victims(case)
    truth = tmp_path / "truth"
    truth.mkdir()
    people = ["A", "B", "C", "D", "E", "F", "G", "G"]  # rows 1-8 of the victim list (7 and 8: one person)
    write(truth / "truth.csv", "list,row,person_id\n" + "".join(f"victims,{r},{p}\n" for r, p in enumerate(people, 1)))
    true_incident = {"A": "T1", "B": "T1", "C": "", "D": "T9", "E": "T4", "F": "T1", "G": "T7"}  # T7: no report
    write(truth / "truth_population.csv", "person_id,incident_id\n" + "".join(f"{p},{t}\n" for p, t in true_incident.items()))
    write(truth / "truth_incident_reports.csv", "file,row,incident_id\n" + "".join(
        f"airwars,{r},{t}\n" for r, t in enumerate(["T1", "T2", "T9", "T4", "T5", "T6"], 1)))
    score = evaluate_assignment(case, truth)
    # linked right: A, B (T1), D (T9), E (T4); C linked to the school though no report is hers; F (T1) left
    # unlinked: missed; G (rows 7 and 8) left unlinked, their incident in no report: right
    assert (score.records, score.linked, score.correct_links, score.with_incident) == (8, 5, 4, 5)
    assert (score.missed, score.wrongly_linked, score.wrong_incident) == (1, 1, 0)
    assert (score.accuracy, score.precision, score.recall) == (0.75, 0.8, 0.8)


def test_links_stored_before_they_carried_a_grade_still_read(case: Case) -> None:
    """A case whose link table predates the rule and confidence columns: read with nulls; the next run adds them."""
    assign_victims(case)
    with case.transaction() as con:
        con.execute("ALTER TABLE uc_victim_incidents DROP COLUMN confidence")
        con.execute("ALTER TABLE uc_victim_incidents DROP COLUMN rule")
    old = person_incidents(case)
    assert len(old) == 5 and old["confidence"].isna().all() and old["rule"].isna().all()
    assign_victims(case)
    assert person_incidents(case)["confidence"].value_counts().to_dict() == {"high": 4, "medium": 1}


@pytest.mark.parametrize(("rule", "days", "grade"), [
    ("reference", 6.0, "high"), ("named", 1.0, "high"), ("named", 3.0, "medium"), ("named, no date", float("inf"), "high"),
    ("family", 0.0, "high"), ("family", 1.0, "low"), ("family at own locality", 4.0, "low"),
    ("family at own locality", float("inf"), "medium"), ("family group", 0.0, "high"), ("locality", 0.0, "medium")])
def test_each_rule_has_its_grade(rule: str, days: float, grade: str) -> None:
    from undercount.incidents.assign import link_confidence

    assert link_confidence(rule, days) == grade


def test_one_record_that_says_detained_or_starved_contradicts_a_strike() -> None:
    """Lists disagree: one record saying detained (or dead of hunger or disease) is evidence against a strike."""
    from undercount.incidents.assign import _Person

    assert _Person(statuses={"killed"}, causes={"direct_violence"}).harmed_by_incident
    assert _Person().harmed_by_incident  # nothing said: a strike is not ruled out
    assert not _Person(statuses={"killed", "detained"}).harmed_by_incident
    assert not _Person(statuses={"killed"}, causes={"direct_violence", "starvation"}).harmed_by_incident
    assert not _Person(causes={"disease"}).harmed_by_incident
