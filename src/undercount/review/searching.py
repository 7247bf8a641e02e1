"""Search-sample persons in the review queue: how many wait and which comes next.

A clerical search sample (:mod:`undercount.review.sample`, drawn with ``undercount search-sample``)
is a stratified sample of persons, each to be searched for on the lists that do not hold them.
Every searched person informs the correction of the estimate for the links linkage missed,
which moves the estimate more than any single pair: the queue puts the next unsearched person
before the pairs (the review page links it, ``review queue`` prints it), in the sample's order.
The sample's functions answer; nothing of the sample's logic is repeated here.

Example:
    >>> import tempfile
    >>> from undercount.store import Case
    >>> search_waiting(Case.init(tempfile.mkdtemp() + "/c")) is None
    True
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from undercount.review.sample import answers, latest_sample, sample_items, sample_progress
from undercount.review.sample_links import item_status
from undercount.store import Case

__all__ = ["SearchWaiting", "search_waiting"]


@dataclass(frozen=True)
class SearchWaiting:
    """The newest search sample's progress and its next person to search.

    Attributes:
        sample_id: the sample.
        items: persons drawn.
        complete: persons answered on every list they were to be searched on.
        next_item: the first person not complete yet (None when all are).
    """

    sample_id: str
    items: int
    complete: int
    next_item: int | None

    @property
    def left(self) -> int:
        """Persons still to search."""
        return self.items - self.complete

    @property
    def sentence(self) -> str:
        """'12 of 300 search-sample persons searched'."""
        return f"{self.complete:,} of {self.items:,} search-sample persons searched"

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready values."""
        return {"sample_id": self.sample_id, "items": self.items, "complete": self.complete, "left": self.left,
                "next_item": self.next_item}


def search_waiting(case: Case) -> SearchWaiting | None:
    """The newest search sample's progress and next person (None when the case holds no sample)."""
    with case.reading():  # one connection for the sample's several reads
        return _waiting(case)


def _waiting(case: Case) -> SearchWaiting | None:
    sid = latest_sample(case)
    if sid is None:
        return None
    progress = sample_progress(case, sid)
    nxt: int | None = None
    if progress["left"]:
        status = item_status(sample_items(case, sid), answers(case, sid))
        nxt = int(status.index[~status["complete"].to_numpy()][0])
    return SearchWaiting(sid, progress["items"], progress["complete"], nxt)
