"""Users' storage: the user row (and the principal it stands for) and the user repository."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import insert, select, update
from sqlalchemy.orm import Session

from jingwu.platform.domain import Principal, Role
from jingwu.platform.tables import agencies, in_subtree, new_id, users


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
        if "roles" in values:
            values = {**values, "roles": ",".join(sorted(Role(r).value for r in values["roles"]))}
        if values:
            self.s.execute(update(users).where(users.c.id == user_id).values(**values))
