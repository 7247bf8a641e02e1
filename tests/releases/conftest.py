"""A simulated series of three releases of one list, imported into a case (shared by the module's tests)."""

from __future__ import annotations

from pathlib import Path

import pytest

from undercount.ingest import import_list
from undercount.simulate.releases import ReleaseSeries, simulate_releases
from undercount.store import Case


def import_series(case: Case, series: ReleaseSeries, name: str = "moh") -> None:
    """Import the first release as list ``name`` and the others as its releases."""
    for i, (path, day) in enumerate(series.files.values()):
        if i == 0:
            import_list(case, path, name=name, released=day, top_line=len(series.truth) // 2)
        else:
            import_list(case, path, release_of=name, released=day)


@pytest.fixture(scope="session")
def release_series(tmp_path_factory: pytest.TempPathFactory) -> ReleaseSeries:
    return simulate_releases(tmp_path_factory.mktemp("series"), people=500, releases=3, seed=3)


@pytest.fixture(scope="session")
def series_case(tmp_path_factory: pytest.TempPathFactory, release_series: ReleaseSeries) -> Case:
    case = Case.init(Path(tmp_path_factory.mktemp("series_case")) / "case")
    import_series(case, release_series)
    return case
