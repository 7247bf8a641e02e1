"""Shared fixtures (an empty case, the shared data folder, skipped when absent) and the order files run in."""

from __future__ import annotations

import os
import shutil
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from undercount.store import Case

ROOT = Path(__file__).resolve().parents[1]
# ../shared next to the repository; UNDERCOUNT_SHARED names it elsewhere (e.g. from a git worktree)
SHARED = Path(os.environ.get("UNDERCOUNT_SHARED", ROOT.parent / "shared"))


# The long files first. `make test` runs `pytest -n 2 --dist loadfile`: each worker takes whole files
# as it becomes free. By default xdist hands out the files with the most tests first, so the long
# files of one or two tests (the fuzz corpus, the real releases, the demo, privacy) went last and
# one worker ran them alone while the other had finished. Files holding a slow, spark or browser
# test now go first (longest first in effect: every other file is short), then the rest with the
# most tests first (xdist's own order), and xdist is told to keep the collection's order.
LONG_MARKS = ("slow", "spark", "browser")


def pytest_configure(config: pytest.Config) -> None:
    if hasattr(config.option, "loadscopereorder"):  # pytest-xdist >= 3.6
        config.option.loadscopereorder = False


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    tests_in = Counter(item.path for item in items)
    long_files = {item.path for item in items if any(item.get_closest_marker(m) for m in LONG_MARKS)}
    # stable: a file's tests stay together and in their order
    items.sort(key=lambda item: (item.path not in long_files, -tests_in[item.path]))


@pytest.fixture(scope="session", autouse=True)
def _quick_hashes() -> Iterator[None]:
    """Cheap argon2 parameters in every test (the app's defaults cost about 0.3 processor seconds per
    account added or login; tests/web/test_app.py still checks that hashes are argon2id)."""
    from argon2 import PasswordHasher

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr("undercount.web.auth._hasher", PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1))
        yield


@pytest.fixture
def empty_case(tmp_path: Path) -> Case:
    """A new, empty case folder."""
    return Case.init(tmp_path / "case")


def count_case_opens(patch: pytest.MonkeyPatch) -> list[bool]:
    """Record each connection a case opens while ``patch`` holds (True: read-only). Opening one
    costs DuckDB tens of milliseconds, so code that reads many times shares one."""
    opened: list[bool] = []
    real = Case._open

    def counted(self: Case, read_only: bool, threads: int | None) -> Any:
        opened.append(read_only)
        return real(self, read_only, threads)

    patch.setattr(Case, "_open", counted)
    return opened


@pytest.fixture
def case_opens(monkeypatch: pytest.MonkeyPatch) -> list[bool]:
    """The connections the test's cases open from now on (see :func:`count_case_opens`)."""
    return count_case_opens(monkeypatch)


@pytest.fixture(scope="session")
def shared_dir() -> Path:
    """../shared, or skip: users and some machines do not have it."""
    if not SHARED.is_dir():
        pytest.skip("../shared is not present")
    return SHARED


@pytest.fixture(scope="session")
def reference_dir(shared_dir: Path) -> Path:
    path = shared_dir / "reference"
    if not path.is_dir():
        pytest.skip("../shared/reference is not present")
    return path


BROWSER_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]


@pytest.fixture(scope="session")
def browser() -> Iterator[Any]:
    """Debian's Chromium driven by Playwright, one per test process (skipped when not installed).

    One session-wide instance: Playwright's sync API cannot start a second one while the first runs.
    """
    executable = shutil.which("chromium")
    if executable is None:
        pytest.skip("chromium is not installed (make browser installs it)")
    sync_api = pytest.importorskip("playwright.sync_api")
    with sync_api.sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=executable, args=BROWSER_ARGS)
        yield launched
        launched.close()
