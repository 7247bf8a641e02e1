"""The app's pages (one router per topic) and what they share: login, roles, CSRF, render."""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated, Any

from fastapi import Depends, Form, HTTPException, Path, Query, Request
from fastapi.responses import HTMLResponse

from undercount.web.auth import User, check_csrf, require_role
from undercount.web.data import AppData, Page

__all__ = [
    "LoginRequired",
    "csrf_guard",
    "current_user",
    "require",
    "render",
    "app_data",
    "client_address",
    "PageNumber",
    "RecordId",
    "FormRecordId",
    "MAX_PAGE",
    "MAX_ID",
    "check_page",
]

#: Larger page numbers are refused (400) before any query; pages past the end answer 404.
MAX_PAGE = 10**7
#: Record ids are positive BIGINTs.
MAX_ID = 2**63 - 1
PageNumber = Annotated[int, Query(ge=1, le=MAX_PAGE)]
RecordId = Annotated[int, Path(ge=1, le=MAX_ID)]


FormRecordId = Annotated[int, Form(ge=1, le=MAX_ID)]


def check_page(listing: Page) -> Page:
    """The listing, or 404 when its page number is past the last page."""
    if listing.page > listing.pages:
        raise HTTPException(status_code=404, detail=f"There is no page {listing.page}: the last is {listing.pages}.")
    return listing

_SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


class LoginRequired(Exception):
    """Raised when a page needs a login; the app answers with a redirect to /login."""


def app_data(request: Request) -> AppData:
    """The app's view of the case."""
    data: AppData = request.app.state.data
    return data


def client_address(request: Request) -> str:
    """The client's address, for the login limits: the TCP peer's (uvicorn replaces it with
    X-Forwarded-For only when the settings trust the proxy that sent it)."""
    return request.client.host if request.client else "unknown"


async def csrf_guard(request: Request) -> None:
    """Refuse (403) any POST whose CSRF token, in the form or the X-CSRF-Token header, is wrong.

    Raises:
        AuthError: the token is missing or does not match the session.
    """
    if request.method in _SAFE_METHODS:
        return
    token = request.headers.get("x-csrf-token")
    if token is None:
        content_type = request.headers.get("content-type", "")
        if content_type.startswith(("application/x-www-form-urlencoded", "multipart/form-data")):
            value = (await request.form()).get("csrf_token")
            token = value if isinstance(value, str) else None
    check_csrf(request.state.session, token)


def current_user(request: Request) -> User:
    """The logged-in user.

    Raises:
        LoginRequired: no session; or it was ended (logout), has expired, or its account was
            changed, disabled or removed since.
    """
    session = request.state.session
    name = session.get("u")
    if not name:
        raise LoginRequired()
    data = app_data(request)
    with data.reading():
        user = data.user(name)
        if user is None or user.fingerprint != session.get("f"):
            raise LoginRequired()
        if not data.session_active(session, request.app.state.settings.session_lifetime):
            raise LoginRequired()
    request.state.user = user
    return user


def require(role: str) -> Callable[..., User]:
    """A dependency giving the logged-in user, refused (403) below ``role``."""

    def dependency(user: User = Depends(current_user)) -> User:
        require_role(user, role)
        return user

    return dependency


def render(request: Request, template: str, context: dict[str, Any], *, status_code: int = 200) -> HTMLResponse:
    """Render a page with the session's CSRF token and the user in its context."""
    templates = request.app.state.templates
    full = {
        "csrf_token": request.state.session.get("c", ""),
        "user": getattr(request.state, "user", None),
        **context,
    }
    response: HTMLResponse = templates.TemplateResponse(request, template, full, status_code=status_code)
    return response
