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
import math
import re
import unicodedata
import warnings
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, time
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from undercount.errors import InputError, InputProblem
from undercount.ingest.limits import (
    LIMITS,
    SURROGATE,
    ReadLimits,
    check_shape,
    check_size,
    check_zip,
    column_label,
    json_too_deep,
)

__all__ = ["RawTable", "read_table", "detect_format", "decode_bytes", "HEADER_SCAN_ROWS", "ReadLimits", "LIMITS"]

# Long cells are refused by the limits, with a clear message: the csv module's own limit
# (131,072 characters) would stop the header scan with a bare error first.
csv.field_size_limit(2**31 - 1)

HEADER_SCAN_ROWS = 20
DELIMITERS = (",", ";", "\t", "|")
FORMATS = {
    ".csv": "csv", ".tsv": "csv", ".txt": "csv", ".xlsx": "xlsx", ".xlsm": "xlsx",
    ".json": "json", ".jsonl": "json", ".ndjson": "json", ".parquet": "parquet", ".pq": "parquet",
}
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


# -- encodings ------------------------------------------------------------------------------
def _sensible(text: str) -> bool:
    """True when decoded text looks like text: no NULs, few control characters."""
    if not text:
        return True
    sample = text[:200_000]
    bad = sum(1 for ch in sample if (ch < " " and ch not in "\t\r\n") or ch == "\ufffd")
    # Some decoders (UTF-7) can yield lone surrogates: not text, and not storable.
    return "\x00" not in sample and bad <= max(2, len(sample) // 1000) and SURROGATE.search(text) is None


_WORD = re.compile(r"[^\W\d_]+")
_LATIN_LETTER = re.compile("[A-Za-z\u00c0-\u024f]")
# Single-byte code pages tried before charset-normalizer's guess, with their script's letters.
_CODE_PAGES = {"cp1256": re.compile("[\u0600-\u06ff]"), "cp1255": re.compile("[\u05d0-\u05ea]")}


def _looks_like(text: str, enc: str) -> bool:
    """Words of the code page's script, not text of another code page read with it.

    Latin-1 or Windows-1255 bytes read as Windows-1256 give words that mix Arabic and Latin
    letters ("ةlodie"); real Arabic text gives words of Arabic letters only.
    """
    letters = _CODE_PAGES.get(enc)
    if letters is None:
        return True
    words = [w for w in _WORD.findall(text[:200_000]) if letters.search(w)]
    mixed = sum(1 for w in words if _LATIN_LETTER.search(w))
    return bool(words) and mixed <= 0.05 * len(words)


def _refuse_damaged_utf8(data: bytes, first_bad: int, file: str) -> None:
    """Refuse UTF-8 text with a few stray bytes: read as Windows-1256 it would still look Arabic,
    with every name garbled. Real Windows-1256 Arabic hardly ever forms valid UTF-8 sequences."""
    sample = data[:2_000_000].decode("utf-8", errors="replace")
    bad = sample.count("\ufffd")
    good = len(sample) - len(sample.encode("ascii", errors="ignore")) - bad  # valid non-ASCII characters
    if good >= 20 and good >= 10 * bad:
        line = data[:first_bad].count(b"\n") + 1
        raise InputError(f"line {line} holds bytes that are not UTF-8 although the rest of the file is UTF-8: "
                         "the file is damaged; repair it or export it again as UTF-8", file=file)


_SEMITIC = re.compile("[\u0590-\u06ff]")


def _refuse_utf8_lines(data: bytes, enc: str, file: str) -> None:
    """Refuse a file read with a single-byte code page in which a line is valid UTF-8 with
    non-ASCII text: the file mixes two encodings (one of them would garble names silently).

    Windows-1256 and -1255 letters hardly ever pair into valid UTF-8: a line that does, with
    two or more non-ASCII characters or one Arabic or Hebrew letter, was written as UTF-8.
    """
    for number, line in enumerate(data.split(b"\n"), start=1):
        if line.isascii():
            continue
        try:
            text = line.decode("utf-8")
        except UnicodeDecodeError:
            continue
        wide = sum(1 for ch in text if ord(ch) > 127)
        if wide >= 2 or _SEMITIC.search(text):
            raise InputError(
                f"line {number} is UTF-8 but the rest of the file is {enc.upper()}: the file mixes two "
                "encodings (names would be garbled); export it again in one encoding", file=file)


def _utf16_guess(data: bytes) -> list[str]:
    """``utf-16-le`` or ``utf-16-be`` when every other byte takes one or two values (the high
    bytes of text in one script, and of ASCII's 0), else nothing.

    Example:
        >>> _utf16_guess("الاسم,العمر\n".encode("utf-16-le") * 8)
        ['utf-16-le']
    """
    sample = data[:4000]
    if len(sample) < 64 or len(data) % 2:
        return []
    for enc, high, low in (("utf-16-le", sample[1::2], sample[0::2]), ("utf-16-be", sample[0::2], sample[1::2])):
        common = sorted(((high.count(b), b) for b in set(high)), reverse=True)[:2]
        if sum(n for n, _ in common) >= 0.95 * len(high) and len(set(low)) > len(set(high)) + 8:
            return [enc]
    return []


def decode_bytes(data: bytes, file: str) -> tuple[str, str]:
    """Decode a text file: UTF-8 (with or without BOM), UTF-16, Windows-1256, Windows-1255, or
    what charset-normalizer recognises.

    Args:
        data: the file's bytes.
        file: the file's name, for messages.
    Returns:
        (text, encoding name).
    Raises:
        InputError: the file is truncated inside a character or decodes as nothing sensible.
    """
    if data.startswith(b"\xef\xbb\xbf"):
        candidates = ["utf-8-sig"]
    elif data.startswith((b"\xff\xfe", b"\xfe\xff")):
        candidates = ["utf-16"]
    else:
        candidates = ["utf-8"]
        if data[:4000].count(b"\x00") > len(data[:4000]) // 4:
            # UTF-16 without a BOM: NULs on the odd (LE) or even (BE) bytes.
            candidates = ["utf-16-le" if data[1:4000:2].count(0) > data[0:4000:2].count(0) else "utf-16-be"]
    for enc in candidates:
        try:
            text = data.decode(enc)
        except UnicodeDecodeError as exc:
            # Cut inside a character after other non-ASCII UTF-8 text: a truncated UTF-8 file.
            if exc.reason == "unexpected end of data" and (enc != "utf-8" or not data[: exc.start].isascii()):
                raise InputError("the file ends inside a character: it may be truncated", file=file) from None
            if enc != "utf-8":
                raise InputError(f"the file cannot be decoded as {enc.upper()}", file=file) from None
            _refuse_damaged_utf8(data, exc.start, file)
            break
        if _sensible(text):
            return text, enc
        if enc != "utf-8" or not _utf16_guess(data):
            raise InputError("the file is not text in any encoding undercount reads", file=file)
        break  # UTF-16-BE Arabic is all bytes below 0x80: valid UTF-8 control characters
    # Not UTF-8: UTF-16 without a BOM (Arabic or Hebrew text has no NUL bytes to show it, but one
    # high byte in every other byte), Windows-1256 (Arabic), Windows-1255 (Hebrew), then what
    # charset-normalizer suggests.
    guesses = _utf16_guess(data) + list(_CODE_PAGES)
    try:
        from charset_normalizer import from_bytes

        best = from_bytes(data[:500_000]).best()
        if best is not None and best.encoding not in guesses:
            guesses.append(best.encoding)
    except Exception:  # noqa: BLE001 - the helper is only advice
        pass
    for enc in guesses:
        try:
            text = data.decode(enc)
        except (UnicodeDecodeError, LookupError):
            continue
        if _sensible(text) and _looks_like(text, enc):
            _refuse_utf8_lines(data, enc, file)
            return text, enc
    raise InputError(
        "the file is not text in any encoding undercount reads (UTF-8, UTF-16, Windows-1256, Windows-1255)", file=file
    )


# -- header detection -----------------------------------------------------------------------
def _unique_headers(cells: Sequence[Any]) -> list[str]:
    """Strip headers, name empty ones ``column_N`` and make repeats unique (``name (2)``), also
    when a header already reads like a renamed repeat (``name (2),name,name``).

    Example:
        >>> _unique_headers(["name (2)", "name", "name", " "])
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


def _find_header(rows: Sequence[Sequence[str]], positions: Sequence[int], score: HeaderScorer,
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


def _check_headers(headers: list[str], line: int, file: str, score: HeaderScorer, limits: ReadLimits) -> None:
    check_shape(0, len(headers), file, limits)
    for i, header in enumerate(headers):
        if len(header) > limits.field_chars:
            raise InputError(f"the header (line {line}) has a cell of {len(header):,} characters, more than the "
                             f"{limits.field_chars:,} undercount reads", file=file,
                             column=column_label(headers, i, score))


def _read_csv(data: bytes, file: str, score: HeaderScorer, header_row: int | None, limits: ReadLimits) -> RawTable:
    import pyarrow as pa
    import pyarrow.csv as pacsv

    text, encoding = decode_bytes(data, file)
    if "\n" not in text and "\r" in text:
        text = text.replace("\r", "\n")
    head_lines = _head_lines(text, HEADER_SCAN_ROWS * 5, file)
    delim = _sniff_delimiter(head_lines[: HEADER_SCAN_ROWS * 2], score)
    rows, positions = _scan_rows(head_lines, delim, file)
    idx = _find_header(rows, positions, score, header_row, file)
    headers = _unique_headers(rows[idx])
    _check_headers(headers, positions[idx], file, score, limits)
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
        table = _text_table([[r[i] for r in parsed] for i in range(len(headers))], len(parsed))
    return _finish(table, "csv", encoding, positions[idx], headers, file, score, limits)


# -- XLSX -------------------------------------------------------------------------------------
def _cell_text(value: Any) -> str:
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


def _first_list_sheet(book: Any, score: HeaderScorer, file: str) -> Any:
    """The first sheet with a recognised header among its first rows (a notes sheet often comes
    first), else the first sheet."""
    sheets = list(book.worksheets)
    if not sheets:
        raise InputError("the workbook has no worksheet to read", file=file)
    for ws in sheets:
        try:
            ws.reset_dimensions()
            head = [[_cell_text(v) for v in r] for r in ws.iter_rows(max_row=HEADER_SCAN_ROWS, values_only=True)]
        except Exception:  # noqa: BLE001 - an unreadable sheet is reported when it is the one read
            continue
        if any(score(r) > 0 for r in head):
            return ws
    return sheets[0]


def _sheet_cells(ws: Any, file: str, limits: ReadLimits) -> list[list[str]]:
    """Every row of a sheet as text, trailing empty cells dropped, the limits checked as rows come."""
    ws.reset_dimensions()  # a stored dimension (say A1:XFD1048576) would pad every row to it
    cells: list[list[str]] = []
    total = 0
    for values in ws.iter_rows(values_only=True):
        row = [_cell_text(v) for v in values]
        while row and not row[-1]:
            row.pop()
        cells.append(row)
        total += len(row)
        if len(row) > limits.columns:
            check_shape(0, len(row), file, limits)
        if len(cells) > limits.rows + HEADER_SCAN_ROWS:
            check_shape(len(cells), 1, file, limits)
        if total > limits.cells:
            raise InputError(f"the sheet holds more than {limits.cells:,} cells, the most undercount reads",
                             file=file)
    return cells


def _read_xlsx(data: bytes, file: str, score: HeaderScorer, header_row: int | None, sheet: str | None,
               limits: ReadLimits) -> RawTable:
    from openpyxl import load_workbook

    check_zip(io.BytesIO(data), file, limits)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # openpyxl warns of styles and extensions it skips
        try:
            # From the bytes, not the path: openpyxl refuses a path without an Excel extension.
            book = load_workbook(io.BytesIO(data), read_only=True, data_only=True)
        except Exception as exc:  # noqa: BLE001 - openpyxl raises many kinds on damaged parts
            raise InputError(f"not a readable XLSX workbook ({type(exc).__name__}): it may be truncated or "
                             "damaged", file=file) from None
        try:
            if sheet is not None and sheet not in book.sheetnames:
                raise InputError(f"the workbook has no sheet {sheet!r} (it has {len(book.sheetnames)})", file=file)
            ws = book[sheet] if sheet is not None else _first_list_sheet(book, score, file)
            try:
                cells = _sheet_cells(ws, file, limits)
            except InputError:
                raise
            except Exception as exc:  # noqa: BLE001 - damaged XML, compressed data, styles, strings
                raise InputError(f"the sheet cannot be read ({type(exc).__name__}): the workbook may be truncated "
                                 "or damaged", file=file) from None
            title = ws.title
        finally:
            book.close()
    nonblank = [(i, r) for i, r in enumerate(cells) if any(c.strip() for c in r)]
    scan = nonblank[:HEADER_SCAN_ROWS]
    idx = _find_header([r for _, r in scan], [i + 1 for i, _ in scan], score, header_row, file)
    header_at, header_cells = nonblank[idx]
    headers = _unique_headers(header_cells)
    _check_headers(headers, header_at + 1, file, score, limits)
    width = len(headers)
    body = [(r + [""] * width)[:width] for _, r in nonblank[idx + 1:]]
    del cells, nonblank
    table = _text_table([[r[i] for r in body] for i in range(width)], len(body))
    return _finish(table, "xlsx", None, header_at + 1, headers, file, score, limits, sheet=title)


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
        values = [_cell_text(r.get(key)) for r in records]
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
        f"c{i}": [_cell_text(r.get(k)) for r in records] for i, k in enumerate(raw_keys)}
    del records
    headers = _unique_headers(raw_keys)
    _check_headers(headers, 1, file, score, limits)
    table = _text_table(list(columns.values()), len(next(iter(columns.values()), [])))
    return _finish(table, "json", encoding, None, headers, file, score, limits)


# -- Parquet ----------------------------------------------------------------------------------
def _utf8_column(values: list[Any], header: str, file: str) -> list[str]:
    """Byte cells as text, refusing (row named) bytes that are not UTF-8."""
    out: list[str] = []
    for row, value in enumerate(values, start=1):
        if value is None:
            out.append("")
            continue
        try:
            out.append(bytes(value).decode("utf-8"))
        except UnicodeDecodeError:
            raise InputError("holds bytes that are not UTF-8 text", file=file, row=row, column=header) from None
    return out


def _parquet_column(col: Any, header: str, file: str) -> Any:
    """One Parquet column as text: strings checked as UTF-8, bytes decoded, numbers, dates,
    decimals and nested values (lists, structs, maps, as JSON) written out."""
    import pyarrow as pa
    import pyarrow.compute as pc

    kind = col.type
    if pa.types.is_dictionary(kind):
        col, kind = col.cast(kind.value_type), kind.value_type
    if pa.types.is_string(kind) or pa.types.is_large_string(kind):
        try:
            col.validate(full=True)
        except pa.ArrowInvalid:
            binary = col.cast(pa.large_binary() if pa.types.is_large_string(kind) else pa.binary(), safe=False)
            _utf8_column(binary.to_pylist(), header, file)
            raise InputError("holds bytes that are not UTF-8 text", file=file, column=header) from None
        return pc.fill_null(col, "").cast(pa.large_string())
    if pa.types.is_binary(kind) or pa.types.is_large_binary(kind) or pa.types.is_fixed_size_binary(kind):
        return pa.array(_utf8_column(col.to_pylist(), header, file), type=pa.large_string())
    try:
        values = col.to_pylist()
    except (OverflowError, ValueError):  # dates and times beyond Python's years 1-9999
        return pc.cast(col, pa.large_string())
    return pa.array([_cell_text(v) for v in values], type=pa.large_string())


def _read_parquet(path: Path, file: str, score: HeaderScorer, limits: ReadLimits) -> RawTable:
    import pyarrow.parquet as pq

    try:
        handle = pq.ParquetFile(path)
        meta = handle.metadata
        check_shape(meta.num_rows, meta.num_columns, file, limits)
        unpacked = sum(meta.row_group(i).total_byte_size for i in range(meta.num_row_groups))
        if unpacked > limits.unpacked_bytes:
            raise InputError(f"the file would unpack to {unpacked:,} bytes, more than the "
                             f"{limits.unpacked_bytes:,} undercount reads", file=file)
        table = handle.read()
    except InputError:
        raise
    except Exception as exc:  # noqa: BLE001 - pyarrow raises many kinds on damaged files
        raise InputError(f"not a readable Parquet file ({type(exc).__name__}): it may be truncated or damaged",
                         file=file) from None
    check_shape(table.num_rows, table.num_columns, file, limits)
    headers = _unique_headers(table.column_names)
    _check_headers(headers, 1, file, score, limits)
    columns: dict[str, Any] = {}
    for i, col in enumerate(table.columns):
        label = column_label(headers, i, score)
        try:
            columns[f"c{i}"] = _parquet_column(col, label, file)
        except InputError:
            raise
        except Exception as exc:  # noqa: BLE001 - a type pyarrow cannot write out
            raise InputError(f"the column's values cannot be read as text ({type(exc).__name__})",
                             file=file, column=label) from None
    return _finish(_text_table(list(columns.values()), table.num_rows), "parquet", None, None, headers, file,
                   score, limits)


def _text_table(columns: list[Any], rows: int) -> Any:
    """An Arrow table of text columns ``c0``, ``c1`` ... from lists of strings or Arrow arrays."""
    import pyarrow as pa

    arrays = [c if isinstance(c, (pa.Array, pa.ChunkedArray)) else pa.array(c, type=pa.large_string())
              for c in columns]
    if not arrays:
        return pa.table({"_": pa.nulls(rows)}).drop(["_"])
    return pa.table(arrays, names=[f"c{i}" for i in range(len(arrays))])


def _finish(table: Any, fmt: str, encoding: str | None, header_row: int | None, headers: list[str],
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
        return _read_xlsx(data, file, score, header_row, sheet, limits)
    if fmt == "parquet":
        return _read_parquet(path, file, score, limits)
    if fmt == "json":
        return _read_json(data, file, score, limits)
    return _read_csv(data, file, score, header_row, limits)
