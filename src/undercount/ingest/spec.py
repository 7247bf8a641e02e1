"""The import spec: a small TOML file that says how to read one list.

Example::

    [list]
    name = "moh_2024_08"            # the list's name in the case (default: the file stem)
    default_status = "killed"       # status of rows whose status cell is empty
    default_cause = "unknown"
    period_start = 2023-10-07       # event dates outside the period are flagged
    period_end = 2024-08-31
    header_row = 3                  # 1-based line (CSV) or sheet row (XLSX) of the header
    sheet = "Sheet1"                # XLSX only
    id_scheme = "palestinian"       # or "other" (no check digit known) or "none" (IDs of unknown kind)
    name_order = "western"          # Latin full names: "arabic" (given father grandfather family) or
                                    # "western" (given ... surname); default: decided from the names
    surname_words = 2               # western: the last two words are surnames (Spanish, Portuguese)
    compiled_by = "Ministry of Health, Gaza"   # who compiled the list (shown in the report)
    description = "Deaths registered by hospitals and morgues, with ID numbers"   # how

    [columns]                       # canonical field = header in the file
    full_name = "اسم الشهيد رباعي"
    id_number = "ID No."

    [values.sex]                    # cell text = canonical value
    "ذ" = "male"
    "ث" = "female"

    [dates]
    order = "MDY"                    # day/month order of numeric dates (or per field: { event_date = "MDY" })
    formats = ["%d/%m/%y", "excel"]  # only these, tried in order (default: every format undercount reads)
    on_error = "error"               # or "null": unreadable dates become null, flagged bad_date

    [fields]                        # extra columns the linkage compares (see ingest/fields.py)
    postcode = { column = "Postcode", compare = "exact" }
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path
from typing import Any

import pandas as pd

from undercount.errors import ConfigError
from undercount.ingest.fields import ExtraField, parse_fields
from undercount.store.fields import CAUSES, SEXES, STATUSES, record_table

# The canonical fields and their vocabularies are the field table's (undercount.store.fields).
__all__ = ["ImportSpec", "load_spec", "spec_from_dict", "STATUSES", "CAUSES", "SEXES", "ID_SCHEMES", "DATE_FIELDS"]

ID_SCHEMES = ("palestinian", "other", "none")
DATE_FIELDS = record_table().dates
_ORDERS = ("DMY", "MDY")
_LIST_KEYS = {"name", "default_status", "default_cause", "period_start", "period_end", "header_row", "sheet",
              "id_scheme", "name_order", "surname_words", "compiled_by", "description"}
NAME_ORDERS = ("arabic", "western")
_DATES_KEYS = {"formats", "on_error", "order"}
_TOP_KEYS = {"list", "columns", "values", "dates", "fields"}


@dataclass(frozen=True)
class ImportSpec:
    """How to read one list. Every option is optional.

    Attributes:
        path: the spec file (for messages), or None when built in code.
        columns: canonical field -> header as written in the file.
        values: field (sex, status, cause) -> {cell text: canonical value}.
        date_formats: strptime formats tried in order ("excel" = serial day numbers); None: every
            format undercount reads, inferred per column.
        date_errors: "error" (report every unreadable date) or "null" (store null, flag bad_date).
        date_order: day/month order of numeric dates per date field ("*": every field), 'DMY' or 'MDY'.
        id_scheme: palestinian (9 digits, Luhn check digit), other (no check known: an ID is valid when
            it is a string of letters and digits) or none (IDs of unknown kind, never called valid or invalid).
        fields: extra fields the linkage compares, by name (:mod:`undercount.ingest.fields`).
        name_order: how Latin full names are split, arabic or western (None: decided from the names).
        surname_words: words of a Western surname (2 for lists that write two surnames).
        compiled_by, description: who compiled the list and how (stored with the source, shown in the report).
    """

    path: Path | None = None
    name: str | None = None
    columns: dict[str, str] = field(default_factory=dict)
    values: dict[str, dict[str, str]] = field(default_factory=dict)
    date_formats: tuple[str, ...] | None = None
    date_errors: str = "error"
    date_order: dict[str, str] = field(default_factory=dict)
    id_scheme: str = "palestinian"
    name_order: str | None = None
    surname_words: int = 1
    default_status: str | None = None
    default_cause: str | None = None
    period_start: date | None = None
    period_end: date | None = None
    header_row: int | None = None
    sheet: str | None = None
    raw: dict[str, Any] = field(default_factory=dict)
    fields: dict[str, ExtraField] = field(default_factory=dict)
    compiled_by: str | None = None
    description: str | None = None

    @property
    def label(self) -> str:
        """The spec's file name, for messages."""
        return self.path.name if self.path else "the spec"


def _fail(where: str, message: str) -> ConfigError:
    return ConfigError(f"spec {where}: {message}")


def _as_date(value: Any, where: str, key: str) -> date | None:
    if value is None:
        return None
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    try:
        return date.fromisoformat(str(value))
    except ValueError:
        raise _fail(where, f"[list] {key} must be a date like 2023-10-07") from None


def _check_date_format(fmt: str, where: str) -> None:
    """Refuse a date format that strptime cannot use or that holds no directive."""
    if fmt == "excel":
        return
    try:
        if "%" not in fmt:
            raise ValueError(fmt)
        pd.to_datetime(pd.Series(["2000-01-01"]), format=fmt, errors="coerce")
    except ValueError:
        raise _fail(where, f"[dates] formats: {fmt!r} is not a strptime format (e.g. \"%d/%m/%Y\") "
                           "or \"excel\"") from None


def _check_choice(value: Any, allowed: tuple[str, ...], where: str, key: str) -> str | None:
    if value is None:
        return None
    if value not in allowed:
        raise _fail(where, f"{key} must be one of {', '.join(allowed)}")
    return str(value)


def _parse_order(value: Any, where: str) -> dict[str, str]:
    """[dates] order: "DMY" / "MDY" for every date field, or a table field -> order."""
    if value is None:
        return {}
    table = {"*": value} if isinstance(value, str) else value
    if not isinstance(table, dict):
        raise _fail(where, '[dates] order must be "DMY" or "MDY", or a table such as { event_date = "MDY" }')
    out = {}
    for fld, order in table.items():
        if fld != "*" and fld not in DATE_FIELDS:
            raise _fail(where, f"[dates] order: {fld} is not a date field ({', '.join(DATE_FIELDS)})")
        if not isinstance(order, str) or order.upper() not in _ORDERS:
            raise _fail(where, '[dates] order must be "DMY" (day first) or "MDY" (month first)')
        out[str(fld)] = order.upper()
    return out


def _parse_values(doc: dict[str, Any], where: str) -> dict[str, dict[str, str]]:
    values: dict[str, dict[str, str]] = {}
    choices = record_table().choices
    for fld, table in doc.get("values", {}).items():
        if fld not in choices or not isinstance(table, dict):
            raise _fail(where, f"[values.{fld}]: values can be mapped for {', '.join(choices)}")
        for text, canon in table.items():
            _check_choice(canon, choices[fld], where, f"[values.{fld}] {text!r}")
        values[fld] = {str(k): str(v) for k, v in table.items()}
    return values


def spec_from_dict(doc: dict[str, Any], path: Path | None = None) -> ImportSpec:
    """Build an :class:`ImportSpec` from a parsed TOML document.

    Raises:
        ConfigError: an unknown section, key, field or value.
    """
    where = path.name if path else "(inline)"
    unknown = set(doc) - _TOP_KEYS
    if unknown:
        raise _fail(where, f"unknown section(s) {', '.join(sorted(unknown))}")
    for section in sorted(_TOP_KEYS & set(doc)):
        if not isinstance(doc[section], dict):
            raise _fail(where, f"[{section}] must be a table (a [{section}] header with keys under it)")
    lst = doc.get("list", {})
    for key in ("name", "sheet"):
        if key in lst and not isinstance(lst[key], str):
            raise _fail(where, f"[list] {key} must be text (in quotes)")
    if set(lst) - _LIST_KEYS:
        raise _fail(where, f"unknown [list] key(s) {', '.join(sorted(set(lst) - _LIST_KEYS))}")
    columns = {str(k): str(v) for k, v in doc.get("columns", {}).items()}
    inputs = record_table().inputs
    bad = [k for k in columns if k not in inputs]
    if bad:
        raise _fail(where, f"[columns] {', '.join(bad)}: not a canonical field ({', '.join(inputs)})")
    dates = doc.get("dates", {})
    if set(dates) - _DATES_KEYS:
        raise _fail(where, f"unknown [dates] key(s) {', '.join(sorted(set(dates) - _DATES_KEYS))}")
    formats = dates.get("formats")
    if formats is not None and (not isinstance(formats, list) or not all(isinstance(f, str) for f in formats)):
        raise _fail(where, "[dates] formats must be a list of strptime formats or \"excel\"")
    for fmt in formats or ():
        _check_date_format(fmt, where)
    on_error = dates.get("on_error", "error")
    _check_choice(on_error, ("error", "null"), where, "[dates] on_error")
    surname_words = lst.get("surname_words", 1)
    if surname_words not in (1, 2) or isinstance(surname_words, bool):
        raise _fail(where, "[list] surname_words must be 1 or 2")
    header_row = lst.get("header_row")
    if header_row is not None and (not isinstance(header_row, int) or isinstance(header_row, bool) or header_row < 1):
        raise _fail(where, "[list] header_row must be a positive integer")
    start = _as_date(lst.get("period_start"), where, "period_start")
    end = _as_date(lst.get("period_end"), where, "period_end")
    if start and end and start > end:
        raise _fail(where, "[list] period_start is after period_end")
    return ImportSpec(
        path=path,
        name=lst.get("name"),
        columns=columns,
        values=_parse_values(doc, where),
        date_formats=tuple(formats) if formats is not None else None,
        date_errors=str(on_error),
        date_order=_parse_order(dates.get("order"), where),
        id_scheme=_check_choice(lst.get("id_scheme", "palestinian"), ID_SCHEMES, where, "[list] id_scheme")
        or "palestinian",
        name_order=_check_choice(lst.get("name_order"), NAME_ORDERS, where, "[list] name_order"),
        surname_words=int(surname_words),
        default_status=_check_choice(lst.get("default_status"), STATUSES, where, "[list] default_status"),
        default_cause=_check_choice(lst.get("default_cause"), CAUSES, where, "[list] default_cause"),
        period_start=start,
        period_end=end,
        header_row=header_row,
        sheet=lst.get("sheet"),
        raw=doc,
        fields=parse_fields(doc.get("fields", {}), where),
        compiled_by=_text(lst.get("compiled_by"), where, "compiled_by"),
        description=_text(lst.get("description"), where, "description"),
    )


def _text(value: Any, where: str, key: str) -> str | None:
    if value is None:
        return None
    if not isinstance(value, str):
        raise _fail(where, f"[list] {key} must be text")
    return value


def load_spec(path: str | Path) -> ImportSpec:
    """Read a TOML import spec.

    Args:
        path: the spec file.
    Returns:
        The :class:`ImportSpec`.
    Raises:
        ConfigError: the file is missing, is not TOML, or holds unknown keys or values.
    """
    from undercount.ingest.limits import LIMITS, nesting_depth

    path = Path(path)
    try:
        if path.stat().st_size > LIMITS.spec_bytes:
            raise ConfigError(f"spec {path.name}: larger than {LIMITS.spec_bytes:,} bytes: not an import spec")
        doc = tomllib.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise ConfigError(f"spec {path.name}: cannot read it ({exc.strerror})") from None
    except (tomllib.TOMLDecodeError, UnicodeDecodeError, ValueError) as exc:
        raise ConfigError(f"spec {path.name}: not valid TOML ({exc})") from None
    except RecursionError:
        raise ConfigError(f"spec {path.name}: tables and arrays nest too deep (at most "
                          f"{LIMITS.spec_depth})") from None
    if nesting_depth(doc) > LIMITS.spec_depth:
        raise ConfigError(f"spec {path.name}: tables and arrays nest more than {LIMITS.spec_depth} deep")
    return spec_from_dict(doc, path)
