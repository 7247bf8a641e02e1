"""Read a list file (CSV, XLSX, JSON, Parquet) into a table of text cells.

Every cell is kept as text, exactly as read (empty cells are ``""``). The header row is found
even when title or note rows sit above it, by scoring the first rows on how many cells are
headers undercount recognises. ``row`` numbers are 1-based data-row numbers after the header;
blank lines are not counted and rows whose cells are all empty are dropped (their numbers are
kept by the rows that follow, so every record still points at its place in the file).
"""

from __future__ import annotations

import csv
import io
import json
import re
import unicodedata
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, time
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from undercount.errors import InputError, InputProblem

__all__ = ["RawTable", "read_table", "detect_format", "decode_bytes", "HEADER_SCAN_ROWS"]

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
    return "\x00" not in sample and bad <= max(2, len(sample) // 1000)


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
        raise InputError("the file is not text in any encoding undercount reads", file=file)
    # Not UTF-8: Windows-1256 (Arabic), Windows-1255 (Hebrew), then what charset-normalizer suggests.
    guesses = list(_CODE_PAGES)
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
            return text, enc
    raise InputError(
        "the file is not text in any encoding undercount reads (UTF-8, UTF-16, Windows-1256, Windows-1255)", file=file
    )


# -- header detection -----------------------------------------------------------------------
def _unique_headers(cells: Sequence[Any]) -> list[str]:
    """Strip headers, name empty ones ``column_N`` and make repeats unique (``name (2)``)."""
    out: list[str] = []
    seen: dict[str, int] = {}
    for i, cell in enumerate(cells, start=1):
        text = unicodedata.normalize("NFC", str(cell if cell is not None else "")).strip().lstrip("\ufeff")
        text = text or f"column_{i}"
        key = text.casefold()
        if key in seen:
            seen[key] += 1
            text = f"{text} ({seen[key]})"
            key = text.casefold()
        seen.setdefault(key, 1)
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
        rows = [r for r in csv.reader(lines, delimiter=delim) if r]
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


def _read_csv(data: bytes, file: str, score: HeaderScorer, header_row: int | None) -> RawTable:
    import pyarrow as pa
    import pyarrow.csv as pacsv

    text, encoding = decode_bytes(data, file)
    if "\n" not in text and "\r" in text:
        text = text.replace("\r", "\n")
    head_lines = text[:1_000_000].splitlines(keepends=True)[: HEADER_SCAN_ROWS * 5]
    delim = _sniff_delimiter(head_lines[: HEADER_SCAN_ROWS * 2], score)
    reader = csv.reader(head_lines, delimiter=delim)
    rows: list[list[str]] = []
    positions: list[int] = []
    start = 1
    for cells in reader:
        if len(rows) >= HEADER_SCAN_ROWS:
            break
        if any(c.strip() for c in cells):
            rows.append(cells)
            positions.append(start)
        start = reader.line_num + 1
    idx = _find_header(rows, positions, score, header_row, file)
    headers = _unique_headers(rows[idx])
    skip_lines = positions[idx] - 1
    body = text if skip_lines == 0 else text.split("\n", skip_lines)[-1]
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
        frame = table.to_pandas()
    except (pa.ArrowInvalid, pa.ArrowException):
        parsed, problems = _parse_csv_python(body, delim, len(headers))
        if problems:
            raise InputError(problems[0].message, file=file, problems=problems[:MAX_LISTED_PROBLEMS]) from None
        frame = pd.DataFrame(parsed, columns=names, dtype="str") if parsed else pd.DataFrame(columns=names, dtype="str")
    frame.columns = headers
    return _finish(frame, "csv", encoding, positions[idx], headers)


# -- XLSX -------------------------------------------------------------------------------------
def _cell_text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, datetime):
        return value.date().isoformat() if value.time() == time(0) else value.isoformat(sep=" ")
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, (dict, list)):
        return json.dumps(value, ensure_ascii=False)
    return str(value)


def _first_list_sheet(book: Any, score: HeaderScorer) -> Any:
    """The first sheet with a recognised header among its first rows (a notes sheet often comes
    first), else the first sheet."""
    for ws in book.worksheets:
        try:
            head = [[_cell_text(v) for v in r] for r in ws.iter_rows(max_row=HEADER_SCAN_ROWS, values_only=True)]
        except (OSError, KeyError, ValueError, EOFError):
            continue  # an unreadable sheet is reported when it is the one read
        if any(score(r) > 0 for r in head):
            return ws
    return book.worksheets[0]


def _read_xlsx(path: Path, file: str, score: HeaderScorer, header_row: int | None, sheet: str | None) -> RawTable:
    import zipfile

    from openpyxl import load_workbook

    try:
        book = load_workbook(path, read_only=True, data_only=True)
    except (zipfile.BadZipFile, OSError, KeyError, ValueError) as exc:
        raise InputError(f"not a readable XLSX workbook ({type(exc).__name__}): it may be truncated", file=file) from None
    try:
        if sheet is not None and sheet not in book.sheetnames:
            raise InputError(f"the workbook has no sheet {sheet!r} (sheets: {', '.join(book.sheetnames)})", file=file)
        ws = book[sheet] if sheet is not None else _first_list_sheet(book, score)
        try:
            cells = [[_cell_text(v) for v in r] for r in ws.iter_rows(values_only=True)]
        except (zipfile.BadZipFile, OSError, KeyError, ValueError, EOFError) as exc:
            raise InputError(f"the sheet cannot be read ({type(exc).__name__}): it may be truncated", file=file) from None
        title = ws.title
    finally:
        book.close()
    nonblank = [(i, r) for i, r in enumerate(cells) if any(c.strip() for c in r)]
    scan = nonblank[:HEADER_SCAN_ROWS]
    idx = _find_header([r for _, r in scan], [i + 1 for i, _ in scan], score, header_row, file)
    header_at, header_cells = nonblank[idx]
    headers = _unique_headers(header_cells)
    width = len(headers)
    body = [(r + [""] * width)[:width] for _, r in nonblank[idx + 1:]]
    frame = pd.DataFrame(body, columns=headers, dtype="str") if body else pd.DataFrame(columns=headers, dtype="str")
    return _finish(frame, "xlsx", None, header_at + 1, headers, sheet=title)


# -- JSON -------------------------------------------------------------------------------------
def _json_records(text: str, file: str) -> list[Any]:
    try:
        doc = json.loads(text)
    except json.JSONDecodeError as first:
        lines = [ln for ln in text.splitlines() if ln.strip()]
        records: list[Any] = []
        for n, line in enumerate(lines, start=1):
            try:
                records.append(json.loads(line))
            except json.JSONDecodeError:
                if n == 1 or len(lines) == 1:
                    raise InputError(
                        f"not valid JSON (line {first.lineno}, column {first.colno}): the file may be truncated",
                        file=file) from None
                raise InputError("not valid JSON: the file may be truncated", file=file, row=n) from None
        return records
    if isinstance(doc, dict) and isinstance(doc.get("records"), list):
        return list(doc["records"])
    if isinstance(doc, list):
        return doc
    raise InputError('JSON must be an array of objects, {"records": [...]} or JSON lines', file=file)


def _read_json(data: bytes, file: str) -> RawTable:
    text, encoding = decode_bytes(data, file)
    records = _json_records(text, file)
    bad = [InputProblem("is not a JSON object", row=i) for i, r in enumerate(records, 1) if not isinstance(r, dict)]
    if bad:
        raise InputError(bad[0].message, file=file, problems=bad[:MAX_LISTED_PROBLEMS])
    keys: dict[str, None] = {}
    for rec in records:
        keys.update(dict.fromkeys(rec))
    headers = list(keys)
    frame = pd.DataFrame(
        {h: [_cell_text(r.get(h)) for r in records] for h in headers}, dtype="str"
    ) if headers else pd.DataFrame()
    frame.columns = _unique_headers(headers)
    return _finish(frame, "json", encoding, None, list(frame.columns))


# -- Parquet ----------------------------------------------------------------------------------
def _read_parquet(path: Path, file: str) -> RawTable:
    import pyarrow as pa
    import pyarrow.compute as pc
    import pyarrow.parquet as pq

    try:
        table = pq.read_table(path)
    except (pa.ArrowException, OSError) as exc:
        raise InputError(f"not a readable Parquet file ({type(exc).__name__}): it may be truncated", file=file) from None
    columns: dict[str, Any] = {}
    for name, col in zip(table.column_names, table.columns):
        if pa.types.is_string(col.type) or pa.types.is_large_string(col.type):
            columns[name] = pc.fill_null(col, "").to_pandas()
        else:
            columns[name] = pd.Series([_cell_text(v) for v in col.to_pylist()], dtype="str")
    frame = pd.DataFrame(columns, dtype="str")
    headers = _unique_headers(table.column_names)
    frame.columns = headers
    return _finish(frame, "parquet", None, None, headers)


def _finish(frame: pd.DataFrame, fmt: str, encoding: str | None, header_row: int | None,
            headers: list[str], sheet: str | None = None) -> RawTable:
    """Number the rows and drop those whose cells are all empty."""
    frame = frame.astype("str").reset_index(drop=True)
    rows = np.arange(1, len(frame) + 1, dtype=np.int64)
    if len(frame.columns):
        blank = np.ones(len(frame), dtype=bool)
        for col in frame.columns:
            blank &= (frame[col].str.strip() == "").to_numpy()
        if blank.any():
            frame = frame.loc[~blank].reset_index(drop=True)
            rows = rows[~blank]
    return RawTable(frame, rows, fmt, encoding, header_row, sheet, headers)


def read_table(path: str | Path, *, score: HeaderScorer, header_row: int | None = None,
               sheet: str | None = None, data: bytes | None = None) -> RawTable:
    """Read a list file into text cells.

    Args:
        path: the file.
        score: how many cells of a candidate row are recognised headers.
        header_row: 1-based header row, overriding detection (CSV/XLSX).
        sheet: XLSX sheet name (first sheet by default).
        data: the file's bytes when already read.
    Returns:
        A :class:`RawTable`.
    Raises:
        InputError: the file cannot be read, decoded or parsed.
    """
    path = Path(path)
    file = path.name
    if data is None:
        try:
            data = path.read_bytes()
        except OSError as exc:
            raise InputError(f"cannot read the file ({exc.strerror})", file=file) from None
    if not data.strip():
        raise InputError("the file is empty", file=file)
    fmt = detect_format(path, data[:8])
    if fmt == "xlsx":
        return _read_xlsx(path, file, score, header_row, sheet)
    if fmt == "parquet":
        return _read_parquet(path, file)
    if fmt == "json":
        return _read_json(data, file)
    return _read_csv(data, file, score, header_row)
