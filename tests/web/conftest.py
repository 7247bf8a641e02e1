"""Fixtures of the review-app tests: a small linked case, accounts, a live server, a browser.

The case is written directly into the store (records, candidate pairs with evidence, clusters,
a link model and a 'link' run), so the app's tests do not depend on running the linker.
"""

from __future__ import annotations

import json
import re
import shutil
import socket
import threading
import time
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest

from undercount.store import Case
from undercount.web import add_user, create_app

PASSWORD = "correct horse battery"
USERS = {"ada": "admin", "rita": "reviewer", "vic": "viewer"}
THRESHOLD = 0.5
#: The app answers only to its configured host names: test clients talk to it as 127.0.0.1.
LOCAL = "http://127.0.0.1"
ROOT = Path(__file__).resolve().parents[2]
ARTIFACTS = ROOT / "test-artifacts"

# record_id: (source, row, full_name, id_number, sex, age, status)
RECORDS: dict[int, tuple[str, int, str, str | None, str, int, str]] = {
    1: ("moh", 1, "محمد أحمد علي حسن", "400000002", "male", 34, "killed"),
    2: ("survey", 1, "Mohammed Ahmad Ali Hassan", None, "male", 35, "killed"),
    3: ("moh", 2, "فاطمة أحمد علي حسن", "400000010", "female", 30, "killed"),
    4: ("survey", 2, "Fatima Ahmed Ali Hasan", None, "female", 31, "missing"),
    5: ("moh", 3, "يوسف خالد محمود عبدالله", "400000028", "male", 12, "killed"),
    6: ("survey", 3, "Yousef Khaled Mahmoud Abdullah", None, "male", 12, "killed"),
    7: ("moh", 4, "مريم سعيد ناصر", "400000036", "female", 60, "injured"),
    8: ("survey", 4, "Maryam Said Nasser", None, "female", 8, "killed"),
    9: ("survey", 5, "Omar Hassan", None, "male", 40, "detained"),
}
# (record_id_l, record_id_r): probability. Nearest the threshold: (1, 2), then (3, 4).
PAIRS: dict[tuple[int, int], float] = {(1, 2): 0.4375, (3, 4): 0.625, (5, 6): 0.99, (7, 8): 0.05}
# Clusters at the threshold: 3+4 and 5+6 together, the others alone.
CLUSTERS: dict[int, int] = {1: 1, 2: 2, 3: 3, 4: 3, 5: 5, 6: 5, 7: 7, 8: 8, 9: 9}


def person_id(record_id: int) -> str:
    return f"P{record_id:09d}"


def _evidence(probability: float) -> str:
    strong = probability >= THRESHOLD
    return json.dumps(
        {
            "given_name": {"level": "transliteration match", "weight": 3.2},
            "father_name": {"level": "transliteration match" if strong else "close match", "weight": 2.4 if strong else 0.6},
            "age": {"level": "within 1-2 years", "weight": 0.8},
            "sex": {"level": "exact", "weight": 0.4},
            "id_number": {"level": "missing", "weight": 0.0},
        }
    )


def build_case(path: Path) -> Case:
    """A linked case of 9 records in two lists (Arabic and English) and three accounts."""
    from undercount.names import parse_names

    case = Case.init(path)
    names = parse_names(__import__("pandas").Series([r[2] for r in RECORDS.values()]))
    started = datetime.now()
    with case.transaction() as con:
        import_run = case.new_run_id("import")
        for (rid, (source, row, full_name, id_number, sex, age, status)), parsed in zip(
            RECORDS.items(), names.itertuples()
        ):
            con.execute(
                "INSERT INTO uc_records (record_id, source, \"row\", file_hash, raw, full_name, given, father, "
                "grandfather, family, script, name_norm, name_key, id_number, id_valid, sex, age, status, run_id) "
                "VALUES (?, ?, ?, 'x', ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                [rid, source, row, json.dumps({"name": full_name, "age": str(age), "notes": ""}), full_name,
                 parsed.given, parsed.father, parsed.grandfather, parsed.family,
                 parsed.script, parsed.name_norm, parsed.name_key, id_number,
                 None if id_number is None else True, sex, age, status, import_run],
            )
        case.record_run(con, run_id=import_run, kind="import", started_at=started, username="tester")
        link_run = case.new_run_id("link")
        for (left, right), probability in PAIRS.items():
            con.execute(
                "INSERT INTO uc_pairs VALUES (?, ?, ?, ?, ?, ?)",
                [link_run, left, right, 4.0 * (probability - THRESHOLD), probability, _evidence(probability)],
            )
        for rid, first in CLUSTERS.items():
            con.execute("INSERT INTO uc_clusters VALUES (?, ?, ?, 1.0)", [link_run, rid, person_id(first)])
        con.execute(
            "INSERT INTO uc_link_models VALUES (?, 'duckdb', ?, '{}')", [link_run, THRESHOLD]
        )
        case.record_run(con, run_id=link_run, kind="link", started_at=started, username="tester")
    for name, role in USERS.items():
        add_user(case, name, role, PASSWORD, written_by="tester")
    return case


@pytest.fixture(scope="session")
def _template_case(tmp_path_factory: pytest.TempPathFactory, _quick_hashes: None) -> Path:
    """The linked case, built once; tests get copies."""
    return build_case(tmp_path_factory.mktemp("template") / "case").path


@pytest.fixture
def web_case(_template_case: Path, tmp_path: Path) -> Case:
    """A fresh copy of the small linked case (with accounts ada/rita/vic)."""
    target = tmp_path / "case"
    shutil.copytree(_template_case, target)
    return Case.open(target)


def csrf_from(html: str) -> str:
    """The CSRF token in a page."""
    match = re.search(r'name="csrf_token" value="([^"]+)"', html)
    assert match, "no CSRF token in the page"
    return match.group(1)


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class LiveServer:
    """uvicorn serving an app on 127.0.0.1 in a background thread."""

    def __init__(self, app: Any, case: Case) -> None:
        import uvicorn

        self.app = app
        self.case = case
        self.port = _free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        from undercount.web.app import server_options

        # As `undercount serve` runs it: forwarding headers ignored unless a proxy is trusted.
        config = uvicorn.Config(app, host="127.0.0.1", port=self.port, log_level="warning", access_log=False,
                                **server_options(app.state.settings))
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(target=self.server.run, daemon=True)

    def __enter__(self) -> LiveServer:
        self.thread.start()
        deadline = time.monotonic() + 10
        while not self.server.started:
            if time.monotonic() > deadline or not self.thread.is_alive():
                raise RuntimeError("the test server did not start")
            time.sleep(0.02)
        return self

    def read(self, func: Any) -> Any:
        """Call ``func(case)`` while the app does not touch the case."""
        with self.app.state.data.lock:
            return func(self.case)

    def __exit__(self, *exc: object) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=10)


@pytest.fixture(scope="module")
def live_server(tmp_path_factory: pytest.TempPathFactory, _template_case: Path) -> Iterator[LiveServer]:
    """The review app on a free local port, serving its own copy of the case (per test module)."""
    target = tmp_path_factory.mktemp("live") / "case"
    shutil.copytree(_template_case, target)
    with LiveServer(create_app(target), Case.open(target)) as server:
        yield server


@pytest.fixture
def page(browser: Any) -> Iterator[Any]:
    """A fresh browser context (no cookies) and page."""
    context = browser.new_context(locale="en-GB")
    context.set_default_timeout(10_000)
    yield context.new_page()
    context.close()


@pytest.fixture(scope="session")
def artifacts() -> Path:
    """test-artifacts/ at the repository root (screenshots; not committed)."""
    ARTIFACTS.mkdir(exist_ok=True)
    return ARTIFACTS
