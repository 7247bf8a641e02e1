"""Read the binary list formats: XLSX workbooks (openpyxl) and Parquet files (pyarrow).

Both are read defensively: a workbook's zip directory is checked for bombs before anything is
unzipped, any failure of openpyxl or pyarrow on damaged parts becomes an
:class:`~undercount.errors.InputError`, and every Parquet type (nested, decimal, bytes, dates
beyond Python's range) is written out as text or refused with row and column named.
"""

from __future__ import annotations

import io
import warnings
from pathlib import Path
from typing import Any

from undercount.errors import InputError
from undercount.ingest.limits import ReadLimits, check_shape, check_zip, column_label
from undercount.ingest.table import (
    HEADER_SCAN_ROWS,
    HeaderScorer,
    RawTable,
    cell_text,
    check_headers,
    find_header,
    finish_table,
    text_table,
    unique_headers,
)

__all__ = ["read_xlsx", "read_parquet"]


def _first_list_sheet(book: Any, score: HeaderScorer, file: str) -> Any:
    """The first sheet with a recognised header among its first rows (a notes sheet often comes
    first), else the first sheet."""
    sheets = list(book.worksheets)
    if not sheets:
        raise InputError("the workbook has no worksheet to read", file=file)
    for ws in sheets:
        try:
            ws.reset_dimensions()
            head = [[cell_text(v) for v in r] for r in ws.iter_rows(max_row=HEADER_SCAN_ROWS, values_only=True)]
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
        row = [cell_text(v) for v in values]
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


def read_xlsx(data: bytes, file: str, score: HeaderScorer, header_row: int | None, sheet: str | None,
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
    idx = find_header([r for _, r in scan], [i + 1 for i, _ in scan], score, header_row, file)
    header_at, header_cells = nonblank[idx]
    headers = unique_headers(header_cells)
    check_headers(headers, header_at + 1, file, score, limits)
    width = len(headers)
    body = [(r + [""] * width)[:width] for _, r in nonblank[idx + 1:]]
    del cells, nonblank
    table = text_table([[r[i] for r in body] for i in range(width)], len(body))
    return finish_table(table, "xlsx", None, header_at + 1, headers, file, score, limits, sheet=title)


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
    return pa.array([cell_text(v) for v in values], type=pa.large_string())


def read_parquet(path: Path, file: str, score: HeaderScorer, limits: ReadLimits) -> RawTable:
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
    headers = unique_headers(table.column_names)
    check_headers(headers, 1, file, score, limits)
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
    return finish_table(text_table(list(columns.values()), table.num_rows), "parquet", None, None, headers, file,
                   score, limits)
