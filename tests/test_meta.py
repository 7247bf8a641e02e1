"""Promises the project keeps: every command exists and is documented, __all__ is honest."""

from __future__ import annotations

import importlib
from pathlib import Path

import pytest
import typer.main

import undercount
from undercount.cli import app

ROOT = Path(__file__).resolve().parents[1]

# The command line of docs/design.md.
COMMANDS = [
    "init",
    "import",
    "audit",
    "simulate",
    "link",
    "evaluate-links",
    "estimate",
    "estimate-table",
    "report",
    "export",
    "user add",
    "serve",
    "demo",
]


def _registered() -> set[str]:
    group = typer.main.get_command(app)
    names: set[str] = set()
    for name, cmd in group.commands.items():  # type: ignore[attr-defined]
        sub = getattr(cmd, "commands", None)
        if sub:
            names.update(f"{name} {s}" for s in sub)
        else:
            names.add(name)
    return names


@pytest.mark.parametrize("command", COMMANDS)
def test_command_exists_and_is_documented(command: str) -> None:
    assert command in _registered(), f"`undercount {command}` is not registered"
    text = (ROOT / "docs" / "cli.md").read_text(encoding="utf-8")
    assert f"undercount {command}" in text, f"`undercount {command}` is missing from docs/cli.md"


def test_readme_opens_with_the_two_commands() -> None:
    head = (ROOT / "README.md").read_text(encoding="utf-8")[:600]
    assert "make demo" in head and "make test" in head


def test_ci_calls_make_test() -> None:
    assert "make test" in (ROOT / ".ci" / "run").read_text(encoding="utf-8")


@pytest.mark.parametrize(
    "module",
    ["undercount", "undercount.errors", "undercount.store", "undercount.estimate"],
)
def test_all_names_exist(module: str) -> None:
    mod = importlib.import_module(module)
    for name in mod.__all__:
        assert hasattr(mod, name), f"{module}.__all__ names {name}, which does not exist"


def test_version() -> None:
    from importlib.metadata import version

    assert undercount.__version__ == version("undercount")


def test_cli_reference_is_up_to_date() -> None:
    import subprocess
    import sys

    done = subprocess.run(
        [sys.executable, str(ROOT / "scripts" / "gen_cli_docs.py"), "--check"], capture_output=True, text=True
    )
    assert done.returncode == 0, "docs/cli.md is stale: run scripts/gen_cli_docs.py"


def _doc_sections() -> dict[str, str]:
    text = (ROOT / "docs" / "cli.md").read_text(encoding="utf-8")
    parts = text.split("\n## `")[1:]
    return {part.split("`", 1)[0]: part for part in parts}


def _leaf_commands(group: object, prefix: str) -> list[tuple[str, object]]:
    out: list[tuple[str, object]] = []
    for name, cmd in group.commands.items():  # type: ignore[attr-defined]
        full = f"{prefix} {name}"
        out += _leaf_commands(cmd, full) if hasattr(cmd, "commands") else [(full, cmd)]
    return out


_LEAVES = _leaf_commands(typer.main.get_command(app), "undercount")


@pytest.mark.parametrize("full, command", _LEAVES, ids=[full for full, _ in _LEAVES])
def test_cli_reference_gives_what_help_gives(full: str, command: object) -> None:
    """Every option's default (0 included) and every required option appear as `--help` shows them."""
    section = _doc_sections()[full]
    for param in command.params:  # type: ignore[attr-defined]
        if param.name == "help":
            continue
        label = f"`{param.opts[0]}`" if param.param_type_name == "option" else f"`{str(param.name).upper()}`"
        row = next((line for line in section.splitlines() if line.startswith(f"| {label}")), None)
        assert row is not None, f"{full}: {label} is missing from docs/cli.md"
        kind, default = [cell.strip() for cell in row.split("|")[2:4]]
        if param.required:
            assert default == "required", f"{full} {label}: required in --help, not in docs/cli.md"
        elif param.default is not None and param.default is not False and not callable(param.default):
            assert default == f"`{param.default}`", f"{full} {label}: default {param.default!r} not in docs/cli.md"
        assert (param.help or "").strip() in row.replace("\\|", "|"), f"{full} {label}: help differs"


_SEEDED = [(full, command) for full, command in _LEAVES if any(p.name == "seed" for p in command.params)]


@pytest.mark.parametrize("full, command", _SEEDED, ids=[full for full, _ in _SEEDED])
def test_a_negative_seed_is_wrong_usage_not_a_traceback(full: str, command: object, tmp_path: Path) -> None:
    from typer.testing import CliRunner

    params = command.params  # type: ignore[attr-defined]
    arguments = [str(tmp_path / "x") for p in params if p.param_type_name == "argument"]
    result = CliRunner().invoke(app, [*full.split()[1:], *arguments, "--seed", "-1"])
    assert result.exit_code == 2, result.output
    assert "Invalid value for '--seed'" in result.output
