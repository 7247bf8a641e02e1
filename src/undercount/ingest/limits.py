"""What undercount reads at most, and the checks that refuse more, before the work it would cost.

A casualty list is a few hundred thousand rows of a few dozen short cells. A file far beyond
that is damaged or hostile (a zip bomb, a field of megabytes, JSON nested a hundred thousand
deep, twenty thousand columns): it is refused with an :class:`~undercount.errors.InputError`
naming file, row and column, never with a traceback, a hang or memory exhausted.

=================  =============  ==========================================================
limit              default        checked
=================  =============  ==========================================================
file_bytes         2 GiB          the file's size, before it is read
unpacked_bytes     1 GiB          XLSX: the parts' sizes once unzipped, from the zip's directory;
                                  Parquet: the row groups' uncompressed sizes, from the footer
unzip_ratio        200            XLSX: how many times its packed size a part over 1 MB may unzip to
cells              50,000,000     rows x columns (XLSX while reading; Parquet from the footer)
rows               10,000,000     data rows
columns            16,384         columns (Excel's own maximum)
field_chars        65,536         characters in one cell (header cells included)
depth              64             JSON: nesting of arrays and objects, scanned before parsing
spec_bytes         1 MiB          an import spec's size
spec_depth         16             an import spec's nesting of tables and arrays
=================  =============  ==========================================================
"""

from __future__ import annotations

import re
import zipfile
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

import numpy as np

from undercount.errors import InputError

__all__ = ["ReadLimits", "LIMITS", "check_size", "check_shape", "check_zip", "json_too_deep",
           "column_label", "SURROGATE", "nesting_depth"]


@dataclass(frozen=True)
class ReadLimits:
    """The most undercount reads of one file (see the module's table)."""

    file_bytes: int = 2 * 1024**3
    unpacked_bytes: int = 1024**3
    unzip_ratio: int = 200
    cells: int = 50_000_000
    rows: int = 10_000_000
    columns: int = 16_384
    field_chars: int = 65_536
    depth: int = 64
    spec_bytes: int = 1024**2
    spec_depth: int = 16


LIMITS = ReadLimits()
#: A lone surrogate: JSON can spell one (``"\ud800"``), but it is not text and cannot be stored.
SURROGATE = re.compile("[\ud800-\udfff]")
_STRING = re.compile(rb'"(?:[^"\\]|\\.)*"', re.DOTALL)


def check_size(size: int, file: str, limits: ReadLimits = LIMITS) -> None:
    """Refuse a file larger than ``limits.file_bytes``.

    Raises:
        InputError: the file is too large.
    """
    if size > limits.file_bytes:
        raise InputError(f"the file has {size:,} bytes, more than the {limits.file_bytes:,} undercount reads",
                         file=file)


def check_shape(rows: int, columns: int, file: str, limits: ReadLimits = LIMITS) -> None:
    """Refuse more rows, columns or cells than the limits allow.

    Raises:
        InputError: too many rows, columns or cells.
    """
    if columns > limits.columns:
        raise InputError(f"the file has {columns:,} columns, more than the {limits.columns:,} undercount reads",
                         file=file)
    if rows > limits.rows:
        raise InputError(f"the file has more than {limits.rows:,} rows, the most undercount reads in one list",
                         file=file)
    if rows * columns > limits.cells:
        raise InputError(f"the file has more than {limits.cells:,} cells ({rows:,} rows x {columns:,} columns), "
                         "the most undercount reads in one list", file=file)


def check_zip(source: Path | BinaryIO, file: str, limits: ReadLimits = LIMITS) -> None:
    """Refuse a workbook whose parts would unzip to more than ``limits.unpacked_bytes``, or a part
    larger than 1 MB that unzips to more than ``limits.unzip_ratio`` times its packed size (a zip
    bomb: real sheets pack 5 to 20 times), read from the zip's directory before anything is unzipped.

    Raises:
        InputError: not a zip file, or too large once unzipped.
    """
    try:
        with zipfile.ZipFile(source) as archive:
            parts = archive.infolist()
    except (zipfile.BadZipFile, zipfile.LargeZipFile, OSError, ValueError, EOFError) as exc:
        raise InputError(f"not a readable XLSX workbook ({type(exc).__name__}): it may be truncated or damaged",
                         file=file) from None
    total = sum(max(0, p.file_size) for p in parts)
    if total > limits.unpacked_bytes or len(parts) > 10_000:
        raise InputError(f"the workbook would unzip to {total:,} bytes in {len(parts):,} parts, more than the "
                         f"{limits.unpacked_bytes:,} undercount reads", file=file)
    for part in parts:
        if part.file_size > 1 << 20 and part.file_size > limits.unzip_ratio * max(1, part.compress_size):
            raise InputError(f"a part of the workbook would unzip to {part.file_size:,} bytes from "
                             f"{part.compress_size:,}, more than {limits.unzip_ratio} times: a zip bomb, not a "
                             "spreadsheet", file=file)


def json_too_deep(data: bytes, limit: int) -> int | None:
    """The byte offset where arrays and objects nest deeper than ``limit``, or None.

    Strings are blanked first, so brackets inside them do not count; the scan is linear.

    Example:
        >>> json_too_deep(b'[{"a": "[[["}]', 2), json_too_deep(b'[[[1]]]', 2)
        (None, 2)
    """
    if data.count(b"[") + data.count(b"{") <= limit:
        return None
    blanked = _STRING.sub(lambda m: b'""'.ljust(len(m.group(0)), b" "), data)
    codes = np.frombuffer(blanked, dtype=np.uint8)
    step = (np.isin(codes, (ord("["), ord("{"))).astype(np.int32)
            - np.isin(codes, (ord("]"), ord("}"))).astype(np.int32))
    depth = np.cumsum(step)
    deep = np.flatnonzero(depth > limit)
    return int(deep[0]) if deep.size else None


def nesting_depth(value: object) -> int:
    """How deeply lists and dicts nest in ``value`` (0 for a scalar), without recursion.

    Example:
        >>> nesting_depth({"a": [1, {"b": []}]})
        3
    """
    deepest, stack = 0, [(value, 0)]
    while stack:
        item, depth = stack.pop()
        if isinstance(item, dict):
            stack.extend((v, depth + 1) for v in item.values())
            deepest = max(deepest, depth + 1)
        elif isinstance(item, list):
            stack.extend((v, depth + 1) for v in item)
            deepest = max(deepest, depth + 1)
    return deepest


def column_label(headers: Sequence[str], index: int, known: Callable[[Sequence[str]], int]) -> str:
    """How a message names a column: its header when undercount (or the spec) knows it, else its
    position (a header that is not known could be a person's name: the file may lack a header).

    Example:
        >>> column_label(["name", "Sami Odeh"], 1, lambda cells: int(cells[0] == "name"))
        'number 2'
    """
    header = headers[index]
    if len(header) <= 80 and known([header]) > 0:
        return header
    return f"number {index + 1}"
