"""The case store: one DuckDB file per case, append-only; the record's field table; migrations."""

from undercount.store.case import Case
from undercount.store.fields import (
    CAUSES,
    SEXES,
    STATUS_GRAVITY,
    STATUSES,
    Field,
    FieldTable,
    Origin,
    Role,
    record_table,
)
from undercount.store.migrations import SCHEMA_VERSION, Migration

__all__ = [
    "CAUSES",
    "Case",
    "Field",
    "FieldTable",
    "Migration",
    "Origin",
    "Role",
    "SCHEMA_VERSION",
    "SEXES",
    "STATUSES",
    "STATUS_GRAVITY",
    "record_table",
]
