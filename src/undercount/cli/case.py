"""Commands that make and fill a case: init, import, audit."""

from __future__ import annotations

from pathlib import Path

import typer

from undercount.cli.app import app, console, handle_errors
from undercount.store import Case


@app.command("init")
@handle_errors
def init_command(case_dir: Path = typer.Argument(..., help="Folder of the new case.")) -> None:
    """Make a new, empty case folder."""
    case = Case.init(case_dir)
    console.print(f"Created case {case.path}")
