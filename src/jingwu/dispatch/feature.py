"""Dispatch as a plugged-in part: its API and pages, tables, jobs (intake queue, timers, MQTT bridge),
the live board's bus subscription, its navigation entries and its settings section."""

from __future__ import annotations

import asyncio
import logging
from functools import partial
from pathlib import Path
from typing import Any

from jingwu.dispatch import admin_api, api, cli, jobs, kpi_api, records_api, records_ui, sets_api, tables, ui, wiring
from jingwu.dispatch.settings import DispatchSettings
from jingwu.platform.admin import ORG_CHANGED
from jingwu.platform.container import Container
from jingwu.platform.feature import CliCommand, CliGroup, Feature, Handler, NavEntry, Subscription

log = logging.getLogger("jingwu.dispatch")


def _board_fan_out(c: Container) -> Handler:
    return partial(api.fan_out, c)


def _org_changed(c: Container) -> Handler:
    async def handle(_subject: str, payload: dict[str, Any]) -> None:
        wiring.on_org_changed(c, payload)

    return handle


def _broker_accounts(c: Container) -> Handler:
    """With JINGWU_MQTT_BROKER_PASSWD_FILE set, a registered, changed or removed alarm device rewrites the
    broker's password file and signals the broker (ADR 0025), as ``jingwu mqtt passwd`` does."""
    async def handle(_subject: str, payload: dict[str, Any]) -> None:
        s = c.settings.section(DispatchSettings)
        if payload.get("entity") == "alarm_device" and s.mqtt_broker_passwd_file:
            try:
                await asyncio.to_thread(cli.write_broker_passwd, c, Path(s.mqtt_broker_passwd_file),
                                        Path(s.mqtt_broker_pid_file) if s.mqtt_broker_pid_file else None)
            except Exception:
                log.exception("broker password file not written")

    return handle


FEATURE = Feature(
    name="dispatch",
    # records_api first: /api/v1/incidents/export.csv must not be taken for an incident id
    routers=(records_api.router, kpi_api.router, api.router, sets_api.router, api.public_router, ui.router,
             records_ui.router, admin_api.router, admin_api.page_router),
    tables=tables.TABLES,
    jobs=(jobs.IntakeJob, jobs.timer_job, jobs.mqtt_job),
    subscriptions=(Subscription("jingwu.dispatch.>", _board_fan_out), Subscription(ORG_CHANGED, _org_changed),
                   Subscription(ORG_CHANGED, _broker_accounts)),
    nav=(NavEntry("dispatch", "nav_dispatch", order=20), NavEntry("incidents", "nav_incidents", order=30)),
    settings=DispatchSettings,
    cli_groups=(CliGroup("calls", "Historical calls from CAD exports (警情导入)."),
                CliGroup("mqtt", "The alarm buttons' broker: accounts (ADR 0025).")),
    cli=(CliCommand("import", cli.calls_import_cmd, group="calls"),
         CliCommand("passwd", cli.mqtt_passwd_cmd, group="mqtt")),
)
