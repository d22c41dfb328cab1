"""Migrations: Alembic configuration, ``upgrade`` and the drift check (models against the migrated
database); ``make_engine`` (from ``platform.engine``) is re-exported for the Alembic environment. Which
tables exist is the composition root's business (``jingwu.features``)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.config import Config
from alembic.migration import MigrationContext
from sqlalchemy import MetaData
from sqlalchemy.engine import Engine

from jingwu.platform.engine import make_engine

MIGRATIONS_DIR = Path(__file__).resolve().parent.parent / "migrations"

__all__ = ["alembic_config", "drift", "make_engine", "upgrade"]


def alembic_config(url: str) -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS_DIR))
    cfg.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return cfg


def upgrade(engine: Engine, revision: str = "heads") -> None:
    cfg = alembic_config(str(engine.url.render_as_string(hide_password=False)))
    with engine.begin() as conn:
        cfg.attributes["connection"] = conn
        command.upgrade(cfg, revision)


def drift(engine: Engine, metadata: MetaData) -> list[Any]:
    """Differences between the models and the migrated database (empty when in step)."""
    with engine.connect() as conn:
        ctx = MigrationContext.configure(conn, opts={"compare_type": True})
        return list(compare_metadata(ctx, metadata))
