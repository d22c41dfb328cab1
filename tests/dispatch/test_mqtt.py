"""Alarm buttons and unit positions over MQTT, against the real local Mosquitto."""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Callable

import paho.mqtt.client as mqtt
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import text

from jingwu.app import create_app
from jingwu.dispatch.jobs import MQTT_MESSAGES, handle_mqtt
from jingwu.dispatch.settings import DispatchSettings
from jingwu.platform.container import Container
from support import METRICS, both_databases, login

pytestmark = pytest.mark.integration
MQTT_HOST, MQTT_PORT = "127.0.0.1", 1883


def wait_for(cond: Callable[[], bool], timeout: float = 10.0) -> bool:
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if cond():
            return True
        time.sleep(0.1)
    return False


def publish(topic: str, payload: bytes) -> None:
    cl = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id=f"test-{uuid.uuid4().hex[:8]}")
    cl.connect(MQTT_HOST, MQTT_PORT)
    cl.loop_start()
    cl.publish(topic, payload, qos=1).wait_for_publish(5)
    cl.loop_stop()
    cl.disconnect()


def count(c: Container, sql: str) -> int:
    with c.engine.connect() as conn:
        return int(conn.execute(text(sql)).scalar_one())


@both_databases
def test_alarm_heartbeat_position_and_garbage_over_mosquitto(city) -> None:  # type: ignore[no-untyped-def]
    c: Container = city[0]
    c.settings = c.settings.with_sections(DispatchSettings(mqtt_enabled=True))
    with TestClient(create_app(c.settings, c)) as api:
        admin = login(api, "admin", city[1]["admin"])
        station = api.get("/api/v1/agencies?kind=station", headers=admin).json()[0]
        code = f"BTN-{uuid.uuid4().hex[:6]}"
        r = api.post("/api/v1/alarm-devices", json={"code": code, "name": "测试报警柱", "lon": 104.0657,
                                                   "lat": 30.6598, "agency_id": station["id"]}, headers=admin)
        assert r.status_code == 201
        time.sleep(1.0)  # the bridge subscribes on connect
        publish(f"jingwu/alarm/{code}", json.dumps({"event_id": "m1"}).encode())
        assert wait_for(lambda: count(c, "SELECT count(*) FROM incidents WHERE channel='alarm'") == 1)
        publish(f"jingwu/alarm/{code}", json.dumps({"event_id": "m1"}).encode())  # QoS-1 redelivery
        time.sleep(1.0)
        assert count(c, "SELECT count(*) FROM incidents WHERE channel='alarm'") == 1
        with c.engine.connect() as conn:
            inc = conn.execute(text("SELECT priority, type_code FROM incidents")).one()
        assert tuple(inc) == (1, "130100")

        rejected_before = MQTT_MESSAGES.labels("alarm", "rejected")._value.get()
        publish("jingwu/alarm/UNKNOWN-DEVICE", b"{}")
        publish(f"jingwu/alarm/{code}", b"\xff\xfe not json")
        assert wait_for(lambda: MQTT_MESSAGES.labels("alarm", "rejected")._value.get() >= rejected_before + 2)
        assert count(c, "SELECT count(*) FROM incidents") == 1  # garbage stored nothing

        unit = api.get("/api/v1/units", headers=admin).json()[0]["id"]
        publish(f"jingwu/unit/{unit}/position", json.dumps({"lon": 104.0801, "lat": 30.6602}).encode())
        assert wait_for(lambda: abs((api.get(f"/api/v1/units/{unit}", headers=admin).json()["lon"] or 0)
                                    - 104.0801) < 1e-9)
        publish(f"jingwu/heartbeat/{code}", b"")
        assert wait_for(lambda: api.get("/api/v1/alarm-devices", headers=admin).json()[0]["online"] is True)
        metrics = api.get("/metrics", headers=METRICS).text
        assert 'jingwu_mqtt_messages_total{kind="alarm",outcome="rejected"}' in metrics


def test_handle_mqtt_never_raises(city) -> None:  # type: ignore[no-untyped-def]
    c: Container = city[0]
    for topic, payload in [("jingwu/alarm", b"{}"), ("jingwu/unit/x/position", b'{"lon": "a"}'),
                           ("jingwu/unit/x/position", b"[1,2]"), ("other/topic", b"{}"),
                           ("jingwu/unit/00000000-0000-0000-0000-000000000000/position", b'{"lon": 1, "lat": 2}')]:
        assert handle_mqtt(c, topic, payload) == "rejected"
