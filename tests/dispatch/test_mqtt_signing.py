"""Alarm messages over MQTT without a broker (ADR 0025): signature, time window, replay, retained, plain
payloads, the derived event id of a QoS-1 redelivery, rate-limited logging of garbage."""

from __future__ import annotations

import json
import logging
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import text

from jingwu.dispatch import jobs
from jingwu.dispatch.jobs import MQTT_MESSAGES, handle_mqtt
from jingwu.dispatch.services import devices
from jingwu.dispatch.services.alarm_messages import AlarmRefused, RateLimitedLog, sign_alarm, verify_alarm
from jingwu.dispatch.wiring import dispatch_uow, geo
from jingwu.platform.container import Container
from jingwu.platform.errors import InvalidInput
from support import both_databases

SECRET = "a" * 64


def test_a_signature_checks_code_event_and_time() -> None:
    sig = sign_alarm(SECRET, "BTN-1", "e1", 1000)
    ok = {"event_id": "e1", "ts": 1000, "sig": sig}
    assert verify_alarm(SECRET, "BTN-1", ok, now=1100, window_s=300) == "e1"
    for bad in ({**ok, "ts": 1001}, {**ok, "event_id": "e2"}, {**ok, "sig": "0" * 64}, {"event_id": "e1", "ts": 1000},
                {**ok, "ts": "1000"}, {**ok, "event_id": ""}):
        with pytest.raises(AlarmRefused) as e:
            verify_alarm(SECRET, "BTN-1", bad, now=1100, window_s=300)
        assert e.value.outcome == "forged"
    with pytest.raises(AlarmRefused) as e:  # another device's topic, same message
        verify_alarm(SECRET, "BTN-2", ok, now=1100, window_s=300)
    assert e.value.outcome == "forged"
    with pytest.raises(AlarmRefused) as e:  # an old capture replayed after the window
        verify_alarm(SECRET, "BTN-1", ok, now=1000 + 301, window_s=300)
    assert e.value.outcome == "stale"
    with pytest.raises(AlarmRefused):
        verify_alarm("b" * 64, "BTN-1", ok, now=1100, window_s=300)  # another key


def test_rate_limited_log_holds_back_lines_and_counts_them() -> None:
    t = [0.0]
    rl = RateLimitedLog(10.0, clock=lambda: t[0])
    assert rl.allow("alarm") == 0
    assert [rl.allow("alarm") for _ in range(1999)] == [None] * 1999
    assert rl.allow("unit") == 0  # per topic kind
    t[0] = 10.0
    assert rl.allow("alarm") == 1999


def _device(c: Container, code: str, *, signs: bool, fmt: str = "json") -> str:
    with dispatch_uow(c) as uow:
        station = next(a for a in uow.agencies.in_subtree("/") if a.kind == "station")
    _, key = devices.register_device(None, code=code, name="测试报警柱", lon=104.0657, lat=30.6598,
                                     agency_id=station.id, uow=dispatch_uow(c), geo=geo(c), signs=signs,
                                     payload_format=fmt)
    return devices.device_secret(key)


def _alarms(c: Container) -> int:
    with c.engine.connect() as conn:
        return int(conn.execute(text("SELECT count(*) FROM incidents WHERE channel='alarm'")).scalar_one())


def _signed(c: Container, secret: str, code: str, ev: str, ts: int | None = None) -> bytes:
    ts = int(c.clock.now().timestamp()) if ts is None else ts
    return json.dumps({"event_id": ev, "ts": ts, "sig": sign_alarm(secret, code, ev, ts)}).encode()


@both_databases
def test_signed_device_forged_replayed_and_retained_alarms_make_no_incident(city: Any) -> None:
    c: Container = city[0]
    secret = _device(c, "BTN-S1", signs=True)
    forged_before = MQTT_MESSAGES.labels("alarm", "forged")._value.get()
    for payload in (b'{"event_id": "x1"}', b"PRESSED", b"", _signed(c, "f" * 64, "BTN-S1", "x2")):
        assert handle_mqtt(c, "jingwu/alarm/BTN-S1", payload) == "forged"
    assert MQTT_MESSAGES.labels("alarm", "forged")._value.get() == forged_before + 4
    assert _alarms(c) == 0
    good = _signed(c, secret, "BTN-S1", "e1")
    assert handle_mqtt(c, "jingwu/alarm/BTN-S1", good) == "accepted"
    assert handle_mqtt(c, "jingwu/alarm/BTN-S1", good) == "duplicate"  # replay: idempotent by event id
    sig = json.loads(good)["sig"]
    reused = json.dumps({"event_id": "e1", "ts": int(c.clock.now().timestamp()) + 5, "sig": sig}).encode()
    assert handle_mqtt(c, "jingwu/alarm/BTN-S1", reused) == "forged"
    old = _signed(c, secret, "BTN-S1", "e-old", int(c.clock.now().timestamp()) - 301)
    assert handle_mqtt(c, "jingwu/alarm/BTN-S1", old) == "stale"
    assert handle_mqtt(c, "jingwu/alarm/BTN-S1", _signed(c, secret, "BTN-S1", "e2"), retain=True) == "retained"
    assert _alarms(c) == 1


@both_databases
def test_unsigned_plain_device_and_the_derived_event_id_of_a_redelivery(city: Any) -> None:
    c: Container = city[0]
    _device(c, "BTN-P1", signs=False, fmt="plain")
    assert handle_mqtt(c, "jingwu/alarm/BTN-P1", b"PRESSED", mid=7) == "accepted"
    assert handle_mqtt(c, "jingwu/alarm/BTN-P1", b"PRESSED", mid=7, dup=True) == "duplicate"  # QoS-1 redelivery
    assert _alarms(c) == 1
    assert handle_mqtt(c, "jingwu/alarm/BTN-P1", b"PRESSED", mid=8) == "accepted"  # a second press
    # the broker's id wrapped round to 7 again: a first delivery (no DUP) is a new press
    assert handle_mqtt(c, "jingwu/alarm/BTN-P1", b"PRESSED", mid=7) == "accepted"
    assert _alarms(c) == 3
    assert handle_mqtt(c, "jingwu/alarm/BTN-P1", b"\xff\xfe", mid=9) == "rejected"
    assert handle_mqtt(c, "jingwu/alarm/BTN-P1", b"x" * 300, mid=10) == "rejected"
    _device(c, "BTN-J1", signs=False)  # unsigned JSON: its own event id, or none
    assert handle_mqtt(c, "jingwu/alarm/BTN-J1", b'{"event_id": "a"}', mid=11) == "accepted"
    assert handle_mqtt(c, "jingwu/alarm/BTN-J1", b'{"event_id": "a"}', mid=12) == "duplicate"
    assert handle_mqtt(c, "jingwu/alarm/BTN-J1", b"PRESSED", mid=13) == "rejected"
    assert _alarms(c) == 4


def test_a_plain_device_cannot_be_registered_as_signing(city: Any) -> None:
    c: Container = city[0]
    with pytest.raises(InvalidInput) as e:
        _device(c, "BTN-X1", signs=True, fmt="plain")
    assert e.value.code == "plain_cannot_sign"


def test_two_thousand_garbage_messages_are_counted_and_logged_a_few_times(
        city: Any, caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch) -> None:
    c: Container = city[0]
    monkeypatch.setattr(jobs, "_garbage_log", RateLimitedLog(10.0))  # nothing logged just before by others
    before = MQTT_MESSAGES.labels("unit", "rejected")._value.get()
    with caplog.at_level(logging.WARNING, logger="jingwu.dispatch"):
        for i in range(2000):
            handle_mqtt(c, f"jingwu/unit/u{i}/position", b"garbage")
    assert MQTT_MESSAGES.labels("unit", "rejected")._value.get() == before + 2000
    lines = [r for r in caplog.records if r.getMessage().startswith("mqtt message")]
    assert 1 <= len(lines) <= 2, len(lines)


def test_jingwu_mqtt_passwd_writes_hashed_accounts(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if k != "JINGWU_DATABASE_URL"}
    env.update({"JINGWU_DATA_DIR": str(tmp_path / "data"), "JINGWU_MQTT_PASSWORD": "app-secret-1"})
    out = tmp_path / "broker" / "passwd"
    (tmp_path / "extra").write_text("# the position gateway\njingwu-avl:avl-secret-1\n")
    r = subprocess.run([str(Path(sys.executable).parent / "jingwu"), "mqtt", "passwd", "--out", str(out),
                        "--pid-file", str(tmp_path / "none.pid"), "--extra", str(tmp_path / "extra")],
                       env=env, capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stderr
    lines = out.read_text().splitlines()
    assert [ln.split(":")[0] for ln in lines] == ["jingwu-app", "jingwu-avl"]
    assert all(ln.split(":")[1].startswith("$7$") for ln in lines) and "secret-1" not in out.read_text()
    assert out.stat().st_mode & 0o777 == 0o600
