"""HTTP plumbing shared by every feature router: the error shape, the
authentication dependencies (bearer token or session cookie), request metrics
and request logs.

Authorisation itself is decided in one place, ``Principal.require``
(platform/domain.py); the dependencies here only find out who is calling.
"""

from __future__ import annotations

import hmac
import logging
import secrets
import time
from collections.abc import Awaitable, Callable
from functools import partial
from typing import Annotated, Any

import anyio
from fastapi import Depends, FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from prometheus_client import CONTENT_TYPE_LATEST, REGISTRY, CollectorRegistry, Counter, Histogram, generate_latest
from pydantic import BaseModel
from starlette.datastructures import MutableHeaders
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from jingwu.platform import services
from jingwu.platform.container import Container, Slot
from jingwu.platform.domain import Permission, Principal
from jingwu.platform.errors import AppError, Forbidden, NotAuthenticated, TooManyRequests
from jingwu.platform.throttle import LoginThrottle

log = logging.getLogger("jingwu.http")

PRINCIPALS: Slot[services.PrincipalCache] = Slot("platform.principals", lambda c: services.PrincipalCache())
LOGIN_THROTTLE: Slot[LoginThrottle] = Slot("platform.login_throttle", lambda c: LoginThrottle())


def client_address(request: Request) -> str | None:
    """The caller's address as the server sees it (behind a proxy: the proxy's, unless uvicorn is told to
    trust its forwarded headers, see docs/deploy.md)."""
    return request.client.host if request.client else None


class ErrorDetail(BaseModel):
    code: str
    message: str


class ErrorBody(BaseModel):
    """Every error response: ``{"error": {"code": ..., "message": ...}}``."""

    error: ErrorDetail


ERROR_RESPONSES: dict[int | str, dict[str, Any]] = {
    s: {"model": ErrorBody, "description": d}
    for s, d in [(400, "Malformed request (e.g. a Content-Length that is not a number)"),
                 (401, "Not authenticated"), (403, "Forbidden"), (404, "Not found"), (409, "Conflict"),
                 (422, "Invalid input"), (413, "Request body too large"), (429, "Too many requests")]
}


def error_response(status: int, code: str, message: str, headers: dict[str, str] | None = None) -> JSONResponse:
    return JSONResponse({"error": {"code": code, "message": message}}, status_code=status, headers=headers)


_STATUS_CODES = {400: "bad_request", 401: "not_authenticated", 403: "forbidden", 404: "not_found",
                 405: "method_not_allowed", 409: "conflict", 413: "payload_too_large", 415: "unsupported_media_type",
                 422: "validation_error", 429: "rate_limited"}


def install_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(AppError)
    async def _app_error(request: Request, exc: AppError) -> JSONResponse:
        headers = {"WWW-Authenticate": "Bearer"} if exc.status == 401 else None
        if isinstance(exc, TooManyRequests):
            headers = {"Retry-After": str(exc.retry_after)}
        return error_response(exc.status, exc.code, exc.message, headers)

    @app.exception_handler(StarletteHTTPException)
    async def _http_error(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        code = _STATUS_CODES.get(exc.status_code, "http_error")
        return error_response(exc.status_code, code, str(exc.detail), getattr(exc, "headers", None))

    @app.exception_handler(RequestValidationError)
    async def _validation(request: Request, exc: RequestValidationError) -> JSONResponse:
        parts = []
        for e in exc.errors()[:5]:
            loc = ".".join(str(x) for x in e.get("loc", ()) if x != "body")
            parts.append(f"{loc}: {e.get('msg')}")
        return error_response(422, "validation_error", "; ".join(parts) or "invalid request")

    @app.exception_handler(Exception)
    async def _unexpected(request: Request, exc: Exception) -> JSONResponse:
        log.exception("unhandled error", extra={"path": request.url.path})
        return error_response(500, "internal_error", "An internal error occurred; it has been logged.")


# ------------------------------------------------------------------ metrics

class ObserveMiddleware:
    """Request id, Prometheus counters/latency per route template and the request log.

    Plain ASGI (not BaseHTTPMiddleware): it adds no task or stream per request.
    """

    def __init__(self, app: ASGIApp, requests: Counter, latency: Histogram) -> None:
        self.app = app
        self.requests = requests
        self.latency = latency

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        start = time.perf_counter()
        rid = next((v.decode("latin-1") for k, v in scope["headers"] if k == b"x-request-id"), None) \
            or secrets.token_hex(8)
        status = 500

        async def _send(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                MutableHeaders(scope=message).append("x-request-id", rid)
            await send(message)

        try:
            await self.app(scope, receive, _send)
        finally:
            elapsed = time.perf_counter() - start
            template = getattr(scope.get("route"), "path", "unmatched")
            method = scope["method"]
            self.requests.labels(method, template, str(status)).inc()
            self.latency.labels(method, template).observe(elapsed)
            if template not in ("/metrics", "/healthz") and not template.startswith("/static") \
                    and log.isEnabledFor(logging.INFO):
                log.info("request", extra={"method": method, "path": _loggable_path(scope), "status": status,
                                           "ms": round(elapsed * 1000, 2), "request_id": rid})


# path parameters that are secrets (one-time location tokens, access codes): never written to the logs
SECRET_PATH_PARAMS = ("token", "code")


def _loggable_path(scope: Scope) -> str:
    path: str = scope["path"]
    params = scope.get("path_params") or {}
    for name in SECRET_PATH_PARAMS:
        value = params.get(name)
        if value:
            path = path.replace(str(value), "***")
    return path


class PayloadTooLarge(Exception):
    """Raised inside the ASGI receive channel when a body outgrows its limit."""


class BodyLimitMiddleware:
    """Refuses a request body above its limit with 413 ``payload_too_large`` before any route, authentication
    or parsing sees it: at once from ``Content-Length``, else (chunked bodies) as soon as the bytes received
    pass the limit, so an oversized body is never held in memory. Paths under a prefix of ``large`` get the
    larger limit (uploads of town boundaries); every other request gets ``limit``."""

    def __init__(self, app: ASGIApp, limit: int, large_limit: int, large: tuple[str, ...] = ()) -> None:
        self.app = app
        self.limit = limit
        self.large_limit = large_limit
        self.large = large

    def limit_for(self, path: str) -> int:
        return self.large_limit if path.startswith(self.large) else self.limit

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        limit = self.limit_for(scope["path"])
        declared = next((v for k, v in scope["headers"] if k == b"content-length"), None)
        if declared is not None:
            try:
                too_big = int(declared) > limit
            except ValueError:
                await error_response(400, "bad_request", "Content-Length is not a number.")(scope, receive, send)
                return
            if too_big:
                await self._refuse(scope, receive, send, limit)
                return
        seen = 0
        exceeded = False
        answered = False

        async def _receive() -> Message:
            nonlocal seen, exceeded
            if exceeded:
                raise PayloadTooLarge
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > limit:
                    exceeded = True
                    raise PayloadTooLarge
            return message

        async def _send(message: Message) -> None:
            nonlocal answered
            if exceeded:  # whatever the route made of the cut stream (a 400, say), the answer is 413
                if message["type"] == "http.response.start" and not answered:
                    answered = True
                    await self._refuse(scope, receive, send, limit)
                return
            if message["type"] == "http.response.start":
                answered = True
            await send(message)

        try:
            await self.app(scope, _receive, _send)
        except PayloadTooLarge:
            if not answered:
                await self._refuse(scope, receive, send, limit)

    @staticmethod
    async def _refuse(scope: Scope, receive: Receive, send: Send, limit: int) -> None:
        msg = f"The request body is larger than this route accepts ({limit:,} bytes)."
        await error_response(413, "payload_too_large", msg, {"Connection": "close"})(scope, receive, send)


CSP = ("default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data: blob:; "
       "connect-src 'self'; font-src 'self' data:; object-src 'none'; base-uri 'self'; form-action 'self'; "
       "frame-ancestors 'none'")
SECURITY_HEADERS: tuple[tuple[bytes, bytes], ...] = (
    (b"content-security-policy", CSP.encode()),
    (b"x-content-type-options", b"nosniff"),
    (b"x-frame-options", b"DENY"),
    (b"referrer-policy", b"same-origin"),
)


class SecurityHeadersMiddleware:
    """Every response: a Content Security Policy without inline or foreign scripts and with no framing, nosniff,
    a same-origin referrer policy; and ``Cache-Control: no-store`` on everything but the static files (pages and
    API answers may carry personal data; nothing of it is kept by the browser or a proxy). A header a route set
    itself is kept."""

    def __init__(self, app: ASGIApp, static_prefix: str = "/static/") -> None:
        self.app = app
        self.static_prefix = static_prefix

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        cacheable = scope["path"].startswith(self.static_prefix)

        async def _send(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", []))
                present = {k.lower() for k, _ in headers}
                headers += [(k, v) for k, v in SECURITY_HEADERS if k not in present]
                if not cacheable and b"cache-control" not in present:
                    headers.append((b"cache-control", b"no-store"))
                message = {**message, "headers": headers}
            await send(message)

        await self.app(scope, receive, _send)


def install_security_headers(app: FastAPI) -> None:
    app.add_middleware(SecurityHeadersMiddleware)


def install_body_limit(app: FastAPI, limit: int, large_limit: int, large: tuple[str, ...]) -> None:
    app.add_middleware(BodyLimitMiddleware, limit=limit, large_limit=large_limit, large=large)


def install_metrics(app: FastAPI, token: str | None = None) -> CollectorRegistry:
    registry = CollectorRegistry()
    requests = Counter("jingwu_http_requests_total", "HTTP requests", ["method", "route", "status"],
                       registry=registry)
    latency = Histogram("jingwu_http_request_seconds", "HTTP request latency", ["method", "route"],
                        registry=registry,
                        buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5))

    app.add_middleware(ObserveMiddleware, requests=requests, latency=latency)

    @app.get("/metrics", include_in_schema=False)
    def metrics(request: Request) -> Response:
        """Prometheus text. With ``JINGWU_METRICS_TOKEN`` set, only for ``Authorization: Bearer <that token>``;
        unset, only for clients on the loopback address (a scraper on the same host)."""
        expected = token
        if expected:
            given = request.headers.get("authorization", "")
            if not hmac.compare_digest(given.encode(), f"Bearer {expected}".encode()):
                raise NotAuthenticated("Metrics need the metrics bearer token.", code="metrics_token")
        elif (request.client.host if request.client else "") not in ("127.0.0.1", "::1"):
            raise Forbidden("Metrics are served to the loopback address only; set JINGWU_METRICS_TOKEN to "
                            "scrape them from elsewhere.", code="metrics_loopback_only")
        # per-app HTTP metrics + process-wide ones (MQTT bridge, jobs) from the default registry
        return Response(generate_latest(registry) + generate_latest(REGISTRY), media_type=CONTENT_TYPE_LATEST)

    return registry


# ------------------------------------------------------------------ auth deps

async def get_container(request: Request) -> Container:
    c: Container = request.app.state.container
    return c


ContainerDep = Annotated[Container, Depends(get_container)]

SAFE_METHODS = {"GET", "HEAD", "OPTIONS"}


def token_from_request(request: Request, cookie_name: str) -> tuple[str | None, bool]:
    """(token, came_from_cookie)."""
    auth = request.headers.get("authorization", "")
    if auth.lower().startswith("bearer "):
        return auth[7:].strip(), False
    cookie = request.cookies.get(cookie_name)
    return (cookie, True) if cookie else (None, False)


async def _principal(token: str, c: Container, *, from_cookie: bool) -> Principal:
    """Signature and expiry checked on every request, and the session row and the user's version read (one
    primary-key read, on a worker thread so that the event loop never waits for the database): a logout,
    a revocation, a disabled user or changed roles take effect on the next request in every process."""
    return await anyio.to_thread.run_sync(partial(
        services.principal_from_token, token, uow=c.read_uow(), clock=c.clock, secret=c.settings.secret_key,
        cache=c.get(PRINCIPALS), kind="session" if from_cookie else "api"))


async def optional_principal(request: Request, c: ContainerDep) -> Principal | None:
    token, from_cookie = token_from_request(request, c.settings.session_cookie)
    if not token:
        return None
    try:
        return await _principal(token, c, from_cookie=from_cookie)
    except AppError:
        return None


async def current_principal(request: Request, c: ContainerDep) -> Principal:
    token, from_cookie = token_from_request(request, c.settings.session_cookie)
    if not token:
        raise NotAuthenticated("Log in first: send 'Authorization: Bearer <token>'.")
    if from_cookie and request.method not in SAFE_METHODS and request.headers.get("x-jingwu-csrf") != "1":
        # Cookie-authenticated writes must come from our own pages (custom header = same-origin fetch).
        raise Forbidden("Cookie-authenticated writes need the X-Jingwu-CSRF header.", code="csrf")
    return await _principal(token, c, from_cookie=from_cookie)


PrincipalDep = Annotated[Principal, Depends(current_principal)]


def requires(permission: Permission) -> Callable[[Principal], Awaitable[Principal]]:
    """Dependency: the caller must hold ``permission`` (agency scope is checked per object)."""

    async def _dep(p: PrincipalDep) -> Principal:
        p.require(permission)
        return p

    return _dep
