"""The import summary as lines for the terminal (the CLI prints them; no personal data)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from undercount.errors import InputError

if TYPE_CHECKING:
    from undercount.ingest.importer import ImportResult

__all__ = ["import_lines", "problem_lines", "preview_lines", "MAX_GROUPS"]

MAX_GROUPS = 20  # kinds of problem printed; the rest are counted


def _rows(n: int) -> str:
    return f"{n:,} row{'s' if n != 1 else ''}"


def problem_lines(error: InputError) -> list[str]:
    """The problems of a failed import: per column and kind, a count and the first rows."""
    groups = error.grouped()
    lines = [f"{error.total:,} problems in {error.file}:"]
    for group in groups[:MAX_GROUPS]:
        where = f"column {group['column']!r}: " if group["column"] is not None else ""
        rows = group["rows"]
        listed = ", ".join(str(r) for r in rows) if isinstance(rows, list) and rows else ""
        count = int(str(group["count"]))
        more = " ..." if isinstance(rows, list) and count > len(rows) else ""
        lines.append(f"  {where}{group['problem']}: {_rows(count)}" + (f" (rows {listed}{more})" if listed else ""))
    if len(groups) > MAX_GROUPS:
        rest = sum(int(str(g["count"])) for g in groups[MAX_GROUPS:])
        lines.append(f"  ... and {len(groups) - MAX_GROUPS} more kinds of problem ({_rows(rest)})")
    return lines


def _values_line(fld: str, note: dict[str, Any]) -> str:
    parts = [f"{cell!r} -> {value} ({_rows(note['rows'][cell])})" for cell, value in note.get("mapped", {}).items()]
    if note.get("by_phrase"):
        parts.append(f"{_rows(note['by_phrase'])} by a known phrase in the cell")
    if note.get("not_recognised"):
        parts.append(f"{_rows(note['not_recognised'])} not recognised (left empty)")
    if note.get("default"):
        parts.append(f"{_rows(note['default']['rows'])} without one given the spec's default {note['default']['value']}")
    return f"  {fld}: " + "; ".join(parts)


def import_lines(result: ImportResult) -> list[str]:
    """What was imported and how: columns, values, dates, IDs, flags."""
    lines = [result.message]
    if result.skipped:
        return lines
    lines.append("Columns:")
    for m in result.mapping:
        lines.append(f"  {m['header']!r} -> {m['field']} ({m['how']})")
    if result.unused:
        lines.append(f"  not used (kept in each record's raw cells): {result.unused}")
    if result.values:
        lines.append("Values:")
        lines.extend(_values_line(fld, note) for fld, note in result.values.items())
    if result.dates:
        lines.append("Dates:")
        for note in result.dates.values():
            read = ", ".join(f"{kind} {_rows(n)}" for kind, n in note["read"].items())
            order = ""
            if note.get("order"):
                source = {"data": "from the dates", "spec": "from the spec", "other columns":
                          "as the other date columns", "assumed": "assumed"}.get(str(note["order_source"]), "")
                order = f"; order {'day/month' if note['order'] == 'DMY' else 'month/day'} ({source})"
            ambiguous = (f", {_rows(note['ambiguous'])} with day and month 12 or less"
                         if note.get("ambiguous") and note.get("order_source") != "data" else "")
            refused = f"; {_rows(note['refused'])} refused" if note.get("refused") else ""
            lines.append(f"  {note['header']!r}: {read or 'no dates'}{order}{ambiguous}{refused}")
    names = result.names
    if names.get("latin_names") or names.get("source") == "spec":
        rule = ("Arabic order (given, father, grandfather, family)" if names["order"] == "arabic"
                else "Western order (given name, surname with its particles)")
        why = ("as the spec says" if names["source"] == "spec" else
               f"{names['arabic_like']:,} of {names['latin_names']:,} look like Arabic names")
        lines.append(f"Names: Latin full names split in the {rule}, {why}")
    ids = result.ids
    if ids and ids.get("given"):
        lines.append(f"IDs ({ids['scheme']} scheme): {ids['given']:,} given, {ids['valid']:,} valid, "
                     f"{ids['invalid']:,} invalid")
    flagged = {k: v for k, v in result.flags.items() if v}
    if flagged:
        lines.append("Flags: " + ", ".join(f"{k} {v:,}" for k, v in flagged.items()))
    return lines


def preview_lines(result: ImportResult) -> list[str]:
    """The dry run's first rows as read: one line per record, empty fields left out."""
    lines = [f"First {len(result.preview)} rows as read (names and IDs by their shape unless --show-names):"]
    for record in result.preview:
        fields = [f"{k} {v}" for k, v in record.items() if k not in ("row", "flags") and v is not None]
        if record["flags"]:
            fields.append("flags " + ", ".join(record["flags"]))
        lines.append(f"  row {record['row']}: " + " | ".join(fields))
    return lines
