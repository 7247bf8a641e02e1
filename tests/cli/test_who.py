"""Commands record who ran them with one helper (store.case.default_username): the login name, or 'unknown'."""

from __future__ import annotations

import getpass
from pathlib import Path

import pytest
from typer.testing import CliRunner

from undercount.cli import app
from undercount.store import Case
from undercount.web.auth import list_users


def _no_login() -> str:
    raise KeyError("getpwuid(): uid not found: 4242")  # what getpass raises in a container without /etc/passwd


@pytest.mark.parametrize(("login", "expected"), [(lambda: "clerk", "clerk"), (_no_login, "unknown")])
def test_account_changes_from_the_command_line_name_the_os_user(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                                login: object, expected: str) -> None:
    monkeypatch.setattr(getpass, "getuser", login)
    case = Case.init(tmp_path / "case")
    runner = CliRunner()
    out = runner.invoke(app, ["user", "add", str(case.path), "rita", "--role", "reviewer", "--password-stdin"],
                        input="a long enough password 1\n")
    assert out.exit_code == 0, out.output
    out = runner.invoke(app, ["user", "disable", str(case.path), "rita"])
    assert out.exit_code == 0, out.output
    users = list_users(case)
    assert [(u["username"], u["role"], u["written_by"]) for u in users] == [("rita", "disabled", expected)]
    audit = case.query("SELECT username, action FROM uc_audit WHERE action = 'user' ORDER BY 1")
    assert audit["username"].tolist() == [expected, expected]
