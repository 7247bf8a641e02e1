"""Blind double review: two reviewers decide a share of the pairs, agreement is measured, and
disagreements wait for a third decision.

The plan (``uc_review_plan``: share and seed; the newest row stands) picks pairs by a fixed
function of their record ids, so every reviewer and every run agree on which pairs are doubled.
Such a pair stays in the queue of every reviewer who has not decided it until two have; neither
sees the other's decision first (:func:`blind`). When the two disagree the pair goes to the head
of the queue for a third reviewer, whose decision, the newest, is the one that stands. Agreement
between the first two decisions on each pair is Cohen's kappa (:func:`agreement`).
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from undercount.errors import ConfigError
from undercount.review.queue import DOUBLE_SQL, PLAN_SQL, REVIEWER_DECISIONS
from undercount.store import Case
from undercount.store.case import default_username
from undercount.store.runs import Reader

__all__ = ["Agreement", "agreement", "blind", "double_plan", "set_double_review"]


def set_double_review(case: Case, share: float, *, seed: int | None = None, username: str | None = None) -> float:
    """Set the share of candidate pairs that two reviewers decide blind (0 turns it off); audited.

    Raises:
        ConfigError: the share is not between 0 and 1.
    """
    if not 0.0 <= share <= 1.0:
        raise ConfigError(f"the double-review share is between 0 and 1, not {share}")
    seed = secrets.randbelow(10_000) if seed is None else int(seed)
    user = username or default_username()
    with case.transaction() as con:
        con.execute("INSERT INTO uc_review_plan VALUES (?, ?, ?, ?)",
                    [datetime.now(UTC).replace(tzinfo=None), user, float(share), seed])
        case.log(con, action="double-review", detail={"share": share, "seed": seed}, username=user)
    return share


def double_plan(reader: Reader) -> tuple[float, int]:
    """(share, seed) of the double-review plan in force; (0.0, 0) when none was set."""
    row = reader.query(PLAN_SQL).iloc[0]
    return float(row["share"]), int(row["seed"])


def blind(reader: Reader, record_id_l: int, record_id_r: int, username: str) -> bool:
    """True when ``username`` must not see the pair's earlier decisions yet: the pair is doubled,
    not resolved, and they have not decided it."""
    lo, hi = sorted((int(record_id_l), int(record_id_r)))
    df = reader.query(
        f"WITH plan AS ({PLAN_SQL}), p AS (SELECT ?::BIGINT AS record_id_l, ?::BIGINT AS record_id_r), "
        f"nu AS (SELECT * FROM ({REVIEWER_DECISIONS}) WHERE record_id_l = ? AND record_id_r = ?) "
        f"SELECT {DOUBLE_SQL} AS double, (SELECT count(*) FROM nu) AS deciders, "
        "(SELECT count(DISTINCT decision) FROM nu) AS kinds, "
        "(SELECT count(*) FROM nu WHERE username = ?) AS mine FROM p CROSS JOIN plan",
        [lo, hi, lo, hi, username])
    row = df.iloc[0]
    resolved = int(row["deciders"]) >= 2 and (int(row["kinds"]) == 1 or int(row["deciders"]) >= 3)
    return bool(row["double"]) and not resolved and int(row["mine"]) == 0


@dataclass(frozen=True)
class Agreement:
    """Agreement of the first two reviewers on the pairs both decided (same or different).

    Attributes:
        pairs: doubled pairs decided by two reviewers or more.
        agreed: of those, pairs where the first two agreed.
        kappa: Cohen's kappa of the first two decisions (None with no pair, or when chance
            agreement is 1: both always said the same thing).
        observed: the share that agreed.
        expected: the agreement expected by chance from each position's shares of 'same'.
        third_waiting: pairs where the two disagreed and no third decision was taken yet.
        third_decided: disagreements a third reviewer decided.
        reviewers: reviewers who decided any pair.
    """

    pairs: int
    agreed: int
    kappa: float | None
    observed: float | None
    expected: float | None
    third_waiting: int
    third_decided: int
    reviewers: int

    def to_dict(self) -> dict[str, Any]:
        """The agreement as JSON-ready values."""
        return dict(self.__dict__)


def kappa(first: list[str], second: list[str]) -> tuple[float | None, float | None, float | None]:
    """(kappa, observed, expected) of two parallel lists of 'same'/'different'.

    Example:
        >>> k, po, pe = kappa(["same", "same", "different", "different"], ["same", "different", "different", "different"])
        >>> round(k, 3), po, pe
        (0.5, 0.75, 0.5)
    """
    n = len(first)
    if n == 0:
        return None, None, None
    observed = sum(a == b for a, b in zip(first, second)) / n
    p1, p2 = first.count("same") / n, second.count("same") / n
    expected = p1 * p2 + (1 - p1) * (1 - p2)
    if expected >= 1.0:
        return None, observed, expected
    return (observed - expected) / (1 - expected), observed, expected


def agreement(reader: Reader) -> Agreement:
    """Cohen's kappa of blind double review: on each doubled pair, the first decision of the first
    reviewer against the first decision of the second (the positions, not the persons, are the
    two raters, as is usual when reviewers rotate); with the disagreements' third decisions."""
    df = reader.query(
        f"WITH plan AS ({PLAN_SQL}), firsts AS (SELECT * EXCLUDE (rn) FROM (SELECT record_id_l, record_id_r, "
        "username, decision, decision_id, row_number() OVER (PARTITION BY record_id_l, record_id_r, username "
        "ORDER BY decision_id) AS rn FROM uc_decisions WHERE decision <> 'skip') WHERE rn = 1), "
        "ranked AS (SELECT *, row_number() OVER (PARTITION BY record_id_l, record_id_r ORDER BY decision_id) AS k "
        f"FROM firsts), p AS (SELECT DISTINCT record_id_l, record_id_r FROM ranked) "
        "SELECT p.record_id_l, p.record_id_r, a.decision AS first, b.decision AS second, "
        "(SELECT count(*) FROM ranked c WHERE c.record_id_l = p.record_id_l AND c.record_id_r = p.record_id_r) "
        "AS deciders, (SELECT count(DISTINCT username) FROM ranked) AS reviewers "
        "FROM p CROSS JOIN plan JOIN ranked a ON a.record_id_l = p.record_id_l AND a.record_id_r = p.record_id_r "
        "AND a.k = 1 JOIN ranked b ON b.record_id_l = p.record_id_l AND b.record_id_r = p.record_id_r AND b.k = 2 "
        f"WHERE {DOUBLE_SQL}")
    first, second = df["first"].astype(str).tolist(), df["second"].astype(str).tolist()
    k, observed, expected = kappa(first, second)
    disagree = df["first"] != df["second"]
    reviewers = int(df["reviewers"].iloc[0]) if not df.empty else 0
    return Agreement(len(df), int((~disagree).sum()), k, observed, expected,
                     int((disagree & (df["deciders"] < 3)).sum()), int((disagree & (df["deciders"] >= 3)).sum()),
                     reviewers)
