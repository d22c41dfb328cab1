"""The adapters against real local servers: the generic HTTP SMS provider (a local HTTP server) and SMTP
e-mail (a local aiosmtpd server, plain and STARTTLS with a login); outcomes recorded as the job does."""

from __future__ import annotations

import ssl
from email import message_from_bytes
from email.header import decode_header, make_header
from pathlib import Path

import pytest

from jingwu.platform.container import Container
from jingwu.platform.notify import NotificationRequest, deliver_due, enqueue
from jingwu.platform.notify_gateways import (
    DeliveryError,
    HttpSmsGateway,
    Message,
    NotifySettings,
    SmtpGateway,
    make_gateways,
)
from jingwu.platform.notify_store import repo
from platform_notify.notify_servers import http_provider, self_signed, smtp_server

pytestmark = pytest.mark.integration

PARAMS = {"case_number": "A2026-0001", "status": "已立案", "code": "K7Q2-9XPM-44TB"}


def queue(c: Container, channel: str, address: str, lang: str = "zh-CN", key: str = "k1") -> str:
    with c.uow() as uow:
        nid = enqueue(uow, NotificationRequest(channel=channel, address=address, template="test.case_update",
                                               lang=lang, params=PARAMS, dedupe_key=key))
        uow.commit()
    return nid


def test_http_sms_provider_receives_the_configured_body(container: Container) -> None:
    with http_provider() as (url, rec):
        s = NotifySettings(interval_s=0, sms_adapter="http", http_url=url, http_auth_header="X-Api-Key",
                           http_auth_value="secret-123",
                           http_body='{"phone": "$to", "content": "$text", "sign": "警务", "meta": {"ref": "$id"}}')
        nid = queue(container, "sms", "13812345678")
        [o] = deliver_due(uow_factory=container.uow, gateways=make_gateways(s), settings=s, clock=container.clock)
        assert o.status == "delivered"
        [r] = rec.requests
        assert r["path"] == "/sms/send" and r["headers"]["X-Api-Key"] == "secret-123"
        assert r["json"] == {"phone": "13812345678", "sign": "警务", "meta": {"ref": nid},
                             "content": "您好，案件A2026-0001状态更新为：已立案。查询码 K7Q2-9XPM-44TB。"}
        assert r["headers"]["Idempotency-Key"] == nid
    with container.read_uow() as uow:
        row = repo(uow).get(nid)
    assert row is not None and row.provider_ref == "prov-1"


def test_a_message_cannot_break_out_of_its_json_string(container: Container) -> None:
    with http_provider() as (url, rec):
        gw = HttpSmsGateway(NotifySettings(sms_adapter="http", http_url=url))
        gw.send(Message("m1", "sms", "13812345678", "s", 'x", "to": "evil', "zh-CN"))
        assert rec.requests[0]["json"]["text"] == 'x", "to": "evil'
        assert rec.requests[0]["json"]["to"] == "13812345678"


def test_http_5xx_is_retried_and_4xx_is_dead(container: Container) -> None:
    with http_provider() as (url, rec):
        s = NotifySettings(interval_s=0, sms_adapter="http", http_url=url)
        gws = make_gateways(s)
        queue(container, "sms", "13812345678", key="a")
        rec.status = 503
        [o] = deliver_due(uow_factory=container.uow, gateways=gws, settings=s, clock=container.clock)
        assert o.status == "failed" and "503" in (o.detail or "")
        container.clock.advance(seconds=s.backoff_base_s + 1)
        rec.status = 400
        [o] = deliver_due(uow_factory=container.uow, gateways=gws, settings=s, clock=container.clock)
        assert (o.status, o.attempt) == ("dead", 2)
        assert len(rec.requests) == 2


def test_unreachable_provider_is_a_transient_failure() -> None:
    from support import free_port

    gw = HttpSmsGateway(NotifySettings(sms_adapter="http", http_url=f"http://127.0.0.1:{free_port()}/x",
                                       http_timeout_s=2))
    with pytest.raises(DeliveryError) as e:
        gw.send(Message("m1", "sms", "13812345678", "s", "t", "zh-CN"))
    assert not e.value.permanent


def test_email_reaches_a_local_smtp_server(container: Container) -> None:
    with smtp_server() as (port, box):
        s = NotifySettings(interval_s=0, email_adapter="smtp", smtp_host="127.0.0.1", smtp_port=port,
                           smtp_from="notify@jingwu.example")
        nid = queue(container, "email", "victim@example.org", lang="en")
        [o] = deliver_due(uow_factory=container.uow, gateways=make_gateways(s), settings=s, clock=container.clock)
        assert o.status == "delivered"
        [env] = box.messages
        assert env.rcpt_tos == ["victim@example.org"] and env.mail_from == "notify@jingwu.example"
        msg = message_from_bytes(env.original_content)
        assert msg["Subject"] == "Case A2026-0001 update"
        assert "Access code K7Q2-9XPM-44TB" in msg.get_payload(decode=True).decode()
    with container.read_uow() as uow:
        row = repo(uow).get(nid)
    assert row is not None and row.provider_ref is not None and nid.replace("-", "") in row.provider_ref


def test_chinese_subject_and_body_arrive_intact(container: Container) -> None:
    with smtp_server() as (port, box):
        s = NotifySettings(interval_s=0, email_adapter="smtp", smtp_port=port)
        queue(container, "email", "party@example.org")
        [o] = deliver_due(uow_factory=container.uow, gateways=make_gateways(s), settings=s, clock=container.clock)
        assert o.status == "delivered"
        msg = message_from_bytes(box.messages[0].original_content)
        assert str(make_header(decode_header(msg["Subject"]))) == "案件A2026-0001进展"
        assert "查询码 K7Q2-9XPM-44TB" in msg.get_payload(decode=True).decode("utf-8")


def test_refused_recipient_is_dead(container: Container) -> None:
    with smtp_server() as (port, box):
        box.refuse.add("gone@example.org")
        s = NotifySettings(interval_s=0, email_adapter="smtp", smtp_port=port)
        queue(container, "email", "gone@example.org")
        [o] = deliver_due(uow_factory=container.uow, gateways=make_gateways(s), settings=s, clock=container.clock)
        assert o.status == "dead" and "gone@example.org" not in (o.detail or "")


def test_smtp_server_down_is_retried(container: Container) -> None:
    from support import free_port

    s = NotifySettings(interval_s=0, email_adapter="smtp", smtp_port=free_port(), smtp_timeout_s=2)
    queue(container, "email", "party@example.org")
    [o] = deliver_due(uow_factory=container.uow, gateways=make_gateways(s), settings=s, clock=container.clock)
    assert o.status == "failed"


def test_starttls_with_login(tmp_path: Path) -> None:
    with smtp_server(tls_dir=tmp_path, login=("jw", "pw-123")) as (port, box):
        ctx = ssl.create_default_context(cafile=str(tmp_path / "cert.pem"))
        good = NotifySettings(email_adapter="smtp", smtp_host="localhost", smtp_port=port, smtp_security="starttls",
                              smtp_username="jw", smtp_password="pw-123")
        SmtpGateway(good, tls_context=ctx).send(Message("m1", "email", "a@example.org", "主题", "正文", "zh-CN"))
        assert len(box.messages) == 1
        bad = good.model_copy(update={"smtp_password": "wrong", "smtp_timeout_s": 3})
        with pytest.raises(DeliveryError):  # refused (or the server hangs up on the failed login)
            SmtpGateway(bad, tls_context=ctx).send(Message("m2", "email", "a@example.org", "s", "b", "en"))
        good = good.model_copy(update={"smtp_timeout_s": 3})
        untrusted = ssl.create_default_context()  # the self-signed certificate is not trusted by default
        with pytest.raises(DeliveryError):
            SmtpGateway(good, tls_context=untrusted).send(Message("m3", "email", "a@example.org", "s", "b", "en"))
        assert len(box.messages) == 1
    assert self_signed  # the certificate helper is shared with the fixtures


def test_settings_refuse_what_cannot_work() -> None:
    from pydantic import ValidationError

    with pytest.raises(ValidationError, match="HTTP_URL"):
        NotifySettings(sms_adapter="http")
    with pytest.raises(ValidationError, match="unknown placeholder"):
        NotifySettings(http_body='{"to": "$phone"}')
    with pytest.raises(ValidationError, match="not JSON"):
        NotifySettings(http_body="{to: $to}")
    with pytest.raises(ValidationError, match="PASSWORD"):
        NotifySettings(smtp_username="jw")
