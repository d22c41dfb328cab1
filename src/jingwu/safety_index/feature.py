"""The Safety Index as a plugged-in part: its API and pages, tables, the daily scheduler, the
subscription to recorded incidents, its navigation entry, settings section and ``jingwu index`` commands."""

from __future__ import annotations

from jingwu.contracts.events import IncidentRecorded
from jingwu.platform.admin import ORG_CHANGED
from jingwu.platform.feature import BatchHandler, CliCommand, CliGroup, Feature, NavEntry, Subscription
from jingwu.safety_index import api, cli, jobs, store, ui
from jingwu.safety_index.config import SafetyIndexSettings


def _on_incidents(c: jobs.Container) -> BatchHandler:
    return jobs.incident_handler(c)


FEATURE = Feature(
    name="safety_index",
    routers=(api.router, api.public_router, ui.router),
    tables=store.TABLES,
    jobs=(jobs.DailyScheduler,),
    subscriptions=(Subscription(IncidentRecorded.SUBJECT, _on_incidents, durable="safety-index-batch"),
                   Subscription(ORG_CHANGED, jobs.org_handler)),
    nav=(NavEntry("safety-index", "nav_safety_index", order=40),),
    settings=SafetyIndexSettings,
    cli_groups=(CliGroup("index", "Safety Index (平安指数): compute, backfill, import incidents."),),
    cli=(
        CliCommand("compute", cli.compute_cmd, group="index"),
        CliCommand("import", cli.import_cmd, group="index"),
        CliCommand("daily", cli.daily_cmd, group="index"),
        CliCommand("validate", cli.validate_cmd, group="index"),
    ),
)
