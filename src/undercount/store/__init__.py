"""The case store: one DuckDB file per case, append-only."""

from undercount.store.case import Case

__all__ = ["Case"]
