"""Alembic environment: the tables of every registered feature (``jingwu.features``), batch mode on SQLite."""

from __future__ import annotations

from typing import Any

from alembic import context
from sqlalchemy.engine import Connection

from jingwu.features import database_metadata
from jingwu.platform.db import make_engine

config = context.config
target_metadata = database_metadata()


def _render_item(type_: str, obj: Any, autogen_context: Any) -> Any:
    """Render our UTCDateTime as a plain timezone-aware DateTime: migrations never import models."""
    if type_ == "type" and type(obj).__name__ == "UTCDateTime":
        return "sa.DateTime(timezone=True)"
    return False


def _run(connection: Connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=target_metadata,
        render_as_batch=connection.dialect.name == "sqlite",
        compare_type=True,
        render_item=_render_item,
    )
    with context.begin_transaction():
        context.run_migrations()


def run_migrations_online() -> None:
    connection = config.attributes.get("connection")
    if connection is not None:
        _run(connection)
        return
    engine = make_engine(config.get_main_option("sqlalchemy.url") or "")
    with engine.connect() as conn:
        _run(conn)
    engine.dispose()


if context.is_offline_mode():
    context.configure(url=config.get_main_option("sqlalchemy.url"), target_metadata=target_metadata,
                      literal_binds=True)
    with context.begin_transaction():
        context.run_migrations()
else:
    run_migrations_online()
