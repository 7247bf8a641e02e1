"""Extra fields declared in an import spec: any column the linkage should compare.

A list often holds more than names, age and sex: an address, a postcode, a phone number, a
hospital file number. The spec's ``[fields]`` table names such a column and says how to compare
it; the linkage then trains the comparison like the others (m and u probabilities) and, where two
lists share the field, blocks on it. Example::

    [fields]
    postcode = { column = "Postcode", compare = "exact" }
    street = { column = "Address 1", compare = "string" }
    phone = { column = "Tel", compare = "string" }
    weight = { column = "Weight kg", compare = "numeric", within = [1, 5] }
    admitted = { column = "Admission", compare = "date", within = [1, 30] }

Comparison kinds:

* ``exact``: the same value (after folding case and spaces), else different;
* ``string``: exact; close (Jaro-Winkler >= 0.92 or one edit); similar (Jaro-Winkler >= 0.8);
  else different;
* ``numeric``: equal; within each of ``within`` (default ``[1]``); else different;
* ``date``: same day; within each of ``within`` days (default ``[1, 30, 365]``); else different.

A field is matched across lists by its name: two lists that declare ``postcode`` compare their
postcodes whatever the columns are called. The values stay in the record's raw row (the record's
schema does not change) and the declaration is stored with the list's spec, where the linkage
reads it. Field names are lower-case words (``a-z``, digits, ``_``) and cannot be one of the
record's own fields.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from undercount.errors import ConfigError

__all__ = ["ExtraField", "COMPARE_KINDS", "parse_fields", "fields_to_dict"]

COMPARE_KINDS: tuple[str, ...] = ("exact", "string", "numeric", "date")
_DEFAULT_WITHIN = {"numeric": (1.0,), "date": (1.0, 30.0, 365.0)}
_NAME = re.compile(r"^[a-z][a-z0-9_]{0,30}$")
_KEYS = {"column", "compare", "within"}
# Names the linkage table uses beside the record's own fields (undercount.store.fields).
_LINKAGE_NAMES = frozenset(("unique_id", "name_tokens", "block_keys", "key3", "key_sorted", "lineage"))


def _reserved() -> frozenset[str]:
    from undercount.store.fields import record_table

    table = record_table()
    return frozenset((*table.columns, *table.inputs)) | _LINKAGE_NAMES


@dataclass(frozen=True)
class ExtraField:
    """One declared field.

    Attributes:
        name: the field's name in the case (shared by lists that declare it).
        column: the header of the column in this list's file.
        compare: exact | string | numeric | date.
        within: thresholds of the numeric (units) or date (days) levels, increasing.
    """

    name: str
    column: str
    compare: str
    within: tuple[float, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        """The declaration as the spec writes it."""
        out: dict[str, Any] = {"column": self.column, "compare": self.compare}
        if self.within:
            out["within"] = list(self.within)
        return out


def _fail(where: str, message: str) -> ConfigError:
    return ConfigError(f"spec {where}: [fields] {message}")


def _within(value: Any, kind: str, where: str, name: str) -> tuple[float, ...]:
    if value is None:
        return _DEFAULT_WITHIN.get(kind, ())
    if kind not in _DEFAULT_WITHIN:
        raise _fail(where, f"{name}: 'within' applies only to numeric and date fields")
    if not isinstance(value, list) or not value or not all(
        isinstance(v, (int, float)) and not isinstance(v, bool) and v > 0 for v in value
    ):
        raise _fail(where, f"{name}: 'within' must be a list of positive numbers, e.g. [1, 5]")
    steps = tuple(float(v) for v in value)
    if list(steps) != sorted(set(steps)):
        raise _fail(where, f"{name}: 'within' must increase, e.g. [1, 5]")
    return steps


def parse_fields(table: Any, where: str) -> dict[str, ExtraField]:
    """Check and read a spec's ``[fields]`` table.

    Args:
        table: the parsed TOML table (field name -> {column, compare, within}).
        where: the spec's name, for messages.

    Returns:
        Field name -> :class:`ExtraField`, in the spec's order.

    Raises:
        ConfigError: the table, a name, a key or a value is wrong.

    Example:
        >>> parse_fields({"postcode": {"column": "PC", "compare": "exact"}}, "x.toml")["postcode"].compare
        'exact'
    """
    if not isinstance(table, dict):
        raise ConfigError(f"spec {where}: [fields] must be a table (a [fields] header with keys under it)")
    out: dict[str, ExtraField] = {}
    for name, decl in table.items():
        if not _NAME.match(str(name)) or name in _reserved():
            raise _fail(where, f"{name!r}: a field name is a lower-case word (a-z, 0-9, _) that is not "
                               "one of the record's own fields")
        if not isinstance(decl, dict):
            raise _fail(where, f'{name}: write {name} = {{ column = "Header", compare = "exact" }}')
        unknown = set(decl) - _KEYS
        if unknown:
            raise _fail(where, f"{name}: unknown key(s) {', '.join(sorted(unknown))} (use column, compare, within)")
        column, kind = decl.get("column"), decl.get("compare", "exact")
        if not isinstance(column, str) or not column.strip():
            raise _fail(where, f"{name}: 'column' must name the column's header (in quotes)")
        if kind not in COMPARE_KINDS:
            raise _fail(where, f"{name}: 'compare' must be one of {', '.join(COMPARE_KINDS)}")
        out[str(name)] = ExtraField(str(name), column, str(kind), _within(decl.get("within"), str(kind), where, name))
    return out


def fields_to_dict(fields: dict[str, ExtraField]) -> dict[str, dict[str, Any]]:
    """The declarations as a ``[fields]`` table (the inverse of :func:`parse_fields`)."""
    return {name: f.to_dict() for name, f in fields.items()}
