"""The app and the command line on one case at once: with `undercount serve` running and polled
every 0.1 s, import, link, estimate, report and export all succeed and the app never answers 5xx.

The app and the commands that share the case with it run as separate processes, as a user would
run them; the three commands that make the case before the app starts (simulate, init, user add)
run in the test's process (the same commands, without three more starts of Python). Figures
(requests, statuses, latencies, each command's time) are printed (`pytest -s` shows them).
"""

from __future__ import annotations

import os
import socket
import statistics
import subprocess
import sys
import threading
import time
from collections import Counter
from pathlib import Path

import httpx
import pytest
from typer.testing import CliRunner

from undercount.cli import app

from .conftest import csrf_from

SRC = Path(__file__).resolve().parents[2] / "src"
PASSWORD = "a long shared passphrase"


def _cli(*args: str, timeout: float = 600) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": str(SRC), "PYTHONDONTWRITEBYTECODE": "1"}
    return subprocess.run([sys.executable, "-m", "undercount", *args], capture_output=True,
                          text=True, env=env, timeout=timeout)


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class Poller(threading.Thread):
    """Logs in and asks the app for a page every 0.1 s; now and then logs in again or decides a
    pair (both write to the case)."""

    def __init__(self, url: str) -> None:
        super().__init__(daemon=True)
        self.url = url
        self.stop = threading.Event()
        self.statuses: Counter[int] = Counter()
        self.latencies: list[float] = []
        self.errors: list[str] = []
        self.writes = 0

    def _login(self, client: httpx.Client) -> str:
        token = csrf_from(client.get("/login").text)
        response = client.post("/login", data={"username": "ada", "password": PASSWORD, "csrf_token": token})
        self._count(response)
        self.writes += 1
        return csrf_from(client.get("/login").text)

    def _count(self, response: httpx.Response) -> None:
        self.statuses[response.status_code] += 1
        self.latencies.append(response.elapsed.total_seconds())

    def run(self) -> None:
        pages = ["/register", "/review", "/admin/audit", "/review/decisions", "/login"]
        with httpx.Client(base_url=self.url, follow_redirects=False, timeout=300) as client:
            token = self._login(client)
            i = 0
            while not self.stop.is_set():
                try:
                    if i % 25 == 24:
                        token = self._login(client)
                    response = client.get(pages[i % len(pages)])
                    self._count(response)
                    if response.status_code == 200 and 'data-l="' in response.text and i % 10 == 1:
                        left = response.text.split('data-l="')[1].split('"')[0]
                        right = response.text.split('data-r="')[1].split('"')[0]
                        decided = client.post("/review/decide", data={
                            "record_id_l": left, "record_id_r": right, "decision": "skip", "csrf_token": token})
                        self._count(decided)
                        self.writes += 1
                except httpx.HTTPError as exc:
                    self.errors.append(type(exc).__name__)
                i += 1
                self.stop.wait(0.1)


@pytest.mark.slow
def test_serve_and_the_command_line_share_a_case(tmp_path: Path) -> None:
    lists, case = tmp_path / "lists", tmp_path / "case"
    runner = CliRunner()  # before the app serves: in this process
    assert runner.invoke(app, ["simulate", str(lists), "--people", "300", "--lists", "3", "--seed", "3"]).exit_code == 0
    assert runner.invoke(app, ["init", str(case)]).exit_code == 0
    assert runner.invoke(app, ["user", "add", str(case), "ada", "--role", "admin", "--password-stdin"],
                         input=PASSWORD + "\n").exit_code == 0
    port = _free_port()
    env = {**os.environ, "PYTHONPATH": str(SRC), "PYTHONDONTWRITEBYTECODE": "1"}
    server = subprocess.Popen([sys.executable, "-m", "undercount", "serve", str(case), "--port", str(port)],
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 120
        while True:
            try:
                httpx.get(url + "/login", timeout=5)
                break
            except httpx.HTTPError:
                assert server.poll() is None, server.stderr.read() if server.stderr else ""
                assert time.monotonic() < deadline, "serve did not start"
                time.sleep(0.2)
        poller = Poller(url)
        poller.start()
        time.sleep(1)
        commands = [
            ("import", ["import", str(case), str(lists / "hospital.csv"), "--spec", str(lists / "hospital.spec.toml")]),
            ("import", ["import", str(case), str(lists / "survey.xlsx")]),
            ("import", ["import", str(case), str(lists / "social.csv"), "--spec", str(lists / "social.spec.toml")]),
            ("link", ["link", str(case)]),
            # The cheapest estimate (the estimators' own cost is not what is tested here).
            ("estimate", ["estimate", str(case), "--by", "none", "--method", "loglinear", "--link-draws", "0"]),
            ("report", ["report", str(case), "-o", str(tmp_path / "report.html")]),
            ("export", ["export", str(case), "register", "-o", str(tmp_path / "register.csv")]),
        ]
        timings = []
        for name, args in commands:
            started = time.monotonic()
            done = _cli(*args)
            timings.append((name, round(time.monotonic() - started, 1)))
            assert done.returncode == 0, f"{name} failed while the app was serving:\n{done.stderr[-2000:]}"
            assert "Traceback" not in done.stderr
        time.sleep(1)
        poller.stop.set()
        poller.join(timeout=300)
    finally:
        server.terminate()
        try:
            server.wait(timeout=30)
        except subprocess.TimeoutExpired:
            server.kill()
    requests = sum(poller.statuses.values())
    latencies = sorted(poller.latencies)
    print(f"\nserve + CLI: {requests} requests ({poller.writes} writing), statuses {dict(poller.statuses)}, "
          f"latency median {statistics.median(latencies):.3f} s, p95 {latencies[int(0.95 * len(latencies))]:.3f} s, "
          f"max {latencies[-1]:.3f} s; commands {timings}; load {os.getloadavg()[0]:.1f}")
    assert not poller.errors, poller.errors
    assert not [s for s in poller.statuses if s >= 500], poller.statuses
    assert poller.statuses[200] > 20 and poller.writes > 2
    assert set(poller.statuses) <= {200, 303, 409}
