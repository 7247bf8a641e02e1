"""Import one list into a case: read, map, validate, normalise names, store atomically.

Atomic: the file is first copied to ``sources/<sha256>.<ext>`` (temp file + ``os.replace``);
records, the ``uc_sources`` row and the ``uc_runs`` row are then inserted in one transaction,
so a failure stores nothing (a copied file without a ``uc_sources`` row is harmless and is
reused by the next attempt). Idempotent: a file whose SHA-256 is already in ``uc_sources`` is
reported and skipped. A list name already used by another file is refused (give the new
release its own name with ``--name``), so every list name means exactly one file.
"""

from __future__ import annotations

import hashlib
import os
import tempfile
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from undercount.errors import ConfigError, InputError, StoreError
from undercount.ingest.columns import ColumnMap, field_headers, map_columns, score_headers
from undercount.ingest.limits import check_size
from undercount.ingest.read import RawTable, read_table
from undercount.ingest.records import FLAGS, build_records
from undercount.ingest.spec import ImportSpec, load_spec
from undercount.ingest.summary import PREVIEW_ROWS, column_mapping, preview, unused_headers
from undercount.store.fields import record_table

if TYPE_CHECKING:
    import duckdb

    from undercount.store import Case

__all__ = ["IMPORT_STEPS", "ImportResult", "import_list", "read_source", "copy_source"]

#: The steps :func:`import_list` reports to its ``progress`` callback, in order.
IMPORT_STEPS = ("reading the file", "mapping columns", "checking values", "storing")


@dataclass(frozen=True)
class ImportResult:
    """What an import did.

    Attributes:
        name: the list's name in the case.
        file_hash: SHA-256 of the file.
        rows: records stored (0 when skipped).
        skipped: the same file was imported before; nothing was stored.
        flags: number of records carrying each validation flag.
    """

    name: str
    file: str
    file_hash: str
    rows: int
    skipped: bool = False
    run_id: str | None = None
    stored_as: str | None = None
    format: str | None = None
    encoding: str | None = None
    header_row: int | None = None
    columns: dict[str, str] = field(default_factory=dict)
    flags: dict[str, int] = field(default_factory=dict)
    mapping: tuple[dict[str, str], ...] = ()
    unused: str = ""
    dates: dict[str, dict[str, Any]] = field(default_factory=dict)
    values: dict[str, dict[str, Any]] = field(default_factory=dict)
    ids: dict[str, Any] = field(default_factory=dict)
    names: dict[str, Any] = field(default_factory=dict)
    warnings: tuple[str, ...] = ()
    dry_run: bool = False
    preview: tuple[dict[str, Any], ...] = ()
    release: dict[str, Any] = field(default_factory=dict)

    @property
    def message(self) -> str:
        """One line for the user (no personal data)."""
        short = self.file_hash[:12]
        if self.skipped:
            return f"{self.file} was already imported as list '{self.name}' (sha256 {short}...): skipped"
        if self.dry_run:
            return (f"Dry run: {self.rows:,} rows of {self.file} would be imported as list '{self.name}' "
                    f"(sha256 {short}...); nothing was stored")
        if self.release.get("list_name", self.name) != self.name:
            return (f"Imported {self.rows:,} rows from {self.file} as release '{self.name}' of list "
                    f"'{self.release['list_name']}' (sha256 {short}...)")
        return f"Imported {self.rows:,} rows from {self.file} as list '{self.name}' (sha256 {short}...)"

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict."""
        return {
            "name": self.name, "file": self.file, "file_hash": self.file_hash, "rows": self.rows,
            "skipped": self.skipped, "dry_run": self.dry_run, "run_id": self.run_id, "stored_as": self.stored_as,
            "format": self.format, "encoding": self.encoding, "header_row": self.header_row,
            "columns": self.columns, "mapping": list(self.mapping), "unused": self.unused, "dates": self.dates,
            "values": self.values, "ids": self.ids, "names": self.names, "flags": self.flags, "warnings": list(self.warnings),
            "preview": list(self.preview), "release": self.release,
        }


def _sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def read_source(file: str | Path, *, what: str = "the file") -> tuple[Path, bytes, str]:
    """Read a file to import whole, within the size limit, with its SHA-256.

    Every importer (victim lists, incident reports, displacement counts) reads its file here, so
    the same checks and messages hold for all of them.

    Args:
        file: the file's path.
        what: how the message for a folder names the file wanted ("the list's file").
    Returns:
        (path, bytes, sha256 hex digest).
    Raises:
        InputError: a folder, no such file, too large or unreadable (naming the file).

    Example:
        >>> path, data, digest = read_source("moh_2024_08.csv")  # doctest: +SKIP
    """
    path = Path(file)
    if path.is_dir():
        raise InputError(f"is a folder, not a file: give {what}", file=path.name)
    if not path.is_file():
        raise InputError("no such file", file=path.name)
    try:
        check_size(path.stat().st_size, path.name)  # before reading a file of many gigabytes
        data = path.read_bytes()
    except OSError as exc:
        raise InputError(f"cannot read the file ({exc.strerror})", file=path.name) from None
    return path, data, _sha256(data)


def _existing(case: Case, file_hash: str, name: str) -> tuple[str | None, str | None]:
    """(name of a list with this hash, file name of a list with this name)."""
    with case.connect(read_only=True) as con:
        by_hash = con.execute("SELECT name FROM uc_sources WHERE file_hash = ? LIMIT 1", [file_hash]).fetchall()
        by_name = con.execute("SELECT file_name FROM uc_sources WHERE name = ? LIMIT 1", [name]).fetchall()
    return (by_hash[0][0] if by_hash else None), (by_name[0][0] if by_name else None)


def copy_source(case: Case, path: Path, data: bytes, file_hash: str) -> str:
    """Copy an imported file to the case's sources/<sha256>.<ext> via a temp file and os.replace.

    Returns:
        The stored path, relative to the case folder.
    Raises:
        StoreError: the copy cannot be written.
    """
    ext = path.suffix.lower() or ".bin"
    stored = f"{file_hash}{ext}"
    target = case.sources_dir / stored
    if target.is_file() and target.stat().st_size == len(data):
        return f"sources/{stored}"
    try:
        case.sources_dir.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=case.sources_dir, prefix=".import-", suffix=ext)
        try:
            with os.fdopen(fd, "wb") as out:
                out.write(data)
                out.flush()
                os.fsync(out.fileno())
            os.replace(tmp, target)
        finally:
            if os.path.exists(tmp):
                os.unlink(tmp)
    except OSError as exc:
        raise StoreError(f"cannot copy {path.name} into {case.sources_dir}: {exc.strerror}") from None
    return f"sources/{stored}"


def _sql_text(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def _insert_records(con: duckdb.DuckDBPyConnection, frame: pd.DataFrame, headers: list[str],
                    name: str, file_hash: str, run_id: str) -> None:
    """Bulk insert: the DataFrame is registered with DuckDB and inserted by one statement."""
    con.execute("SET enable_progress_bar = false")
    start = int(con.execute("SELECT coalesce(max(record_id), 0) FROM uc_records").fetchall()[0][0])
    raw = ", ".join(f"{_sql_text(h)}: \"r{i}\"" for i, h in enumerate(headers))
    flags = ", ".join(f"CASE WHEN \"f_{f}\" THEN '{f}' END" for f in FLAGS)
    fields = record_table()
    cols = ", ".join(f'"{c}"' for c in fields.built)
    con.register("uc_import_frame", frame)
    try:
        con.execute(
            f"INSERT INTO uc_records (record_id, source, \"row\", file_hash, raw, {cols}, flags, run_id) "
            f"SELECT {start} + _pos, ?, \"_row\", ?, to_json({{{raw}}}), "
            + ", ".join(
                f"CAST(\"{c}\" AS DATE)" if c in fields.dates else f'"{c}"' for c in fields.built
            )
            + f", list_filter([{flags}]::VARCHAR[], lambda x: x IS NOT NULL), ? FROM uc_import_frame",
            [name, file_hash, run_id],
        )
    finally:
        try:
            con.unregister("uc_import_frame")
        except Exception:  # noqa: BLE001 - an aborted transaction refuses; the view dies with it
            pass


def _store(case: Case, *, path: Path, data: bytes, file_hash: str, name: str, table: RawTable,
           columns: ColumnMap, frame: pd.DataFrame, spec: ImportSpec | None, flags: dict[str, int],
           started: datetime, reading: dict[str, Any] | None = None,
           release: dict[str, Any] | None = None,
           about: tuple[str | None, str | None] | None = None) -> tuple[str, str]:
    stored_as = copy_source(case, path, data, file_hash)
    run_id = case.new_run_id("import")
    try:
        with case.transaction() as con:
            again = con.execute("SELECT name FROM uc_sources WHERE file_hash = ? OR name = ?", [file_hash, name]).fetchall()
            if again:
                raise StoreError(f"another import of {path.name} or of list '{name}' finished first: run it again")
            _insert_records(con, frame, table.headers, name, file_hash, run_id)
            con.execute(
                "INSERT INTO uc_sources (name, file_hash, file_name, stored_as, size, format, encoding, header_row, "
                "row_count, columns, spec, imported_at, run_id, compiled_by, description) "
                "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                [name, file_hash, path.name, stored_as, len(data), table.format, table.encoding,
                 table.header_row, len(frame), _json(columns.fields), _json(spec.raw) if spec else None,
                 datetime.now(UTC).replace(tzinfo=None), run_id, *(about or (None, None))],
            )
            if release:
                con.execute(
                    "INSERT INTO uc_releases (source, list_name, released, top_line, top_line_identified, written_at, "
                    "run_id) VALUES (?, ?, ?, ?, ?, ?, ?)",
                    [name, release["list_name"], release.get("released"), release.get("top_line"),
                     release.get("top_line_identified"), datetime.now(UTC).replace(tzinfo=None), run_id])
            case.record_run(
                con, run_id=run_id, kind="import", started_at=started,
                params={"file": path.name, "name": name, "spec": spec.label if spec else None,
                        **({"release": release} if release else {})},
                summary={"source": name, "file_hash": file_hash, "rows": len(frame), "flags": flags,
                         **(reading or {})},
            )
    except (StoreError, InputError):
        raise
    except Exception as exc:  # duckdb errors: the transaction was rolled back
        raise StoreError(f"could not store {path.name} in {case.path}: {type(exc).__name__}") from exc
    return run_id, stored_as


def _release_summary(release: dict[str, Any]) -> dict[str, Any]:
    """The release row as JSON-ready values (dates as ISO text)."""
    return {k: (v.isoformat() if isinstance(v, date) else v) for k, v in release.items()}


def _json(value: Any) -> str:
    import json

    return json.dumps(value, ensure_ascii=False, default=str)


def _released_date(value: date | str | None) -> date | None:
    if value is None or isinstance(value, date):
        return value
    try:
        return date.fromisoformat(str(value).strip())
    except ValueError:
        raise ConfigError(f"release date {value!r}: write it as YYYY-MM-DD") from None


def _release_plan(case: Case, name: str | None, *, release_of: str | None, released: date | str | None,
                  top_line: int | None, top_line_identified: int | None) -> tuple[str | None, dict[str, Any]]:
    """The source name a release takes (None: the usual default) and its ``uc_releases`` row (empty: none).

    Raises:
        ConfigError: no such list, no date for a new release, a date the list already has, a
            top line below zero or below its identified part.
    """
    from undercount.store.releases import default_release_name, list_releases

    day = _released_date(released)
    for label, value in (("top line", top_line), ("identified part of the top line", top_line_identified)):
        if value is not None and value < 0:
            raise ConfigError(f"the {label} cannot be negative (got {value})")
    if top_line_identified is not None and (top_line is None or top_line_identified > top_line):
        raise ConfigError("the identified part of the top line needs a top line at least as large")
    extra = {"top_line": top_line, "top_line_identified": top_line_identified}
    if release_of is None:
        if day is None and top_line is None:
            return name, {}
        return name, {"list_name": None, "released": day, **extra}  # the first release of a new list
    earlier = list_releases(case, release_of)
    owner = earlier[0].list_name
    if day is None:
        raise ConfigError(f"a new release of list '{owner}' needs its date (--released YYYY-MM-DD): "
                          "releases are kept in the order of their dates")
    same = [r for r in earlier if r.released == day]
    if same:
        raise ConfigError(f"list '{owner}' already has a release dated {day.isoformat()}: '{same[0].source}'")
    return name or default_release_name(owner, day), {"list_name": owner, "released": day, **extra}


def import_list(case: Case, file: str | Path, *, name: str | None = None,
                spec: ImportSpec | str | Path | None = None, dry_run: bool = False,
                preview_rows: int = PREVIEW_ROWS, show_personal: bool = False,
                release_of: str | None = None, released: date | str | None = None,
                top_line: int | None = None, top_line_identified: int | None = None,
                progress: Callable[[str], None] | None = None, compiled_by: str | None = None,
                description: str | None = None) -> ImportResult:
    """Import one list file into a case (atomic, idempotent), or with ``dry_run`` only say what it would do.

    Args:
        case: an open case.
        file: a CSV, XLSX, JSON or Parquet file.
        name: the list's name (default: the spec's [list] name, else the file's stem).
        spec: an :class:`ImportSpec` or the path of a TOML spec.
        dry_run: read, map and validate, store nothing; the result holds the first rows as read.
        preview_rows: how many rows a dry run shows.
        show_personal: show names and ID numbers in the dry run's rows (default: their shape only).
        release_of: the file is a new release of this list (named ``LIST@DATE`` unless ``name``
            is given); the list keeps its releases in order of their dates (docs/releases.md).
        released: the release's publication date (needed with ``release_of``; with a first
            import, the date of the list's first release).
        top_line: the total the publisher announced with this release (may exceed its rows).
        top_line_identified: of that total, how many the publisher called identified.
        progress: called with the name of each step as it starts (:data:`IMPORT_STEPS`).
        compiled_by: who compiled the list ("Ministry of Health, Gaza"; default: the spec's
            [list] compiled_by); stored with the source and shown in the report.
        description: how: what the list holds and how it was gathered (default: the spec's
            [list] description).
    Returns:
        An :class:`ImportResult` (``skipped`` when the same file was imported before) with the
        column mapping, the value mappings, how each date column was read and the warnings.
    Raises:
        InputError: the file cannot be read or fails validation (every problem is listed).
        ConfigError: the spec is wrong, the list name is already used by another file, or the
            release is wrong (no such list, no date, a date the list already has).
        StoreError: the case cannot be written.

    Example:
        >>> result = import_list(case, "moh_2024_08.csv")  # doctest: +SKIP
        >>> result.rows  # doctest: +SKIP
        34344
    """
    started = datetime.now(UTC).replace(tzinfo=None)
    step = progress or (lambda name: None)
    step(IMPORT_STEPS[0])
    if isinstance(spec, (str, Path)):
        spec = load_spec(spec)
    about = (list_text(compiled_by if compiled_by is not None else spec.compiled_by if spec else None,
                       "compiled by", COMPILED_BY_MAX),
             list_text(description if description is not None else spec.description if spec else None,
                       "description", DESCRIPTION_MAX))
    path, data, file_hash = read_source(file, what="the list's file")
    known_as, _ = _existing(case, file_hash, "")
    if known_as is not None:
        return ImportResult(name=known_as, file=path.name, file_hash=file_hash, rows=0, skipped=True)
    name, release = _release_plan(case, name, release_of=release_of, released=released, top_line=top_line,
                                  top_line_identified=top_line_identified)
    list_name = (name or (spec.name if spec else None) or path.stem).strip()
    if release and release["list_name"] is None:
        release["list_name"] = list_name
    if not list_name:
        raise ConfigError("the list name is empty: give one with --name")
    if list_name.casefold() == "count" or not list_name.isprintable():
        # Capture tables hold one column per list plus 'count'; names also head report columns.
        raise ConfigError(f"list name {list_name!r} cannot be used (capture tables have a 'count' column; "
                          "no control characters): give another with --name")
    _, name_used_by = _existing(case, file_hash, list_name)
    if name_used_by is not None:
        hint = ("under another name with --name" if release_of else
                f"as a new release with --release-of {list_name} --released YYYY-MM-DD, or under another name "
                "with --name")
        raise ConfigError(f"list name '{list_name}' is already used in {case.path} by file {name_used_by}; "
                          f"import this file {hint}")
    extra = [*spec.columns.values(), *(f.column for f in spec.fields.values())] if spec else []
    table = read_table(path, data=data, score=lambda cells: score_headers(cells, extra),
                       header_row=spec.header_row if spec else None, sheet=spec.sheet if spec else None)
    if table.frame.empty:
        raise InputError("the file has a header but no data rows", file=path.name)
    step(IMPORT_STEPS[1])
    columns = map_columns(table.headers, spec, path.name).prefer_arabic_name(table.frame)
    if spec is not None and spec.fields:
        field_headers(spec.fields, list(table.headers), spec=spec.label, file=path.name)
    step(IMPORT_STEPS[2])
    frame, flags, notes = build_records(table, columns, spec, path.name)
    frame["_pos"] = np.arange(1, len(frame) + 1, dtype=np.int64)
    result = ImportResult(
        name=list_name, file=path.name, file_hash=file_hash, rows=len(frame), format=table.format,
        encoding=table.encoding, header_row=table.header_row, columns=columns.fields, flags=flags,
        mapping=tuple(column_mapping(table.headers, columns, spec)), unused=unused_headers(table.headers, columns),
        dates=notes.dates, values=notes.values, ids=notes.ids, names=notes.names, warnings=tuple(notes.warnings), dry_run=dry_run,
        preview=tuple(preview(frame, preview_rows, show_personal=show_personal)) if dry_run else (),
        release=_release_summary(release),
    )
    if dry_run:
        return result
    # how the list was read, kept with its run: the date orders assumed, the ID scheme, the name order, warnings
    reading = {"dates": {f: {"order": n["order"], "order_source": n["order_source"]} for f, n in notes.dates.items()},
               "id_scheme": notes.ids.get("scheme"), "name_order": notes.names.get("order"),
               "warnings": list(notes.warnings)}
    step(IMPORT_STEPS[3])
    run_id, stored_as = _store(case, path=path, data=data, file_hash=file_hash, name=list_name, table=table,
                               columns=columns, frame=frame, spec=spec, flags=flags, started=started, reading=reading,
                               release=release, about=about)
    return replace(result, run_id=run_id, stored_as=stored_as)


COMPILED_BY_MAX = 200
DESCRIPTION_MAX = 2000


def list_text(value: str | None, what: str, limit: int) -> str | None:
    """A list's 'compiled by' or description: trimmed, printable (line breaks allowed), at most ``limit`` characters.

    Raises:
        ConfigError: too long, or holding control characters.

    Example:
        >>> list_text("  Ministry of Health ", "compiled by", 200)
        'Ministry of Health'
    """
    if value is None:
        return None
    text = str(value).strip()
    if len(text) > limit:
        raise ConfigError(f"the list's {what} is {len(text):,} characters long: at most {limit:,}")
    if not text.replace("\n", " ").replace("\t", " ").isprintable():
        raise ConfigError(f"the list's {what} holds control characters: write plain text")
    return text or None
