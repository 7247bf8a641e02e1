"""A third list's links as evidence for the pairs of two other lists (undercount.link.thirdlist)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd

from undercount.link import link_case
from undercount.link.model import LinkOptions
from undercount.link.thirdlist import THIRD_LIST_LEVELS, third_list_bits

from .conftest import make_case


def _case() -> tuple[np.ndarray, np.ndarray, np.ndarray, pd.Series]:
    """Lists a, b, c of 100 records: 40 persons on all three, linked at 0.99; 10 a x b pairs at 0.6
    whose records link two different records of c; 10 at 0.45 whose records both link one record of
    c; 40 weak a x b pairs (0.05) of a linked a record and a b record on b only, never compared
    with the a record's partner in c."""
    ids = {name: np.arange(start, start + 100) for name, start in (("a", 0), ("b", 100), ("c", 200))}
    source = pd.Series(["a"] * 100 + ["b"] * 100 + ["c"] * 100, index=np.concatenate(list(ids.values())))
    left: list[int] = []
    right: list[int] = []
    prob: list[float] = []

    def add(x: str, i: int, y: str, j: int, p: float) -> None:
        left.append(int(ids[x][i]))
        right.append(int(ids[y][j]))
        prob.append(p)

    for k in range(40):
        add("a", k, "b", k, 0.99)
        add("a", k, "c", k, 0.99)
        add("b", k, "c", k, 0.99)
    for k in range(40, 50):  # two people: a_k and b_k link different records of c
        add("a", k, "b", k, 0.6)
        add("a", k, "c", k, 0.99)
        add("b", k, "c", k + 10, 0.99)
    for k in range(60, 70):  # one person whose own names score low: a_k and b_k both link c_k
        add("a", k, "b", k, 0.45)
        add("a", k, "c", k, 0.99)
        add("b", k, "c", k, 0.99)
    for k in range(40):  # weak pairs: a_k linked to c_k, b_(70 + k mod 30) on b only
        add("a", k, "b", 70 + k % 30, 0.05)
    return np.array(left), np.array(right), np.array(prob), source


def test_a_third_list_moves_pairs_it_contradicts_down_and_those_it_supports_up() -> None:
    left, right, prob, source = _case()
    bits, code, summary = third_list_bits(left, right, prob, source, threshold=0.5)
    after = 1.0 / (1.0 + np.exp2(-(np.log2(prob / (1 - prob)) + bits)))
    contradicted, supported = prob == 0.6, prob == 0.45
    assert (code[contradicted] == THIRD_LIST_LEVELS.index("the third list links them to two records")).all()
    assert (code[supported] == THIRD_LIST_LEVELS.index("one record of the third list links both")).all()
    assert (after[contradicted] < 0.5).all()
    assert (after[supported] > 0.5).all()
    assert summary["the third list links them to two records"]["pairs"] == 10


def test_two_lists_have_no_third_list() -> None:
    left, right, prob, source = _case()
    keep = (source.reindex(left).to_numpy() != "c") & (source.reindex(right).to_numpy() != "c")
    bits, code, summary = third_list_bits(left[keep], right[keep], prob[keep], source[source != "c"], threshold=0.5)
    assert not bits.any() and (code == -1).all() and summary == {}


def test_link_case_with_the_option_stores_the_bits_and_their_classes(tmp_path: Path) -> None:
    case = make_case(tmp_path)
    link_case(case, options=LinkOptions(third_list=True, missed_sample=0))
    run = case.current_run("link")
    model = json.loads(case.query("SELECT settings FROM uc_link_models WHERE run_id = ?", [run]).iloc[0, 0])
    assert set(model["training"]["third_list"]) == set(THIRD_LIST_LEVELS)
    evidence = [json.loads(e) for e in case.pairs(run)["evidence"]]
    levels = {e["third_list"]["level"] for e in evidence if "third_list" in e}
    assert levels and levels <= set(THIRD_LIST_LEVELS) | {"no third list"}


def test_the_classes_do_not_depend_on_how_large_the_record_ids_are() -> None:
    """Record ids past 2**32 (a case grown by many imports, or ids from elsewhere) give the same classes:
    packing two raw ids into one int64 would make different pairs one key."""
    left, right, prob, source = _case()
    shift = np.int64(1) << 33
    big = pd.Series(source.to_numpy(), index=source.index.to_numpy(dtype=np.int64) * shift)
    small_bits, small_code, small_summary = third_list_bits(left, right, prob, source, threshold=0.5)
    bits, code, summary = third_list_bits(left * shift, right * shift, prob, big, threshold=0.5)
    assert np.array_equal(code, small_code) and np.allclose(bits, small_bits) and summary == small_summary
