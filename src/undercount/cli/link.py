"""Commands of the linkage stage: link, evaluate-links."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Literal

import typer

from undercount.cli.app import Steps, app, console, handle_errors, open_case, print_json

__all__ = ["blocking_lines", "evaluate_links_command", "link_command", "print_missed"]


@app.command("link")
@handle_errors
def link_command(
    case_dir: Path = typer.Argument(..., help="The case folder."),
    engine: Literal["duckdb", "spark"] = typer.Option("duckdb", "--engine", help="duckdb (default) or spark."),
    threshold: float | None = typer.Option(None, "--threshold", help="Match probability for a link (default 0.5)."),
    release: list[str] = typer.Option([], "--release", metavar="LIST=RELEASE",
                                      help="Link this release of a list (its name or date) instead of its newest."),
    as_json: bool = typer.Option(False, "--json", help="Print the result as JSON."),
) -> None:
    """Link records within and across lists, cluster them into persons, store the run.

    A list with several releases is linked by its newest release (or the one --release names).
    """
    from undercount.link import link_case
    from undercount.link.run import LINK_STEPS

    case = open_case(case_dir)
    with Steps(LINK_STEPS, "Linking") as step:
        result = link_case(case, engine=engine, threshold=threshold, releases=release or None, progress=step)
    if as_json:
        print_json(result.to_dict())
        return
    for note in result.notes:
        console.print(f"Note: {note}")
    console.print(
        f"Linked {result.records:,} records from {result.lists} list(s) with {result.engine}: "
        f"{result.pairs:,} candidate pairs stored, {result.links:,} links at p >= {result.threshold}, "
        f"{result.persons:,} persons ({result.persons_with_several_records:,} with several records, "
        f"largest {result.largest_cluster}) in {result.seconds:.1f} s. Run {result.run_id}."
    )
    for line in blocking_lines(result.blocking):
        console.print(line)
    print_missed(result.missed)


def blocking_lines(blocking: dict[str, Any]) -> list[str]:
    """What blocking's caps and conditions left out, a line each (``LinkResult.blocking``).

    Blocks a cap dropped from a rule that would compare them (their pairs no other rule proposes are
    never compared) are told apart from the commoner keys of a family capped on purpose, which it
    never meant to compare.
    """
    lines = [
        f"Blocking: '{rule}' dropped {c['blocks']:,} block(s) over its cap ({c['records']:,} records, {c['pairs']:,} pairs "
        "left to the other rules; a pair no other rule proposes is never compared)"
        for rule, c in blocking.get("dropped", {}).items()
    ]
    lines += [
        f"Blocking: '{family}' is capped on purpose: it compares only keys at most {c['cap']:,} records hold, and left "
        f"{c['blocks']:,} commoner key(s) ({c['records']:,} records, {c['pairs']:,} pairs) to the other rules by design, "
        "not for lack of room"
        for family, c in blocking.get("capped", {}).items()
    ]
    lines += [
        f"Blocking: '{family}' compared only pairs its condition allows ({pairs:,} pairs of its blocks left to the other rules)"
        for family, pairs in blocking.get("held_back", {}).items()
    ]
    return lines


def print_missed(rows: list[dict[str, Any]]) -> None:
    """The model's own estimate of missed and false links per pair of lists (figures only)."""
    shown = [r for r in rows if r["linked_pairs"] or r["expected_missed"] >= 0.5]
    if not shown:
        return
    console.print("The model's own estimate of linkage errors, per pair of lists (record pairs; unverified: "
                  "a clerical search sample measures what the model cannot see):")
    for r in shown:
        pair = f"{r['list_l']} x {r['list_r']}" if r["list_l"] != r["list_r"] else f"{r['list_l']} (duplicates)"
        unstored = ("not estimated" if r["missed_unstored"] is None
                    else f"{r['missed_unstored']:,.0f} ± {r['missed_unstored_se']:,.0f} never stored")
        console.print(f"  {pair}: {r['linked_pairs']:,} linked, about {r['expected_false']:,.0f} of them false; "
                      f"about {r['expected_missed']:,.0f} missed ({r['missed_scored']:,.0f} scored but apart, {unstored}); "
                      f"stored pairs calibrated on a third list's links: about {r.get('calibrated_missed', 0):,.0f} "
                      f"({r.get('missed_low', 0):,.0f} to {r.get('missed_high', 0):,.0f})")


@app.command("evaluate-links")
@handle_errors
def evaluate_links_command(
    case_dir: Path = typer.Argument(..., help="The linked case folder."),
    truth: Path = typer.Option(..., "--truth", help="CSV with list,row,person_id."),
    as_json: bool = typer.Option(False, "--json", help="Print the scores as JSON."),
) -> None:
    """Score the current clusters against a truth: pairwise and B-cubed precision/recall/F1."""
    from undercount.link import evaluate_links

    result = evaluate_links(open_case(case_dir), truth)
    if as_json:
        print_json(result.to_dict())
        return
    console.print(
        f"{result.records:,} records, {result.true_persons:,} true persons, "
        f"{result.predicted_persons:,} clusters\n"
        f"pairwise  precision {result.pairwise_precision:.4f}  recall {result.pairwise_recall:.4f}  "
        f"F1 {result.pairwise_f1:.4f}\n"
        f"B-cubed   precision {result.bcubed_precision:.4f}  recall {result.bcubed_recall:.4f}  "
        f"F1 {result.bcubed_f1:.4f}"
    )
    if result.list_pairs:
        console.print("per pair of lists, pairwise (true pairs, precision, recall):")
        for row in result.list_pairs:
            if row["true_pairs"] or row["predicted_pairs"]:
                console.print(
                    f"  {row['list_l']} x {row['list_r']}, {row['subset']}: {row['true_pairs']:,}  "
                    f"P {row['precision']:.4f}  R {row['recall']:.4f}"
                )
