"""The review queue: decide uncertain pairs, then re-cluster."""

from __future__ import annotations

import re
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Form, HTTPException, Query, Request
from fastapi.responses import RedirectResponse, Response

from undercount.review.decisions import MAX_NOTE
from undercount.review.searching import SearchWaiting
from undercount.web.auth import User, require_role
from undercount.web.records import field_rows
from undercount.web.views import (
    FormRecordId,
    LoginRequired,
    PageNumber,
    RecordId,
    app_data,
    check_page,
    current_user,
    render,
    require,
)

__all__ = ["router"]

router = APIRouter()


def _show_pair(
    request: Request, user: User, left: int | None, right: int | None, last: str | None = None
) -> Response:
    data = app_data(request)
    search = data.search_waiting()  # the search sample's next person comes before the pairs
    with data.reading():
        return _pair_page(request, user, left, right, _last_decision(request, last), search)


def _last_decision(request: Request, last: str | None) -> dict[str, Any] | None:
    """The decision just taken (``last`` is ``"L-R"``), to confirm it on the next page."""
    match = re.fullmatch(r"(\d{1,18})-(\d{1,18})", last or "")
    if match is None:
        return None
    pair = app_data(request).pair(int(match.group(1)), int(match.group(2)))
    if pair is None or not pair["history"]:
        return None
    return {**pair["history"][0], "record_id_l": pair["record_id_l"], "record_id_r": pair["record_id_r"]}


def _pair_page(
    request: Request, user: User, left: int | None, right: int | None, last: dict[str, Any] | None,
    search: SearchWaiting | None = None,
) -> Response:
    data = app_data(request)
    found = data.review_queue(limit=15, username=user.username)
    queue, waiting, threshold = found.pairs, found.waiting, found.threshold
    if left is None or right is None:
        if not queue:
            return render(
                request,
                "review.html",
                {"pair": None, "queue": [], "waiting": 0, "threshold": threshold, "progress": found, "search": search,
                 "decided": data.decision_count(), "last": last, "stale": data.stale_warnings()},
            )
        left, right = int(queue[0]["record_id_l"]), int(queue[0]["record_id_r"])
    pair = data.pair(left, right)
    if pair is None:
        raise HTTPException(status_code=404, detail="These two records are not a candidate pair of the current link run.")
    blind = data.blind(left, right, user.username)
    if blind:  # blind double review: the earlier decisions stay hidden until this reviewer decides
        pair["history"] = []
    return render(
        request,
        "review.html",
        {
            "pair": pair,
            "rows": field_rows(pair["records"]),
            "queue": queue,
            "waiting": waiting,
            "threshold": threshold,
            "progress": found,
            "search": search,
            "blind": blind,
            "decided": data.decision_count(),
            "max_note": MAX_NOTE,
            "can_decide": user.can("reviewer"),
            "last": last,
            "stale": data.stale_warnings(),
        },
    )


@router.get("/review")
def review(
    request: Request,
    last: Annotated[str | None, Query(max_length=64)] = None,
    user: User = Depends(require("viewer")),
) -> Response:
    """The pair where a decision matters most, and the queue after it."""
    return _show_pair(request, user, None, None, last)


@router.get("/review/decisions")
def decisions(request: Request, page: PageNumber = 1, user: User = Depends(require("viewer"))) -> Response:
    """The newest decision on each pair, newest first, each with a link to change it."""
    data = app_data(request)
    admin = user.can("admin")
    listing = check_page(data.decisions(page=page, blind_for=None if admin else user.username))
    context: dict[str, Any] = {"decisions": listing, "agreement": None, "plan": data.double_plan()}
    if admin:  # agreement of blind double review is the admin's to read
        context["agreement"] = data.agreement()
    return render(request, "decisions.html", context)


@router.get("/review/{record_id_l}/{record_id_r}")
def review_pair(
    request: Request, record_id_l: RecordId, record_id_r: RecordId, user: User = Depends(require("viewer"))
) -> Response:
    """One given pair (from a person's page or the queue)."""
    return _show_pair(request, user, record_id_l, record_id_r)


def _signed_in(request: Request) -> None:
    """Refuse a request without a signed-in session before its form is read (the full check follows)."""
    if not request.state.session.get("u"):
        raise LoginRequired()


@router.post("/review/decide")
def decide(
    request: Request,
    record_id_l: FormRecordId,
    record_id_r: FormRecordId,
    decision: Annotated[str, Form(max_length=16)],
    note: Annotated[str, Form(max_length=MAX_NOTE)] = "",
    signed_in: None = Depends(_signed_in),
) -> Response:
    """Store a decision (same / different / skip) with an optional note and show the next pair.

    The session, the account and its role are checked as every page checks them (``current_user``,
    ``require_role``), on the connection that then stores the decision: one DuckDB start, not two.
    """
    data = app_data(request)
    with data.writing():
        user = current_user(request)
        require_role(user, "reviewer")
        data.decide(record_id_l, record_id_r, decision, user.username, note=note)
    low, high = sorted((record_id_l, record_id_r))
    return RedirectResponse(f"/review?last={low}-{high}", status_code=303)


@router.post("/review/recluster")
def recluster(request: Request, user: User = Depends(require("reviewer"))) -> Response:
    """Apply every decision to the clusters and show what changed."""
    data = app_data(request)
    summary = data.recluster(user.username)
    return render(request, "recluster.html", {"summary": summary, "stale": data.stale_warnings()})
