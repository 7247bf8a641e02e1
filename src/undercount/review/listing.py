"""Plain rows and pages: what the review functions hand to the app and the command line."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from undercount.store.runs import Reader

__all__ = ["PAGE_SIZE", "Page", "count", "evidence", "plain_rows"]

PAGE_SIZE = 50


@dataclass(frozen=True)
class Page:
    """One page of a longer listing."""

    rows: list[dict[str, Any]]
    total: int
    page: int
    size: int = PAGE_SIZE

    @property
    def pages(self) -> int:
        """How many pages the listing has (at least one)."""
        return max(1, -(-self.total // self.size))


def _plain(value: Any) -> Any:
    """A cell as plain Python: lists for DuckDB arrays, None for missing values."""
    if isinstance(value, np.ndarray):
        return [_plain(v) for v in value.tolist()]
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    # pandas-stubs types isna's scalars as numbers and dates only; at run time it takes any numpy scalar.
    if value is None or value is pd.NaT or (np.isscalar(value) and pd.isna(value)):  # type: ignore[arg-type]
        return None
    if isinstance(value, pd.Timestamp):
        return value.to_pydatetime()
    if isinstance(value, np.generic):
        return value.item()
    return value


def plain_rows(df: pd.DataFrame) -> list[dict[str, Any]]:
    """A DataFrame as a list of plain dicts (None for missing values, lists for arrays).

    Example:
        >>> plain_rows(pd.DataFrame({"a": [1, None]}))
        [{'a': 1.0}, {'a': None}]
    """
    return [{str(k): _plain(v) for k, v in row.items()} for row in df.to_dict(orient="records")]


def evidence(text: Any) -> list[dict[str, Any]]:
    """The per-comparison evidence of a pair as a list of {name, level, weight}.

    Example:
        >>> evidence('{"age": {"level": "same age", "weight": 1.5}}')
        [{'name': 'age', 'level': 'same age', 'weight': 1.5}]
    """
    if not text:
        return []
    data = json.loads(text) if isinstance(text, str) else text
    items = []
    for name, value in data.items():
        value = value if isinstance(value, dict) else {"level": value}
        items.append({"name": name, "level": value.get("level"), "weight": value.get("weight")})
    return items


def count(reader: Reader, sql: str, params: list[Any] | None = None) -> int:
    """How many rows ``sql`` returns."""
    return int(reader.query(f"SELECT count(*) AS n FROM ({sql})", params)["n"].iloc[0])
