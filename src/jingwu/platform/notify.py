"""Notification port (STAND-IN). The real module, with the outbox table, the SMS/SMTP adapters, retries and
delivery status, is built by the ``notify`` helper and replaces this file at merge; this stand-in has exactly
the same public names so that features can be written against the port.

This stand-in keeps the registered templates in a dict and the enqueued requests in an in-memory list
(``SENT``), not in the caller's transaction: callers enqueue last, just before they commit.
"""

from __future__ import annotations

import threading
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from jingwu.platform.errors import InvalidInput

CHANNELS = ("sms", "email", "outbox")
LANGS = ("zh-CN", "en")


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


_TEMPLATES: dict[str, dict[str, tuple[str, str]]] = {}
_LOCK = threading.Lock()
SENT: list[NotificationRequest] = []  # stand-in storage (the real port writes an outbox table)
_KEYS: set[str] = set()


def register_template(name: str, *, zh: tuple[str, str], en: tuple[str, str]) -> None:
    """Register a template: (subject, body) Jinja2 strings per language."""
    with _LOCK:
        _TEMPLATES[name] = {"zh-CN": zh, "en": en}


def enqueue(uow: Any, req: NotificationRequest) -> str:
    """Queue one notification; returns its id (the dedupe key: a repeated key is queued once)."""
    if req.template not in _TEMPLATES:
        raise InvalidInput(f"unknown notification template {req.template!r}", code="unknown_template")
    if req.channel not in CHANNELS:
        raise InvalidInput(f"unknown channel {req.channel!r}", code="invalid_channel")
    if req.lang not in LANGS:
        raise InvalidInput(f"unknown language {req.lang!r}", code="invalid_lang")
    with _LOCK:
        if req.dedupe_key not in _KEYS:
            _KEYS.add(req.dedupe_key)
            SENT.append(req)
    return req.dedupe_key
