"""Showing records: side-by-side rows, text direction (the search is the review stage's)."""

from __future__ import annotations

import json
import re
from datetime import date, datetime
from typing import Any

from undercount.store.fields import Role, record_table

__all__ = ["field_rows", "raw_items", "text_direction"]

_RTL = re.compile(r"[\u0590-\u08FF\uFB1D-\uFDFF\uFE70-\uFEFF]")


def text_direction(value: Any) -> str:
    """``rtl`` when the text holds Hebrew or Arabic letters, else ``ltr``.

    Example:
        >>> text_direction("محمد"), text_direction("Mohammed")
        ('rtl', 'ltr')
    """
    return "rtl" if isinstance(value, str) and _RTL.search(value) else "ltr"


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
