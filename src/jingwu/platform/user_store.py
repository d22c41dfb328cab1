"""Users' storage: the user row (and the principal it stands for) and the user repository."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import insert, select, update
from sqlalchemy.orm import Session

from jingwu.platform.domain import Principal, Role
from jingwu.platform.tables import agencies, auth_sessions, in_subtree, new_id, users


@dataclass(frozen=True)
class UserRow:
    id: str
    username: str
    display_name: str
    password_hash: str
    agency_id: str
    agency_path: str
    roles: frozenset[Role]
    active: bool

    def principal(self) -> Principal:
        return Principal(self.id, self.username, self.agency_id, self.agency_path, self.roles)


class UserRepository:
    def __init__(self, session: Session) -> None:
        self.s = session

    def add(self, *, username: str, display_name: str, password_hash: str, agency_id: str,
            roles: Iterable[Role], at: datetime) -> str:
        uid = new_id()
        self.s.execute(insert(users).values(
            id=uid, username=username, display_name=display_name, password_hash=password_hash,
            agency_id=agency_id, roles=",".join(sorted(r.value for r in roles)), active=True, created_at=at))
        return uid

    def _q(self) -> Any:
        return select(users, agencies.c.path.label("agency_path")).join(agencies, agencies.c.id == users.c.agency_id)

    def _row(self, r: Any) -> UserRow:
        roles = frozenset(Role(x) for x in r.roles.split(",") if x)
        return UserRow(r.id, r.username, r.display_name, r.password_hash, r.agency_id, r.agency_path,
                       roles, bool(r.active))

    def by_username(self, username: str) -> UserRow | None:
        r = self.s.execute(self._q().where(users.c.username == username)).one_or_none()
        return self._row(r) if r else None

    def get(self, user_id: str) -> UserRow | None:
        r = self.s.execute(self._q().where(users.c.id == user_id)).one_or_none()
        return self._row(r) if r else None

    def in_subtree(self, path: str) -> list[UserRow]:
        q = self._q().where(in_subtree(agencies.c.path, path)).order_by(users.c.username)
        return [self._row(r) for r in self.s.execute(q)]

    def update(self, user_id: str, values: dict[str, Any]) -> None:
        """Change a user's columns; a change of what the user may do (roles, agency, active, password) bumps
        ``auth_version``, so every open session re-reads the user on its next request."""
        if "roles" in values:
            values = {**values, "roles": ",".join(sorted(Role(r).value for r in values["roles"]))}
        if AUTH_FIELDS & set(values):
            values = {**values, "auth_version": users.c.auth_version + 1}
        if values:
            self.s.execute(update(users).where(users.c.id == user_id).values(**values))


AUTH_FIELDS = frozenset({"roles", "agency_id", "active", "password_hash"})


@dataclass(frozen=True)
class SessionState:
    """What a request needs to know of its session: is it still good, and is the user as the cache knows it."""
    user_id: str
    kind: str
    expires_at: datetime
    revoked_at: datetime | None
    user_active: bool
    auth_version: int


class SessionRepository:
    """Server-side sessions: one row per issued token, revoked by logout or an administrator."""

    def __init__(self, session: Session) -> None:
        self.s = session

    def add(self, *, sid: str, user_id: str, kind: str, issued_at: datetime, expires_at: datetime,
            address: str | None) -> None:
        self.s.execute(insert(auth_sessions).values(id=sid, user_id=user_id, kind=kind, issued_at=issued_at,
                                                    expires_at=expires_at, address=(address or None) and address[:64]))

    def state(self, sid: str) -> SessionState | None:
        r = self.s.execute(
            select(auth_sessions.c.user_id, auth_sessions.c.kind, auth_sessions.c.expires_at,
                   auth_sessions.c.revoked_at, users.c.active, users.c.auth_version)
            .join(users, users.c.id == auth_sessions.c.user_id).where(auth_sessions.c.id == sid)).one_or_none()
        if r is None:
            return None
        return SessionState(r.user_id, r.kind, r.expires_at, r.revoked_at, bool(r.active), int(r.auth_version))

    def revoke(self, sid: str, *, at: datetime, by: str) -> bool:
        """Revoke one session; False when it was unknown or already revoked."""
        open_one = (auth_sessions.c.id == sid) & auth_sessions.c.revoked_at.is_(None)
        res = self.s.execute(update(auth_sessions).where(open_one).values(revoked_at=at, revoked_by=by[:200]))
        return bool(res.rowcount)  # type: ignore[attr-defined]

    def revoke_user(self, user_id: str, *, at: datetime, by: str) -> int:
        """Revoke every open session of a user (e.g. a new password); the number revoked."""
        res = self.s.execute(update(auth_sessions).where(auth_sessions.c.user_id == user_id,
                                                         auth_sessions.c.revoked_at.is_(None))
                             .values(revoked_at=at, revoked_by=by[:200]))
        return int(res.rowcount or 0)  # type: ignore[attr-defined]
