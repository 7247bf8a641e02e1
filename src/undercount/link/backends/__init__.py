"""Engines behind one interface: DuckDB (default, in-process) and Spark (loaded only when asked).

A backend gives Splink its database API, registers the linkage table, and hands back Splink's
scored pairs as a pandas DataFrame.
"""

from __future__ import annotations

from typing import Any, Protocol

import pandas as pd

from undercount.errors import ConfigError

__all__ = ["Backend", "get_backend", "ENGINES"]

ENGINES: tuple[str, ...] = ("duckdb", "spark")


class Backend(Protocol):
    """What the linkage needs from an engine."""

    name: str
    dialect: str

    def db_api(self) -> Any:
        """Splink's database API for this engine."""

    def register(self, table: pd.DataFrame, name: str) -> Any:
        """Register the linkage table; returns a SplinkDataFrame."""

    def to_pandas(self, splink_df: Any, sql_select: str) -> pd.DataFrame:
        """Run ``SELECT <sql_select> FROM <splink_df>`` and return pandas."""

    def close(self) -> None:
        """Release the engine's resources."""


def get_backend(engine: str, **options: Any) -> Backend:
    """The backend for an engine name ('duckdb' or 'spark').

    Raises:
        ConfigError: unknown engine.
    """
    if engine == "duckdb":
        from undercount.link.backends.duckdb import DuckDBBackend

        return DuckDBBackend(**options)
    if engine == "spark":
        from undercount.link.backends.spark import SparkBackend

        return SparkBackend(**options)
    raise ConfigError(f"unknown linkage engine {engine!r}: use one of {', '.join(ENGINES)}")
