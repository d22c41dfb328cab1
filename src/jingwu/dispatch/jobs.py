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


def handle_mqtt(c: Container, topic: str, raw: bytes) -> str:
    """Process one MQTT message; returns the outcome label. Never raises.

    Topics: ``jingwu/alarm/<device_code>`` (payload optional JSON {"event_id": ...}),
    ``jingwu/heartbeat/<device_code>``, ``jingwu/unit/<unit_id>/position`` (JSON {"lon","lat","at"}).
    """
    parts = topic.split("/")
    kind = parts[1] if len(parts) > 1 else "unknown"
    try:
        payload: dict[str, Any] = json.loads(raw.decode("utf-8")) if raw.strip() else {}
        if not isinstance(payload, dict):
            raise ValueError("payload is not a JSON object")
        if kind == "alarm" and len(parts) == 3:
            ev = payload.get("event_id")
            devices.device_alarm(parts[2], None, uow=dispatch_uow(c), geo=geo(c), cat=catalogue(c),
                                  event_id=str(ev) if ev is not None else None)
        elif kind == "heartbeat" and len(parts) == 3:
            devices.device_heartbeat(parts[2], None, uow=dispatch_uow(c))
        elif kind == "unit" and len(parts) == 4 and parts[3] == "position":
            lon, lat = float(payload["lon"]), float(payload["lat"])
            at = datetime.fromisoformat(str(payload["at"])) if payload.get("at") else c.clock.now()
            if at.tzinfo is None:
                at = at.replace(tzinfo=UTC)
            if not (math.isfinite(lon) and math.isfinite(lat)):
                raise ValueError("non-finite coordinate")
            location.post_positions(None, parts[2], [location.Position(lon, lat, at)], uow=dispatch_uow(c),
                                    sanity=sanity(c))
        else:
            raise ValueError(f"unknown topic {topic}")
        outcome = "accepted"
    except (AppError, ValueError, KeyError, TypeError, UnicodeDecodeError) as exc:
        outcome = "rejected"
        log.warning("mqtt message rejected", extra={"topic": topic, "reason": str(exc)[:200]})
    except Exception:
        outcome = "error"
        log.exception("mqtt message failed", extra={"topic": topic})
    MQTT_MESSAGES.labels(kind, outcome).inc()
    return outcome


class MqttBridge:
    """Subscribes to the local Mosquitto and feeds alarm buttons and positions into the services."""

    TOPICS = ("jingwu/alarm/+", "jingwu/heartbeat/+", "jingwu/unit/+/position")

    def __init__(self, c: Container) -> None:
        self.c = c
        self.settings = c.settings.section(DispatchSettings)
        self._client: Any = None
        self.connected = False

    def start(self) -> None:
        import paho.mqtt.client as mqtt

        client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id=f"jingwu-{id(self):x}",
                             protocol=mqtt.MQTTv311)

        def on_connect(cl: Any, _u: Any, _f: Any, rc: Any, _p: Any = None) -> None:
            self.connected = True
            for t in self.TOPICS:
                cl.subscribe(t, qos=1)
            log.info("mqtt connected", extra={"host": self.settings.mqtt_host})

        def on_message(_cl: Any, _u: Any, msg: Any) -> None:
            handle_mqtt(self.c, msg.topic, msg.payload)

        client.on_connect = on_connect
        client.on_message = on_message
        client.reconnect_delay_set(1, 30)
        try:
            client.connect_async(self.settings.mqtt_host, self.settings.mqtt_port, keepalive=30)
            client.loop_start()
        except Exception:
            log.exception("mqtt bridge could not start")
            return
        self._client = client

    async def stop(self) -> None:
        if self._client is not None:
            self._client.loop_stop()
            self._client.disconnect()
            self._client = None


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
