"""The ``simulate`` command: a synthetic case with its truth."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

import typer

from undercount.cli.app import app, console, handle_errors, print_json


@app.command("simulate")
@handle_errors
def simulate_command(
    out_dir: Path = typer.Argument(..., help="Folder to write the lists, truth and manifest to."),
    preset: Literal["small", "gaza-like", "large"] | None = typer.Option(None, "--preset", help="The kind of case (default small)."),
    people: int | None = typer.Option(None, "--people", min=1, help="True population size N."),
    lists: int | None = typer.Option(None, "--lists", min=1, help="Number of lists K."),
    seed: int = typer.Option(0, "--seed", min=0, help="Random seed: the same seed writes the same files."),
    config: Path | None = typer.Option(None, "--config", help="A TOML file of settings (docs/simulation.md)."),
    incidents: bool = typer.Option(False, "--incidents", help="Victims die in incidents several sources report; "
                                   "writes incident reports and displacement counts too."),
    as_json: bool = typer.Option(False, "--json", help="Print a summary as JSON."),
) -> None:
    """Write K simulated lists with truth.csv, truth_population.csv and manifest.json."""
    from undercount.simulate import simulate

    result = simulate(out_dir, preset=preset, people=people, lists=lists, seed=seed, config=config, incidents=incidents)
    manifest = result.manifest
    summary = {
        "out_dir": str(result.out_dir), "preset": manifest["preset"], "seed": result.seed,
        "true_n": manifest["true_n"], "documented_n": manifest["documented_n"],
        "lists": {item["name"]: {"file": item["file"], "rows": item["rows"], "capture_rate": item["capture_rate"],
                                 "spec": item["spec"]} for item in manifest["lists"]},
    }
    if "incidents" in manifest:
        summary["incidents"] = manifest["incidents"]
    if as_json:
        print_json(summary)
        return
    from rich.table import Table  # rich's tables only in the commands that draw one
    table = Table(title=f"Simulated case in {result.out_dir}")
    for column in ("list", "file", "rows", "capture rate", "spec"):
        table.add_column(column)
    for name, item in summary["lists"].items():
        table.add_row(name, item["file"], f"{item['rows']:,}", f"{item['capture_rate']:.3f}", item["spec"] or "-")
    console.print(table)
    console.print(f"True N {manifest['true_n']:,}; on at least one list {manifest['documented_n']:,}. "
                  f"Truth in truth.csv, truth_population.csv and manifest.json.", highlight=False)
    if "incidents" in manifest:
        inc = manifest["incidents"]
        console.print(f"{inc['incidents']:,} incidents ({inc['reported_incidents']:,} reported) in "
                      f"{', '.join(p.name for p in result.incident_files.values())}; displacement in "
                      f"{', '.join(inc['displacement_files']) or 'none'}. Truth in truth_incidents.csv and "
                      "truth_incident_reports.csv.", markup=False, highlight=False, soft_wrap=True)
