"""Dispatch as a plugged-in part: its API and pages, tables, jobs (intake queue, timers, MQTT bridge),
the live board's bus subscription, its navigation entries and its settings section."""

from __future__ import annotations

from functools import partial

from jingwu.dispatch import api, cli, jobs, tables, ui
from jingwu.dispatch.settings import DispatchSettings
from jingwu.platform.container import Container
from jingwu.platform.feature import CliCommand, CliGroup, Feature, Handler, NavEntry, Subscription


def _board_fan_out(c: Container) -> Handler:
    return partial(api.fan_out, c)


FEATURE = Feature(
    name="dispatch",
    routers=(api.router, api.public_router, ui.router),
    tables=tables.TABLES,
    jobs=(jobs.IntakeJob, jobs.timer_job, jobs.mqtt_job),
    subscriptions=(Subscription("jingwu.dispatch.>", _board_fan_out),),
    nav=(NavEntry("dispatch", "nav_dispatch", order=20), NavEntry("incidents", "nav_incidents", order=30,
                                                                    ready=False)),
    settings=DispatchSettings,
    cli_groups=(CliGroup("calls", "Historical calls from CAD exports (警情导入)."),),
    cli=(CliCommand("import", cli.calls_import_cmd, group="calls"),),
)
