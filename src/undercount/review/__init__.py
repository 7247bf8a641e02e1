"""Review: the people's stage between linkage and estimation.

The queue of candidate pairs where a decision matters most (``queue``), decisions with who and
when (``decisions``), re-clustering with the decisions applied and what it changed
(``recluster``), browsing the register and the audit log (``browse``), and the case's status:
what is stale and what to run next (``status``). The review app and the command line call these
functions; neither holds SQL of its own.

Example:
    >>> from undercount.review import case_status, review_queue       # doctest: +SKIP
    >>> review_queue(case, limit=5).waiting                            # doctest: +SKIP
    212
    >>> case_status(case).stale                                        # doctest: +SKIP
    ['estimate', 'report']
"""

from typing import TYPE_CHECKING

from undercount._lazy import lazy_names as _lazy_names

if TYPE_CHECKING:
    from undercount.review.browse import MAX_QUERY, audit_page, person, persons_page, recent_events, search_condition
    from undercount.review.decisions import (
        DECISIONS,
        Decision,
        check_decision,
        decide,
        decision_count,
        decision_page,
        store_decision,
    )
    from undercount.review.double import Agreement, agreement, blind, double_plan, set_double_review
    from undercount.review.listing import PAGE_SIZE, Page
    from undercount.review.queue import ReviewQueue, candidate_pair, cluster_run, link_run, pairs_among, review_queue
    from undercount.review.recluster import ReclusterSummary, compare_clusters, recluster_case
    from undercount.review.searching import SearchWaiting, search_waiting
    from undercount.review.status import CaseStatus, StageStatus, case_status

__all__ = [
    "DECISIONS",
    "MAX_QUERY",
    "PAGE_SIZE",
    "Agreement",
    "CaseStatus",
    "Decision",
    "Page",
    "ReclusterSummary",
    "ReviewQueue",
    "SearchWaiting",
    "StageStatus",
    "agreement",
    "audit_page",
    "blind",
    "double_plan",
    "candidate_pair",
    "check_decision",
    "case_status",
    "cluster_run",
    "compare_clusters",
    "decide",
    "decision_count",
    "decision_page",
    "link_run",
    "pairs_among",
    "person",
    "persons_page",
    "recent_events",
    "recluster_case",
    "review_queue",
    "search_condition",
    "search_waiting",
    "set_double_review",
    "store_decision",
]

#: Public name -> its module, imported on first use: `undercount status` loads the status and
#: the queue without the browsing pages' pandas.
_HOMES = {
    "Agreement": "undercount.review.double",
    "CaseStatus": "undercount.review.status",
    "DECISIONS": "undercount.review.decisions",
    "Decision": "undercount.review.decisions",
    "MAX_QUERY": "undercount.review.browse",
    "PAGE_SIZE": "undercount.review.listing",
    "Page": "undercount.review.listing",
    "ReclusterSummary": "undercount.review.recluster",
    "ReviewQueue": "undercount.review.queue",
    "SearchWaiting": "undercount.review.searching",
    "StageStatus": "undercount.review.status",
    "agreement": "undercount.review.double",
    "audit_page": "undercount.review.browse",
    "blind": "undercount.review.double",
    "candidate_pair": "undercount.review.queue",
    "case_status": "undercount.review.status",
    "check_decision": "undercount.review.decisions",
    "cluster_run": "undercount.review.queue",
    "compare_clusters": "undercount.review.recluster",
    "decide": "undercount.review.decisions",
    "decision_count": "undercount.review.decisions",
    "decision_page": "undercount.review.decisions",
    "double_plan": "undercount.review.double",
    "link_run": "undercount.review.queue",
    "pairs_among": "undercount.review.queue",
    "person": "undercount.review.browse",
    "persons_page": "undercount.review.browse",
    "recent_events": "undercount.review.browse",
    "recluster_case": "undercount.review.recluster",
    "review_queue": "undercount.review.queue",
    "search_condition": "undercount.review.browse",
    "search_waiting": "undercount.review.searching",
    "set_double_review": "undercount.review.double",
    "store_decision": "undercount.review.decisions",
}


__getattr__, __dir__ = _lazy_names(__name__, _HOMES, __all__)
