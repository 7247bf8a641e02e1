"""Pooling replicates when some have no finite upper limit (issue 8): never printed as a number, never
made infinite by one linkage draw in twenty."""

from __future__ import annotations

import numpy as np
import pytest

from undercount.estimate.auto import approximate_draws
from undercount.estimate.case import _pool, _sum_strata, pooling_draws
from undercount.estimate.results import EstimateResult

BOUNDED = EstimateResult("auto", 150, 240.0, 190.0, 400.0)
BOUNDED_B = EstimateResult("auto", 152, 236.0, 192.0, 396.0)
UNBOUNDED = EstimateResult("auto", 150, 250.0, 190.0, None)


def _pooled(unbounded: int, total: int = 20) -> EstimateResult:
    rng = np.random.default_rng(3)
    results = [UNBOUNDED] * unbounded + [BOUNDED, BOUNDED_B] * ((total - unbounded) // 2)
    results += [BOUNDED] * (total - len(results))
    return _pool(results, [pooling_draws(r, 2000, rng) for r in results], "auto")


def test_bounded_results_get_the_usual_draws() -> None:
    a = pooling_draws(BOUNDED, 500, np.random.default_rng(1))
    b = approximate_draws(BOUNDED, 500, np.random.default_rng(1))
    assert a is not None and b is not None and np.array_equal(a, b)
    assert pooling_draws(EstimateResult.not_estimable("auto", 10, "no overlap"), 50, np.random.default_rng(1)) is None


def test_unbounded_draws_keep_their_lower_end_and_an_infinite_tail() -> None:
    draws = pooling_draws(UNBOUNDED, 4000, np.random.default_rng(2))
    assert draws is not None
    share = float(np.mean(np.isinf(draws)))
    assert 0.05 <= share < 0.052  # (1 - level) of the mass beyond any bound
    finite = draws[np.isfinite(draws)]
    assert np.quantile(finite, 0.025 / 0.95) == pytest.approx(UNBOUNDED.lower, rel=0.05)
    assert np.median(draws) == pytest.approx(UNBOUNDED.estimate, rel=0.03)


def test_all_bounded_pool_is_finite_and_wider_than_none() -> None:
    pooled = _pooled(0)
    assert pooled.upper is not None and pooled.lower is not None
    assert pooled.lower == pytest.approx(190.0, rel=0.03) and pooled.upper == pytest.approx(400.0, rel=0.05)
    assert pooled.details["replicates_without_upper"] == 0


def test_one_unbounded_draw_in_twenty_leaves_a_finite_upper_limit() -> None:
    pooled = _pooled(1)
    assert pooled.upper is not None and pooled.upper >= 400.0 * 0.95
    assert pooled.draws is None  # its mixed draws hold +inf: they are not handed on
    assert pooled.details["replicates_without_upper"] == 1
    assert any("1 of 20 replicates have no finite upper limit" in w for w in pooled.warnings)
    # more unbounded draws push the upper limit out, never in
    assert _pooled(5).upper >= pooled.upper  # type: ignore[operator]


def test_half_the_draws_unbounded_leave_no_finite_upper_limit() -> None:
    for k in (10, 15, 20):
        pooled = _pooled(k)
        assert pooled.upper is None and pooled.draws is None
        assert pooled.lower is not None and pooled.lower <= 200.0
        assert "None" not in pooled.summary() and "no finite upper limit" in pooled.summary()


def test_a_stratum_without_upper_limit_leaves_the_total_without_one() -> None:
    rng = np.random.default_rng(4)
    results = {"a": BOUNDED, "b": UNBOUNDED}
    total, summed = _sum_strata(results, {k: pooling_draws(r, 2000, rng) for k, r in results.items()}, 0.95)
    assert total.upper is None and total.draws is None
    assert summed is not None and np.isinf(summed).mean() >= 0.05
    # the median of the summed draws (+inf draws included), not the sum of the strata's medians (490)
    assert total.estimate == pytest.approx(float(np.quantile(summed, 0.5, method="inverted_cdf")))
    assert total.lower is not None and total.lower < total.estimate
    both, _ = _sum_strata({"a": BOUNDED, "c": BOUNDED},
                          {k: pooling_draws(BOUNDED, 2000, rng) for k in ("a", "c")}, 0.95)
    assert both.upper is not None and both.upper > 400.0


def test_a_finite_pooled_interval_drops_the_replicates_claims_of_no_upper_limit() -> None:
    # The replicates' own warnings about their missing upper limit must not reach a pooled result
    # that has one: the report printed "neither has the total" beside a finite interval.
    rng = np.random.default_rng(5)
    unbounded = UNBOUNDED.with_warning("a stratum has no finite upper limit: neither has the total")
    unbounded = unbounded.with_warning("no finite upper limit: at least one plausible model cannot bound N from above")
    results = [unbounded] + [BOUNDED.with_warning("model uncertainty")] * 19
    pooled = _pool(results, [pooling_draws(r, 2000, rng) for r in results], "auto")
    assert pooled.upper is not None
    assert "model uncertainty" in pooled.warnings
    assert [w for w in pooled.warnings if "no finite upper limit" in w] == [
        "1 of 20 replicates have no finite upper limit; the pooled interval is finite because they hold less "
        "than its upper tail"]
    # Without a finite pooled upper limit the replicates' warnings stay.
    half = [unbounded] * 10 + [BOUNDED] * 10
    kept = _pool(half, [pooling_draws(r, 2000, rng) for r in half], "auto")
    assert kept.upper is None and any("neither has the total" in w for w in kept.warnings)


def test_nobody_undocumented_pools_to_the_documented_count_exactly() -> None:
    # FEBRL4: all 5,000 on both lists; an estimate of nobody missing is not n + 1e-10
    none_missing = EstimateResult("auto", 5000, 5000.0, 5000.0, 5000.0)
    some = EstimateResult("auto", 5000, 5002.0, 5000.0, 5005.0)
    rng = np.random.default_rng(4)
    draws = approximate_draws(none_missing, 200, rng)
    assert draws is not None and (draws == 5000.0).all()
    pooled = _pool([none_missing, some] * 5, [pooling_draws(r, 400, rng) for r in [none_missing, some] * 5], "auto")
    assert pooled.lower == 5000.0 and pooled.upper is not None and 5000.0 < pooled.upper <= 5005.0
