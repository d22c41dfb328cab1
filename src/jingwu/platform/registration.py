"""The platform as a plugged-in part: health, tokens, organisation, users and audit routes, its tables
and the ``db``, ``audit`` and ``users`` commands."""

from __future__ import annotations

from jingwu.platform import admin_api, api, cli, tables
from jingwu.platform.container import Container
from jingwu.platform.deployment_store import deployment_config
from jingwu.platform.feature import CliCommand, CliGroup, Feature
from jingwu.platform.jobs import PeriodicJob


def anchor_job(c: Container) -> PeriodicJob | None:
    """Signed checkpoints of the audit chain's head every ``audit_anchor_interval_s`` seconds."""
    s = c.settings
    if s.audit_anchor_interval_s <= 0:
        return None
    from jingwu.platform import services

    return PeriodicJob("audit_anchor", lambda: services.anchor_audit(uow=c.uow(), settings=s),
                       s.audit_anchor_interval_s)


FEATURE = Feature(
    name="platform",
    routers=(api.public_router, api.router, admin_api.router),
    tables=(*tables.TABLES, deployment_config),
    jobs=(anchor_job,),
    cli_groups=(CliGroup("db", "Database commands."), CliGroup("audit", "Audit log commands."),
                CliGroup("users", "User administration.")),
    cli=(
        CliCommand("upgrade", cli.db_upgrade, group="db"),
        CliCommand("verify", cli.audit_verify, group="audit"),
        CliCommand("anchor", cli.audit_anchor, group="audit"),
        CliCommand("create", cli.users_create, group="users"),
    ),
)
