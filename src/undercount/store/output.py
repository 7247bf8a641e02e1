"""Files undercount writes (exports, reports, search-sample sheets): safe by construction.

Every such file holds data of a case (often names and ID numbers), so :func:`write_output`

1. writes it to a temporary file in the target folder, readable by its owner only (mode 600,
   whatever the umask): an anonymous file (``O_TMPFILE``) where the system allows it, so that a
   process killed while writing leaves nothing behind, else a hidden ``.NAME.uc-<pid>-<random>.part``
   file that is removed on any error (and, if the process was killed, by the next write into
   that folder);
2. flushes it to disk and records it in the case's audit log (what, file name, bytes, SHA-256;
   never a name or ID) in its own transaction;
3. only then puts it in place in one step (a hard link or ``os.replace``).

A failure at any step (the case locked, the disk full, an exception in the writer) leaves no
file and no audit entry; a kill between the audit entry and the rename leaves an entry without a
file, never a file without an entry. The file written is always 600.

:func:`write_table` writes a table in one of :data:`TABLE_FORMATS` through it: CSV (UTF-8 with a
byte-order mark for spreadsheets unless ``bom=False``), HXL (CSV with a hashtag row), XLSX
(right-to-left cells for Arabic and Hebrew text), JSON or Parquet. In the formats a spreadsheet
opens (CSV, HXL, XLSX), a cell that a spreadsheet would run as a formula (text starting with
``=``, ``+``, ``-``, ``@``, a tab or a carriage return, other than a plain number) is neutralised:
CSV and HXL cells get a leading apostrophe (``'=1+1``), XLSX cells are stored as text with
Excel's quote-prefix, so the value reads back unchanged and is never evaluated.

Example:
    >>> write_table(case, frame, "sample.xlsx", fmt="xlsx", action="sample",
    ...             detail={"what": "search sample"})  # doctest: +SKIP
"""

from __future__ import annotations

import csv
import hashlib
import io
import math
import os
import re
import secrets
from collections.abc import Callable, Mapping, Sequence
from contextlib import suppress
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from undercount.errors import ConfigError, StoreError, UndercountError

if TYPE_CHECKING:
    from undercount.store.case import Case

__all__ = [
    "OUTPUT_MODE",
    "TABLE_FORMATS",
    "XLSX_MAX_ROWS",
    "OutputResult",
    "flat_text",
    "is_formula_like",
    "neutralise",
    "neutralise_frame",
    "redaction_choice",
    "write_output",
    "write_table",
]

OUTPUT_MODE = 0o600
TABLE_FORMATS = ("csv", "xlsx", "hxl", "json", "parquet")
XLSX_MAX_ROWS = 1_048_575  # Excel's 1,048,576 rows, less the header
_FORMULA_START = frozenset("=+-@\t\r")
_PLAIN_NUMBER = re.compile(r"[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?")
_RTL = re.compile("[\u0590-\u08ff\ufb1d-\ufdff\ufe70-\ufeff]")
_PART = re.compile(r"^\..+\.uc-(\d+)-[0-9a-f]{8}\.part$")


@dataclass(frozen=True)
class OutputResult:
    """A file written by :func:`write_output`.

    Attributes:
        path: where it now is.
        size: its size in bytes.
        sha256: the SHA-256 of its bytes (also in the audit entry).
    """

    path: Path
    size: int
    sha256: str


def redaction_choice(fmt: str, redact: bool | None, personal_data: bool) -> bool:
    """Whether an export leaves out what names or identifies people: one rule for every export.

    Other formats keep names unless ``redact``; HXL, made for sharing, leaves them out unless
    ``personal_data`` asks for them.

    Raises:
        ConfigError: both ``redact`` and ``personal_data``, or HXL with ``redact=False`` and no
            ``personal_data``.

    Example:
        >>> redaction_choice("hxl", None, False), redaction_choice("csv", None, False)
        (True, False)
    """
    if personal_data and redact:
        raise ConfigError("choose either redact or personal_data, not both")
    if fmt == "hxl":
        if redact is False and not personal_data:
            raise ConfigError("HXL leaves out names and ID numbers; to include them ask for personal data explicitly")
        return not personal_data
    return bool(redact)


# -- neutralising formulas --------------------------------------------------------------------
def neutralise(value: Any) -> Any:
    """A text cell a spreadsheet would run as a formula, made inert with a leading apostrophe.

    Text starting with ``=``, ``+``, ``-``, ``@``, a tab or a carriage return is prefixed with
    ``'`` unless it is a plain number ("-3", "+972"); anything else is returned unchanged.

    Args:
        value: a cell.
    Returns:
        The cell, neutralised when needed.

    Example:
        >>> neutralise("=HYPERLINK(\\"x\\")"), neutralise("-12.5"), neutralise("Gaza"), neutralise(7)
        ('\\'=HYPERLINK("x")', '-12.5', 'Gaza', 7)
    """
    if isinstance(value, str) and is_formula_like(value):
        return "'" + value
    return value


def is_formula_like(text: str) -> bool:
    """True when a spreadsheet could read ``text`` as a formula (see :func:`neutralise`)."""
    return bool(text) and text[0] in _FORMULA_START and not _PLAIN_NUMBER.fullmatch(text)


def flat_text(value: Any) -> Any:
    """Lists as ``a; b`` text and dicts as ``key: value, ...`` text, for one spreadsheet cell."""
    if isinstance(value, dict):
        return ", ".join(f"{k}: {flat_text(v)}" for k, v in value.items() if v is not None and v != "")
    if isinstance(value, (list, tuple)):
        return "; ".join(str(flat_text(v)) for v in value)
    if isinstance(value, np.ndarray):
        return flat_text(value.tolist())
    return value


def neutralise_frame(frame: pd.DataFrame) -> pd.DataFrame:
    """A copy whose text cells are flattened (:func:`flat_text`) and neutralised (:func:`neutralise`).

    Args:
        frame: any table.
    Returns:
        The table for CSV or HXL; numeric and date columns are untouched.
    """
    out = frame.copy()
    for column in out.columns:
        series = out[column]
        if pd.api.types.is_numeric_dtype(series) or pd.api.types.is_datetime64_any_dtype(series):
            continue
        if pd.api.types.is_bool_dtype(series):
            continue
        out[column] = series.map(lambda v: neutralise(flat_text(v)), na_action="ignore")
    out.columns = [neutralise(str(c)) for c in out.columns]
    return out


# -- the safe write ---------------------------------------------------------------------------
def _fsync_dir(folder: Path) -> None:
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        with suppress(OSError):  # a folder that cannot be synced: the rename is still atomic
            os.fsync(fd)
    finally:
        os.close(fd)


def _part_name(target: Path) -> Path:
    return target.with_name(f".{target.name}.uc-{os.getpid()}-{secrets.token_hex(4)}.part")


def _sweep(folder: Path) -> None:
    """Remove our hidden temporary files left in ``folder`` by a process that was killed."""
    try:
        entries = list(os.scandir(folder))
    except OSError:
        return
    for entry in entries:
        match = _PART.match(entry.name)
        if not match:
            continue
        try:
            os.kill(int(match.group(1)), 0)
            continue  # that process still runs
        except ProcessLookupError:
            pass
        except (PermissionError, OverflowError, ValueError):
            continue
        try:
            if entry.stat(follow_symlinks=False).st_uid == os.getuid():
                os.unlink(entry.path)
        except OSError:
            pass


def _open_temp(folder: Path, target: Path) -> tuple[int, Path | None]:
    """(descriptor, name) of a new 600 file in ``folder``; the name is None for an anonymous file."""
    flag = getattr(os, "O_TMPFILE", 0)
    if flag and Path("/proc/self/fd").is_dir():
        with suppress(OSError):  # a file system without O_TMPFILE gets a named temporary file
            return os.open(folder, flag | os.O_RDWR, OUTPUT_MODE), None
    part = _part_name(target)
    return os.open(part, os.O_RDWR | os.O_CREAT | os.O_EXCL, OUTPUT_MODE), part


def _link_anonymous(fd: int, target: Path) -> None:
    """Give an O_TMPFILE file its name (replacing an older file of that name)."""
    source = f"/proc/self/fd/{fd}"
    dir_fd = os.open(target.parent, os.O_RDONLY)
    try:
        try:
            os.link(source, target.name, src_dir_fd=dir_fd, dst_dir_fd=dir_fd, follow_symlinks=True)
            return
        except FileExistsError:
            pass
        part = _part_name(target)
        os.link(source, part.name, src_dir_fd=dir_fd, dst_dir_fd=dir_fd, follow_symlinks=True)
        try:
            os.replace(part, target)
        except BaseException:
            part.unlink(missing_ok=True)
            raise
    finally:
        os.close(dir_fd)


def _copy_to_named(fd: int, target: Path) -> None:
    """Fallback when an anonymous file cannot be linked: copy it to a named 600 file, then rename."""
    part = _part_name(target)
    out = os.open(part, os.O_WRONLY | os.O_CREAT | os.O_EXCL, OUTPUT_MODE)
    try:
        os.lseek(fd, 0, os.SEEK_SET)
        while chunk := os.read(fd, 1 << 20):
            os.write(out, chunk)
        os.fsync(out)
        os.close(out)
        out = -1
        os.replace(part, target)
    finally:
        if out >= 0:
            os.close(out)
        part.unlink(missing_ok=True)


def _digest(fd: int) -> tuple[int, str]:
    os.lseek(fd, 0, os.SEEK_SET)
    digest = hashlib.sha256()
    size = 0
    while chunk := os.read(fd, 1 << 20):
        digest.update(chunk)
        size += len(chunk)
    return size, digest.hexdigest()


def _check_target(case: Case, target: Path) -> None:
    if not target.name or target.is_dir():
        raise StoreError(f"cannot write {target}: it is a folder; give a file name")
    if not target.parent.is_dir():
        raise StoreError(f"cannot write {target}: the folder {target.parent} does not exist")
    resolved = target.resolve()
    own = {case.db_path.resolve(), case.wal_path.resolve()}
    sources = case.sources_dir.resolve()
    if resolved in own or resolved.parent == sources or sources in resolved.parents:
        raise StoreError(f"cannot write {target}: it is one of the case's own files; write elsewhere")


def _audit(case: Case, target: Path, action: str, entry: dict[str, Any], username: str | None) -> None:
    """Record the file in the audit log; any failure is a StoreError (and the file is never put in place)."""
    try:
        with case.transaction() as con:
            case.log(con, action=action, detail=entry, username=username)
    except UndercountError:
        raise
    except Exception as exc:  # a database error: the transaction was rolled back
        raise StoreError(f"cannot record {target.name} in the audit log of {case.path} ({type(exc).__name__}): "
                         "nothing was written") from exc


def write_output(case: Case, path: str | Path, write: Callable[[IO[bytes]], object], *, action: str,
                 detail: Mapping[str, Any] | None = None, username: str | None = None) -> OutputResult:
    """Write a file of a case safely: temp file (600), audit entry, then into place.

    Args:
        case: the case whose data the file holds (its audit log records the write).
        path: the file to write (its folder must exist); an older file there is replaced.
        write: called with a binary file object to fill; it must not close it.
        action: the audit action (e.g. ``export``, ``report``, ``sample``).
        detail: what to record with it (never names or ID numbers); ``file``, ``bytes`` and
            ``sha256`` are added.
        username: who writes (the OS user by default).
    Returns:
        An :class:`OutputResult`.
    Raises:
        StoreError: the folder is missing, the target is one of the case's own files, the file
            cannot be written, or the audit entry cannot be stored (nothing is left behind).

    Example:
        >>> write_output(case, "out.txt", lambda f: f.write(b"hello"), action="export")  # doctest: +SKIP
    """
    target = Path(path)
    _check_target(case, target)
    folder = target.parent
    _sweep(folder)
    try:
        fd, part = _open_temp(folder, target)
    except OSError as exc:
        raise StoreError(f"cannot write {target}: {exc.strerror or exc}") from exc
    try:
        os.fchmod(fd, OUTPUT_MODE)
        with os.fdopen(os.dup(fd), "w+b") as handle:
            write(handle)
            handle.flush()
        os.fsync(fd)
        size, sha256 = _digest(fd)
        entry = {**(detail or {}), "file": target.name, "bytes": size, "sha256": sha256}
        _audit(case, target, action, entry, username)
        if part is None:
            try:
                _link_anonymous(fd, target)
            except OSError:
                _copy_to_named(fd, target)
        else:
            os.replace(part, target)
            part = None
    except OSError as exc:
        raise StoreError(f"cannot write {target}: {exc.strerror or exc}") from exc
    finally:
        os.close(fd)
        if part is not None:
            part.unlink(missing_ok=True)
    _fsync_dir(folder)
    return OutputResult(target, size, sha256)


# -- tables -------------------------------------------------------------------------------------
def _csv_bytes(frame: pd.DataFrame, *, bom: bool, tags: Sequence[str] | None) -> bytes:
    flat = neutralise_frame(frame)
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\r\n" if bom else "\n")
    writer.writerow(list(flat.columns))
    if tags is not None:
        writer.writerow(list(tags))
    flat.to_csv(buf, index=False, header=False, lineterminator="\r\n" if bom else "\n", date_format="%Y-%m-%d")
    return (("\ufeff" if bom else "") + buf.getvalue()).encode("utf-8")


def _xlsx_value(value: Any) -> Any:
    if value is None or value is pd.NA or value is pd.NaT:
        return None
    if isinstance(value, float) and math.isnan(value):
        return None
    if isinstance(value, pd.Timestamp):
        return value.to_pydatetime().date() if value == value.normalize() else value.to_pydatetime()
    if isinstance(value, (np.integer,)):
        return int(value)
    if isinstance(value, (np.floating,)):
        return None if np.isnan(value) else float(value)
    if isinstance(value, np.bool_):
        return bool(value)
    if isinstance(value, (str, int, float, bool, date, datetime)):
        return value
    flat = flat_text(value)
    return flat if isinstance(flat, str) else str(flat)


def _write_xlsx(frame: pd.DataFrame, handle: IO[bytes], sheet: str) -> None:
    from openpyxl import Workbook
    from openpyxl.cell import WriteOnlyCell
    from openpyxl.styles import Alignment, Font

    book = Workbook(write_only=True)
    ws = book.create_sheet(sheet[:31] or "data")
    rtl = Alignment(horizontal="right", readingOrder=2)
    bold = Font(bold=True)

    def cell(value: Any, header: bool = False) -> WriteOnlyCell:
        value = _xlsx_value(value)
        out = WriteOnlyCell(ws, value=value)
        if isinstance(value, str):
            out.data_type = "s"  # never a formula, whatever the text starts with
            if is_formula_like(value):
                out.quotePrefix = True
            if _RTL.search(value):
                out.alignment = rtl
        elif isinstance(value, datetime):
            out.number_format = "yyyy-mm-dd hh:mm:ss"
        elif isinstance(value, date):
            out.number_format = "yyyy-mm-dd"
        if header:
            out.font = bold
        return out

    ws.append([cell(str(c), header=True) for c in frame.columns])
    for row in frame.itertuples(index=False, name=None):
        ws.append([cell(v) for v in row])
    book.save(handle)


def _json_ready(frame: pd.DataFrame) -> bytes:
    text = frame.to_json(orient="records", force_ascii=False, date_format="iso", indent=1)
    return (text + "\n").encode("utf-8")


def write_table(case: Case, frame: pd.DataFrame, path: str | Path, *, fmt: str, action: str,
                detail: Mapping[str, Any] | None = None, username: str | None = None, bom: bool = True,
                hxl_tags: Sequence[str] | None = None, sheet: str = "data") -> OutputResult:
    """Write a table safely (:func:`write_output`) as CSV, XLSX, HXL, JSON or Parquet.

    Args:
        case: the case whose data the table holds.
        frame: the table (list-valued cells become ``a; b`` text in CSV, HXL and XLSX).
        path: the file to write.
        fmt: one of :data:`TABLE_FORMATS`.
        action: the audit action.
        detail: what to record (never names or IDs); ``format`` and ``rows`` are added.
        username: who writes.
        bom: CSV and HXL start with a UTF-8 byte-order mark and end lines with CRLF, so that
            Excel reads them as UTF-8 (False: plain UTF-8 with LF).
        hxl_tags: the hashtag row (required for ``hxl``, one per column).
        sheet: the XLSX sheet's name.
    Returns:
        An :class:`OutputResult`.
    Raises:
        ConfigError: an unknown format, a missing or mismatched hashtag row, too many rows for XLSX.
        StoreError: the file cannot be written (see :func:`write_output`).
    """
    if fmt not in TABLE_FORMATS:
        raise ConfigError(f"unknown format '{fmt}': choose one of {', '.join(TABLE_FORMATS)}")
    if fmt == "hxl" and (hxl_tags is None or len(hxl_tags) != len(frame.columns)):
        raise ConfigError("an HXL table needs one hashtag per column")
    payload: bytes | None = None
    if fmt in ("csv", "hxl"):
        payload = _csv_bytes(frame, bom=bom, tags=hxl_tags if fmt == "hxl" else None)
    elif fmt == "json":
        payload = _json_ready(frame)
    elif fmt == "xlsx" and len(frame) > XLSX_MAX_ROWS:
        raise ConfigError(f"{len(frame):,} rows do not fit in one XLSX sheet ({XLSX_MAX_ROWS:,} at most): "
                          "export as csv or parquet")

    def write(handle: IO[bytes]) -> None:
        if payload is not None:
            handle.write(payload)
        elif fmt == "xlsx":
            _write_xlsx(frame, handle, sheet)
        else:
            frame.to_parquet(handle, index=False)

    entry = {**(detail or {}), "format": fmt, "rows": len(frame)}
    return write_output(case, path, write, action=action, detail=entry, username=username)
