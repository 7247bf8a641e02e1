"""Commands that make and fill a case: init, import, audit."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Optional

import typer
from rich.table import Table

from undercount.cli.app import app, console, err_console, handle_errors, open_case, print_json
from undercount.errors import InputError

_AUDIT_COLUMNS = (
    ("rows", "rows"), ("invalid_ids", "invalid IDs"), ("missing_ids", "no ID"),
    ("missing_age", "no age"), ("missing_sex", "no sex"), ("missing_event_date", "no event date"),
    ("duplicate_ids", "duplicate IDs"), ("duplicate_rows", "duplicate rows"), ("age_heaping", "age heaping"),
    ("whipple", "Whipple"),
)
_AUDIT_NOTE = ("invalid IDs: given but not a valid 9-digit ID; age heaping: share of ages >= 20 on a "
               "multiple of 5 (0.20 = none); Whipple: 100 = none, 500 = all ages end in 0 or 5")


@app.command("init")
@handle_errors
def init_command(case_dir: Path = typer.Argument(..., help="Folder of the new case.")) -> None:
    """Make a new, empty case folder."""
    from undercount.store import Case

    case = Case.init(case_dir)
    console.print(f"Created case {case.path}")


@app.command("import")
@handle_errors
def import_command(
    case_dir: Path = typer.Argument(..., help="The case folder."),
    file: Path = typer.Argument(..., help="A list: CSV, XLSX, JSON or Parquet."),
    name: Optional[str] = typer.Option(None, "--name", help="The list's name (default: the file's stem)."),
    spec: Optional[Path] = typer.Option(None, "--spec", help="A TOML import spec (columns, values, dates)."),
    as_json: bool = typer.Option(False, "--json", help="Print the result as JSON."),
) -> None:
    """Read a list into the case (atomic; the same file again is skipped)."""
    from undercount.ingest import import_list

    try:
        result = import_list(open_case(case_dir), file, name=name, spec=spec)
    except InputError as exc:
        if len(exc.problems) > 1:  # every problem, then the one-line summary (from handle_errors)
            err_console.print(f"{exc.total} problems in {exc.file}:", markup=False, highlight=False)
            for problem in exc.problems:
                err_console.print("  " + problem.describe(None), markup=False, highlight=False, soft_wrap=True)
        raise
    if as_json:
        print_json(result.to_dict())
        return
    console.print(result.message, markup=False, highlight=False)
    flagged = {k: v for k, v in result.flags.items() if v}
    if flagged:
        console.print("Flags: " + ", ".join(f"{k} {v:,}" for k, v in flagged.items()), markup=False, highlight=False)


def _cell(value: Any) -> str:
    if value is None:
        return "-"
    if isinstance(value, float):
        return f"{value:.2f}" if value < 10 else f"{value:.0f}"
    return f"{value:,}"


@app.command("audit")
@handle_errors
def audit_command(
    case_dir: Path = typer.Argument(..., help="The case folder."),
    as_json: bool = typer.Option(False, "--json", help='Print {"lists": {NAME: {...}}} as JSON.'),
) -> None:
    """Quality of each list: invalid and missing values, duplicates, age heaping."""
    from undercount.ingest import audit_case

    result = audit_case(open_case(case_dir))
    if as_json:
        print_json(result.to_dict())
        return
    if not result.lists:
        console.print("The case holds no lists yet: run 'undercount import'.")
        return
    table = Table(title=f"Quality of the lists in {case_dir}", caption=_AUDIT_NOTE)
    table.add_column("", no_wrap=True)
    for list_name in result.lists:
        table.add_column(list_name, justify="right", overflow="fold")
    for key, label in _AUDIT_COLUMNS:
        table.add_row(label, *(_cell(figures[key]) for figures in result.lists.values()))
    console.print(table)
