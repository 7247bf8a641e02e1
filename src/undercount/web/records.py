"""Searching and showing records: the search condition, side-by-side rows, text direction."""

from __future__ import annotations

import re
from typing import Any

from undercount.web.data import NAME_FIELDS, RECORD_FIELDS

__all__ = ["search_condition", "field_rows", "text_direction", "MAX_QUERY"]

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
    the query, normalised as ingest normalises names, must occur in the record's ``name_norm``;
    or every token of its transliteration key must occur in the record's ``name_key``, so a
    Latin spelling finds Arabic records and the reverse.

    Args:
        query: what the user typed (at most 200 characters are used).

    Returns:
        (condition, parameters), or None for an empty query.

    Example:
        >>> search_condition("400 000 002")
        ('r.id_number = ? OR ltrim(r.id_number, \\'0\\') = ltrim(?, \\'0\\')', ['400000002', '400000002'])
    """
    from undercount.ingest.names import name_key, normalise_name

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
    for column, tokens in (("name_norm", norm), ("name_key", key)):
        if tokens:
            parts.append("(" + " AND ".join(f"contains(coalesce(r.{column}, ''), ?)" for _ in tokens) + ")")
            params.extend(tokens)
    if not parts:
        return None
    return " OR ".join(parts), params


def _comparable(column: str, value: Any) -> Any:
    if value is None:
        return None
    if column in NAME_FIELDS:
        from undercount.ingest.names import name_key

        return name_key(str(value))
    if isinstance(value, str):
        return value.strip().casefold()
    return value


def field_rows(records: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Rows of a side-by-side table: one per field, one cell per record.

    A row ``differs`` when two records give different known values (names compared by their
    transliteration key, so an Arabic and a Latin spelling of one name do not differ).

    Returns:
        [{"label", "column", "cells": [{"value", "dir"}], "differs"}], in the order of
        :data:`~undercount.web.data.RECORD_FIELDS`.
    """
    rows = []
    for label, column in RECORD_FIELDS:
        values = [rec.get(column) for rec in records]
        known = {_comparable(column, v) for v in values if v is not None and v != ""}
        cells = [
            {"value": "" if v is None else v, "dir": text_direction(v) if column in NAME_FIELDS | {"place"} else "ltr"}
            for v in values
        ]
        rows.append({"label": label, "column": column, "cells": cells, "differs": len(known) > 1})
    return rows
