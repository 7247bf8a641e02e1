"""Commands of incidents and displacement: ``undercount incidents ...`` and ``undercount displacement ...``."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Literal

import typer

from undercount.cli.app import app, console, err_console, handle_errors, open_case, print_json, redaction_flags
from undercount.errors import InputError

incidents_app = typer.Typer(help="Incidents: what happened, where, to what, reported by whom; victims linked to them.",
                            no_args_is_help=True)
displacement_app = typer.Typer(help="Displacement: people forced to flee, by origin, arrival and date.",
                               no_args_is_help=True)
app.add_typer(incidents_app, name="incidents")
app.add_typer(displacement_app, name="displacement")


def _say(text: str) -> None:
    console.print(text, markup=False, highlight=False, soft_wrap=True)


def _problems(exc: InputError) -> None:
    if len(exc.problems) > 1:  # every problem, then the one-line summary (from handle_errors)
        err_console.print(f"{exc.total} problems in {exc.file}:", markup=False, highlight=False)
        for problem in exc.problems:
            err_console.print("  " + problem.describe(None), markup=False, highlight=False, soft_wrap=True)


def _import(kind: str, case_dir: Path, file: Path, name: str | None, spec: Path | None, as_json: bool) -> None:
    from undercount.displacement import import_displacement
    from undercount.incidents import import_incidents

    func = import_incidents if kind == "incidents" else import_displacement
    try:
        result = func(open_case(case_dir), file, name=name, spec=spec)
    except InputError as exc:
        if not as_json:  # under --json handle_errors prints every problem as JSON
            _problems(exc)
        raise
    if as_json:
        print_json(result.to_dict())
    else:
        _say(result.message)


@incidents_app.command("import")
@handle_errors
def incidents_import(
    case_dir: Path = typer.Argument(..., help="The case folder."),
    file: Path = typer.Argument(..., help="Incident reports: CSV, XLSX, JSON or Parquet; headers or HXL hashtags."),
    name: str | None = typer.Option(None, "--name", help="The file's name in the case (default: the file's stem)."),
    spec: Path | None = typer.Option(None, "--spec", help="A TOML spec (columns, values, dates, source)."),
    as_json: bool = typer.Option(False, "--json", help="Print the result as JSON."),
) -> None:
    """Read a file of incident reports into the case (atomic; the same file again is skipped)."""
    _import("incidents", case_dir, file, name, spec, as_json)


def _coverage(row: dict[str, Any]) -> str:
    from undercount.incidents.listing import coverage_text

    return coverage_text(int(row["named_killed"] or 0), row["killed_min"], row["killed_max"])


@incidents_app.command("list")
@handle_errors
def incidents_list(
    case_dir: Path = typer.Argument(..., help="The case folder."),
    limit: int = typer.Option(50, "--limit", min=0, help="Rows to show (0: all); --json always gives all."),
    as_json: bool = typer.Option(False, "--json", help="Print every incident as JSON."),
) -> None:
    """The incidents: date, place, object, reported killed, named victims, grade and sources."""
    from undercount.incidents import OBJECT_LABELS, list_incidents

    listed = list_incidents(open_case(case_dir))
    if as_json:
        print_json(listed.to_dict())
        return
    for note in listed.notes:
        err_console.print(note, markup=False, highlight=False, soft_wrap=True)
    if listed.incidents.empty:
        return
    from rich.table import Table  # rich's tables only in the commands that draw one
    table = Table(title=f"{len(listed.incidents):,} incidents from {listed.reports:,} reports")
    for column, justify in (("incident", "left"), ("date", "left"), ("place", "left"), ("object", "left"),
                            ("killed", "right"), ("named victims", "right"), ("grade", "left"), ("sources", "right")):
        table.add_column(column, justify=justify, no_wrap=column in ("incident", "date"))  # type: ignore[arg-type]
    from undercount.incidents.files import rows_of

    rows = rows_of(listed.incidents)
    for row in rows[: limit or None]:
        date = row["date_start"].strftime("%Y-%m" if row["date_precision"] in ("month",) else "%Y-%m-%d") \
            if row["date_start"] is not None else "-"
        table.add_row(str(row["incident_id"]), date, str(row["place"] or "-"),
                      OBJECT_LABELS.get(str(row["object_type"]), "-"), _coverage(row).split(" of ")[1].removesuffix(" reported"),
                      f"{int(row['named_killed'] or 0):,}", str(row["grade"]), f"{int(row['n_sources']):,}")
    console.print(table)
    if limit and len(rows) > limit:
        _say(f"... and {len(rows) - limit:,} more (--limit 0 shows all)")


@incidents_app.command("dedupe")
@handle_errors
def incidents_dedupe(
    case_dir: Path = typer.Argument(..., help="The case folder."),
    threshold: float = typer.Option(0.5, "--threshold", help="Match probability at or above which two reports are one incident."),
    window: int = typer.Option(3, "--window", help="Days two reports of one incident may differ."),
    seed: int = typer.Option(0, "--seed", min=0, help="Seed of the random pairs that estimate u."),
    as_json: bool = typer.Option(False, "--json", help="Print the result as JSON."),
) -> None:
    """Deduplicate incident reports across sources into incidents, and grade each incident."""
    from undercount.incidents import DedupeOptions, dedupe_incidents

    result = dedupe_incidents(open_case(case_dir), DedupeOptions(threshold=threshold, window=window, seed=seed))
    if as_json:
        print_json(result.to_dict())
        return
    grades = ", ".join(f"{g} {n:,}" for g, n in sorted(result.grades.items()))
    _say(f"{result.reports:,} reports -> {result.incidents:,} incidents ({result.merged:,} reports merged); "
         f"grades: {grades}; {result.waiting:,} pairs waiting for review (undercount incidents review)")


@incidents_app.command("review")
@handle_errors
def incidents_review(
    case_dir: Path = typer.Argument(..., help="The case folder."),
    limit: int = typer.Option(20, "--limit", min=1, help="Pairs to show."),
    as_json: bool = typer.Option(False, "--json", help="Print the pairs as JSON."),
) -> None:
    """Pairs of reports the model is unsure of, nearest the threshold first (decide with 'incidents decide')."""
    from undercount.incidents.review import queue_rows, review_queue

    queue = review_queue(open_case(case_dir), limit=limit)
    if as_json:
        print_json({"pairs": queue_rows(queue)})
        return
    if queue.empty:
        _say("No pair is waiting for review.")
        return
    from rich.table import Table  # rich's tables only in the commands that draw one
    table = Table(title="Pairs of reports waiting for review")
    for column in ("p", "report", "source", "date", "place", "object", "killed", "report", "source", "date", "place",
                   "object", "killed"):
        table.add_column(column)
    from undercount.incidents.listing import range_text

    for row in queue_rows(queue):
        cells = [f"{row['probability']:.2f}"]
        for side in ("l", "r"):
            cells += [str(row[f"report_id_{side}"]), str(row[f"source_name_{side}"]), str(row[f"date_start_{side}"]),
                      str(row[f"place_{side}"] or "-"), str(row[f"object_type_{side}"] or "-"),
                      range_text(row[f"killed_min_{side}"], row[f"killed_max_{side}"])]
        table.add_row(*cells)
    console.print(table)
    _say("Decide with: undercount incidents decide CASE REPORT REPORT same|different|skip")


@incidents_app.command("decide")
@handle_errors
def incidents_decide(
    case_dir: Path = typer.Argument(..., help="The case folder."),
    first: int = typer.Argument(..., help="A report id."),
    second: int = typer.Argument(..., help="Another report id."),
    decision: Literal["same", "different", "skip"] = typer.Argument(..., help="same, different or skip."),
    note: str | None = typer.Option(None, "--note", help="Why (kept with the decision; no names)."),
) -> None:
    """Decide whether two reports describe one incident; the reports are deduplicated again."""
    from undercount.incidents.review import decide_pair

    result = decide_pair(open_case(case_dir), first, second, decision, note=note)
    assert result is not None
    _say(f"Saved: reports {min(first, second)} and {max(first, second)} {decision}. "
         f"{result.reports:,} reports -> {result.incidents:,} incidents.")


@incidents_app.command("grade")
@handle_errors
def incidents_grade(
    case_dir: Path = typer.Argument(..., help="The case folder."),
    incident: str = typer.Argument(..., help="An incident id (I0000017) or a report id (17)."),
    grade: Literal["confirmed", "discounted", "clear"] = typer.Argument(..., help="confirmed, discounted or clear (back to the rule)."),
    note: str | None = typer.Option(None, "--note", help="Why (kept with the decision; no names)."),
) -> None:
    """Confirm or discount an incident as a reviewer (or clear that); grades are computed again."""
    from undercount.incidents.review import decide_grade

    result = decide_grade(open_case(case_dir), incident, grade, note=note)
    assert result is not None
    _say(f"Saved: {incident} {grade}. Grades: " + ", ".join(f"{g} {n:,}" for g, n in sorted(result.grades.items())))


@incidents_app.command("assign")
@handle_errors
def incidents_assign(
    case_dir: Path = typer.Argument(..., help="The case folder."),
    named_window: int = typer.Option(7, "--named-window", help="Days between a person's date and the incident's for the named rule."),
    window: int = typer.Option(1, "--window", help="Days for the family rule."),
    locality_days: int = typer.Option(0, "--locality-days", help="Days for the locality rule."),
    as_json: bool = typer.Option(False, "--json", help="Print the result as JSON."),
) -> None:
    """Link the register's persons to incidents (each at most one; unlinked stay unlinked)."""
    from undercount.incidents import AssignOptions, assign_victims

    result = assign_victims(open_case(case_dir), AssignOptions(named_window=named_window, window=window,
                                                                 locality_days=locality_days))
    if as_json:
        print_json(result.to_dict())
        return
    methods = ", ".join(f"{m} {n:,}" for m, n in result.by_method.items())
    grades = ", ".join(f"{g} {n:,}" for g, n in result.details.get("by_confidence", {}).items())
    _say(f"Linked {result.linked:,} of {result.persons:,} persons to {result.incidents_with_victims:,} incidents "
         f"({methods}; confidence {grades}); {result.ambiguous:,} left unlinked because their evidence pointed to "
         "two incidents.")
    if result.over_reported:
        _say(f"{result.over_reported:,} incidents have more named killed than their sources reported.")


@incidents_app.command("evaluate")
@handle_errors
def incidents_evaluate(
    case_dir: Path = typer.Argument(..., help="The case folder."),
    truth: Path = typer.Option(..., "--truth", help="The folder 'undercount simulate --incidents' wrote."),
    as_json: bool = typer.Option(False, "--json", help="Print the scores as JSON."),
) -> None:
    """Score deduplication and victim links against a simulated case's truth."""
    from undercount.link.incidents import evaluate_assignment, evaluate_dedupe

    case = open_case(case_dir)
    pairs = evaluate_dedupe(case, truth / "truth_incident_reports.csv")
    links = evaluate_assignment(case, truth) if case.current_run("incident-assign") else None
    if as_json:
        print_json({"dedupe": pairs.to_dict(), "assignment": links.to_dict() if links else None})
        return
    _say(f"Deduplication: pairwise F1 {pairs.pairwise_f1:.3f} (precision {pairs.pairwise_precision:.3f}, "
         f"recall {pairs.pairwise_recall:.3f}); {pairs.predicted_persons:,} incidents found, "
         f"{pairs.true_persons:,} true")
    if links is not None:
        _say(f"Victims to incidents: accuracy {links.accuracy:.3f} (precision {links.precision:.3f}, recall "
             f"{links.recall:.3f}); {links.linked:,} of {links.records:,} records linked")


def _export(what: str, case_dir: Path, fmt: str, redact: bool, output: Path, personal_data: bool = False) -> None:
    from undercount.incidents.export import export_entities

    result = export_entities(open_case(case_dir), what, fmt=fmt, redact=redaction_flags(redact, personal_data, fmt, "families"),
                             personal_data=personal_data, path=output)
    _say(f"Wrote {result.rows:,} rows of {what} to {result.path} ({result.fmt}{', redacted' if result.redacted else ''})")


@incidents_app.command("export")
@handle_errors
def incidents_export(
    case_dir: Path = typer.Argument(..., help="The case folder."),
    fmt: Literal["csv", "xlsx", "json", "hxl"] = typer.Option("csv", "--format", "-f",
                                                         help="csv, xlsx, json or hxl (CSV with HXL hashtags, redacted by "
                                                              "default)."),
    redact: bool = typer.Option(False, "--redact", help="Drop the families reports name and the ids of named victims."),
    personal_data: bool = typer.Option(False, "--personal-data",
                                       help="HXL only: include the families and the ids of named victims (left out by "
                                            "default)."),
    output: Path = typer.Option(..., "-o", "--output", help="The file to write."),
) -> None:
    """Export the incidents (one row each, with named victims against the reported range)."""
    _export("incidents", case_dir, fmt, redact, output, personal_data)


@displacement_app.command("import")
@handle_errors
def displacement_import(
    case_dir: Path = typer.Argument(..., help="The case folder."),
    file: Path = typer.Argument(..., help="Counts of displaced people: CSV, XLSX, JSON or Parquet; headers or HXL."),
    name: str | None = typer.Option(None, "--name", help="The file's name in the case (default: the file's stem)."),
    spec: Path | None = typer.Option(None, "--spec", help="A TOML spec (columns, values, dates, source)."),
    as_json: bool = typer.Option(False, "--json", help="Print the result as JSON."),
) -> None:
    """Read counts of displaced people by origin, arrival and date (atomic; never mixed with deaths)."""
    _import("displacement", case_dir, file, name, spec, as_json)


@displacement_app.command("list")
@handle_errors
def displacement_list(
    case_dir: Path = typer.Argument(..., help="The case folder."),
    as_json: bool = typer.Option(False, "--json", help="Print every count as JSON."),
) -> None:
    """Displaced people per file and place of arrival (each file's own counts; files are never summed)."""
    from undercount.displacement import read_displacement

    table = read_displacement(open_case(case_dir))
    if as_json:
        print_json(table.to_dict())
        return
    for note in table.notes:
        err_console.print(note, markup=False, highlight=False, soft_wrap=True)
    if table.counts.empty:
        return
    counts = table.counts.assign(arrival=table.counts["arrival"].fillna(table.counts["arrival_adm1"]).fillna("-"))
    summary = counts.groupby(["file", "arrival"], sort=True).agg(
        displaced=("displaced", "sum"), rows=("row", "size"), first=("date_start", "min"), last=("date_end", "max"))
    from rich.table import Table  # rich's tables only in the commands that draw one
    out = Table(title="Displaced people by file and place of arrival")
    for column in ("file", "arrival", "displaced", "rows", "from", "to"):
        out.add_column(column, justify="right" if column in ("displaced", "rows") else "left")
    import pandas as pd

    from undercount.incidents.files import rows_of

    for row in rows_of(summary.reset_index()):
        out.add_row(str(row["file"]), str(row["arrival"]), f"{int(row['displaced']):,}", f"{int(row['rows']):,}",
                    pd.Timestamp(row["first"]).strftime("%Y-%m-%d"), pd.Timestamp(row["last"]).strftime("%Y-%m-%d"))
    console.print(out)


@displacement_app.command("export")
@handle_errors
def displacement_export(
    case_dir: Path = typer.Argument(..., help="The case folder."),
    fmt: Literal["csv", "xlsx", "json", "hxl"] = typer.Option("csv", "--format", "-f",
                                                         help="csv, xlsx, json or hxl (CSV with HXL hashtags)."),
    output: Path = typer.Option(..., "-o", "--output", help="The file to write."),
) -> None:
    """Export the displacement counts, each with its file and row."""
    _export("displacement", case_dir, fmt, False, output)
