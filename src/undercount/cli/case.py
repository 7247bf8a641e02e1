"""Commands that make and fill a case: init, import, audit."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import typer

from undercount.cli.app import Steps, app, console, err_console, handle_errors, open_case, print_json
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
    name: str | None = typer.Option(None, "--name", help="The list's name (default: the file's stem)."),
    spec: Path | None = typer.Option(None, "--spec", help="A TOML import spec (columns, values, dates, ID scheme)."),
    dry_run: bool = typer.Option(False, "--dry-run",
                                 help="Read, map and check the file and show its first rows as read; store nothing."),
    show_names: bool = typer.Option(False, "--show-names",
                                    help="With --dry-run: show names and ID numbers in the rows (default: their shape)."),
    release_of: str | None = typer.Option(None, "--release-of", metavar="LIST",
                                             help="The file is a new release of this list (named LIST@DATE "
                                                  "unless --name is given)."),
    released: str | None = typer.Option(None, "--released", metavar="YYYY-MM-DD",
                                           help="The release's publication date (needed with --release-of)."),
    top_line: int | None = typer.Option(None, "--top-line", min=0,
                                           help="The total the publisher announced with this release."),
    top_line_identified: int | None = typer.Option(None, "--top-line-identified", min=0,
                                                      help="Of the top line, how many the publisher called identified."),
    compiled_by: str | None = typer.Option(None, "--compiled-by", metavar="TEXT",
                                           help="Who compiled the list, e.g. 'Ministry of Health, Gaza' "
                                                "(shown in the report; default: the spec's [list] compiled_by)."),
    description: str | None = typer.Option(None, "--description", metavar="TEXT",
                                           help="How: what the list holds and how it was gathered (shown in the "
                                                "report; default: the spec's [list] description)."),
    as_json: bool = typer.Option(False, "--json", help="Print the result (or the errors) as JSON."),
) -> None:
    """Read a list into the case (atomic; the same file again is skipped) and say what was read how.

    A list published again and again keeps its releases: import the first as usual, each later one
    with --release-of LIST --released DATE (undercount diff shows what changed between them).
    """
    from undercount.ingest import import_list
    from undercount.ingest.importer import IMPORT_STEPS
    from undercount.ingest.report import import_lines, preview_lines, problem_lines

    if show_names and not dry_run:
        raise typer.BadParameter("--show-names only goes with --dry-run", param_hint="--show-names")
    try:
        with Steps(IMPORT_STEPS, "Importing") as step:
            result = import_list(open_case(case_dir), file, name=name, spec=spec, dry_run=dry_run,
                                 show_personal=show_names, release_of=release_of, released=released, top_line=top_line,
                                 top_line_identified=top_line_identified, progress=step, compiled_by=compiled_by,
                                 description=description)
    except InputError as exc:
        if as_json:
            raise  # handle_errors prints it as JSON
        if exc.total > 1:  # per column and kind of problem: the first rows and a count
            for line in problem_lines(exc):
                err_console.print(line, markup=False, highlight=False, soft_wrap=True)
        raise
    if as_json:
        print_json(result.to_dict())
        return
    for line in import_lines(result) + (preview_lines(result) if result.preview else []):
        console.print(line, markup=False, highlight=False, soft_wrap=True)
    for warning in result.warnings:
        err_console.print(f"Warning: {warning}", markup=False, highlight=False, soft_wrap=True)


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
    from rich.table import Table  # rich's tables only in the commands that draw one
    table = Table(title=f"Quality of the lists in {case_dir}", caption=_AUDIT_NOTE)
    table.add_column("", no_wrap=True)
    for list_name in result.lists:
        table.add_column(list_name, justify="right", overflow="fold")
    for key, label in _AUDIT_COLUMNS:
        table.add_row(label, *(_cell(figures[key]) for figures in result.lists.values()))
    console.print(table)
