"""Commands of releases of one list: releases, diff."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Literal

import typer

from undercount.cli.app import app, console, handle_errors, open_case, print_json

__all__ = ["diff_command", "releases_command"]

_CLASS_LABELS = {
    "unchanged": "unchanged",
    "corrected": "corrected",
    "status_moved": "status moved",
    "reappeared_new_id": "reappeared with a new ID",
    "id_reassigned": "ID reassigned",
    "added": "added",
    "removed": "removed",
    "duplicate_resolved": "duplicate resolved",
    "duplicate_added": "duplicate added",
}


def _say(text: str) -> None:
    console.print(text, markup=False, highlight=False, soft_wrap=True)


@app.command("releases")
@handle_errors
def releases_command(
    case_dir: Path = typer.Argument(..., help="The case folder."),
    as_json: bool = typer.Option(False, "--json", help="Print JSON."),
) -> None:
    """List each list's releases in order, with their sizes and top lines."""
    from undercount.store.releases import release_table

    table = release_table(open_case(case_dir))
    if as_json:
        print_json([r.to_dict() for r in table])
        return
    if not table:
        _say("The case holds no list yet.")
        return
    for rel in table:
        top = f", top line {rel.top_line:,}" if rel.top_line is not None else ""
        mark = " (newest)" if rel.newest and rel.releases > 1 else ""
        _say(f"{rel.list_name} {rel.position}/{rel.releases}: {rel.label}, {rel.rows:,} records{top}{mark}")


@app.command("diff")
@handle_errors
def diff_command(
    case_dir: Path = typer.Argument(..., help="The case folder."),
    list_name: str = typer.Argument(..., metavar="LIST", help="The list (or one of its releases)."),
    before: str | None = typer.Option(None, "--from", metavar="RELEASE",
                                      help="The earlier release (name or date; default: the one before --to)."),
    after: str | None = typer.Option(None, "--to", metavar="RELEASE",
                                     help="The later release (name or date; default: the newest)."),
    threshold: float = typer.Option(0.5, "--threshold", help="Match probability at which two records are one person."),
    again: bool = typer.Option(False, "--again", help="Compute again even when the same diff is stored."),
    show: list[str] = typer.Option([], "--show", metavar="CLASS",
                                   help="Print the rows (earlier, later) of the records of this class."),
    export: Path | None = typer.Option(None, "--export", help="Write the diff, one row per record, to this file."),
    fmt: Literal["csv", "xlsx", "json", "parquet"] = typer.Option("csv", "--format", help="Export format: csv, xlsx, json or parquet."),
    personal: bool = typer.Option(False, "--personal-data",
                                  help="With --export: add names and ID numbers before and after (default: redacted)."),
    as_json: bool = typer.Option(False, "--json", help="Print JSON (counts, tables and the rows behind each count)."),
) -> None:
    """What changed between two releases of one list, record by record (no names: file rows).

    The two releases are linked with the project's linkage model (the ID number is strong evidence,
    not a key) and every record of both ends in one class: unchanged, corrected (spelling-only name
    changes marked), status moved, reappeared with a new ID, ID reassigned, added, removed,
    duplicate resolved or duplicate added. The counts of each release add up to its size.
    """
    from undercount.releases import CLASSES, DiffOptions, diff_releases

    for cls in show:
        if cls not in CLASSES:
            raise typer.BadParameter(f"unknown class {cls!r}: use one of {', '.join(CLASSES)}", param_hint="--show")
    case = open_case(case_dir)
    result = diff_releases(case, list_name, before=before, after=after, options=DiffOptions(threshold=threshold),
                           again=again)
    if export is not None:
        from undercount.releases.export import export_diff

        out = export_diff(case, result, export, fmt=fmt, personal=personal)
        if not as_json:
            _say(f"Wrote {len(result.rows):,} rows to {out.path} ({out.size:,} bytes, sha256 {out.sha256[:12]}...)"
                 + ("" if personal else "; names and ID numbers redacted"))
    if as_json:
        print_json(result.to_dict())
        return
    _print_diff(result.to_dict(records=False), result, show)


def _print_diff(data: dict[str, Any], result: Any, show: list[str]) -> None:
    early, late = data["from"], data["to"]
    how = "read back from run" if data["reused"] else f"in {data['seconds']:.1f} s, run"
    _say(f"List '{data['list']}': release {early['source']} ({early['released'] or 'date unknown'}, "
         f"{early['rows']:,} records) -> {late['source']} ({late['released'] or 'date unknown'}, "
         f"{late['rows']:,} records); {how} {data['run_id']}.")
    _say(f"{'class':<26}{'earlier':>10}{'later':>10}")
    for cls, count in data["counts"].items():
        if count["earlier"] or count["later"]:
            _say(f"{_CLASS_LABELS.get(cls, cls):<26}{count['earlier']:>10,}{count['later']:>10,}")
    _say(f"{'total':<26}{data['totals']['earlier']:>10,}{data['totals']['later']:>10,}")
    for move, n in data["status_moves"].items():
        _say(f"Status moved: {move}: {n:,}")
    for fld, n in data["fields"].items():
        extra = ", ".join(f"{v:,} {k.replace('_', ' ')}" for k, v in n.items() if k != "changed")
        _say(f"Field changed among matched records: {fld}: {n['changed']:,}" + (f" ({extra})" if extra else ""))
    for key, label in (("before", early["source"]), ("after", late["source"])):
        p = data["profiles"].get(key) or {}
        if not p:
            continue
        top = (f"top line {p['top_line']:,}, gap to the records {p['gap']:,}; " if p.get("top_line") is not None else "")
        persons = f", {p['persons']:,} distinct persons" if p.get("persons") is not None else ""
        _say(f"{label}: {top}{p['rows']:,} records{persons}; {p['identified']:,} identified (valid ID), "
             f"{p['unidentified']:,} not ({p['missing_id']:,} without ID, {p['invalid_id']:,} invalid); "
             f"{p['missing_age']:,} without age")
        for part, title in (("all", "all records"), ("valid", "valid ID and age")):
            comp = p["composition"][part]
            shares = ", ".join(f"{g} {comp[g]:.1%}" for g in ("children", "women", "elderly") if comp.get(g) is not None)
            if shares:
                _say(f"  shares over {title} ({comp['records']:,}): {shares}")
    for cls in show:
        refs = result.references(cls)
        _say(f"{_CLASS_LABELS.get(cls, cls)} ({len(refs):,}): rows (earlier, later): "
             + "; ".join(f"({a if a is not None else '-'}, {b if b is not None else '-'})" for a, b in refs))
