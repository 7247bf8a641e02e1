"""bench/end_to_end.py: its helpers, and a small, fast version of the end-to-end case on the real lists."""

from __future__ import annotations

import importlib.util
import re
import sys
from pathlib import Path
from types import ModuleType

import numpy as np
import pandas as pd
import pytest

BENCH = Path(__file__).resolve().parents[1] / "bench" / "end_to_end.py"
ARABIC = re.compile("[\u0600-\u06ff]")


@pytest.fixture(scope="module")
def e2e() -> ModuleType:
    spec = importlib.util.spec_from_file_location("end_to_end_bench", BENCH)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up
    spec.loader.exec_module(module)
    return module


def test_name_units_keep_compounds_whole(e2e: ModuleType) -> None:
    assert e2e.name_units("محمد عبد الله ابو علي") == ["محمد", "عبد الله", "ابو علي"]
    assert e2e.name_units("نور الدين احمد") == ["نور الدين", "احمد"]
    assert e2e._parts(["a", "b", "c", "d", "e"]) == ("a", "b", "c d", "e")
    assert e2e._parts(["a", "b"]) == ("a", None, None, "b")


def test_rules_scheme_writes_latin_letters_only(e2e: ModuleType) -> None:
    assert e2e.romanise_rules("شادي") == "Chadi"
    assert e2e.romanise_rules("الجمل") == "El-Djemel"
    assert e2e.romanise_rules("ع") == "X"  # a part never vanishes


def test_pair_counts_per_list_pair(e2e: ModuleType) -> None:
    # truth: A = {a1, b1}, B = {a2, a3(dup of a2), b2}; clusters put a2 apart from a3 and b2 with a1
    recs = pd.DataFrame({
        "source": ["a", "b", "a", "a", "b"],
        "truth": ["A", "A", "B", "B", "B"],
        "person": ["x", "x", "y", "z", "x"],
    })
    got = e2e.linkage_quality(recs, ["a", "b"])
    assert got["true pairs a-b"] == 3.0  # a1-b1, a2-b2, a3-b2
    assert got["recall a-b"] == pytest.approx(1 / 3)  # only a1-b1
    assert got["precision a-b"] == pytest.approx(1 / 2)  # x holds a1-b1 (true), a1-b2 (false)
    assert got["recall a dups"] == 0.0 and got["precision a dups"] is None
    assert got["recall b dups"] is None and got["precision b dups"] == 0.0


@pytest.mark.slow
def test_small_case_end_to_end(e2e: ModuleType, shared_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    data = shared_dir / "data"
    if not (data / e2e.POPULATION_FILE).is_file():
        pytest.skip("the ministry list is not in ../shared/data")
    population, tfp = e2e._inputs(data)
    built = e2e.build_case(population, tfp, 5, tmp_path / "lists", people=1000, schemes=e2e.SCHEMES)
    assert built.true_n == 1000
    survey = built.files["survey"][0].read_bytes()
    with pytest.raises(UnicodeDecodeError):
        survey.decode("utf-8")
    assert ARABIC.search(survey.decode("cp1256"))
    obits = pd.read_csv(built.files["obituaries"][0], dtype=str)
    assert not obits["name"].str.contains(ARABIC).any()
    assert 0.3 < obits["age"].isna().mean() < 0.5
    ids = pd.read_csv(built.files["survey"][0], dtype=str, encoding="cp1256").iloc[:, 0]
    assert 0.4 < ids.isna().mean() < 0.6
    assert set(built.truth["scheme"]) == set(e2e.SCHEMES)
    # the true tables come from the same seed's captures: as many persons as the lists' truth holds
    tables, documented = e2e.true_tables(population, 5, 1000)
    assert documented == built.truth["person_id"].nunique() == sum(int(t["count"].sum()) for t in tables.values())
    assert len(tables) == 6 and all(list(t.columns) == [*e2e.LISTS, "count"] for t in tables.values())
    alone, _ = e2e.true_tables(population, 5, 1000, "no-dependence")
    assert any(not t.equals(tables.get(name)) for name, t in alone.items())  # another capture model

    job = e2e.Job(seed=5, people=1000, draws=2, skip=(), data=str(data), workdir=str(tmp_path),
                  schemes=tuple(e2e.SCHEMES.items()), oracle=True, imputations=2)
    row = e2e.run_seed(job)
    assert row["true_n"] == 1000 and row["true_documented"] <= 1000
    assert row["estimate"] > row["documented"] > 0.9 * row["true_documented"]
    assert 0.8 < row["recall hospital-survey"] <= 1 and 0.9 < row["precision hospital-survey"] <= 1
    assert row["block all"] == 1.0  # a case this small compares every pair
    assert row["stored hospital-obituaries"] >= row["recall hospital-obituaries"] - 0.05
    assert abs(row["oracle_error"]) < 0.25
    # figures only: no text of any record can reach the output (the one label is the correction's kind)
    assert row["correction"] in (None, "none", "model", "search sample")
    # and the widest stratum's label and method (a stratum's covariates, a method's name)
    texts = {"correction", "default_widest", "default_widest_method", "sample_widest", "sample_widest_method"}
    assert all(re.fullmatch(r"[\w=|+ .-]*", str(row[k])) for k in texts - {"correction"} if k in row)
    figures = {k: v for k, v in row.items() if k not in texts}
    assert all(isinstance(v, (int, float, bool, np.integer, np.floating, np.bool_)) or v is None for v in figures.values())
    frame = pd.DataFrame([row])
    text = "\n".join([e2e.seed_table(frame), e2e.pair_table(frame, list(e2e.LISTS)), e2e.summary(frame)])
    assert not ARABIC.search(text)
    assert "hospital-obituaries" in text and "covers on" in text


def test_the_widest_stratum_is_the_one_reaching_furthest_above_its_estimate(e2e: ModuleType) -> None:
    from undercount.estimate.results import EstimateResult

    def res(est: float | None, upper: float | None) -> EstimateResult:
        return EstimateResult(method="loglinear", documented=10, estimate=est, lower=est, upper=upper)

    strata = {"a": res(100, 150), "b": res(1000, 1400), "c": res(50, 60), "d": res(None, None)}
    got = e2e.widest_stratum("s", strata)
    assert got["s_widest"] == "a" and got["s_widest_reach"] == 1.5 and got["s_widest_upper"] == 150
    assert got["s_widest_method"] == "loglinear"
    assert e2e.widest_stratum("s", {**strata, "e": res(10, None)})["s_widest"] == "e"  # no finite upper end
    assert e2e.widest_stratum("s", {}) == {}


def test_a_blocking_rule_can_be_left_out() -> None:
    from undercount.errors import ConfigError
    from undercount.link.model import (
        LinkOptions,
        prediction_blocking_rules,
        settings_dict,
    )

    every = prediction_blocking_rules(LinkOptions())
    fewer = prediction_blocking_rules(LinkOptions(skip_blocking=("sorted name keys",)))
    assert [r.name for r in fewer] == [r.name for r in every if r.name != "sorted name keys"]
    rules = settings_dict("duckdb", options=LinkOptions(skip_blocking=("sorted name keys",)), n_records=10**6)
    assert len(rules["blocking_rules_to_generate_predictions"]) == len(every) - 1
    with pytest.raises(ConfigError, match="unknown blocking rule 'sorted keys'"):
        prediction_blocking_rules(LinkOptions(skip_blocking=("sorted keys",)))


def test_a_missing_truth_never_answers_same_person(e2e: ModuleType, monkeypatch: pytest.MonkeyPatch) -> None:
    """The simulated reviewer answers 'same' only when both records' true persons are known and
    agree: two records without a truth (None == None) are not one person."""
    import undercount.review.sample as sample_module

    items = pd.DataFrame({"item": [1, 2], "record_ids": [[10, 11, 12], [20, 21]], "search_lists": [[], []]})
    got: list[pd.DataFrame] = []
    monkeypatch.setattr(sample_module, "draw_search_sample", lambda *a, **k: type("S", (), {"sample_id": "s1"})())
    monkeypatch.setattr(sample_module, "sample_items", lambda case, sid: items)
    monkeypatch.setattr(sample_module, "record_answers", lambda case, rows, **k: got.append(rows) or len(rows))
    records = pd.DataFrame({"record_id": [10, 11, 12, 20, 21], "source": ["a", "b", "c", "a", "b"],
                            "truth": ["T1", "T1", None, None, None]})
    assert e2e.answer_search_sample(None, records, 2, 1) == 3
    answers = got[0].set_index("found_record_id")["answer"].to_dict()
    assert answers == {11: "same", 12: "different", 21: "different"}
    assert e2e.same_person("T1", "T1") and not e2e.same_person(None, None) and not e2e.same_person(np.nan, np.nan)
