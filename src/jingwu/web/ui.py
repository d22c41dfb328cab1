"""HTML pages: login, the module shell with navigation (entries declared by the
features, ``app.state.nav``), the overview map, "coming" pages for modules not
built yet, and the audit page.

Server-rendered with Jinja2 (ADR 0002); the map is Leaflet drawing our own road
GeoJSON (no tile server).
"""

from __future__ import annotations

import hmac
import secrets
from datetime import timedelta
from pathlib import Path
from typing import Annotated, Any
from urllib.parse import quote
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from fastapi.templating import Jinja2Templates

from jingwu.platform import services, timefmt, views
from jingwu.platform.domain import ROLE_LABELS_ZH, Permission, Principal
from jingwu.platform.errors import AppError, Forbidden, TooManyRequests
from jingwu.platform.feature import NavEntry
from jingwu.platform.http import LOGIN_THROTTLE, ContainerDep, client_address, optional_principal
from jingwu.web.i18n import pick_lang, translate

HERE = Path(__file__).resolve().parent
STATIC_DIR = HERE / "static"
templates = Jinja2Templates(directory=str(HERE / "templates"))
# {{ t|localtime(tz) }}: an instant in the deployment's zone with its offset (platform.timefmt)
templates.env.filters["localtime"] = lambda dt, tz, **kw: timefmt.local(dt, tz, **kw)

router = APIRouter(include_in_schema=False)

OptionalPrincipal = Annotated[Principal | None, Depends(optional_principal)]


LOGIN_CSRF_COOKIE = "jingwu_login_csrf"


def _logout_csrf(request: Request) -> str | None:
    """The logout form's token for the page's session (None without a session cookie)."""
    c = request.app.state.container
    token = request.cookies.get(c.settings.session_cookie)
    return services.csrf_token(c.settings.secret_key, token) if token else None


def _zone(request: Request) -> ZoneInfo:
    c = getattr(request.app.state, "container", None)
    return ZoneInfo(c.settings.timezone if c is not None else "Asia/Shanghai")


def _ctx(request: Request, principal: Principal | None, **extra: Any) -> dict[str, Any]:
    lang = pick_lang(request.query_params.get("lang"), request.cookies.get("lang"))
    return {
        "logout_csrf": _logout_csrf(request) if principal is not None else None,
        "request": request,
        "lang": lang,
        "t": lambda key: translate(lang, key),
        "principal": principal,
        "tz": _zone(request),
        "nav": [e for e in nav_entries(request)
                if e.permission is None or (principal is not None and principal.can(Permission(e.permission)))],
        "can_audit": bool(principal and principal.can(Permission.READ_AUDIT)),
        "role_label": (lambda r: ROLE_LABELS_ZH[r] if lang == "zh-CN" else r.value.replace("_", " ")),
        "object_links": lambda kind, oid: [
            (translate(lang, x.label_key), x.href.replace("{id}", quote(str(oid), safe="")))
            for x in getattr(request.app.state, "links", ())
            if x.object_type == kind and (x.permission is None or (principal is not None
                                                                   and principal.can(Permission(x.permission))))],
        **extra,
    }


def nav_entries(request: Request) -> list[NavEntry]:
    """The navigation the composition root built from the registered features (``app.state.nav``)."""
    return list(getattr(request.app.state, "nav", ()))


def _login_redirect(request: Request) -> RedirectResponse:
    nxt = quote(request.url.path)
    return RedirectResponse(f"/login?next={nxt}", status_code=303)


@router.get("/login", response_class=HTMLResponse)
def login_page(request: Request, p: OptionalPrincipal, next: str = "/") -> Response:
    """The login form, with a CSRF token that must come back both as a form field and as a cookie
    (double submit), so that another site cannot log a browser in to an account of its choosing."""
    csrf = request.cookies.get(LOGIN_CSRF_COOKIE) or secrets.token_urlsafe(24)
    resp = templates.TemplateResponse(request, "login.html", _ctx(request, None, next=_safe_next(next), error=None,
                                                                  csrf=csrf))
    resp.set_cookie(LOGIN_CSRF_COOKIE, csrf, httponly=True, samesite="strict", secure=request.url.scheme == "https")
    return resp


def _safe_next(nxt: str) -> str:
    return nxt if nxt.startswith("/") and not nxt.startswith("//") else "/"


@router.post("/login", response_class=HTMLResponse)
def login_submit(request: Request, c: ContainerDep, username: Annotated[str, Form()],
                 password: Annotated[str, Form()], next: Annotated[str, Form()] = "/",
                 csrf: Annotated[str, Form()] = "") -> Response:
    expected = request.cookies.get(LOGIN_CSRF_COOKIE) or ""
    if not expected or not hmac.compare_digest(csrf, expected):
        ctx = _ctx(request, None, next=_safe_next(next), error="csrf_failed", username=username,
                   csrf=expected or secrets.token_urlsafe(24))
        resp = templates.TemplateResponse(request, "login.html", ctx, status_code=403)
        resp.set_cookie(LOGIN_CSRF_COOKIE, ctx["csrf"], httponly=True, samesite="strict",
                        secure=request.url.scheme == "https")
        return resp
    try:
        issued = services.login(username, password, uow=c.uow(), clock=c.clock, secret=c.settings.secret_key,
                                ttl=timedelta(minutes=c.settings.token_ttl_minutes), kind="session",
                                read_uow=c.read_uow(), throttle=c.get(LOGIN_THROTTLE),
                                address=client_address(request))
    except TooManyRequests as exc:
        ctx = _ctx(request, None, next=_safe_next(next), error="login_locked", username=username,
                   retry_after=exc.retry_after, csrf=expected)
        return templates.TemplateResponse(request, "login.html", ctx, status_code=429,
                                          headers={"Retry-After": str(exc.retry_after)})
    except AppError:
        ctx = _ctx(request, None, next=_safe_next(next), error="login_failed", username=username, csrf=expected)
        return templates.TemplateResponse(request, "login.html", ctx, status_code=401)
    done = RedirectResponse(_safe_next(next), status_code=303)
    done.set_cookie(c.settings.session_cookie, issued.access_token, max_age=issued.expires_in, httponly=True,
                    samesite="strict", secure=request.url.scheme == "https")
    done.delete_cookie(LOGIN_CSRF_COOKIE)
    return done


@router.post("/logout")
def logout(request: Request, c: ContainerDep, csrf: Annotated[str, Form()] = "") -> Response:
    """End the page session server-side (the token stops working everywhere) and drop the cookie. A POST
    with the session's form token: a link on another site cannot log a user out."""
    token = request.cookies.get(c.settings.session_cookie)
    if token:
        expected = services.csrf_token(c.settings.secret_key, token)
        if not hmac.compare_digest(csrf, expected):
            raise Forbidden("The logout form's token is missing or wrong.", code="csrf")
        try:
            services.logout(token, uow=c.uow(), clock=c.clock, secret=c.settings.secret_key)
        except AppError:
            pass  # an expired or malformed token: nothing left to end
    resp = RedirectResponse("/login", status_code=303)
    resp.delete_cookie(c.settings.session_cookie)
    return resp


@router.get("/lang/{code}")
def set_lang(code: str, request: Request) -> Response:
    back = request.headers.get("referer") or "/"
    resp = RedirectResponse(back if back.startswith(str(request.base_url)) else "/", status_code=303)
    if code in ("zh-CN", "en"):
        resp.set_cookie("lang", code, max_age=3600 * 24 * 365, samesite="lax")
    return resp


@router.get("/docs", response_class=HTMLResponse, include_in_schema=False)
def api_docs(request: Request) -> Response:
    """Interactive API documentation: Swagger UI served from our own static files (no CDN), so it works offline."""
    return templates.TemplateResponse(request, "api_docs.html",
                                      _ctx(request, None, openapi_url=request.app.openapi_url or "/openapi.json"))


@router.get("/")
def home(p: OptionalPrincipal) -> Response:
    return RedirectResponse("/map" if p else "/login", status_code=303)


@router.get("/map", response_class=HTMLResponse)
def map_page(request: Request, p: OptionalPrincipal) -> Response:
    if p is None:
        return _login_redirect(request)
    return templates.TemplateResponse(request, "map.html", _ctx(request, p, active="map"))


@router.get("/m/{slug}", response_class=HTMLResponse)
def module_page(slug: str, request: Request, p: OptionalPrincipal) -> Response:
    if p is None:
        return _login_redirect(request)
    match = next((e for e in nav_entries(request) if e.slug == slug), None)
    if match is None:
        return templates.TemplateResponse(request, "coming.html", _ctx(request, p, active=slug, title_key=None),
                                          status_code=404)
    if match.ready:
        return RedirectResponse(match.href, status_code=303)
    return templates.TemplateResponse(request, "coming.html", _ctx(request, p, active=slug, title_key=match.label_key))


@router.get("/admin/audit", response_class=HTMLResponse)
def audit_page(request: Request, p: OptionalPrincipal, c: ContainerDep) -> Response:
    if p is None:
        return _login_redirect(request)
    if not p.can(Permission.READ_AUDIT):
        return templates.TemplateResponse(request, "forbidden.html", _ctx(request, p, active="audit"),
                                          status_code=403)
    n, brk, rows = views.audit_overview(p, uow=c.uow(), anchors=services.read_anchors(c.settings))
    return templates.TemplateResponse(request, "audit.html",
                                      _ctx(request, p, active="audit", rows=rows, entries=n, brk=brk))
