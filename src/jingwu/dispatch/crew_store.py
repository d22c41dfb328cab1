"""Crews and refused positions (ADR 0018): who crews which unit for a shift (unit_crews: one row per officer
and sign-on, open while ``signed_off_at`` is NULL and the planned shift end, if any, lies ahead) and the
positions refused by the sanity checks (position_rejects)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import func, insert, or_, select, update
from sqlalchemy.orm import Session

from jingwu.dispatch.tables import position_rejects, unit_crews
from jingwu.platform.tables import agencies, in_subtree, new_id, units


@dataclass(frozen=True)
class CrewRow:
    id: str
    unit_id: str
    user_id: str
    username: str
    signed_on_at: datetime
    shift_ends_at: datetime | None
    signed_off_at: datetime | None
    call_sign: str = ""


@dataclass(frozen=True)
class RejectRow:
    id: int
    unit_id: str
    reason: str
    lon: float | None
    lat: float | None
    reported_at: datetime | None
    received_at: datetime
    actor: str
    call_sign: str = ""


def _crew(r: Any) -> CrewRow:
    return CrewRow(r.id, r.unit_id, r.user_id, r.username, r.signed_on_at, r.shift_ends_at, r.signed_off_at,
                   r.call_sign)


class CrewRepository:
    def __init__(self, s: Session) -> None:
        self.s = s

    @staticmethod
    def _on(now: datetime) -> Any:
        """Open crew rows: not signed off, and the planned shift end (if any) still ahead."""
        return (unit_crews.c.signed_off_at.is_(None),
                or_(unit_crews.c.shift_ends_at.is_(None), unit_crews.c.shift_ends_at > now))

    def _q(self) -> Any:
        return select(unit_crews, units.c.call_sign).join(units, units.c.id == unit_crews.c.unit_id)

    def add(self, *, unit_id: str, user_id: str, username: str, at: datetime, shift_ends_at: datetime | None) -> str:
        cid = new_id()
        self.s.execute(insert(unit_crews).values(id=cid, unit_id=unit_id, user_id=user_id, username=username,
                                                 signed_on_at=at, shift_ends_at=shift_ends_at))
        return cid

    def of_user(self, user_id: str, now: datetime) -> CrewRow | None:
        """The officer's open crew row (an officer crews one unit at a time)."""
        r = self.s.execute(self._q().where(unit_crews.c.user_id == user_id, *self._on(now))
                           .order_by(unit_crews.c.signed_on_at.desc())).first()
        return _crew(r) if r else None

    def of_unit(self, unit_id: str, now: datetime) -> list[CrewRow]:
        rows = self.s.execute(self._q().where(unit_crews.c.unit_id == unit_id, *self._on(now))
                              .order_by(unit_crews.c.signed_on_at)).all()
        return [_crew(r) for r in rows]

    def on_crew(self, unit_id: str, user_id: str, now: datetime) -> bool:
        return self.s.execute(select(unit_crews.c.id).where(
            unit_crews.c.unit_id == unit_id, unit_crews.c.user_id == user_id, *self._on(now))).first() is not None

    def crewed(self, unit_ids: Sequence[str], now: datetime) -> dict[str, list[str]]:
        """Usernames crewing each of these units (units without a crew are absent)."""
        if not unit_ids:
            return {}
        rows = self.s.execute(select(unit_crews.c.unit_id, unit_crews.c.username).where(
            unit_crews.c.unit_id.in_(list(unit_ids)), *self._on(now)).order_by(unit_crews.c.signed_on_at)).all()
        out: dict[str, list[str]] = {}
        for r in rows:
            out.setdefault(r.unit_id, []).append(r.username)
        return out

    def all_crewed(self, now: datetime) -> set[str]:
        """Ids of every unit with a human crew now."""
        return {r[0] for r in self.s.execute(select(unit_crews.c.unit_id).where(*self._on(now)).distinct())}

    def sign_off(self, crew_id: str, *, at: datetime, by: str) -> bool:
        r = self.s.execute(update(unit_crews).where(unit_crews.c.id == crew_id, unit_crews.c.signed_off_at.is_(None))
                           .values(signed_off_at=at, signed_off_by=by))
        return bool(r.rowcount == 1)  # type: ignore[attr-defined]

    def close_expired(self, user_id: str, now: datetime) -> None:
        """Rows of this officer whose planned shift has ended are signed off at their planned end."""
        self.s.execute(update(unit_crews).where(
            unit_crews.c.user_id == user_id, unit_crews.c.signed_off_at.is_(None),
            unit_crews.c.shift_ends_at.is_not(None), unit_crews.c.shift_ends_at <= now)
            .values(signed_off_at=unit_crews.c.shift_ends_at, signed_off_by="shift_end"))


class PositionRejectRepository:
    def __init__(self, s: Session) -> None:
        self.s = s

    def add_many(self, rows: list[dict[str, Any]]) -> None:
        """Refused positions (unit_id, reason, lon, lat, reported_at, received_at, actor)."""
        if rows:
            self.s.execute(insert(position_rejects), rows)

    def recent(self, path: str, *, since: datetime | None = None, limit: int = 200) -> list[RejectRow]:
        q = (select(position_rejects, units.c.call_sign).join(units, units.c.id == position_rejects.c.unit_id)
             .join(agencies, agencies.c.id == units.c.agency_id).where(in_subtree(agencies.c.path, path)))
        if since is not None:
            q = q.where(position_rejects.c.received_at >= since)
        rows = self.s.execute(q.order_by(position_rejects.c.id.desc()).limit(limit)).all()
        return [RejectRow(r.id, r.unit_id, r.reason, r.lon, r.lat, r.reported_at, r.received_at, r.actor,
                          r.call_sign) for r in rows]

    def counts(self, path: str, *, since: datetime | None = None) -> dict[str, int]:
        q = (select(position_rejects.c.reason, func.count()).join(units, units.c.id == position_rejects.c.unit_id)
             .join(agencies, agencies.c.id == units.c.agency_id).where(in_subtree(agencies.c.path, path)))
        if since is not None:
            q = q.where(position_rejects.c.received_at >= since)
        return {r[0]: int(r[1]) for r in self.s.execute(q.group_by(position_rejects.c.reason))}
