"""Under --json every error is JSON: each command that takes --json, given bad input, prints a JSON
error on stdout ({"error", "message", "exit_code"}) and exits 1 (the user must fix) or 2 (usage)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import typer.main
from typer.testing import CliRunner

from undercount.cli import app


def _commands(group: Any, path: tuple[str, ...] = ()) -> list[tuple[tuple[str, ...], Any]]:
    found: list[tuple[tuple[str, ...], Any]] = []
    for name, command in getattr(group, "commands", {}).items():
        found += _commands(command, (*path, name)) if hasattr(command, "commands") else [((*path, name), command)]
    return found


def _bad_args(command: Any, junk: Path) -> list[str]:
    """Every required argument and option given a file of junk (neither a case, a list, a table nor a
    folder to write in); a command that needs nothing gets an unknown option: it must never start its work here."""
    args: list[str] = []
    for param in command.params:
        if not param.required:
            continue
        value = str(junk)
        args += [value] if param.param_type_name == "argument" else [param.opts[0], value]
    return args or ["--no-such-option"]


def _parse(result: Any, path: tuple[str, ...]) -> dict[str, Any]:
    assert result.exit_code in (1, 2), (path, result.exit_code, result.output)
    assert result.exception is None or isinstance(result.exception, SystemExit), (path, repr(result.exception))
    try:
        found = json.loads(result.stdout)
    except ValueError:
        raise AssertionError((path, "stdout is not JSON", result.stdout, result.stderr)) from None
    assert isinstance(found, dict) and found["error"] and found["message"], (path, found)
    assert found["exit_code"] == result.exit_code, (path, found)
    assert "Traceback" not in result.stderr, path
    return found


def test_every_command_with_json_prints_its_errors_as_json(tmp_path: Path) -> None:
    runner = CliRunner()
    commands = [(p, c) for p, c in _commands(typer.main.get_command(app))
                if any("--json" in getattr(param, "opts", []) for param in c.params)]
    assert len(commands) >= 20 and any(p == ("estimate",) for p, _ in commands)
    junk = tmp_path / "junk.csv"
    junk.write_bytes(b"\x00\xff\xfe junk \x00" * 10)
    kinds = set()
    for path, command in commands:
        result = runner.invoke(app, [*path, *_bad_args(command, junk), "--json"])
        kinds.add(_parse(result, path)["error"])
    assert "StoreError" in kinds or "InputError" in kinds  # errors of the library, not only usage errors


def test_usage_errors_under_json_are_json_and_exit_2(tmp_path: Path) -> None:
    runner = CliRunner()
    result = runner.invoke(app, ["link", str(tmp_path), "--threshold", "many", "--json"])
    found = _parse(result, ("link",))
    assert result.exit_code == 2 and found["error"] == "UsageError" and "--threshold" in found["message"]
    result = runner.invoke(app, ["link", str(tmp_path), "--threshold", "many"])  # without --json: typer's text
    assert result.exit_code == 2 and not result.stdout.lstrip().startswith("{")


def test_bad_rows_under_json_name_file_row_and_column(tmp_path: Path) -> None:
    from undercount.store import Case

    Case.init(tmp_path / "case")
    bad = tmp_path / "list.csv"
    bad.write_text("name,age,sex,date_of_death\nAhmad Ali,30,m,2023\nMona Ali,28,f,2024\n", encoding="utf-8")
    result = CliRunner().invoke(app, ["import", str(tmp_path / "case"), str(bad), "--json"])
    found = _parse(result, ("import",))
    assert found["error"] == "InputError" and found["file"] == "list.csv"
    assert [(p["column"], p["rows"]) for p in found["problems"]] == [("date_of_death", [1, 2])]
    assert "Ahmad" not in result.stdout and "Mona" not in result.stdout


def test_a_list_given_for_the_case_is_told_apart(tmp_path: Path) -> None:
    listed = tmp_path / "some.csv"
    listed.write_text("name,age\n", encoding="utf-8")
    result = CliRunner().invoke(app, ["audit", str(listed)])
    assert result.exit_code == 1
    assert "some.csv is a file, not a case folder" in result.stderr and "undercount init some.csv" not in result.stderr
