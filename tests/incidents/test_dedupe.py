"""Deduplication of incident reports: comparisons, clustering with its guard, review, and the simulated truth."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from undercount.errors import ConfigError, StoreError
from undercount.incidents import DedupeOptions, dedupe_incidents, import_incidents, list_incidents
from undercount.incidents.dedupe import area_only, cluster_reports, compare_reports, contradicts, read_reports
from undercount.incidents.review import decide_pair, review_queue
from undercount.link.incidents import evaluate_dedupe
from undercount.store import Case

from .conftest import write


def _case(empty_case: Case, tmp_path: Path, text: str, name: str = "r") -> Case:
    import_incidents(empty_case, write(tmp_path / f"{name}.csv", text))
    return empty_case


def test_comparison_levels(empty_case: Case, tmp_path: Path) -> None:
    case = _case(empty_case, tmp_path,
                 "id,date,place,latitude,longitude,type,killed,injured,source,family,victim names\n"
                 "A1,2023-10-17,Jabalia camp,31.5331,34.4971,home,7,12,Airwars,al-Najjar family,Mohammed Ahmad Najjar\n"
                 "A2,2023-10-18,مخيم جباليا,31.5332,34.4972,مدرسة إيواء,5-8,10-15,Press,عائلة النجار،عائلة شمالي,محمد النجار\n"
                 "A1,2023-10,North Gaza,,,shelter,unknown,,Airwars,,\n"
                 "W1,2023-10-21,Rafah,,,water well,2,3,WHO,Abu Amra family,\n")
    reports = read_reports(case)
    assert compare_reports(reports, 1, 2) == {"date": "one_day", "place": "same_point", "object": "related",
                                              "killed": "overlap", "injured": "overlap", "family": "same",
                                              "victims": "shared", "code": None}
    assert compare_reports(reports, 1, 3) == {"date": "overlap", "place": "same_area", "object": "related",
                                              "killed": None, "injured": None, "family": None, "victims": None,
                                              "code": "same_code"}
    levels = compare_reports(reports, 2, 4)
    assert levels["date"] == "two_three_days" and levels["place"] == "other_area" and levels["object"] == "different"
    assert levels["killed"] == "far" and levels["injured"] == "far"  # 5-8 and 2 killed; 10-15 and 3 injured


def test_one_source_never_merges_two_of_its_codes() -> None:
    reports = pd.DataFrame({"report_id": [1, 2, 3], "source_name": ["A", "A", "B"], "code": ["x", "y", None],
                            "date_start": pd.to_datetime(["2023-10-01"] * 3), "date_precision": ["day"] * 3})
    pairs = pd.DataFrame({"report_id_l": [1, 2, 1], "report_id_r": [3, 3, 2], "probability": [0.9, 0.8, 0.95]})
    ids = cluster_reports(reports, pairs, threshold=0.5, window=3)
    assert ids.tolist() == ["I0000001", "I0000002", "I0000001"]
    decisions = pd.DataFrame({"report_id_l": [1, 2], "report_id_r": [3, 3], "decision": ["different", "same"]})
    assert cluster_reports(reports, pairs, threshold=0.5, window=3, decisions=decisions).tolist() == [
        "I0000001", "I0000002", "I0000002"]


def test_dates_further_apart_than_the_window_are_not_merged() -> None:
    reports = pd.DataFrame({"report_id": [1, 2, 3], "source_name": ["A", "B", "C"], "code": [None] * 3,
                            "date_start": pd.to_datetime(["2023-10-01", "2023-10-03", "2023-10-06"]),
                            "date_precision": ["day"] * 3})
    pairs = pd.DataFrame({"report_id_l": [1, 2], "report_id_r": [2, 3], "probability": [0.9, 0.9]})
    assert cluster_reports(reports, pairs, threshold=0.5, window=3).tolist() == ["I0000001", "I0000001", "I0000003"]


def test_a_date_and_a_governorate_alone_never_join(empty_case: Case, tmp_path: Path) -> None:
    """'A home in North Gaza on 17 October' fits every strike on a home there that day: not joined to the one another
    source places in Jabalia camp, however probable the model finds the pair, unless a reviewer says so."""
    case = _case(empty_case, tmp_path, "id,date,place,type,killed,source,family\n"
                 "A1,2023-10-17,Jabalia camp,home,3-5,Airwars,al-Najjar family\n"
                 "S1,2023-10-17,North Gaza,home,,Statement,\n"
                 "P1,2023-10-17,North Gaza,home,4,Press,\n")
    reports = read_reports(case)
    levels = pd.DataFrame([compare_reports(reports, 1, 2), compare_reports(reports, 1, 3), compare_reports(reports, 2, 3)])
    assert area_only(levels).tolist() == [True, False, True]  # a count that agrees is more than the area
    pairs = pd.DataFrame({"report_id_l": [1, 1, 2], "report_id_r": [2, 3, 3], "probability": [0.95, 0.9, 0.9],
                          "area_only": area_only(levels)})
    assert cluster_reports(reports, pairs, threshold=0.5, window=3).tolist() == ["I0000001", "I0000002", "I0000001"]
    same = pd.DataFrame({"report_id_l": [1], "report_id_r": [2], "decision": ["same"]})
    assert cluster_reports(reports, pairs, threshold=0.5, window=3, decisions=same).tolist() == ["I0000001"] * 3


def test_the_simulated_truth_is_found(deduped_dir: Path, sim_dir: Path) -> None:
    case = Case.open(deduped_dir)
    score = evaluate_dedupe(case, sim_dir / "truth_incident_reports.csv")
    assert score.pairwise_f1 >= 0.9 and score.pairwise_precision >= 0.9
    listed = list_incidents(case)
    assert listed.run_id == case.current_run("incident-dedupe") and not listed.stale
    assert len(listed.incidents) == score.predicted_persons
    assert set(listed.incidents["grade"]) <= {"confirmed", "fair", "weak", "contested", "discounted"}
    assert {"fair", "weak", "confirmed"} <= set(listed.incidents["grade"])
    pairs = case.query("SELECT * FROM uc_incident_pairs WHERE run_id = ?", [listed.run_id])
    assert (pairs["report_id_l"] < pairs["report_id_r"]).all() and pairs["probability"].between(0, 1).all()


def test_review_then_decide(deduped_dir: Path, tmp_path: Path) -> None:
    import shutil

    copy = tmp_path / "case"
    shutil.copytree(deduped_dir, copy)
    case = Case.open(copy)
    queue = review_queue(case, limit=5)
    assert not queue.empty and queue["probability"].between(0.25, 0.75).all()
    first = queue.iloc[0]
    a, b = int(first["report_id_l"]), int(first["report_id_r"])
    together = lambda: case.query(  # noqa: E731
        "SELECT count(DISTINCT incident_id) AS n FROM uc_incident_clusters WHERE run_id = ? AND report_id IN (?, ?)",
        [case.current_run("incident-dedupe"), a, b])["n"].iloc[0] == 1
    decide_pair(case, a, b, "same")
    assert together()
    assert (a, b) not in set(zip(review_queue(case, limit=50)["report_id_l"], review_queue(case, limit=50)["report_id_r"]))
    decide_pair(case, b, a, "different")
    assert not together()
    decisions = case.query("SELECT decision, username FROM uc_incident_decisions ORDER BY decision_id")
    assert decisions["decision"].tolist() == ["same", "different"]
    assert "incident-decide" in set(case.audit_log()["action"])


def test_wrong_options_and_empty_cases(empty_case: Case) -> None:
    with pytest.raises(StoreError, match="no incident report"):
        dedupe_incidents(empty_case)
    with pytest.raises(ConfigError):
        DedupeOptions(threshold=1.5).check()
    with pytest.raises(ConfigError, match="decision must be"):
        decide_pair(empty_case, 1, 2, "maybe")


def test_reports_that_contradict_each_other_are_never_one_incident(empty_case: Case, tmp_path: Path) -> None:
    """A home and a hospital hit at one place on one day are two incidents, even through a third report that fits
    both ('other': a source that did not class the object); a water well reported as 'other' is no contradiction,
    nor a water well and a hospital both naming one victim; places in two governorates are one."""
    case = _case(empty_case, tmp_path, "id,date,place,type,killed,source,victim names\n"
                 "A1,2024-01-04,Tuffah,home,8-13,Airwars,\n"
                 "W1,2024-01-04,Tuffah,hospital,10,WHO,\n"
                 "P1,2024-01-04,Tuffah,other,10,Press,\n"
                 "A2,2024-01-06,Rafah,water well,2,Airwars,Ahmad Saleh Abu Amra\n"
                 "P2,2024-01-06,Rafah,other,2,Press,\n"
                 "P3,2024-01-06,Beit Hanoun,home,2,Outlet,\n"
                 "W2,2024-01-06,Rafah,hospital,2,WHO,أحمد أبو عمرة\n")
    reports = read_reports(case)
    levels = pd.DataFrame([compare_reports(reports, a, b) for a, b in ((1, 2), (1, 3), (2, 3), (4, 5), (4, 7))])
    assert contradicts(levels).tolist() == [True, False, False, False, False]  # (4, 7): a victim both name
    pairs = pd.DataFrame({"report_id_l": [1, 1, 2, 4, 4], "report_id_r": [2, 3, 3, 5, 7],
                          "probability": [0.95, 0.9, 0.99, 0.9, 0.9], "contradicts": contradicts(levels)})
    ids = cluster_reports(reports, pairs, threshold=0.5, window=3).tolist()
    assert ids[:3] == ["I0000001", "I0000002", "I0000002"] and ids[3] == ids[4] == ids[6] == "I0000004"
    same = pd.DataFrame({"report_id_l": [1], "report_id_r": [2], "decision": ["same"]})
    assert cluster_reports(reports, pairs, threshold=0.5, window=3, decisions=same).tolist()[:3] == ["I0000001"] * 3
    assert compare_reports(reports, 4, 6)["place"] in ("other_area", "far") and contradicts(
        pd.DataFrame([compare_reports(reports, 4, 6)])).tolist() == [True]
