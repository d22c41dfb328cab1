"""The notification gateway in the running app and on the command line: the app's delivery job takes a
queued e-mail to a local SMTP server; administrators list (masked) and retry over the API, others are
refused; `jingwu notify list | retry | send-test`."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from jingwu.app import create_app
from jingwu.platform.container import Container, build_container
from jingwu.platform.db import upgrade
from jingwu.platform.notify import NotificationRequest, enqueue
from jingwu.platform.notify_gateways import NotifySettings
from jingwu.platform.settings import get_settings
from platform_notify.notify_servers import smtp_server
from support import StepClock, build_org, login, make_settings

pytestmark = pytest.mark.integration

PARAMS = {"case_number": "A2026-0001", "status": "已立案", "code": "K7Q2-9XPM-44TB"}


def wait_for(pred, timeout: float = 15.0) -> bool:  # type: ignore[no-untyped-def]
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if pred():
            return True
        time.sleep(0.05)
    return False


@pytest.fixture
def smtp() -> Iterator[tuple[int, object]]:
    with smtp_server() as got:
        yield got


def test_the_apps_job_delivers_to_smtp_and_admins_see_it_masked(tmp_path: Path, smtp) -> None:  # type: ignore[no-untyped-def]
    port, box = smtp
    s = make_settings(tmp_path, "sqlite").with_sections(
        NotifySettings(interval_s=0.1, email_adapter="smtp", smtp_port=port))
    c = build_container(s, clock=StepClock())
    upgrade(c.engine)
    org = build_org(c)
    try:
        with TestClient(create_app(s, c)) as client:
            with c.uow() as uow:
                nid = enqueue(uow, NotificationRequest(channel="email", address="zhang.san@example.org",
                                                       template="test.case_update", lang="zh-CN", params=PARAMS,
                                                       dedupe_key="case-1-filed", ref="A2026-0001",
                                                       agency_id=org.station_a))
                uow.commit()
            assert wait_for(lambda: len(box.messages) == 1)
            assert box.messages[0].rcpt_tos == ["zhang.san@example.org"]
            h = login(client, "admin", org.passwords["admin"])
            assert wait_for(lambda: client.get(f"/api/v1/admin/notifications/{nid}", headers=h)
                            .json()["status"] == "delivered")
            r = client.get("/api/v1/admin/notifications", headers=h, params={"ref": "A2026-0001"})
            assert r.status_code == 200
            [row] = r.json()
            assert row["to"] == "z***@example.org" and "zhang.san" not in r.text and "K7Q2" not in r.text
            assert row["history"] == [] and row["status"] == "delivered"
            one = client.get(f"/api/v1/admin/notifications/{nid}", headers=h).json()
            assert [a["outcome"] for a in one["history"]] == ["delivered"]
            r = client.post(f"/api/v1/admin/notifications/{nid}/retry", headers=h)
            assert r.status_code == 409 and r.json()["error"]["code"] == "not_retryable"
            assert client.get("/api/v1/admin/notifications", headers=h,
                              params={"status": "lost"}).json()["error"]["code"] == "unknown_status"
            assert client.get("/api/v1/admin/notifications/nope", headers=h).status_code == 404
            d = login(client, "disp_a", org.passwords["disp_a"])
            assert client.get("/api/v1/admin/notifications", headers=d).status_code == 403
            assert client.get("/api/v1/admin/notifications").status_code == 401
    finally:
        c.dispose()
    assert len(box.messages) == 1  # delivered once


@pytest.fixture
def cli_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Container]:
    monkeypatch.setenv("JINGWU_DATA_DIR", str(tmp_path / "var"))
    monkeypatch.delenv("JINGWU_DATABASE_URL", raising=False)
    get_settings.cache_clear()
    c = build_container(get_settings())
    upgrade(c.engine)
    yield c
    c.dispose()
    get_settings.cache_clear()


def test_cli_send_test_list_and_retry(cli_env: Container, smtp, monkeypatch: pytest.MonkeyPatch) -> None:  # type: ignore[no-untyped-def]
    from jingwu.cli import build_cli

    port, box = smtp
    monkeypatch.setenv("JINGWU_NOTIFY_EMAIL_ADAPTER", "smtp")
    monkeypatch.setenv("JINGWU_NOTIFY_SMTP_PORT", str(port))
    monkeypatch.setenv("JINGWU_NOTIFY_MAX_ATTEMPTS", "1")
    get_settings.cache_clear()
    cli = build_cli()
    runner = CliRunner()
    res = runner.invoke(cli, ["notify", "send-test", "--to", "ops@example.org", "--lang", "en"])
    assert res.exit_code == 0, res.output
    assert "delivered through smtp" in res.output
    assert len(box.messages) == 1
    box.refuse.add("gone@example.org")
    res = runner.invoke(cli, ["notify", "send-test", "--to", "gone@example.org"])
    assert res.exit_code == 1 and "dead" in res.output
    res = runner.invoke(cli, ["notify", "list"])
    assert res.exit_code == 0, res.output
    assert "o***@example.org" in res.output and "g***@example.org" in res.output
    assert "ops@example.org" not in res.output and "+08:00" in res.output
    dead_id = next(line.split()[0] for line in res.output.splitlines() if "dead" in line)
    box.refuse.clear()
    res = runner.invoke(cli, ["notify", "retry", dead_id])
    assert res.exit_code == 0, res.output
    res = runner.invoke(cli, ["notify", "list", "--status", "queued"])
    assert dead_id in res.output
    res = runner.invoke(cli, ["notify", "retry", dead_id])
    assert res.exit_code == 1 and "not_retryable" in res.output
    res = runner.invoke(cli, ["notify", "retry", "no-such-id"])
    assert res.exit_code == 1 and "notification_not_found" in res.output
    res = runner.invoke(cli, ["notify", "list", "--status", "bogus"])
    assert res.exit_code == 2 and "unknown status" in res.output
    res = runner.invoke(cli, ["notify", "send-test", "--to", "not-an-address"])
    assert res.exit_code == 2 and "invalid_address" in res.output
