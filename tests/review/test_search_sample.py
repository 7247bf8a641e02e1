"""The clerical search sample (undercount.review.sample) and the correction it measures
(undercount.estimate.correction): formulas checked against hand-computed values."""

from __future__ import annotations

import stat
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from tests.link.conftest import make_case
from typer.testing import CliRunner

from undercount.cli import app
from undercount.errors import ConfigError, InputError
from undercount.estimate.chapman import fit_chapman
from undercount.estimate.correction import SampleCorrection, _Item, apply_delta, correction_for
from undercount.estimate.histories import capture_table
from undercount.link import link_case
from undercount.review.sample import (
    answers,
    draw_search_sample,
    export_frame,
    read_answer_sheet,
    record_answer,
    record_answers,
    sample_items,
    sample_progress,
)
from undercount.review.sample_links import REVIEW_FROM, band_name, link_doubt
from undercount.store import Case

# -- the correction, by hand -----------------------------------------------------------------


def _two_lists(a_only: int, b_only: int, both: int) -> tuple[pd.DataFrame, pd.Series, pd.Series]:
    """Persons P0.. with records 1.. : a matrix (A, B), labels 'all', and person per record."""
    rows = [(1, 0)] * a_only + [(0, 1)] * b_only + [(1, 1)] * both
    ids = [f"P{i}" for i in range(len(rows))]
    matrix = pd.DataFrame(rows, index=pd.Index(ids, name="person_id"), columns=["A", "B"], dtype=np.int8)
    labels = pd.Series("all", index=matrix.index)
    person = pd.Series(ids, index=range(1, len(ids) + 1))  # record i belongs to person P(i-1)
    return matrix, labels, person


def test_apply_delta_removes_and_adds_whole_persons() -> None:
    matrix, labels, _ = _two_lists(5, 4, 2)
    delta = {("all", (1, 0)): -2, ("all", (0, 1)): -2, ("all", (1, 1)): 2}
    out, out_labels, short = apply_delta(matrix, labels, delta, np.random.default_rng(0))
    assert capture_table(out)["count"].tolist() == [3, 2, 4]  # A only, B only, both
    assert short == 0 and len(out_labels) == len(out) == 9
    _, _, short = apply_delta(matrix, labels, {("all", (1, 1)): -5}, np.random.default_rng(0))
    assert short == 3  # only two persons were on both lists


def test_a_census_of_one_cell_gives_the_true_two_list_table_and_chapman() -> None:
    """Ding and Fienberg's two-list setting: 100 on A, 50 on B, 20 linked; 10 of the 30 B-only
    persons are in truth on A too. Searching every B-only person finds them: the table becomes
    A only 70, B only 20, both 30, and Chapman gives (101)(51)/(31) - 1 = 165.16."""
    matrix, labels, person = _two_lists(80, 30, 20)
    # B-only persons are P80..P109 (records 81..110); the first ten are fragments of A-only P0..P9
    items = [_Item("B", 30.0, [81 + i, 1 + i] if i < 10 else [81 + i], 81 + i, 1) for i in range(30)]
    correction = SampleCorrection(items, {})
    point = correction.point(matrix, labels, person)
    assert point == pytest.approx({("all", (0, 1)): -10.0, ("all", (1, 0)): -10.0, ("all", (1, 1)): 10.0})
    out, _, _ = apply_delta(matrix, labels, {k: int(round(v)) for k, v in point.items()}, np.random.default_rng(1))
    table = capture_table(out)
    assert table["count"].tolist() == [70, 20, 30]
    assert fit_chapman(table).estimate == pytest.approx(101 * 51 / 31 - 1)


def test_a_sample_is_weighted_by_its_cell_and_fragments_are_counted_once() -> None:
    matrix, labels, person = _two_lists(40, 60, 10)
    # B-only (60 persons, P40..P99): 3 answered, one found on A (record 1, person P0). Both
    # fragments lie in sampled cells (A-only sampled too): multiplicity 2.
    items = [_Item("B", 60.0, [41, 1], 41, 2), _Item("B", 60.0, [42], 42, 1), _Item("B", 60.0, [43], 43, 1)]
    # A-only (40 persons): 2 answered, one of them the same pair seen from the other side
    items += [_Item("A", 40.0, [1, 41], 1, 2), _Item("A", 40.0, [2], 2, 1)]
    point = SampleCorrection(items, {}).point(matrix, labels, person)
    merges = 60 / 3 * 1 / 2 + 40 / 2 * 1 / 2  # 10 + 10
    assert point == pytest.approx({("all", (0, 1)): -merges, ("all", (1, 0)): -merges, ("all", (1, 1)): merges})


def test_bootstrap_draws_average_to_the_point_estimate() -> None:
    matrix, labels, person = _two_lists(40, 60, 10)
    items = [_Item("B", 60.0, [41 + i, 1 + i] if i < 2 else [41 + i], 41 + i, 1) for i in range(8)]
    correction = SampleCorrection(items, {})
    from undercount.estimate.correction import _Replicate

    rep = _Replicate(matrix, labels, person)
    rng = np.random.default_rng(3)
    draws = [correction.draw(rep, rng).get(("all", (1, 1)), 0.0) for _ in range(1500)]
    assert np.mean(draws) == pytest.approx(60 * 2 / 8, rel=0.05)  # 15 merges
    assert np.std(draws) > 5  # the sample's uncertainty is drawn, not ignored


def test_the_sample_variance_carries_the_finite_population_correction() -> None:
    """Searched without replacement from a cell of N_S persons, n answers carry the design variance
    (1 - n/N_S) S^2 / n: the bootstrap's spread shrinks by sqrt(1 - n/N_S), and a cell searched
    whole (a census) is known exactly, in every replicate."""
    from undercount.estimate.correction import _Replicate

    matrix, labels, person = _two_lists(40, 60, 10)
    rep = _Replicate(matrix, labels, person)

    def shares(frame: float, n: int) -> np.ndarray:
        items = [_Item("B", frame, [41 + i, 1 + i] if i < 2 else [41 + i], 41 + i, 1) for i in range(n)]
        correction = SampleCorrection(items, {})
        rng = np.random.default_rng(3)
        return np.array([correction.draw(rep, rng).get(("all", (1, 1)), 0.0) / frame for _ in range(400)])

    wide, finite = shares(1e12, 8), shares(60.0, 8)
    assert np.mean(finite) == pytest.approx(2 / 8, rel=0.05) and np.mean(wide) == pytest.approx(2 / 8, rel=0.05)
    assert np.std(finite) == pytest.approx(np.sqrt(1 - 8 / 60) * np.std(wide), rel=1e-9)
    census = shares(60.0, 60)  # all 60 B-only persons searched: 2 found, 2 merges, every time
    assert census == pytest.approx(np.full(400, 2 / 60), abs=1e-12)


# -- the sample in a case --------------------------------------------------------------------


@pytest.fixture(scope="module")
def linked(tmp_path_factory: pytest.TempPathFactory) -> tuple[Case, Path]:
    tmp = tmp_path_factory.mktemp("sample")
    case = make_case(tmp)
    link_case(case)
    return case, tmp / "lists" / "truth.csv"


def test_the_sample_skips_the_largest_list_and_weights_its_cells(linked: tuple[Case, Path]) -> None:
    case, _ = linked
    sample = draw_search_sample(case, 30, seed=2, review=False)
    assert sample.items == 30 and all("moh" not in cell for cell in sample.cells)
    items = sample_items(case, sample.sample_id)
    persons = case.clusters().groupby("person_id")["source"].agg(lambda s: "+".join(sorted(set(s), key=["moh", "survey", "press"].index)))
    sizes = persons.value_counts()
    for cell, (n_cell, drawn) in sample.cells.items():
        assert n_cell == sizes[cell] and drawn == int((items["cell"] == cell).sum())
        assert drawn >= min(10, n_cell)
    assert set(items["item"]) == set(range(1, 31))
    assert all("moh" in lists for lists in items["search_lists"])
    with pytest.raises(ConfigError, match="cannot be sampled"):
        draw_search_sample(case, 30, cells=["moh+survey+press"], review=False)


def test_answers_are_checked_and_the_newest_wins(linked: tuple[Case, Path]) -> None:
    case, _ = linked
    sample = draw_search_sample(case, 30, seed=3, review=False)
    item = sample_items(case, sample.sample_id).iloc[0]
    other = next(n for n in ("moh", "survey", "press") if n not in item["search_lists"])
    wrong_list = int(case.records(["record_id", "source"]).query("source == @other")["record_id"].iloc[0])
    target = str(item["search_lists"][0])
    right = int(case.records(["record_id", "source"]).query("source == @target")["record_id"].iloc[0])
    with pytest.raises(ConfigError, match="is not searched in the list given"):
        record_answer(case, int(item["item"]), other, "absent", username="rita")
    with pytest.raises(ConfigError, match=f"is on list '{other}', not on the list given"):
        record_answer(case, int(item["item"]), target, "found", found_record_id=wrong_list, username="rita")
    with pytest.raises(ConfigError, match="needs the record found"):
        record_answer(case, int(item["item"]), target, "found", username="rita")
    with pytest.raises(ConfigError, match="is not in search sample"):
        record_answer(case, 999, target, "absent", username="rita")
    record_answer(case, int(item["item"]), target, "absent", username="rita")
    record_answer(case, int(item["item"]), target, "found", found_record_id=right, username="vera")
    got = answers(case, sample.sample_id)
    assert got[["item", "list", "answer", "found_record_id", "username"]].values.tolist() == [
        [int(item["item"]), target, "found", right, "vera"]]
    stored = case.query("SELECT count(*) AS n FROM uc_search_answers WHERE sample_id = ?", [sample.sample_id])
    assert int(stored["n"].iloc[0]) == 2  # append-only
    assert case.audit_log()["action"].tolist().count("search-answer") >= 2


def _answer_from_truth(case: Case, truth: Path, sample_id: str) -> pd.DataFrame:
    t = pd.read_csv(truth).rename(columns={"list": "source", "person_id": "truth"})
    recs = case.records(["record_id", "source", "row"]).merge(t, on=["source", "row"])
    whose = recs.set_index("record_id")["truth"]
    first = recs.groupby(["truth", "source"])["record_id"].min()
    rows = []
    source = recs.set_index("record_id")["source"]
    for it in sample_items(case, sample_id).to_dict("records"):
        person = whose[int(it["record_ids"][0])]
        if not len(it["search_lists"]):  # the review half: each linked record, the same person or not
            rows.extend({"item": it["item"], "list": source[int(r)], "review_record_id": int(r),
                         "answer": "same" if whose[int(r)] == person else "different"} for r in it["record_ids"][1:])
        for name in it["search_lists"]:
            found = first.get((person, name))
            rows.append({"item": it["item"], "list": name, "answer": "found" if found is not None else "absent",
                         "found_record_id": None if found is None else int(found)})
    return pd.DataFrame(rows)


def test_offline_sheet_round_trip_and_the_estimate_says_what_corrected_it(linked: tuple[Case, Path],
                                                                          tmp_path: Path) -> None:
    case, truth = linked
    runner = CliRunner()
    out = runner.invoke(app, ["search-sample", "draw", str(case.path), "--size", "60", "--seed", "5"])
    assert out.exit_code == 0, out.output
    sheet = tmp_path / "sample.xlsx"
    out = runner.invoke(app, ["search-sample", "export", str(case.path), "-o", str(sheet)])
    assert out.exit_code == 0, out.output
    assert stat.S_IMODE(sheet.stat().st_mode) == 0o600
    frame = pd.read_excel(sheet, dtype=str)
    assert {"item", "list", "names", "candidate_1_record_id", "answer", "found_record_id"} <= set(frame.columns)
    truth_rows = _answer_from_truth(case, truth, sample_items(case)["sample_id"].iloc[0])
    truth_rows["review_record_id"] = [str(int(r)) if pd.notna(r) else "" for r in truth_rows["review_record_id"]]
    keys = ["item", "list", "review_record_id"]
    filled = frame.drop(columns=["answer", "found_record_id"]).fillna({"review_record_id": ""}).merge(
        truth_rows.astype({"item": str}), on=keys)
    assert len(filled) == len(frame) == len(truth_rows)
    bad = filled.copy()
    bad.loc[bad.index[3], "answer"] = "maybe"
    bad_file = tmp_path / "bad.csv"
    bad.to_csv(bad_file, index=False)
    out = runner.invoke(app, ["search-sample", "import", str(case.path), str(bad_file)])
    assert out.exit_code == 1 and "bad.csv" in out.output and "row 4" in out.output and "answer" in out.output
    assert sample_progress(case)["complete"] == 0  # nothing stored
    good = tmp_path / "good.xlsx"
    filled.to_excel(good, index=False)
    out = runner.invoke(app, ["search-sample", "import", str(case.path), str(good), "--user", "amal"])
    assert out.exit_code == 0, out.output
    progress = sample_progress(case)
    found = int(filled.loc[filled["answer"] == "found", "item"].nunique())
    split = int(filled.loc[filled["answer"] == "different", "item"].nunique())
    reviewed = int(filled.loc[filled["review_record_id"] != "", "item"].nunique())
    drawn = progress["items"]  # the case is small: every person of its strata (44) is drawn
    assert progress["complete"] == drawn == len(set(filled["item"])) and progress["with_found"] == found
    assert progress["reviewed"] == reviewed > 0 and progress["with_split"] == split
    correction = correction_for(case, "auto")
    assert correction is not None and correction.kind == "search sample" and correction.verified
    assert correction.info["answered"] == drawn - reviewed and correction.info["with_found"] == found
    assert correction.info["reviewed"] == reviewed and correction.info["with_split"] == split
    out = runner.invoke(app, ["estimate", str(case.path), "--link-draws", "2", "--imputations", "2", "--by", "none"])
    assert out.exit_code == 0, out.output
    assert "missed links: corrected by search sample" in out.output
    assert f"{drawn - reviewed} persons searched" in out.output and f"{reviewed} persons' links reviewed" in out.output


def test_a_sheet_without_the_answer_columns_is_refused(linked: tuple[Case, Path], tmp_path: Path) -> None:
    sheet = tmp_path / "x.csv"
    pd.DataFrame({"item": [1], "list": ["moh"]}).to_csv(sheet, index=False)
    with pytest.raises(InputError, match="no 'answer' column") as err:
        read_answer_sheet(sheet)
    assert err.value.file == "x.csv"
    case, _ = linked
    draw_search_sample(case, 30, seed=9, review=False)
    with pytest.raises(InputError, match="whole numbers"):
        record_answers(case, pd.DataFrame({"item": ["x"], "list": ["moh"], "answer": ["absent"]}), username="a")


def test_export_lists_every_list_to_search_with_candidates(linked: tuple[Case, Path]) -> None:
    case, _ = linked
    sample = draw_search_sample(case, 30, seed=11, review=False)
    frame = export_frame(case, sample_id=sample.sample_id, limit=3)
    items = sample_items(case, sample.sample_id)
    assert len(frame) == int(items["search_lists"].map(len).sum())
    assert "candidate_4_record_id" not in frame.columns
    scored = frame["candidate_1_probability"].dropna()
    assert ((scored > 0) & (scored <= 1)).all()


def test_a_sheet_is_written_and_its_answers_checked_on_one_connection(linked: tuple[Case, Path],
                                                                      case_opens: list[bool]) -> None:
    """Opening the case costs tens of milliseconds: the sheet's reads (a few per row) and the
    answers' checks (one or two per row) share one connection instead of opening one each."""
    case, _ = linked
    sample = draw_search_sample(case, 30, seed=12, review=False)
    case_opens.clear()
    frame = export_frame(case, sample_id=sample.sample_id, limit=3)
    assert len(frame) >= 30 and case_opens == [True]
    case_opens.clear()
    rows = frame[["item", "list"]].assign(answer="absent")
    assert record_answers(case, rows, sample_id=sample.sample_id, username="amal") == len(frame)
    assert case_opens.count(True) <= 2 and case_opens.count(False) == 1  # the sample's id, the checks; the one write


# -- the review half: false links --------------------------------------------------------------


def _linked_pairs(a_only: int, b_only: int, both: int) -> tuple[pd.DataFrame, pd.Series, pd.Series, pd.Series]:
    """As _two_lists, but a person on both lists holds two records: 1000 + i on A and 2000 + i on B."""
    matrix, labels, _ = _two_lists(a_only, b_only, both)
    person, source = {}, {}
    for i, pid in enumerate(matrix.index):
        on_a, on_b = matrix.loc[pid, "A"], matrix.loc[pid, "B"]
        if on_a:
            person[1000 + i], source[1000 + i] = pid, "A"
        if on_b:
            person[2000 + i], source[2000 + i] = pid, "B"
    return matrix, labels, pd.Series(person), pd.Series(source)


def test_a_census_of_reviewed_links_splits_the_false_ones_and_gives_the_true_table() -> None:
    """Two lists: 70 on A only, 20 on B only, 30 linked, of which 6 are false (two persons each).
    Reviewing every linked person splits those 6: A only 76, B only 26, both 24, and Chapman gives
    (101)(51)/(25) - 1 = 205.04 where the linked table gave (101)(51)/(31) - 1 = 165.16."""
    matrix, labels, person, source = _linked_pairs(70, 20, 30)
    items = [_Item("links", 30.0, [1000 + i, 2000 + i], 1000 + i, 1, frozenset({2000 + i}) if i < 96 else frozenset(),
                   review=True) for i in range(90, 120)]
    correction = SampleCorrection(items, {}, source)
    point = correction.point(matrix, labels, person)
    assert point == pytest.approx({("all", (1, 1)): -6.0, ("all", (1, 0)): 6.0, ("all", (0, 1)): 6.0})
    out, _, _ = apply_delta(matrix, labels, {k: int(round(v)) for k, v in point.items()}, np.random.default_rng(1))
    table = capture_table(out)
    assert table["count"].tolist() == [76, 26, 24]
    assert fit_chapman(table).estimate == pytest.approx(101 * 51 / 25 - 1)
    # a linkage that already holds the false pairs apart (e.g. a draw that cut them) is left as it is
    apart = person.copy()
    apart.loc[[2000 + i for i in range(90, 96)]] = [f"P{i}" for i in range(70, 76)]  # B-only persons' ids
    assert correction.point(matrix, labels, apart) == {}


def test_reviewed_links_are_weighted_by_their_band_and_drawn_with_the_sample_variance() -> None:
    matrix, labels, person, source = _linked_pairs(40, 20, 40)
    # band 'high' (10 persons, 4 reviewed, 2 false); band 'low' (30 persons, 3 reviewed, none false)
    items = [_Item("high", 10.0, [1000 + i, 2000 + i], 1000 + i, 1, frozenset({2000 + i}) if i < 62 else frozenset(),
                   review=True) for i in range(60, 64)]
    items += [_Item("low", 30.0, [1000 + i, 2000 + i], 1000 + i, 1, review=True) for i in range(70, 73)]
    correction = SampleCorrection(items, {}, source)
    assert correction.point(matrix, labels, person) == pytest.approx(
        {("all", (1, 1)): -5.0, ("all", (1, 0)): 5.0, ("all", (0, 1)): 5.0})  # 10 x 2 / 4
    from undercount.estimate.correction import _Replicate, false_link_rates

    rep = _Replicate(matrix, labels, person)
    rng = np.random.default_rng(4)
    draws = [correction.draw(rep, rng).get(("all", (1, 0)), 0.0) for _ in range(1500)]
    assert np.mean(draws) == pytest.approx(5.0, rel=0.05) and np.std(draws) > 1.5
    rates = false_link_rates(items, source)
    # links weighted by N_S / n_S: 2 x 2.5 false of 4 x 2.5 + 3 x 10 reviewed
    assert rates["A x B"]["links"] == 7 and rates["A x B"]["false"] == 2
    assert rates["A x B"]["rate"] == pytest.approx(5 / 40) and rates["A x B"]["se"] > 0


def test_false_link_rates_count_each_band_once_not_item_by_item() -> None:
    """The bands' sizes come from one groupby: the cells are compared a bounded number of times per
    item (the old loop compared every item's cell with every other's: n squared)."""
    from undercount.estimate.correction import false_link_rates

    compared = [0]

    class Counted(str):
        def __eq__(self, other: object) -> bool:
            compared[0] += 1
            return str.__eq__(self, other)

        __hash__ = str.__hash__

    n = 400
    items = [_Item(Counted("high" if i % 2 else "low"), 10.0 if i % 2 else 50.0, [i, 10_000 + i], i, 1,
                   frozenset({10_000 + i}) if i % 2 and i < 40 else frozenset(), review=True) for i in range(n)]
    source = pd.Series({**{i: "A" for i in range(n)}, **{10_000 + i: "B" for i in range(n)}})
    rates = false_link_rates(items, source, draws=20)
    assert compared[0] <= 4 * n
    # 20 false of the 200 'high' items (N_S / n_S = 10 / 200 each), none of the 'low' ones (50 / 200 each)
    assert rates["A x B"]["links"] == n and rates["A x B"]["false"] == 20
    assert rates["A x B"]["rate"] == pytest.approx(20 * 0.05 / (200 * 0.05 + 200 * 0.25))


def test_searched_cells_are_split_by_the_model_fragment_score() -> None:
    """A cell's persons fall in bands of their fragment score (0.01, 0.1); a band with fewer than
    MIN_PER_CELL persons stays in the cell's first stratum."""
    from undercount.review.sample import SCORE_BANDS, search_strata, stratum_cell

    cells = pd.Series(["survey"] * 30 + ["obituaries"] * 15, index=[f"P{i}" for i in range(45)])
    scores = pd.Series([0.0] * 10 + [0.05] * 10 + [0.5] * 10 + [0.0] * 5 + [0.02] * 5 + [0.9] * 5, index=cells.index)
    strata = search_strata(cells, scores)
    assert SCORE_BANDS == (0.01, 0.1)
    assert strata.value_counts().to_dict() == {"survey": 10, "survey, fragment score 0.01-0.1": 10,
                                               "survey, fragment score >= 0.1": 10, "obituaries": 15}
    assert {stratum_cell(s) for s in strata} == {"survey", "obituaries"}


def test_score_bands_share_a_cell_draws_and_leave_the_other_strata_theirs() -> None:
    """The cells and review bands are allocated first, as without the score bands; each cell's draws
    are then shared among its bands by Neyman's rule on their mean scores (at least MIN_PER_CELL
    each); a cell whose draws cannot give every band its floor stays whole."""
    from undercount.review.sample import _split_cells, search_strata

    ids = [f"P{i}" for i in range(260)]
    cells = pd.Series(["survey"] * 200 + ["obituaries"] * 60, index=ids)
    scores = pd.Series([0.0] * 150 + [0.05] * 25 + [0.6] * 25 + [0.0] * 30 + [0.05] * 15 + [0.5] * 15, index=ids)
    alloc = pd.Series({"links, doubt >= 0.1": 30, "obituaries": 25, "survey": 60})
    strata, shared = _split_cells(cells, alloc, search_strata(cells, scores), scores)
    assert shared["links, doubt >= 0.1"] == 30 and shared["obituaries"] == 25  # 25 draws < 3 bands x 10
    survey = shared[[k for k in shared.index if k.startswith("survey")]]
    assert survey.sum() == 60 and len(survey) == 3 and survey.min() >= 10
    assert shared["survey, fragment score >= 0.1"] > shared["survey, fragment score 0.01-0.1"]
    assert (strata[cells == "obituaries"] == "obituaries").all()
    assert strata[cells == "survey"].value_counts().to_dict() == {
        "survey": 150, "survey, fragment score 0.01-0.1": 25, "survey, fragment score >= 0.1": 25}


def test_a_cell_without_persons_in_its_first_band_is_split_too() -> None:
    """Every person of the cell scores 0.01 or more: its strata are only score bands, none named after
    the bare cell, and its draws are still shared among them."""
    from undercount.review.sample import _split_cells, search_strata

    ids = [f"P{i}" for i in range(80)]
    cells = pd.Series(["survey"] * 80, index=ids)
    scores = pd.Series([0.05] * 40 + [0.6] * 40, index=ids)
    strata, shared = _split_cells(cells, pd.Series({"survey": 30}), search_strata(cells, scores), scores)
    assert "survey" not in shared.index and shared.sum() == 30
    assert shared["survey, fragment score >= 0.1"] > shared["survey, fragment score 0.01-0.1"] >= 10
    assert strata.value_counts().to_dict() == {"survey, fragment score 0.01-0.1": 40, "survey, fragment score >= 0.1": 40}


def test_a_fragment_drawn_from_a_score_band_counts_the_fragments_of_its_cell(monkeypatch: pytest.MonkeyPatch) -> None:
    """The multiplicity of a merged person counts its fragments in the searched cells, whatever
    band of the score each was drawn from (Hansen and Hurwitz: each fragment with its own inclusion
    probability, the change divided by the fragments that could have drawn it)."""
    import undercount.review.sample as sample_module
    from undercount.estimate.correction import _sample_correction

    class Stub:
        path = "stub"

        def clusters(self, run: str) -> pd.DataFrame:
            return pd.DataFrame({"record_id": [1, 2, 3], "source": ["B", "C", "A"], "person_id": ["P1", "P2", "P3"]})

        def sources(self) -> pd.DataFrame:
            return pd.DataFrame({"name": ["A", "B", "C"]})

    # P1 (on B only) drawn from B's top score band, P2 (on C only) from cell C; both are one person with P3 (A)
    items = pd.DataFrame({"item": [1, 2], "person_id": ["P1", "P2"], "link_run_id": ["L", "L"],
                          "cell": ["B, fragment score >= 0.1", "C"], "cell_size": [4, 6], "cell_sampled": [1, 1],
                          "record_ids": [[1], [2]], "search_lists": [["A", "C"], ["A", "B"]]})
    got = pd.DataFrame({"item": [1, 1, 2, 2], "list": ["A", "C", "A", "B"], "answer": ["found"] * 4,
                        "found_record_id": [3, 2, 3, 1]})
    monkeypatch.setattr(sample_module, "sample_items", lambda case, sid: items)
    monkeypatch.setattr(sample_module, "answers", lambda case, sid: got)
    correction = _sample_correction(Stub(), "s")  # type: ignore[arg-type]
    assert correction is not None
    assert sorted(it.multiplicity for its in correction.cells.values() for it in its) == [2, 2]


def test_a_replicate_sorts_its_records_by_person_once() -> None:
    import functools

    from undercount.estimate.correction import _Replicate

    matrix, labels, person = _two_lists(3, 2, 1)
    person = pd.concat([person, pd.Series({7: "P5", 8: "P0"})])
    rep = _Replicate(matrix, labels, person)
    assert isinstance(_Replicate.__dict__.get("by_position"), functools.cached_property)
    assert "by_position" not in rep.__dict__
    assert rep.members(5).tolist() == [6, 7] and rep.members(0).tolist() == [1, 8] and rep.members(4).tolist() == [5]
    assert rep.__dict__["by_position"] is rep.by_position


def test_the_review_half_draws_linked_persons_by_band_and_checks_its_answers(linked: tuple[Case, Path]) -> None:
    case, _ = linked
    sample = draw_search_sample(case, 60, seed=4)
    items = sample_items(case, sample.sample_id)
    review = items[items["search_lists"].map(len) == 0]
    assert len(review) and all(c.startswith("links, doubt") for c in review["cell"])
    assert (review["record_ids"].map(len) >= 2).all()
    clusters = case.clusters()
    person = clusters.set_index("record_id")["person_id"]
    doubt = link_doubt(case.pairs(case.current_run("link")), person)
    linked = clusters.groupby("person_id").size() >= 2
    doubtful = doubt.reindex(linked.index[linked], fill_value=0.0) >= REVIEW_FROM
    bands = {c: n for c, (n, _) in sample.cells.items() if c.startswith("links")}
    assert sum(bands.values()) == int(doubtful.sum()) < int(linked.sum())
    assert sample.items == sum(n for n, _ in sample.cells.values()) <= 60  # a small case: its strata in full
    assert "links, doubt < 0.001" not in bands  # links the model is 99.9% sure of are not reviewed
    search = items[items["search_lists"].map(len) > 0]
    assert len(search) and not any(c.startswith("links") for c in search["cell"])
    it = review.iloc[0]
    first, other = int(it["record_ids"][0]), int(it["record_ids"][1])
    other_list = str(case.records(["record_id", "source"]).set_index("record_id").loc[other, "source"])
    with pytest.raises(ConfigError, match="links are reviewed"):
        record_answer(case, int(it["item"]), other_list, "absent", username="rita")
    with pytest.raises(ConfigError, match="the person's first record"):
        record_answer(case, int(it["item"]), other_list, "same", found_record_id=first, username="rita")
    with pytest.raises(ConfigError, match="names the record reviewed"):
        record_answer(case, int(it["item"]), other_list, "different", username="rita")
    with pytest.raises(ConfigError, match="answer found, absent or skip"):
        record_answer(case, int(search.iloc[0]["item"]), str(search.iloc[0]["search_lists"][0]), "same",
                      found_record_id=other, username="rita")
    record_answer(case, int(it["item"]), other_list, "same", found_record_id=other, username="rita")
    record_answer(case, int(it["item"]), other_list, "different", found_record_id=other, username="vera")
    got = answers(case, sample.sample_id)
    mine = got[got["item"] == int(it["item"])]
    assert mine[["answer", "found_record_id", "username"]].values.tolist() == [["different", other, "vera"]]
    progress = sample_progress(case, sample.sample_id)
    assert progress["reviewed"] == len(review)
    assert progress["with_split"] == 1 and progress["complete"] == int(len(it["record_ids"]) == 2)


def test_doubt_bands_start_where_links_are_reviewed() -> None:
    assert [band_name(d) for d in (0.0, 0.0009, 0.001, 0.05, 0.1, 1.0)] == [
        "links, doubt < 0.001", "links, doubt < 0.001", "links, doubt 0.001-0.01", "links, doubt 0.01-0.1",
        "links, doubt >= 0.1", "links, doubt >= 0.1"]
    pairs = pd.DataFrame({"record_id_l": [1, 1, 3, 5], "record_id_r": [2, 4, 4, 6], "probability": [0.9, 0.2, 0.99, 0.5]})
    person = pd.Series({1: "A", 2: "A", 3: "B", 4: "B", 5: "C", 6: "D"})
    assert link_doubt(pairs, person).to_dict() == pytest.approx({"A": 0.1, "B": 0.01})  # pairs held apart count not
