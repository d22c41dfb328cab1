"""The platform as a plugged-in part: health, tokens, organisation, users, audit and notification routes,
its tables, the audit-anchor and notification-delivery jobs, the notification settings section and the
``db``, ``audit``, ``users`` and ``notify`` commands."""

from __future__ import annotations

from jingwu.platform import admin_api, api, cli, notify_api, notify_cli, tables
from jingwu.platform.container import Container
from jingwu.platform.deployment_store import deployment_config
from jingwu.platform.feature import CliCommand, CliGroup, Feature
from jingwu.platform.jobs import PeriodicJob
from jingwu.platform.notify_gateways import NotifySettings
from jingwu.platform.notify_store import NOTIFY_TABLES


def anchor_job(c: Container) -> PeriodicJob | None:
    """Signed checkpoints of the audit chain's head every ``audit_anchor_interval_s`` seconds."""
    s = c.settings
    if s.audit_anchor_interval_s <= 0:
        return None
    from jingwu.platform import services

    return PeriodicJob("audit_anchor", lambda: services.anchor_audit(uow=c.uow(), settings=s),
                       s.audit_anchor_interval_s)


def notify_job(c: Container) -> PeriodicJob | None:
    """Delivers due notifications every ``JINGWU_NOTIFY_INTERVAL_S`` seconds (0 switches it off)."""
    s = c.settings.section(NotifySettings)
    if s.interval_s <= 0:
        return None
    from jingwu.platform import notify

    return PeriodicJob("notify", notify.delivery_job_fn(c), s.interval_s)


FEATURE = Feature(
    name="platform",
    routers=(api.public_router, api.router, admin_api.router, notify_api.router),
    tables=(*tables.TABLES, deployment_config, *NOTIFY_TABLES),
    jobs=(anchor_job, notify_job),
    settings=NotifySettings,
    cli_groups=(CliGroup("db", "Database commands."), CliGroup("audit", "Audit log commands."),
                CliGroup("users", "User administration."),
                CliGroup("notify", "Notifications to the public and partners (通知): list, retry, send a test.")),
    cli=(
        CliCommand("upgrade", cli.db_upgrade, group="db"),
        CliCommand("verify", cli.audit_verify, group="audit"),
        CliCommand("anchor", cli.audit_anchor, group="audit"),
        CliCommand("create", cli.users_create, group="users"),
        CliCommand("list", notify_cli.notify_list, group="notify"),
        CliCommand("retry", notify_cli.notify_retry, group="notify"),
        CliCommand("send-test", notify_cli.notify_send_test, group="notify"),
    ),
)
