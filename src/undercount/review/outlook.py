"""What deciding the pairs that matter would do to the estimate's linkage share.

The estimate pools over plausible linkages (:mod:`undercount.estimate.linkage`); the part of its
interval that comes from not knowing which records are one person is the *linkage share*. A draw
links each uncertain pair with its probability p, so a pair adds about p(1 - p) to the spread of
the linkages (twice that across lists, where a link moves a person between capture-history cells);
a decided pair is certain and adds nothing. The outlook scales the estimate's linkage variance by
the open uncertainty now and once every pair that matters is decided, relative to the open
uncertainty when the estimate ran, and turns it back into a share of the interval's width:

    vs' = r vs / (1 - vs + r vs),   share' = 1 - sqrt(1 - vs')

where vs is the estimate's variance share (:func:`undercount.estimate.linkage.linkage_summary`)
and r the ratio of open uncertainty. It is a forecast, said as one ("would fall ... to about 9%");
``undercount estimate`` measures the real share.

Example:
    >>> round(share_after(0.5, 0.25), 3)
    0.106
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from typing import Any

from undercount.store.runs import Reader, RunInputs

__all__ = ["LinkageOutlook", "estimate_for_outlook", "outlook", "share_after"]

#: The headline estimate of the newest batch (its first population, stored first) and its inputs.
_ESTIMATE_SQL = (
    "WITH newest AS (SELECT run_id, json_extract_string(params, '$.batch') AS batch FROM uc_runs "
    "WHERE kind = 'estimate' ORDER BY finished_at DESC, run_id DESC LIMIT 1), "
    "head AS (SELECT r.run_id, r.inputs FROM uc_runs r, newest WHERE r.kind = 'estimate' AND (r.run_id = newest.run_id "
    "OR (newest.batch IS NOT NULL AND json_extract_string(r.params, '$.batch') = newest.batch)) "
    "ORDER BY r.finished_at, r.run_id LIMIT 1) "
    "SELECT head.run_id, head.inputs, json_extract(e.result, '$.details.linkage') AS linkage "
    "FROM head JOIN uc_estimates e ON e.run_id = head.run_id AND e.stratum = 'total'"
)


def _percent(share: float) -> str:
    return f"{share:.0%}" if share >= 0.095 else f"{share:.1%}"


def share_after(variance_share: float, ratio: float) -> float:
    """The linkage share of the interval's width once the linkage variance is scaled by ``ratio``.

    Args:
        variance_share: the estimate's linkage share of the variance (0 to 1).
        ratio: open uncertainty then over open uncertainty when the estimate ran (0 or more).
    """
    vs, r = min(max(variance_share, 0.0), 1.0), max(ratio, 0.0)
    scaled = r * vs / (1.0 - vs + r * vs) if (1.0 - vs + r * vs) > 0 else 1.0
    return 1.0 - math.sqrt(max(0.0, 1.0 - scaled))


@dataclass(frozen=True)
class LinkageOutlook:
    """The estimate's linkage share as estimated, now (decisions since), and once the pairs that matter are decided.

    Attributes:
        estimate_run: the estimate whose linkage share is forecast.
        measured: its linkage share as measured when it ran.
        now: the forecast share with the decisions taken since.
        after: the forecast share once every pair that matters is decided.
    """

    estimate_run: str
    measured: float
    now: float
    after: float

    def sentence(self) -> str:
        """'the estimate's linkage share would fall from 26% to about 9%' (one decimal under 10%)."""
        now, after = _percent(self.now), _percent(self.after)
        if now == after:
            return f"the estimate's linkage share ({now}) would hardly move"
        return f"the estimate's linkage share would fall from {now} to about {after}"

    def to_dict(self) -> dict[str, Any]:
        """The outlook as JSON-ready values."""
        return {"estimate_run": self.estimate_run, "measured": round(self.measured, 4), "now": round(self.now, 4),
                "after": round(self.after, 4)}


def estimate_for_outlook(reader: Reader) -> tuple[str, float, float, int] | None:
    """(run id, linkage share, variance share, its newest decision id or -1) of the headline estimate.

    None when there is no estimate, or it pooled no linkage draws (nothing to forecast).
    """
    rows = reader.rows(_ESTIMATE_SQL)
    if not rows or rows[0]["linkage"] is None:
        return None
    row = rows[0]
    info = json.loads(row["linkage"]) if isinstance(row["linkage"], str) else dict(row["linkage"])
    share, variance = info.get("linkage_share"), info.get("variance_share")
    if not info.get("draws") or share is None or variance is None:
        return None
    inputs = RunInputs.from_json(row["inputs"])
    newest = inputs.newest_decision if inputs is not None and inputs.newest_decision is not None else -1
    return str(row["run_id"]), float(share), float(variance), int(newest)


def outlook(estimate: tuple[str, float, float, int] | None, open_now: float, open_matters: float,
            decided_since: float) -> LinkageOutlook | None:
    """The forecast from the estimate and the open uncertainty (sums of w p(1 - p) over undecided pairs).

    Args:
        estimate: :func:`estimate_for_outlook`'s answer.
        open_now: over every undecided pair now.
        open_matters: over the undecided pairs that matter.
        decided_since: over the pairs decided since the estimate ran (open when it ran).
    """
    if estimate is None:
        return None
    run, measured, variance, _ = estimate
    then = open_now + decided_since
    if then <= 0:
        return None
    return LinkageOutlook(run, measured, share_after(variance, open_now / then),
                          share_after(variance, max(0.0, open_now - open_matters) / then))
