"""Alarm buttons and unit positions over MQTT, against the project's own Mosquitto (deploy/mosquitto,
ADR 0025) on 127.0.0.1:1884 with its password file and ACLs: anonymous clients refused, a device publishes
only its own topics, forged and replayed alarms make no incident, an alarm published while the bridge is
stopped arrives once after it starts, retained alarms are ignored, plain payloads accepted by profile."""

from __future__ import annotations

import json
import subprocess
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

import paho.mqtt.client as mqtt
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import text

from jingwu.app import create_app
from jingwu.dispatch.cli import write_broker_passwd
from jingwu.dispatch.jobs import MQTT_MESSAGES, MqttBridge, handle_mqtt
from jingwu.dispatch.services.alarm_messages import sign_alarm
from jingwu.dispatch.settings import DispatchSettings
from jingwu.platform.container import Container
from support import METRICS, login

pytestmark = pytest.mark.integration
ROOT = Path(__file__).resolve().parents[2]
BROKER = ROOT / "var" / "mosquitto"
MQTT_HOST, MQTT_PORT = "127.0.0.1", 1884


@pytest.fixture(scope="module")
def broker() -> Path:
    """The project broker (make broker: idempotent, starts it if it is not running)."""
    subprocess.run(["make", "-s", "--no-print-directory", "broker"], cwd=ROOT, check=True, timeout=60)
    return BROKER


def wait_for(cond: Callable[[], bool], timeout: float = 10.0) -> bool:
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if cond():
            return True
        time.sleep(0.1)
    return False


def connect(user: str | None, password: str | None) -> tuple[Any, Any]:
    """A client and the broker's answer to its CONNECT (reason code)."""
    cl = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id=f"test-{uuid.uuid4().hex[:8]}")
    if user:
        cl.username_pw_set(user, password)
    answer: list[Any] = []
    cl.on_connect = lambda _c, _u, _f, rc, _p=None: answer.append(rc)
    cl.connect(MQTT_HOST, MQTT_PORT)
    cl.loop_start()
    assert wait_for(lambda: bool(answer), 5)
    return cl, answer[0]


def publish(user: str, password: str, topic: str, payload: bytes, retain: bool = False) -> None:
    cl, rc = connect(user, password)
    assert not rc.is_failure, rc
    cl.publish(topic, payload, qos=1, retain=retain).wait_for_publish(5)
    cl.loop_stop()
    cl.disconnect()


def alarms(c: Container) -> int:
    with c.engine.connect() as conn:
        return int(conn.execute(text("SELECT count(*) FROM incidents WHERE channel='alarm'")).scalar_one())


def signed(c: Container, secret: str, code: str, ev: str, ts: int | None = None) -> bytes:
    ts = int(c.clock.now().timestamp()) if ts is None else ts
    return json.dumps({"event_id": ev, "ts": ts, "sig": sign_alarm(secret, code, ev, ts)}).encode()


def bridge_settings(broker: Path) -> DispatchSettings:
    return DispatchSettings(mqtt_enabled=True, mqtt_port=MQTT_PORT, mqtt_password_file=str(broker / "app.secret"),
                            mqtt_client_id=f"jingwu-test-{uuid.uuid4().hex[:8]}",
                            mqtt_broker_passwd_file=str(broker / "passwd"),
                            mqtt_broker_pid_file=str(broker / "mosquitto.pid"))


def can_connect(user: str, password: str) -> bool:
    cl, rc = connect(user, password)
    cl.loop_stop()
    cl.disconnect()
    return not rc.is_failure


def register(api: TestClient, admin: dict[str, str], station: str, **profile: Any) -> tuple[str, str]:
    code = f"BTN-{uuid.uuid4().hex[:6]}"
    r = api.post("/api/v1/alarm-devices", json={"code": code, "name": "测试报警柱", "lon": 104.0657, "lat": 30.6598,
                                               "agency_id": station, **profile}, headers=admin)
    assert r.status_code == 201, r.text
    return code, r.json()["mqtt_secret"]


def counted(kind: str, outcome: str) -> float:
    return float(MQTT_MESSAGES.labels(kind, outcome)._value.get())


def test_anonymous_and_wrong_password_are_refused(broker: Path) -> None:
    for user, pw in ((None, None), ("jingwu-app", "wrong"), ("BTN-nobody", "x")):
        cl, rc = connect(user, pw)
        cl.loop_stop()
        assert rc.is_failure, (user, rc)


def test_alarms_heartbeat_position_and_garbage_over_the_project_broker(city: Any, broker: Path) -> None:
    c: Container = city[0]
    c.settings = c.settings.with_sections(bridge_settings(broker))
    with TestClient(create_app(c.settings, c)) as api:
        admin = login(api, "admin", city[1]["admin"])
        station = api.get("/api/v1/agencies?kind=station", headers=admin).json()[0]["id"]
        code, secret = register(api, admin, station)  # signs by default
        plain, plain_secret = register(api, admin, station, signs=False, payload_format="plain")
        # the app rewrote the broker's password file (JINGWU_MQTT_BROKER_PASSWD_FILE) and sent it SIGHUP
        assert wait_for(lambda: can_connect(code, secret) and can_connect(plain, plain_secret))

        good = signed(c, secret, code, "m1")
        publish(code, secret, f"jingwu/alarm/{code}", good)
        assert wait_for(lambda: alarms(c) == 1)
        dup = counted("alarm", "duplicate")
        publish(code, secret, f"jingwu/alarm/{code}", good)  # replayed: idempotent by event id
        assert wait_for(lambda: counted("alarm", "duplicate") == dup + 1)

        forged = counted("alarm", "forged")
        reused = json.loads(good) | {"ts": json.loads(good)["ts"] + 7}  # the signature with another time
        publish(code, secret, f"jingwu/alarm/{code}", json.dumps(reused).encode())
        publish(code, secret, f"jingwu/alarm/{code}", json.dumps({"event_id": "m2"}).encode())  # unsigned
        assert wait_for(lambda: counted("alarm", "forged") == forged + 2)

        # the plain device cannot publish on the signed device's topic (ACL: dropped by the broker)
        accepted = counted("alarm", "accepted")
        publish(plain, plain_secret, f"jingwu/alarm/{code}", b"PRESSED")
        publish(plain, plain_secret, f"jingwu/alarm/{plain}", b"PRESSED")  # its own topic: accepted
        assert wait_for(lambda: alarms(c) == 2)
        time.sleep(0.5)
        assert counted("alarm", "accepted") == accepted + 1 and alarms(c) == 2

        unit = api.get("/api/v1/units", headers=admin).json()[0]["id"]
        handle_mqtt(c, f"jingwu/unit/{unit}/position", json.dumps({"lon": 104.0801, "lat": 30.6602}).encode())
        assert abs((api.get(f"/api/v1/units/{unit}", headers=admin).json()["lon"] or 0) - 104.0801) < 1e-9
        publish(plain, plain_secret, f"jingwu/heartbeat/{plain}", b"ALIVE")
        assert wait_for(lambda: next(d for d in api.get("/api/v1/alarm-devices", headers=admin).json()
                                     if d["code"] == plain)["online"] is True)
        metrics = api.get("/metrics", headers=METRICS).text
        assert 'jingwu_mqtt_messages_total{kind="alarm",outcome="forged"}' in metrics
        assert alarms(c) == 2


def test_an_alarm_published_while_the_bridge_is_stopped_arrives_once_after_it_starts(
        city: Any, broker: Path) -> None:
    import asyncio

    c: Container = city[0]
    with TestClient(create_app(c.settings, c)) as api:  # the app's own bridge is off (tests' default)
        admin = login(api, "admin", city[1]["admin"])
        station = api.get("/api/v1/agencies?kind=station", headers=admin).json()[0]["id"]
        code, secret = register(api, admin, station)
        plain, plain_secret = register(api, admin, station, signs=False, payload_format="plain")
        write_broker_passwd(c, broker / "passwd", broker / "mosquitto.pid")
        time.sleep(0.5)
        c.settings = c.settings.with_sections(bridge_settings(broker))  # the bridges below share one client id

        first = MqttBridge(c)  # creates the persistent session and its subscriptions
        first.start()
        assert wait_for(lambda: first.connected)
        time.sleep(0.5)
        asyncio.run(first.stop())

        publish(code, secret, f"jingwu/alarm/{code}", signed(c, secret, code, "offline-1"))  # the app is down
        publish(plain, plain_secret, f"jingwu/alarm/{plain}", b"PRESSED")
        time.sleep(0.5)
        assert alarms(c) == 0

        again = MqttBridge(c)  # same client id: the broker delivers what it queued
        again.start()
        try:
            assert wait_for(lambda: alarms(c) == 2)
            time.sleep(1.0)
            assert alarms(c) == 2
            # a button that publishes its press retained: one press while the app listens ...
            publish(plain, plain_secret, f"jingwu/alarm/{plain}", b"PRESSED", retain=True)
            assert wait_for(lambda: alarms(c) == 3)
        finally:
            asyncio.run(again.stop())
        retained = counted("alarm", "retained")
        third = MqttBridge(c)  # ... and no new P1 when the broker hands the retained copy to a restarted app
        third.start()
        try:
            assert wait_for(lambda: counted("alarm", "retained") == retained + 1)
            time.sleep(0.5)
            assert alarms(c) == 3
        finally:
            asyncio.run(third.stop())
            publish(plain, plain_secret, f"jingwu/alarm/{plain}", b"", retain=True)  # clear it on the broker


def test_handle_mqtt_never_raises(city) -> None:  # type: ignore[no-untyped-def]
    c: Container = city[0]
    for topic, payload in [("jingwu/alarm", b"{}"), ("jingwu/unit/x/position", b'{"lon": "a"}'),
                           ("jingwu/unit/x/position", b"[1,2]"), ("other/topic", b"{}"),
                           ("jingwu/alarm/UNKNOWN-DEVICE", b"{}"),
                           ("jingwu/unit/00000000-0000-0000-0000-000000000000/position", b'{"lon": 1, "lat": 2}')]:
        assert handle_mqtt(c, topic, payload) == "rejected"
