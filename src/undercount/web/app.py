"""The review app: ``create_app(case_path)`` builds the FastAPI application for one case.

Pages are rendered on the server from ``templates/``; every asset is served from ``static/``
(no CDN). Every page needs a login; every POST needs the session's CSRF token; one error
handler turns :class:`~undercount.errors.UndercountError` into a status page.
"""

from __future__ import annotations

from importlib import resources
from pathlib import Path
from typing import Any
from urllib.parse import quote

from fastapi import Depends, FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from fastapi.staticfiles import StaticFiles
from fastapi.templating import Jinja2Templates
from starlette.exceptions import HTTPException as StarletteHTTPException

from undercount.errors import (
    AuthError,
    ConfigError,
    InputError,
    LinkError,
    ModelError,
    StoreError,
    UndercountError,
)
from undercount.store import Case
from undercount.web.auth import LoginLimiter, SessionCodec, load_secret
from undercount.web.data import AppData
from undercount.web.records import text_direction
from undercount.web.views import LoginRequired, csrf_guard, render
from undercount.web.views import admin, login, register, review

__all__ = ["create_app", "SESSION_COOKIE", "SECURITY_HEADERS", "STATUS_FOR", "ROUTERS"]

SESSION_COOKIE = "uc_session"
#: Every page of the app, one router per topic.
ROUTERS = (login.router, register.router, review.router, admin.router)
SECURITY_HEADERS: dict[str, str] = {
    "Content-Security-Policy": (
        "default-src 'self'; img-src 'self' data:; frame-ancestors 'none'; form-action 'self'; "
        "base-uri 'none'; object-src 'none'"
    ),
    "X-Frame-Options": "DENY",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "Cross-Origin-Opener-Policy": "same-origin",
    "Cache-Control": "no-store",
}
#: HTTP status of each error type (the first match in the class's MRO wins).
STATUS_FOR: dict[type[UndercountError], int] = {
    AuthError: 403,
    InputError: 400,
    ConfigError: 400,
    LinkError: 409,
    ModelError: 422,
    StoreError: 503,
    UndercountError: 400,
}
_TITLES = {400: "Bad request", 403: "Not allowed", 404: "Not found", 405: "Not allowed", 409: "Not ready",
           422: "Cannot fit", 429: "Too many attempts", 503: "Case unavailable"}


def _package_dir(name: str) -> Path:
    return Path(str(resources.files("undercount.web").joinpath(name)))


def _status_page(request: Request, status: int, message: str) -> Response:
    if not hasattr(request.state, "session"):
        return HTMLResponse(message, status_code=status)
    return render(
        request,
        "error.html",
        {"status": status, "title": _TITLES.get(status, "Error"), "message": message},
        status_code=status,
    )


def _install_error_handlers(app: FastAPI) -> None:
    async def undercount_error(request: Request, exc: Exception) -> Response:
        status = next((STATUS_FOR[k] for k in type(exc).__mro__ if k in STATUS_FOR), 400)
        return _status_page(request, status, f"{type(exc).__name__}: {exc}")

    async def login_required(request: Request, exc: Exception) -> Response:
        target = "/login"
        if request.method == "GET" and request.url.path not in ("/", "/login"):
            target += "?next=" + quote(request.url.path, safe="/")
        return RedirectResponse(target, status_code=303)

    async def http_error(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, StarletteHTTPException)
        return _status_page(request, exc.status_code, str(exc.detail))

    async def validation_error(request: Request, exc: Exception) -> Response:
        # The details would echo what was sent (perhaps a name): say only which fields.
        assert isinstance(exc, RequestValidationError)
        fields = sorted({str(e.get("loc", ["", "?"])[-1]) for e in exc.errors()})
        return _status_page(request, 400, "missing or invalid field(s): " + ", ".join(fields))

    app.add_exception_handler(UndercountError, undercount_error)
    app.add_exception_handler(LoginRequired, login_required)
    app.add_exception_handler(StarletteHTTPException, http_error)
    app.add_exception_handler(RequestValidationError, validation_error)


def _install_middleware(app: FastAPI, codec: SessionCodec) -> None:
    @app.middleware("http")
    async def sessions_and_headers(request: Request, call_next: Any) -> Response:
        session = codec.loads(request.cookies.get(SESSION_COOKIE))
        fresh = session is None
        request.state.session = session or codec.new()
        response: Response = await call_next(request)
        replaced = getattr(request.state, "new_session", None)
        if replaced is not None:
            request.state.session, fresh = replaced, True
        if fresh:
            response.set_cookie(
                SESSION_COOKIE,
                codec.dumps(request.state.session),
                httponly=True,
                samesite="strict",
                secure=request.url.scheme == "https",
                path="/",
            )
        for name, value in SECURITY_HEADERS.items():
            response.headers.setdefault(name, value)
        return response


def create_app(
    case_path: str | Path,
    *,
    secret_key: str | None = None,
    login_limit: int = 5,
    login_window: float = 15 * 60,
    session_max_age: int = 12 * 3600,
) -> FastAPI:
    """Build the review app for the case at ``case_path``.

    Args:
        case_path: the case folder.
        secret_key: signs session cookies; by default a per-case secret kept in the case
            folder (``web_secret``, mode 600), created on first use.
        login_limit: failed logins allowed per user and address within ``login_window``.
        login_window: seconds over which failed logins are counted.
        session_max_age: seconds a session stays valid.

    Returns:
        The FastAPI application (serve it with uvicorn).

    Raises:
        StoreError: no case at ``case_path``.
        ConfigError: the secret file cannot be created or read.

    Example:
        >>> import tempfile
        >>> from undercount.store import Case
        >>> app = create_app(Case.init(tempfile.mkdtemp() + "/c").path)
        >>> app.title
        'undercount review'
    """
    case = Case.open(case_path)
    secret = secret_key or load_secret(case.path)
    codec = SessionCodec(secret, max_age=session_max_age)
    app = FastAPI(
        title="undercount review",
        docs_url=None,
        redoc_url=None,
        openapi_url=None,
        dependencies=[Depends(csrf_guard)],
    )
    templates = Jinja2Templates(directory=str(_package_dir("templates")))
    templates.env.filters["textdir"] = text_direction
    app.state.data = AppData(case)
    app.state.templates = templates
    app.state.codec = codec
    app.state.limiter = LoginLimiter(limit=login_limit, window=login_window)
    app.mount("/static", StaticFiles(directory=str(_package_dir("static"))), name="static")
    for router in ROUTERS:
        app.include_router(router)
    _install_error_handlers(app)
    _install_middleware(app, codec)
    return app
