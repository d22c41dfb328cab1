"""Notifications to people outside the system (parties of a case, partner agencies): the API features call
and the delivery that runs behind it.

- ``register_template(name, zh=(subject, body), en=(subject, body))``: message templates, Jinja2 in a
  sandbox with ``StrictUndefined`` (a missing parameter is an error, never an empty string).
- ``enqueue(uow, NotificationRequest(...))``: a row in ``notifications`` written in the caller's
  transaction (a transactional outbox: nothing is sent when the caller rolls back), idempotent on
  ``dedupe_key``.
- ``deliver_due(...)``: one delivery pass (the platform's ``notify`` job runs it every few seconds):
  claim due rows under a lease, render in the recipient's language, send through the channel's adapter
  (``notify_gateways``), record the attempt; failures retry with exponential backoff until dead.
- ``list_notifications`` / ``notification_detail`` / ``retry`` / ``send_test``: the administrators' view
  (addresses masked) and actions, used by the API, the page and ``jingwu notify``.

States: queued → sending → delivered | failed (→ sending again when due) | dead (docs/methods/notifications.md).
"""

from __future__ import annotations

import logging
import re
import secrets
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from jinja2 import StrictUndefined, TemplateError
from jinja2.sandbox import SandboxedEnvironment
from prometheus_client import Counter

from jingwu.platform.clock import Clock
from jingwu.platform.container import Container, Slot
from jingwu.platform.documents import redact
from jingwu.platform.domain import Permission, Principal
from jingwu.platform.errors import Conflict, InvalidInput, NotFound
from jingwu.platform.notify_gateways import (
    CHANNELS,
    DeliveryError,
    Gateways,
    Message,
    NotifySettings,
    make_gateways,
    mask_address,
)
from jingwu.platform.notify_store import AttemptRow, NotificationRow, repo
from jingwu.platform.tables import new_id

log = logging.getLogger("jingwu.notify")

LANGS = ("zh-CN", "en")
STATUSES = ("queued", "sending", "delivered", "failed", "dead")
TEST_TEMPLATE = "platform.test"

_env = SandboxedEnvironment(undefined=StrictUndefined, autoescape=False, keep_trailing_newline=False)

ATTEMPTS = Counter("jingwu_notification_attempts_total", "Notification delivery attempts by outcome",
                   ["channel", "adapter", "outcome"])


@dataclass(frozen=True)
class NotificationRequest:
    channel: str  # "sms" | "email" | "outbox"
    address: str
    template: str
    lang: str  # "zh-CN" | "en"
    params: Mapping[str, str]
    dedupe_key: str
    ref: str = ""
    due_by: datetime | None = None
    agency_id: str | None = None  # the agency on whose behalf it is sent: scopes the administrators' list


@dataclass(frozen=True)
class _Template:
    zh: tuple[str, str]
    en: tuple[str, str]


_TEMPLATES: dict[str, _Template] = {}
_COMPILED: dict[tuple[str, str], tuple[Any, Any]] = {}  # (name, lang) -> compiled (subject, body)


def register_template(name: str, *, zh: tuple[str, str], en: tuple[str, str]) -> None:
    """Register (subject, body) in Chinese and English under ``name``. The texts are compiled now, so a
    syntax error fails at import; registering the same name again with other texts is refused."""
    if not name or len(name) > 100:
        raise ValueError("a template name is 1 to 100 characters")
    t = _Template(tuple(zh), tuple(en))  # type: ignore[arg-type]
    compiled = {lang: (_env.from_string(subj), _env.from_string(body))  # raises TemplateSyntaxError
                for lang, (subj, body) in (("zh-CN", t.zh), ("en", t.en))}
    old = _TEMPLATES.get(name)
    if old is not None and old != t:
        raise ValueError(f"template {name!r} is already registered with other texts")
    _TEMPLATES[name] = t
    for lang, pair in compiled.items():
        _COMPILED[(name, lang)] = pair


def registered_templates() -> list[str]:
    return sorted(_TEMPLATES)


def render_message(template: str, lang: str, params: Mapping[str, str]) -> tuple[str, str]:
    """(subject, body) of a registered template in ``lang``; InvalidInput when the template is unknown
    or a parameter it uses is missing."""
    pair = _COMPILED.get((template, lang if lang == "zh-CN" else "en"))
    if pair is None:
        raise InvalidInput(f"No notification template is registered as {template!r}.", code="unknown_template")
    subject, body = pair
    try:
        return subject.render(**params).strip(), body.render(**params)
    except TemplateError as exc:
        raise InvalidInput(f"Template {template!r} could not be rendered: {exc}", code="template_params") from exc


register_template(TEST_TEMPLATE,
                  zh=("警务平台测试消息", "这是警务平台发出的测试消息（{{ sent_at }}），无需回复。"),
                  en=("Jingwu test message", "This is a test message from Jingwu ({{ sent_at }}); no reply needed."))


# ---------------------------------------------------------------- enqueue

_PHONE = re.compile(r"^\+?[0-9][0-9 ()\-]{4,24}$")
_EMAIL = re.compile(r"^[^@\s<>\"',;]+@[A-Za-z0-9.\-]+\.[A-Za-z]{2,}$")


def _check_address(channel: str, address: str) -> str:
    a = address.strip()
    if channel == "sms" and not _PHONE.match(a):
        raise InvalidInput("An SMS address is a phone number (digits, optional +, spaces or dashes).",
                           code="invalid_address")
    if channel == "email" and not _EMAIL.match(a):
        raise InvalidInput("An e-mail address looks like name@example.org.", code="invalid_address")
    if not a or len(a) > 320:
        raise InvalidInput("The address is empty or longer than 320 characters.", code="invalid_address")
    return a


def _params(params: Mapping[str, Any]) -> dict[str, str]:
    out: dict[str, str] = {}
    for k, v in params.items():
        if not isinstance(k, str) or not k.isidentifier():
            raise InvalidInput(f"Template parameter names are identifiers, not {k!r}.", code="invalid_params")
        if isinstance(v, bool) or not isinstance(v, str | int | float):
            raise InvalidInput(f"Template parameter {k!r} must be text.", code="invalid_params")
        out[k] = str(v)
    return out


def enqueue(uow: Any, req: NotificationRequest) -> str:
    """Queue a notification in the caller's transaction and return its id. ``uow`` has a ``session`` (and a
    ``clock``; without one the system clock). The same ``dedupe_key`` again returns the first row's id and
    changes nothing. Unknown channel, template or language, a bad address or missing parameters →
    InvalidInput, nothing written."""
    if req.channel not in CHANNELS:
        raise InvalidInput(f"Unknown notification channel {req.channel!r} (known: {', '.join(CHANNELS)}).",
                           code="unknown_channel")
    if req.template not in _TEMPLATES:
        raise InvalidInput(f"No notification template is registered as {req.template!r}.", code="unknown_template")
    if req.lang not in LANGS:
        raise InvalidInput(f"Unknown language {req.lang!r} (known: {', '.join(LANGS)}).", code="unknown_lang")
    if not req.dedupe_key or len(req.dedupe_key) > 200:
        raise InvalidInput("The dedupe key is 1 to 200 characters.", code="invalid_dedupe_key")
    if len(req.ref) > 200:
        raise InvalidInput("The reference is at most 200 characters.", code="invalid_ref")
    if req.due_by is not None and req.due_by.tzinfo is None:
        raise InvalidInput("due_by must carry a time zone.", code="invalid_due_by")
    address = _check_address(req.channel, req.address)
    params = _params(req.params)
    for lang in LANGS:  # both languages render with these parameters, or nothing is queued
        render_message(req.template, lang, params)
    r = repo(uow)
    got = r.by_dedupe_key(req.dedupe_key)
    if got is not None:
        return got
    clock = getattr(uow, "clock", None)
    now = clock.now() if clock is not None else datetime.now(UTC)
    return r.add({"id": new_id(), "dedupe_key": req.dedupe_key, "channel": req.channel, "address": address,
                  "template": req.template, "lang": req.lang, "params": params, "ref": req.ref,
                  "agency_id": req.agency_id, "status": "queued", "attempts": 0, "created_at": now,
                  "next_attempt_at": now, "due_by": req.due_by})


# ---------------------------------------------------------------- delivery

def backoff_s(attempts: int, s: NotifySettings) -> float:
    """Seconds to wait after the ``attempts``-th failed attempt: base · 2^(attempts−1), at most the maximum."""
    return float(min(s.backoff_base_s * 2 ** max(attempts - 1, 0), s.backoff_max_s))


@dataclass(frozen=True)
class Outcome:
    id: str
    status: str  # delivered | failed | dead | lost (the lease passed to another worker meanwhile)
    attempt: int
    detail: str | None = None


GATEWAYS: Slot[Gateways] = Slot("platform.notify_gateways",
                                lambda c: make_gateways(c.settings.section(NotifySettings)))


def _mask_in(text: str, address: str) -> str:
    """An error text fit for logs: the address masked, and any other phone number, e-mail address or
    ID number in it too (documents.redact)."""
    return redact(text.replace(address, mask_address(address)) if address else text)


def deliver_due(*, uow_factory: Callable[[], Any], gateways: Gateways, settings: NotifySettings, clock: Clock,
                only: str | None = None, reader: Callable[[], Any] | None = None) -> list[Outcome]:
    """One delivery pass: claim up to ``settings.batch`` due rows (``only``: just that one), send each and
    record the outcome. At least once: a worker that dies after sending but before recording leaves the
    row to be claimed again when its lease ends. With a ``reader`` (read-only units of work) an idle pass
    only reads: no write transaction unless something is due."""
    now = clock.now()
    if reader is not None:
        with reader() as ro:
            if not repo(ro).due_ids(now, 1, only):
                return []
    token = secrets.token_hex(16)
    lease_until = now + timedelta(seconds=settings.lease_s)
    with uow_factory() as uow:
        r = repo(uow)
        claimed: list[NotificationRow] = []
        for nid in r.due_ids(now, settings.batch, only):
            if r.claim(nid, token=token, now=now, lease_until=lease_until):
                row = r.get(nid)
                if row is not None:
                    claimed.append(row)
        uow.commit()
    return [_deliver_one(row, token, uow_factory=uow_factory, gateways=gateways, settings=settings, clock=clock)
            for row in claimed]


def _deliver_one(row: NotificationRow, token: str, *, uow_factory: Callable[[], Any], gateways: Gateways,
                 settings: NotifySettings, clock: Clock) -> Outcome:
    started = clock.now()
    gw = gateways.for_channel(row.channel)
    provider_ref: str | None = None
    error: DeliveryError | None = None
    if row.attempts > settings.max_attempts:  # its last worker died mid-send: not tried again
        error = DeliveryError("attempts exhausted (the last attempt's worker stopped)", permanent=True)
    else:
        try:
            subject, body = render_message(row.template, row.lang, row.params)
            provider_ref = gw.send(Message(row.id, row.channel, row.address, subject, body, row.lang)).provider_ref
        except InvalidInput as exc:  # the template is not registered in this process (yet)
            error = DeliveryError(f"{exc.code}: {exc.message}")
        except DeliveryError as exc:
            error = exc
        except Exception as exc:  # an adapter bug must not stop the pass
            log.exception("notification adapter failed", extra={"notification": row.id})
            error = DeliveryError(f"{type(exc).__name__}")
    finished = clock.now()
    if error is None:
        status, values, detail = "delivered", {"status": "delivered", "delivered_at": finished,
                                               "provider_ref": provider_ref, "last_error": None}, None
        if gw.name != "outbox":  # the message has left: its parameters (an access code, say) are not kept
            values["params"] = "{}"
    else:
        detail = _mask_in(str(error), row.address)[:1000]
        if error.permanent or row.attempts >= settings.max_attempts:
            status, values = "dead", {"status": "dead", "last_error": detail}
        else:
            wait = timedelta(seconds=backoff_s(row.attempts, settings))
            status, values = "failed", {"status": "failed", "last_error": detail, "next_attempt_at": finished + wait}
    with uow_factory() as uow:
        r = repo(uow)
        kept = r.finish(row.id, token=token, values=values)
        r.add_attempt({"notification_id": row.id, "attempt": row.attempts, "started_at": started,
                       "finished_at": finished, "outcome": status if kept else "lost", "adapter": gw.name,
                       "detail": detail, "provider_ref": provider_ref})
        uow.commit()
    ATTEMPTS.labels(row.channel, gw.name, status if kept else "lost").inc()
    level = logging.INFO if status == "delivered" else logging.WARNING
    log.log(level, "notification %s", status, extra={
        "notification": row.id, "channel": row.channel, "to": mask_address(row.address), "attempt": row.attempts,
        "adapter": gw.name, "error": detail})
    return Outcome(row.id, status if kept else "lost", row.attempts, detail)


def delivery_job_fn(c: Container) -> Callable[[], list[Outcome]]:
    s = c.settings.section(NotifySettings)
    return lambda: deliver_due(uow_factory=c.uow, gateways=c.get(GATEWAYS), settings=s, clock=c.clock,
                               reader=c.read_uow)


# ---------------------------------------------------------------- administration

@dataclass(frozen=True)
class NotificationView:
    """What administrators see: the address masked, no parameters or message text."""

    id: str
    channel: str
    to: str
    template: str
    lang: str
    ref: str
    agency_id: str | None
    status: str
    attempts: int
    created_at: datetime
    next_attempt_at: datetime | None
    due_by: datetime | None
    delivered_at: datetime | None
    late: bool  # not delivered by due_by (or delivered after it)
    last_error: str | None
    history: list[AttemptRow] = field(default_factory=list)


def _view(r: NotificationRow, now: datetime, history: Sequence[AttemptRow] = ()) -> NotificationView:
    late = r.due_by is not None and ((r.delivered_at or now) > r.due_by)
    return NotificationView(id=r.id, channel=r.channel, to=mask_address(r.address), template=r.template,
                            lang=r.lang, ref=r.ref, agency_id=r.agency_id, status=r.status, attempts=r.attempts,
                            created_at=r.created_at,
                            next_attempt_at=r.next_attempt_at if r.status in ("queued", "failed") else None,
                            due_by=r.due_by, delivered_at=r.delivered_at, late=late, last_error=r.last_error,
                            history=list(history))


def _is_top(p: Principal) -> bool:
    """A user of a top-level agency (``/id/``) also sees notifications sent on no agency's behalf."""
    return p.agency_path.count("/") <= 2


def list_notifications(p: Principal, *, uow: Any, statuses: Sequence[str] = (), ref: str | None = None,
                       limit: int = 200) -> list[NotificationView]:
    p.require(Permission.MANAGE_ORG)
    bad = [x for x in statuses if x not in STATUSES]
    if bad:
        raise InvalidInput(f"Unknown status {bad[0]!r} (known: {', '.join(STATUSES)}).", code="unknown_status")
    if not 1 <= limit <= 1000:
        raise InvalidInput("limit is 1 to 1000.", code="invalid_limit")
    with uow:
        rows = repo(uow).listing(agency_path=p.agency_path, include_unscoped=_is_top(p), statuses=statuses,
                                 ref=ref, limit=limit)
        now = uow.clock.now()
    return [_view(r, now) for r in rows]


def _visible(p: Principal, uow: Any, nid: str) -> NotificationRow:
    row = repo(uow).get(nid)
    if row is not None:
        if row.agency_id is None:
            ok = _is_top(p)
        else:
            try:
                ok = p.in_scope(uow.agencies.get(row.agency_id).path)
            except NotFound:  # its agency was deleted: only the top level sees it
                ok = _is_top(p)
        if ok:
            return row
    raise NotFound("No such notification.", code="notification_not_found")


def notification_detail(p: Principal, nid: str, *, uow: Any) -> NotificationView:
    p.require(Permission.MANAGE_ORG)
    with uow:
        row = _visible(p, uow, nid)
        return _view(row, uow.clock.now(), repo(uow).attempts_of(nid))


def retry(p: Principal, nid: str, *, uow: Any) -> NotificationView:
    """Queue a failed or dead notification again, due now, with a fresh attempt count (audited)."""
    p.require(Permission.MANAGE_ORG)
    with uow:
        row = _visible(p, uow, nid)
        if not repo(uow).requeue(nid, uow.clock.now()):
            raise Conflict(f"Only failed or dead notifications can be retried; this one is {row.status}.",
                           code="not_retryable")
        uow.audit.write(actor=p.username, action="notification_retried", object_type="notification",
                        object_id=nid, agency_id=row.agency_id, detail={"was": row.status, "attempts": row.attempts})
        uow.commit()
    return notification_detail(p, nid, uow=uow)


def retry_as_operator(nid: str, *, uow: Any) -> None:
    """``jingwu notify retry``: the same as ``retry`` for the server's operator (audited as ``cli``)."""
    with uow:
        row = repo(uow).get(nid)
        if row is None:
            raise NotFound("No such notification.", code="notification_not_found")
        if not repo(uow).requeue(nid, uow.clock.now()):
            raise Conflict(f"Only failed or dead notifications can be retried; this one is {row.status}.",
                           code="not_retryable")
        uow.audit.write(actor="cli", action="notification_retried", object_type="notification", object_id=nid,
                        agency_id=row.agency_id, detail={"was": row.status, "attempts": row.attempts})
        uow.commit()


def send_test(channel: str, address: str, lang: str, *, uow_factory: Callable[[], Any], gateways: Gateways,
              settings: NotifySettings, clock: Clock, tz_label: str) -> Outcome:
    """Queue the built-in test message and deliver it at once (one attempt); the row stays for the record."""
    with uow_factory() as uow:
        nid = enqueue(uow, NotificationRequest(channel=channel, address=address, template=TEST_TEMPLATE, lang=lang,
                                               params={"sent_at": tz_label}, dedupe_key=f"test:{new_id()}",
                                               ref="send-test"))
        uow.audit.write(actor="cli", action="notification_test", object_type="notification", object_id=nid,
                        detail={"channel": channel, "to": mask_address(address)})
        uow.commit()
    got = deliver_due(uow_factory=uow_factory, gateways=gateways, settings=settings, clock=clock, only=nid)
    return got[0] if got else Outcome(nid, "queued", 0, "not claimed")
