"""Record linkage: one person, one cluster, across and within lists.

Comparisons and blocking rules are plain descriptions (``comparisons``, ``blocking``), turned
into Splink settings by ``model`` and run on DuckDB or Spark (``backends``). ``clusters`` holds
the pure clustering function with its chaining guard, ``register`` the one-row-per-person view,
``evaluate`` the scores against a truth.
"""

from undercount.link.clusters import attachment_probability, cluster_records
from undercount.link.evaluate import EvaluationResult, evaluate_links, score_clusters
from undercount.link.model import LinkOptions
from undercount.link.register import build_register
from undercount.link.run import DEFAULT_THRESHOLD, LinkResult, export_clusters, link_case, recluster

__all__ = [
    "DEFAULT_THRESHOLD",
    "EvaluationResult",
    "LinkOptions",
    "LinkResult",
    "attachment_probability",
    "build_register",
    "cluster_records",
    "evaluate_links",
    "export_clusters",
    "link_case",
    "recluster",
    "score_clusters",
]
