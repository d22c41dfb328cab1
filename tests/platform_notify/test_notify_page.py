"""The notifications page: administrators see their subtree's notifications with masked addresses, times
in the deployment's zone, Chinese by default and English on switch; others are refused; the page's retry
button queues a dead notification again (real Chromium on a real server, screenshots in both languages)."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
import uvicorn
from fastapi.testclient import TestClient

from jingwu.app import create_app
from jingwu.platform.container import Container, build_container
from jingwu.platform.db import upgrade
from jingwu.platform.notify import NotificationRequest, deliver_due, enqueue
from jingwu.platform.notify_gateways import DeliveryError, Gateways, NotifySettings, OutboxGateway
from support import Org, StepClock, browser_login, build_org, free_port, make_settings, page_login

PARAMS = {"case_number": "A2026-0001", "status": "已立案", "code": "K7Q2-9XPM-44TB"}


class Refuser:
    name = "fake"

    def send(self, msg: Any) -> Any:
        raise DeliveryError("provider answered 400", permanent=True)


def seed(c: Container, org: Org) -> dict[str, str]:
    with c.uow() as uow:
        ids = {
            "sms": enqueue(uow, NotificationRequest("sms", "13812345678", "test.case_update", "zh-CN", PARAMS, "p1",
                                                    ref="A2026-0001", agency_id=org.station_a,
                                                    due_by=c.clock.now() - timedelta(hours=1))),
            "mail": enqueue(uow, NotificationRequest("email", "li.si@example.org", "test.case_update", "en", PARAMS,
                                                     "p2", ref="A2026-0002", agency_id=org.station_b)),
        }
        uow.commit()
    s = NotifySettings(interval_s=0)
    deliver_due(uow_factory=c.uow, gateways=Gateways(sms=Refuser(), email=OutboxGateway(), outbox=OutboxGateway()),
                settings=s, clock=c.clock)
    return ids


def test_page_lists_masked_in_both_languages(container: Container, org: Org, client: TestClient) -> None:
    seed(container, org)
    assert page_login(client, "admin", org.passwords["admin"]).status_code == 303
    r = client.get("/admin/notifications")
    assert r.status_code == 200
    assert "通知发送" in r.text and "已放弃" in r.text and "已送达" in r.text and "已超期" in r.text
    assert "138****5678" in r.text and "l***@example.org" in r.text
    assert "13812345678" not in r.text and "li.si@" not in r.text and "K7Q2" not in r.text
    assert "+08:00" in r.text and "Asia/Shanghai" in r.text
    en = client.get("/admin/notifications?lang=en")
    assert "Notifications" in en.text and "dead" in en.text and "delivered" in en.text
    dead_only = client.get("/admin/notifications?status=dead")
    assert "138****5678" in dead_only.text and "l***@example.org" not in dead_only.text


def test_page_is_for_administrators_only(container: Container, org: Org, client: TestClient) -> None:
    assert client.get("/admin/notifications", follow_redirects=False).status_code == 303
    page_login(client, "disp_a", org.passwords["disp_a"])
    assert client.get("/admin/notifications").status_code == 403


@pytest.fixture
def served(tmp_path: Path) -> Iterator[tuple[str, Container, Org]]:
    s = make_settings(tmp_path, "sqlite").with_sections(NotifySettings(interval_s=0))
    c = build_container(s, clock=StepClock())
    upgrade(c.engine)
    org = build_org(c)
    port = free_port()
    server = uvicorn.Server(uvicorn.Config(create_app(s, c), host="127.0.0.1", port=port, log_level="warning"))
    t = threading.Thread(target=server.run, daemon=True)
    t.start()
    end = time.monotonic() + 30
    while not server.started and time.monotonic() < end:
        time.sleep(0.05)
    try:
        yield f"http://127.0.0.1:{port}", c, org
    finally:
        server.should_exit = True
        t.join(timeout=10)
        c.dispose()


@pytest.mark.browser
def test_retry_from_the_page(served, browser, shots: Path) -> None:  # type: ignore[no-untyped-def]
    base, c, org = served
    ids = seed(c, org)
    ctx = browser.new_context(viewport={"width": 1440, "height": 800})
    page = browser_login(ctx, base, "admin", org.passwords["admin"], "/admin/notifications")
    page.wait_for_function("() => document.getElementById('notifications').dataset.ready === '1'")
    page.screenshot(path=str(shots / "notifications-zh.png"), full_page=True)
    row = f"tr[data-id='{ids['sms']}']"
    assert page.get_attribute(row, "data-status") == "dead"
    page.click(f"{row} button.ntf-retry")
    page.wait_for_function(f"() => document.querySelector(\"{row}\").dataset.status === 'queued'")
    assert page.locator(f"{row} button.ntf-retry").count() == 0
    page.goto(f"{base}/admin/notifications?lang=en")
    page.wait_for_function("() => document.getElementById('notifications').dataset.ready === '1'")
    assert "Notifications" in page.inner_text("h1")
    page.screenshot(path=str(shots / "notifications-en.png"), full_page=True)
    ctx.close()
