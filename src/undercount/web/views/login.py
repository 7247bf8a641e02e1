"""Logging in and out; the front page."""

from __future__ import annotations

import math
from typing import Annotated

from fastapi import APIRouter, Depends, Form, Query, Request
from fastapi.responses import RedirectResponse, Response

from undercount.web.auth import (
    UNKNOWN_USER,
    User,
    check_password,
    end_session,
    start_session,
)
from undercount.web.views import app_data, client_address, current_user, render

__all__ = ["router", "safe_next"]

router = APIRouter()


def safe_next(target: str | None) -> str:
    """A local path to go to after login (never another site).

    Example:
        >>> safe_next("/review"), safe_next("//evil.example/"), safe_next("https://x")
        ('/review', '/register', '/register')
    """
    if not target or not target.startswith("/") or target.startswith("//") or "\\" in target:
        return "/register"
    return target


@router.get("/")
def front(user: User = Depends(current_user)) -> Response:
    """The register is the front page."""
    return RedirectResponse("/register", status_code=303)


@router.api_route("/login", methods=["GET", "HEAD"])  # HEAD as GET: `curl -I` and uptime checks
def login_page(request: Request, next: Annotated[str, Query(max_length=2048)] = "/register") -> Response:
    """The login form."""
    return render(request, "login.html", {"next": safe_next(next), "error": None})


@router.post("/login")
def login(
    request: Request,
    username: Annotated[str, Form(max_length=64)],
    password: Annotated[str, Form(max_length=1024)],
    next: Annotated[str, Form(max_length=2048)] = "/register",
) -> Response:
    """Check a password. Repeated failures make the app answer 429 for a while, longer after
    each further failure (per account and address, per address, per account)."""
    data = app_data(request)
    limiter = request.app.state.limiter
    address = client_address(request)
    context = {"next": safe_next(next), "username": username}
    wait = limiter.retry_after(username, address)
    if wait > 0:
        minutes = max(1, math.ceil(wait / 60))
        message = f"Too many failed logins: wait {minutes} minute(s) and try again."
        response = render(request, "login.html", {**context, "error": message}, status_code=429)
        response.headers["Retry-After"] = str(math.ceil(wait))
        return response
    user = data.user(username)
    if not check_password(user, password):
        limiter.failed(username, address)
        # The typed name is kept only when it is an account: it could be a password typed in
        # the wrong box, or a person's name.
        known = user.username if user is not None else UNKNOWN_USER
        detail = {"user": user.username if user is not None else None, "ok": False, "address": address}
        with data.lock, data.case.transaction() as con:
            data.case.log(con, action="login", detail=detail, username=known)
        return render(request, "login.html", {**context, "error": "Wrong user name or password."}, status_code=401)
    assert user is not None
    limiter.succeeded(username, address)
    # A new session (and CSRF token) at login, so a token seen before login is useless after.
    session = request.app.state.codec.new(user)
    with data.lock, data.case.transaction() as con:
        start_session(con, session)
        data.case.log(con, action="login", detail={"user": user.username, "ok": True, "address": address},
                      username=user.username)
    request.state.new_session = session
    return RedirectResponse(safe_next(next), status_code=303)


@router.post("/logout")
def logout(request: Request) -> Response:
    """End the session: its record is closed, so the cookie, replayed, opens nothing."""
    session = request.state.session
    if isinstance(session.get("s"), str) and isinstance(session.get("u"), str):
        data = app_data(request)
        with data.lock, data.case.transaction() as con:
            end_session(con, session["s"], session["u"], "logout")
            data.case.log(con, action="logout", detail={"user": session["u"]}, username=session["u"])
    request.state.new_session = request.app.state.codec.new()
    return RedirectResponse("/login", status_code=303)
