"""The platform's tables: the shared SQLAlchemy ``metadata`` and its naming convention, the
timezone-aware ``UTCDateTime`` column type, ``new_id``, and the tables of agencies, towns, units,
users, the audit log (with its chain head) and the outbox (``TABLES``); ``in_subtree``, the one way
to scope a query to an agency subtree. Feature stores add their own tables to the same ``metadata``.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

from sqlalchemy import (
    Boolean,
    Column,
    DateTime,
    Dialect,
    Float,
    ForeignKey,
    Integer,
    MetaData,
    String,
    Table,
    Text,
)
from sqlalchemy.sql.elements import BindParameter, ColumnElement
from sqlalchemy.types import TypeDecorator

NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}
metadata = MetaData(naming_convention=NAMING)


class UTCDateTime(TypeDecorator[datetime]):
    """Stores timezone-aware UTC; always returns timezone-aware UTC (SQLite included)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime refused: store timezone-aware UTC only")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def new_id() -> str:
    return str(uuid.uuid4())


agencies = Table(
    "agencies",
    metadata,
    Column("id", String(36), primary_key=True),
    Column("parent_id", String(36), ForeignKey("agencies.id"), nullable=True, index=True),
    Column("kind", String(32), nullable=False),
    Column("code", String(64), nullable=False, unique=True),
    Column("name", String(200), nullable=False),
    Column("name_en", String(200), nullable=True),
    Column("path", String(1000), nullable=False, index=True),
    Column("lon", Float, nullable=True),
    Column("lat", Float, nullable=True),
    Column("jurisdiction", Text, nullable=True),  # GeoJSON geometry
    Column("source", String(200), nullable=True),  # e.g. "osm:node/1956614663"
    Column("created_at", UTCDateTime, nullable=False),
    Column("active", Boolean, nullable=False, server_default="1"),  # inactive: kept for history, out of service
)

towns = Table(
    "towns",
    metadata,
    Column("id", String(36), primary_key=True),
    Column("code", String(64), nullable=False, unique=True),
    Column("name", String(200), nullable=False),
    Column("name_en", String(200), nullable=True),
    Column("agency_id", String(36), ForeignKey("agencies.id"), nullable=False, index=True),
    Column("population", Integer, nullable=False),
    Column("population_note", Text, nullable=True),
    Column("area_km2", Float, nullable=True),
    Column("geometry", Text, nullable=True),  # GeoJSON geometry
    Column("created_at", UTCDateTime, nullable=False),
    Column("active", Boolean, nullable=False, server_default="1"),  # inactive: not placed, not scored anew
)

units = Table(
    "units",
    metadata,
    Column("id", String(36), primary_key=True),
    Column("call_sign", String(64), nullable=False, unique=True),
    Column("kind", String(32), nullable=False),
    Column("agency_id", String(36), ForeignKey("agencies.id"), nullable=False, index=True),
    Column("status", String(32), nullable=False, server_default="available"),
    Column("home_lon", Float, nullable=False),
    Column("home_lat", Float, nullable=False),
    Column("lon", Float, nullable=True),
    Column("lat", Float, nullable=True),
    Column("position_at", UTCDateTime, nullable=True),
    Column("created_at", UTCDateTime, nullable=False),
    Column("incident_id", String(36), nullable=True, index=True),  # current assignment (dispatch)
    Column("status_at", UTCDateTime, nullable=True),
    Column("last_contact_at", UTCDateTime, nullable=True),  # last position or status from the unit
    Column("active", Boolean, nullable=False, server_default="1"),  # inactive: never recommended or dispatched
    Column("travel_mode", String(16), nullable=True),  # car|motorbike|foot|bicycle; None: from the kind
)

users = Table(
    "users",
    metadata,
    Column("id", String(36), primary_key=True),
    Column("username", String(64), nullable=False, unique=True),
    Column("display_name", String(200), nullable=False),
    Column("password_hash", String(255), nullable=False),
    Column("agency_id", String(36), ForeignKey("agencies.id"), nullable=False, index=True),
    Column("roles", String(400), nullable=False),  # comma-separated Role values
    Column("active", Boolean, nullable=False, server_default="1"),
    Column("created_at", UTCDateTime, nullable=False),
    # bumped whenever what a token may do changes (roles, agency, disabled): sessions re-read the user
    Column("auth_version", Integer, nullable=False, server_default="0"),
)

# One row per issued token (page session or API token): logout and administrators revoke it server-side.
auth_sessions = Table(
    "auth_sessions",
    metadata,
    Column("id", String(64), primary_key=True),  # random, carried in the signed token as ``sid``
    Column("user_id", String(36), ForeignKey("users.id"), nullable=False, index=True),
    Column("kind", String(16), nullable=False),  # session (cookie) | api (bearer)
    Column("issued_at", UTCDateTime, nullable=False),
    Column("expires_at", UTCDateTime, nullable=False, index=True),
    Column("address", String(64), nullable=True),
    Column("revoked_at", UTCDateTime, nullable=True),
    Column("revoked_by", String(200), nullable=True),
)

audit_log = Table(
    "audit_log",
    metadata,
    Column("seq", Integer, primary_key=True, autoincrement=False),
    Column("at", UTCDateTime, nullable=False),
    Column("actor", String(200), nullable=False),
    Column("agency_id", String(36), nullable=True),
    Column("action", String(100), nullable=False, index=True),
    Column("object_type", String(100), nullable=False),
    Column("object_id", String(200), nullable=True),
    Column("reason", Text, nullable=True),
    Column("detail", Text, nullable=False),
    Column("prev_hash", String(64), nullable=False),
    Column("hash", String(64), nullable=False),
)

# One row: the head of the audit chain. Writers lock it, so appends are serialised.
audit_head = Table(
    "audit_head",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=False),
    Column("last_seq", Integer, nullable=False),
    Column("last_hash", String(64), nullable=False),
)

outbox = Table(
    "outbox",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("topic", String(200), nullable=False),
    Column("payload", Text, nullable=False),
    Column("created_at", UTCDateTime, nullable=False),
    Column("published_at", UTCDateTime, nullable=True, index=True),
    Column("attempts", Integer, nullable=False, server_default="0"),
)

TABLES = (agencies, towns, units, users, auth_sessions, audit_log, audit_head, outbox)


# ---------------------------------------------------------------- agency subtrees

SUBTREE_ESCAPE = "/"


def subtree_pattern(path: str) -> str:
    """The LIKE pattern of ``path`` and every path below it; a ``%`` or ``_`` in ``path`` matches only
    itself (escaped with ``SUBTREE_ESCAPE``, itself escaped first)."""
    e = SUBTREE_ESCAPE
    return path.replace(e, e + e).replace("%", e + "%").replace("_", e + "_") + "%"


def in_subtree(path_column: ColumnElement[str], path: str | BindParameter[str]) -> ColumnElement[bool]:
    """``path_column`` (an agency's materialised path) is ``path`` or lies below it: the one way to scope
    a query to an agency subtree. Given a bind parameter instead of a path, the condition can be built
    once; bind ``subtree_pattern(path)`` to it on each execution."""
    pattern = path if isinstance(path, BindParameter) else subtree_pattern(path)
    return path_column.like(pattern, escape=SUBTREE_ESCAPE)
