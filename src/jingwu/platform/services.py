"""Platform use cases: log in, resolve a token, create users and agencies,
read the organisation within scope, verify the audit chain.

Each use case owns its transaction through the unit of work it is given.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from jingwu.platform import anchor
from jingwu.platform.clock import Clock
from jingwu.platform.domain import (
    AGENCY_PARENT,
    AgencyKind,
    ChainBreak,
    Permission,
    Principal,
    Role,
    agency_path,
)
from jingwu.platform.errors import (
    Conflict,
    Forbidden,
    InvalidCredentials,
    InvalidInput,
    NotAuthenticated,
    TooManyRequests,
)
from jingwu.platform.org_store import AgencyRow, TownRow, UnitRow
from jingwu.platform.security import hash_password, issue_token, read_claims, verify_password
from jingwu.platform.settings import Settings
from jingwu.platform.tables import new_id
from jingwu.platform.throttle import LoginThrottle
from jingwu.platform.uow import SqlUnitOfWork
from jingwu.platform.user_store import UserRow

USERNAME_RE = re.compile(r"^[a-z0-9_.-]{3,64}$")
MIN_PASSWORD = 8


@dataclass(frozen=True)
class IssuedToken:
    access_token: str
    expires_in: int
    user: UserRow


# verified in place of a missing or disabled account's hash, so that an unknown name costs the same time
_DUMMY_HASH = hash_password("jingwu-no-such-user-dummy-password")


def login(username: str, password: str, *, uow: SqlUnitOfWork, clock: Clock, secret: str,
          ttl: timedelta, kind: str = "api", read_uow: SqlUnitOfWork | None = None,
          throttle: LoginThrottle | None = None, address: str | None = None) -> IssuedToken:
    """Check a password and issue a token. With a ``throttle``: an account or address locked out by earlier
    failures is refused with 429 before any password work. The user is read and the password verified
    outside any write transaction (argon2 takes tens of milliseconds: no database lock is held meanwhile);
    an unknown or disabled name is verified against a dummy hash, so it takes the same time. Every attempt,
    failed or not, is audited, unknown names included."""
    now = clock.now()
    if throttle is not None:
        wait = throttle.retry_after(username, address, now)
        if wait > 0:
            raise TooManyRequests(f"Too many failed logins: try again in {int(wait) + 1} s.",
                                  retry_after=int(wait) + 1, code="login_locked")
    with read_uow or uow as r:
        user = r.users.by_username(username)
    usable = user is not None and user.active
    ok = verify_password(user.password_hash if usable and user else _DUMMY_HASH, password) and usable
    with uow:
        if not ok or user is None:
            locked = throttle.failed(username, address, now) if throttle is not None else 0.0
            detail: dict[str, Any] = {"kind": kind, "address": address, "known_user": user is not None}
            if locked:
                detail["locked_for_s"] = int(locked)
            uow.audit.write(actor=username[:200], action="login_failed", object_type="user",
                            object_id=user.id if user else None, agency_id=user.agency_id if user else None,
                            detail=detail)
            uow.commit()
            raise InvalidCredentials("Wrong username or password.")
        sid = secrets.token_urlsafe(24)
        uow.sessions.add(sid=sid, user_id=user.id, kind=kind, issued_at=now, expires_at=now + ttl, address=address)
        token = issue_token(secret, user_id=user.id, now=now, ttl=ttl, kind=kind, sid=sid)
        uow.audit.write(actor=user.username, action="login", object_type="user", object_id=user.id,
                        agency_id=user.agency_id, detail={"kind": kind, "address": address})
        uow.commit()
    if throttle is not None:
        throttle.succeeded(username)
    return IssuedToken(token, int(ttl.total_seconds()), user)


class PrincipalCache:
    """Who a session's user is (roles, agency), remembered per process and per session together with the
    user's ``auth_version``. Every request still reads its session row and the user's current version (one
    primary-key read): a logout, a revoked session, a disabled user or changed roles take effect on the next
    request in every process; only the rebuilding of the principal is saved."""

    def __init__(self, size: int = 10_000) -> None:
        self.size = size
        self._d: dict[str, tuple[int, Principal]] = {}

    def get(self, sid: str, auth_version: int) -> Principal | None:
        hit = self._d.get(sid)
        return hit[1] if hit and hit[0] == auth_version else None

    def put(self, sid: str, auth_version: int, p: Principal) -> None:
        if len(self._d) >= self.size:
            self._d.clear()
        self._d[sid] = (auth_version, p)

    def forget(self, user_id: str) -> None:
        """Drop a user's sessions from the cache (disabled, roles or agency changed)."""
        for sid in [k for k, (_, p) in self._d.items() if p.user_id == user_id]:
            self._d.pop(sid, None)


def principal_from_token(token: str, *, uow: SqlUnitOfWork, clock: Clock, secret: str,
                         cache: PrincipalCache | None = None, kind: str | None = None) -> Principal:
    """The principal of a token whose signature and expiry hold, whose session is open and whose user is
    active. ``kind`` is where the token came from: a page session cookie carries only ``session`` tokens, an
    Authorization header only ``api`` tokens (a stolen cookie is not a bearer token)."""
    now = clock.now()
    claims = read_claims(secret, token, now=now)
    if kind is not None and claims.kind != kind:
        raise NotAuthenticated(f"A {claims.kind} token is not accepted here; use a{'n' if kind == 'api' else ''} "
                               f"{kind} token.", code="wrong_token_kind")
    if claims.sid is None:
        raise NotAuthenticated("This token has no session; log in again.", code="invalid_token")
    with uow:
        st = uow.sessions.state(claims.sid)
        if st is None or st.user_id != claims.user_id:
            raise NotAuthenticated("This session does not exist; log in again.", code="invalid_token")
        if st.revoked_at is not None:
            raise NotAuthenticated("This session was ended (logout or revoked); log in again.",
                                   code="session_revoked")
        if not st.user_active:
            raise NotAuthenticated("The account of this token is disabled.", code="invalid_token")
        hit = cache.get(claims.sid, st.auth_version) if cache is not None else None
        if hit is not None:
            return hit
        user = uow.users.get(claims.user_id)
    if user is None or not user.active:
        raise NotAuthenticated("The account of this token no longer exists or is disabled.",
                               code="invalid_token")
    p = user.principal()
    if cache is not None:
        cache.put(claims.sid, st.auth_version, p)
    return p


def logout(token: str, *, uow: SqlUnitOfWork, clock: Clock, secret: str) -> bool:
    """End the token's session server-side (audited). False when the token had no open session."""
    now = clock.now()
    claims = read_claims(secret, token, now=now)
    if claims.sid is None:
        return False
    with uow:
        user = uow.users.get(claims.user_id)
        actor = user.username if user else claims.user_id
        ended = uow.sessions.revoke(claims.sid, at=now, by=actor)
        if ended:
            uow.audit.write(actor=actor, action="logout", object_type="user", object_id=claims.user_id,
                            agency_id=user.agency_id if user else None, detail={"kind": claims.kind})
        uow.commit()
    return ended


def csrf_token(secret: str, token: str) -> str:
    """The form token of a page session: an HMAC of its session token, checked on POST /logout."""
    return hmac.new(secret.encode(), b"csrf:" + token.encode(), hashlib.sha256).hexdigest()[:32]


@dataclass(frozen=True)
class CreateUser:
    username: str
    display_name: str
    password: str
    agency_code: str
    roles: tuple[str, ...]


def create_user(cmd: CreateUser, *, uow: SqlUnitOfWork, actor: Principal | None,
                reason: str | None = None) -> str:
    """Create a user. ``actor`` None means the command line (an operator on the server)."""
    if not USERNAME_RE.match(cmd.username):
        raise InvalidInput("Username: 3-64 characters of a-z, 0-9, '_', '.', '-'.", code="invalid_username")
    if len(cmd.password) < MIN_PASSWORD:
        raise InvalidInput(f"Password: at least {MIN_PASSWORD} characters.", code="weak_password")
    try:
        roles = frozenset(Role(r) for r in cmd.roles)
    except ValueError:
        raise InvalidInput(f"Unknown role in {list(cmd.roles)}; known: {[r.value for r in Role]}.",
                           code="unknown_role")
    if not roles:
        raise InvalidInput("A user needs at least one role.", code="unknown_role")
    with uow:
        agency = uow.agencies.by_code(cmd.agency_code)
        if agency is None:
            raise InvalidInput(f"No agency with code '{cmd.agency_code}'.", code="unknown_agency")
        if actor is not None:
            actor.require(Permission.MANAGE_USERS, agency.path)
            if Role.ADMIN in roles and Role.ADMIN not in actor.roles:
                raise Forbidden("Only an admin may create an admin.", code="missing_role")
        if uow.users.by_username(cmd.username) is not None:
            raise Conflict(f"Username '{cmd.username}' is taken.", code="username_taken")
        uid = uow.users.add(username=cmd.username, display_name=cmd.display_name,
                            password_hash=hash_password(cmd.password), agency_id=agency.id, roles=roles,
                            at=uow.clock.now())
        uow.audit.write(actor=actor.username if actor else "cli", action="user_created", object_type="user",
                        object_id=uid, agency_id=agency.id, reason=reason,
                        detail={"username": cmd.username, "roles": sorted(r.value for r in roles)})
        uow.emit("jingwu.platform.user_created", {"user_id": uid, "agency_id": agency.id})
        uow.commit()
    return uid


@dataclass(frozen=True)
class CreateAgency:
    code: str
    name: str
    kind: str
    parent_code: str | None = None
    name_en: str | None = None
    lon: float | None = None
    lat: float | None = None
    jurisdiction: dict[str, Any] | None = None
    source: str | None = None


def create_agency(cmd: CreateAgency, *, uow: SqlUnitOfWork, actor: Principal | None) -> str:
    try:
        kind = AgencyKind(cmd.kind)
    except ValueError:
        raise InvalidInput(f"Unknown agency kind '{cmd.kind}'.", code="unknown_agency_kind")
    with uow:
        parent = uow.agencies.by_code(cmd.parent_code) if cmd.parent_code else None
        if cmd.parent_code and parent is None:
            raise InvalidInput(f"No parent agency with code '{cmd.parent_code}'.", code="unknown_agency")
        parent_kind = AgencyKind(parent.kind) if parent else None
        if parent_kind not in AGENCY_PARENT[kind]:
            raise InvalidInput(f"A {kind.value} cannot sit under {parent_kind or 'nothing'}.",
                               code="invalid_agency_tree")
        if actor is not None:
            actor.require(Permission.MANAGE_ORG, parent.path if parent else "/")
        if uow.agencies.by_code(cmd.code) is not None:
            raise Conflict(f"Agency code '{cmd.code}' exists.", code="agency_code_taken")
        aid = new_id()
        uow.agencies.add(id=aid, parent_id=parent.id if parent else None, kind=kind.value, code=cmd.code,
                         name=cmd.name, name_en=cmd.name_en, path=agency_path(parent.path if parent else None, aid),
                         lon=cmd.lon, lat=cmd.lat, jurisdiction=cmd.jurisdiction, source=cmd.source,
                         at=uow.clock.now())
        uow.audit.write(actor=actor.username if actor else "cli", action="agency_created",
                        object_type="agency", object_id=aid, agency_id=aid,
                        detail={"code": cmd.code, "kind": kind.value})
        uow.commit()
    return aid


# ------------------------------------------------------------- scoped reads

def list_agencies(p: Principal, *, uow: SqlUnitOfWork, kind: str | None = None,
                  need: Permission = Permission.READ_ORG) -> list[AgencyRow]:
    """The agencies of the caller's subtree; ``need`` is READ_ORG to read, MANAGE_ORG to administer."""
    p.require(need)
    with uow:
        return uow.agencies.in_subtree(p.agency_path, kind)


def get_agency(p: Principal, agency_id: str, *, uow: SqlUnitOfWork,
               need: Permission = Permission.READ_ORG) -> AgencyRow:
    p.require(need)
    with uow:
        a = uow.agencies.get(agency_id)
    p.require(need, a.path)
    return a


def list_units(p: Principal, *, uow: SqlUnitOfWork, need: Permission = Permission.READ_ORG) -> list[UnitRow]:
    p.require(need)
    with uow:
        return uow.units.in_subtree(p.agency_path)


def get_unit(p: Principal, unit_id: str, *, uow: SqlUnitOfWork,
             need: Permission = Permission.READ_ORG) -> UnitRow:
    p.require(need)
    with uow:
        u = uow.units.get(unit_id)
    p.require(need, u.agency_path)
    return u


def list_towns(p: Principal, *, uow: SqlUnitOfWork) -> list[TownRow]:
    """Towns are public geography: every signed-in user sees all of them."""
    p.require(Permission.READ_ORG)
    with uow:
        return uow.towns.all()


def list_users(p: Principal, *, uow: SqlUnitOfWork) -> list[UserRow]:
    p.require(Permission.MANAGE_USERS)
    with uow:
        rows = uow.users.in_subtree(p.agency_path)
        uow.audit.write(actor=p.username, action="users_listed", object_type="user", agency_id=p.agency_id,
                        detail={"count": len(rows)})
        uow.commit()
    return rows


# ------------------------------------------------------------- audit

def read_anchors(settings: Settings) -> anchor.Anchors | None:
    """The signed checkpoints of the audit chain; None when this deployment has no anchor key yet."""
    pub = anchor.public_path(settings.anchor_key_path())
    if not pub.exists():
        return None
    return anchor.read(settings.anchor_file_path(), anchor.load_public(pub))


def verify_audit(*, uow: SqlUnitOfWork, anchors: anchor.Anchors | None = None) -> tuple[int, ChainBreak | None]:
    """(entries checked, first break or None): the hash chain, its head, and the signed checkpoints
    kept outside the database (a bad checkpoint line is a break too: the anchor file was altered)."""
    with uow:
        head = uow.audit_head()
        return head[0], anchor.check_chain(uow.audit_entries(), head, anchors)


def anchor_audit(*, uow: SqlUnitOfWork, settings: Settings) -> anchor.Checkpoint | None:
    """Sign the chain head and append it to the anchor file, and publish it on the bus (through the
    outbox); nothing when the head has not moved since the last checkpoint or the chain is empty."""
    key = anchor.load_or_create_key(settings.anchor_key_path())
    file = settings.anchor_file_path()
    with uow:
        seq, head_hash = uow.audit_head()
        last = anchor.last_checkpoint(file)
        if seq == 0 or (last is not None and last.get("seq") == seq and last.get("hash") == head_hash):
            return None
        cp = anchor.sign(key, seq, head_hash, uow.clock.now())
        anchor.append(file, cp)  # durable before the bus copy: the file is the verifier's source
        uow.emit(anchor.CHECKPOINT_TOPIC, cp.as_dict())
        uow.commit()
    return cp
