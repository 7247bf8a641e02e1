"""Commands of the clerical search sample: draw, export, import, status (undercount.review.sample)."""

from __future__ import annotations

from pathlib import Path

import typer

from undercount.cli.app import app, console, handle_errors, open_case, print_json
from undercount.errors import ConfigError

__all__ = ["draw_command", "export_command", "import_command", "status_command"]

sample_app = typer.Typer(
    help="The clerical search sample: people search the other lists for a random sample of persons, "
         "so that the estimate can be corrected for the links that linkage missed.",
    no_args_is_help=True,
)
app.add_typer(sample_app, name="search-sample")

SAMPLE_HELP = "The sample's id (default: the newest)."


@sample_app.command("draw")
@handle_errors
def draw_command(
    case_dir: Path = typer.Argument(..., help="The linked case folder."),
    size: int = typer.Option(300, "--size", min=1, help="Persons to draw."),
    seed: int = typer.Option(0, "--seed", min=0, help="Random seed."),
    cells: str | None = typer.Option(
        None, "--cells", help="Cells to sample, comma-separated (e.g. survey,survey+obituaries); "
                              "default: every cell without the largest list."),
    review: bool = typer.Option(
        True, "--review/--no-review", help="Also draw linked persons whose links are reviewed, for the false links "
                                           "(the same --size shared by both halves)."),
    as_json: bool = typer.Option(False, "--json", help="Print JSON."),
) -> None:
    """Draw a random sample of persons to search for in the other lists (and of linked persons whose
    links are reviewed), and store it."""
    from undercount.review.sample import draw_search_sample

    chosen = [c.strip() for c in cells.split(",") if c.strip()] if cells else None
    sample = draw_search_sample(open_case(case_dir), size, seed=seed, cells=chosen, review=review)  # the OS user draws it
    if as_json:
        print_json(sample.to_dict())
        return
    console.print(f"Search sample {sample.sample_id}: {sample.items:,} persons from {len(sample.cells)} cell(s) "
                  f"of link run {sample.link_run_id}.", markup=False, highlight=False)
    for cell, (persons, drawn) in sample.cells.items():
        console.print(f"  {cell}: {drawn:,} of {persons:,} persons", markup=False, highlight=False)
    console.print("Answer them in the review app (Search sample) or offline: 'undercount search-sample export'.",
                  markup=False, highlight=False)


@sample_app.command("export")
@handle_errors
def export_command(
    case_dir: Path = typer.Argument(..., help="The case folder."),
    output: Path = typer.Option(..., "--output", "-o", help="The sheet to write (.xlsx or .csv)."),
    candidates: int = typer.Option(5, "--candidates", min=0, max=20, help="Best candidates per list shown."),
    sample: str | None = typer.Option(None, "--sample", help=SAMPLE_HELP),
) -> None:
    """Write the sample as a sheet to fill in offline (names and IDs: the file is readable by you only)."""
    from undercount.review.sample import export_frame
    from undercount.store.output import write_table

    suffix = output.suffix.lower().lstrip(".")
    if suffix not in ("xlsx", "csv"):
        raise ConfigError(f"cannot write {output.name}: give a .xlsx or .csv file")
    case = open_case(case_dir)
    frame = export_frame(case, sample_id=sample, limit=candidates)
    written = write_table(case, frame, output, fmt=suffix, action="search-sample-export",
                          detail={"what": "search sample", "sample_id": sample}, sheet="search sample")
    console.print(f"Wrote {len(frame):,} rows (one per person and list to search) to {written.path} (mode 600). "
                  "Fill in 'answer' (found, absent or skip, with 'found_record_id'; on a row with a "
                  "'review_record_id': same, different or skip), then 'undercount search-sample import'.",
                  markup=False, highlight=False)


@sample_app.command("import")
@handle_errors
def import_command(
    case_dir: Path = typer.Argument(..., help="The case folder."),
    sheet: Path = typer.Argument(..., help="The filled-in sheet (.xlsx or .csv)."),
    user: str | None = typer.Option(None, "--user", help="Who answered (default: your login name)."),
    sample: str | None = typer.Option(None, "--sample", help=SAMPLE_HELP),
) -> None:
    """Store the answers of a filled-in sheet (all or none; every bad row is reported)."""
    from undercount.review.sample import read_answer_sheet, record_answers, sample_progress
    from undercount.store.case import default_username

    case = open_case(case_dir)
    stored = record_answers(case, read_answer_sheet(sheet), sample_id=sample, username=user or default_username(), file=sheet.name)
    progress = sample_progress(case, sample)
    console.print(f"Stored {stored:,} answers from {sheet.name}: {progress['complete']:,} of {progress['items']:,} "
                  f"persons fully searched or reviewed, {progress['with_found']:,} found on another list, "
                  f"{progress['with_split']:,} with a linked record not this person.", markup=False, highlight=False)


@sample_app.command("status")
@handle_errors
def status_command(
    case_dir: Path = typer.Argument(..., help="The case folder."),
    sample: str | None = typer.Option(None, "--sample", help=SAMPLE_HELP),
    as_json: bool = typer.Option(False, "--json", help="Print JSON."),
) -> None:
    """How far the search sample is answered (figures only)."""
    from undercount.review.sample import sample_summary

    summary = sample_summary(open_case(case_dir), sample)
    if as_json:
        print_json(summary)
        return
    console.print(f"Search sample {summary['sample_id']}: {summary['complete']:,} of {summary['items']:,} persons "
                  f"fully searched or reviewed ({summary['reviewed']:,} of them drawn for their links), "
                  f"{summary['with_found']:,} found on another list, {summary['with_split']:,} with a linked record "
                  f"not this person, {summary['left']:,} left.", markup=False, highlight=False)
