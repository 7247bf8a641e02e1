"""Schema versions: what changed in the case database, and how an older case is brought up to date.

A case stores the schema version it was made or last migrated with (``uc_meta``, key
``schema_version``; the highest row wins, rows are never updated). Opening a case whose version is
older applies every later :class:`Migration` in order, inside one transaction, records the new
version and writes an audit event; a case made by a newer undercount is refused rather than
misread. Tables that a later version adds need no migration: the schema creates missing tables on
open. A new column does: a new record field is ``Migration(N, "why", add_fields=("name",))``,
whose column is taken from the field table.

Example:
    >>> SCHEMA_VERSION >= 2
    True
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import duckdb

from undercount.errors import StoreError
from undercount.store.fields import FieldTable

__all__ = ["MIGRATIONS", "Migration", "SCHEMA_VERSION", "latest_version", "migrate", "stored_version"]


@dataclass(frozen=True)
class Migration:
    """The change that takes a case from ``version - 1`` to ``version``.

    Attributes:
        version: the schema version the case has afterwards.
        description: what changed and why (written to the audit log).
        add_fields: record fields added (their columns come from the field table).
        statements: any other SQL, run after the fields are added.
    """

    version: int
    description: str
    add_fields: tuple[str, ...] = ()
    statements: tuple[str, ...] = ()

    def sql(self, table: FieldTable) -> list[str]:
        """The statements this migration runs, given the field table in force."""
        added = [f"ALTER TABLE uc_records ADD COLUMN IF NOT EXISTS {table.field(name).column_sql()}"
                 for name in self.add_fields]
        return [*added, *self.statements]


#: Every change since version 1, oldest first.
MIGRATIONS: tuple[Migration, ...] = (
    Migration(2, "uc_runs.inputs: what a run read (cluster run, decisions), so staleness can be told",
              statements=("ALTER TABLE uc_runs ADD COLUMN IF NOT EXISTS inputs JSON",)),
    Migration(3, "uc_records.incident_ref: the code of the incident a list says the person died in",
              add_fields=("incident_ref",)),
    Migration(4, "uc_sources.compiled_by, uc_sources.description: who compiled a list and how, set at import",
              statements=("ALTER TABLE uc_sources ADD COLUMN IF NOT EXISTS compiled_by VARCHAR",
                          "ALTER TABLE uc_sources ADD COLUMN IF NOT EXISTS description VARCHAR")),
    Migration(5, "uc_missed_sample.final_probability: the sampled unstored pairs scored by the run's final model too, "
                 "the footing on which the missed-link calibration is measured",
              statements=("ALTER TABLE uc_missed_sample ADD COLUMN IF NOT EXISTS final_probability DOUBLE",)),
)


def latest_version(migrations: Sequence[Migration] | None = None) -> int:
    """The schema version a new case gets: that of the last migration (1 without any)."""
    todo = MIGRATIONS if migrations is None else migrations
    return todo[-1].version if todo else 1


SCHEMA_VERSION = latest_version()


def stored_version(con: duckdb.DuckDBPyConnection, where: str) -> int:
    """The schema version a case database holds.

    Raises:
        StoreError: the stored version is missing or not a number.
    """
    rows = con.execute("SELECT value FROM uc_meta WHERE key = 'schema_version'").fetchall()
    try:
        return max(int(str(value)) for (value,) in rows)
    except ValueError as exc:
        raise StoreError(f"{where} has no readable schema version") from exc


def migrate(con: duckdb.DuckDBPyConnection, stored: int, table: FieldTable, where: str,
            migrations: Sequence[Migration] | None = None) -> list[Migration]:
    """Apply the migrations after ``stored`` (call inside a transaction).

    Args:
        con: a connection inside a transaction.
        stored: the case's schema version.
        table: the field table in force.
        where: the case, for messages.
        migrations: the migrations to consider, oldest first (default :data:`MIGRATIONS`).

    Returns:
        The migrations applied (empty when the case is up to date).

    Raises:
        StoreError: the case was made by a newer undercount, or a migration failed (the caller's
            transaction then rolls back, leaving the case as it was).
    """
    migrations = MIGRATIONS if migrations is None else migrations
    latest = latest_version(migrations)
    if stored > latest:
        raise StoreError(f"{where} has schema version {stored}, made by a newer undercount; this one reads "
                         f"up to version {latest}: upgrade undercount")
    todo = [m for m in migrations if m.version > stored]
    for migration in todo:
        try:
            for statement in migration.sql(table):
                con.execute(statement)
        except (duckdb.Error, KeyError) as exc:
            raise StoreError(f"cannot migrate {where} to schema version {migration.version} "
                             f"({migration.description}): {exc}") from exc
    if todo:
        con.execute("INSERT INTO uc_meta (key, value) VALUES ('schema_version', ?)", [str(latest)])
    return todo
