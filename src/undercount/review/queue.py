"""The review queue: the candidate pairs where a person's decision matters most, and one pair.

Every function reads through a :class:`~undercount.store.runs.Reader` (a case, or the review
app's shared connection), so the app and the command line ask the same questions.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from undercount.errors import LinkError
from undercount.review.listing import evidence, plain, plain_rows
from undercount.review.outlook import LinkageOutlook, estimate_for_outlook, outlook
from undercount.store.runs import CLUSTER_KINDS, NEWEST_DECISIONS, Reader, link_model, newest_run

__all__ = ["ReviewQueue", "candidate_pair", "cluster_run", "link_run", "pairs_among", "review_band", "review_queue", "waiting_pairs"]

DEFAULT_THRESHOLD = 0.5  # the threshold of a link run that stored no model


def _not_linked(case_path: Path | str | None) -> LinkError:
    where = f" {case_path}" if case_path is not None else " CASE"
    return LinkError(f"the case has not been linked yet: run 'undercount link{where}'")


def cluster_run(reader: Reader, *, case_path: Path | str | None = None) -> str:
    """The run whose clusters are current (link or re-cluster).

    Raises:
        LinkError: the case has not been linked.
    """
    run = newest_run(reader, CLUSTER_KINDS)
    if run is None:
        raise _not_linked(case_path)
    return run


def link_run(reader: Reader, *, case_path: Path | str | None = None) -> tuple[str, float]:
    """The current link run and its threshold.

    Raises:
        LinkError: the case has not been linked.
    """
    run = newest_run(reader, ("link",))
    if run is None:
        raise _not_linked(case_path)
    threshold = link_model(reader, run)[1]
    return run, DEFAULT_THRESHOLD if threshold is None else threshold


def review_band(threshold: float) -> tuple[float, float]:
    """The probabilities of links still worth a person's review: halfway to 0 and to 1 from the threshold.

    Example:
        >>> review_band(0.5)
        (0.25, 0.75)
    """
    return threshold / 2.0, (1.0 + threshold) / 2.0


@dataclass(frozen=True)
class ReviewQueue:
    """The first pairs of the queue, how many pairs wait, and progress against the pairs that matter.

    A pair *matters* when its two records come from different lists (a decision moves a person
    between a one-list cell and an overlap of the capture histories, where the estimate lives)
    and its probability lies in the review band (:func:`review_band`).

    Attributes:
        pairs: the first pairs, best first; each with ``score``, ``matters``, ``cross_list``.
        waiting: undecided pairs (skipped ones included).
        threshold: the link run's threshold.
        matters: pairs that matter, decided or not.
        matters_decided: of those, pairs with a standing same/different decision.
        expected_errors: among the undecided pairs that matter, the expected number whose current
            clustering is wrong (the sum of the probability that they are the same person for
            pairs now apart, and that they are not for pairs now together).
        third: open pairs on which two reviewers disagreed (blind double review), waiting for a
            third decision.
        outlook: what deciding the pairs that matter would do to the estimate's linkage share
            (:mod:`undercount.review.outlook`); None without an estimate pooled over linkages.
    """

    pairs: list[dict[str, Any]]
    waiting: int
    threshold: float
    matters: int = 0
    matters_decided: int = 0
    expected_errors: float = 0.0
    third: int = 0
    outlook: LinkageOutlook | None = None

    @property
    def progress(self) -> str:
        """'12 of 47 pairs that move the estimate decided; the estimate's linkage share would fall from 26% to
        about 9%' (without an estimate: the wrong links expected among the rest)."""
        text = f"{self.matters_decided:,} of {self.matters:,} pairs that move the estimate decided"
        if self.matters > self.matters_decided and self.outlook is not None:
            text += "; deciding the rest, " + self.outlook.sentence()
        elif self.matters > self.matters_decided:
            text += f"; about {self.expected_errors:,.1f} wrong link(s) expected among the rest"
        return text


# One row per candidate pair of the link run: its clusters, lists, decisions and score.
# uncertainty is 1 at the threshold and 0 at 0 or 1; effect is how many records the decision
# can move; a cross-list pair counts twice (it moves a person into or out of an overlap).
# A pair under blind double review (the plan's share of pairs, chosen by a fixed function of
# the record ids and the plan's seed) is resolved when two reviewers agree, or when a third
# decided after two disagreed; it stays open to every reviewer who has not decided it.
#: The newest same/different decision of each reviewer on each pair.
REVIEWER_DECISIONS = (
    "SELECT * EXCLUDE (rn) FROM (SELECT record_id_l, record_id_r, username, decision, decision_id, "
    "row_number() OVER (PARTITION BY record_id_l, record_id_r, username ORDER BY decision_id DESC) AS rn "
    "FROM uc_decisions WHERE decision <> 'skip') WHERE rn = 1"
)
#: The double-review plan in force: (share, seed); (0, 0) when none was set.
PLAN_SQL = (
    "SELECT coalesce((SELECT double_share FROM uc_review_plan ORDER BY set_at DESC LIMIT 1), 0.0) AS share, "
    "coalesce((SELECT seed FROM uc_review_plan ORDER BY set_at DESC LIMIT 1), 0) AS seed"
)
#: True for a pair of the double-review share (``p`` holds record_id_l/_r, ``plan`` share/seed).
DOUBLE_SQL = "(plan.share > 0 AND ((p.record_id_l * 7919 + p.record_id_r * 104729 + plan.seed) % 10000) < plan.share * 10000)"
#: Per pair: how many reviewers decided it, how many different decisions, and whether the asking
#: reviewer (the parameter; NULL for anyone) is among them.
_DECIDERS = (
    "SELECT record_id_l, record_id_r, count(*) AS deciders, count(DISTINCT decision) AS kinds, "
    f"coalesce(bool_or(username = ?), false) AS mine FROM ({REVIEWER_DECISIONS}) GROUP BY record_id_l, record_id_r"
)
#: A pair is resolved by a standing same/different decision; a pair of the double-review share when two
#: reviewers agree, or a third decided after two disagreed (``double``, ``deciders``, ``kinds``, ``decision``).
_RESOLVED = ("CASE WHEN double THEN deciders >= 2 AND (kinds = 1 OR deciders >= 3) "
             "ELSE coalesce(decision IN ('same', 'different'), false) END")
_PAIRS_SQL = (
    "WITH cl AS (SELECT record_id, person_id FROM uc_clusters WHERE run_id = ?), "
    "sz AS (SELECT person_id, count(*) AS n FROM cl GROUP BY person_id), "
    f"plan AS ({PLAN_SQL}), "
    f"dec AS ({_DECIDERS}), "
    "pr AS (SELECT p.record_id_l, p.record_id_r, p.probability, p.match_weight, "
    "abs(p.probability - ?) AS distance, "
    "cl_l.person_id IS NOT DISTINCT FROM cl_r.person_id AND cl_l.person_id IS NOT NULL AS together, "
    "CASE WHEN cl_l.person_id = cl_r.person_id THEN coalesce(sz_l.n, 1) "
    "ELSE coalesce(sz_l.n, 1) + coalesce(sz_r.n, 1) END AS effect, "
    "r_l.source <> r_r.source AS cross_list, d.decision, d.decision_id, "
    f"{DOUBLE_SQL} AS double, coalesce(dec.deciders, 0) AS deciders, coalesce(dec.kinds, 0) AS kinds, "
    "coalesce(dec.mine, false) AS mine, "
    "cl_l.person_id AS person_l, cl_r.person_id AS person_r FROM uc_pairs p CROSS JOIN plan "
    "LEFT JOIN cl cl_l ON cl_l.record_id = p.record_id_l "
    "LEFT JOIN cl cl_r ON cl_r.record_id = p.record_id_r "
    "LEFT JOIN sz sz_l ON sz_l.person_id = cl_l.person_id "
    "LEFT JOIN sz sz_r ON sz_r.person_id = cl_r.person_id "
    "LEFT JOIN uc_records r_l ON r_l.record_id = p.record_id_l "
    "LEFT JOIN uc_records r_r ON r_r.record_id = p.record_id_r "
    f"LEFT JOIN ({NEWEST_DECISIONS}) d USING (record_id_l, record_id_r) "
    "LEFT JOIN dec USING (record_id_l, record_id_r) "
    "WHERE p.run_id = ?), "
    f"res AS (SELECT *, {_RESOLVED} AS resolved, "
    "double AND deciders = 2 AND kinds = 2 AS third FROM pr), "
    "scored AS (SELECT *, coalesce(cross_list, false) AND probability BETWEEN ? AND ? AS matters, "
    "greatest(0.0, 1 - distance / ?) * effect * CASE WHEN cross_list THEN 2 ELSE 1 END AS score, "
    "CASE WHEN together THEN 1 - probability ELSE probability END AS wrong, "
    "probability * (1 - probability) * CASE WHEN cross_list THEN 2 ELSE 1 END AS unc, "
    "NOT resolved AND NOT (double AND mine) AS open FROM res) "
)
_QUEUE_COLUMNS = (
    "record_id_l, record_id_r, probability, match_weight, distance, effect, score, matters, "
    "coalesce(cross_list, false) AS cross_list, coalesce(decision = 'skip', false) AS skipped, double, third, "
    "person_l, person_r"
)
_ORDER = "skipped, third DESC, matters DESC, score DESC, distance, record_id_l, record_id_r"
# The progress counts and the first pairs in one pass over the candidate pairs.
_QUEUE_SQL = (
    _PAIRS_SQL + ", agg AS (SELECT count(*) FILTER (WHERE open) AS waiting, "
    "count(*) FILTER (WHERE matters) AS n_matters, "
    "count(*) FILTER (WHERE matters AND resolved) AS n_decided, "
    "coalesce(sum(wrong) FILTER (WHERE matters AND NOT resolved), 0) AS wrong, "
    "count(*) FILTER (WHERE open AND third) AS n_third, "
    "coalesce(sum(unc) FILTER (WHERE NOT resolved), 0) AS unc_open, "
    "coalesce(sum(unc) FILTER (WHERE matters AND NOT resolved), 0) AS unc_matters, "
    "coalesce(sum(unc) FILTER (WHERE resolved AND decision_id > ?), 0) AS unc_since FROM scored), "
    f"top AS (SELECT {_QUEUE_COLUMNS} FROM scored WHERE open ORDER BY {_ORDER} LIMIT ?) "
    "SELECT agg.*, top.* FROM agg LEFT JOIN top ON true ORDER BY "
    + ", ".join(f"top.{c}" for c in _ORDER.split(", "))
)
_N_AGG = 8


# The undecided pairs alone (the queue's ``waiting`` for anyone): the candidate pairs and their
# decisions, without the clusters, records and scores the queue's order needs.
_WAITING_SQL = (
    f"WITH plan AS ({PLAN_SQL}), dec AS ({_DECIDERS}), "
    f"pr AS (SELECT d.decision, {DOUBLE_SQL} AS double, coalesce(dec.deciders, 0) AS deciders, "
    "coalesce(dec.kinds, 0) AS kinds FROM uc_pairs p CROSS JOIN plan "
    f"LEFT JOIN ({NEWEST_DECISIONS}) d USING (record_id_l, record_id_r) "
    "LEFT JOIN dec USING (record_id_l, record_id_r) WHERE p.run_id = ?) "
    f"SELECT count(*) FILTER (WHERE NOT ({_RESOLVED})) AS waiting FROM pr"
)


def waiting_pairs(reader: Reader, *, case_path: Path | str | None = None) -> int:
    """How many candidate pairs of the current link run wait for a decision: ``review_queue(reader).waiting``
    for anyone, in one pass over the pairs and their decisions (``undercount status`` asks only this).

    Raises:
        LinkError: the case has not been linked.
    """
    link, _ = link_run(reader, case_path=case_path)
    return int(reader.rows(_WAITING_SQL, [None, link])[0]["waiting"])


def review_queue(reader: Reader, *, limit: int = 20, case_path: Path | str | None = None,
                 username: str | None = None) -> ReviewQueue:
    """Undecided pairs of the current link run, those that move the estimate most first.

    The order: pairs never skipped before skipped ones; pairs that matter (two lists, inside
    the review band) first; then by score, the pair's uncertainty (1 at the threshold, 0 at 0
    or 1) times the records its decision can move (the two persons' sizes), doubled for a pair
    across lists; then nearest the threshold. With :class:`ReviewQueue`'s progress counts.
    Under blind double review (:func:`undercount.review.double.set_double_review`), disagreements
    waiting for a third decision come first, and a pair of the share stays open until two
    reviewers have decided it (for ``username``: until they have).

    Args:
        reader: the case.
        limit: how many pairs to return.
        case_path: the case folder, for messages.
        username: the reviewer asking (pairs of the double-review share they decided leave
            their queue); None for anyone.

    Raises:
        LinkError: the case has not been linked.
    """
    link, threshold = link_run(reader, case_path=case_path)
    low, high = review_band(threshold)
    estimate = estimate_for_outlook(reader)
    params: list[Any] = [cluster_run(reader, case_path=case_path), username, threshold, link, low, high,
                         max(threshold, 1 - threshold), -1 if estimate is None else estimate[3], max(0, limit)]
    found = reader.rows(_QUEUE_SQL, params)
    head = found[0]
    columns = list(head)[_N_AGG:]
    rows = [{c: plain(r[c]) for c in columns} for r in found if r["record_id_l"] is not None]
    ahead = outlook(estimate, float(head["unc_open"]), float(head["unc_matters"]), float(head["unc_since"]))
    return ReviewQueue(rows, int(head["waiting"]), threshold, int(head["n_matters"]), int(head["n_decided"]),
                       float(head["wrong"]), int(head["n_third"]), ahead)


def candidate_pair(reader: Reader, record_id_l: int, record_id_r: int, *,
                   case_path: Path | str | None = None) -> dict[str, Any] | None:
    """Two records, their link evidence and the decisions taken on them.

    Returns:
        None when the two are not a candidate pair of the current link run.

    Raises:
        LinkError: the case has not been linked.
    """
    link, threshold = link_run(reader, case_path=case_path)
    lo, hi = sorted((record_id_l, record_id_r))
    pairs = reader.query(
        "SELECT * FROM uc_pairs WHERE run_id = ? AND record_id_l = ? AND record_id_r = ?", [link, lo, hi]
    )
    if pairs.empty:
        return None
    records = reader.query(
        "SELECT r.*, c.person_id FROM uc_records r LEFT JOIN (SELECT record_id, person_id FROM uc_clusters "
        "WHERE run_id = ? AND record_id IN (?, ?)) c ON c.record_id = r.record_id WHERE r.record_id IN (?, ?) "
        "ORDER BY r.record_id",
        [cluster_run(reader, case_path=case_path), lo, hi, lo, hi],
    )
    history = reader.query(
        "SELECT decision, username, decided_at, note FROM uc_decisions WHERE record_id_l = ? AND record_id_r = ? "
        "ORDER BY decision_id DESC",
        [lo, hi],
    )
    row = plain_rows(pairs)[0]
    return {
        "record_id_l": lo,
        "record_id_r": hi,
        "probability": row["probability"],
        "match_weight": row["match_weight"],
        "evidence": evidence(row["evidence"]),
        "records": plain_rows(records),
        "history": plain_rows(history),
        "threshold": threshold,
        "link_run": link,
    }


def pairs_among(reader: Reader, record_ids: list[int]) -> list[dict[str, Any]]:
    """Pairs of the current link run within ``record_ids``, with evidence and decision."""
    link = newest_run(reader, ("link",))
    if link is None:
        return []
    df = reader.query(
        "SELECT p.record_id_l, p.record_id_r, p.probability, p.match_weight, p.evidence, "
        "d.decision, d.username AS decided_by, d.decided_at FROM uc_pairs p "
        f"LEFT JOIN ({NEWEST_DECISIONS}) d USING (record_id_l, record_id_r) "
        "WHERE p.run_id = ? AND p.record_id_l IN (SELECT unnest(?)) AND p.record_id_r IN (SELECT unnest(?)) "
        "ORDER BY p.probability DESC",
        [link, record_ids, record_ids],
    )
    rows = plain_rows(df)
    for row in rows:
        row["evidence"] = evidence(row["evidence"])
    return rows
