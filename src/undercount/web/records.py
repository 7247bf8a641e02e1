"""Searching and showing records: the search condition, side-by-side rows, text direction."""

from __future__ import annotations

import json
import re
from datetime import date, datetime
from typing import Any

from undercount.store.fields import Role, record_table

__all__ = ["search_condition", "field_rows", "raw_items", "text_direction", "MAX_QUERY"]

MAX_QUERY = 200
_RTL = re.compile(r"[\u0590-\u08FF\uFB1D-\uFDFF\uFE70-\uFEFF]")
_DIGITS = re.compile(r"^[\d\s-]+$")


def text_direction(value: Any) -> str:
    """``rtl`` when the text holds Hebrew or Arabic letters, else ``ltr``.

    Example:
        >>> text_direction("محمد"), text_direction("Mohammed")
        ('rtl', 'ltr')
    """
    return "rtl" if isinstance(value, str) and _RTL.search(value) else "ltr"


def _tokens(text: str) -> list[str]:
    return [t for t in text.split() if t]


def search_condition(query: str) -> tuple[str, list[Any]] | None:
    """A SQL condition on ``uc_records`` (alias ``r``) for a search by name or ID number.

    Digits (with spaces or dashes) search ID numbers. Anything else is a name: every token of
    the query, normalised as ingest normalises names, must begin a token of the record's
    ``name_norm``; or every token of the query's transliteration key must be a token of the
    record's ``name_key``, so a Latin spelling finds Arabic records and the reverse.

    Args:
        query: what the user typed (at most 200 characters are used).

    Returns:
        (condition, parameters), or None for an empty query.

    Example:
        >>> search_condition("400 000 002")[1]
        ['400000002', '400000002']
    """
    from undercount.names import name_key, normalise_name

    text = query.strip()[:MAX_QUERY]
    if not text:
        return None
    if _DIGITS.match(text):
        digits = re.sub(r"\D", "", text)
        return "r.id_number = ? OR ltrim(r.id_number, '0') = ltrim(?, '0')", [digits, digits]
    norm = _tokens(normalise_name(text))
    key = _tokens(name_key(text))
    parts: list[str] = []
    params: list[Any] = []
    if norm:
        # Each query token starts a token of the normalised name (so a partial name finds).
        parts.append("(" + " AND ".join("contains(' ' || coalesce(r.name_norm, ''), ' ' || ?)" for _ in norm) + ")")
        params.extend(norm)
    if key:
        # Each token of the key is a whole token of the record's key (keys are short).
        parts.append(
            "(" + " AND ".join("contains(' ' || coalesce(r.name_key, '') || ' ', ' ' || ? || ' ')" for _ in key) + ")"
        )
        params.extend(key)
    if not parts:
        return None
    return " OR ".join(parts), params


#: Fields that say where a record comes from: never highlighted as a difference.
_PROVENANCE = frozenset({"source", "row"})


def _display(column: str, value: Any) -> Any:
    """A cell's text: dates as YYYY-MM-DD, booleans as yes/no, missing as empty."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "yes" if value else "no"
    if column in record_table().dates and isinstance(value, (date, datetime)):
        return value.strftime("%Y-%m-%d")
    return value


def _comparable(column: str, value: Any) -> Any:
    if value is None:
        return None
    if column in record_table().with_role(Role.NAME):
        from undercount.names import name_key

        return name_key(str(value))
    if isinstance(value, str):
        return value.strip().casefold()
    return value


def raw_items(raw: Any) -> list[tuple[str, str]]:
    """The source row as read: (header, text) pairs in file order, empty cells left out.

    Example:
        >>> raw_items('{"name": "Omar", "age": "", "sex": "M"}')
        [('name', 'Omar'), ('sex', 'M')]
    """
    if not raw:
        return []
    try:
        data = json.loads(raw) if isinstance(raw, str) else raw
    except ValueError:
        return []
    if not isinstance(data, dict):
        return []
    return [(str(k), str(v)) for k, v in data.items() if v not in (None, "")]


def field_rows(records: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Rows of a side-by-side table: one per field, one cell per record.

    A row ``differs`` when two records give different known values (names compared by their
    transliteration key, so an Arabic and a Latin spelling of one name do not differ).

    Returns:
        [{"label", "column", "cells": [{"value", "dir"}], "differs"}], in the order of
        the field table's shown fields (:attr:`undercount.store.fields.FieldTable.shown`), then the row as
        written in its file
        (cells with ``raw``: (header, text) pairs).
    """
    rows = []
    table = record_table()
    directional = {*table.with_role(Role.NAME), "place"}
    for label, column in table.shown:
        values = [rec.get(column) for rec in records]
        known = {_comparable(column, v) for v in values if v is not None and v != ""}
        cells = [
            {"value": _display(column, v), "dir": text_direction(v) if column in directional else "ltr"}
            for v in values
        ]
        differs = len(known) > 1 and column not in _PROVENANCE
        rows.append({"label": label, "column": column, "cells": cells, "differs": differs})
    raw = [{"value": "", "raw": raw_items(rec.get("raw")), "dir": "auto"} for rec in records]
    rows.append({"label": "As written", "column": "raw", "cells": raw, "differs": False})
    return rows
