"""Plain rows and pages: what the review functions hand to the app and the command line."""

from __future__ import annotations

import json
import math
import sys
from dataclasses import dataclass
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from undercount.store.runs import Reader

if TYPE_CHECKING:  # a frame passed in means pandas is loaded; plain rows from Reader.rows never need it
    import pandas as pd

__all__ = ["PAGE_SIZE", "Page", "count", "evidence", "plain", "plain_rows"]

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


def plain(value: Any) -> Any:
    """A cell as plain Python: lists for arrays, None for missing values, floats for decimals.

    numpy and pandas values are recognised only when those libraries are loaded (a value of theirs
    cannot exist otherwise), so rows read without pandas stay without it.

    Example:
        >>> plain([1, float("nan"), Decimal("0.5")])
        [1, None, 0.5]
    """
    if value is None:
        return None
    if isinstance(value, (list, tuple)):
        return [plain(v) for v in value]
    if isinstance(value, float):
        return None if math.isnan(value) else value
    if isinstance(value, Decimal):
        return float(value)
    np, pd = sys.modules.get("numpy"), sys.modules.get("pandas")
    if np is not None and isinstance(value, np.ndarray):
        return [plain(v) for v in value.tolist()]
    if pd is not None and value is pd.NaT:
        return None
    if pd is not None and isinstance(value, pd.Timestamp):
        return value.to_pydatetime()
    if np is not None and isinstance(value, np.generic):
        return plain(value.item())
    return value


def plain_rows(df: pd.DataFrame) -> list[dict[str, Any]]:
    """A DataFrame as a list of plain dicts (None for missing values, lists for arrays).

    Example:
        >>> import pandas as pd
        >>> plain_rows(pd.DataFrame({"a": [1, None]}))
        [{'a': 1.0}, {'a': None}]
    """
    return [{str(k): plain(v) for k, v in row.items()} for row in df.to_dict(orient="records")]


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
    return int(reader.rows(f"SELECT count(*) AS n FROM ({sql})", params)[0]["n"])
