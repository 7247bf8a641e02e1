"""The DuckDB engine: an in-process database that spills to a temporary folder when needed."""

from __future__ import annotations

import os
import tempfile
from typing import Any

import duckdb
import numpy as np
import pandas as pd
import pyarrow as pa

__all__ = ["DuckDBBackend", "arrow_table"]

# Rows per batch when scored pairs are read into pandas (see DuckDBBackend.to_pandas).
_BATCH_ROWS = 1_000_000


def arrow_table(table: pd.DataFrame) -> pa.Table:
    """The linkage table as Arrow, with the type of every column stated, not sampled.

    DuckDB types a pandas object column from its first rows: a list column whose first rows hold
    only empty lists became a list of NULL, and the first later list of names failed to cast
    ("Unimplemented type for cast (VARCHAR -> NULL)"). Arrow looks at the whole column; list
    columns are lists of strings, and a column with no value at all is text.
    """
    from undercount.link.prepare import LIST_COLUMNS

    arrays: dict[str, pa.Array] = {}
    for column in table.columns:
        values = table[column]
        if column in LIST_COLUMNS and isinstance(values.dtype, pd.ArrowDtype):  # held as Arrow already (the rare keys)
            arrays[column] = pa.Array.from_pandas(values).cast(pa.list_(pa.string()))
        elif column in LIST_COLUMNS:
            items = [list(v) if isinstance(v, (list, tuple, np.ndarray)) else None for v in values]
            arrays[column] = pa.array(items, type=pa.list_(pa.string()))
        elif values.dtype == object and values.isna().all():
            arrays[column] = pa.array([None] * len(values), type=pa.string())
        else:
            arrays[column] = pa.Array.from_pandas(values)
    return pa.table(arrays)


class DuckDBBackend:
    """Splink on an in-memory DuckDB connection.

    Args:
        threads: worker threads (default: the machine's CPU count).
        memory_limit: DuckDB's memory limit, e.g. '6GB' (default: DuckDB's own).
    """

    name = "duckdb"
    dialect = "duckdb"

    def __init__(self, *, threads: int | None = None, memory_limit: str | None = None) -> None:
        self._tmp = tempfile.TemporaryDirectory(prefix="undercount-link-")
        self.con = duckdb.connect()
        self.con.execute(f"SET threads = {int(threads or os.cpu_count() or 1)}")
        self.con.execute(f"SET temp_directory = '{self._tmp.name}'")
        self.con.execute("SET preserve_insertion_order = false")
        if memory_limit:
            self.con.execute(f"SET memory_limit = '{memory_limit}'")
        self._api: Any = None

    def db_api(self) -> Any:
        """Splink's DuckDBAPI on this connection."""
        if self._api is None:
            from undercount.link.splink_compat import duckdb_api

            self._api = duckdb_api(self.con)
        return self._api

    def register(self, table: pd.DataFrame, name: str) -> Any:
        """Register the linkage table with Splink."""
        self.con.register(f"{name}_arrow", arrow_table(table))
        self.con.execute(f"CREATE OR REPLACE TABLE {name} AS SELECT * FROM {name}_arrow")
        self.con.unregister(f"{name}_arrow")
        return self.db_api().register(name, dataset_display_name=name)

    def to_pandas(self, splink_df: Any, sql_select: str) -> pd.DataFrame:
        """Select from a Splink table into pandas, streamed in batches into columns sized once.

        A million records score tens of millions of pairs: fetching the whole result at once held
        it twice (DuckDB's materialised result and the frame).
        """
        table = splink_df.physical_name
        rows = int(self.con.execute(f"SELECT count(*) FROM {table}").fetchall()[0][0])
        reader = self.con.sql(f"SELECT {sql_select} FROM {table}").to_arrow_reader(_BATCH_ROWS)
        columns: dict[str, np.ndarray] = {}
        at = 0
        for batch in reader:
            if at + batch.num_rows > rows:  # the table cannot grow while we read it; be safe all the same
                raise RuntimeError(f"{table} holds more rows than counted")
            for name, column in zip(batch.schema.names, batch.columns):
                values = column.to_numpy(zero_copy_only=False)
                if name not in columns:
                    columns[name] = np.empty(rows, dtype=values.dtype)
                elif values.dtype != columns[name].dtype:  # a batch with NULLs in an integer column
                    columns[name] = columns[name].astype(np.result_type(columns[name].dtype, values.dtype))
                columns[name][at:at + batch.num_rows] = values
            at += batch.num_rows
        if not columns:
            return self.con.execute(f"SELECT {sql_select} FROM {table} LIMIT 0").df()
        return pd.DataFrame({name: values[:at] for name, values in columns.items()}, copy=False)

    def close(self) -> None:
        """Close the connection and remove spill files."""
        try:
            self.con.close()
        finally:
            self._tmp.cleanup()
