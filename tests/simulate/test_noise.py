"""Recording errors: realised rates match the settings and the tallies tell the truth."""

from __future__ import annotations

from dataclasses import fields, replace

import numpy as np
import pandas as pd
import pytest
from rapidfuzz.distance import Levenshtein

from undercount.simulate import preset_config
from undercount.simulate.config import ErrorConfig
from undercount.simulate.noise import NAME_PARTS, apply_errors, luhn_valid_array, spelling_variant, typo

HIGH = ErrorConfig(**{f.name: 0.15 for f in fields(ErrorConfig)})


@pytest.fixture(scope="module")
def noisy(population: pd.DataFrame):
    lst = replace(preset_config("small").lists[0], errors=HIGH, fields=("id", "name", "age", "status"))
    records = population[["person_id", *NAME_PARTS, "sex", "age", "date_of_birth", "id_number",
                          "event_date", "place", "status", "role", "household_family"]].copy()
    out, tally = apply_errors(records, lst, np.random.default_rng(9))
    return records, out, tally.to_dict()


def test_error_rates_match_the_settings(noisy, within) -> None:
    _, _, tally = noisy
    for f in fields(ErrorConfig):
        got = tally[f.name]
        assert got["eligible"] > 500, f.name
        assert within(got["rate"], 0.15, got["eligible"]), (f.name, got)


def test_tallies_count_what_is_in_the_output(noisy) -> None:
    records, out, tally = noisy
    originals = out[~out["is_copy"]]
    assert len(originals) == len(records)
    assert out["is_copy"].sum() == tally["duplicate"]["changed"]
    copies = int(out["is_copy"].sum())  # exact copies repeat their original's errors
    for column, kind in (("age", "age_missing"), ("sex", "sex_missing"), ("event_date", "date_missing"),
                         ("family", "missing_part"), ("id_number", "id_missing")):
        missing = int(out[column].isna().sum())
        assert tally[kind]["changed"] <= missing <= tally[kind]["changed"] + copies, kind
    assert tally["age_missing"]["changed"] > 1000
    merged = originals.merge(records[["person_id", "family", "status"]], on="person_id", suffixes=("", "_true"))
    renamed = (merged["family"] == merged["household_family"]) & (merged["family_true"] != merged["household_family"])
    assert 0.6 * tally["married_name"]["changed"] < renamed.sum() <= tally["married_name"]["changed"]
    assert (merged.loc[renamed, "role"] == "mother").all()
    assert ((merged["status"] == "missing") & (merged["status_true"] == "killed")).sum() > 0.8 * tally[
        "reported_missing"]["changed"]
    invalid = (~luhn_valid_array(out["id_number"]) & out["id_number"].notna()).sum()
    assert tally["id_invalid"]["changed"] <= invalid <= tally["id_invalid"]["changed"] + copies
    assert 0 < tally["id_invalid"]["changed"] <= tally["id_typo"]["changed"]


def test_heaped_ages_are_multiples_of_five(noisy) -> None:
    records, out, _ = noisy
    merged = out[~out["is_copy"]].merge(records[["person_id", "age"]], on="person_id", suffixes=("", "_true"))
    diff = (merged["age"] - merged["age_true"]).dropna().abs()
    assert diff.max() <= 3  # heaping moves at most 2, off-by-one 1 more


def test_duplicates_keep_the_person() -> None:
    pop = pd.DataFrame({"person_id": [f"P{i}" for i in range(4000)], "given": "محمد", "father": "أحمد",
                        "grandfather": "علي", "family": "النجار", "sex": "male", "age": 30,
                        "date_of_birth": np.datetime64("1993-01-01"), "id_number": "000000018",
                        "event_date": np.datetime64("2023-11-01"), "place": "Gaza", "status": "killed"})
    lst = replace(preset_config("small").lists[1], errors=ErrorConfig(**{f.name: 0.0 for f in fields(ErrorConfig)}
                                                                      | {"duplicate": 0.3}))
    out, tally = apply_errors(pop, lst, np.random.default_rng(1))
    assert len(out) == 4000 + out["is_copy"].sum() == 4000 + tally.counts["duplicate"][0]
    assert abs(out["is_copy"].mean() * len(out) / 4000 - 0.3) < 0.05
    counts = out["person_id"].value_counts()
    assert counts.max() == 2 and (counts == 2).sum() == out["is_copy"].sum()


def test_typo_is_one_edit_and_variant_differs() -> None:
    rng = np.random.default_rng(0)
    for word in ("محمد", "عبد الرحمن", "Mohammed", "ab"):
        for _ in range(50):
            new = typo(word, rng.random(3), "abc" if word.isascii() else "ابت")
            assert new != word and Levenshtein.distance(new, word) <= 2
    assert spelling_variant("أحمد", 0.0) == "احمد"
    assert spelling_variant("احمد", 0.0) == "أحمد"
    assert spelling_variant("فاطمة", 0.0) == "فاطمه"
    assert spelling_variant("مصطفى", 0.0) == "مصطفي"
    assert spelling_variant("النجار", 0.0) is None


def test_mistyping_leaves_ids_damaged_already_as_they_are() -> None:
    """Real lists hold IDs with spaces or too few digits (PDF extraction): mistyping one must not crash."""
    ids = ["4012 3456", "12", "401234567", " 40123456"] * 250
    pop = pd.DataFrame({"person_id": [f"P{i}" for i in range(len(ids))], "given": "محمد", "father": "أحمد",
                        "grandfather": "علي", "family": "النجار", "sex": "male", "age": 30,
                        "date_of_birth": np.datetime64("1993-01-01"), "id_number": ids,
                        "event_date": np.datetime64("2023-11-01"), "place": "Gaza", "status": "killed"})
    none = {f.name: 0.0 for f in fields(ErrorConfig)}
    lst = replace(preset_config("small").lists[0], errors=ErrorConfig(**none | {"id_typo": 1.0}))
    out, _ = apply_errors(pop, lst, np.random.default_rng(2))
    both = out.merge(pop[["person_id", "id_number"]], on="person_id", suffixes=("", "_true"))
    whole = both[both["id_number_true"] == "401234567"]
    assert (whole["id_number"] != whole["id_number_true"]).mean() > 0.9  # whole IDs are still mistyped
    short = both.loc[both["id_number_true"] == "12", "id_number"]
    assert (short.str.len() == 2).all()  # a short ID keeps its length (only its digits are mistyped)
    spaced = both.loc[both["id_number_true"] == "4012 3456", "id_number"]
    assert (spaced.str.len() == 9).all() and (spaced.str.count(" ") == 1).all()
