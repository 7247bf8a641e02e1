"""Headline, shares, grouped warnings and the methods text, from plain tables."""

from __future__ import annotations

import math
import re

import pandas as pd
import pytest

from undercount.report.data import LinkageSummary, linkage_info, review_band, stratum_label
from undercount.report.summary import age_range, grouped_warnings, headline, shares
from undercount.report.text import fmt_interval, methods_text


def _rows(strata: list[tuple[str, float, float, float | None, int]], warnings: dict[str, list[str]] | None = None):
    warnings = warnings or {}
    rows = []
    for stratum, est, lo, hi, doc in strata:
        rows.append({"stratum": stratum, "label": stratum_label(stratum), "documented": doc, "estimate": est,
                     "lower": lo, "upper": hi, "estimable": True, "is_total": stratum == "total",
                     "warnings": warnings.get(stratum, []), "method": "loglinear", "model": "[12]", "reason": None,
                     "level": 0.95, "details": {}, "linkage": {"linkage_share": 0.25} if stratum == "total" else {}})
    return pd.DataFrame(rows)


STRATA = [("total", 300.0, 250.0, 400.0, 200), ("age_group=0-17", 120.0, 100.0, 160.0, 70),
          ("age_group=18-59", 130.0, 110.0, 170.0, 100), ("age_group=60+", 50.0, 40.0, 70.0, 30)]


def test_stratum_labels_and_age_ranges() -> None:
    assert stratum_label("age_group=0-17|sex=female") == "age 0-17, female"
    assert stratum_label("total") == "All persons"
    assert stratum_label("period=2024Q1") == "period 2024Q1"
    assert age_range("0-17") == (0, 17) and age_range("60+") == (60, math.inf) and age_range("<18") == (0, 17)
    assert age_range("unknown") is None


def test_headline_undercount_and_linkage_share() -> None:
    head = headline(200, _rows(STRATA))
    assert head.estimable and head.estimate == 300 and head.undercount == 100
    assert head.undercount_lower == 50 and head.undercount_upper == 200
    assert head.linkage_share == 0.25 and head.model == "[12]"
    assert not headline(200, pd.DataFrame()).estimable


def test_shares_documented_and_estimated() -> None:
    persons = pd.DataFrame({"age": [5, 10, 30, 40, 61, 70, None], "sex": ["male", "female", "female", "male",
                                                                            "female", "male", "female"]})
    children, women, sixty, sixty_five = shares(persons, _rows(STRATA))
    assert (children.count, children.base) == (2, 6) and children.documented == pytest.approx(1 / 3)
    assert children.estimated == pytest.approx(120 / 300)
    assert children.lower == pytest.approx(100 / (100 + 170 + 70)) and children.upper == pytest.approx(160 / (160 + 150))
    assert (women.count, women.base) == (2, 6) and women.estimated is None  # strata are not by sex
    assert sixty.estimated == pytest.approx(50 / 300)
    assert sixty_five.documented == pytest.approx(1 / 6) and sixty_five.estimated is None  # 60+ straddles 65


def test_open_interval_widens_the_share() -> None:
    rows = _rows([("total", 300.0, 250.0, None, 200), ("age_group=0-17", 120.0, 100.0, None, 70),
                  ("age_group=18+", 180.0, 150.0, 220.0, 130)])
    children = shares(pd.DataFrame({"age": [1.0], "sex": ["male"]}), rows)[0]
    assert children.upper == 1.0 and 0 < children.lower < children.estimated


def test_warnings_repeated_across_strata_are_grouped() -> None:
    rows = _rows(STRATA, {"total": ["R-hat 1.10 too high"], "age_group=0-17": ["R-hat 1.20 too high", "sparse"],
                          "age_group=60+": ["R-hat 1.07 too high"]})
    assert grouped_warnings(rows) == [
        "agreement measure 1.10 too high (the total and 2 groups; the figures differ, see the estimates)",
        "age 0-17: sparse",
    ]


def test_review_band_and_linkage_info() -> None:
    assert review_band(0.9) == pytest.approx((0.45, 0.95))
    assert linkage_info({"linkage": {"linkage_share": 0.3, "draws": 20}})["draws"] == 20
    assert linkage_info({"linkage_share": 0.1})["linkage_share"] == 0.1
    assert linkage_info(None) == {"linkage_share": None}
    assert fmt_interval(10, None) == "10 to no finite upper limit"


@pytest.mark.parametrize("k, phrase", [(2, "only two lists"), (3, "With three lists"), (5, "With 5 lists")])
def test_methods_text_states_what_the_lists_can_test(k: int, phrase: str) -> None:
    sources = pd.DataFrame({"name": [f"list{i}" for i in range(k)], "row_count": [100] * k})
    link = LinkageSummary(linked=True, records=300, persons=250, multi_list=40, duplicates_within=12,
                          threshold=0.9, band=(0.45, 0.95), waiting=7)
    rows = _rows(STRATA)
    text = methods_text(sources, link, headline(250, rows), rows, {"params": {"by": ["age_group"]}})
    joined = " ".join(text["what"] + text["caveats"])
    assert phrase in joined and "heterogeneity" in joined
    assert "12 were repeat entries" in joined and "250 distinct persons" in joined and "7 candidate links" in joined
    assert "estimated total of all victims is 300 (95% interval 250 to 400)" in joined
    assert "3 groups defined by age group" in joined and "25% of the interval" in joined


def test_automatic_method_counts_its_groups_in_good_english() -> None:
    from undercount.report.text import _method_name

    rows = _rows(STRATA)
    rows["model"] = ["sum of 3 strata", "lcmcr K=10", "lcmcr K=10", "loglinear []"]
    text = _method_name("auto", rows)
    assert "(2 groups)" in text and "(1 group)" in text and "(1 groups)" not in text


def test_headline_says_what_the_correction_for_missed_links_did() -> None:
    rows = _rows(STRATA)
    assert headline(200, rows).correction_text is None  # no correction stored: nothing said
    total = rows.index[rows["is_total"]][0]
    rows.at[total, "details"] = {"correction": {"kind": "search sample", "verified": True, "sample_id": "S1",
                                                "answered": 300, "with_found": 41, "shift": -812.0,
                                                "variance_share": 0.4, "searches_for_10pct": 572}}
    text = headline(200, rows).correction_text or ""
    assert "300 persons searched, 41 found" in text and "-812" in text and "40% of the interval's variance" in text
    assert "about 572 answered searches" in text
    rows.at[total, "details"] = {"correction": {"kind": "model", "verified": False, "shift": -95.0}}
    assert "unverified" in (headline(200, rows).correction_text or "")


def test_caveats_name_lists_found_negatively_dependent() -> None:
    sources = pd.DataFrame({"name": ["hospital", "survey", "social"], "row_count": [100] * 3})
    link = LinkageSummary(linked=True, records=300, persons=250, multi_list=40, duplicates_within=12,
                          threshold=0.9, band=(0.45, 0.95), waiting=7)
    rows = _rows(STRATA)
    assert not any("fewer people in common" in c for c in methods_text(sources, link, headline(250, rows), rows, {})["caveats"])
    total = rows.index[rows["is_total"]][0]
    rows.at[total, "details"] = {"negative_pairs": [{"lists": ["hospital", "survey"], "log_odds_ratio": -0.7, "se": 0.15,
                                                     "z": -4.7, "persons": 900}]}
    head = headline(250, rows)
    assert head.dependence[0]["lists"] == ["hospital", "survey"]
    caveats = methods_text(sources, link, head, rows, {})["caveats"]
    assert any("fewer people in common" in c and "(hospital and survey;" in c for c in caveats)


def test_statisticians_warnings_are_said_in_plain_words() -> None:
    from undercount.estimate.lcmcr import convergence_warning
    from undercount.report.summary import plain_warning

    text = plain_warning(convergence_warning(1.05, 120.0, budget=120.0, iterations=20_000, seconds=118.0))
    assert not re.search(r"R-hat|\bESS\b|ConvergenceWarning|chains", text)
    assert text.startswith("the simulation's separate runs still disagree (agreement measure 1.050; it should be at most 1.01)")
    assert "too few independent simulated values for reliable interval ends (120; at least 400 are needed)" in text
    assert "in 118 seconds of computing; its time limit (120 seconds of computing) ran out" in text
    assert text.endswith("The estimate is unreliable")
    total = plain_warning("ConvergenceWarning: the chains of 2 stratum(s) (age 0-17, age 60+) did not converge within "
                          "their time budget, so the total is unreliable")
    assert total == ("the computer simulation did not settle within its time limit in 2 group(s) (age 0-17, age 60+), "
                     "so the total is unreliable")
