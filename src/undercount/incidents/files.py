"""Importing files of incidents and of displacement: the same rules as victim lists.

A file is read as victim lists are: :func:`undercount.ingest.importer.read_source` (size limit,
SHA-256) and :func:`undercount.ingest.read.read_table` (CSV, XLSX, JSON, Parquet; every encoding
the victim importer reads); headers are folded and scored, and a spec's ``[columns]`` found, by
:mod:`undercount.ingest.columns`; its columns are mapped by a spec, by headers in English or
Arabic, or by HXL hashtags (a row of ``#tag+attribute`` cells under or instead of the header),
its cells are parsed by the entity's parser, which lists *every* problem with its row and
column, and it is stored atomically: the file is copied to ``sources/<sha256>.<ext>``, then the
rows, one ``uc_entity_files`` row and one ``uc_runs`` row are inserted in one transaction. A
failure stores nothing; the same file again is skipped; a name is one file.

In an HXL file the hashtag row is not counted: row 1 is the first row of data under it.
"""

from __future__ import annotations

import json
import re
import tomllib
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from importlib import resources
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from undercount.errors import ConfigError, InputError, InputProblem, StoreError
from undercount.ingest.columns import describe_headers, fold, score_headers, spec_columns
from undercount.ingest.importer import copy_source, read_source
from undercount.ingest.read import RawTable, read_table
from undercount.ingest.spec import _check_date_format, _fail

if TYPE_CHECKING:
    import duckdb

    from undercount.store import Case

__all__ = [
    "EntityKind", "EntitySpec", "FileImportResult", "import_entity_file", "load_entity_spec", "ensure_schema",
    "table_exists", "parse_hxl_tag", "MAX_PROBLEMS", "ParsedRows", "rows_of",
]

MAX_PROBLEMS = 200
_HXL_TAG = re.compile(r"^#[a-z][a-z0-9_]*(\s*\+\s*[a-z][a-z0-9_]*)*$", re.IGNORECASE)


def rows_of(frame: pd.DataFrame) -> list[dict[str, Any]]:
    """The rows of a table as dicts keyed by (text) column name; missing values become None.

    Example:
        >>> rows_of(pd.DataFrame({"a": [1, None]}))
        [{'a': 1.0}, {'a': None}]
    """
    out = []
    columns = [str(c) for c in frame.columns]
    for values in frame.itertuples(index=False, name=None):
        out.append({c: (None if v is None or v is pd.NA or v is pd.NaT or (isinstance(v, float) and v != v) else v)
                    for c, v in zip(columns, values)})
    return out


def parse_hxl_tag(cell: str) -> tuple[str, frozenset[str]] | None:
    """(hashtag, attributes) of an HXL tag cell, or None when the cell is not one.

    Example:
        >>> parse_hxl_tag("#affected +killed +min")
        ('#affected', frozenset({'killed', 'min'}))
        >>> parse_hxl_tag("Date") is None
        True
    """
    text = cell.strip()
    if not _HXL_TAG.match(text):
        return None
    parts = [p.strip().lower() for p in text.split("+")]
    return parts[0], frozenset(parts[1:])


@dataclass(frozen=True)
class ParsedRows:
    """What an entity's parser made of a file: one row per data row, or the problems found."""

    frame: pd.DataFrame
    problems: list[InputProblem] = field(default_factory=list)


Parser = Callable[[pd.DataFrame, dict[str, str], "EntitySpec", str], ParsedRows]  # cells, columns, spec, source name


@dataclass(frozen=True)
class EntityKind:
    """One kind of entity file (incidents, displacement).

    Attributes:
        kind: the name stored in ``uc_entity_files.kind``.
        table: the table its rows go to; id_column: its row-id column.
        fields: the canonical fields a spec may map; value_fields: fields with controlled values.
        aliases: folded header -> field; tag_field: (hashtag, attributes) -> field or None.
        parse: the cells -> rows parser; columns: the stored columns (in table order after the shared ones).
        required: at least one of these fields must be mapped.
    """

    kind: str
    table: str
    id_column: str
    fields: tuple[str, ...]
    value_fields: Mapping[str, tuple[str, ...]]
    aliases: Mapping[str, str]
    tag_field: Callable[[str, frozenset[str]], str | None]
    parse: Parser
    columns: tuple[str, ...]
    required: tuple[str, ...]


@dataclass(frozen=True)
class EntitySpec:
    """How to read one file of incidents or displacement. Every option is optional.

    Attributes:
        path: the spec file, for messages; name: the file's name in the case.
        source, source_kind: who published the rows that name no source.
        columns: field -> header as written; values: field -> {cell text: canonical value}.
        date_formats: strptime formats tried in order ("excel" = serial day numbers).
        header_row, sheet: as for victim lists.
        raw: the TOML as read (stored with the file).
    """

    path: Path | None = None
    name: str | None = None
    source: str | None = None
    source_kind: str | None = None
    columns: dict[str, str] = field(default_factory=dict)
    values: dict[str, dict[str, str]] = field(default_factory=dict)
    date_formats: tuple[str, ...] | None = None
    header_row: int | None = None
    sheet: str | None = None
    raw: dict[str, Any] = field(default_factory=dict)

    @property
    def label(self) -> str:
        """The spec's file name, for messages."""
        return self.path.name if self.path else "the spec"


_LIST_KEYS = {"name", "source", "source_kind", "header_row", "sheet"}


def load_entity_spec(path: str | Path | dict[str, Any], entity: EntityKind) -> EntitySpec:
    """Read a TOML spec for an incident or displacement file.

    Sections: ``[list]`` (name, source, source_kind, header_row, sheet), ``[columns]`` (field =
    header), ``[values.FIELD]`` (cell text = canonical value) and ``[dates]`` (formats).

    Raises:
        ConfigError: the file is missing or not TOML, or holds an unknown section, key, field or value.
    """
    spec_path = None if isinstance(path, dict) else Path(path)
    if isinstance(path, dict):
        doc = path
    else:
        assert spec_path is not None
        try:
            doc = tomllib.loads(spec_path.read_text(encoding="utf-8"))
        except OSError as exc:
            raise ConfigError(f"spec {spec_path.name}: cannot read it ({exc.strerror})") from None
        except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
            raise ConfigError(f"spec {spec_path.name}: not valid TOML ({exc})") from None
    where = spec_path.name if spec_path else "(inline)"
    unknown = set(doc) - {"list", "columns", "values", "dates"}
    if unknown:
        raise _fail(where, f"unknown section(s) {', '.join(sorted(unknown))}")
    for section in ("list", "columns", "values", "dates"):
        if section in doc and not isinstance(doc[section], dict):
            raise _fail(where, f"[{section}] must be a table (a [{section}] header with keys under it)")
    lst = doc.get("list", {})
    if set(lst) - _LIST_KEYS:
        raise _fail(where, f"unknown [list] key(s) {', '.join(sorted(set(lst) - _LIST_KEYS))}")
    for key in ("name", "source", "source_kind", "sheet"):
        if key in lst and not isinstance(lst[key], str):
            raise _fail(where, f"[list] {key} must be text (in quotes)")
    header_row = lst.get("header_row")
    if header_row is not None and (not isinstance(header_row, int) or isinstance(header_row, bool) or header_row < 1):
        raise _fail(where, "[list] header_row must be a positive integer")
    kinds = entity.value_fields.get("source_kind")
    if "source_kind" in lst and kinds is not None and lst["source_kind"] not in kinds:
        raise _fail(where, f"[list] source_kind must be one of {', '.join(kinds)}")
    columns = {str(k): str(v) for k, v in doc.get("columns", {}).items()}
    bad = [k for k in columns if k not in entity.fields]
    if bad:
        raise _fail(where, f"[columns] {', '.join(bad)}: not a field of {entity.kind} files ({', '.join(entity.fields)})")
    values: dict[str, dict[str, str]] = {}
    for fld, table in doc.get("values", {}).items():
        if fld not in entity.value_fields or not isinstance(table, dict):
            raise _fail(where, f"[values.{fld}]: values can be mapped for {', '.join(entity.value_fields)}")
        for text, canon in table.items():
            if canon not in entity.value_fields[fld]:
                raise _fail(where, f"[values.{fld}] {text!r} must be one of {', '.join(entity.value_fields[fld])}")
        values[fld] = {str(k): str(v) for k, v in table.items()}
    dates = doc.get("dates", {})
    if set(dates) - {"formats"}:
        raise _fail(where, "[dates] takes only formats (a date no format reads is always an error)")
    formats = dates.get("formats")
    if formats is not None and (not isinstance(formats, list) or not all(isinstance(f, str) for f in formats)):
        raise _fail(where, "[dates] formats must be a list of strptime formats or \"excel\"")
    for fmt in formats or ():
        _check_date_format(fmt, where)
    return EntitySpec(path=spec_path, name=lst.get("name"), source=lst.get("source"), source_kind=lst.get("source_kind"),
                      columns=columns, values=values, date_formats=tuple(formats) if formats is not None else None,
                      header_row=header_row, sheet=lst.get("sheet"), raw=doc)


@dataclass(frozen=True)
class FileImportResult:
    """What an import of an incident or displacement file did (no personal data).

    Attributes:
        name: the file's name in the case; kind: incidents or displacement.
        file_hash: SHA-256 of the file; rows: rows stored (0 when skipped); skipped: imported before.
        columns: field -> header (or HXL tag) it was read from; hxl: the file carried HXL hashtags.
    """

    name: str
    kind: str
    file: str
    file_hash: str
    rows: int
    skipped: bool = False
    run_id: str | None = None
    stored_as: str | None = None
    format: str | None = None
    hxl: bool = False
    columns: dict[str, str] = field(default_factory=dict)

    @property
    def message(self) -> str:
        """One line for the user."""
        short = self.file_hash[:12]
        if self.skipped:
            return f"{self.file} was already imported as '{self.name}' (sha256 {short}...): skipped"
        what = "incident reports" if self.kind == "incidents" else "displacement counts"
        return (f"Imported {self.rows:,} {what} from {self.file} as '{self.name}' (sha256 {short}...)"
                f"{' (HXL)' if self.hxl else ''}")

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict."""
        return {"name": self.name, "kind": self.kind, "file": self.file, "file_hash": self.file_hash,
                "rows": self.rows, "skipped": self.skipped, "run_id": self.run_id, "stored_as": self.stored_as,
                "format": self.format, "hxl": self.hxl, "columns": self.columns}


# -- schema -----------------------------------------------------------------------------------
def _schema_sql() -> str:
    return resources.files("undercount.incidents").joinpath("schema.sql").read_text(encoding="utf-8")


def ensure_schema(con: duckdb.DuckDBPyConnection) -> None:
    """Create the incident and displacement tables if the case does not have them yet."""
    con.execute(_schema_sql())


def table_exists(case: Case, table: str) -> bool:
    """Whether the case's database holds a table (older cases lack the incident tables)."""
    found = case.query("SELECT count(*) AS n FROM information_schema.tables WHERE table_name = ?", [table])
    return bool(int(found["n"].iloc[0]))


# -- columns ----------------------------------------------------------------------------------
def _scorer(entity: EntityKind, extra: Iterable[str]) -> Callable[[Sequence[str]], int]:
    """Score a candidate header row as the victim importer does, with the entity's headers and its hashtags."""
    wanted = tuple(extra)

    def score(cells: Sequence[str]) -> int:
        tags = [parse_hxl_tag(c) if c else None for c in cells]
        known_tags = sum(1 for t in tags if t is not None and entity.tag_field(*t) is not None)
        words = [c for c, t in zip(cells, tags) if t is None]
        return known_tags + score_headers(words, wanted, aliases=entity.aliases)

    return score


def _hxl_row(table: RawTable) -> list[str] | None:
    """The hashtag row: the header itself, or the first data row, when its cells are HXL tags."""
    def tags(cells: Sequence[str]) -> bool:
        filled = [c for c in cells if c and c.strip()]
        return bool(filled) and all(parse_hxl_tag(c) is not None for c in filled)

    if tags(table.headers):
        return list(table.headers)
    if len(table.frame) and tags([str(c) for c in table.frame.iloc[0]]):
        return [str(c) for c in table.frame.iloc[0]]
    return None


def _map_columns(table: RawTable, entity: EntityKind, spec: EntitySpec, file: str,
                 hxl: list[str] | None) -> dict[str, str]:
    headers = list(table.frame.columns)

    def by_tag(header: str) -> str | None:  # a spec may name a column by its hashtag
        return next((h for h, t in zip(headers, hxl or ()) if t and fold(t) == fold(header)), None)

    fields = spec_columns(headers, spec.columns, spec=spec.label, file=file, extra=by_tag if hxl is not None else None)
    taken = set(fields.values())
    for i, header in enumerate(headers):
        if header in taken:
            continue
        known = entity.aliases.get(fold(header))
        tag = parse_hxl_tag(hxl[i]) if hxl is not None and i < len(hxl) and hxl[i] else None
        if tag is not None:
            known = entity.tag_field(*tag) or known
        if known and known not in fields:
            fields[known] = header
            taken.add(header)
    if not any(f in fields for f in entity.required):
        raise InputError(f"no column of {entity.kind} found among the headers: {describe_headers(headers)} "
                         f"(it needs one of: {', '.join(entity.required)}; map them with a spec's [columns])",
                         file=file)
    return fields


def problems_error(problems: list[InputProblem], file: str) -> InputError:
    """One InputError listing up to MAX_PROBLEMS problems, the rest counted in a last entry."""
    listed = problems[:MAX_PROBLEMS]
    if len(problems) > MAX_PROBLEMS:
        more = sum(p.count for p in problems[MAX_PROBLEMS:])
        listed.append(InputProblem(f"{more} more problem(s) of the same kinds", count=more))
    return InputError(listed[0].message, file=file, problems=listed)


# -- store ------------------------------------------------------------------------------------
def _existing(case: Case, entity: EntityKind, file_hash: str, name: str) -> tuple[str | None, str | None]:
    if not table_exists(case, "uc_entity_files"):
        return None, None
    by_hash = case.query("SELECT name FROM uc_entity_files WHERE file_hash = ? AND kind = ? LIMIT 1",
                         [file_hash, entity.kind])
    by_name = case.query("SELECT file_name FROM uc_entity_files WHERE name = ? AND kind = ? LIMIT 1",
                         [name, entity.kind])
    return (None if by_hash.empty else str(by_hash["name"].iloc[0])), \
        (None if by_name.empty else str(by_name["file_name"].iloc[0]))


def _json(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, default=str)


def _insert(con: duckdb.DuckDBPyConnection, entity: EntityKind, frame: pd.DataFrame, name: str,
            file_hash: str, run_id: str) -> None:
    start = int(con.execute(f"SELECT coalesce(max({entity.id_column}), 0) FROM {entity.table}").fetchall()[0][0])
    rows = frame.copy()
    rows.insert(0, entity.id_column, np.arange(start + 1, start + 1 + len(rows), dtype=np.int64))
    rows.insert(1, "file", name)
    rows["file_hash"] = file_hash
    rows["run_id"] = run_id
    columns = [entity.id_column, "file", "row", "file_hash", "raw", *entity.columns, "run_id"]
    con.register("uc_entity_frame", rows[columns])
    try:
        cols = ", ".join(f'"{c}"' for c in columns)
        con.execute(f"INSERT INTO {entity.table} ({cols}) SELECT {cols} FROM uc_entity_frame")
    finally:
        try:
            con.unregister("uc_entity_frame")
        except Exception:  # noqa: BLE001 - an aborted transaction refuses; the view dies with it
            pass


def import_entity_file(case: Case, file: str | Path, entity: EntityKind, *, name: str | None = None,
                       spec: EntitySpec | str | Path | None = None) -> FileImportResult:
    """Import one file of incidents or displacement (atomic, idempotent).

    Raises:
        InputError: the file cannot be read or has bad cells (every problem listed with row and column).
        ConfigError: the spec is wrong, or the name is already used by another file.
        StoreError: the case cannot be written.
    """
    started = datetime.now(UTC).replace(tzinfo=None)
    if spec is None:
        spec = EntitySpec()
    elif not isinstance(spec, EntitySpec):
        spec = load_entity_spec(spec, entity)
    path, data, file_hash = read_source(file, what=f"the file of {entity.kind}")
    label = (name or spec.name or path.stem).strip()
    if not label or not label.isprintable():
        raise ConfigError(f"name {label!r} cannot be used (empty or with control characters): give one with --name")
    known_as, name_used_by = _existing(case, entity, file_hash, label)
    if known_as is not None:
        return FileImportResult(name=known_as, kind=entity.kind, file=path.name, file_hash=file_hash, rows=0,
                                skipped=True)
    if name_used_by is not None:
        raise ConfigError(f"name '{label}' is already used in {case.path} by file {name_used_by}; "
                          "import this file under another name with --name")
    table = read_table(path, data=data, score=_scorer(entity, spec.columns.values()), header_row=spec.header_row,
                       sheet=spec.sheet)
    table = _names_above_tags(path, data, table, entity, spec)
    hxl = _hxl_row(table)
    if hxl is not None and hxl != list(table.headers):
        table.frame = table.frame.iloc[1:].reset_index(drop=True)
        table.rows = table.rows[1:] - 1
    if table.frame.empty:
        raise InputError("the file has a header but no data rows", file=path.name)
    columns = _map_columns(table, entity, spec, path.name, hxl)
    parsed = entity.parse(table.frame, columns, spec, spec.source or label)
    if parsed.problems:
        raise problems_error(_with_rows(parsed.problems, table.rows), path.name)
    frame = parsed.frame
    frame["row"] = table.rows.astype(np.int32)
    frame["raw"] = [_json(dict(zip(table.frame.columns, vals))) for vals in table.frame.itertuples(index=False)]
    mapped = {fld: (f"{header} ({hxl[list(table.frame.columns).index(header)]})" if hxl else header)
              for fld, header in columns.items()}
    stored_as = copy_source(case, path, data, file_hash)
    run_id = case.new_run_id(f"{entity.kind}-import")
    try:
        with case.transaction() as con:
            ensure_schema(con)
            again = con.execute("SELECT name FROM uc_entity_files WHERE kind = ? AND (file_hash = ? OR name = ?)",
                                [entity.kind, file_hash, label]).fetchall()
            if again:
                raise StoreError(f"another import of {path.name} or of '{label}' finished first: run it again")
            _insert(con, entity, frame, label, file_hash, run_id)
            con.execute("INSERT INTO uc_entity_files VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                        [label, entity.kind, file_hash, path.name, stored_as, len(data), table.format, table.encoding,
                         table.header_row, len(frame), hxl is not None, _json(mapped), _json(spec.raw) if spec.raw else None,
                         datetime.now(UTC).replace(tzinfo=None), run_id])
            case.record_run(con, run_id=run_id, kind=f"{entity.kind}-import", started_at=started,
                            params={"file": path.name, "name": label, "spec": spec.label if spec.path else None},
                            summary={"file": label, "file_hash": file_hash, "rows": len(frame)})
    except (StoreError, InputError):
        raise
    except Exception as exc:  # duckdb errors: the transaction was rolled back
        raise StoreError(f"could not store {path.name} in {case.path}: {type(exc).__name__}") from exc
    return FileImportResult(name=label, kind=entity.kind, file=path.name, file_hash=file_hash, rows=len(frame),
                            run_id=run_id, stored_as=stored_as, format=table.format, hxl=hxl is not None,
                            columns=mapped)


def _names_above_tags(path: Path, data: bytes, table: RawTable, entity: EntityKind, spec: EntitySpec) -> RawTable:
    """When the hashtag row was taken for the header, the row just above it (its column names) is the header."""
    tags = [h for h in table.headers if h and not h.startswith("column_")]
    if spec.header_row is not None or not tags or not all(parse_hxl_tag(h) for h in tags):
        return table
    if table.header_row is None or table.header_row <= 1:
        return table
    try:
        above = read_table(path, data=data, score=_scorer(entity, spec.columns.values()),
                           header_row=table.header_row - 1, sheet=spec.sheet)
    except InputError:
        return table
    names = [h for h in above.headers if not h.startswith("column_")]
    if len(names) == len(table.headers) and not any(parse_hxl_tag(h) for h in names):
        return above
    return table


def _with_rows(problems: list[InputProblem], rows: np.ndarray) -> list[InputProblem]:
    """Problems hold frame positions (0-based) in ``row``; give them the file's data-row numbers."""
    out = []
    for p in problems:
        row = int(rows[p.row]) if p.row is not None and 0 <= p.row < len(rows) else p.row
        out.append(InputProblem(p.message, row, p.column, p.count))
    return out
