"""dga: reproduce R's dga and Madigan and York (1997) to 0.5%; graphs; errors; warnings.

Tables and R's figures: tests/reference/ (see bayes_expected.json for the source).
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from undercount.errors import InputError, ModelError
from undercount.estimate.auto import AutoOptions, _fixed_fits, estimate_table
from undercount.estimate.dga import DgaOptions, dga_posterior, fit_dga
from undercount.estimate.graphs import decomposable_graphs
from undercount.estimate.histories import read_table, table_from_counts

REF = Path(__file__).resolve().parents[1] / "reference"
EXPECTED = json.loads((REF / "bayes_expected.json").read_text())


def _check(result: object, ref: dict[str, float]) -> None:
    assert result.mean == pytest.approx(ref["mean"], rel=0.005)
    assert result.estimate == pytest.approx(ref["median"], rel=0.005)
    assert result.lower == pytest.approx(ref["lower"], rel=0.005)
    assert result.upper == pytest.approx(ref["upper"], rel=0.005)


def test_madigan_york_1997() -> None:
    ref = EXPECTED["madigan_york"]
    table = table_from_counts(np.array(ref["vector"][1:]), list("ABCDE"))
    result = fit_dga(table, delta=ref["delta"], n_missing_max=ref["n_missing_max"])
    _check(result, ref)
    assert result.documented == 537
    assert result.details["n_graphs"] == 822


@pytest.mark.parametrize("name", list(EXPECTED["dga"]))
def test_reference_tables_reproduce_r(name: str) -> None:
    ref = EXPECTED["dga"][name]
    table = pd.read_csv(REF / name)
    result = fit_dga(table)
    _check(result, ref)
    assert result.details["delta"] == ref["delta"]
    weights = [g["weight"] for g in result.details["graphs"]]
    assert weights == sorted(weights, reverse=True) and 0 < sum(weights) <= 1 + 1e-9
    assert result.model == result.details["graphs"][0]["model"]


def test_bimodal_posterior_is_flagged() -> None:
    result = fit_dga(pd.read_csv(REF / "sparsemse_UKdat_5.csv"))
    modes = result.details["modes"]
    assert len(modes) == 2 and modes[0] < 15_000 < modes[1]
    assert any("several modes" in w for w in result.warnings)


def test_unimodal_posterior_is_not_flagged() -> None:
    result = fit_dga(pd.read_csv(REF / "kosovo_1999.csv"))
    assert len(result.details["modes"]) == 1 and not result.warnings


def test_unbounded_posterior_has_no_upper_limit() -> None:
    result = fit_dga(pd.read_csv(REF / "sparsemse_Artificial_3.csv"))
    assert result.upper is None
    assert any("do not bound N" in w for w in result.warnings)


def test_draws_follow_the_posterior() -> None:
    table = pd.read_csv(REF / "rcapture_HIV.csv")
    result = fit_dga(table, seed=5)
    assert result.draws.size == 4000
    assert np.median(result.draws) == pytest.approx(result.estimate, rel=0.03)
    assert np.array_equal(result.draws, fit_dga(table, seed=5).draws)


def test_posterior_sums_to_one_and_uniform_prior_shifts_it_up() -> None:
    table = pd.read_csv(REF / "rcapture_lesbian.csv")
    grid, post, ranked = dga_posterior(table)
    assert post.sum() == pytest.approx(1.0)
    assert grid[0] == 2185 + 1 and len(ranked) == 61  # R's grid: Nmissing from 1
    assert dga_posterior(table, n_missing_min=0)[0][0] == 2185
    assert fit_dga(table, prior="uniform").mean > fit_dga(table).mean


def test_care1_hepatitis_table_gives_rs_379() -> None:
    """CARE1's HAV table: R's dga with Nmissing = 1:(15 n) gives median 379, mean 447.6, 272-1,393."""
    table = read_table(REF / "care1_HAV.csv")
    res = fit_dga(table)
    assert (res.documented, res.estimate, res.lower, res.upper) == (271, 379.0, 272.0, 1393.0)
    assert res.mean == pytest.approx(447.6, abs=0.05)
    assert res.details["n_missing_min"] == 1
    from_zero = fit_dga(table, n_missing_min=0)  # a third of the posterior at 0 missing (R with 0:(15 n): 291)
    assert (from_zero.estimate, from_zero.lower, from_zero.upper) == (291.0, 271.0, 1056.0)
    assert estimate_table(table, method="dga", options=["n_missing_min=0"]).estimate == 291.0


def test_graph_counts_and_labels() -> None:
    assert [len(decomposable_graphs(p)) for p in (3, 4, 5)] == [8, 61, 822]
    labels = {g.label() for g in decomposable_graphs(4)}
    assert "[1,2,3,4]" in labels and "[1234]" in labels and "[12,23,34,14]" not in labels
    assert all(len(g.plus) == 4 for g in decomposable_graphs(4))


@pytest.mark.parametrize(
    ("table", "error", "message"),
    [
        (pd.DataFrame({**{c: np.eye(6, dtype=int)[i] for i, c in enumerate("ABCDEF")}, "count": [3] * 6}),
         ModelError, "3 to 5 lists"),
        (pd.DataFrame({"A": [1, 0], "B": [0, 1], "count": [3, 4]}), ModelError, "3 to 5 lists"),
        (pd.DataFrame({"A": [1, 0], "B": [0, 1], "C": [1, 1], "count": [3, 4.5]}), InputError, "whole number"),
    ],
)
def test_unsupported_tables_raise(table: pd.DataFrame, error: type, message: str) -> None:
    with pytest.raises(error, match=message):
        fit_dga(table)


def test_bad_options_raise() -> None:
    table = pd.read_csv(REF / "rcapture_HIV.csv")
    with pytest.raises(ModelError, match="delta"):
        fit_dga(table, delta=0)
    with pytest.raises(ModelError, match="prior"):
        fit_dga(table, prior="jeffreys")


def _all_pairs_interact(n: int = 3000) -> pd.DataFrame:
    """The expected table of ``n`` people on three lists whose three pairs all interact (log-linear
    ``[12,13,23]``, no three-way term; 910 never recorded): no decomposable graph but the complete one
    holds all three pairs."""
    cells = [(a, b, c) for a in (0, 1) for b in (0, 1) for c in (0, 1)]
    eta = np.array([-1.2 * a - 1.0 * b - 1.1 * c + 0.9 * a * b + 0.8 * a * c + 0.9 * b * c for a, b, c in cells])
    expected = np.exp(eta) / np.exp(eta).sum() * n
    return pd.DataFrame([(*cell, round(x)) for cell, x in zip(cells, expected) if any(cell)], columns=["A", "B", "C", "count"])


def test_complete_graph_left_out_gives_the_data_not_the_prior() -> None:
    table = _all_pairs_interact()
    every = fit_dga(table)  # as R's dga: the complete graph (N not identified) takes the weight
    assert every.model == "[123]" and every.details["saturated"]
    assert every.upper is not None and every.upper > 4 * 3000 and every.lower < 2100
    kept = fit_dga(table, saturated=False)
    assert "[123]" not in [g["model"] for g in kept.details["graphs"]] and not kept.details["saturated"]
    assert kept.upper is not None and kept.upper < 3000 and kept.lower > 2300
    _, _, ranked = dga_posterior(table, saturated=False)
    assert len(ranked) == 7


def test_auto_envelope_leaves_out_dga_complete_graph() -> None:
    table = _all_pairs_interact()
    fits = _fixed_fits(table, 3, 0.95, 0, AutoOptions())
    assert fits.dga is not None and fits.dga.upper is not None and fits.dga.upper < 3000
    assert fits.loglin.model == "[12,13,23]" and fits.loglin.lower < 3000 < fits.loglin.upper
    again = _fixed_fits(table, 3, 0.95, 0, AutoOptions(dga=DgaOptions(saturated=True)))
    assert again.dga is not None and again.dga.upper is not None and again.dga.upper > 4 * 3000
