"""Every command's --help reads naturally: no <bool>/<str> labels, no {name} in the usage line."""

from __future__ import annotations

import re
from typing import Any

import typer.main
from typer.testing import CliRunner

from undercount.cli import app


def _commands(group: Any, path: tuple[str, ...] = ()) -> list[tuple[str, ...]]:
    found = [path]
    for name, command in getattr(group, "commands", {}).items():
        found += _commands(command, (*path, name))
    return found


def test_every_commands_help_shows_no_type_labels() -> None:
    runner = CliRunner()
    commands = _commands(typer.main.get_command(app))
    assert len(commands) > 30 and ("review", "decide") in commands and ("user", "passwd") in commands
    for path in commands:
        result = runner.invoke(app, [*path, "--help"], env={"COLUMNS": "160"})
        assert result.exit_code == 0, (path, result.output)
        text = result.output
        assert "Usage: undercount" in text, path
        labels = re.findall(r"<(?:bool|str|int|float|path|int range|float range)>|LIST\[\w+\]", text)
        assert not labels, (path, labels)
        lines = text[text.index("Usage:"):].splitlines()
        usage = "\n".join(lines[:next((i for i, line in enumerate(lines) if not line.strip()), len(lines))])
        assert "{" not in usage, (path, usage)


def test_options_with_choices_list_them() -> None:
    runner = CliRunner()
    for path, choices in ((("link",), "duckdb|spark"), (("user", "add"), "viewer|reviewer|admin|disabled"),
                          (("estimate",), "auto|sample|model|none"), (("export",), "register|clusters|estimates"),
                          (("review", "decide"), "same|different|skip")):
        result = runner.invoke(app, [*path, "--help"], env={"COLUMNS": "200"})
        assert choices in result.output, path
    result = runner.invoke(app, ["link", ".", "--engine", "sparkle"], env={"COLUMNS": "200"})
    assert result.exit_code == 2 and "'sparkle' is not one of 'duckdb', 'spark'" in result.output
