"""The user add and serve commands, run in-process."""

from __future__ import annotations

import socket
from typing import Any

import pytest
from typer.testing import CliRunner

from undercount.cli import app
from undercount.cli.web import is_loopback, port_in_use
from undercount.store import Case
from undercount.web.auth import check_password, get_user

runner = CliRunner()


def test_user_add_reads_the_password_from_stdin(empty_case: Case) -> None:
    result = runner.invoke(
        app, ["user", "add", str(empty_case.path), "amal", "--role", "reviewer", "--password-stdin"],
        input="a good long passphrase\n",
    )
    assert result.exit_code == 0, result.output
    assert "User amal saved with role reviewer" in result.output
    user = get_user(empty_case, "amal")
    assert user is not None and user.role == "reviewer"
    assert check_password(user, "a good long passphrase")
    assert not check_password(user, "a good long passphrase\n")
    assert empty_case.audit_log()["action"].tolist() == ["user"]


def test_user_add_prompts_twice(empty_case: Case) -> None:
    result = runner.invoke(
        app, ["user", "add", str(empty_case.path), "ada", "--role", "admin"],
        input="a good long passphrase\na good long passphrase\n",
    )
    assert result.exit_code == 0, result.output
    assert get_user(empty_case, "ada").role == "admin"  # type: ignore[union-attr]


def test_user_add_refuses_an_unknown_role_as_a_usage_error(empty_case: Case) -> None:
    result = runner.invoke(app, ["user", "add", str(empty_case.path), "amal", "--role", "boss", "--password-stdin"],
                           input="a good long passphrase\n", env={"COLUMNS": "200"})
    assert result.exit_code == 2 and "'boss' is not one of 'viewer', 'reviewer', 'admin', 'disabled'" in result.output
    assert get_user(empty_case, "amal") is None


@pytest.mark.parametrize(
    "args, stdin, message",
    [
        (["--role", "viewer"], "short\n", "ConfigError: a password needs at least 8 characters"),
        (["--role", "viewer"], "", "ConfigError: no password on standard input"),
    ],
)
def test_user_add_refuses_bad_input(empty_case: Case, args: list[str], stdin: str, message: str) -> None:
    result = runner.invoke(app, ["user", "add", str(empty_case.path), "amal", *args, "--password-stdin"], input=stdin)
    assert result.exit_code == 1
    assert message in result.output
    assert get_user(empty_case, "amal") is None


def test_user_add_needs_a_case(tmp_path: Any) -> None:
    result = runner.invoke(app, ["user", "add", str(tmp_path / "none"), "amal", "--role", "viewer", "--password-stdin"],
                           input="a good long passphrase\n", env={"COLUMNS": "200"})
    assert result.exit_code == 1
    assert "StoreError: no case at" in result.output


@pytest.fixture
def served(monkeypatch: pytest.MonkeyPatch) -> dict[str, Any]:
    calls: dict[str, Any] = {}

    def fake_run(application: Any, **kwargs: Any) -> None:
        calls["app"] = application
        calls.update(kwargs)

    monkeypatch.setattr("uvicorn.run", fake_run)
    monkeypatch.setattr("undercount.cli.web.port_in_use", lambda host, port: False)
    return calls


def test_serve_binds_loopback_by_default(empty_case: Case, served: dict[str, Any]) -> None:
    result = runner.invoke(app, ["serve", str(empty_case.path)])
    assert result.exit_code == 0, result.output
    assert (served["host"], served["port"]) == ("127.0.0.1", 8000)
    assert "No accounts yet: add one with 'undercount user add" in result.output
    assert (empty_case.path / "web_secret").is_file()


def test_serve_refuses_a_remote_host_without_the_flag(empty_case: Case, served: dict[str, Any]) -> None:
    result = runner.invoke(app, ["serve", str(empty_case.path), "--host", "0.0.0.0"])
    assert result.exit_code == 1
    assert "ConfigError: --host 0.0.0.0 is not a loopback address" in result.output
    assert "--allow-remote" in result.output
    assert served == {}


def test_serve_remote_with_the_flag_warns(empty_case: Case, served: dict[str, Any]) -> None:
    result = runner.invoke(app, ["serve", str(empty_case.path), "--host", "0.0.0.0", "--port", "8123", "--allow-remote"])
    assert result.exit_code == 0, result.output
    assert "Warning: serving on 0.0.0.0, reachable from other machines" in result.output
    assert (served["host"], served["port"]) == ("0.0.0.0", 8123)


def test_serve_refuses_a_port_in_use(empty_case: Case, monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[Any] = []
    monkeypatch.setattr("uvicorn.run", lambda *a, **k: calls.append(k))
    with socket.socket() as holder:
        holder.bind(("127.0.0.1", 0))
        holder.listen(1)
        port = holder.getsockname()[1]
        result = runner.invoke(app, ["serve", str(empty_case.path), "--port", str(port)])
    assert result.exit_code == 1
    assert f"ConfigError: port {port} on 127.0.0.1 is in use" in result.output
    assert calls == []
    assert port_in_use("127.0.0.1", port) is False


def test_serve_needs_a_case(tmp_path: Any, served: dict[str, Any]) -> None:
    result = runner.invoke(app, ["serve", str(tmp_path / "none")])
    assert result.exit_code == 1 and "StoreError" in result.output
    assert served == {}


@pytest.mark.parametrize(
    "host, loopback",
    [("127.0.0.1", True), ("127.1.2.3", True), ("::1", True), ("[::1]", True), ("localhost", True),
     ("0.0.0.0", False), ("192.168.1.10", False), ("::", False), ("example.org", False)],
)
def test_is_loopback(host: str, loopback: bool) -> None:
    assert is_loopback(host) is loopback
