"""The table a reader gives: text cells, row numbers, the header found, the checks on cells.

Shared by the readers of :mod:`undercount.ingest.read` (CSV, JSON) and
:mod:`undercount.ingest.workbooks` (XLSX, Parquet).
"""

from __future__ import annotations

import json
import math
import unicodedata
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, time
from typing import Any

import numpy as np
import pandas as pd

from undercount.errors import InputError
from undercount.ingest.limits import ReadLimits, check_shape, column_label

__all__ = ["RawTable", "HeaderScorer", "HEADER_SCAN_ROWS", "MAX_LISTED_PROBLEMS", "unique_headers", "find_header",
           "check_headers", "cell_text", "text_table", "finish_table"]

HEADER_SCAN_ROWS = 20
MAX_LISTED_PROBLEMS = 50

HeaderScorer = Callable[[Sequence[str]], int]


@dataclass
class RawTable:
    """The cells of one list file as text.

    Attributes:
        frame: one text column per header (headers made unique), one row per data row.
        rows: the 1-based data-row number of each row of ``frame``.
        format: csv | xlsx | json | parquet.
        encoding: the text encoding detected (None for binary formats).
        header_row: 1-based line (CSV) or sheet row (XLSX) of the header, None for JSON/Parquet.
    """

    frame: pd.DataFrame
    rows: np.ndarray
    format: str
    encoding: str | None = None
    header_row: int | None = None
    sheet: str | None = None
    headers: list[str] = field(default_factory=list)


def unique_headers(cells: Sequence[Any]) -> list[str]:
    """Strip headers, name empty ones ``column_N`` and make repeats unique (``name (2)``), also
    when a header already reads like a renamed repeat (``name (2),name,name``).

    Example:
        >>> unique_headers(["name (2)", "name", "name", " "])
        ['name (2)', 'name', 'name (3)', 'column_4']
    """
    out: list[str] = []
    taken: set[str] = set()
    counts: dict[str, int] = {}
    for i, cell in enumerate(cells, start=1):
        text = unicodedata.normalize("NFC", str(cell if cell is not None else "")).strip().lstrip("\ufeff")
        base = text or f"column_{i}"
        text, key = base, base.casefold()
        while key in taken:
            counts[base.casefold()] = counts.get(base.casefold(), 1) + 1
            text = f"{base} ({counts[base.casefold()]})"
            key = text.casefold()
        taken.add(key)
        out.append(text)
    return out


def find_header(rows: Sequence[Sequence[str]], positions: Sequence[int], score: HeaderScorer,
                 override: int | None, file: str) -> int:
    """Index (0-based) of the header among the first non-blank rows.

    ``positions`` holds each row's 1-based line (CSV) or sheet row (XLSX); ``override`` is one
    of them, given by the spec's ``header_row``.
    """
    if not rows:
        raise InputError("the file is empty", file=file)
    if override is not None:
        if override not in positions:
            raise InputError(f"header_row {override} is not a non-empty row among the first {len(rows)}", file=file)
        return list(positions).index(override)
    scores = [score([str(c) for c in r]) for r in rows]
    if max(scores) > 0:
        return int(np.argmax(scores))
    widths = [sum(1 for c in r if str(c).strip()) for r in rows]
    return widths.index(max(widths))


def check_headers(headers: list[str], line: int, file: str, score: HeaderScorer, limits: ReadLimits) -> None:
    check_shape(0, len(headers), file, limits)
    for i, header in enumerate(headers):
        if len(header) > limits.field_chars:
            raise InputError(f"the header (line {line}) has a cell of {len(header):,} characters, more than the "
                             f"{limits.field_chars:,} undercount reads", file=file,
                             column=column_label(headers, i, score))


def cell_text(value: Any) -> str:
    """A cell as text: whole floats without ".0", dates ISO, nested values as JSON, missing as ""."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, datetime):
        return value.date().isoformat() if value.time() == time(0) else value.isoformat(sep=" ")
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, (dict, list, tuple)):
        return json.dumps(value, ensure_ascii=False, default=str)
    return str(value)


def text_table(columns: list[Any], rows: int) -> Any:
    """An Arrow table of text columns ``c0``, ``c1`` ... from lists of strings or Arrow arrays."""
    import pyarrow as pa

    arrays = [c if isinstance(c, (pa.Array, pa.ChunkedArray)) else pa.array(c, type=pa.large_string())
              for c in columns]
    if not arrays:
        return pa.table({"_": pa.nulls(rows)}).drop(["_"])
    return pa.table(arrays, names=[f"c{i}" for i in range(len(arrays))])


def finish_table(table: Any, fmt: str, encoding: str | None, header_row: int | None, headers: list[str],
            file: str, score: HeaderScorer, limits: ReadLimits, sheet: str | None = None) -> RawTable:
    """Number the rows, drop those whose cells are all empty, refuse a cell longer than the limit
    (row and column named), then make the pandas frame. The checks run on each column's Arrow
    array, in time linear in rows and columns (pandas' per-column overhead made 16,384 columns slow)."""
    import pyarrow as pa
    import pyarrow.compute as pc

    check_shape(table.num_rows, len(headers), file, limits)
    rows = np.arange(1, table.num_rows + 1, dtype=np.int64)
    blank = np.ones(table.num_rows, dtype=bool)
    for i, col in enumerate(table.columns):
        lengths = pc.utf8_length(col)
        if (pc.max(lengths).as_py() or 0) > limits.field_chars:
            sizes = pc.fill_null(lengths, 0).to_numpy(zero_copy_only=False)
            at = int(np.argmax(sizes > limits.field_chars))
            raise InputError(f"a cell holds {int(sizes[at]):,} characters, more than the {limits.field_chars:,} "
                             "undercount reads", file=file, row=int(rows[at]), column=column_label(headers, i, score))
        if blank.any():
            empty = pc.equal(pc.utf8_trim_whitespace(col), "")
            blank &= pc.fill_null(empty, True).to_numpy(zero_copy_only=False)
    if table.num_columns and blank.any():
        table = table.filter(pa.array(~blank))
        rows = rows[~blank]
    frame = table.to_pandas().astype("str") if table.num_columns else pd.DataFrame(index=range(table.num_rows))
    frame.columns = pd.Index(headers, dtype=object)
    return RawTable(frame, rows, fmt, encoding, header_row, sheet, headers)
