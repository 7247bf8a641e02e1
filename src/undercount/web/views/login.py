"""Logging in and out; the front page."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import RedirectResponse, Response

from undercount.web.auth import User, check_password
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
def login_page(request: Request, next: str = "/register") -> Response:
    """The login form."""
    return render(request, "login.html", {"next": safe_next(next), "error": None})


@router.post("/login")
def login(
    request: Request,
    username: Annotated[str, Form(max_length=64)],
    password: Annotated[str, Form(max_length=1024)],
    next: Annotated[str, Form()] = "/register",
) -> Response:
    """Check a password; too many failures from one address for one user answer 429."""
    data = app_data(request)
    limiter = request.app.state.limiter
    address = client_address(request)
    context = {"next": safe_next(next), "username": username}
    if limiter.blocked(username, address):
        message = "Too many failed logins: wait 15 minutes and try again."
        return render(request, "login.html", {**context, "error": message}, status_code=429)
    user = data.user(username)
    if not check_password(user, password):
        limiter.failed(username, address)
        with data.lock, data.case.transaction() as con:
            data.case.log(con, action="login", detail={"user": username, "ok": False}, username=username)
        return render(request, "login.html", {**context, "error": "Wrong user name or password."}, status_code=401)
    assert user is not None
    limiter.succeeded(username, address)
    with data.lock, data.case.transaction() as con:
        data.case.log(con, action="login", detail={"user": username, "ok": True}, username=username)
    # A new session (and CSRF token) at login, so a token seen before login is useless after.
    request.state.new_session = request.app.state.codec.new(user)
    return RedirectResponse(safe_next(next), status_code=303)


@router.post("/logout")
def logout(request: Request) -> Response:
    """End the session."""
    request.state.new_session = request.app.state.codec.new()
    return RedirectResponse("/login", status_code=303)
