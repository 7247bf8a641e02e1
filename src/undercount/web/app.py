"""The review app: ``create_app(case_path)`` builds the FastAPI application for one case.

Pages are rendered on the server from ``templates/``; every asset is served from ``static/``
(no CDN). Only the configured host names are answered (a web page that rebinds its own name
to 127.0.0.1 gets 400); a POST from another origin is refused (403); every page needs a login;
every POST needs the session's CSRF token; one error handler turns
:class:`~undercount.errors.UndercountError` into a status page.
"""

from __future__ import annotations

from importlib import resources
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlsplit

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
from undercount.web.settings import WebSettings
from undercount.web.views import (
    LoginRequired,
    admin,
    csrf_guard,
    incidents,
    login,
    register,
    render,
    review,
    search,
)

__all__ = ["create_app", "server_options", "SESSION_COOKIE", "SECURITY_HEADERS", "STATUS_FOR", "ROUTERS"]

SESSION_COOKIE = "uc_session"
#: Every page of the app, one router per topic.
ROUTERS = (login.router, register.router, review.router, incidents.router, admin.router, search.router)
SECURITY_HEADERS: dict[str, str] = {
    "Content-Security-Policy": (
        "default-src 'self'; img-src 'self' data:; frame-ancestors 'none'; form-action 'self'; "
        "base-uri 'none'; object-src 'none'"
    ),
    "X-Frame-Options": "DENY",
    "X-Content-Type-Options": "nosniff",
    # same-origin, not no-referrer: under no-referrer browsers send "Origin: null" with the
    # app's own forms, which the origin check could not tell from a sandboxed foreign page.
    "Referrer-Policy": "same-origin",
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
           413: "Too large", 422: "Cannot fit", 429: "Too many attempts", 503: "Case unavailable"}
_SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
_DEFAULT_PORTS = {"http": "80", "https": "443"}


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
        # Plain words for people: the page's title says the kind of problem, not a class name.
        text = str(exc)
        return _status_page(request, status, text[:1].upper() + text[1:])

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


def _split_host(value: str) -> tuple[str, str]:
    """(host, port) of a Host header or URL authority; port '' when absent.

    Example:
        >>> _split_host("[::1]:8000"), _split_host("LocalHost"), _split_host("a:b:c")
        (('::1', '8000'), ('localhost', ''), ('', ''))
        >>> _split_host("[::1")
        ('', '')
    """
    value = value.strip().lower()
    if value.startswith("["):
        host, bracket, rest = value[1:].partition("]")
        if not bracket or (rest and not rest.startswith(":")):
            return "", ""
        return host, rest[1:]
    host, _, port = value.partition(":")
    if ":" in port or (port and not port.isdigit()):
        return "", ""
    return host, port


def _origin(scheme: str, authority: str) -> tuple[str, str, str]:
    host, port = _split_host(authority)
    return scheme.lower(), host.rstrip("."), port or _DEFAULT_PORTS.get(scheme.lower(), "")


def foreign_origin(request: Request) -> bool:
    """True when a POST's Origin (or, without one, its Referer) is not this app's own origin.

    A request with neither header (scripts, curl) passes: its CSRF token is still checked.
    """
    own = _origin(request.url.scheme, request.headers.get("host", ""))
    origin = request.headers.get("origin")
    if origin is None:
        referer = request.headers.get("referer")
        if referer is None:
            return False
        origin = referer
    try:
        parts = urlsplit(origin.strip())
    except ValueError:
        return True
    if origin.strip() == "null" or not parts.scheme or not parts.netloc:
        return True
    return _origin(parts.scheme, parts.netloc) != own


def _install_middleware(app: FastAPI, codec: SessionCodec, settings: WebSettings) -> None:
    @app.middleware("http")
    async def sessions_and_headers(request: Request, call_next: Any) -> Response:
        session, age = codec.loads(request.cookies.get(SESSION_COOKIE))
        fresh = session is None
        request.state.session = session or codec.new()
        response: Response = await call_next(request)
        replaced = getattr(request.state, "new_session", None)
        if replaced is not None:
            request.state.session, fresh = replaced, True
        # A logged-in cookie is renewed as requests come: its age is the time since the last one.
        if fresh or (request.state.session.get("u") and age >= codec.renew_after):
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

    # Added last, so it runs first: a foreign host or origin gets no session, no page.
    @app.middleware("http")
    async def hosts_and_origins(request: Request, call_next: Any) -> Response:
        host, _ = _split_host(request.headers.get("host", ""))
        if not host or not settings.allows_host(host):
            return _plain(400, "Unknown host name: this app answers only to the names it is configured for.")
        if request.method not in _SAFE_METHODS and foreign_origin(request):
            return _plain(403, "A form sent from another site is refused.")
        response: Response = await call_next(request)
        return response


def _plain(status: int, message: str) -> Response:
    response = HTMLResponse(message, status_code=status)
    for name, value in SECURITY_HEADERS.items():
        response.headers[name] = value
    return response


def server_options(settings: WebSettings) -> dict[str, Any]:
    """uvicorn options that keep forwarding headers ignored unless a proxy is trusted.

    uvicorn believes X-Forwarded-For and X-Forwarded-Proto from 127.0.0.1 by default (or from
    $FORWARDED_ALLOW_IPS), so a local page could pose as any address; here they count only when
    ``settings.trusted_proxies`` names the proxy.

    Example:
        >>> server_options(WebSettings())["proxy_headers"]
        False
    """
    trusted = list(settings.trusted_proxies)
    return {
        "proxy_headers": bool(trusted),
        "forwarded_allow_ips": trusted if trusted else [],
        "server_header": False,
        "date_header": True,
    }


def create_app(
    case_path: str | Path,
    *,
    settings: WebSettings | None = None,
    secret_key: str | None = None,
) -> FastAPI:
    """Build the review app for the case at ``case_path``.

    Args:
        case_path: the case folder.
        settings: sessions, login limits, host names and proxies (defaults: a local app).
        secret_key: signs session cookies; by default a per-case secret kept in the case
            folder (``web_secret``, mode 600), created on first use.

    Returns:
        The FastAPI application (serve it with uvicorn and :func:`server_options`).

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
    settings = settings or WebSettings()
    case = Case.open(case_path)
    secret = secret_key or load_secret(case.path)
    codec = SessionCodec(secret, idle=settings.session_idle, lifetime=settings.session_lifetime)
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
    app.state.settings = settings
    limiter = LoginLimiter(limit=settings.login_limit, window=settings.login_window, backoff=settings.login_backoff)
    # Failed logins of the last window count again after a restart.
    limiter.restore(app.state.data.recent_logins(settings.login_window))
    app.state.limiter = limiter
    app.mount("/static", StaticFiles(directory=str(_package_dir("static"))), name="static")
    for router in ROUTERS:
        app.include_router(router)
    _install_error_handlers(app)
    _install_middleware(app, codec, settings)
    return app
