"""Dispatch incident storage: the IncidentRepository (incidents, their timeline, idempotency keys,
duplicate (merge) proposals) and the duplicate search (NearProbe and its grid-cell SQL statement).
"""

from __future__ import annotations

import functools
import json
import math
from dataclasses import dataclass, fields
from datetime import datetime
from typing import Any

from sqlalchemy import Float, Integer, String, bindparam, delete, insert, or_, select, text, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session
from sqlalchemy.sql.selectable import TextualSelect

from jingwu.dispatch.domain import OPEN_STATUSES, IncidentStatus, cell_of, cells_around
from jingwu.dispatch.rows import IncidentRow, NearbyIncident
from jingwu.dispatch.tables import idempotency_keys, incident_events, incidents, merge_proposals
from jingwu.platform.tables import UTCDateTime, agencies, in_subtree, new_id

# IncidentRow's fields are the one list of an incident's columns (plus the agency path joined in).
_INCIDENT_FIELDS = tuple(f.name for f in fields(IncidentRow))


# Actors that are not a person: the demo autopilot, rules, the caller's browser, alarm devices, the system and
# command-line imports. Their timeline entries leave an incident untouched by a human (ADR 0018).
AUTOMATION_ACTORS = frozenset({"demo-autopilot", "rule", "caller", "system", "cli"})
AUTOMATION_PREFIXES = ("device:", "system:", "cli:", "import:", "mqtt:")


def is_automation(actor: str) -> bool:
    """Whether a timeline actor is an automation, not a person."""
    return actor in AUTOMATION_ACTORS or actor.startswith(AUTOMATION_PREFIXES)


def _inc(r: Any) -> IncidentRow:
    values = {name: getattr(r, name) for name in _INCIDENT_FIELDS}
    values["flags"] = json.loads(r.flags or "{}")
    return IncidentRow(**values)


@dataclass(frozen=True)
class NearProbe:
    """A new call looking for earlier open incidents near it (duplicate search)."""

    lon: float
    lat: float
    received_at: datetime
    seq: int
    since: datetime
    radius_m: float
    categories: tuple[str, ...] | None  # None: any category may match (domain.compatible_categories; <= 3)


# Written as the complement of the open statuses: on a young, fast-growing table whose statistics lag
# (a burst of calls), a positive status list drew PostgreSQL to AND the status and received_at indexes
# and scan every recent incident (7.7 ms a probe against 2.1 ms on the cell index, EXPLAIN ANALYZE on
# 7,912 incidents); a NOT IN cannot drive an index scan, so the plan stays on (cell, received_at).
_NOT_OPEN = ", ".join(f"'{s.value}'" for s in IncidentStatus if s not in OPEN_STATUSES)


@functools.lru_cache(maxsize=256)
def _near_statement(n: int, ncells: int, limit: int) -> TextualSelect:
    """The duplicate-search statement for n probes of ncells cells each (plain SQL: built once, and cheap
    for SQLAlchemy to cache, unlike an equivalent expression tree of n subqueries)."""
    parts = []
    for j in range(n):
        cells = ", ".join(f":c{j}_{k}" for k in range(ncells))
        d2 = (f"((lon - :lon{j}) * :kx{j}) * ((lon - :lon{j}) * :kx{j})"
              f" + ((lat - :lat{j}) * 111195.0) * ((lat - :lat{j}) * 111195.0)")
        parts.append(
            f"SELECT * FROM (SELECT {j} AS box, id, seq, lon, lat, type_code, received_at FROM incidents"
            f" WHERE cell IN ({cells}) AND received_at >= :s{j} AND status NOT IN ({_NOT_OPEN})"
            f" AND (received_at < :r{j} OR (received_at = :r{j} AND seq < :q{j}))"
            f" AND (:any{j} = 1 OR category IN (:cat{j}a, :cat{j}b, :cat{j}c))"
            f" AND {d2} <= :d{j} ORDER BY {d2}, received_at DESC LIMIT {int(limit)}) AS q{j}")
    dt = UTCDateTime()
    return text(" UNION ALL ".join(parts)).bindparams(
        *[bindparam(f"s{j}", type_=dt) for j in range(n)], *[bindparam(f"r{j}", type_=dt) for j in range(n)]
    ).columns(box=Integer, id=String, seq=Integer, lon=Float, lat=Float, type_code=String, received_at=UTCDateTime)


# Built once (hot read path of recommendations and the incident page).
_GET_INCIDENT = (select(incidents, agencies.c.path.label("agency_path"))
                 .join(agencies, agencies.c.id == incidents.c.agency_id)
                 .where(incidents.c.id == bindparam("incident_id")))


class IncidentRepository:
    def __init__(self, s: Session) -> None:
        self.s = s

    def _q(self) -> Any:
        return select(incidents, agencies.c.path.label("agency_path")).join(
            agencies, agencies.c.id == incidents.c.agency_id)

    @staticmethod
    def _row(values: dict[str, Any]) -> dict[str, Any]:
        lon, lat = values.get("lon"), values.get("lat")
        return {**values, "id": values.get("id") or new_id(),
                "flags": json.dumps(values.get("flags") or {}, ensure_ascii=False),
                "cell": cell_of(lon, lat) if lon is not None and lat is not None else None}

    def add_many(self, rows: list[dict[str, Any]]) -> list[int]:
        """Insert several incidents in one statement; their seqs in the order given."""
        if not rows:
            return []
        r = self.s.execute(insert(incidents).returning(incidents.c.seq, sort_by_parameter_order=True),
                           [self._row(v) for v in rows])
        return [int(x[0]) for x in r]

    def insert_many(self, rows: list[dict[str, Any]]) -> None:
        """Insert incidents in one executemany, without reading back their seqs (bulk import)."""
        if rows:
            self.s.execute(insert(incidents), [self._row(v) for v in rows])

    def get(self, incident_id: str) -> IncidentRow | None:
        r = self.s.execute(_GET_INCIDENT, {"incident_id": incident_id}).one_or_none()
        return _inc(r) if r else None

    def update(self, incident_id: str, **values: Any) -> None:
        if "flags" in values:
            values["flags"] = json.dumps(values["flags"], ensure_ascii=False)
        if values.get("lon") is not None and values.get("lat") is not None:
            values["cell"] = cell_of(values["lon"], values["lat"])
        self.s.execute(update(incidents).where(incidents.c.id == incident_id).values(**values))

    def open_near_many(self, probes: list[NearProbe], limit: int = 3) -> list[list[NearbyIncident]]:
        """For each probe: the nearest open incidents received before it within its radius and time window
        whose category may match, at most ``limit`` each (distance by the local flat-earth approximation,
        exact to 0.1 % at these radii). One round trip per 32 probes; the grid-cell index bounds the scan."""
        out: list[list[NearbyIncident]] = [[] for _ in probes]
        cells = [cells_around(pr.lon, pr.lat, pr.radius_m) for pr in probes]
        groups: dict[int, list[int]] = {}  # probes with the same number of cells share a statement
        for i, cs in enumerate(cells):
            groups.setdefault(len(cs), []).append(i)
        for ncells, idx in groups.items():
            for start in range(0, len(idx), 32):
                chunk = idx[start:start + 32]
                params: dict[str, Any] = {}
                for j, i in enumerate(chunk):
                    pr = probes[i]
                    kx = 111_195.0 * math.cos(math.radians(pr.lat))
                    cats = list(pr.categories or ("",))[:3]
                    cats += cats[-1:] * (3 - len(cats))
                    params.update({f"s{j}": pr.since, f"r{j}": pr.received_at, f"q{j}": pr.seq, f"lon{j}": pr.lon,
                                   f"lat{j}": pr.lat, f"kx{j}": kx, f"d{j}": pr.radius_m ** 2,
                                   f"any{j}": 1 if pr.categories is None else 0,
                                   f"cat{j}a": cats[0], f"cat{j}b": cats[1], f"cat{j}c": cats[2]})
                    params.update({f"c{j}_{k}": c for k, c in enumerate(cells[i])})
                for r in self.s.execute(_near_statement(len(chunk), ncells, limit), params):
                    out[chunk[r.box]].append(NearbyIncident(r.id, r.seq, r.lon, r.lat, r.type_code, r.received_at))
        return out

    def search(self, *, path: str, statuses: tuple[str, ...] | None = None, since: datetime | None = None,
             until: datetime | None = None, limit: int = 500, min_level: tuple[str, ...] | None = None
             ) -> list[IncidentRow]:
        q = self._q().where(in_subtree(agencies.c.path, path))
        if statuses:
            q = q.where(incidents.c.status.in_(statuses))
        if since:
            q = q.where(incidents.c.received_at >= since)
        if until:
            q = q.where(incidents.c.received_at < until)
        if min_level:
            q = q.where(incidents.c.level.in_(min_level))
        return [_inc(r) for r in self.s.execute(q.order_by(incidents.c.seq.desc()).limit(limit))]

    def add_event(self, incident_id: str, *, at: datetime, kind: str, actor: str,
                  detail: dict[str, Any] | None = None) -> None:
        self.add_events([{"incident_id": incident_id, "at": at, "kind": kind, "actor": actor, "detail": detail}])

    def add_events(self, rows: list[dict[str, Any]]) -> None:
        """Several timeline entries (incident_id, at, kind, actor, detail) in one statement. An entry by a
        person (not ``is_automation``) marks its incident ``human_touched_at`` (once): the demo autopilot
        leaves such an incident alone (ADR 0018)."""
        if not rows:
            return
        self.s.execute(insert(incident_events), [
            {**r, "detail": json.dumps(r.get("detail") or {}, ensure_ascii=False, default=str)} for r in rows])
        touched: dict[str, datetime] = {}
        for r in rows:
            if not is_automation(r["actor"]):
                touched.setdefault(r["incident_id"], r["at"])
        for iid, at in touched.items():
            self.s.execute(update(incidents).where(incidents.c.id == iid, incidents.c.human_touched_at.is_(None))
                           .values(human_touched_at=at))

    def timeline(self, incident_id: str) -> list[dict[str, Any]]:
        rows = self.s.execute(select(incident_events).where(incident_events.c.incident_id == incident_id)
                              .order_by(incident_events.c.id)).all()
        return [{"at": r.at, "kind": r.kind, "actor": r.actor, "detail": json.loads(r.detail)} for r in rows]

    # idempotency ----------------------------------------------------------
    def idempotent_many(self, keys: list[str]) -> dict[str, tuple[str, str]]:
        if not keys:
            return {}
        rows = self.s.execute(select(idempotency_keys).where(idempotency_keys.c.key.in_(keys))).all()
        return {r.key: (r.request_hash, r.incident_id) for r in rows}

    def forget_key(self, key: str) -> None:
        """Drop one idempotency key (an MQTT-derived key whose message id the broker has reused, ADR 0025)."""
        self.s.execute(delete(idempotency_keys).where(idempotency_keys.c.key == key))

    def claim_keys(self, rows: list[tuple[str, str, str, datetime]]) -> set[str]:
        """Claim idempotency keys (key, request hash, incident id, at); returns the keys claimed here.

        A key already stored, or being stored by a concurrent transaction, is skipped (on PostgreSQL
        after that transaction ends): INSERT ... ON CONFLICT DO NOTHING, so nobody waits on an error."""
        if not rows:
            return set()
        ins = pg_insert if self.s.get_bind().dialect.name == "postgresql" else sqlite_insert
        stmt = ins(idempotency_keys).on_conflict_do_nothing(index_elements=["key"]).returning(idempotency_keys.c.key)
        r = self.s.execute(stmt, [{"key": k, "request_hash": h, "incident_id": i, "created_at": at}
                                  for k, h, i, at in rows])
        return {x[0] for x in r}

    def existing_refs(self, refs: list[str]) -> set[str]:
        """The external references (imported calls) already stored, of those given."""
        if not refs:
            return set()
        return {r[0] for r in self.s.execute(select(incidents.c.external_ref)
                                             .where(incidents.c.external_ref.in_(refs)))}

    def get_many(self, ids: list[str]) -> dict[str, IncidentRow]:
        if not ids:
            return {}
        return {r.id: _inc(r) for r in self.s.execute(self._q().where(incidents.c.id.in_(ids)))}

    # duplicates -----------------------------------------------------------
    def propose_merges(self, rows: list[tuple[str, str, float, float]]) -> None:
        """(incident, candidate, distance m, seconds apart) in one statement."""
        if rows:
            self.s.execute(insert(merge_proposals), [
                {"incident_id": i, "candidate_id": c, "distance_m": d, "seconds_apart": t} for i, c, d, t in rows])

    def proposals(self, incident_id: str) -> list[dict[str, Any]]:
        rows = self.s.execute(select(merge_proposals).where(or_(
            merge_proposals.c.incident_id == incident_id, merge_proposals.c.candidate_id == incident_id))
            .order_by(merge_proposals.c.id)).all()
        return [{"id": r.id, "incident_id": r.incident_id, "candidate_id": r.candidate_id,
                 "distance_m": r.distance_m, "seconds_apart": r.seconds_apart, "state": r.state} for r in rows]

    def decide_proposal(self, incident_id: str, candidate_id: str, state: str, by: str, at: datetime) -> int:
        r = self.s.execute(update(merge_proposals).where(
            merge_proposals.c.incident_id == incident_id, merge_proposals.c.candidate_id == candidate_id,
            merge_proposals.c.state == "proposed").values(state=state, decided_by=by, decided_at=at))
        return int(r.rowcount or 0)  # type: ignore[attr-defined]

    def open_proposal_ids(self, path: str) -> set[str]:
        q = (select(merge_proposals.c.incident_id).join(incidents, incidents.c.id == merge_proposals.c.incident_id)
             .join(agencies, agencies.c.id == incidents.c.agency_id)
             .where(merge_proposals.c.state == "proposed", in_subtree(agencies.c.path, path)))
        return {r[0] for r in self.s.execute(q)}
