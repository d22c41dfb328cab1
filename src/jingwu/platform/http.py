"""HTTP plumbing shared by every feature router: the error shape, the
authentication dependencies (bearer token or session cookie), request metrics
and request logs.

Authorisation itself is decided in one place, ``Principal.require``
(platform/domain.py); the dependencies here only find out who is calling.
"""

from __future__ import annotations

import logging
import time
import uuid
from collections.abc import Awaitable, Callable
from typing import Annotated, Any

from fastapi import Depends, FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from prometheus_client import CONTENT_TYPE_LATEST, REGISTRY, CollectorRegistry, Counter, Histogram, generate_latest
from pydantic import BaseModel
from starlette.exceptions import HTTPException as StarletteHTTPException

from jingwu.platform import services
from jingwu.platform.container import Container
from jingwu.platform.domain import Permission, Principal
from jingwu.platform.errors import AppError, Forbidden, NotAuthenticated

log = logging.getLogger("jingwu.http")


class ErrorDetail(BaseModel):
    code: str
    message: str


class ErrorBody(BaseModel):
    """Every error response: ``{"error": {"code": ..., "message": ...}}``."""

    error: ErrorDetail


ERROR_RESPONSES: dict[int | str, dict[str, Any]] = {
    s: {"model": ErrorBody, "description": d}
    for s, d in [(401, "Not authenticated"), (403, "Forbidden"), (404, "Not found"), (409, "Conflict"),
                 (422, "Invalid input")]
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

def install_metrics(app: FastAPI) -> CollectorRegistry:
    registry = CollectorRegistry()
    requests = Counter("jingwu_http_requests_total", "HTTP requests", ["method", "route", "status"],
                       registry=registry)
    latency = Histogram("jingwu_http_request_seconds", "HTTP request latency", ["method", "route"],
                        registry=registry,
                        buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5))

    @app.middleware("http")
    async def _observe(request: Request, call_next: Callable[[Request], Awaitable[Response]]) -> Response:
        start = time.perf_counter()
        rid = request.headers.get("x-request-id") or uuid.uuid4().hex[:16]
        status = 500
        try:
            response = await call_next(request)
            status = response.status_code
            response.headers["x-request-id"] = rid
            return response
        finally:
            elapsed = time.perf_counter() - start
            route = request.scope.get("route")
            template = getattr(route, "path", "unmatched")
            requests.labels(request.method, template, str(status)).inc()
            latency.labels(request.method, template).observe(elapsed)
            if template not in ("/metrics", "/healthz") and not template.startswith("/static"):
                log.info("request", extra={"method": request.method, "path": request.url.path, "status": status,
                                           "ms": round(elapsed * 1000, 2), "request_id": rid})

    @app.get("/metrics", include_in_schema=False)
    def metrics() -> Response:
        # per-app HTTP metrics + process-wide ones (MQTT bridge, jobs) from the default registry
        return Response(generate_latest(registry) + generate_latest(REGISTRY), media_type=CONTENT_TYPE_LATEST)

    return registry


# ------------------------------------------------------------------ auth deps

def get_container(request: Request) -> Container:
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


def optional_principal(request: Request, c: ContainerDep) -> Principal | None:
    token, _from_cookie = token_from_request(request, c.settings.session_cookie)
    if not token:
        return None
    try:
        p = services.principal_from_token(token, uow=c.read_uow(), clock=c.clock, secret=c.settings.secret_key,
                                          cache=c.cached("principals", services.PrincipalCache))
    except AppError:
        return None
    return p


def current_principal(request: Request, c: ContainerDep) -> Principal:
    token, from_cookie = token_from_request(request, c.settings.session_cookie)
    if not token:
        raise NotAuthenticated("Log in first: send 'Authorization: Bearer <token>'.")
    if from_cookie and request.method not in SAFE_METHODS and request.headers.get("x-jingwu-csrf") != "1":
        # Cookie-authenticated writes must come from our own pages (custom header = same-origin fetch).
        raise Forbidden("Cookie-authenticated writes need the X-Jingwu-CSRF header.", code="csrf")
    return services.principal_from_token(token, uow=c.read_uow(), clock=c.clock, secret=c.settings.secret_key,
                                         cache=c.cached("principals", services.PrincipalCache))


PrincipalDep = Annotated[Principal, Depends(current_principal)]


def requires(permission: Permission) -> Callable[[Principal], Principal]:
    """Dependency: the caller must hold ``permission`` (agency scope is checked per object)."""

    def _dep(p: PrincipalDep) -> Principal:
        p.require(permission)
        return p

    return _dep
