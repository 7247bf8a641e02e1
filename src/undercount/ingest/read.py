"""Read a list file (CSV, XLSX, JSON, Parquet) into a table of text cells.

Every cell is kept as text, exactly as read (empty cells are ``""``). The header row is found
even when title or note rows sit above it, by scoring the first rows on how many cells are
headers undercount recognises. ``row`` numbers are 1-based data-row numbers after the header;
blank lines are not counted and rows whose cells are all empty are dropped (their numbers are
kept by the rows that follow, so every record still points at its place in the file).

No input ends in a traceback: every reader turns every failure (a damaged zip, malformed XML,
JSON nested too deep, bytes that are not text, a cell of megabytes) into an
:class:`~undercount.errors.InputError` naming file, row and column, and the limits of
:mod:`undercount.ingest.limits` are checked before the work they guard.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from undercount.errors import InputError, InputProblem
from undercount.ingest.encodings import decode_bytes
from undercount.ingest.limits import (
    LIMITS,
    SURROGATE,
    ReadLimits,
    check_shape,
    check_size,
    column_label,
    json_too_deep,
)
from undercount.ingest.table import (
    HEADER_SCAN_ROWS,
    MAX_LISTED_PROBLEMS,
    HeaderScorer,
    RawTable,
    cell_text,
    check_headers,
    find_header,
    finish_table,
    text_table,
    unique_headers,
)
from undercount.ingest.workbooks import read_parquet, read_xlsx

__all__ = ["RawTable", "read_table", "detect_format", "decode_bytes", "HEADER_SCAN_ROWS", "ReadLimits", "LIMITS"]

# Long cells are refused by the limits, with a clear message: the csv module's own limit
# (131,072 characters) would stop the header scan with a bare error first.
csv.field_size_limit(2**31 - 1)

DELIMITERS = (",", ";", "\t", "|")
FORMATS = {
    ".csv": "csv", ".tsv": "csv", ".txt": "csv", ".xlsx": "xlsx", ".xlsm": "xlsx",
    ".json": "json", ".jsonl": "json", ".ndjson": "json", ".parquet": "parquet", ".pq": "parquet",
}
#: The old private name, for callers that made headers unique with it.
_unique_headers = unique_headers


def _per_cell(score: HeaderScorer) -> HeaderScorer:
    """The scorer, cell by cell with a cache: a row's score is the sum of its cells' (the scorer
    counts recognised cells), so a wide file's repeated cells are folded once, not per row and
    per delimiter tried."""
    cache: dict[str, int] = {}

    def scored(cells: Sequence[str]) -> int:
        total = 0
        for cell in cells:
            value = cache.get(cell)
            if value is None:
                value = cache[cell] = score([cell])
            total += value
        return total

    return scored


def detect_format(path: Path, head: bytes) -> str:
    """The format of a file, from its extension or, failing that, its first bytes.

    Args:
        path: the file's path (its suffix is looked at).
        head: the file's first bytes.
    Returns:
        csv, xlsx, json or parquet.
    """
    fmt = FORMATS.get(path.suffix.lower())
    if fmt:
        return fmt
    if head.startswith(b"PK"):
        return "xlsx"
    if head.startswith(b"PAR1"):
        return "parquet"
    if head.lstrip()[:1] in (b"[", b"{"):
        return "json"
    return "csv"


# -- CSV --------------------------------------------------------------------------------------
def _sniff_delimiter(lines: list[str], score: HeaderScorer) -> str:
    """The delimiter under which some early row reads best as a header (recognised column
    names), then under which most rows have the same number of fields. Cells may hold other
    delimiters, quoted, so consistency alone can mislead."""
    best, best_key = ",", (-1.0, -1, -1)
    for delim in DELIMITERS:
        try:
            rows = [r for r in csv.reader(lines, delimiter=delim) if r]
        except csv.Error:
            continue
        counts = [len(r) for r in rows]
        if not counts:
            continue
        mode = max(set(counts), key=counts.count)
        header = max((float(score([str(c) for c in r])) for r in rows[:HEADER_SCAN_ROWS]), default=0.0)
        if mode < 2 and header <= 0:
            continue
        key = (header, counts.count(mode), mode)
        if key > best_key:
            best, best_key = delim, key
    return best


def _parse_csv_python(text: str, delim: str, width: int) -> tuple[list[list[str]], list[InputProblem]]:
    """The slow, forgiving parse used when the fast one fails: data rows (after the header, the
    first record of ``text``), with extra empty trailing fields dropped and all-blank rows padded,
    and every row that still has the wrong number of fields, or a quote left open."""
    rows: list[list[str]] = []
    problems: list[InputProblem] = []
    reader = csv.reader(io.StringIO(text), delimiter=delim, strict=True)
    row = -1
    try:
        for cells in reader:
            if not cells:
                continue
            row += 1
            if row == 0:
                continue
            while len(cells) > width and not cells[-1].strip():
                cells.pop()
            if not any(c.strip() for c in cells):
                cells = [""] * width
            if len(cells) != width:
                problems.append(InputProblem(
                    f"has {len(cells)} fields, the header has {width} (the file may be truncated or damaged)",
                    row=row))
            else:
                rows.append(cells)
    except csv.Error:
        problems.append(InputProblem("a quoted field is never closed: the file may be truncated", row=row + 1))
    return rows, problems


#: The header is looked for in the first lines, up to this many characters.
HEAD_SCAN_CHARS = 8 << 20


def _head_lines(text: str, count: int, file: str) -> list[str]:
    """The first ``count`` lines (split at line feeds only, as the body is; ends kept), within
    :data:`HEAD_SCAN_CHARS` characters."""
    lines: list[str] = []
    start, size = 0, len(text)
    while len(lines) < count and start < size and start <= HEAD_SCAN_CHARS:
        end = text.find("\n", start, start + HEAD_SCAN_CHARS)
        if end < 0:
            if size - start <= HEAD_SCAN_CHARS:
                end = size - 1  # the last line, without a line feed
            elif not lines:
                raise InputError(f"line 1 has more than {HEAD_SCAN_CHARS:,} characters: no header row can be "
                                 "found (the file may not be a list)", file=file)
            else:
                break
        lines.append(text[start:end + 1])
        start = end + 1
    return lines


def _scan_rows(lines: list[str], delim: str, file: str) -> tuple[list[list[str]], list[int]]:
    """The first non-blank rows of the head and the 1-based line each starts on."""
    reader = csv.reader(lines, delimiter=delim)
    rows: list[list[str]] = []
    positions: list[int] = []
    start = 1
    try:
        for cells in reader:
            if len(rows) >= HEADER_SCAN_ROWS:
                break
            if any(c.strip() for c in cells):
                rows.append(cells)
                positions.append(start)
            start = reader.line_num + 1
    except csv.Error as exc:
        raise InputError(f"line {reader.line_num} cannot be read as CSV ({exc})", file=file) from None
    return rows, positions




def _read_csv(data: bytes, file: str, score: HeaderScorer, header_row: int | None, limits: ReadLimits) -> RawTable:
    import pyarrow as pa
    import pyarrow.csv as pacsv

    text, encoding = decode_bytes(data, file)
    if "\n" not in text and "\r" in text:
        text = text.replace("\r", "\n")
    head_lines = _head_lines(text, HEADER_SCAN_ROWS * 5, file)
    delim = _sniff_delimiter(head_lines[: HEADER_SCAN_ROWS * 2], score)
    rows, positions = _scan_rows(head_lines, delim, file)
    idx = find_header(rows, positions, score, header_row, file)
    headers = unique_headers(rows[idx])
    check_headers(headers, positions[idx], file, score, limits)
    skip_lines = positions[idx] - 1
    body = text if skip_lines == 0 else text.split("\n", skip_lines)[-1]
    del text
    names = [f"c{i}" for i in range(len(headers))]
    try:
        table = pacsv.read_csv(
            io.BytesIO(body.encode("utf-8")),
            read_options=pacsv.ReadOptions(column_names=names, skip_rows=1, block_size=16 << 20),
            parse_options=pacsv.ParseOptions(delimiter=delim, newlines_in_values=True),
            convert_options=pacsv.ConvertOptions(
                column_types={n: pa.string() for n in names}, strings_can_be_null=False,
                quoted_strings_can_be_null=False),
        )
        check_shape(table.num_rows, len(headers), file, limits)
    except (pa.ArrowInvalid, pa.ArrowException):
        parsed, problems = _parse_csv_python(body, delim, len(headers))
        if problems:
            raise InputError(problems[0].message, file=file, problems=problems[:MAX_LISTED_PROBLEMS]) from None
        check_shape(len(parsed), len(headers), file, limits)
        table = text_table([[r[i] for r in parsed] for i in range(len(headers))], len(parsed))
    return finish_table(table, "csv", encoding, positions[idx], headers, file, score, limits)


# -- JSON -------------------------------------------------------------------------------------
def _parse_json(text: str) -> Any:
    """json.loads keeping integers as written (a 5,000-digit number is text, not an error)."""
    return json.loads(text, parse_int=str, parse_constant=str)


def _json_records(text: str, file: str) -> list[Any]:
    try:
        doc = _parse_json(text)
    except (ValueError, RecursionError) as first:
        where = f" (line {first.lineno}, column {first.colno})" if isinstance(first, json.JSONDecodeError) else ""
        lines = [ln for ln in text.split("\n") if ln.strip()]
        records: list[Any] = []
        for n, line in enumerate(lines, start=1):
            try:
                records.append(_parse_json(line))
            except (ValueError, RecursionError):
                if n == 1 or len(lines) == 1:
                    raise InputError(f"not valid JSON{where}: the file may be truncated", file=file) from None
                raise InputError("not valid JSON: the file may be truncated", file=file, row=n) from None
        return records
    if isinstance(doc, dict) and isinstance(doc.get("records"), list):
        return list(doc["records"])
    if isinstance(doc, list):
        return doc
    raise InputError('JSON must be an array of objects, {"records": [...]} or JSON lines', file=file)


def _json_columns(records: list[dict[str, Any]], headers: list[str], file: str,
                  score: HeaderScorer) -> dict[str, list[str]]:
    """One list of cell texts per key; a lone surrogate (``"\\ud800"``) is refused, row and
    column named."""
    columns: dict[str, list[str]] = {}
    for i, key in enumerate(headers):
        if SURROGATE.search(key):
            label = f"number {i + 1}"
            raise InputError("the key holds a lone surrogate escape (\\ud800-\\udfff), which is not text",
                             file=file, column=label)
        values = [cell_text(r.get(key)) for r in records]
        label = column_label(headers, i, score)
        for row, value in enumerate(values, start=1):
            if SURROGATE.search(value):
                raise InputError("the value holds a lone surrogate escape (\\ud800-\\udfff), which is not text",
                                 file=file, row=row, column=label)
        columns[f"c{i}"] = values
    return columns


def _read_json(data: bytes, file: str, score: HeaderScorer, limits: ReadLimits) -> RawTable:
    deep = json_too_deep(data, limits.depth)
    if deep is not None:
        line = data.count(b"\n", 0, deep) + 1
        raise InputError(f"line {line}: arrays and objects nest more than {limits.depth} deep, more than "
                         "undercount reads (a list is an array of flat objects)", file=file)
    text, encoding = decode_bytes(data, file)
    records = _json_records(text, file)
    bad = [InputProblem("is not a JSON object", row=i) for i, r in enumerate(records, 1) if not isinstance(r, dict)]
    if bad:
        raise InputError(bad[0].message, file=file, problems=bad[:MAX_LISTED_PROBLEMS])
    keys: dict[str, None] = {}
    for rec in records:
        keys.update(dict.fromkeys(rec))
        if len(keys) > limits.columns:
            check_shape(len(records), len(keys), file, limits)
    check_shape(len(records), len(keys), file, limits)
    raw_keys = list(keys)
    # A lone surrogate can only come from a \u escape: the cells are searched only when there is one.
    columns = _json_columns(records, raw_keys, file, score) if "\\u" in text else {
        f"c{i}": [cell_text(r.get(k)) for r in records] for i, k in enumerate(raw_keys)}
    del records
    headers = unique_headers(raw_keys)
    check_headers(headers, 1, file, score, limits)
    table = text_table(list(columns.values()), len(next(iter(columns.values()), [])))
    return finish_table(table, "json", encoding, None, headers, file, score, limits)


def read_table(path: str | Path, *, score: HeaderScorer, header_row: int | None = None,
               sheet: str | None = None, data: bytes | None = None, limits: ReadLimits = LIMITS) -> RawTable:
    """Read a list file into text cells.

    Args:
        path: the file.
        score: how many cells of a candidate row are recognised headers.
        header_row: 1-based header row, overriding detection (CSV/XLSX).
        sheet: XLSX sheet name (first sheet by default).
        data: the file's bytes when already read.
        limits: the most that is read (:mod:`undercount.ingest.limits`).
    Returns:
        A :class:`RawTable`.
    Raises:
        InputError: the file cannot be read, decoded or parsed, or is beyond a limit.
    """
    path = Path(path)
    file = path.name
    if data is None:
        try:
            check_size(path.stat().st_size, file, limits)
            data = path.read_bytes()
        except OSError as exc:
            raise InputError(f"cannot read the file ({exc.strerror})", file=file) from None
    check_size(len(data), file, limits)
    if not data.strip():
        raise InputError("the file is empty", file=file)
    score = _per_cell(score)
    fmt = detect_format(path, data[:8])
    if fmt == "xlsx":
        return read_xlsx(data, file, score, header_row, sheet, limits)
    if fmt == "parquet":
        return read_parquet(path, file, score, limits)
    if fmt == "json":
        return _read_json(data, file, score, limits)
    return _read_csv(data, file, score, header_row, limits)
