"""Which run is current, which decisions stand, and what a run read.

The store's two questions every stage asks are answered here once: the newest complete run of
some kinds (:func:`newest_run`; the clusters are those of the newest ``link`` or ``recluster``
run) and the newest review decision on each pair (:data:`NEWEST_DECISIONS`). A run that reads
the results of others stores :class:`RunInputs` in ``uc_runs.inputs`` (schema 2), so that a later
import, link, re-cluster, decision or estimate shows its results stale.

Every function takes a :class:`Reader`: a :class:`~undercount.store.Case`, or the review app's
shared connection.
"""

from __future__ import annotations

import json
import math
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from typing import TYPE_CHECKING, Any, Protocol

if TYPE_CHECKING:  # pandas is loaded by the queries that return frames, not by this module (a fast `status`)
    import pandas as pd

__all__ = [
    "CLUSTER_KINDS",
    "NEWEST_DECISIONS",
    "Reader",
    "RunInputs",
    "cursor_rows",
    "decision_state",
    "link_model",
    "newest_run",
    "run_inputs",
]

#: Runs that write clusters: the current clusters are those of the newest of them.
CLUSTER_KINDS = ("link", "recluster")

#: The newest decision on each pair (skips included): ``uc_decisions`` columns.
NEWEST_DECISIONS = (
    "SELECT * EXCLUDE (rn) FROM (SELECT *, row_number() OVER (PARTITION BY record_id_l, "
    "record_id_r ORDER BY decision_id DESC) AS rn FROM uc_decisions) WHERE rn = 1"
)


class Reader(Protocol):
    """Anything that runs a read-only query on a case: as a DataFrame, or as plain rows."""

    def query(self, sql: str, params: Sequence[Any] | None = None) -> pd.DataFrame:
        """Run ``sql`` with ``params``."""

    def rows(self, sql: str, params: Sequence[Any] | None = None) -> list[dict[str, Any]]:
        """Run ``sql`` with ``params``: each row as a dict of plain Python values (no pandas)."""


def cursor_rows(cursor: Any) -> list[dict[str, Any]]:
    """The rows of an executed DuckDB query as dicts (column -> value), NULL as None.

    Example:
        >>> import duckdb
        >>> cursor_rows(duckdb.connect().execute("SELECT 1 AS a, NULL AS b"))
        [{'a': 1, 'b': None}]
    """
    names = [d[0] for d in cursor.description]
    return [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]


def newest_run(reader: Reader, kinds: Sequence[str]) -> str | None:
    """The newest complete run of any of ``kinds``, or None.

    Example:
        >>> import tempfile
        >>> from undercount.store import Case
        >>> newest_run(Case.init(tempfile.mkdtemp() + "/c"), CLUSTER_KINDS) is None
        True
    """
    rows = reader.rows(
        "SELECT run_id FROM uc_runs WHERE kind IN (SELECT unnest(?)) ORDER BY finished_at DESC, run_id DESC LIMIT 1",
        [list(kinds)],
    )
    return str(rows[0]["run_id"]) if rows else None


def link_model(reader: Reader, run: str) -> tuple[str | None, float | None]:
    """(engine, threshold) that link run ``run`` stored; (None, None) for a run stored without them.

    Every reader of a run's threshold (the queue, the re-cluster, the estimate's threshold rows,
    the missed-links count, the report) asks here and applies its own default.

    Example:
        >>> import tempfile
        >>> from undercount.store import Case
        >>> link_model(Case.init(tempfile.mkdtemp() + "/c"), "link-1")
        (None, None)
    """
    rows = reader.rows("SELECT engine, threshold FROM uc_link_models WHERE run_id = ? LIMIT 1", [run])
    if not rows:
        return None, None
    engine, threshold = rows[0]["engine"], rows[0]["threshold"]
    missing = threshold is None or (isinstance(threshold, float) and math.isnan(threshold))
    return None if engine is None else str(engine), None if missing else float(threshold)


def decision_state(reader: Reader) -> tuple[int, int | None]:
    """(pairs whose newest decision is same or different, the newest decision id or None)."""
    (row,) = reader.rows(
        f"SELECT (SELECT count(*) FROM ({NEWEST_DECISIONS}) WHERE decision <> 'skip') AS n, "
        "(SELECT max(decision_id) FROM uc_decisions) AS newest"
    )
    return int(row["n"]), None if row["newest"] is None else int(row["newest"])


@dataclass(frozen=True)
class RunInputs:
    """What a run read, stored with it so that its staleness can be told later.

    Attributes:
        newest_import: the newest import run when it ran (the lists it saw).
        cluster_run: the link or re-cluster run whose clusters it read (None: it read none).
        decisions: pairs with a standing same/different decision.
        newest_decision: the newest decision id (any decision, skips included).
        estimate_run: the estimate it showed (reports).
    """

    newest_import: str | None = None
    cluster_run: str | None = None
    decisions: int = 0
    newest_decision: int | None = None
    estimate_run: str | None = None

    def to_dict(self) -> dict[str, Any]:
        """The inputs as JSON-ready values."""
        return asdict(self)

    @classmethod
    def from_json(cls, value: Any) -> RunInputs | None:
        """The inputs stored with a run; None for a run made before schema 2 stored them."""
        if value is None or (isinstance(value, float) and math.isnan(value)):
            return None
        data = json.loads(value) if isinstance(value, str) else dict(value)
        known = {k: data[k] for k in cls.__dataclass_fields__ if k in data}
        return cls(**known)


def run_inputs(reader: Reader, *, estimate: bool = False) -> RunInputs:
    """What a run that starts now reads: the lists, the current clusters, the decisions.

    Args:
        reader: the case.
        estimate: also note the current estimate run (a report shows it).
    """
    decisions, newest = decision_state(reader)
    return RunInputs(
        newest_import=newest_run(reader, ("import",)),
        cluster_run=newest_run(reader, CLUSTER_KINDS),
        decisions=decisions,
        newest_decision=newest,
        estimate_run=newest_run(reader, ("estimate",)) if estimate else None,
    )
