"""Commands of the review stage: status, and review queue / decide / recluster.

The review app is the main place to review (``undercount serve``); these commands serve scripts
and people without a browser. They print record ids, never names or ID numbers.
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

import typer

from undercount.cli.app import app, console, handle_errors, open_case, print_json

__all__ = ["status_command", "queue_command", "decide_command", "recluster_command", "double_command",
           "agreement_command"]

review_app = typer.Typer(help="Review candidate pairs without the app: queue, decide, recluster.",
                         no_args_is_help=True)
app.add_typer(review_app, name="review")

_STATE_MARK = {"current": "ok", "stale": "STALE", "missing": "-"}


@app.command("status")
@handle_errors
def status_command(
    case_dir: Path = typer.Argument(..., help="The case folder."),
    as_json: bool = typer.Option(False, "--json", help="Print the status as JSON."),
) -> None:
    """What the case holds, which results are stale and why, and the command to run next."""
    from undercount.review import case_status

    status = case_status(open_case(case_dir))
    if as_json:
        print_json(status.to_dict())
        return
    lines = []
    for stage in status.stages:
        line = f"{stage.stage:<9} {_STATE_MARK.get(stage.state, stage.state):<6} {stage.summary}"
        if stage.run_id:
            line += f"  [{stage.run_id}, {stage.finished_at}]"
        lines.append(line.rstrip())
        lines += [f"{'':<16}stale: {reason}" for reason in stage.reasons]
    lines += [f"Warning: {warning}" for warning in status.warnings()]
    lines += [f"Note: {note}" for note in status.notes]
    lines.append(f"Next: {status.next_step}" + (f": {status.next_command}" if status.next_command else ""))
    # Plain lines (no markup, no wrapping: what rich printed here), without importing rich at start-up.
    print("\n".join(lines), flush=True)


@review_app.command("queue")
@handle_errors
def queue_command(
    case_dir: Path = typer.Argument(..., help="The linked case folder."),
    limit: int = typer.Option(20, "--limit", min=0, max=10_000, help="How many pairs to list."),
    user: str | None = typer.Option(None, "--user", help="The reviewer's queue under blind double review "
                                    "(pairs they decided leave it)."),
    as_json: bool = typer.Option(False, "--json", help="Print the queue as JSON."),
) -> None:
    """The undecided candidate pairs that move the estimate most (record ids, no names)."""
    from undercount.review import review_queue
    from undercount.review.searching import search_waiting

    case = open_case(case_dir)
    queue = review_queue(case, limit=limit, case_path=case.path, username=user)
    search = search_waiting(case)
    keys = ("record_id_l", "record_id_r", "probability", "effect", "skipped", "matters", "cross_list", "score",
            "double", "third")
    pairs = [{k: p[k] for k in keys} for p in queue.pairs]
    if as_json:
        print_json({"waiting": queue.waiting, "threshold": queue.threshold, "matters": queue.matters,
                    "matters_decided": queue.matters_decided, "expected_errors": round(queue.expected_errors, 3),
                    "linkage_share": None if queue.outlook is None else queue.outlook.to_dict(),
                    "search_sample": None if search is None else search.to_dict(), "pairs": pairs})
        return
    console.print(f"{queue.waiting:,} pair(s) wait for review (threshold {queue.threshold}).", highlight=False)
    console.print(f"Progress: {queue.progress}.", markup=False, highlight=False, soft_wrap=True)
    if search is not None and search.next_item is not None:
        console.print(f"Search sample first: {search.sentence}; next person {search.next_item} "
                      f"(undercount search-sample export {case_dir}, or the app's /search/{search.next_item}).",
                      markup=False, highlight=False, soft_wrap=True)
    for p in pairs:
        skipped = "  (third decision)" if p["third"] else "  (skipped before)" if p["skipped"] else ""
        where = "  moves the estimate" if p["matters"] else ""
        console.print(f"  {p['record_id_l']} {p['record_id_r']}  p={p['probability']:.3f}  "
                      f"moves {p['effect']} record(s){where}{skipped}", markup=False, highlight=False, soft_wrap=True)


@review_app.command("decide")
@handle_errors
def decide_command(
    case_dir: Path = typer.Argument(..., help="The linked case folder."),
    record_id_l: int = typer.Argument(..., min=1, help="One record id of the pair."),
    record_id_r: int = typer.Argument(..., min=1, help="The other record id."),
    decision: Literal["same", "different", "skip"] = typer.Argument(..., help="same, different or skip."),
    user: str | None = typer.Option(None, "--user", help="Who decides (default: the OS user)."),
    note: str | None = typer.Option(None, "--note", help="Why (kept with the decision; the audit log says only "
                                    "that there is one)."),
    as_json: bool = typer.Option(False, "--json", help="Print the stored decision as JSON."),
) -> None:
    """Store a decision on a candidate pair of the current link run (audited)."""
    from undercount.review import decide

    stored = decide(open_case(case_dir), record_id_l, record_id_r, decision, username=user, note=note)
    if as_json:
        print_json(stored.to_dict())
        return
    console.print(f"Stored '{stored.decision}' on {stored.record_id_l}-{stored.record_id_r} by "
                  f"{stored.username}. Apply it with 'undercount review recluster {case_dir}'.",
                  markup=False, highlight=False, soft_wrap=True)


@review_app.command("recluster")
@handle_errors
def recluster_command(
    case_dir: Path = typer.Argument(..., help="The linked case folder."),
    user: str | None = typer.Option(None, "--user", help="Who asks (default: the OS user)."),
    as_json: bool = typer.Option(False, "--json", help="Print what changed as JSON."),
) -> None:
    """Apply every standing decision to the clusters and say which persons merged or split."""
    from undercount.review import recluster_case

    summary = recluster_case(open_case(case_dir), username=user)
    if as_json:
        print_json(summary.to_dict())
        return
    console.print(f"Re-clustered (run {summary.run_id}): {summary.persons_before:,} -> {summary.persons_after:,} "
                  f"persons, {summary.records_changed:,} record(s) changed person, {len(summary.merged)} merged, "
                  f"{len(summary.split)} split.", markup=False, highlight=False, soft_wrap=True)


@review_app.command("double")
@handle_errors
def double_command(
    case_dir: Path = typer.Argument(..., help="The case folder."),
    share: float = typer.Option(..., "--share", min=0.0, max=1.0, help="Share of candidate pairs two reviewers "
                                "decide blind (0 turns double review off)."),
    seed: int | None = typer.Option(None, "--seed", min=0, help="Which pairs (default: drawn at random)."),
    user: str | None = typer.Option(None, "--user", help="Who sets it (default: the OS user)."),
) -> None:
    """Turn on blind double review for a share of the pairs (audited)."""
    from undercount.review import set_double_review

    set_double_review(open_case(case_dir), share, seed=seed, username=user)
    console.print(f"Blind double review: {share:.0%} of the pairs." if share else "Blind double review is off.",
                  markup=False, highlight=False)


@review_app.command("agreement")
@handle_errors
def agreement_command(
    case_dir: Path = typer.Argument(..., help="The case folder."),
    as_json: bool = typer.Option(False, "--json", help="Print the agreement as JSON."),
) -> None:
    """Agreement of blind double review (Cohen's kappa) and the disagreements waiting for a third decision."""
    from undercount.review import agreement

    found = agreement(open_case(case_dir))
    if as_json:
        print_json(found.to_dict())
        return
    kappa = "-" if found.kappa is None else f"{found.kappa:.2f}"
    console.print(f"{found.pairs:,} pair(s) decided by two reviewers, {found.agreed:,} in agreement; Cohen's kappa "
                  f"{kappa}. Disagreements waiting for a third decision: {found.third_waiting:,} "
                  f"(decided by a third: {found.third_decided:,}).", markup=False, highlight=False, soft_wrap=True)
