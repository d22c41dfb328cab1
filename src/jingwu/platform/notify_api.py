"""Notifications for administrators under ``/api/v1/admin/notifications`` (``MANAGE_ORG``, the caller's
agency subtree): the list with status (addresses masked, never the parameters or the text), one
notification with its attempts, and retry of a failed or dead one (audited)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Depends, Query
from pydantic import BaseModel

from jingwu.platform import notify
from jingwu.platform.domain import Permission, Principal
from jingwu.platform.http import ERROR_RESPONSES, ContainerDep, requires

router = APIRouter(prefix="/api/v1/admin/notifications", responses=ERROR_RESPONSES, tags=["notifications"])

OrgAdmin = Annotated[Principal, Depends(requires(Permission.MANAGE_ORG))]


class AttemptRead(BaseModel):
    attempt: int
    started_at: datetime
    finished_at: datetime
    outcome: str
    adapter: str
    detail: str | None
    provider_ref: str | None


class NotificationRead(BaseModel):
    id: str
    channel: str
    to: str  # masked
    template: str
    lang: str
    ref: str
    agency_id: str | None
    status: str
    attempts: int
    created_at: datetime
    next_attempt_at: datetime | None
    due_by: datetime | None
    delivered_at: datetime | None
    late: bool
    last_error: str | None
    history: list[AttemptRead] = []


def read(v: notify.NotificationView) -> NotificationRead:
    return NotificationRead(**{k: getattr(v, k) for k in NotificationRead.model_fields if k != "history"},
                            history=[AttemptRead(**a.__dict__) for a in v.history])


@router.get("", response_model=list[NotificationRead])
def list_notifications(p: OrgAdmin, c: ContainerDep,
                       status: Annotated[list[str] | None, Query(description="filter: queued, sending, delivered, "
                                                                             "failed, dead")] = None,
                       ref: Annotated[str | None, Query(max_length=200)] = None,
                       limit: Annotated[int, Query(ge=1, le=1000)] = 200) -> list[NotificationRead]:
    """Newest first, addresses masked."""
    return [read(v) for v in notify.list_notifications(p, uow=c.read_uow(), statuses=status or (), ref=ref,
                                                        limit=limit)]


@router.get("/{notification_id}", response_model=NotificationRead)
def get_notification(notification_id: str, p: OrgAdmin, c: ContainerDep) -> NotificationRead:
    return read(notify.notification_detail(p, notification_id, uow=c.read_uow()))


@router.post("/{notification_id}/retry", response_model=NotificationRead)
def retry_notification(notification_id: str, p: OrgAdmin, c: ContainerDep) -> NotificationRead:
    """Queue a failed or dead notification again (409 ``not_retryable`` otherwise)."""
    return read(notify.retry(p, notification_id, uow=c.uow()))
