"""Dispatch background work inside the app process: the timer job (ack
timeouts, officer-safety, offline devices), the MQTT bridge for alarm buttons
and unit positions, and the intake queue's orderly stop.
"""

from __future__ import annotations

import asyncio
import json
import logging
import math
from datetime import UTC, datetime
from typing import Any

from prometheus_client import Counter

from jingwu.dispatch.services import alerts, devices, location
from jingwu.dispatch.services.alarm_messages import AlarmRefused, RateLimitedLog, derived_event_id, parse_alarm
from jingwu.dispatch.settings import DispatchSettings
from jingwu.dispatch.wiring import catalogue, dispatch_uow, geo, sanity, stop_intake
from jingwu.platform.container import Container
from jingwu.platform.errors import AppError
from jingwu.platform.jobs import PeriodicJob

log = logging.getLogger("jingwu.dispatch")

MQTT_MESSAGES = Counter("jingwu_mqtt_messages_total", "MQTT messages by topic kind and outcome",
                        ["kind", "outcome"])


def timer_job(c: Container, interval: float = 5.0) -> PeriodicJob:
    """Checks the dispatch timers every few seconds (idempotent; safe in several processes)."""
    return PeriodicJob("dispatch.timers", lambda: alerts.check_timers(
        uow=dispatch_uow(c), geo=geo(c), cat=catalogue(c)), interval)


KINDS = ("alarm", "heartbeat", "unit")
_garbage_log = RateLimitedLog(10.0)


def _log_refused(kind: str, topic: str, outcome: str, reason: str) -> None:
    """Garbage is counted always, logged at most once per topic kind per 10 s (with how many were held back)."""
    held = _garbage_log.allow(kind)
    if held is not None:
        log.warning("mqtt message %s", outcome, extra={"topic": topic[:200], "reason": reason[:200],
                                                       "suppressed": held})


def _alarm(c: Container, code: str, raw: bytes, mid: int | None, dup: bool) -> str:
    s = c.settings.section(DispatchSettings)
    uow = dispatch_uow(c)
    with uow:
        dev = uow.devices.by_code(code)
    if dev is None:
        raise AlarmRefused("rejected", f"unknown device {code[:64]}")
    msg = parse_alarm(raw, code=dev.code, signs=dev.signs, payload_format=dev.payload_format,
                      secret=dev.key_hash, now=c.clock.now().timestamp(), window_s=s.mqtt_alarm_window_seconds)
    ev = msg.event_id
    if ev is None and mid is not None:
        ev = derived_event_id(mid, raw)
        if not dup:  # a first delivery: a key left by an earlier message with this (reused) broker id is stale
            with uow:
                uow.incidents.forget_key(f"alarm:{dev.code}:{ev}")
                uow.commit()
    r = devices.device_alarm(dev.code, None, uow=uow, geo=geo(c), cat=catalogue(c), event_id=ev)
    return "accepted" if r.created else "duplicate"


def handle_mqtt(c: Container, topic: str, raw: bytes, *, retain: bool = False, mid: int | None = None,
                dup: bool = False) -> str:
    """Process one MQTT message; returns the outcome label (counted). Never raises.

    Topics: ``jingwu/alarm/<device_code>`` (payload by the device's profile, ADR 0025: signed JSON
    {"event_id","ts","sig"}, unsigned JSON {"event_id"?}, or plain text), ``jingwu/heartbeat/<device_code>``,
    ``jingwu/unit/<unit_id>/position`` (JSON {"lon","lat","at"}). Retained messages are dropped (a retained
    alarm would be a new incident at every restart). ``mid``/``dup``: the broker's message id and DUP flag,
    for the event id of devices that send none. Outcomes: accepted, duplicate (same event id again),
    rejected, forged (bad or missing signature), stale (outside the time window), retained, error.
    """
    parts = topic.split("/")
    kind = parts[1] if len(parts) > 1 and parts[1] in KINDS else "unknown"
    try:
        if retain:
            raise AlarmRefused("retained", "retained message dropped")
        if kind == "alarm" and len(parts) == 3:
            outcome = _alarm(c, parts[2], raw, mid, dup)
        elif kind == "heartbeat" and len(parts) == 3:
            devices.device_heartbeat(parts[2], None, uow=dispatch_uow(c))
            outcome = "accepted"
        elif kind == "unit" and len(parts) == 4 and parts[3] == "position":
            payload: dict[str, Any] = json.loads(raw.decode("utf-8")) if raw.strip() else {}
            if not isinstance(payload, dict):
                raise ValueError("payload is not a JSON object")
            lon, lat = float(payload["lon"]), float(payload["lat"])
            at = datetime.fromisoformat(str(payload["at"])) if payload.get("at") else c.clock.now()
            if at.tzinfo is None:
                at = at.replace(tzinfo=UTC)
            if not (math.isfinite(lon) and math.isfinite(lat)):
                raise ValueError("non-finite coordinate")
            location.post_positions(None, parts[2], [location.Position(lon, lat, at)], uow=dispatch_uow(c),
                                    sanity=sanity(c))
            outcome = "accepted"
        else:
            raise ValueError("unknown topic")
    except AlarmRefused as exc:
        outcome = exc.outcome
        _log_refused(kind, topic, outcome, str(exc))
    except (AppError, ValueError, KeyError, TypeError, UnicodeDecodeError) as exc:
        outcome = "rejected"
        _log_refused(kind, topic, outcome, str(exc))
    except Exception:
        outcome = "error"
        log.exception("mqtt message failed", extra={"topic": topic[:200]})
    MQTT_MESSAGES.labels(kind, outcome).inc()
    return outcome


class MqttBridge:
    """Subscribes to the project's Mosquitto with the app's own account and a persistent session
    (clean_session false, fixed client id, QoS 1; ADR 0025) and feeds alarm buttons and positions into the
    services. A message is acknowledged after it is handled, so one in flight when the app stops is
    redelivered (DUP) and found by its event id."""

    TOPICS = ("jingwu/alarm/+", "jingwu/heartbeat/+", "jingwu/unit/+/position")

    def __init__(self, c: Container) -> None:
        self.c = c
        self.settings = c.settings.section(DispatchSettings)
        self._client: Any = None
        self.connected = False

    def start(self) -> None:
        import paho.mqtt.client as mqtt

        s = self.settings
        client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id=s.mqtt_client_id, clean_session=False,
                             protocol=mqtt.MQTTv311)
        if s.mqtt_username:
            client.username_pw_set(s.mqtt_username, s.mqtt_secret() or None)
        if s.mqtt_tls:
            client.tls_set(ca_certs=s.mqtt_ca_file or None)

        def on_connect(cl: Any, _u: Any, flags: Any, rc: Any, _p: Any = None) -> None:
            if getattr(rc, "is_failure", False):
                self.connected = False
                log.error("mqtt connection refused", extra={"host": s.mqtt_host, "reason": str(rc)})
                return
            self.connected = True
            for t in self.TOPICS:
                cl.subscribe(t, qos=1)
            log.info("mqtt connected", extra={"host": s.mqtt_host,
                                              "session_present": bool(getattr(flags, "session_present", 0))})

        def on_disconnect(_cl: Any, _u: Any, _f: Any, _rc: Any, _p: Any = None) -> None:
            self.connected = False

        def on_message(_cl: Any, _u: Any, msg: Any) -> None:
            handle_mqtt(self.c, msg.topic, msg.payload, retain=bool(msg.retain), mid=msg.mid, dup=bool(msg.dup))

        client.on_connect = on_connect
        client.on_disconnect = on_disconnect
        client.on_message = on_message
        client.reconnect_delay_set(1, 30)
        try:
            client.connect_async(s.mqtt_host, s.mqtt_port, keepalive=30)
            client.loop_start()
        except Exception:
            log.exception("mqtt bridge could not start")
            return
        self._client = client

    async def stop(self) -> None:
        if self._client is not None:
            self._client.disconnect()
            self._client.loop_stop()
            self._client = None
            self.connected = False


def mqtt_job(c: Container) -> MqttBridge | None:
    """The MQTT bridge, unless switched off (``JINGWU_MQTT_ENABLED=false``)."""
    return MqttBridge(c) if c.settings.section(DispatchSettings).mqtt_enabled else None


class IntakeJob:
    """Stops the group-commit intake queue (started on first use) when the app stops: queued calls are
    stored before the process ends."""

    def __init__(self, c: Container) -> None:
        self.c = c

    def start(self) -> None:
        pass

    async def stop(self) -> None:
        await asyncio.to_thread(stop_intake, self.c)
