"""Admin pages: the audit log, the accounts, and re-estimating the case in the background."""

from __future__ import annotations

import json
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import RedirectResponse, Response

from undercount.web.auth import ROLES, User, add_user, list_users
from undercount.web.views import PageNumber, app_data, check_page, render, require

__all__ = ["router"]

router = APIRouter(prefix="/admin")


def _detail(text: Any) -> str:
    """An audit event's detail as ``key=value`` pairs."""
    if not text:
        return ""
    data = json.loads(text) if isinstance(text, str) else text
    if not isinstance(data, dict):
        return str(data)
    return ", ".join(f"{k}={v}" for k, v in data.items())


@router.get("/audit")
def audit(request: Request, page: PageNumber = 1, user: User = Depends(require("admin"))) -> Response:
    """The audit log, newest first: who imported, linked, decided, exported what and when."""
    events = check_page(app_data(request).audit(page=page))
    for row in events.rows:
        row["detail_text"] = _detail(row.get("detail"))
    return render(request, "audit.html", {"events": events})


@router.get("/users")
def users(request: Request, user: User = Depends(require("admin"))) -> Response:
    """Every account and a form to add or change one."""
    data = app_data(request)
    accounts = data.locked(list_users, data.case)
    return render(request, "users.html", {"accounts": accounts, "roles": [*ROLES, "disabled"], "message": None})


@router.post("/users")
def save_user(
    request: Request,
    username: Annotated[str, Form(max_length=64)],
    role: Annotated[str, Form(max_length=16)],
    password: Annotated[str, Form(max_length=1024)],
    user: User = Depends(require("admin")),
) -> Response:
    """Add an account, or change the role and password of one (role 'disabled' disables it)."""
    data = app_data(request)
    data.locked(add_user, data.case, username, role, password, written_by=user.username)
    return RedirectResponse("/admin/users", status_code=303)


@router.get("/estimate")
def estimate_page(request: Request, user: User = Depends(require("admin"))) -> Response:
    """The background estimate: start it, and its steps while it runs (the page refreshes itself)."""
    data = app_data(request)
    return render(request, "estimate.html", {"job": data.estimate_job.state, "stale": data.stale_warnings()})


@router.post("/estimate")
def start_estimate(request: Request, user: User = Depends(require("admin"))) -> Response:
    """Start re-estimating the case (as 'undercount estimate CASE' with its defaults), unless a run is going."""
    app_data(request).estimate_job.start(user.username)
    return RedirectResponse("/admin/estimate", status_code=303)
