"""Figures: each draws from plain DataFrames, embeds as SVG and says when there is nothing to draw."""

from __future__ import annotations

import base64

import numpy as np
import pandas as pd
import pytest

from undercount.report import figures


def _persons(n: int = 200, seed: int = 1) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    return pd.DataFrame({
        "sex": rng.choice(["male", "female", None], n),
        "age": rng.integers(0, 90, n).astype(float),
        "event_date": pd.to_datetime("2024-01-01") + pd.to_timedelta(rng.integers(0, 120, n), unit="D"),
        "place": rng.choice(["Gaza", "رفح", None], n),
        "status": rng.choice(["killed", "missing"], n),
        "cause": rng.choice(["direct_violence", "disease", None], n),
    })


def _svg(chart: figures.Chart) -> str:
    assert chart.uri.startswith("data:image/svg+xml;base64,")
    return base64.b64decode(chart.uri.split(",", 1)[1]).decode("utf-8")


@pytest.mark.parametrize("draw", [figures.age_sex_pyramid, figures.weekly_counts, figures.place_counts,
                                  figures.status_cause])
def test_person_figures_are_svg_with_size(draw) -> None:
    chart = draw(_persons())
    svg = _svg(chart)
    assert svg.lstrip().startswith("<?xml") and "<svg" in svg
    assert 2 < chart.width_in < 8.3 and 1 < chart.height_in < 11  # fits an A4 page
    assert chart.alt and chart.title


@pytest.mark.parametrize("draw", [figures.age_sex_pyramid, figures.weekly_counts, figures.place_counts,
                                  figures.status_cause])
def test_person_figures_without_data_return_none(draw) -> None:
    empty = pd.DataFrame({c: pd.Series([None] * 3, dtype=object) for c in
                          ["sex", "age", "event_date", "place", "status", "cause"]})
    empty["age"] = empty["age"].astype(float)
    assert draw(empty) is None


def test_arabic_labels_are_shaped_for_matplotlib() -> None:
    shaped = figures.shape_label("رفح")
    assert shaped != "رفح" and len(shaped) == 3
    assert all("\uFE70" <= ch <= "\uFEFF" for ch in shaped)  # presentation forms, visual order
    assert figures.shape_label("Gaza") == "Gaza"
    assert figures.shape_label(None) == "unknown"


def test_figures_are_deterministic() -> None:
    assert figures.age_sex_pyramid(_persons()).uri == figures.age_sex_pyramid(_persons()).uri


def test_age_bands() -> None:
    assert [figures.age_band(a) for a in (0, 4, 5, 17, 79, 80, 101)] == ["0-4", "0-4", "5-9", "15-19", "75-79",
                                                                         "80+", "80+"]


def test_upset_counts_each_combination_once() -> None:
    members = pd.DataFrame({"a": [1, 1, 0, 1], "b": [1, 0, 1, 1], "c": [0, 0, 0, 1]}).astype(bool)
    chart = figures.upset(members)
    svg = _svg(chart)
    assert "4 combinations" in chart.alt and "3 lists" in chart.alt
    assert svg.count("<svg") == 1
    assert figures.upset(pd.DataFrame()) is None


def test_forest_marks_open_and_not_estimable_rows() -> None:
    rows = pd.DataFrame({
        "label": ["All persons", "age 0-17", "age 18+"], "documented": [100, 40, 60],
        "estimate": [150.0, None, 80.0], "lower": [120.0, None, 70.0], "upper": [200.0, None, None],
        "estimable": [True, False, True], "is_total": [True, False, False], "n_warnings": [0, 1, 1],
    })
    chart = figures.forest(rows)
    assert chart is not None and "3 rows" in chart.alt
    assert figures.forest(rows.iloc[0:0]) is None


def test_linkage_figures() -> None:
    probs = pd.Series(np.linspace(0, 1, 50))
    assert figures.probability_histogram(probs, threshold=0.9, band=(0.45, 0.95)) is not None
    assert figures.probability_histogram(pd.Series(dtype=float), threshold=None, band=None) is None
    chart = figures.cluster_sizes(pd.Series([1, 1, 2, 3, 12]))
    assert "5 persons" in chart.alt


def _strata(**change: object) -> pd.DataFrame:
    rows = pd.DataFrame({"age_group": ["0-17", "18-59", "60+"] * 2, "sex": ["male"] * 3 + ["female"] * 3,
                         "documented": [80, 300, 40, 70, 150, 35], "estimate": [120.0, 380, 55, 100, 190, 50],
                         "lower": [100.0, 350, 45, 85, 170, 40], "upper": [150.0, 420, np.nan, 130, 220, 70],
                         "estimable": [True] * 6})
    return rows.assign(**change)


def test_estimated_pyramid_only_for_one_age_group_of_one_sex_per_stratum() -> None:
    chart = figures.estimated_pyramid(_strata())
    assert chart is not None and chart.key == "estimated_pyramid" and "3 age groups" in chart.alt
    svg = base64.b64decode(chart.uri.split(",", 1)[1])
    assert svg.startswith(b"<?xml") and chart.height_in > 2
    assert figures.estimated_pyramid(_strata(age_group=["0-17+18-59"] * 6)) is None  # merged strata
    assert figures.estimated_pyramid(_strata(sex=["female+male"] * 6)) is None
    assert figures.estimated_pyramid(_strata(estimable=[False] + [True] * 5)) is None
    assert figures.estimated_pyramid(_strata().iloc[0:0]) is None


def test_model_range_draws_one_row_per_model() -> None:
    models = [{"label": "headline", "estimate": 1000.0, "lower": 900.0, "upper": 1150.0, "headline": True, "admissible": True},
              {"label": "LCMCR", "estimate": 1050.0, "lower": 950.0, "upper": None, "headline": False, "admissible": True},
              {"label": "Chao", "estimate": 980.0, "lower": 940.0, "upper": 1020.0, "headline": False, "admissible": False}]
    chart = figures.model_range(models, documented=800, lower=900.0, upper=None)
    assert chart is not None and chart.key == "range" and "no finite upper limit" in chart.alt
    assert figures.model_range(models[:1]) is None
