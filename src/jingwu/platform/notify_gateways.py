"""The notification gateway: its port (``Gateway``: send one rendered message, say whether it was accepted),
the settings section that picks the adapters (``NotifySettings``, environment ``JINGWU_NOTIFY_*``) and the
three adapters: ``outbox`` (logs the message with the address masked and counts it delivered), ``http``
(a generic SMS provider: one HTTP request per message, a JSON body from a configured template, 2xx =
accepted) and ``smtp`` (e-mail through an SMTP relay, optional STARTTLS / implicit TLS and login).

A failure is a ``DeliveryError``; ``permanent=True`` when trying again cannot help (the provider refused
the request or the recipient), so the job marks the message dead at once.
"""

from __future__ import annotations

import json
import logging
import smtplib
import ssl
from collections.abc import Mapping
from dataclasses import dataclass
from email.message import EmailMessage
from email.utils import make_msgid
from string import Template
from typing import Any, Literal, Protocol

import httpx
from pydantic import Field, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

log = logging.getLogger("jingwu.notify")

CHANNELS = ("sms", "email", "outbox")


class NotifySettings(BaseSettings):
    """How notifications leave the system (environment ``JINGWU_NOTIFY_*``)."""

    model_config = SettingsConfigDict(env_prefix="JINGWU_NOTIFY_", env_file=None, extra="ignore")

    sms_adapter: Literal["outbox", "http"] = Field(default="outbox", description="SMS: outbox (log only) or http")
    email_adapter: Literal["outbox", "smtp"] = Field(default="outbox", description="E-mail: outbox or smtp")
    interval_s: float = Field(default=2.0, ge=0, description="Seconds between delivery passes; 0: job off")
    batch: int = Field(default=50, ge=1, le=1000, description="Rows claimed per pass")
    max_attempts: int = Field(default=6, ge=1, le=50, description="Attempts before a message is dead")
    backoff_base_s: float = Field(default=30.0, gt=0, description="Wait after the first failed attempt")
    backoff_max_s: float = Field(default=3600.0, gt=0, description="Longest wait between attempts")
    lease_s: float = Field(default=120.0, gt=0, description="How long a claimed row is held by one worker")
    # generic HTTP SMS provider
    http_url: str | None = Field(default=None, description="Provider endpoint (POST)")
    http_auth_header: str = Field(default="Authorization", description="Header carrying the credential")
    http_auth_value: str | None = Field(default=None, description="Its value, e.g. 'Bearer ...'")
    http_body: str = Field(default='{"to": "$to", "text": "$text", "id": "$id"}',
                           description="JSON body; string values may use $to $text $subject $id $lang")
    http_timeout_s: float = Field(default=10.0, gt=0)
    # SMTP
    smtp_host: str = "127.0.0.1"
    smtp_port: int = Field(default=25, ge=1, le=65535)
    smtp_security: Literal["none", "starttls", "tls"] = "none"
    smtp_username: str | None = None
    smtp_password: str | None = None
    smtp_from: str = "jingwu@localhost"
    smtp_timeout_s: float = Field(default=15.0, gt=0)

    @field_validator("http_body")
    @classmethod
    def _body_is_json_template(cls, v: str) -> str:
        try:
            doc = json.loads(v)
        except ValueError as exc:
            raise ValueError(f"JINGWU_NOTIFY_HTTP_BODY is not JSON: {exc}") from exc
        if not isinstance(doc, dict):
            raise ValueError("JINGWU_NOTIFY_HTTP_BODY must be a JSON object")
        for s in _strings(doc):
            try:
                Template(s).substitute(dict.fromkeys(BODY_FIELDS, ""))
            except (KeyError, ValueError) as exc:
                raise ValueError(f"JINGWU_NOTIFY_HTTP_BODY: unknown placeholder in {s!r} "
                                 f"(known: {', '.join('$' + f for f in BODY_FIELDS)})") from exc
        return v

    @model_validator(mode="after")
    def _complete(self) -> NotifySettings:
        """Refuse settings that cannot work (the app reads every section when it starts)."""
        if self.sms_adapter == "http" and not self.http_url:
            raise ValueError("JINGWU_NOTIFY_SMS_ADAPTER=http needs JINGWU_NOTIFY_HTTP_URL")
        if self.smtp_username and not self.smtp_password:
            raise ValueError("JINGWU_NOTIFY_SMTP_USERNAME needs JINGWU_NOTIFY_SMTP_PASSWORD")
        return self


BODY_FIELDS = ("to", "text", "subject", "id", "lang")


def _strings(doc: Any) -> list[str]:
    if isinstance(doc, str):
        return [doc]
    if isinstance(doc, dict):
        return [s for v in doc.values() for s in _strings(v)]
    if isinstance(doc, list):
        return [s for v in doc for s in _strings(v)]
    return []


def _fill(doc: Any, values: Mapping[str, str]) -> Any:
    """The body template with placeholders substituted in its string values (never in the JSON text, so a
    message cannot break out of its string)."""
    if isinstance(doc, str):
        return Template(doc).substitute(values)
    if isinstance(doc, dict):
        return {k: _fill(v, values) for k, v in doc.items()}
    if isinstance(doc, list):
        return [_fill(v, values) for v in doc]
    return doc


@dataclass(frozen=True)
class Message:
    """One rendered message to one address."""

    id: str
    channel: str
    address: str
    subject: str
    body: str
    lang: str


@dataclass(frozen=True)
class Accepted:
    provider_ref: str | None = None


class DeliveryError(Exception):
    def __init__(self, message: str, *, permanent: bool = False) -> None:
        super().__init__(message)
        self.permanent = permanent


class Gateway(Protocol):
    """The port: send one message; return ``Accepted`` or raise ``DeliveryError``."""

    name: str

    def send(self, msg: Message) -> Accepted: ...


def mask_address(address: str) -> str:
    """An address as logs and the administration page show it: ``138****5678``, ``z***@example.org``."""
    a = address.strip()
    if "@" in a:
        local, _, domain = a.rpartition("@")
        return f"{local[:1]}***@{domain}"
    digits = [ch for ch in a if ch.isdigit()]
    if len(digits) >= 7:
        d = "".join(digits)
        if d.startswith("86") and len(d) == 13:
            d = d[2:]
        return f"{d[:3]}{'*' * max(len(d) - 7, 1)}{d[-4:]}"
    return a[:1] + "***" if a else ""


class OutboxGateway:
    """Keeps the message in the table and writes a log line (address masked); counts it delivered."""

    name = "outbox"

    def send(self, msg: Message) -> Accepted:
        log.info("notification kept in the outbox", extra={
            "notification": msg.id, "channel": msg.channel, "to": mask_address(msg.address), "lang": msg.lang,
            "chars": len(msg.body)})
        return Accepted("outbox")


class HttpSmsGateway:
    """A generic HTTP SMS provider: POST of the configured JSON body; 2xx = accepted; 4xx other than
    408/429 = refused for good; anything else (5xx, timeouts, connection errors) = try again."""

    name = "http"

    def __init__(self, s: NotifySettings, client: httpx.Client | None = None) -> None:
        if not s.http_url:
            raise ValueError("the HTTP SMS adapter needs JINGWU_NOTIFY_HTTP_URL")
        self.url = s.http_url
        self.body = json.loads(s.http_body)
        self.headers = {s.http_auth_header: s.http_auth_value} if s.http_auth_value else {}
        self.client = client or httpx.Client(timeout=s.http_timeout_s)

    def send(self, msg: Message) -> Accepted:
        payload = _fill(self.body, {"to": msg.address, "text": msg.body, "subject": msg.subject, "id": msg.id,
                                    "lang": msg.lang})
        try:
            r = self.client.post(self.url, json=payload, headers={**self.headers, "Idempotency-Key": msg.id})
        except httpx.HTTPError as exc:
            raise DeliveryError(f"http: {type(exc).__name__}: {exc}") from exc
        if 200 <= r.status_code < 300:
            ref = None
            try:
                doc = r.json()
                if isinstance(doc, dict):
                    got = doc.get("id") or doc.get("message_id") or doc.get("messageId")
                    ref = str(got)[:200] if got is not None else None
            except ValueError:
                pass
            return Accepted(ref)
        permanent = 400 <= r.status_code < 500 and r.status_code not in (408, 429)
        raise DeliveryError(f"http: provider answered {r.status_code}", permanent=permanent)


class SmtpGateway:
    """E-mail through an SMTP relay: plain, STARTTLS or implicit TLS, with an optional login. A 5xx answer
    (recipient refused, message refused) is permanent; 4xx and connection problems are retried."""

    name = "smtp"

    def __init__(self, s: NotifySettings, tls_context: ssl.SSLContext | None = None) -> None:
        self.s = s
        self.ctx = tls_context or ssl.create_default_context()

    def send(self, msg: Message) -> Accepted:
        s = self.s
        em = EmailMessage()
        em["From"] = s.smtp_from
        em["To"] = msg.address
        em["Subject"] = msg.subject
        mid = make_msgid(idstring=msg.id.replace("-", ""), domain=s.smtp_from.rpartition("@")[2] or "localhost")
        em["Message-ID"] = mid
        em.set_content(msg.body)
        try:
            smtp: smtplib.SMTP
            if s.smtp_security == "tls":
                smtp = smtplib.SMTP_SSL(s.smtp_host, s.smtp_port, timeout=s.smtp_timeout_s, context=self.ctx)
            else:
                smtp = smtplib.SMTP(s.smtp_host, s.smtp_port, timeout=s.smtp_timeout_s)
            with smtp:
                if s.smtp_security == "starttls":
                    smtp.starttls(context=self.ctx)
                if s.smtp_username:
                    smtp.login(s.smtp_username, s.smtp_password or "")
                refused = smtp.send_message(em)
        except smtplib.SMTPRecipientsRefused as exc:
            raise DeliveryError("smtp: recipient refused", permanent=True) from exc
        except smtplib.SMTPAuthenticationError as exc:
            raise DeliveryError(f"smtp: login refused ({exc.smtp_code})") from exc
        except smtplib.SMTPResponseException as exc:
            raise DeliveryError(f"smtp: server answered {exc.smtp_code}",
                                permanent=500 <= exc.smtp_code < 600) from exc
        except (smtplib.SMTPException, OSError) as exc:
            raise DeliveryError(f"smtp: {type(exc).__name__}: {exc}") from exc
        if refused:
            raise DeliveryError("smtp: recipient refused", permanent=True)
        return Accepted(mid)


@dataclass
class Gateways:
    """The adapter per channel, built from the settings (``outbox`` is always the outbox adapter)."""

    sms: Gateway
    email: Gateway
    outbox: Gateway

    def for_channel(self, channel: str) -> Gateway:
        return {"sms": self.sms, "email": self.email, "outbox": self.outbox}[channel]


def make_gateways(s: NotifySettings) -> Gateways:
    box = OutboxGateway()
    return Gateways(sms=HttpSmsGateway(s) if s.sms_adapter == "http" else box,
                    email=SmtpGateway(s) if s.email_adapter == "smtp" else box, outbox=box)
