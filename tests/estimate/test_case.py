"""Estimating a linked case: strata, imputation of unknown ages, pooling, storage, sparse merging."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from undercount.errors import ConfigError
from undercount.estimate.case import estimate_case
from undercount.estimate.strata import age_group, merge_sparse, parse_by
from undercount.store import Case

FAST = {"method": "loglinear", "imputations": 4}


def test_unstratified_total_is_stored(linked_case: tuple[Case, int]) -> None:
    case, truth = linked_case
    res = estimate_case(case, by="none", **FAST)
    assert res.strata == {} and res.by == []
    assert res.total.lower < truth < res.total.upper
    stored = case.query("SELECT * FROM uc_estimates WHERE run_id = ?", [res.run_id])
    assert stored["stratum"].tolist() == ["total"]
    assert json.loads(stored["result"].iloc[0])["estimate"] == pytest.approx(res.total.estimate)
    assert case.current_run("estimate") == res.run_id


@pytest.mark.parametrize("imputations", [0, -3])
def test_fewer_than_one_imputation_is_refused(linked_case: tuple[Case, int], imputations: int) -> None:
    from undercount.estimate.linkage import estimate_with_linkage

    case, _ = linked_case
    for estimate in (estimate_case, estimate_with_linkage):
        with pytest.raises(ConfigError, match=f"imputations {imputations}: use 1 or more"):
            estimate(case, imputations=imputations, store=False)


def test_negative_seed_or_link_draws_are_refused(linked_case: tuple[Case, int]) -> None:
    from undercount.estimate.linkage import estimate_with_linkage

    case, _ = linked_case
    for estimate in (estimate_case, estimate_with_linkage):
        with pytest.raises(ConfigError, match="seed -2: must be 0 or more"):
            estimate(case, seed=-2, store=False)
    with pytest.raises(ConfigError, match="link_draws -1: use 0 or more"):  # was taken silently as 0
        estimate_with_linkage(case, link_draws=-1, store=False)


def test_default_strata_by_age_with_imputation(linked_case: tuple[Case, int]) -> None:
    case, truth = linked_case
    res = estimate_case(case, **FAST)
    assert res.by == ["age_group"]
    assert set(res.strata) == {"age_group=0-17", "age_group=18-59", "age_group=60+"}
    assert res.replicates == 4
    total = sum(r.estimate for r in res.strata.values())
    assert res.total.estimate == pytest.approx(total, rel=0.03)  # the median of the summed draws, near the sum
    assert res.total.lower < truth < res.total.upper
    # children are rarely on 'social': stratifying raises the estimate over the unstratified one
    flat = estimate_case(case, by="none", store=False, **FAST)
    assert res.total.estimate > flat.total.estimate
    assert res.to_dict()["strata"]["age_group=0-17"]["documented"] > 0


def test_imputation_uncertainty_widens_the_interval(linked_case: tuple[Case, int]) -> None:
    case, _ = linked_case
    one = estimate_case(case, imputations=1, method="loglinear", store=False)
    many = estimate_case(case, imputations=6, method="loglinear", store=False)
    assert one.replicates == 1 and many.replicates == 6
    kids_one, kids_many = one.strata["age_group=0-17"], many.strata["age_group=0-17"]
    assert len(set(kids_many.details["replicate_estimates"])) > 1
    assert (kids_many.upper - kids_many.lower) > 0.9 * (kids_one.upper - kids_one.lower)


def test_identical_linkages_pool_to_the_plain_result(linked_case: tuple[Case, int]) -> None:
    case, _ = linked_case
    person = case.clusters().set_index("record_id")["person_id"]
    plain = estimate_case(case, by="none", method="loglinear", store=False)
    pooled = estimate_case(case, by="none", method="loglinear", store=False, assignments=[person, person])
    assert pooled.replicates == 2
    assert pooled.total == plain.total
    stratified = estimate_case(case, method="loglinear", imputations=3, store=False)
    twice = estimate_case(case, method="loglinear", imputations=3, store=False, assignments=[person, person])
    assert twice.replicates == 6
    assert twice.total.estimate == pytest.approx(stratified.total.estimate)
    assert twice.strata["age_group=0-17"].estimate == pytest.approx(stratified.strata["age_group=0-17"].estimate)


def test_a_different_linkage_moves_the_documented_count(linked_case: tuple[Case, int]) -> None:
    case, _ = linked_case
    person = case.clusters().set_index("record_id")["person_id"]
    split = person.copy()
    split.iloc[::7] = "X" + split.index[::7].astype(str)  # some records become persons of their own
    res = estimate_case(case, by="none", method="loglinear", store=False, assignments=[person, split])
    low, high = res.total.details["documented_range"]
    assert low < high
    assert any("documented count varies" in w for w in res.total.warnings)


def test_sparse_strata_merge_with_adjacent_age_group() -> None:
    rng = np.random.default_rng(0)
    matrix = pd.DataFrame((rng.random((400, 3)) < 0.5).astype(int), columns=list("ABC"))
    matrix = matrix[matrix.sum(axis=1) > 0]
    labels = pd.Series("age_group=18-59", index=matrix.index)
    labels.iloc[:10] = "age_group=0-17"
    labels.iloc[10:200] = "age_group=60+"
    mapping, reasons = merge_sparse(matrix, labels)
    assert mapping["age_group=0-17"] == "age_group=0-17+18-59"
    assert mapping["age_group=60+"] == "age_group=60+"
    assert reasons["age_group=0-17"].startswith("too sparse (10 persons")


def test_by_parsing_and_age_groups() -> None:
    assert parse_by("none") == []
    assert parse_by(None) is None
    assert parse_by("age_group, sex") == ["age_group", "sex"]
    with pytest.raises(ConfigError, match="--by colour"):
        parse_by("colour")
    assert age_group(pd.Series([3, 17, 18, 59, 60, None])).tolist() == ["0-17", "0-17", "18-59", "18-59", "60+", None]


def test_a_total_combines_draws_not_medians() -> None:
    """Skewed strata: the total's median is the median of the summed draws, above the sum of the medians."""
    from undercount.estimate.case import _sum_strata
    from undercount.estimate.results import EstimateResult

    rng = np.random.default_rng(0)
    strata, draws = {}, {}
    for name in ("a", "b", "c"):
        d = 100 + rng.lognormal(3.0, 1.0, size=20_000)
        strata[name] = EstimateResult("lcmcr", 100, float(np.median(d)), float(np.quantile(d, 0.025)),
                                      float(np.quantile(d, 0.975)), draws=d)
        draws[name] = d
    total, summed = _sum_strata(strata, draws, 0.95)
    medians = sum(r.estimate for r in strata.values())
    assert total.estimate == pytest.approx(float(np.median(summed)), rel=1e-3)
    assert total.estimate > medians + 10


def test_pooled_replicates_bring_each_stratum_to_convergence(linked_case: tuple[Case, int]) -> None:
    case, truth = linked_case
    res = estimate_case(case, method="lcmcr", imputations=4, store=False)
    for name, stratum in res.strata.items():
        sampler = stratum.details["sampler"]
        assert sampler["converged"] and sampler["rhat"] <= 1.01 and sampler["ess_bulk"] >= 400, name
        assert sampler["replicate_fits"] >= 2 and sampler["targets"]["time_budget"] == 240.0
        assert not any(w.startswith("ConvergenceWarning") for w in stratum.warnings)
    assert res.total.details["converged"] is True
    assert res.total.lower < truth < res.total.upper
    rushed = estimate_case(case, method="lcmcr", imputations=4, store=False,
                           options={"time_budget": 0.05, "rhat_max": 1.0001})
    assert rushed.total.details["converged"] is False
    assert any("the total is unreliable" in w for w in rushed.total.warnings)
