"""Linking a synthetic case: siblings apart, scripts together, dropped parts, stored outputs."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest

from undercount.errors import InputError
from undercount.link import build_register, evaluate_links, export_clusters, link_case, recluster
from undercount.link.evaluate import read_truth
from undercount.link.model import LinkOptions
from undercount.store import Case

from .conftest import make_case, persons_of


def _person_of(frame: pd.DataFrame, true_person: str) -> set[str]:
    return set(frame.loc[frame["true_person"] == true_person, "person_id"])


def test_siblings_sharing_three_name_parts_are_not_merged(linked_case: tuple[Case, Path]) -> None:
    frame = persons_of(*linked_case)
    sibs = [_person_of(frame, f"sib-{i}") for i in range(3)]
    assert all(len(s) == 1 for s in sibs)  # each sibling's records (Arabic + English) are one person
    assert len(set.union(*sibs)) == 3  # and the three siblings stay three persons


def test_arabic_and_english_records_of_one_person_are_linked(linked_case: tuple[Case, Path]) -> None:
    frame = persons_of(*linked_case)
    cross = frame[frame["true_person"] == "cross"]
    assert sorted(cross["source"]) == ["moh", "press"]
    assert cross["person_id"].nunique() == 1


def test_record_with_a_dropped_grandfather_is_linked(linked_case: tuple[Case, Path]) -> None:
    frame = persons_of(*linked_case)
    dropped = frame[frame["true_person"] == "dropped"]
    assert sorted(dropped["source"]) == ["moh", "survey"]
    assert dropped["person_id"].nunique() == 1


def test_linkage_scores_well_against_the_truth(linked_case: tuple[Case, Path]) -> None:
    result = evaluate_links(*linked_case)
    # measured 0.9986 pairwise F1 on this case; a regression below 0.97 fails
    assert result.pairwise_f1 >= 0.97
    assert result.bcubed_f1 >= 0.98
    assert result.records == len(linked_case[0].records())


def test_pairs_keep_probability_and_evidence_per_comparison(linked_case: tuple[Case, Path]) -> None:
    case, _ = linked_case
    pairs = case.pairs()
    assert len(pairs) > 0
    assert pairs["probability"].between(0.01, 1.0).all()
    assert (pairs["record_id_l"] < pairs["record_id_r"]).all()
    evidence = json.loads(pairs["evidence"].iloc[0])
    assert set(evidence) >= {"given", "father", "grandfather", "family", "id_number", "sex", "age"}
    assert set(evidence["given"]) == {"level", "weight"}
    strongest = json.loads(pairs.sort_values("probability").iloc[-1]["evidence"])
    assert strongest["given"]["weight"] > 0


def test_model_settings_are_stored_with_the_run(linked_case: tuple[Case, Path]) -> None:
    case, _ = linked_case
    run = case.current_run("link")
    model = case.query("SELECT * FROM uc_link_models WHERE run_id = ?", [run])
    assert model["engine"].tolist() == ["duckdb"] and model["threshold"].tolist() == [LinkOptions().threshold]
    settings = json.loads(model["settings"].iloc[0])
    comparisons = [c["output_column_name"] for c in settings["splink"]["comparisons"]]
    assert comparisons[:4] == ["given", "father", "grandfather", "family"]
    given_levels = settings["splink"]["comparisons"][0]["comparison_levels"]
    assert any("m_probability" in lv for lv in given_levels)
    assert settings["training"]["calibration"] == {}  # recalibration is asked for (LinkOptions.recalibrate)


def test_register_has_one_row_per_person_with_sources_and_statuses(linked_case: tuple[Case, Path]) -> None:
    case, truth = linked_case
    register = build_register(case)
    clusters = case.clusters()
    assert len(register) == clusters["person_id"].nunique()
    assert register["n_records"].sum() == len(clusters)
    cross = register[register["person_id"] == persons_of(case, truth).query("true_person == 'cross'")["person_id"].iloc[0]]
    assert cross["sources"].iloc[0] == ["moh", "press"]
    assert cross["id_number"].notna().all()  # the ID comes from the list that has one
    assert cross["sex"].iloc[0] == "male" and int(cross["age"].iloc[0]) == 34
    assert json.loads(cross["statuses"].iloc[0]) == []


def test_export_clusters_writes_source_row_person_probability(linked_case: tuple[Case, Path], tmp_path: Path) -> None:
    case, _ = linked_case
    out = tmp_path / "clusters.csv"
    n = export_clusters(case, out)
    data = pd.read_csv(out)
    assert list(data.columns) == ["source", "row", "person_id", "probability"]
    assert n == len(data) == len(case.records())


def test_linking_twice_gives_identical_clusters(linked_case: tuple[Case, Path]) -> None:
    case, _ = linked_case
    first = case.clusters()[["record_id", "person_id"]]
    link_case(case)
    second = case.clusters()[["record_id", "person_id"]]
    assert first.equals(second)


def test_review_decisions_win_in_recluster_and_in_the_next_link(tmp_path: Path) -> None:
    case = make_case(tmp_path, lists=("moh", "press"))
    link_case(case)
    truth = tmp_path / "lists" / "truth.csv"
    frame = persons_of(case, truth)
    cross = sorted(frame.loc[frame["true_person"] == "cross", "record_id"])
    sib0 = frame.loc[(frame["true_person"] == "sib-0") & (frame["source"] == "moh"), "record_id"].iloc[0]
    sib1 = frame.loc[(frame["true_person"] == "sib-1") & (frame["source"] == "moh"), "record_id"].iloc[0]
    strong = case.pairs().sort_values("probability", ascending=False).head(5)
    decided = [(cross[0], cross[1], "different"), (min(sib0, sib1), max(sib0, sib1), "same")]
    decided += [(l, r, "same") for l, r in zip(strong["record_id_l"], strong["record_id_r"])]
    with case.transaction() as con:
        for l, r, d in decided:
            con.execute(
                "INSERT INTO uc_decisions VALUES (nextval('uc_decision_seq'), ?, ?, ?, 'tester', now(), NULL, NULL)",
                [int(l), int(r), d],
            )
    for result in (recluster(case, username="tester"), link_case(case)):
        clusters = case.clusters().set_index("record_id")["person_id"]
        assert clusters[cross[0]] != clusters[cross[1]], result.kind
        assert clusters[sib0] == clusters[sib1], result.kind
    assert case.runs("recluster")["username"].tolist() == ["tester"]
    assert result.kind == "link" and result.training["labels_used"] == 6  # 'same' decisions train m


def test_one_list_is_deduplicated_with_a_note(tmp_path: Path) -> None:
    case = make_case(tmp_path, lists=("moh",))
    result = link_case(case)
    assert result.notes == ["the case holds one list: linking finds duplicates within it"]
    assert result.lists == 1 and result.persons < result.records  # moh holds duplicate rows


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("", "truth.csv: the truth file is empty"),
        ("list,row,person_id\nmoh,1,a\nmoh,abc,b\n", "truth.csv, row 2, column 'row': 'abc' is not a row number"),
        ("list,row,person_id\nmoh,1.5,a\n", "truth.csv, row 1, column 'row': '1.5' is not a row number"),
        ("list,row,person_id\nmoh,0,a\n", "truth.csv, row 1, column 'row': '0' is not a row number"),
        ("list,row,person_id\nmoh,,a\n", "truth.csv, row 1, column 'row': '' is not a row number"),
    ],
)
def test_a_bad_truth_file_names_file_row_and_column(tmp_path: Path, text: str, message: str) -> None:
    path = tmp_path / "truth.csv"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(InputError) as info:
        read_truth(path)
    assert str(info.value).startswith("file ") and message in str(info.value)


def test_a_good_truth_file_reads_rows_as_integers(tmp_path: Path) -> None:
    path = tmp_path / "truth.csv"
    path.write_text("list,row,person_id\nmoh,1,a\nmoh,2.0,a\n", encoding="utf-8")
    truth = read_truth(path)
    assert truth["row"].dtype.kind == "i" and truth["row"].tolist() == [1, 2]
    assert truth["person_id"].tolist() == ["a", "a"]
