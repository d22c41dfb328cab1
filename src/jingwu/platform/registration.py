"""The platform as a plugged-in part: health, tokens, organisation, users and audit routes, its tables
and the ``db``, ``audit`` and ``users`` commands."""

from __future__ import annotations

from jingwu.platform import admin_api, api, cli, tables
from jingwu.platform.deployment_store import deployment_config
from jingwu.platform.feature import CliCommand, CliGroup, Feature

FEATURE = Feature(
    name="platform",
    routers=(api.public_router, api.router, admin_api.router),
    tables=(*tables.TABLES, deployment_config),
    cli_groups=(CliGroup("db", "Database commands."), CliGroup("audit", "Audit log commands."),
                CliGroup("users", "User administration.")),
    cli=(
        CliCommand("upgrade", cli.db_upgrade, group="db"),
        CliCommand("verify", cli.audit_verify, group="audit"),
        CliCommand("create", cli.users_create, group="users"),
    ),
)
