"""Commands that present a case: report, export, demo."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

import typer

from undercount.cli.app import (
    app,
    console,
    err_console,
    handle_errors,
    open_case,
    print_json,
    real_console,
    redaction_flags,
)


@app.command("report")
@handle_errors
def report_command(
    case_dir: Path = typer.Argument(..., help="The case folder."),
    output: Path = typer.Option(Path("report.html"), "-o", "--output", help="The HTML file to write."),
    redact: bool = typer.Option(False, "--redact", help="Leave victims' names out of the report."),
    title: str | None = typer.Option(None, "--title", help="The report's title (default: names the case)."),
    as_json: bool = typer.Option(False, "--json", help="Print what was written as JSON."),
) -> None:
    """Write the report: one self-contained HTML file that opens offline and prints well."""
    from undercount.report import write_report

    result = write_report(open_case(case_dir), output, redact=redact, title=title)
    if as_json:
        print_json({"path": str(result.path), "figures": result.figures, "sections": list(result.sections),
                    "seconds": round(result.seconds, 2), "bytes": result.size})
        return
    console.print(f"Wrote {result.path} ({result.figures} figures, {result.size / 1e6:.1f} MB, "
                  f"{result.seconds:.1f} s)", markup=False, highlight=False, soft_wrap=True)


@app.command("export")
@handle_errors
def export_command(
    case_dir: Path = typer.Argument(..., help="The case folder."),
    what: Literal["register", "clusters", "estimates"] = typer.Argument(..., help="register, clusters or estimates."),
    fmt: Literal["csv", "xlsx", "parquet", "json", "hxl"] = typer.Option("csv", "--format", "-f",
                            help="csv, xlsx, parquet, json or hxl (CSV with HXL hashtags, redacted by default)."),
    redact: bool = typer.Option(False, "--redact", help="Drop names, name parts, ID numbers and raw rows."),
    personal_data: bool = typer.Option(False, "--personal-data",
                                       help="HXL only: include names and ID numbers (left out by default)."),
    no_bom: bool = typer.Option(False, "--no-bom",
                                help="CSV and HXL without the UTF-8 byte-order mark that spreadsheets need."),
    output: Path = typer.Option(..., "-o", "--output", help="The file to write."),
    as_json: bool = typer.Option(False, "--json", help="Print what was written as JSON."),
) -> None:
    """Export the register, the clusters or the estimates (file 600, logged in the case's audit log)."""
    from undercount.report import export

    result = export(open_case(case_dir), what, fmt=fmt, redact=redaction_flags(redact, personal_data, fmt, "names"),
                    personal_data=personal_data, path=output, bom=not no_bom)
    if as_json:
        print_json({"path": str(result.path), "what": result.what, "format": result.fmt, "rows": result.rows,
                    "columns": list(result.columns), "redacted": result.redacted, "bytes": result.size,
                    "sha256": result.sha256})
        return
    console.print(f"Wrote {result.rows:,} rows of {result.what} to {result.path} ({result.fmt}"
                  f"{', redacted' if result.redacted else ''})", markup=False, highlight=False, soft_wrap=True)


@app.command("demo")
@handle_errors
def demo_command(
    out: Path = typer.Option(Path("demo-output"), "--out", help="Folder for the lists, the case and the report."),
    seed: int = typer.Option(0, "--seed", min=0, help="Seed of the simulation and the estimation."),
    preset: Literal["small", "gaza-like", "large"] = typer.Option("small", "--preset", help="Simulation preset."),
    link_draws: int | None = typer.Option(None, "--link-draws", min=0,
                                             help="Plausible linkages to pool over (default 10)."),
    as_json: bool | None = typer.Option(False, "--json", help="Print the headline numbers as JSON."),
) -> None:
    """Simulate a case with a known truth, import, link, estimate and write its report."""
    from undercount.demo import run_demo
    from undercount.report.text import fmt_int, fmt_interval

    result = run_demo(out, seed=seed, preset=preset, link_draws=link_draws, console=real_console(err_console))
    if as_json:
        print_json(result.to_dict())
        return
    console.print()
    console.print(f"Report: {result.report.resolve()}", markup=False, highlight=False, soft_wrap=True)
    who = result.population
    console.print(f"Documented, {who} (distinct persons on the lists): {fmt_int(result.documented)}",
                  markup=False, highlight=False, soft_wrap=True)
    console.print(f"Estimated total, {who}: {fmt_int(result.estimate)} (95% interval "
                  f"{fmt_interval(result.lower, result.upper)})", markup=False, highlight=False, soft_wrap=True)
    console.print(f"True number, {who} (known because the case is simulated): {fmt_int(result.true_n)} "
                  f"(of {fmt_int(result.true_total)} simulated victims of every status)",
                  markup=False, highlight=False, soft_wrap=True)
    console.print(f"Linkage against the truth: pairwise F1 {result.f1:.3f} (precision "
                  f"{result.precision:.3f}, recall {result.recall:.3f})", markup=False, highlight=False, soft_wrap=True)
    if result.incident_f1 is not None and result.assignment_accuracy is not None:
        console.print(f"Incidents: {result.incidents:,} found, deduplication pairwise F1 {result.incident_f1:.3f}; "
                      f"victims linked to incidents, accuracy {result.assignment_accuracy:.3f}; "
                      f"{result.displacement_rows:,} displacement counts", markup=False, highlight=False, soft_wrap=True)
    console.print()
    console.print("Next:", markup=False, highlight=False)
    for step in next_steps(result.report.resolve(), result.case_dir):
        console.print(f"  {step}", markup=False, highlight=False, soft_wrap=True)


def next_steps(report: Path, case: Path) -> list[str]:
    """The three commands that follow a demo: open the report, add a reviewer, serve the app.

    Example:
        >>> next_steps(Path("/d/report.html"), Path("d/case"))[1]
        'undercount user add d/case YOUR_NAME --role reviewer     # add a reviewer (asks for a password)'
    """
    return [
        f"xdg-open {report}     # open the report (macOS: open; Windows: start)",
        f"undercount user add {case} YOUR_NAME --role reviewer     # add a reviewer (asks for a password)",
        f"undercount serve {case}     # review the uncertain pairs at http://127.0.0.1:8000/",
    ]
