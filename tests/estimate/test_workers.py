"""Strata fitted in worker processes give, for a seed, exactly what one process gives (issue 21)."""

from __future__ import annotations

import json
import os
import warnings
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

from undercount.errors import ConvergenceWarning
from undercount.estimate import case as case_module
from undercount.estimate import workers
from undercount.estimate.case import estimate_matrix


def _matrix(seed: int, size: int) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    heterogeneity = rng.uniform(0.15, 0.6, size=size)
    matrix = pd.DataFrame((rng.random((size, 3)) < heterogeneity[:, None]).astype(np.int8), columns=["a", "b", "c"])
    return matrix[matrix.sum(axis=1) > 0]


@pytest.mark.skipif(workers.stratum_processes(2, 0, 2) < 2, reason="no fork start method here")
def test_one_and_two_worker_processes_give_identical_results(monkeypatch: pytest.MonkeyPatch) -> None:
    ran: list[bool] = []
    real = workers.run_in_processes

    def spy(*args: Any, **kwargs: Any) -> Any:
        out = real(*args, **kwargs)
        ran.append(out is not None)
        return out

    monkeypatch.setattr(case_module, "run_in_processes", spy)
    matrix = _matrix(8, 900)
    groups = np.array(["0-17", "18-59", "60+"])[np.arange(len(matrix)) % 3]
    labels = [pd.Series(groups, index=matrix.index)]
    shuffled = groups.copy()
    np.random.default_rng(1).shuffle(shuffled[:60])  # a second replicate: a few persons in other strata
    labels.append(pd.Series(shuffled, index=matrix.index))
    options = {"K": 4, "first_round": 2000, "burnin": 500, "time_budget": 1000.0, "rhat_max": 1.2, "ess_min": 50}
    one = estimate_matrix(matrix, labels, seed=3, method="lcmcr", options=options, workers=1)
    assert not ran
    two = estimate_matrix(matrix, labels, seed=3, method="lcmcr", options=options, workers=2)
    assert ran and all(ran)  # the strata were fitted in worker processes
    assert list(one[0]) == list(two[0]) == ["0-17", "18-59", "60+"]
    for name in one[0]:
        np.testing.assert_array_equal(one[0][name].draws, two[0][name].draws)
        same = [{k: v for k, v in r[0][name].details["sampler"].items() if "seconds" not in k} for r in (one, two)]
        assert same[0] == same[1] and same[0]["passes"] >= 1
    assert (one[1].estimate, one[1].lower, one[1].upper) == (two[1].estimate, two[1].lower, two[1].upper)
    np.testing.assert_array_equal(one[1].draws, two[1].draws)


@pytest.mark.skipif(workers.stratum_processes(2, 0, 2) < 2, reason="no fork start method here")
def test_a_worker_process_warning_reaches_the_caller() -> None:
    matrix = _matrix(5, 400)
    labels = [pd.Series(np.where(np.arange(len(matrix)) % 2 == 0, "x", "y"), index=matrix.index)]
    options = {"K": 4, "iterations": 80, "burnin": 10, "thinning": 1, "chains": 2}  # far too short: it warns
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        strata, _, _ = estimate_matrix(matrix, labels, seed=1, method="lcmcr", options=options, workers=2)
    assert [w for w in caught if issubclass(w.category, ConvergenceWarning)]
    assert any(w.startswith("ConvergenceWarning") for w in strata["x"].warnings)


def test_processes_only_when_asked_for_and_worth_them(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(workers.ENV, raising=False)
    assert workers.stratum_processes(6, 10**6) == 1  # off unless asked for (they did not pay here)
    monkeypatch.setenv(workers.ENV, "1")
    assert workers.available_cores() == 1
    assert workers.stratum_processes(6, 10**6) == 1
    monkeypatch.setenv(workers.ENV, "2")
    assert workers.stratum_processes(6, workers.PROCESS_MIN_ROWS - 1) == 1  # too small to be worth a fork
    assert workers.stratum_processes(6, 10**6) == min(2, workers.available_cores())
    assert workers.stratum_processes(1, 10**6, workers=4) == 1  # one stratum: one process


@pytest.mark.skipif(workers.stratum_processes(2, 0, 2) < 2, reason="no fork start method here")
def test_the_fits_of_tables_alone_made_in_workers_are_kept_here(monkeypatch: pytest.MonkeyPatch) -> None:
    from undercount.estimate import auto
    from undercount.estimate.warm import load_kernels

    load_kernels()  # its own fits land before the cache is emptied
    monkeypatch.setattr(auto, "_FIXED", {})
    matrix = _matrix(6, 600)
    labels = [pd.Series(np.where(np.arange(len(matrix)) % 2 == 0, "x", "y"), index=matrix.index)]
    options = {"lcmcr": {"iterations": 400, "burnin": 100, "thinning": 1, "chains": 2}}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        strata, _, _ = estimate_matrix(matrix, labels, seed=1, options=options, workers=2)
    assert len(auto._FIXED) == 2  # one table per stratum, fitted in the workers, now held here
    assert {s.method for s in strata.values()} == {"auto"}


@pytest.mark.skipif(workers.side_processes(3, 2) < 2 or workers.available_cores() < 2, reason="no fork or one core")
def test_breakdowns_forked_beside_the_range_give_what_one_process_gives(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from undercount.estimate import linkage
    from undercount.estimate.linkage import estimate_populations

    from .test_breakdowns import _build

    case, _, _ = _build(tmp_path / "case", place_known=1.0)
    pids: list[int] = []
    real = linkage.run_forked

    def spy(jobs: list[Any], processes: int) -> list[Any]:
        def tagged(job: Any) -> Any:
            return lambda: (os.getpid(), job())
        out = real([jobs[0], *[tagged(job) for job in jobs[1:]]], processes)
        pids.extend(pid for pid, _ in out[1:])
        return [out[0], *[value for _, value in out[1:]]]

    monkeypatch.setattr(linkage, "run_forked", spy)
    options = {"lcmcr": {"iterations": 400, "burnin": 100, "thinning": 1, "chains": 2}}
    runs = {}
    for cores in ("1", "2"):
        monkeypatch.setenv(workers.ENV, cores)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            runs[cores] = estimate_populations(case, options=options, by="none", link_draws=0, seed=4,
                                               store=False).to_dict()
        assert (os.getpid() not in pids) if cores == "2" else (pids == [os.getpid()] * 2)
        pids.clear()
    assert runs["1"]["breakdowns"]["period"]["made"] and runs["1"]["breakdowns"]["place"]["made"]
    one, two = (_timeless(json.loads(json.dumps(runs[c], default=str))) for c in ("1", "2"))
    assert one == two


def _timeless(value: Any) -> Any:
    """A JSON value without the seconds it took (keys naming seconds left out)."""
    if isinstance(value, dict):
        return {k: _timeless(v) for k, v in value.items() if "seconds" not in k}
    if isinstance(value, list):
        return [_timeless(v) for v in value]
    return value


def test_side_processes_only_from_the_main_thread_with_two_cores(monkeypatch: pytest.MonkeyPatch) -> None:
    import threading

    monkeypatch.setenv(workers.ENV, "1")
    assert workers.side_processes(3) == 1
    monkeypatch.delenv(workers.ENV)
    assert workers.side_processes(3) == 1  # off unless asked for (they did not pay here)
    here = workers.side_processes(3, workers=2)
    assert here == (3 if "fork" in __import__("multiprocessing").get_all_start_methods() else 1)
    seen: list[int] = []
    thread = threading.Thread(target=lambda: seen.append(workers.side_processes(3, workers=2)))
    thread.start()
    thread.join()
    assert seen == [1]  # e.g. the web app's background estimate stays in its process
