"""Fixtures of the simulate tests: small populations and one small simulated case per session."""

from __future__ import annotations

import math
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from undercount.simulate import SimulationResult, preset_config, simulate
from undercount.simulate.population import make_population


def _within(realised: float, expected: float, n: int, z: float = 4.5) -> bool:
    """Whether a realised share is within ``z`` binomial standard errors of the expected share."""
    se = math.sqrt(max(expected * (1 - expected), 1e-12) / max(n, 1))
    return abs(realised - expected) <= z * se + 1e-12


@pytest.fixture(scope="session")
def within() -> Callable[..., bool]:
    """``within(realised, expected, n)``: inside 4.5 binomial standard errors (false alarm < 1e-5)."""
    return _within


@pytest.fixture(scope="session")
def population() -> pd.DataFrame:
    """20,000 people of the small preset's population model."""
    cfg = preset_config("small", people=20_000)
    return make_population(cfg.population, np.random.default_rng(11))


@pytest.fixture(scope="session")
def small_case(tmp_path_factory: pytest.TempPathFactory) -> SimulationResult:
    """The small preset (2,000 people, 3 lists), seed 5."""
    return simulate(tmp_path_factory.mktemp("small") / "sim", preset="small", seed=5)


@pytest.fixture(scope="session")
def small_dir(small_case: SimulationResult) -> Path:
    return small_case.out_dir
