"""The deployment's recorded configuration: one small key/value table (``deployment_config``) holding
what ``jingwu setup`` and ``jingwu import osm`` decide for the whole deployment (the served road network,
the time zone), so that every process reads the same answer from the database instead of from its own
environment. Values are JSON text; each row says when and by whom it was last written.

Keys in use:

``routing.served_network``
    ``{"path": ..., "sha256": ..., "recorded_at": ...}``, written by
    :func:`jingwu.routing.network.import_network`.
``timezone``
    ``{"name": "Asia/Shanghai"}``, written by ``jingwu setup``; applied by
    :func:`recorded_settings` when ``JINGWU_TIMEZONE`` is not set.
"""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

from sqlalchemy import Column, String, Table, Text, inspect, select, update
from sqlalchemy import insert as sa_insert
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session

from jingwu.platform.settings import Settings
from jingwu.platform.tables import UTCDateTime, metadata

SERVED_NETWORK = "routing.served_network"
TIMEZONE = "timezone"

deployment_config = Table(
    "deployment_config",
    metadata,
    Column("key", String(100), primary_key=True),
    Column("value", Text, nullable=False),  # JSON
    Column("updated_at", UTCDateTime, nullable=False),
    Column("updated_by", String(200), nullable=False),
)


class DeploymentConfigRepository:
    def __init__(self, session: Session) -> None:
        self.s = session

    def get(self, key: str) -> dict[str, Any] | None:
        v = self.s.execute(select(deployment_config.c.value).where(deployment_config.c.key == key)).scalar()
        return json.loads(v) if v is not None else None

    def set(self, key: str, value: dict[str, Any], *, at: datetime, by: str) -> None:
        text = json.dumps(value, ensure_ascii=False, sort_keys=True)
        done = self.s.execute(update(deployment_config).where(deployment_config.c.key == key)
                              .values(value=text, updated_at=at, updated_by=by[:200]))
        if done.rowcount == 0:  # type: ignore[attr-defined]
            self.s.execute(sa_insert(deployment_config).values(key=key, value=text, updated_at=at,
                                                               updated_by=by[:200]))


def recorded_value(engine: Engine, key: str) -> dict[str, Any] | None:
    """One recorded value read on its own connection; None when unset or the table does not exist yet
    (a database not migrated to this revision)."""
    with engine.connect() as conn:
        if not inspect(conn).has_table(deployment_config.name):
            return None
        v = conn.execute(select(deployment_config.c.value).where(deployment_config.c.key == key)).scalar()
    return json.loads(v) if v is not None else None


def recorded_settings(engine: Engine, settings: Settings) -> Settings:
    """The settings with the recorded time zone applied, unless the time zone was given explicitly.

    Precedence: ``JINGWU_TIMEZONE`` (or a value passed to ``Settings``) > the time zone recorded by
    ``jingwu setup`` > the default ``Asia/Shanghai``.
    """
    if "timezone" in settings.model_fields_set:
        return settings
    got = recorded_value(engine, TIMEZONE)
    if not got or not got.get("name") or got["name"] == settings.timezone:
        return settings
    return settings.copy_with(timezone=str(got["name"]))
