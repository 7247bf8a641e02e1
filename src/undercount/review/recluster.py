"""Re-clustering after review: apply the standing decisions, and say what changed."""

from __future__ import annotations

from dataclasses import dataclass, field

import pandas as pd

from undercount.store import Case

__all__ = ["ReclusterSummary", "compare_clusters", "recluster_case"]


@dataclass(frozen=True)
class ReclusterSummary:
    """How a re-cluster changed the persons: merged and split persons, records whose person changed."""

    run_id: str
    persons_before: int
    persons_after: int
    records_changed: int
    merged: list[str] = field(default_factory=list)
    split: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, object]:
        """The summary as JSON-ready values (person ids, no names)."""
        return {"run_id": self.run_id, "persons_before": self.persons_before, "persons_after": self.persons_after,
                "records_changed": self.records_changed, "merged": self.merged, "split": self.split}


def compare_clusters(before: pd.DataFrame, after: pd.DataFrame, run_id: str) -> ReclusterSummary:
    """Compare two clusterings (``record_id``, ``person_id``) of the same records.

    A person of ``after`` is *merged* when its records came from more than one earlier person;
    an earlier person is *split* when its records went to more than one new person.

    Example:
        >>> b = pd.DataFrame({"record_id": [1, 2, 3], "person_id": ["P1", "P2", "P2"]})
        >>> a = pd.DataFrame({"record_id": [1, 2, 3], "person_id": ["P1", "P1", "P3"]})
        >>> s = compare_clusters(b, a, "r")
        >>> s.merged, s.split, s.records_changed
        (['P1'], ['P2'], 3)
    """
    both = before[["record_id", "person_id"]].merge(
        after[["record_id", "person_id"]], on="record_id", suffixes=("_old", "_new")
    )
    merged = both.groupby("person_id_new")["person_id_old"].nunique()
    split = both.groupby("person_id_old")["person_id_new"].nunique()
    # A record's person is unchanged when its old person went whole into a new person that
    # holds nothing else: neither split nor merged.
    changed = both["person_id_old"].map(split).gt(1) | both["person_id_new"].map(merged).gt(1)
    return ReclusterSummary(
        run_id=run_id,
        persons_before=int(before["person_id"].nunique()),
        persons_after=int(after["person_id"].nunique()),
        records_changed=int(changed.sum()),
        merged=sorted(str(p) for p in merged[merged > 1].index),
        split=sorted(str(p) for p in split[split > 1].index),
    )


def recluster_case(case: Case, *, username: str | None = None) -> ReclusterSummary:
    """Apply every standing decision with :func:`undercount.link.recluster` and compare the clusters.

    Args:
        case: a linked case.
        username: who asks (the app's account; the OS user when None).

    Raises:
        LinkError: the case has not been linked, or re-clustering failed.
        StoreError: the case has not been linked.
    """
    from undercount.link import recluster

    before = case.clusters()
    result = recluster(case, username=username)
    return compare_clusters(before, case.clusters(result.run_id), result.run_id)
