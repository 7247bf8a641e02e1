"""The samplers' time budget is CPU time: waiting (a loaded machine) does not spend it, work in threads does."""

from __future__ import annotations

import time
from concurrent.futures import ThreadPoolExecutor

from undercount.estimate.cputime import charged, cpu_meter
from undercount.estimate.lcmcr import WALL_CAP, out_of_budget


def _busy(seconds: float) -> float:
    start = time.thread_time()
    x = 0.0
    while time.thread_time() - start < seconds:
        x += 1.0
    return x


def test_waiting_spends_no_budget_and_workers_threads_are_counted_in_nested_meters() -> None:
    with cpu_meter() as outer:
        time.sleep(0.15)  # a thread that waits for a core spends wall time, not CPU time
        assert outer.seconds < 0.05
        with cpu_meter() as inner, ThreadPoolExecutor(max_workers=2) as pool:
            list(pool.map(charged(_busy), [0.05, 0.05]))
        assert inner.seconds >= 0.1
    assert outer.seconds >= inner.seconds >= 0.1
    assert charged(_busy) is _busy  # outside a meter nothing is charged


def test_the_budget_stops_on_cpu_and_on_a_wall_cap_far_above_it() -> None:
    assert not out_of_budget(100.0, 100.0, 400.0, 400.0, 240.0)  # a slow (loaded) run goes on
    assert out_of_budget(200.0, 100.0, 10.0, 10.0, 240.0)  # its CPU budget would run out
    assert out_of_budget(10.0, 10.0, WALL_CAP * 240.0 - 5.0, 10.0, 240.0)  # the wall-time cap
