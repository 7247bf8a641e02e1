"""In-memory DuckDB connections for the preparation steps, held to a memory limit."""

from __future__ import annotations

import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

__all__ = ["scratch_connection", "SCRATCH_MEMORY_LIMIT"]

#: DuckDB's memory limit in the preparation steps (blocking keys, lineage rates): beyond it they
#: spill to a temporary folder. Without a limit DuckDB takes up to 80% of the machine's memory, and
#: the million-record run kept what it took for the scoring that follows.
SCRATCH_MEMORY_LIMIT = "2GB"


@contextmanager
def scratch_connection(memory_limit: str | None = SCRATCH_MEMORY_LIMIT) -> Iterator[Any]:
    """An in-memory DuckDB connection for one step of preparation, held to ``memory_limit``.

    Beyond the limit it spills to a temporary folder (removed on exit), never to the current
    folder. Results do not depend on the limit.

    Example:
        >>> with scratch_connection("100MB") as con:
        ...     con.execute("SELECT 42").fetchall()
        [(42,)]
    """
    import duckdb

    with tempfile.TemporaryDirectory(prefix="undercount-scratch-") as folder:
        con = duckdb.connect()
        try:
            con.execute(f"SET temp_directory = '{folder}'")
            if memory_limit:
                con.execute(f"SET memory_limit = '{memory_limit}'")
            yield con
        finally:
            con.close()
