"""The fast paths give what the slow ones gave: compiled Poisson fits, the check of clean tables,
and fitting each distinct stratum table once."""

from __future__ import annotations

import itertools
import math

import numpy as np
import pandas as pd
import pytest

from undercount.errors import InputError
from undercount.estimate import case as case_module
from undercount.estimate.glm import fit_poisson, poisson_deviance
from undercount.estimate.histories import (
    _already_clean,
    capture_table,
    table_counts,
    table_from_counts,
    validate_table,
)
from undercount.estimate.loglinear import design
from undercount.estimate.registry import choose
from undercount.estimate.results import EstimateResult


def _count_calls(monkeypatch: pytest.MonkeyPatch, module: object, name: str) -> list[int]:
    """Wrap ``module.name`` so that each call appends to the list returned (the calls still run)."""
    calls: list[int] = []
    real = getattr(module, name)

    def counting(*args: object, **kwargs: object) -> object:
        calls.append(1)
        return real(*args, **kwargs)

    monkeypatch.setattr(module, name, counting)
    return calls


def _numpy_irls(x: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, float]:
    """R's glm IRLS written with numpy calls (the implementation before the compiled one)."""
    mu = y + 0.1
    eta = np.log(mu)
    dev_old = 2 * np.sum(np.where(y > 0, y * np.log(np.where(y > 0, y, 1) / mu), 0) - (y - mu))
    beta = np.zeros(x.shape[1])
    for _ in range(25):
        z = eta + (y - mu) / mu
        xw = x * mu[:, None]
        beta = np.linalg.solve(x.T @ xw, xw.T @ z)
        eta = x @ beta
        mu = np.exp(eta)
        dev = 2 * np.sum(np.where(y > 0, y * np.log(np.where(y > 0, y, 1) / mu), 0) - (y - mu))
        if abs(dev - dev_old) / (abs(dev) + 0.1) < 1e-8:
            break
        dev_old = dev
    return beta, float(dev)


@pytest.mark.parametrize("k", [3, 4, 5])
def test_compiled_poisson_fit_equals_numpy_irls(k: int) -> None:
    rng = np.random.default_rng(k)
    pairs = list(itertools.combinations(range(k), 2))
    for _ in range(10):
        terms = [p for p in pairs if rng.random() < 0.4]
        x = design(k, terms)
        y = rng.poisson(rng.uniform(3, 60, size=x.shape[0])).astype(float) + 1
        beta, dev = _numpy_irls(x, y)
        fit = fit_poisson(x, y)
        assert fit.converged
        np.testing.assert_allclose(fit.beta, beta, rtol=1e-7, atol=1e-9)
        assert fit.deviance == pytest.approx(dev, rel=1e-7, abs=1e-9)
        assert poisson_deviance(x, y) == pytest.approx(dev, rel=1e-7, abs=1e-9)
        cov = np.linalg.inv(x.T @ (x * fit.mu[:, None]))
        np.testing.assert_allclose(fit.cov, cov, rtol=1e-7)
        loglik = float(np.sum(y * np.log(fit.mu) - fit.mu) - sum(math.lgamma(v + 1) for v in y))
        assert fit.loglik == pytest.approx(loglik, rel=1e-9)


def test_warm_start_reaches_the_same_fit() -> None:
    x = design(3, [(0, 1)])
    y = np.array([50.0, 40, 10, 30, 8, 6, 2])
    cold = fit_poisson(x, y)
    warm = fit_poisson(x, y, beta0=cold.beta + 0.05)
    np.testing.assert_allclose(warm.beta, cold.beta, rtol=1e-6)


def _tables() -> list[pd.DataFrame]:
    rng = np.random.default_rng(3)
    out = []
    for k in (2, 3, 5):
        matrix = pd.DataFrame(rng.integers(0, 2, size=(400, k)).astype(np.int8), columns=[f"L{j}" for j in range(k)])
        out.append(capture_table(matrix))
    return out


@pytest.mark.parametrize("table", _tables())
def test_clean_tables_take_the_fast_path_and_match_the_full_check(table: pd.DataFrame) -> None:
    assert _already_clean(table) is not None
    fast = validate_table(table)
    assert fast is not table  # a copy: callers may change what they get
    # the same table with int64 columns, shuffled rows and a stray index goes the full way
    slow_input = table.astype(np.int64).sample(frac=1.0, random_state=1)
    assert _already_clean(slow_input) is None
    pd.testing.assert_frame_equal(validate_table(slow_input), fast)
    assert table_counts(fast)[0] == table.shape[1] - 1
    k, y, n = table_counts(slow_input)
    assert (k, n) == (table.shape[1] - 1, int(table["count"].sum()))
    np.testing.assert_array_equal(table_counts(fast)[1], y)


@pytest.mark.parametrize("spoil", ["zero count", "duplicate", "all zero", "two", "empty list", "unsorted"])
def test_tables_that_are_not_clean_are_checked_in_full(spoil: str) -> None:
    table = _tables()[1].copy()
    if spoil == "zero count":
        table.loc[0, "count"] = 0
    elif spoil == "duplicate":
        table.loc[1, ["L0", "L1", "L2"]] = table.loc[0, ["L0", "L1", "L2"]].to_numpy()
    elif spoil == "all zero":
        table.loc[0, ["L0", "L1", "L2"]] = 0
    elif spoil == "two":
        table.loc[0, "L0"] = 2
    elif spoil == "empty list":
        table = table[table["L2"] == 0].reset_index(drop=True)
    else:
        table = table.iloc[::-1].reset_index(drop=True)
    assert _already_clean(table) is None
    if spoil in ("duplicate", "all zero", "two", "empty list"):
        with pytest.raises(InputError):
            validate_table(table)
    else:
        assert len(validate_table(table)) == len(table) - (spoil == "zero count")


def _table_from_counts_before(counts: np.ndarray, lists: list[str]) -> pd.DataFrame:
    """table_from_counts as it was until session 16: every cell's row, then the empty ones filtered out."""
    k = len(lists)
    idx = np.arange(1, 2**k)
    pats = (idx[:, None] >> np.arange(k)[None, :]) & 1
    table = pd.DataFrame(pats.astype(np.int8), columns=list(lists))
    table["count"] = np.asarray(counts).round().astype(np.int64)
    return table[table["count"] > 0].reset_index(drop=True)


@pytest.mark.parametrize("k", [2, 3, 4, 6])
def test_table_from_counts_builds_the_frame_it_built_before(k: int) -> None:
    rng = np.random.default_rng(k)
    lists = [f"L{j}" for j in range(k)]
    for trial in range(40):
        counts = rng.integers(0, 5, size=2**k - 1) * rng.integers(0, 2, size=2**k - 1)
        if trial % 3 == 0:  # real-valued counts are rounded
            counts = counts + rng.uniform(-0.45, 0.45, size=counts.shape)
        if trial == 5:
            counts = np.zeros(2**k - 1)
        got, before = table_from_counts(counts, lists), _table_from_counts_before(counts, lists)
        pd.testing.assert_frame_equal(got, before, check_exact=True)
        assert type(got.index) is type(before.index)


def test_a_stratum_table_is_keyed_on_its_counts_and_fitted_as_capture_table_builds_it(
        monkeypatch: pytest.MonkeyPatch) -> None:
    """_estimate_stratum counts the patterns in numpy and builds the table only to fit it: the fit gets
    the table capture_table makes of the lists that name anyone, and equal tables share one fit."""
    rng = np.random.default_rng(8)
    matrix = pd.DataFrame(rng.integers(0, 2, size=(300, 4)).astype(np.int8), columns=["a", "b", "c", "d"])
    matrix["c"] = 0  # names no one here: left out, with a warning
    matrix = matrix[matrix.sum(axis=1) > 0]
    seen: list[pd.DataFrame] = []
    real = case_module._estimate_one

    def spy(table: pd.DataFrame, persons: int, **kwargs: object) -> EstimateResult:
        seen.append(table)
        return real(table, persons, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(case_module, "_estimate_one", spy)
    fitted: dict[tuple[object, ...], EstimateResult] = {}
    fitting = choose("chao")
    first = case_module._estimate_stratum(matrix, fitting=fitting, seed=0, level=0.95, fitted=fitted)
    pd.testing.assert_frame_equal(seen[0], capture_table(matrix.drop(columns="c")), check_exact=True)
    assert any("list c names no one" in w for w in first.warnings)
    shuffled = matrix.sample(frac=1.0, random_state=1)  # the same table from persons in another order
    again = case_module._estimate_stratum(shuffled, fitting=fitting, seed=0, level=0.95, fitted=fitted)
    assert len(seen) == 1 and again.estimate == first.estimate
    moved = matrix.copy()
    moved.iloc[0] = [1, 1, 0, 1] if moved.iloc[0].tolist() != [1, 1, 0, 1] else [1, 0, 0, 0]
    case_module._estimate_stratum(moved, fitting=fitting, seed=0, level=0.95, fitted=fitted)
    assert len(seen) == 2  # one person's pattern changed: another table, fitted
    alone = pd.DataFrame({"a": [1, 0, 1], "b": [0, 1, 0]}, dtype=np.int8)  # no one on both lists
    result = case_module._estimate_stratum(alone, fitting=fitting, seed=0, level=0.95, fitted=fitted)
    assert not result.estimable and "no person is on two or more lists" in (result.reason or "")


def test_each_distinct_stratum_table_is_fitted_once(monkeypatch: pytest.MonkeyPatch) -> None:
    rng = np.random.default_rng(5)
    matrix = pd.DataFrame(rng.integers(0, 2, size=(600, 3)).astype(np.int8), columns=["a", "b", "c"])
    matrix = matrix[matrix.sum(axis=1) > 0]
    labels = pd.Series(np.where(np.arange(len(matrix)) % 2 == 0, "x", "y"), index=matrix.index)
    moved = labels.copy()
    moved.iloc[0] = "y"  # a person moves from stratum x to y: both tables change
    extra = pd.concat([matrix, pd.DataFrame({"a": [1], "b": [1], "c": [1]}, index=[10_000]).astype(np.int8)])
    extra_labels = pd.concat([labels, pd.Series(["y"], index=[10_000])])  # x as in the first, y changes
    calls = _count_calls(monkeypatch, case_module, "_estimate_one")
    fitting = choose("chao")
    strata, total, _ = case_module._estimate_replicates(
        [(matrix, labels), (matrix, moved), (extra, extra_labels), (matrix, labels.copy())],
        fitting=fitting, seed=0, level=0.95)
    # 2 tables, 2 new ones, then only stratum y is new; the last replicate repeats the first
    assert len(calls) == 5
    assert total.details["replicates"] == 4
    assert set(strata) == {"x", "y"}


def test_a_later_pass_takes_the_fits_of_tables_an_earlier_pass_met(monkeypatch: pytest.MonkeyPatch) -> None:
    """A run's passes (plain, corrected, pooled) share their stratum fits: a stratum whose table the
    correction left as it was is not fitted again, and takes exactly the earlier pass's result."""
    rng = np.random.default_rng(6)
    matrix = pd.DataFrame(rng.integers(0, 2, size=(600, 3)).astype(np.int8), columns=["a", "b", "c"])
    matrix = matrix[matrix.sum(axis=1) > 0]
    labels = pd.Series(np.where(np.arange(len(matrix)) % 2 == 0, "x", "y"), index=matrix.index)
    merged = matrix.drop(index=matrix.index[(labels == "y").to_numpy()][:3])  # stratum y changes, x does not
    calls = _count_calls(monkeypatch, case_module, "_estimate_one")
    fitting = choose("chao")
    fitted: case_module.Fitted = {}
    plain, _, _ = case_module._estimate_replicates([(matrix, labels)], fitting=fitting, seed=0, level=0.95,
                                                   fitted=fitted)
    assert len(calls) == 2
    corrected, _, _ = case_module._estimate_replicates([(merged, labels.loc[merged.index])], fitting=fitting, seed=0,
                                                       level=0.95, fitted=fitted)
    assert len(calls) == 3  # only y is fitted again
    assert corrected["x"] is plain["x"] and corrected["y"].documented == plain["y"].documented - 3
    case_module._estimate_replicates([(merged, labels.loc[merged.index])], fitting=fitting, seed=0, level=0.9,
                                     fitted=fitted)
    assert len(calls) == 5  # another level: nothing reused
    case_module._estimate_replicates([(matrix, labels)], fitting=fitting, seed=0, level=0.95)
    assert len(calls) == 7  # no run-level memo: fitted afresh


def test_own_average_ranks_equal_scipy_rankdata() -> None:
    stats = pytest.importorskip("scipy.stats")
    from undercount.estimate.diagnostics import _average_ranks

    rng = np.random.default_rng(21)
    for size in (1, 2, 7, 100, 1000):
        for values in (rng.normal(size=size), rng.integers(0, 5, size=size).astype(float),
                       np.full(size, 3.0), np.sort(rng.integers(0, 50, size=size)).astype(float)):
            np.testing.assert_array_equal(_average_ranks(values), stats.rankdata(values, method="average"))


def test_own_independence_test_equals_scipy_chi2_contingency() -> None:
    stats = pytest.importorskip("scipy.stats")
    from undercount.estimate.strata import _independence_p

    rng = np.random.default_rng(22)
    shapes = [(2, 2)] * 40 + [(2, 3), (2, 7), (3, 4), (5, 2), (4, 6)] * 8
    for rows, cols in shapes:
        table = rng.integers(1, rng.choice([4, 30, 500]), size=(rows, cols))
        if rng.random() < 0.3:  # a cell that differs from its expectation by under a half (Yates' cap)
            table[0, 0] = max(1, table[0, 0] // 50)
        expected = stats.chi2_contingency(table)[1]
        assert _independence_p(table) == pytest.approx(expected, rel=1e-9, abs=1e-300)
    # Yates' correction really is applied on 2x2 tables and only there.
    table = np.array([[12, 5], [3, 11]])
    assert _independence_p(table) == pytest.approx(stats.chi2_contingency(table, correction=True)[1], rel=1e-12)
    assert _independence_p(table) != pytest.approx(stats.chi2_contingency(table, correction=False)[1], rel=1e-3)


def test_strata_in_parallel_give_what_one_thread_gives(monkeypatch: pytest.MonkeyPatch) -> None:
    import os
    import warnings

    from undercount.errors import ConvergenceWarning
    from undercount.estimate.case import estimate_matrix

    rng = np.random.default_rng(8)
    size = 900
    heterogeneity = rng.uniform(0.15, 0.6, size=size)
    matrix = pd.DataFrame((rng.random((size, 3)) < heterogeneity[:, None]).astype(np.int8), columns=["a", "b", "c"])
    matrix = matrix[matrix.sum(axis=1) > 0]
    groups = np.array(["0-17", "18-59", "60+"])[np.arange(len(matrix)) % 3]
    labels = [pd.Series(groups, index=matrix.index)]
    shuffled = groups.copy()
    rng.shuffle(shuffled[:60])  # a second replicate: a few persons in other strata
    labels.append(pd.Series(shuffled, index=matrix.index))
    options = {"K": 4, "first_round": 2000, "burnin": 500, "time_budget": 1000.0, "rhat_max": 1.2, "ess_min": 50}
    runs = []
    for cores in (1, 4):
        monkeypatch.setattr(os, "cpu_count", lambda cores=cores: cores)
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            runs.append((estimate_matrix(matrix, labels, seed=3, method="lcmcr", options=options), caught))
        assert not [w for w in caught if issubclass(w.category, ConvergenceWarning)]
    (one, _), (many, _) = runs
    assert list(one[0]) == list(many[0]) == ["0-17", "18-59", "60+"]
    for name in one[0]:
        np.testing.assert_array_equal(one[0][name].draws, many[0][name].draws)
        assert one[0][name].details["sampler"]["passes"] == many[0][name].details["sampler"]["passes"]
    assert (one[1].estimate, one[1].lower, one[1].upper) == (many[1].estimate, many[1].lower, many[1].upper)
    # the filters the threads ran under are gone: a later convergence warning is shown again
    with pytest.warns(ConvergenceWarning):
        warnings.warn("ConvergenceWarning: test", ConvergenceWarning, stacklevel=1)


def test_replicates_start_warm_from_the_one_before_and_agree_with_cold_starts(monkeypatch: pytest.MonkeyPatch) -> None:
    import contextlib

    from undercount.estimate import lcmcr
    from undercount.estimate.case import estimate_matrix

    rng = np.random.default_rng(11)
    size = 1500
    heterogeneity = rng.uniform(0.1, 0.6, size=size)
    matrix = pd.DataFrame((rng.random((size, 3)) < heterogeneity[:, None]).astype(np.int8), columns=["a", "b", "c"])
    matrix = matrix[matrix.sum(axis=1) > 0]
    labels = []
    for r in range(4):  # replicates: a few persons change stratum
        groups = np.where(np.arange(len(matrix)) % 2 == 0, "x", "y")
        groups[rng.choice(len(matrix), size=10 * r, replace=False)] = "x"
        labels.append(pd.Series(groups, index=matrix.index))
    options = {"K": 5, "time_budget": 1000.0}
    starts: list[str] = []
    real = lcmcr._run_warm

    def spy(cells: object, K: int, a: float, b: float, cap: int, states: list[np.ndarray], warm: object,
            *args: object) -> object:
        starts.append("cold" if warm is None else "warm")
        return real(cells, K, a, b, cap, states, warm, *args)  # type: ignore[arg-type]

    monkeypatch.setattr(lcmcr, "_run_warm", spy)
    warm_strata, warm_total, _ = estimate_matrix(matrix, labels, seed=2, method="lcmcr", options=options,
                                                workers=1)  # the spies see this process only
    first_pass = starts[:8]
    assert first_pass.count("cold") == 2 and first_pass.count("warm") == 6  # two strata, one cold start each
    monkeypatch.setattr("undercount.estimate.case.warm_starts", contextlib.nullcontext)
    cold_strata, cold_total, _ = estimate_matrix(matrix, labels, seed=2, method="lcmcr", options=options,
                                                workers=1)
    for name in ("x", "y"):
        assert warm_strata[name].details["sampler"]["converged"]
        assert warm_strata[name].estimate == pytest.approx(cold_strata[name].estimate, rel=0.03)
        assert warm_strata[name].lower == pytest.approx(cold_strata[name].lower, rel=0.05)
        assert warm_strata[name].upper == pytest.approx(cold_strata[name].upper, rel=0.08)
    assert warm_total.estimate == pytest.approx(cold_total.estimate, rel=0.03)


def test_warm_replicates_go_on_from_the_run_before_not_all_from_the_first() -> None:
    """Chain c of a stratum's replicates is one chain run on from table to table (what the pooled
    R-hat joins): a run starts where the run just before it ended, so it depends on that run."""
    from undercount.estimate import lcmcr

    base = pd.DataFrame({"A": [1, 0, 0, 1, 1, 0, 1], "B": [0, 1, 0, 1, 0, 1, 1],
                         "C": [0, 0, 1, 0, 1, 1, 1], "count": [120, 80, 60, 30, 25, 20, 9]})

    def shifted(extra: int) -> pd.DataFrame:
        return base.assign(count=base["count"] + np.array([extra, 0, 0, 0, 0, 0, 0]))

    def last_of(tables: list[pd.DataFrame]) -> np.ndarray:
        with lcmcr.warm_starts():
            for table in tables:
                draws = lcmcr.sample_lcmcr(table, K=3, chains=2, iterations=300, burnin=100, thinning=3, seed=4)[0]
        return draws

    after_b = last_of([base, shifted(40), shifted(5)])
    assert np.array_equal(after_b, last_of([base, shifted(40), shifted(5)]))  # same runs, same draws
    assert not np.array_equal(after_b, last_of([base, shifted(-40), shifted(5)]))  # the run before differs
    assert not np.array_equal(after_b, last_of([base, shifted(5)]))  # no run between it and the first


def _mode_by_person_groupby(values: pd.Series, person: pd.Series) -> pd.Series:
    """The most frequent value per person with a pandas groupby (the implementation before the coded one)."""
    df = pd.DataFrame({"p": person.to_numpy(), "v": values.to_numpy(), "o": np.arange(len(values))})
    df = df[df["v"].notna()]
    counts = df.groupby(["p", "v"], sort=False).agg(n=("o", "size"), first=("o", "min")).reset_index()
    counts = counts.sort_values(["p", "n", "first"], ascending=[True, False, True])
    return counts.drop_duplicates("p").set_index("p")["v"]


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_coded_mode_by_person_equals_the_groupby(seed: int) -> None:
    from undercount.estimate.strata import person_covariates

    rng = np.random.default_rng(seed)
    n = 600
    person = pd.Series(rng.integers(0, 150, n).astype(str), dtype="string[pyarrow]")
    values = pd.Series(rng.choice(np.array(["a", "b", "c", None], dtype=object), n, p=[0.3, 0.3, 0.2, 0.2]),
                       dtype="string[pyarrow]")
    persons = pd.Index([*pd.unique(person.to_numpy()), "nobody"], name="person_id")  # one person with no record
    got = person_covariates(pd.DataFrame({"person_id": person, "place": values}), persons)["place"]
    want = _mode_by_person_groupby(values, person)
    assert len(want) > 100  # ties between two values of one person occur and go to the value met first
    assert {k: v for k, v in got.items() if v is not None} == {str(k): str(v) for k, v in want.items()}
    assert got["nobody"] is None and got.isna().sum() == len(persons) - len(want)
    empty = person_covariates(pd.DataFrame({"person_id": ["p", "q"], "sex": [None, None]}), pd.Index(["p", "q"]))
    assert empty["sex"].isna().all() and empty["place"].isna().all()


def test_stratum_labels_written_once_per_combination_equal_row_by_row_labels() -> None:
    from undercount.estimate.strata import _labels

    rng = np.random.default_rng(4)
    n = 500
    values = pd.DataFrame({
        "age_group": rng.choice(np.array(["0-17", "18-59", None], dtype=object), n),
        "sex": pd.Series(rng.choice(["female", "male"], n), dtype="string"),
        "period": pd.Series(rng.choice(np.array(["2024Q1", "?", None, np.nan], dtype=object), n), dtype=object),
        "n": rng.integers(0, 3, n),
    })
    values.loc[3, "sex"] = pd.NA
    for by in (["sex"], ["age_group", "sex"], ["period", "n", "age_group"], ["age_group", "sex", "period", "n"]):
        rows = zip(*[values[c].astype(object).to_numpy() for c in by])
        want = ["|".join(f"{c}={v}" for c, v in zip(by, row)) for row in rows]
        got = _labels(values, by)
        assert got.tolist() == want and got.index.equals(values.index)
    assert {"sex=<NA>", "period=nan", "period=None"} <= {p for label in _labels(values, list(values.columns))
                                                         for p in label.split("|")}


def test_reconcile_without_history_equals_reconcile_with_it() -> None:
    from undercount.estimate.population import reconcile

    rng = np.random.default_rng(3)
    n = 400
    recs = pd.DataFrame({
        "person_id": rng.integers(0, 120, n),
        "source": rng.choice(["a", "b", "c"], n),
        "status": rng.choice(np.array(["killed", "missing", "injured", "detained", None, "unknown"], dtype=object), n),
        "cause": rng.choice(np.array(["direct_violence", "disease", None], dtype=object), n),
        "event_date": rng.choice(np.array(["2024-01-02", "2024-03-01", None], dtype=object), n),
    })
    full = reconcile(recs, ["a", "b", "c"])
    short = reconcile(recs, ["a", "b", "c"], history=False)
    assert "history" not in short.columns and full["changed"].any()
    pd.testing.assert_frame_equal(short, full.drop(columns="history"))


def test_auto_fits_the_table_alone_once_and_gives_what_a_fresh_fit_gives(monkeypatch: pytest.MonkeyPatch) -> None:
    """A table met again (a stratum refitted with longer chains, a replicate that repeats a table)
    takes the log-linear, Chao and dga fits made the first time; only the sampler runs again."""
    from undercount.estimate import auto

    table = pd.DataFrame({"A": [1, 0, 0, 1, 1, 0, 1], "B": [0, 1, 0, 1, 0, 1, 1], "C": [0, 0, 1, 0, 1, 1, 1],
                          "count": [120, 80, 60, 30, 25, 20, 9]})
    fitting = choose("auto", {"lcmcr": {"iterations": 400, "burnin": 100, "thinning": 2, "chains": 2}})
    searches = _count_calls(monkeypatch, auto, "fit_loglinear")
    monkeypatch.setattr(auto, "_FIXED", {})
    first = auto.fit_table(fitting, table, level=0.95, seed=3)
    fits = len(searches)
    assert fits >= 1
    again = auto.fit_table(fitting, table.copy(), level=0.95, seed=3)
    assert len(searches) == fits  # nothing of the table alone was refitted
    other = auto.fit_table(fitting, table, level=0.9, seed=3)
    assert len(searches) == 2 * fits  # another level is another fit
    monkeypatch.setattr(auto, "_FIXED", {})
    fresh = auto.fit_table(fitting, table, level=0.95, seed=3)
    for res in (again, fresh):
        assert (res.estimate, res.lower, res.upper, res.warnings) == (first.estimate, first.lower, first.upper,
                                                                     first.warnings)
        assert res.details["checks"] == first.details["checks"]
    assert other.details["checks"]["loglinear"] != first.details["checks"]["loglinear"]


def test_a_shared_memo_reads_and_prepares_each_linkage_once_and_changes_nothing(
        linked_case: tuple[object, int], monkeypatch: pytest.MonkeyPatch) -> None:
    """The passes of one run (plain, corrected, pooled, breakdowns) share the case's reads and each
    linkage's population, matrix, covariates and imputations; their results are those made afresh."""
    case, _ = linked_case
    prepared = _count_calls(monkeypatch, case_module, "_population_records")
    args = {"method": "chao", "imputations": 2, "store": False}
    shared: dict[object, object] = {}
    first = case_module.estimate_case(case, shared=shared, **args)  # type: ignore[arg-type]
    assert len(prepared) == 1
    by_sex = case_module.estimate_case(case, shared=shared, by=["sex"], **args)  # type: ignore[arg-type]
    assert len(prepared) == 1  # the same linkage: prepared once
    fresh, fresh_by_sex = (case_module.estimate_case(case, by=by, **args) for by in (None, ["sex"]))  # type: ignore[arg-type]
    assert len(prepared) == 3
    for got, want in ((first, fresh), (by_sex, fresh_by_sex)):
        assert (got.total.estimate, got.total.lower, got.total.upper) == (want.total.estimate, want.total.lower,
                                                                         want.total.upper)
        assert {k: v.estimate for k, v in got.strata.items()} == {k: v.estimate for k, v in want.strata.items()}
        assert got.population_notes == want.population_notes
    assert by_sex.by == ["sex"] and set(by_sex.strata) == {"sex=female", "sex=male"}


def test_lcmcr_refits_nothing_outside_warm_starts_and_everything_inside(monkeypatch: pytest.MonkeyPatch) -> None:
    from undercount.estimate import lcmcr
    from undercount.estimate.registry import get_estimator

    table = validate_table(pd.DataFrame({"A": [1, 0, 0, 1, 1, 0, 1], "B": [0, 1, 0, 1, 0, 1, 1],
                                         "C": [0, 0, 1, 0, 1, 1, 1], "count": [120, 80, 60, 30, 25, 20, 9]}))
    runs = _count_calls(monkeypatch, lcmcr, "fit_lcmcr")
    monkeypatch.setattr(lcmcr, "_FITTED", {})
    est = get_estimator("lcmcr")
    options = {"iterations": 400, "burnin": 100, "thinning": 2, "chains": 2}
    first = est.fit(table, seed=4, options=options)
    assert est.fit(table.copy(), seed=4, options=options) is first and len(runs) == 1
    assert est.fit(table, seed=5, options=options) is not first and len(runs) == 2  # another seed: sampled
    with lcmcr.warm_starts():
        est.fit(table, seed=4, options=options)
    assert len(runs) == 3  # inside warm starts every fit samples


@pytest.mark.parametrize("result", [
    EstimateResult("lcmcr", 50, 61.0, 55.0, None, model="K=10", warnings=("a",), draws=np.arange(5.0),
                   details={"x": [1, 2]}),
    EstimateResult("loglinear", 50, float("inf"), 55.5, 70.0, mean=60.0),
    EstimateResult.not_estimable("chao", 7, "no person is on two or more lists"),
])
def test_brief_equals_the_keys_of_to_dict(result: EstimateResult) -> None:
    from undercount.estimate.auto import _brief

    data = result.to_dict()
    assert _brief(result) == {k: data[k] for k in ("method", "model", "estimate", "lower", "upper", "warnings",
                                                    "estimable", "reason")}


def test_adaptive_runs_start_warm_from_the_one_before_and_agree_with_a_cold_start(
        monkeypatch: pytest.MonkeyPatch) -> None:
    """The fits without strata of one population (the range, the linkage at other thresholds) start
    where the previous one's chains stand: far fewer iterations, the same posterior within Monte Carlo error."""
    from undercount.estimate import lcmcr
    from undercount.estimate.lcmcr_sampler import HMC_TUNE

    first = validate_table(pd.DataFrame({"A": [1, 0, 0, 1, 1, 0, 1], "B": [0, 1, 0, 1, 0, 1, 1],
                                         "C": [0, 0, 1, 0, 1, 1, 1], "count": [300, 200, 150, 60, 50, 40, 12]}))
    second = first.assign(count=first["count"] + np.array([6, -4, 5, 3, -2, 2, 1]))  # a neighbouring linkage
    ran: list[int] = []

    class Counting(lcmcr.Chain):
        def advance(self, iterations: int, thinning: int, discard: int = 0, every: int | None = None
                    ) -> tuple[np.ndarray, np.ndarray, int]:
            ran.append(iterations)
            return super().advance(iterations, thinning, discard, every)

    monkeypatch.setattr(lcmcr, "Chain", Counting)
    # with the joint and HMC moves (auto on 3 lists) the burn-in is short already: a warm run skips the step
    # size's tuning (its iterations advance one at a time)
    lcmcr.fit_lcmcr(second, seed=2)
    assert ran.count(1) == 4 * HMC_TUNE
    with lcmcr.adaptive_warm_starts():
        lcmcr.fit_lcmcr(first, seed=1)
        ran.clear()
        moves = lcmcr.fit_lcmcr(second, seed=2)
    assert moves.details["hmc"] == 1 and moves.details["converged"] and ran.count(1) == 0
    ran.clear()
    # plain chains (hmc=0): the burn-in is skipped
    cold = lcmcr.fit_lcmcr(second, seed=2, hmc=0)
    cold_iterations = sum(ran)
    with lcmcr.adaptive_warm_starts():
        lcmcr.fit_lcmcr(first, seed=1, hmc=0)
        ran.clear()
        warm = lcmcr.fit_lcmcr(second, seed=2, hmc=0)
    assert warm.details["converged"] and cold.details["converged"]
    assert sum(ran) < 0.6 * cold_iterations  # the burn-in is skipped
    assert cold.draws is not None and warm.draws is not None
    ess = min(cold.details["ess_bulk"], warm.details["ess_bulk"])
    mc_se = float(np.std(cold.draws)) / np.sqrt(ess)  # Monte Carlo error of a posterior summary, roughly
    assert abs(warm.estimate - cold.estimate) < 5 * 1.25 * mc_se + 1  # type: ignore[operator]
    assert abs(warm.lower - cold.lower) < 5 * 2.5 * mc_se + 1  # type: ignore[operator]
    assert abs(warm.upper - cold.upper) < 5 * 2.5 * mc_se + 1  # type: ignore[operator]


def test_few_models_fitted_one_by_one_match_the_batched_fits() -> None:
    """Up to glm.ONE_BY_ONE models are fitted by the compiled IRLS, one by one (issue 21): the same
    fits as the batched numpy path, which many models (5-6 lists) still take."""
    from undercount.estimate import glm
    from undercount.estimate.loglinear import _pair_masks, design

    rng = np.random.default_rng(5)
    for k in (3, 4):
        y = rng.integers(0, 400, size=2**k - 1).astype(float)
        y[2] = 0.0  # a sparse cell: a diverging coefficient among the models
        pairs, masks = _pair_masks(k)
        x = design(k, pairs)
        assert len(masks) <= glm.ONE_BY_ONE
        one = glm.fit_poisson_batch(x, y, masks)
        batched = glm._batch_fits(x, y, masks)
        finite = batched.max_abs_beta < 10  # a diverging fit stops where its deviance stalls: compared apart
        assert finite.any() and (k == 4 or not finite.all())
        for field in ("beta", "deviance", "loglik", "rank", "var_intercept", "max_abs_beta"):
            np.testing.assert_allclose(getattr(one, field)[finite], getattr(batched, field)[finite], rtol=1e-7,
                                       atol=1e-9, err_msg=field)
        np.testing.assert_array_equal(one.converged, batched.converged)
        assert (one.max_abs_beta[~finite] > 10).all()
        np.testing.assert_allclose(one.deviance[~finite], batched.deviance[~finite], atol=1e-3)


@pytest.mark.parametrize("joint", [0, 1])
def test_a_warm_adaptive_run_starts_with_the_joint_move_of_the_chains_it_takes(
        monkeypatch: pytest.MonkeyPatch, joint: int) -> None:
    """Auto's joint move on plain chains (issue 21; hmc=0): a run warm-started from chains that ran with it
    starts with it, instead of spending a first round without it only to switch it on (and doubling the length)."""
    from undercount.estimate import lcmcr

    first = validate_table(pd.DataFrame({"A": [1, 0, 0, 1, 1, 0, 1], "B": [0, 1, 0, 1, 0, 1, 1],
                                         "C": [0, 0, 1, 0, 1, 1, 1], "count": [300, 200, 150, 60, 50, 40, 12]}))
    second = first.assign(count=first["count"] + np.array([6, -4, 5, 3, -2, 2, 1]))
    started: list[int] = []

    class Recording(lcmcr.Chain):
        def __init__(self, *args: object, **kwargs: object) -> None:
            super().__init__(*args, **kwargs)  # type: ignore[arg-type]
            started.append(self.joint)

    monkeypatch.setattr(lcmcr, "Chain", Recording)
    quick = {"first_round": 2000, "burnin": 500, "ess_min": 50, "rhat_max": 1.2, "chains": 2, "hmc": 0}
    with lcmcr.adaptive_warm_starts():
        lcmcr.fit_lcmcr(first, seed=1, joint=joint, **quick)  # type: ignore[arg-type]
        started.clear()
        warm = lcmcr.fit_lcmcr(second, seed=2, **quick)  # type: ignore[arg-type]
    assert started == [joint, joint]
    assert warm.details["converged"]


def _reconcile_by_pandas(records: pd.DataFrame, lists: list[str]) -> pd.DataFrame:
    """Statuses and causes reconciled with pandas sorts and groupbys on the person ids (the
    implementation before the coded one, without the history)."""
    from undercount.estimate.population import GRAVITY, KNOWN_CAUSES, _dates

    persons = pd.Index(pd.unique(records["person_id"]), name="person_id")
    rank = {name: i for i, name in enumerate(lists)}
    frame = pd.DataFrame({"person_id": records["person_id"].to_numpy(), "source": records["source"].to_numpy(),
                          "status": records["status"].to_numpy(), "cause": records["cause"].to_numpy(),
                          "date": _dates(records).to_numpy()})
    frame["rank"] = frame["source"].map(rank).fillna(len(rank)).astype(int)
    frame["gravity"] = frame["status"].map(GRAVITY).fillna(0).astype(int)
    frame["killed"] = frame["status"].eq("killed").astype(int)
    known = frame[frame["status"].isin(list(GRAVITY)).to_numpy()]
    order = known.sort_values(["person_id", "killed", "date", "gravity", "rank"], na_position="first", kind="stable")
    status = order.groupby("person_id", sort=False)["status"].last()
    changed = known.groupby("person_id")["status"].nunique() > 1
    causes = frame[frame["cause"].isin(KNOWN_CAUSES)]
    counts = causes.groupby(["person_id", "cause"], sort=False).agg(n=("rank", "size"), first=("rank", "min"))
    counts = counts.reset_index().sort_values(["person_id", "n", "first"], ascending=[True, False, True])
    cause = counts.drop_duplicates("person_id").set_index("person_id")["cause"]
    out = pd.DataFrame(index=persons)
    out["status"] = status.reindex(persons).astype(object).where(status.reindex(persons).notna(), None)
    out["cause"] = cause.reindex(persons).astype(object).where(cause.reindex(persons).notna(), None)
    out["changed"] = changed.reindex(persons).fillna(False).astype(bool).to_numpy()
    return out


@pytest.mark.parametrize("seed", [0, 1, 2, 3])
def test_coded_reconcile_equals_the_pandas_sorts(seed: int) -> None:
    from undercount.estimate.population import reconcile

    rng = np.random.default_rng(seed)
    n = 900
    ids = rng.integers(0, 260, n)
    recs = pd.DataFrame({
        "person_id": pd.Series(ids.astype(str), dtype="str") if seed % 2 else ids,
        "source": pd.Series(rng.choice(["a", "b", "c", "z"], n), dtype="str"),
        "status": pd.Series(rng.choice(np.array(["killed", "missing", "injured", "detained", None, "unknown"],
                                                dtype=object), n), dtype="str"),
        "cause": rng.choice(np.array(["direct_violence", "disease", "starvation", "other", None, "odd"], dtype=object), n),
        "event_date": rng.choice(np.array(["2024-01-02", "2024-03-01", "2023-12-30", None], dtype=object), n),
        "reported_date": rng.choice(np.array(["2024-02-02", None], dtype=object), n),
    })
    got = reconcile(recs, ["a", "b", "c"], history=False)
    want = _reconcile_by_pandas(recs, ["a", "b", "c"])
    assert got["changed"].sum() > 50 and got["cause"].notna().sum() > 100  # ties of dates, lists and causes occur
    pd.testing.assert_frame_equal(got, want)


@pytest.mark.parametrize("seed", [0, 1])
def test_covariates_by_position_equal_the_modes_reindexed(seed: int) -> None:
    from undercount.estimate.strata import age_group, person_covariates

    rng = np.random.default_rng(seed)
    n = 800
    recs = pd.DataFrame({
        "person_id": pd.Series(rng.integers(0, 200, n).astype(str), dtype="str"),
        "age": pd.Series(rng.choice([5, 30, 70, None], n), dtype="Int32"),
        "sex": pd.Series(rng.choice(np.array(["male", "female", None], dtype=object), n), dtype="str"),
        "place": pd.Series(rng.choice(np.array(["Gaza", "Rafah", "Khan Younis", None], dtype=object), n), dtype="str"),
        "event_date": rng.choice(np.array(["2024-01-02", "2024-05-01", "2023-12-30", None], dtype=object), n),
    })
    persons = pd.Index([str(i) for i in range(0, 210, 2)], name="person_id")  # some without records, some records of others
    dates = pd.to_datetime(recs["event_date"], errors="coerce")
    fields = {"age_group": age_group(recs["age"]), "sex": recs["sex"], "place": recs["place"],
              "period": dates.dt.to_period("Q").astype(str).where(dates.notna(), None)}
    want = pd.DataFrame(index=persons)
    for name, values in fields.items():  # the modes by a pandas groupby, reindexed to the persons (the code before)
        mode = _mode_by_person_groupby(pd.Series(values).reset_index(drop=True), recs["person_id"])
        want[name] = mode.reindex(persons).astype(object).where(mode.reindex(persons).notna(), None)
    got = person_covariates(recs, persons)
    assert got.isna().any(axis=None) and got.notna().sum().min() > 60
    pd.testing.assert_frame_equal(got, want)


def _impute_row_by_row(matrix: pd.DataFrame, covariates: pd.DataFrame, by: list[str], m: int,
                       rng: np.random.Generator) -> list[pd.Series]:
    """impute_strata's hot deck with each group's donors found and filled through pandas in every
    imputation (the implementation before the one that finds them once)."""
    from undercount.estimate.strata import _donors, _labels, _pattern

    values = covariates[by].copy()
    unknown = values.isna().any(axis=1).to_numpy()
    pattern = _pattern(matrix)
    donors_all = np.flatnonzero(~unknown)
    known_key = _labels(values.astype(object).where(values.notna(), "?"), by).to_numpy()
    out = []
    for _ in range(m):
        filled = values.copy()
        for _, idx in pd.Series(np.arange(len(values))[unknown]).groupby([pattern[unknown], known_key[unknown]]):
            rows = idx.to_numpy()
            pool = _donors(values, donors_all, pattern, rows[0], int(pattern[rows[0]]), by)
            filled.iloc[rows] = values.iloc[rng.choice(pool, size=len(rows), replace=True)].to_numpy()
        out.append(_labels(filled, by))
    return out


@pytest.mark.parametrize("seed", [0, 1])
def test_imputations_with_donors_found_once_equal_the_row_by_row_ones(seed: int) -> None:
    from undercount.estimate.strata import impute_strata

    rng = np.random.default_rng(seed)
    n = 700
    matrix = pd.DataFrame((rng.random((n, 3)) < 0.5).astype(np.int8), columns=["a", "b", "c"],
                          index=pd.Index([f"p{i}" for i in range(n)], name="person_id"))
    covariates = pd.DataFrame({
        "age_group": rng.choice(np.array(["0-17", "18-59", "60+", None], dtype=object), n, p=[0.2, 0.4, 0.2, 0.2]),
        "sex": rng.choice(np.array(["male", "female", None], dtype=object), n, p=[0.45, 0.4, 0.15]),
    }, index=matrix.index, dtype=object)
    got = impute_strata(matrix, covariates, ["age_group", "sex"], m=4, rng=np.random.default_rng(7))
    want = _impute_row_by_row(matrix, covariates, ["age_group", "sex"], 4, np.random.default_rng(7))
    assert len(got) == 4 and got[0].nunique() == 6 and not got[0].equals(got[1])
    for a, b in zip(got, want):
        pd.testing.assert_series_equal(a, b)
