"""A Latin record's spelling as evidence about its name parts' levels across scripts (undercount.link.spelling)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd

from undercount.link import link_case
from undercount.link.model import LinkOptions
from undercount.link.prepare import prepare_records
from undercount.link.spelling import SPELLING_COLUMN, SPELLING_LEVELS, spelling_bits, unspelled_parts

from .conftest import make_case


def _pairs() -> tuple[np.ndarray, np.ndarray, np.ndarray, list[np.ndarray], pd.Series, pd.Series]:
    """Latin records 0-99 spell their one name part from the dictionary, 100-199 do not; Arabic records 1000+.
    Pairs at level 1 ("same sound") are mostly one person for the second kind, mostly two for the
    first; pairs at level 0 ("exact") are one person either way; a pair of two Arabic records."""
    unspelled = pd.Series([0] * 100 + [1] * 100 + [-1] * 400, index=list(range(200)) + list(range(1000, 1400)))
    pivoted = pd.Series([False] * 200 + [True] * 400, index=unspelled.index)
    left, right, prob, gamma = [], [], [], []
    for k in range(200):
        left += [k, k]
        right += [1000 + k, 1200 + k]
        gamma += [0, 1]
        prob += [0.99, 0.2 if k < 100 else 0.8]
    left.append(1000)
    right.append(1001)
    gamma.append(1)
    prob.append(0.5)
    return (np.array(left), np.array(right), np.array(prob), [np.array(gamma)], unspelled, pivoted)


def test_a_weak_level_weighs_by_how_the_latin_record_spells() -> None:
    left, right, prob, gammas, unspelled, pivoted = _pairs()
    bits, code, summary = spelling_bits(left, right, prob, gammas, unspelled, pivoted)
    weak = gammas[0] == 1
    known, unknown = (left < 100), (left >= 100) & (left < 200)
    assert (code[known] == 0).all() and (code[unknown] == 1).all() and code[-1] == -1
    # the weak level sinks where the Latin record's names are all dictionary spellings, rises elsewhere
    assert (bits[weak & known] < -0.5).all() and (bits[weak & unknown] > 0.3).all()
    assert bits[-1] == 0.0  # within one script: untouched
    assert summary[SPELLING_LEVELS[1]]["pairs"] == 200


def test_one_kind_of_record_alone_moves_nothing() -> None:
    left, right, prob, gammas, unspelled, pivoted = _pairs()
    bits, _, _ = spelling_bits(left, right, prob, gammas, unspelled.clip(upper=0), pivoted)
    assert np.allclose(bits, 0.0)


def test_unspelled_parts_marks_each_latin_part_outside_the_dictionary() -> None:
    parts = [pd.Series(["mohammed", "محمد", "mhmmd", None, "mohamed"]), pd.Series(["al najjar", "النجار", "alnajjar", "hamdan", "najar"])]
    got = unspelled_parts(parts, np.array([True, False, True, True, True]), {"mohammed", "alnajjar", "hamdan"})
    assert got.tolist() == [0, -1, 1, 0, 3]


def test_the_linkage_table_and_a_link_run_carry_the_classes(tmp_path: Path) -> None:
    case = make_case(tmp_path)
    table = prepare_records(case.records())
    latin = table["script"] == "latin"
    assert (table.loc[~latin, SPELLING_COLUMN] == -1).all() and (table.loc[latin, SPELLING_COLUMN] >= 0).all()
    link_case(case, options=LinkOptions(missed_sample=0))
    run = case.current_run("link")
    model = json.loads(str(case.query("SELECT settings FROM uc_link_models WHERE run_id = ?", [run]).iloc[0, 0]))
    assert set(model["training"]["spelling"]) == set(SPELLING_LEVELS)
    levels = {e["spelling"]["level"] for e in (json.loads(x) for x in case.pairs(run)["evidence"].astype(str))}
    assert levels & set(SPELLING_LEVELS) and levels <= set(SPELLING_LEVELS) | {"within one script"}
