"""Incidents in the review app: the list, and the review of pairs of reports (as person links are reviewed)."""

from __future__ import annotations

import re
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Form, HTTPException, Query, Request
from fastapi.responses import RedirectResponse, Response

from undercount.web.auth import User
from undercount.web.views import MAX_ID, PageNumber, app_data, render, require

__all__ = ["router"]

router = APIRouter()
PAGE_SIZE = 50
ReportId = Annotated[int, Form(ge=1, le=MAX_ID)]
_SHOWN = (("Source", "source_name"), ("Code", "code"), ("File, row", "where"), ("Date", "date_start"),
          ("Precision", "date_precision"), ("Place", "place"), ("Governorate", "adm1"), ("Object", "object_type"),
          ("Killed", "killed"), ("Actor", "actor"))


def _report_rows(pair: dict[str, Any]) -> list[dict[str, Any]]:
    """One row per field: the two reports' values, and whether they differ."""
    from undercount.incidents.listing import range_text

    rows = []
    for label, key in _SHOWN:
        values = []
        for side in ("l", "r"):
            if key == "killed":
                value: Any = range_text(pair[f"killed_min_{side}"], pair[f"killed_max_{side}"])
            elif key == "where":
                value = f"{pair[f'file_{side}']}, {pair[f'row_{side}']}"
            else:
                value = pair.get(f"{key}_{side}")
            values.append("" if value is None else str(value))
        rows.append({"label": label, "left": values[0], "right": values[1],
                     "differs": key != "where" and values[0] != values[1]})
    return rows


@router.get("/incidents")
def incidents(request: Request, page: PageNumber = 1, user: User = Depends(require("viewer"))) -> Response:
    """Every incident of the current deduplication, with its grade and named victims."""
    from undercount.incidents import list_incidents
    from undercount.incidents.files import rows_of
    from undercount.incidents.listing import coverage_text

    data = app_data(request)
    listed = data.locked(list_incidents, data.case)
    rows = rows_of(listed.incidents)
    pages = max(1, -(-len(rows) // PAGE_SIZE))
    if page > pages:
        raise HTTPException(status_code=404, detail=f"There is no page {page}: the last is {pages}.")
    shown = rows[(page - 1) * PAGE_SIZE: page * PAGE_SIZE]
    for row in shown:
        row["coverage"] = coverage_text(int(row["named_killed"] or 0), row["killed_min"], row["killed_max"])
    return render(request, "incidents.html", {"incidents": shown, "total": len(rows), "page": page, "pages": pages,
                                              "notes": listed.notes, "reports": listed.reports})


@router.get("/incidents/review")
def review(request: Request, last: Annotated[str | None, Query(max_length=64)] = None,
           user: User = Depends(require("viewer"))) -> Response:
    """The pair of reports nearest the threshold, and the queue after it."""
    from undercount.errors import StoreError
    from undercount.incidents.review import queue_rows, review_queue

    data = app_data(request)
    try:
        queue = queue_rows(data.locked(review_queue, data.case, limit=15))
    except StoreError:
        queue = []
    match = re.fullmatch(r"(\d{1,18})-(\d{1,18})", last or "")
    saved = {"left": int(match.group(1)), "right": int(match.group(2))} if match else None
    pair = queue[0] if queue else None
    return render(request, "incident_review.html", {
        "pair": pair, "rows": _report_rows(pair) if pair else [], "queue": queue[1:], "saved": saved,
        "can_decide": user.can("reviewer")})


@router.post("/incidents/review/decide")
def decide(request: Request, report_id_l: ReportId, report_id_r: ReportId,
           decision: Annotated[str, Form(max_length=16)], user: User = Depends(require("reviewer"))) -> Response:
    """Store a decision on two reports (same / different / skip), deduplicate again, show the next pair."""
    from undercount.incidents.review import decide_pair

    data = app_data(request)
    data.locked(decide_pair, data.case, report_id_l, report_id_r, decision, username=user.username)
    low, high = sorted((report_id_l, report_id_r))
    return RedirectResponse(f"/incidents/review?last={low}-{high}", status_code=303)
