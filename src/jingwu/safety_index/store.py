"""Safety Index storage: the incident fact table (from events and imports),
daily scores, trend warnings and supervision tickets; the repository that reads
and writes them. The only Safety Index module that imports SQLAlchemy.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

import numpy as np
import pandas as pd
from sqlalchemy import (
    Boolean,
    Column,
    Date,
    Float,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    and_,
    case,
    delete,
    func,
    insert,
    select,
    text,
    update,
)
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from jingwu.platform.errors import NotFound
from jingwu.platform.tables import UTCDateTime, metadata
from jingwu.safety_index.domain import SUB_INDICES, Ticket, TicketAction, TicketStatus

si_incidents = Table(
    "si_incidents",
    metadata,
    Column("incident_id", String(200), primary_key=True),
    Column("occurred_at", UTCDateTime, nullable=False),
    Column("day", Date, nullable=False),  # calendar day in the deployment's time zone
    Column("town_id", String(36), nullable=True),
    Column("type_code", String(16), nullable=False),
    Column("category", String(32), nullable=False),
    Column("deaths", Integer, nullable=False, server_default="0"),
    Column("injuries", Integer, nullable=False, server_default="0"),
    Column("source", String(64), nullable=False),
    Column("received_at", UTCDateTime, nullable=False),
    # covering the aggregate of every computation (GROUP BY day, town, type, category with the casualty
    # sums): read from the index alone, in its order, without a sort (migration 0012)
    Index("ix_si_incidents_cover", "day", "town_id", "type_code", "category", "deaths", "injuries"),
)

# sub-index scores: NULL on a no-data row (before the town's warm-up ends)
_SUB_COLS = [Column(f"s_{s.value}", Float, nullable=True) for s in SUB_INDICES]
# window sums the score is made of (harm over the 7-day and 84-day windows), for incremental updates
_SUM_COLS = [Column(f"{w}_{s.value}", Float, nullable=False) for w in ("h7", "h84") for s in SUB_INDICES]

si_scores = Table(
    "si_scores",
    metadata,
    Column("day", Date, primary_key=True),
    Column("town_id", String(36), primary_key=True),
    # scored | no_data: a no-data row (the town has less than 91 days of its own history that day) has
    # score, band, rank, sub-index scores and rate NULL; its window sums are kept (incremental updates)
    Column("state", String(16), nullable=False, server_default="scored"),
    Column("score", Float, nullable=True),
    Column("band", String(16), nullable=True),
    Column("rank", Integer, nullable=True),  # among the scored towns of the day only
    *_SUB_COLS,
    Column("total_rate", Float, nullable=True),
    Column("count_7d", Integer, nullable=False),
    Column("deaths_7d", Integer, nullable=False),
    *_SUM_COLS,
    Column("count_baseline", Integer, nullable=False),
    Column("count_28d", Integer, nullable=False),
    Column("count_prev_28d", Integer, nullable=False),
    Column("computed_at", UTCDateTime, nullable=False),
    Column("method_version", String(4), nullable=True),  # v1 | v2 (null: computed before versions)
    Column("note", String(32), nullable=True),  # v2: why band and warnings differ (method §13.6)
)

si_warnings = Table(
    "si_warnings",
    metadata,
    Column("day", Date, primary_key=True),
    Column("town_id", String(36), primary_key=True),
    Column("kind", String(16), primary_key=True),  # surge_7d | mom_28d
    Column("observed", Integer, nullable=False),
    Column("reference", Integer, nullable=False),  # count in the comparison window
    Column("expected", Float, nullable=False),
    Column("p_value", Float, nullable=False),
    Column("onset", Boolean, nullable=False),
)

si_tickets = Table(
    "si_tickets",
    metadata,
    Column("id", String(36), primary_key=True),
    Column("town_id", String(36), nullable=False, index=True),
    Column("agency_id", String(36), nullable=False, index=True),
    Column("home_agency_id", String(36), nullable=False),
    Column("day", Date, nullable=False),
    Column("reasons", Text, nullable=False),  # JSON list
    Column("status", String(16), nullable=False, index=True),
    Column("owner", String(200), nullable=True),
    Column("opened_at", UTCDateTime, nullable=False),
    Column("deadline", UTCDateTime, nullable=False),
    Column("escalation_level", Integer, nullable=False, server_default="0"),
    Column("actions", Text, nullable=False),  # JSON list of {at, actor, text}
    Column("closed_at", UTCDateTime, nullable=True),
    Column("closure", Text, nullable=True),
)

# per town: the first and last day with any incident record (the town's own history: its warm-up
# counts from first_day). Kept up to date by every recording of facts; only ever widened.
si_town_coverage = Table(
    "si_town_coverage",
    metadata,
    Column("town_id", String(36), primary_key=True),
    Column("first_day", Date, nullable=False),
    Column("last_day", Date, nullable=False),
)

# the ranges of days each import (and the live intake of the daily job) covers: the data's horizon is
# the last day any of them covers
si_coverage = Table(
    "si_coverage",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("kind", String(16), nullable=False),  # import | intake
    Column("source", String(200), nullable=False),
    Column("first_day", Date, nullable=True),
    Column("last_day", Date, nullable=True),
    Column("rows", Integer, nullable=False),
    Column("recorded_at", UTCDateTime, nullable=False),
)

TABLES = (si_incidents, si_scores, si_warnings, si_tickets, si_town_coverage, si_coverage)

STATE_SCORED = "scored"
STATE_NO_DATA = "no_data"


@dataclass(frozen=True)
class AggregateRows:
    """GROUP BY town, day, type, category: parallel columns; ``day_index`` = days after the first day asked."""

    town_id: list[str]
    day: list[date]  # unused (empty) when day_index is given
    type_code: list[str]
    category: list[str]
    count: Any
    injuries: Any
    deaths: Any
    day_index: Any = None
    first: date | None = None  # the first day asked: ``day_index`` counts from it


_FACT_COLUMNS = ("day", "town_id", "type_code", "category", "deaths", "injuries")


def _py(v: Any) -> Any:
    """A numpy/pandas scalar as the plain Python value the drivers bind."""
    if isinstance(v, pd.Timestamp):
        return v.to_pydatetime()
    if isinstance(v, np.datetime64):
        return pd.Timestamp(v).to_pydatetime()
    if isinstance(v, np.generic):
        return v.item()
    return v


def _as_date(v: Any) -> date | None:
    return v if v is None or isinstance(v, date) else date.fromisoformat(str(v))


def _insert_for(session: Session) -> Any:
    return postgresql.insert if session.get_bind().dialect.name == "postgresql" else sqlite.insert


def _ticket(r: Any) -> Ticket:
    acts = tuple(TicketAction(datetime.fromisoformat(a["at"]), a["actor"], a["text"])
                 for a in json.loads(r.actions))
    return Ticket(id=r.id, town_id=r.town_id, agency_id=r.agency_id, home_agency_id=r.home_agency_id, day=r.day,
                  reasons=tuple(json.loads(r.reasons)), status=TicketStatus(r.status), owner=r.owner,
                  opened_at=r.opened_at, deadline=r.deadline, escalation_level=r.escalation_level, actions=acts,
                  closed_at=r.closed_at, closure=r.closure)


def _ticket_values(t: Ticket) -> dict[str, Any]:
    return {"id": t.id, "town_id": t.town_id, "agency_id": t.agency_id, "home_agency_id": t.home_agency_id,
            "day": t.day, "reasons": json.dumps(list(t.reasons), ensure_ascii=False), "status": t.status.value,
            "owner": t.owner, "opened_at": t.opened_at, "deadline": t.deadline,
            "escalation_level": t.escalation_level,
            "actions": json.dumps([{"at": a.at.isoformat(), "actor": a.actor, "text": a.text} for a in t.actions],
                                  ensure_ascii=False),
            "closed_at": t.closed_at, "closure": t.closure}


class SafetyIndexRepository:
    def __init__(self, session: Session) -> None:
        self.s = session

    def lock(self) -> None:
        """Serialise writers of the index for this transaction: PostgreSQL advisory lock; SQLite
        transactions already begin IMMEDIATE (one writer at a time)."""
        if self.s.get_bind().dialect.name == "postgresql":
            self.s.execute(text("SELECT pg_advisory_xact_lock(hashtext('jingwu.safety_index'))"))

    # ------------------------------------------------------------ incidents
    def upsert_incidents(self, rows: Sequence[dict[str, Any]], chunk: int = 2000) -> None:
        """Insert or replace incident facts by incident_id (idempotent)."""
        ins = _insert_for(self.s)(si_incidents)
        cols = {c: ins.excluded[c] for c in ("occurred_at", "day", "town_id", "type_code", "category", "deaths",
                                             "injuries", "source")}
        stmt = ins.on_conflict_do_update(index_elements=["incident_id"], set_=cols)
        for i in range(0, len(rows), chunk):
            self.s.execute(stmt, list(rows[i:i + chunk]))  # executemany (batched by the driver/dialect)

    def insert_columns(self, table: Table, columns: dict[str, Any], chunk: int = 50_000) -> None:
        """Insert many rows given as columns (name -> numpy array or list) with the driver's executemany.
        Each column's distinct values go through the column type's bind conversion once (factorised), so
        10 million timestamps cost one conversion per distinct value, not per row."""
        conn = self.s.connection()
        dialect = conn.dialect
        cols = [c for c in table.c if c.name in columns]
        data = []
        for c in cols:
            values = columns[c.name]
            proc = None if isinstance(c.type, Float | Integer | String) else c.type._cached_bind_processor(dialect)
            if proc is None:  # bound natively (ids, codes, counts): plain Python values, no factorising
                data.append(np.asarray(pd.Series(values).astype(object).where(pd.notna(values), None), dtype=object))
                continue
            codes, uniques = pd.factorize(pd.Series(values), use_na_sentinel=False)
            conv = [None if v is None or v is pd.NaT or (isinstance(v, float) and v != v) else _py(v)
                    for v in uniques.tolist()]
            if proc is not None:
                conv = [None if v is None else proc(v) for v in conv]
            data.append(np.asarray([*conv, None], dtype=object)[codes])
        mark = "?" if dialect.paramstyle == "qmark" else "%s"
        sql = (f"INSERT INTO {table.name} ({', '.join(c.name for c in cols)}) "
               f"VALUES ({', '.join([mark] * len(cols))})")
        n = len(data[0]) if data else 0
        for i in range(0, n, chunk):
            conn.exec_driver_sql(sql, list(zip(*[d[i:i + chunk].tolist() for d in data], strict=True)))

    def has_incidents(self) -> bool:
        return self.s.execute(select(si_incidents.c.incident_id).limit(1)).first() is not None

    def bulk_upsert_incidents(self, columns: dict[str, Any]) -> set[date]:
        """Insert or replace many facts by incident_id (a large import), all in SQL: into an empty fact table
        directly, else through a temporary table. Returns the days whose facts changed (the new rows' days
        and, for replaced facts, their old days); an identical repeat changes nothing."""
        if not self.has_incidents():
            self.insert_columns(si_incidents, columns)
            return set(pd.unique(pd.Series(columns["day"])).tolist())
        names = [c.name for c in si_incidents.c]
        self.s.execute(text("DROP TABLE IF EXISTS si_import_tmp"))
        self.s.execute(text("CREATE TEMPORARY TABLE si_import_tmp AS SELECT * FROM si_incidents WHERE 1 = 0"))
        tmp = Table("si_import_tmp", MetaData(), *[Column(c.name, c.type) for c in si_incidents.c])
        self.insert_columns(tmp, columns)
        same = " AND ".join(f"i.{k} IS NOT DISTINCT FROM t.{k}" if self.s.get_bind().dialect.name == "postgresql"
                            else f"i.{k} IS t.{k}" for k in _FACT_COLUMNS)
        changed: set[date] = set()
        for q in (f"SELECT DISTINCT t.day FROM si_import_tmp t LEFT JOIN si_incidents i "
                  f"ON i.incident_id = t.incident_id WHERE i.incident_id IS NULL OR NOT ({same})",
                  f"SELECT DISTINCT i.day FROM si_import_tmp t JOIN si_incidents i "
                  f"ON i.incident_id = t.incident_id WHERE NOT ({same})"):
            changed |= {_as_date(r[0]) for r in self.s.execute(text(q))}  # type: ignore[misc]
        cols = ", ".join(names)
        upd = ", ".join(f"{k} = excluded.{k}" for k in names if k not in ("incident_id", "received_at"))
        self.s.execute(text(f"INSERT INTO si_incidents ({cols}) SELECT {cols} FROM si_import_tmp WHERE true "
                            f"ON CONFLICT (incident_id) DO UPDATE SET {upd}"))
        self.s.execute(text("DROP TABLE si_import_tmp"))
        return changed

    def incident(self, incident_id: str) -> dict[str, Any] | None:
        r = self.s.execute(select(si_incidents).where(si_incidents.c.incident_id == incident_id)).one_or_none()
        return dict(r._mapping) if r else None

    def existing(self, incident_ids: Iterable[str]) -> dict[str, dict[str, Any]]:
        """Stored facts among ``incident_ids`` (one query per 900 ids)."""
        ids = list(incident_ids)
        out: dict[str, dict[str, Any]] = {}
        for i in range(0, len(ids), 900):
            q = select(si_incidents).where(si_incidents.c.incident_id.in_(ids[i:i + 900]))
            out.update({r.incident_id: dict(r._mapping) for r in self.s.execute(q)})
        return out

    def count_incidents(self) -> int:
        return int(self.s.execute(select(func.count()).select_from(si_incidents)).scalar_one())

    def origin_day(self) -> date | None:
        v = self.s.execute(select(func.min(si_incidents.c.day))).scalar_one()
        return v if v is None or isinstance(v, date) else date.fromisoformat(str(v))

    def last_incident_day(self) -> date | None:
        v = self.s.execute(select(func.max(si_incidents.c.day))).scalar_one()
        return v if v is None or isinstance(v, date) else date.fromisoformat(str(v))

    # ------------------------------------------------------------ coverage
    def widen_town_coverage(self, spans: dict[str, tuple[date, date]]) -> dict[str, date | None]:
        """Widen each town's (first_day, last_day) to include ``spans`` (town -> (min, max) of new facts).
        Returns the towns whose first day moved earlier, with their previous first day (None: new)."""
        if not spans:
            return {}
        c = si_town_coverage.c
        old = {r.town_id: _as_date(r.first_day) for r in self.s.execute(
            select(c.town_id, c.first_day).where(c.town_id.in_(list(spans))))}
        moved: dict[str, date | None] = {t: old.get(t) for t, (lo, _hi) in spans.items()
                                         if old.get(t) is None or lo < old[t]}  # type: ignore[operator]
        ins = _insert_for(self.s)(si_town_coverage)
        stmt = ins.on_conflict_do_update(index_elements=["town_id"], set_={
            "first_day": case((ins.excluded.first_day < c.first_day, ins.excluded.first_day), else_=c.first_day),
            "last_day": case((ins.excluded.last_day > c.last_day, ins.excluded.last_day), else_=c.last_day)})
        self.s.execute(stmt, [{"town_id": t, "first_day": lo, "last_day": hi} for t, (lo, hi) in spans.items()])
        return moved

    def town_first_days(self) -> dict[str, date]:
        """Each town's first day with an incident record (towns without any record are absent). Built from
        the facts when the table is empty but facts exist (a database from before migration 0012)."""
        c = si_town_coverage.c
        rows = self.s.execute(select(c.town_id, c.first_day)).all()
        if not rows and self.last_incident_day() is not None:
            i = si_incidents.c
            self.s.execute(insert(si_town_coverage).from_select(
                ["town_id", "first_day", "last_day"],
                select(i.town_id, func.min(i.day), func.max(i.day)).where(i.town_id.is_not(None))
                .group_by(i.town_id)))
            rows = self.s.execute(select(c.town_id, c.first_day)).all()
        return {r.town_id: _as_date(r.first_day) for r in rows}  # type: ignore[misc]

    def record_coverage(self, kind: str, source: str, first: date | None, last: date | None, rows: int,
                        at: datetime) -> None:
        self.s.execute(insert(si_coverage).values(kind=kind, source=source, first_day=first, last_day=last,
                                                  rows=rows, recorded_at=at))

    def coverage_log(self) -> list[dict[str, Any]]:
        return [dict(r._mapping) for r in self.s.execute(select(si_coverage).order_by(si_coverage.c.id))]

    def data_horizon(self) -> date | None:
        """The last day the data covers: the last day with an incident or the last day the live intake
        (the daily job) declared covered, whichever is later."""
        c = si_coverage.c
        intake = _as_date(self.s.execute(select(func.max(c.last_day)).where(c.kind == "intake")).scalar_one())
        days = [d for d in (self.last_incident_day(), intake) if d is not None]
        return max(days) if days else None

    def aggregates(self, first: date, last: date) -> AggregateRows:
        """GROUP BY day, town, type, category over first..last, in the covering index's order; the day as
        its offset from ``first``. Fetched with the driver's cursor into numpy arrays (no row objects)."""
        conn = self.s.connection()
        pg = conn.dialect.name == "postgresql"
        mark = "%s" if pg else "?"
        offset = f"(day - CAST({mark} AS DATE))" if pg else f"CAST(julianday(day) - julianday({mark}) AS INTEGER)"
        sql = (f"SELECT {offset}, town_id, type_code, category, COUNT(*), SUM(injuries), SUM(deaths) "
               f"FROM si_incidents WHERE day >= {mark} AND day <= {mark} AND town_id IS NOT NULL "
               "GROUP BY day, town_id, type_code, category")
        cur = conn.connection.cursor()
        try:
            cur.execute(sql, (first, first, last) if pg else (first.isoformat(), first.isoformat(), last.isoformat()))
            rows = cur.fetchall()
        finally:
            cur.close()
        if not rows:
            e = np.zeros(0, dtype=np.int64)
            return AggregateRows([], [], [], [], e, e, e, e, first)
        cols = list(zip(*rows, strict=True))
        ints = [np.asarray(x, dtype=np.int64) for x in (cols[0], cols[4], cols[5], cols[6])]
        return AggregateRows(list(cols[1]), [], list(cols[2]), list(cols[3]), ints[1], ints[2], ints[3], ints[0],
                             first)

    def event_counts(self, first: date, last: date, categories: Sequence[str]) -> tuple[list[str], list[date],
                                                                                        list[int]]:
        """Method v2: events per town and day among incidents of ``categories`` (the harm-bearing ones):
        records of one town with the same ``occurred_at`` are one event (method §13.3)."""
        c = si_incidents.c
        q = (select(c.town_id, c.day, func.count(func.distinct(c.occurred_at)).label("e"))
             .where(and_(c.day >= first, c.day <= last, c.town_id.is_not(None), c.category.in_(list(categories))))
             .group_by(c.town_id, c.day))
        rows = self.s.execute(q).all()
        return [r.town_id for r in rows], [_as_date(r.day) or first for r in rows], [int(r.e) for r in rows]

    def categories_present(self) -> list[str]:
        """The distinct categories of the stored incidents (method v2 detects the fed sub-indices)."""
        return [str(v) for v in self.s.execute(select(si_incidents.c.category).distinct()).scalars()]

    # ------------------------------------------------------------ scores and warnings
    def replace_scores(self, first: date, last: date, columns: dict[str, list[Any]]) -> None:
        """Replace the scores of first..last with ``columns`` (name -> values, one entry per row)."""
        self.s.execute(delete(si_scores).where(and_(si_scores.c.day >= first, si_scores.c.day <= last)))
        self._bulk_insert(si_scores, columns)

    def _bulk_insert(self, table: Table, columns: dict[str, list[Any]]) -> None:
        """executemany on the driver with the columns' own bind conversions (10x faster than Core rows)."""
        conn = self.s.connection()
        dialect = conn.dialect
        cols = [c for c in table.c if c.name in columns]
        data = []
        for c in cols:
            values = columns[c.name]
            plain = isinstance(c.type, Float | Integer | String)  # the driver binds these natively
            proc = None if plain else c.type._cached_bind_processor(dialect)
            if proc is not None:
                cache: dict[Any, Any] = {}
                values = [cache[v] if v in cache else cache.setdefault(v, proc(v)) for v in values]
            data.append(values)
        mark = "?" if dialect.paramstyle == "qmark" else "%s"
        sql = (f"INSERT INTO {table.name} ({', '.join(c.name for c in cols)}) "
               f"VALUES ({', '.join([mark] * len(cols))})")
        rows = list(zip(*data, strict=True))
        for i in range(0, len(rows), 20_000):
            conn.exec_driver_sql(sql, rows[i:i + 20_000])

    def replace_warnings(self, first: date, last: date, rows: Sequence[dict[str, Any]]) -> None:
        self.s.execute(delete(si_warnings).where(and_(si_warnings.c.day >= first, si_warnings.c.day <= last)))
        if rows:
            self.s.execute(insert(si_warnings), list(rows))

    def last_scored_day(self) -> date | None:
        v = self.s.execute(select(func.max(si_scores.c.day))).scalar_one()
        return v if v is None or isinstance(v, date) else date.fromisoformat(str(v))

    def stored_days(self) -> tuple[date | None, date | None]:
        """First and last day with stored rows (scored or no-data)."""
        # two queries: each MIN/MAX alone is answered from the primary-key index
        first = self.s.execute(select(func.min(si_scores.c.day))).scalar_one()
        last = self.s.execute(select(func.max(si_scores.c.day))).scalar_one()
        return _as_date(first), _as_date(last)

    def scored_days(self) -> tuple[date | None, date | None]:
        """First and last day on which at least one town is scored (the published range)."""
        c = si_scores.c
        scored = c.state == STATE_SCORED
        first = self.s.execute(select(c.day).where(scored).order_by(c.day).limit(1)).scalar()
        last = self.s.execute(select(c.day).where(scored).order_by(c.day.desc()).limit(1)).scalar()
        return _as_date(first), _as_date(last)

    def scores_on(self, day: date) -> list[dict[str, Any]]:
        """The day's rows: scored towns by rank, then no-data rows."""
        q = select(si_scores).where(si_scores.c.day == day).order_by(si_scores.c.rank.is_(None), si_scores.c.rank)
        return [dict(r._mapping) for r in self.s.execute(q)]

    def scores_between(self, first: date, last: date, town_id: str | None = None) -> list[dict[str, Any]]:
        q = select(si_scores).where(and_(si_scores.c.day >= first, si_scores.c.day <= last))
        if town_id is not None:
            q = q.where(si_scores.c.town_id == town_id)
        return [dict(r._mapping) for r in self.s.execute(q.order_by(si_scores.c.day, si_scores.c.rank.is_(None),
                                                                              si_scores.c.rank))]

    def sums_between(self, first: date, last: date) -> dict[str, list[Any]]:
        """The stored window sums of first..last as columns (fast path for incremental updates)."""
        names = ["day", "town_id", "count_7d", "count_baseline", "count_28d", "count_prev_28d", "deaths_7d",
                 *[f"h7_{s.value}" for s in SUB_INDICES], *[f"h84_{s.value}" for s in SUB_INDICES]]
        q = select(*[si_scores.c[n] for n in names]).where(and_(si_scores.c.day >= first, si_scores.c.day <= last))
        rows = self.s.execute(q).all()
        return {n: [r[i] for r in rows] for i, n in enumerate(names)}

    def warnings_between(self, first: date, last: date, town_id: str | None = None) -> list[dict[str, Any]]:
        q = select(si_warnings).where(and_(si_warnings.c.day >= first, si_warnings.c.day <= last))
        if town_id is not None:
            q = q.where(si_warnings.c.town_id == town_id)
        return [dict(r._mapping) for r in self.s.execute(q.order_by(si_warnings.c.day, si_warnings.c.town_id))]

    # ------------------------------------------------------------ tickets
    def add_ticket(self, t: Ticket) -> None:
        self.s.execute(insert(si_tickets).values(**_ticket_values(t)))

    def save_ticket(self, t: Ticket) -> None:
        v = _ticket_values(t)
        v.pop("id")
        self.s.execute(update(si_tickets).where(si_tickets.c.id == t.id).values(**v))

    def ticket(self, ticket_id: str) -> Ticket:
        r = self.s.execute(select(si_tickets).where(si_tickets.c.id == ticket_id)).one_or_none()
        if r is None:
            raise NotFound(f"Ticket {ticket_id} does not exist.")
        return _ticket(r)

    def open_ticket_for(self, town_id: str) -> Ticket | None:
        r = self.s.execute(select(si_tickets).where(and_(si_tickets.c.town_id == town_id,
                                                         si_tickets.c.status != TicketStatus.CLOSED.value))
                           .order_by(si_tickets.c.opened_at.desc()).limit(1)).one_or_none()
        return _ticket(r) if r else None

    def tickets(self, *, status: str | None = None, town_ids: Iterable[str] | None = None) -> list[Ticket]:
        q = select(si_tickets)
        if status is not None:
            q = q.where(si_tickets.c.status == status)
        if town_ids is not None:
            q = q.where(si_tickets.c.town_id.in_(list(town_ids)))
        return [_ticket(r) for r in self.s.execute(q.order_by(si_tickets.c.opened_at))]

    def unclosed_tickets(self) -> list[Ticket]:
        q = select(si_tickets).where(si_tickets.c.status != TicketStatus.CLOSED.value)
        return [_ticket(r) for r in self.s.execute(q.order_by(si_tickets.c.opened_at))]


def repo(uow: Any) -> SafetyIndexRepository:
    """The Safety Index repository on a unit of work's session (same transaction)."""
    return SafetyIndexRepository(uow.session)
