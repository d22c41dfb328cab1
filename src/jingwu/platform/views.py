"""Platform read models: who am I, a user as created, the audit log's latest entries in the caller's scope
and the audit page (chain check + entries). Each read checks its permission and runs in its own
transaction, so HTTP handlers and pages only call one of these."""

from __future__ import annotations

from jingwu.platform.anchor import Anchors, check_chain
from jingwu.platform.domain import AuditRecord, ChainBreak, Permission, Principal
from jingwu.platform.errors import NotFound
from jingwu.platform.uow import SqlUnitOfWork
from jingwu.platform.user_store import UserRow


def user(p: Principal, user_id: str, *, uow: SqlUnitOfWork) -> UserRow:
    """A user the caller may see: themselves, or anyone in their subtree with the user-management right."""
    if user_id != p.user_id:
        p.require(Permission.MANAGE_USERS)
    with uow:
        found = uow.users.get(user_id)
    if found is None:  # e.g. removed while the caller's principal was still cached
        raise NotFound(f"User {user_id} does not exist.")
    return found


def recent_audit(p: Principal, *, uow: SqlUnitOfWork, limit: int) -> list[AuditRecord]:
    """The latest audit entries about agencies in the caller's subtree."""
    p.require(Permission.READ_AUDIT)
    with uow:
        return uow.recent_audit(limit=limit, agency_path=p.agency_path)


def audit_overview(p: Principal, *, uow: SqlUnitOfWork, limit: int = 200, anchors: Anchors | None = None,
                   ) -> tuple[int, ChainBreak | None, list[AuditRecord]]:
    """The audit page: entries checked, the first break (if any, the signed checkpoints included) and
    the latest entries in scope."""
    p.require(Permission.READ_AUDIT)
    with uow:  # one snapshot: the chain checked and the entries shown are the same log
        head = uow.audit_head()
        brk = check_chain(uow.audit_entries(), head, anchors)
        return head[0], brk, uow.recent_audit(limit=limit, agency_path=p.agency_path)
