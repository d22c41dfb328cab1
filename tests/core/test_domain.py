"""Domain rules: roles, agency scope, the audit hash chain (pure, no database)."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest

from jingwu.platform.domain import (
    GENESIS_HASH,
    AuditRecord,
    Permission,
    Principal,
    Role,
    TravelMode,
    UnitKind,
    agency_path,
    audit_hash,
    travel_mode_of,
    verify_chain,
)
from jingwu.platform.errors import Forbidden


def principal(path: str, *roles: Role) -> Principal:
    return Principal("u1", "someone", "a1", path, frozenset(roles))


def test_agency_path_nests_under_parent() -> None:
    city = agency_path(None, "c")
    assert city == "/c/"
    assert agency_path(city, "s") == "/c/s/"


def test_user_sees_own_subtree_only() -> None:
    p = principal("/c/b1/", Role.DISPATCHER)
    assert p.in_scope("/c/b1/s1/")
    assert not p.in_scope("/c/b2/s3/")
    assert not p.in_scope("/c/")  # the parent is outside a branch user's scope


def test_missing_role_is_refused_with_code() -> None:
    p = principal("/c/", Role.ANALYST)
    with pytest.raises(Forbidden) as exc:
        p.require(Permission.DISPATCH)
    assert exc.value.code == "missing_role"


def test_other_agency_object_is_refused_with_code() -> None:
    p = principal("/c/b1/s1/", Role.DISPATCHER)
    with pytest.raises(Forbidden) as exc:
        p.require(Permission.READ_ORG, "/c/b1/s2/")
    assert exc.value.code == "out_of_scope"
    p.require(Permission.READ_ORG, "/c/b1/s1/")  # own station is fine


def test_station_prefix_is_not_confused_with_longer_id() -> None:
    p = principal("/c/s1/", Role.DISPATCHER)
    assert not p.in_scope("/c/s10/")


def chain(n: int) -> list[AuditRecord]:
    out: list[AuditRecord] = []
    prev = GENESIS_HASH
    t0 = datetime(2026, 1, 1, tzinfo=UTC)
    for i in range(1, n + 1):
        fields = {"seq": i, "at": t0 + timedelta(seconds=i), "actor": f"user{i}", "agency_id": None, "action": "x",
                  "object_type": "thing", "object_id": str(i), "reason": None, "detail": "{}", "prev_hash": prev}
        h = audit_hash(**fields)  # type: ignore[arg-type]
        out.append(AuditRecord(**fields, hash=h))  # type: ignore[arg-type]
        prev = h
    return out


def test_intact_chain_verifies() -> None:
    recs = chain(5)
    assert verify_chain(recs, head=(5, recs[-1].hash)) is None


def test_edited_entry_is_named() -> None:
    recs = chain(5)
    recs[2] = replace(recs[2], actor="mallory")
    brk = verify_chain(recs)
    assert brk is not None and brk.seq == 3 and "edited" in brk.problem


def test_deleted_entry_is_named() -> None:
    recs = chain(5)
    del recs[1]
    brk = verify_chain(recs)
    assert brk is not None and brk.seq == 3


def test_reordered_entries_are_caught() -> None:
    recs = chain(5)
    a, b = recs[1], recs[2]
    recs[1] = replace(b, seq=2)
    recs[2] = replace(a, seq=3)
    brk = verify_chain(recs)
    assert brk is not None and brk.seq == 2


def test_removed_tail_is_caught_by_head() -> None:
    recs = chain(5)
    head = (5, recs[-1].hash)
    brk = verify_chain(recs[:-1], head=head)
    assert brk is not None and brk.seq == 5


def test_hash_ignores_timezone_representation() -> None:
    recs = chain(1)
    r = recs[0]
    from zoneinfo import ZoneInfo

    shanghai = replace(r, at=r.at.astimezone(ZoneInfo("Asia/Shanghai")))
    assert verify_chain([shanghai]) is None


def test_travel_mode_follows_the_kind_unless_set() -> None:
    expected = {UnitKind.FOOT_PATROL: TravelMode.FOOT, UnitKind.MOTORBIKE: TravelMode.MOTORBIKE}
    for k in UnitKind:
        assert travel_mode_of(k.value, None) == expected.get(k, TravelMode.CAR)
        assert travel_mode_of(k.value, "bicycle") == TravelMode.BICYCLE
    with pytest.raises(ValueError):
        travel_mode_of("patrol_car", "hovercraft")
