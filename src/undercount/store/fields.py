"""The record's fields: one table from which every stage reads what a record holds.

Each line of :data:`RECORD` is one field of ``uc_records`` (or, with ``sql=None``, a column a
list may carry that is kept only in ``raw``): its DuckDB type, what it holds, where it comes from,
the label people read, its HXL hashtag, its value vocabulary and the roles it plays. The DDL of
``uc_records``, the import spec's canonical fields, the importer's columns, the date fields, the
linkage columns, the register's best values, the review app's record table, the export's HXL
row and redaction, and the report's per-person columns are all derived from it.

Adding a field is one line here plus a :class:`~undercount.store.migrations.Migration` that adds
its column to older cases (``Migration(version, "why", add_fields=("name",))``). An input field
of type VARCHAR, DATE or INTEGER, or one with a value vocabulary, is then read, stored, shown,
exported and redacted (when personal) without further code.

Example:
    >>> table = record_table()
    >>> table.dates
    ('date_of_birth', 'event_date', 'reported_date')
    >>> table.field("sex").values
    ('male', 'female')
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, replace
from functools import cached_property

__all__ = [
    "CAUSES",
    "Field",
    "FieldTable",
    "Origin",
    "RECORD",
    "Role",
    "SEXES",
    "STATUSES",
    "STATUS_GRAVITY",
    "record_table",
]

SEXES = ("male", "female")
#: The statuses in the order people read them (tables, figures, specs).
STATUSES = ("killed", "injured", "missing", "detained")
#: The same statuses from the least to the most grave: on equal dates the graver one is the latest.
STATUS_GRAVITY = ("injured", "detained", "missing", "killed")
CAUSES = ("direct_violence", "starvation", "disease", "other", "unknown")


class Origin(enum.Enum):
    """Where a field's value comes from."""

    IMPORT = "import"    # set by the importer: provenance (list, row, file, run)
    INPUT = "input"      # read from a column of the list (a spec can map it)
    DERIVED = "derived"  # computed by ingest from the inputs (name parts, keys, ID check)


class Role(enum.Flag):
    """What a field is used for beyond being stored."""

    NONE = 0
    NAME = enum.auto()      # a name: compared by transliteration key, written right to left when Arabic
    PERSONAL = enum.auto()  # identifies a person: dropped from redacted exports
    LINK = enum.auto()      # read by linkage
    REGISTER = enum.auto()  # the register keeps each person's best value of it
    REPORT = enum.auto()    # the report's per-person table (figures, strata)


@dataclass(frozen=True)
class Field:
    """One field of the record.

    Attributes:
        name: the column name.
        sql: the DuckDB type, with constraints; None for a list column kept only in ``raw``.
        description: what it holds (the comment of the DDL).
        origin: import, input or derived.
        label: the label the review app shows; None when the app does not show it.
        hxl: the HXL hashtag of exports; None lets the export make an ``#x_`` one.
        values: the canonical values of a field with a fixed vocabulary.
        roles: what it is used for (:class:`Role`).
    """

    name: str
    sql: str | None
    description: str
    origin: Origin = Origin.INPUT
    label: str | None = None
    hxl: str | None = None
    values: tuple[str, ...] = ()
    roles: Role = Role.NONE

    @property
    def is_date(self) -> bool:
        """Whether the field holds a date."""
        return self.sql is not None and self.sql.split()[0] == "DATE"

    def column_sql(self) -> str:
        """The field's column in a CREATE or ALTER TABLE statement (without its comment)."""
        if self.sql is None:
            raise ValueError(f"{self.name} is not a stored column")
        name = f'"{self.name}"' if self.name in _RESERVED else self.name
        return f"{name} {self.sql}"


_RESERVED = frozenset({"row", "at"})
_I, _D, _P = Origin.INPUT, Origin.DERIVED, Origin.IMPORT
_NAME, _PERSONAL, _LINK, _REG, _REP = Role.NAME, Role.PERSONAL, Role.LINK, Role.REGISTER, Role.REPORT
_PART = _NAME | _PERSONAL | _LINK | _REG


@dataclass(frozen=True)
class FieldTable:
    """The record's fields in column order, with the views the stages read.

    Example:
        >>> t = FieldTable((Field("a", "VARCHAR", "one"), Field("b", "DATE", "two", label="B")))
        >>> t.columns, t.dates, t.shown
        (('a', 'b'), ('b',), (('B', 'b'),))
    """

    fields: tuple[Field, ...]

    def __post_init__(self) -> None:
        names = [f.name for f in self.fields]
        doubled = sorted({n for n in names if names.count(n) > 1})
        if doubled:
            raise ValueError(f"fields named twice: {', '.join(doubled)}")

    def field(self, name: str) -> Field:
        """The field called ``name``.

        Raises:
            KeyError: no such field.
        """
        for fld in self.fields:
            if fld.name == name:
                return fld
        raise KeyError(name)

    def add(self, fld: Field) -> FieldTable:
        """A copy of the table with ``fld`` appended (what one more line in :data:`RECORD` makes)."""
        return replace(self, fields=(*self.fields, fld))

    def with_role(self, role: Role) -> tuple[str, ...]:
        """Names of the stored fields that play ``role``, in column order."""
        return tuple(f.name for f in self.fields if f.sql is not None and role in f.roles)

    @cached_property
    def columns(self) -> tuple[str, ...]:
        """Every column of ``uc_records``, in order."""
        return tuple(f.name for f in self.fields if f.sql is not None)

    @cached_property
    def inputs(self) -> tuple[str, ...]:
        """The canonical fields a list's column can be mapped to (an import spec's ``[columns]``)."""
        return tuple(f.name for f in self.fields if f.origin is Origin.INPUT)

    @cached_property
    def built(self) -> tuple[str, ...]:
        """The columns ingest builds from a list's cells (inputs and derived fields that are stored)."""
        return tuple(f.name for f in self.fields if f.sql is not None and f.origin is not Origin.IMPORT)

    @cached_property
    def dates(self) -> tuple[str, ...]:
        """The columns holding dates."""
        return tuple(f.name for f in self.fields if f.is_date)

    @cached_property
    def choices(self) -> dict[str, tuple[str, ...]]:
        """Field -> its canonical values, for the fields with a fixed vocabulary."""
        return {f.name: f.values for f in self.fields if f.values}

    @cached_property
    def shown(self) -> tuple[tuple[str, str], ...]:
        """(label, column) of the fields the review app shows, in order."""
        return tuple((f.label, f.name) for f in self.fields if f.label is not None and f.sql is not None)

    @cached_property
    def hxl(self) -> dict[str, str]:
        """Column -> HXL hashtag, for the fields that have one."""
        return {f.name: f.hxl for f in self.fields if f.hxl is not None and f.sql is not None}

    @cached_property
    def personal(self) -> frozenset[str]:
        """The columns that identify a person."""
        return frozenset(self.with_role(Role.PERSONAL))

    def ddl(self) -> str:
        """CREATE TABLE IF NOT EXISTS uc_records, one commented line per column."""
        stored = [f for f in self.fields if f.sql is not None]
        lines = []
        for i, fld in enumerate(stored):
            comma = "," if i < len(stored) - 1 else ""
            lines.append(f"    {fld.column_sql()}{comma} -- {fld.description}")
        body = "\n".join(lines)
        return (
            "-- One row per row of an imported list (generated from undercount.store.fields.RECORD).\n"
            f"CREATE SEQUENCE IF NOT EXISTS uc_record_seq START 1;\n"
            f"CREATE TABLE IF NOT EXISTS uc_records (\n{body}\n);\n"
        )


#: The record's fields, in the column order of ``uc_records``.
RECORD = FieldTable((
    Field("record_id", "BIGINT PRIMARY KEY", "unique within the case, assigned at import", _P,
          hxl="#meta+record+id", roles=_LINK),
    Field("source", "VARCHAR NOT NULL", "list name", _P, label="List", hxl="#meta+source", roles=_LINK),
    Field("row", "INTEGER NOT NULL", "1-based data-row number, header not counted", _P, label="Row", hxl="#meta+row"),
    Field("file_hash", "VARCHAR NOT NULL", "sha256 of the list's file", _P),
    Field("raw", "JSON", "the row as read, header -> text", _P, roles=_PERSONAL),
    Field("full_name", "VARCHAR", "the name as written (stripped)", _I, label="Full name",
          hxl="#x_victim+name", roles=_NAME | _PERSONAL | _REG),
    Field("full_name_en", None, "a second, English name column (kept in raw)", _I),
    Field("given", "VARCHAR", "given name, normalised", _I, label="Given", hxl="#x_victim+name+given", roles=_PART),
    Field("father", "VARCHAR", "father's name, normalised", _I, label="Father", hxl="#x_victim+name+father",
          roles=_PART),
    Field("grandfather", "VARCHAR", "grandfather's name, normalised", _I, label="Grandfather",
          hxl="#x_victim+name+grandfather", roles=_PART),
    Field("family", "VARCHAR", "family name, normalised", _I, label="Family", hxl="#x_victim+name+family",
          roles=_PART),
    Field("script", "VARCHAR", "arabic | latin | hebrew | mixed", _D, hxl="#x_victim+name+script", roles=_LINK),
    Field("name_norm", "VARCHAR", "normalised full name (same script)", _D, hxl="#x_victim+name+normalised",
          roles=_PERSONAL),
    Field("name_key", "VARCHAR", "transliteration key, comparable across scripts", _D, hxl="#x_victim+name+key",
          roles=_PERSONAL | _LINK),
    Field("id_number", "VARCHAR", "digits only, as given (9 digits zero-padded when numeric)", _I,
          label="ID number", hxl="#x_victim+id", roles=_PERSONAL | _LINK | _REG),
    Field("id_valid", "BOOLEAN", "Luhn check passes (null when no ID)", _D, label="ID valid",
          hxl="#x_victim+id+valid", roles=_LINK),
    Field("sex", "VARCHAR", "male | female", _I, label="Sex", hxl="#gender", values=SEXES,
          roles=_LINK | _REG | _REP),
    Field("age", "INTEGER", "years at event", _I, label="Age", hxl="#age", roles=_LINK | _REG | _REP),
    Field("date_of_birth", "DATE", "date of birth", _I, label="Date of birth", hxl="#date+birth",
          roles=_PERSONAL | _LINK | _REG),
    Field("event_date", "DATE", "death, injury, disappearance or detention", _I, label="Event date",
          hxl="#date+occurred", roles=_LINK | _REG | _REP),
    Field("place", "VARCHAR", "place of the event (canonical where the gazetteer knows it)", _I, label="Place",
          hxl="#adm1+name", roles=_LINK | _REG | _REP),
    Field("status", "VARCHAR", " | ".join(STATUSES), _I, label="Status", hxl="#status+name", values=STATUSES,
          roles=_REP),
    Field("cause", "VARCHAR", " | ".join(CAUSES), _I, label="Cause", hxl="#cause+name", values=CAUSES, roles=_REP),
    Field("reported_date", "DATE", "date the list reported it", _I, label="Reported", hxl="#date+reported"),
    Field("flags", "VARCHAR[]", "validation flags, e.g. ['invalid_id','age_range']", _P),
    Field("run_id", "VARCHAR NOT NULL", "the import run", _P),
    # Added by later schema versions: appended, so that a migrated case has the columns of a new one.
    Field("incident_ref", "VARCHAR", "the incident's code as the list gives it (e.g. a casualty recorder's)", _I,
          label="Incident", hxl="#event+id"),
))


def record_table() -> FieldTable:
    """The field table in force (:data:`RECORD`; a test may put an extended copy in its place)."""
    return RECORD
