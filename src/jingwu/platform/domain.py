"""Platform domain: roles, agency kinds, the access policy, audit hash chain.

Standard library only. The one place that decides who may do what where
(``Principal.require``); the web layer and services call it, nothing else
re-implements it.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from enum import StrEnum

from jingwu.platform.errors import Forbidden


class Role(StrEnum):
    CALL_TAKER = "call_taker"
    DISPATCHER = "dispatcher"
    COMMANDER = "commander"
    PATROL_OFFICER = "patrol_officer"
    INVESTIGATOR = "investigator"
    LEGAL_OFFICER = "legal_officer"
    ANALYST = "analyst"
    AUDITOR = "auditor"
    ADMIN = "admin"


ROLE_LABELS_ZH: dict[Role, str] = {
    Role.CALL_TAKER: "接警员",
    Role.DISPATCHER: "调度员",
    Role.COMMANDER: "指挥员",
    Role.PATROL_OFFICER: "巡逻民警",
    Role.INVESTIGATOR: "侦查员",
    Role.LEGAL_OFFICER: "法制员",
    Role.ANALYST: "分析员",
    Role.AUDITOR: "审计员",
    Role.ADMIN: "管理员",
}


class AgencyKind(StrEnum):
    PROVINCE_DEPARTMENT = "province_department"  # 省厅
    CITY_BUREAU = "city_bureau"  # 市局
    BRANCH_BUREAU = "branch_bureau"  # 分局
    STATION = "station"  # 派出所
    FIRE_STATION = "fire_station"  # 消防站


AGENCY_PARENT: dict[AgencyKind, set[AgencyKind | None]] = {
    AgencyKind.PROVINCE_DEPARTMENT: {None},
    AgencyKind.CITY_BUREAU: {None, AgencyKind.PROVINCE_DEPARTMENT},
    AgencyKind.BRANCH_BUREAU: {AgencyKind.CITY_BUREAU},
    AgencyKind.STATION: {AgencyKind.BRANCH_BUREAU, AgencyKind.CITY_BUREAU},
    AgencyKind.FIRE_STATION: {AgencyKind.CITY_BUREAU, AgencyKind.BRANCH_BUREAU},
}


class UnitKind(StrEnum):
    PATROL_CAR = "patrol_car"  # 巡逻车
    FOOT_PATROL = "foot_patrol"  # 步巡
    MOTORBIKE = "motorbike"  # 摩托车
    TRAFFIC = "traffic"  # 交警
    FIRE_ENGINE = "fire_engine"  # 消防车
    SPECIAL = "special"  # 特警


class TravelMode(StrEnum):
    """How a unit moves on the road graph (each mode has its own speeds in routing)."""

    CAR = "car"
    MOTORBIKE = "motorbike"
    FOOT = "foot"
    BICYCLE = "bicycle"


_MODE_OF_KIND: dict[str, TravelMode] = {UnitKind.FOOT_PATROL.value: TravelMode.FOOT,
                                        UnitKind.MOTORBIKE.value: TravelMode.MOTORBIKE}


def travel_mode_of(kind: str, travel_mode: str | None) -> TravelMode:
    """A unit's travel mode: the one set on the unit, else the one its kind implies (foot patrol → foot,
    motorbike → motorbike, every other kind → car). Raises ValueError for an unknown stored mode."""
    if travel_mode:
        return TravelMode(travel_mode)
    return _MODE_OF_KIND.get(kind, TravelMode.CAR)


class Permission(StrEnum):
    READ_ORG = "read_org"  # agencies, towns, units, map
    MANAGE_USERS = "manage_users"
    MANAGE_ORG = "manage_org"
    READ_AUDIT = "read_audit"
    TAKE_CALLS = "take_calls"
    DISPATCH = "dispatch"
    COMMAND = "command"
    REPORT_STATUS = "report_status"
    HANDLE_CASES = "handle_cases"
    REVIEW_CASES = "review_cases"
    ANALYSE = "analyse"


ROLE_PERMISSIONS: dict[Role, frozenset[Permission]] = {
    Role.CALL_TAKER: frozenset({Permission.READ_ORG, Permission.TAKE_CALLS}),
    Role.DISPATCHER: frozenset({Permission.READ_ORG, Permission.TAKE_CALLS, Permission.DISPATCH}),
    Role.COMMANDER: frozenset({Permission.READ_ORG, Permission.DISPATCH, Permission.COMMAND, Permission.ANALYSE}),
    Role.PATROL_OFFICER: frozenset({Permission.READ_ORG, Permission.REPORT_STATUS}),
    Role.INVESTIGATOR: frozenset({Permission.READ_ORG, Permission.HANDLE_CASES}),
    Role.LEGAL_OFFICER: frozenset({Permission.READ_ORG, Permission.HANDLE_CASES, Permission.REVIEW_CASES}),
    Role.ANALYST: frozenset({Permission.READ_ORG, Permission.ANALYSE}),
    Role.AUDITOR: frozenset({Permission.READ_ORG, Permission.READ_AUDIT}),
    Role.ADMIN: frozenset(
        {Permission.READ_ORG, Permission.MANAGE_USERS, Permission.MANAGE_ORG, Permission.READ_AUDIT}
    ),
}


def agency_path(parent_path: str | None, agency_id: str) -> str:
    """Materialised path of an agency: '/root/child/.../self/'."""
    return f"{parent_path or '/'}{agency_id}/"


@dataclass(frozen=True)
class Principal:
    """The authenticated actor: a user with roles, scoped to an agency subtree."""

    user_id: str
    username: str
    agency_id: str
    agency_path: str
    roles: frozenset[Role] = field(default_factory=frozenset)

    @property
    def permissions(self) -> frozenset[Permission]:
        out: set[Permission] = set()
        for role in self.roles:
            out |= ROLE_PERMISSIONS[role]
        return frozenset(out)

    def can(self, permission: Permission) -> bool:
        return permission in self.permissions

    def in_scope(self, object_agency_path: str) -> bool:
        """An object is in scope when its agency lies in the user's agency subtree."""
        return object_agency_path.startswith(self.agency_path)

    def require(self, permission: Permission, object_agency_path: str | None = None) -> None:
        if not self.can(permission):
            raise Forbidden(f"Your roles do not allow '{permission.value}'.", code="missing_role")
        if object_agency_path is not None and not self.in_scope(object_agency_path):
            raise Forbidden("This object belongs to an agency outside your scope.", code="out_of_scope")


# ---------------------------------------------------------------- audit chain

GENESIS_HASH = "0" * 64


@dataclass(frozen=True)
class AuditRecord:
    seq: int
    at: datetime | None  # None only on a malformed row (``problem`` says why)
    actor: str
    agency_id: str | None
    action: str
    object_type: str
    object_id: str | None
    reason: str | None
    detail: str  # canonical JSON
    prev_hash: str
    hash: str = ""
    problem: str | None = None  # set when the stored row could not be read as an entry


def audit_hash(
    *,
    seq: int,
    at: datetime,
    actor: str,
    agency_id: str | None,
    action: str,
    object_type: str,
    object_id: str | None,
    reason: str | None,
    detail: str,
    prev_hash: str,
) -> str:
    """SHA-256 over the canonical JSON of an entry and the previous entry's hash."""
    if at.tzinfo is not None:
        at = at.astimezone(UTC).replace(tzinfo=None)
    body = json.dumps(
        [seq, at.isoformat(timespec="microseconds"), actor, agency_id, action, object_type,
         object_id, reason, detail, prev_hash],
        ensure_ascii=False,
        separators=(",", ":"),
    )
    return hashlib.sha256(body.encode("utf-8")).hexdigest()


def canonical_json(value: object) -> str:
    return json.dumps(value, ensure_ascii=False, sort_keys=True, separators=(",", ":"), default=str)


@dataclass(frozen=True)
class ChainBreak:
    seq: int
    problem: str


def verify_chain(records: Iterable[AuditRecord], head: tuple[int, str] | None = None,
                 anchors: Mapping[int, tuple[str, str]] | None = None) -> ChainBreak | None:
    """First entry that was edited, deleted or reordered, or None if the chain holds.

    ``records`` in storage order (by seq). ``head`` is the stored (last_seq, last_hash):
    when given, removing entries from the end is caught too. ``anchors`` maps the seq of each
    signed checkpoint (kept outside the database) to its (hash, signed at): an entry that differs
    from its checkpoint, or a chain that ends before the last checkpoint, is a break even when
    the head was moved back or the whole chain rebuilt.
    """
    anchors = anchors or {}
    prev = GENESIS_HASH
    expected_seq = 1
    for r in records:
        if r.problem is not None or r.at is None:
            return ChainBreak(r.seq, f"malformed entry: {r.problem or 'no time'}")
        if r.seq != expected_seq:
            return ChainBreak(r.seq, f"sequence gap or reorder: expected entry {expected_seq}, found {r.seq}")
        if r.prev_hash != prev:
            return ChainBreak(r.seq, "previous-hash link broken (an entry before it was removed or reordered)")
        recomputed = audit_hash(
            seq=r.seq, at=r.at, actor=r.actor, agency_id=r.agency_id, action=r.action,
            object_type=r.object_type, object_id=r.object_id, reason=r.reason, detail=r.detail,
            prev_hash=r.prev_hash,
        )
        if recomputed != r.hash:
            return ChainBreak(r.seq, "content does not match its hash (the entry was edited)")
        anchored = anchors.get(r.seq)
        if anchored is not None and anchored[0] != r.hash:
            return ChainBreak(r.seq, f"differs from the checkpoint signed at {anchored[1]} "
                                     "(the chain was rewritten from here on)")
        prev = r.hash
        expected_seq += 1
    if anchors and max(anchors) > expected_seq - 1:
        top = max(anchors)
        return ChainBreak(expected_seq, f"the chain ends at entry {expected_seq - 1} but a checkpoint signed at "
                                        f"{anchors[top][1]} records entry {top}: entries were cut from the end "
                                        "or the chain was reset")
    if head is not None:
        last_seq, last_hash = head
        if last_seq != expected_seq - 1 or last_hash != prev:
            return ChainBreak(expected_seq, f"the chain ends at entry {expected_seq - 1} but its head records "
                                            f"entry {last_seq}: entries at the end were removed or altered")
    return None
