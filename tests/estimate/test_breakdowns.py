"""Estimates by period and by place (issue 14): separate breakdowns, each row with its interval and verdict."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

from undercount.cli import app
from undercount.errors import ConfigError
from undercount.estimate.breakdowns import parse_breakdowns
from undercount.estimate.linkage import estimate_populations
from undercount.store import Case

from .conftest import store_linked

LISTS = ("hospital", "survey", "social")
QUARTERS = {"2024Q1": (date(2024, 1, 10), 900), "2024Q2": (date(2024, 4, 10), 600),
            "2024Q3": (date(2024, 7, 10), 450), "2024Q4": (date(2024, 10, 10), 300)}
PLACES = {"north": 0.25, "south": 0.5}  # the social list rarely reaches the north
runner = CliRunner()


def _build(path: Path, *, place_known: float, seed: int = 5) -> tuple[Case, dict[str, int], dict[str, int]]:
    """Killed people on three independent lists, with an event date and a place; the truth per quarter and place."""
    rng = np.random.default_rng(seed)
    quarter = np.repeat(list(QUARTERS), [n for _, n in QUARTERS.values()])
    people = len(quarter)
    place = rng.choice(list(PLACES), size=people)
    probs = np.column_stack([np.full(people, 0.45), np.full(people, 0.4), [PLACES[p] for p in place]])
    caught = rng.random(probs.shape) < probs
    rows, record_id = [], 0
    for k, name in enumerate(LISTS):
        for row, person in enumerate(np.flatnonzero(caught[:, k]), start=1):
            record_id += 1
            rows.append({"record_id": record_id, "source": name, "row": row, "file_hash": name, "status": "killed",
                         "event_date": QUARTERS[quarter[person]][0], "age": 30, "sex": "male", "run_id": "import-1",
                         "place": place[person] if rng.random() < place_known else None, "person": person})
    case = Case.init(path)
    store_linked(case, pd.DataFrame(rows), LISTS, caught.sum(axis=0))
    seen = caught.any(axis=1)
    by_quarter = {q: int((quarter == q).sum()) for q in QUARTERS}
    by_place = {p: int((place == p).sum()) for p in PLACES}
    assert seen.sum() < people
    return case, by_quarter, by_place


def test_period_and_place_are_separate_breakdowns_each_row_with_interval_and_verdict(tmp_path: Path) -> None:
    case, by_quarter, by_place = _build(tmp_path / "case", place_known=1.0)
    result = estimate_populations(case, method="loglinear", by="none", link_draws=0, store=False).headline
    data = result.to_dict()
    period, place = data["breakdowns"]["period"], data["breakdowns"]["place"]
    assert period["made"] and place["made"] and period["known"] == 1.0
    assert [r["label"] for r in period["rows"]] == list(QUARTERS)  # time order
    documented = sum(r["documented"] for r in period["rows"])
    assert documented == result.total.documented == sum(r["documented"] for r in place["rows"])
    for rows, truth in ((period["rows"], by_quarter), (place["rows"], by_place)):
        covered = sum(r["lower"] <= truth[r["label"]] <= r["upper"] for r in rows)
        assert covered >= len(rows) - 1, rows
        for r in rows:
            assert r["lists"] == 3 and r["verdict"]["kind"] in ("solid", "care", "lower_bound")
            assert r["range"]["lower"] is not None and r["range"]["chao_lower"] is not None
    # the rows add up to their own total, stratified by that covariate alone; never to another population
    assert period["total"]["documented"] == documented
    assert abs(period["total"]["estimate"] - sum(by_quarter.values())) < 0.15 * sum(by_quarter.values())
    # the north, which the social list rarely reaches, is estimated on its own and holds more of the missed
    north, south = (next(r for r in place["rows"] if r["label"] == p) for p in ("north", "south"))
    assert north["estimate"] - north["documented"] > south["estimate"] - south["documented"]


def test_a_covariate_the_lists_hardly_record_gives_no_breakdown_and_says_why(tmp_path: Path) -> None:
    case, _, _ = _build(tmp_path / "case", place_known=0.2)
    out = runner.invoke(app, ["estimate", str(case.path), "--method", "loglinear", "--by", "none", "--link-draws", "0",
                              "--no-models", "--json"])
    assert out.exit_code == 0, out.output
    made = json.loads(out.stdout)["breakdowns"]
    assert made["period"]["made"] and not made["place"]["made"]
    assert "recorded for 2" in made["place"]["why"] and "too few" in made["place"]["why"]
    assert made["place"]["rows"] == []
    text = runner.invoke(app, ["estimate", str(case.path), "--method", "loglinear", "--by", "none", "--link-draws",
                               "0", "--no-models", "--breakdowns", "period"])
    assert text.exit_code == 0, text.output
    assert "Killed by period (quarter of the event)" in text.stdout and "2024Q3" in text.stdout
    assert "by place" not in text.stdout
    none = runner.invoke(app, ["estimate", str(case.path), "--method", "loglinear", "--by", "none", "--link-draws",
                               "0", "--breakdowns", "none", "--json"])
    assert none.exit_code == 0 and json.loads(none.stdout)["breakdowns"] == {}


def test_bad_breakdown_is_refused_before_any_work(tmp_path: Path) -> None:
    assert parse_breakdowns(None) == ("period", "place") and parse_breakdowns("none") == ()
    with pytest.raises(ConfigError, match="--breakdowns month: use none or any of period, place"):
        parse_breakdowns("period,month")
    case, _, _ = _build(tmp_path / "case", place_known=1.0)
    bad = runner.invoke(app, ["estimate", str(case.path), "--breakdowns", "month"])
    assert bad.exit_code == 1 and "ConfigError: --breakdowns month" in bad.output
    assert case.runs("estimate").empty


# Demo-like places: neighbourhoods, camps and governorates in two scripts, and a tail of rare places.
MESSY = {"Jabalia camp": "North Gaza", "مخيم جباليا": "North Gaza", "Beit Lahia": "North Gaza", "بيت لاهيا": "North Gaza",
         "Rafah": "Rafah", "رفح": "Rafah", "تل السلطان": "Rafah", "Rimal": "Gaza", "الرمال": "Gaza",
         "Street 9": "other places", "Beit Safafa": "other places", "Khan Yunis": "other places"}


def test_messy_places_are_grouped_into_readable_governorates_and_other_places(tmp_path: Path) -> None:
    rng = np.random.default_rng(7)
    weights = np.array([4, 3, 2, 2, 5, 3, 2, 3, 2, 0.2, 0.2, 0.3])
    place = rng.choice(list(MESSY), size=2400, p=weights / weights.sum())
    caught = rng.random((len(place), 3)) < np.array([0.45, 0.4, 0.35])
    rows, record_id = [], 0
    for k, name in enumerate(LISTS):
        for row, person in enumerate(np.flatnonzero(caught[:, k]), start=1):
            record_id += 1
            rows.append({"record_id": record_id, "source": name, "row": row, "file_hash": name, "status": "killed",
                         "age": 30, "sex": "male", "run_id": "import-1", "place": place[person], "person": person})
    case = Case.init(tmp_path / "case")
    store_linked(case, pd.DataFrame(rows), LISTS, caught.sum(axis=0))
    result = estimate_populations(case, method="loglinear", by="none", link_draws=0, store=False, models=False,
                                  breakdowns="place").headline
    made = result.to_dict()["breakdowns"]["place"]
    assert made["made"] and "other places" in made["why"] and "50 or more persons on two or more lists" in made["why"]
    labels = [r["label"] for r in made["rows"]]
    # the largest governorate first, "other places" last; no 'A+B+C' label, no script mixed in a label
    assert labels == ["North Gaza", "Rafah", "Gaza", "other places"]
    seen = caught.any(axis=1)
    truth = pd.Series([MESSY[p] for p in place[seen]]).value_counts()
    assert {r["label"]: r["documented"] for r in made["rows"]} == truth.to_dict()
