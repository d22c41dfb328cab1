"""``jingwu notify``: list notifications (addresses masked), retry a failed or dead one, send a test
message through the configured adapter. Errors print a message and exit non-zero."""

from __future__ import annotations

from typing import Annotated
from zoneinfo import ZoneInfo

import typer

from jingwu.platform.cli import fail, migrated_container, out
from jingwu.platform.errors import AppError
from jingwu.platform.settings import get_settings
from jingwu.platform.timefmt import local


def notify_list(
    status: Annotated[list[str] | None, typer.Option(help="queued|sending|delivered|failed|dead (repeatable)")] = None,
    ref: Annotated[str | None, typer.Option(help="only this reference (e.g. a case number)")] = None,
    limit: Annotated[int, typer.Option(min=1, max=1000)] = 50,
) -> None:
    """Notifications, newest first, with status and attempts (addresses masked, times in the deployment zone)."""
    from jingwu.platform import notify
    from jingwu.platform.notify_store import repo

    bad = [x for x in status or () if x not in notify.STATUSES]
    if bad:
        raise fail(f"unknown status {bad[0]!r} (known: {', '.join(notify.STATUSES)})")
    c = migrated_container(get_settings())
    tz = ZoneInfo(c.settings.timezone)
    try:
        with c.read_uow() as uow:
            rows = repo(uow).listing(agency_path=None, include_unscoped=True, statuses=status or (), ref=ref,
                                     limit=limit)
            now = c.clock.now()
    finally:
        c.dispose()
    if not rows:
        out.print("no notifications")
        return
    for r in rows:
        v = notify._view(r, now)
        when = local(v.delivered_at or v.next_attempt_at or v.created_at, tz)
        late = " LATE" if v.late else ""
        out.print(f"{v.id}  {v.status:<9} {v.channel:<6} {v.to:<22} {v.template:<28} attempts={v.attempts} "
                  f"{when}{late}  {v.ref}" + (f"  [{v.last_error}]" if v.last_error else ""), highlight=False)


def notify_retry(notification_id: Annotated[str, typer.Argument(help="the notification's id")]) -> None:
    """Queue a failed or dead notification again, due now (audited as `cli`)."""
    from jingwu.platform import notify

    c = migrated_container(get_settings())
    try:
        notify.retry_as_operator(notification_id, uow=c.uow())
    except AppError as exc:
        raise fail(f"{exc.message} ({exc.code})", code=1) from exc
    finally:
        c.dispose()
    out.print(f"notification {notification_id} queued again")


def notify_send_test(
    to: Annotated[str, typer.Option(help="phone number (sms) or e-mail address (email)")],
    channel: Annotated[str, typer.Option(help="sms | email | outbox")] = "email",
    lang: Annotated[str, typer.Option(help="zh-CN | en")] = "zh-CN",
) -> None:
    """Send the built-in test message now through the adapter configured for the channel; exit 1 unless
    it is delivered."""
    from jingwu.platform import notify
    from jingwu.platform.notify_gateways import NotifySettings, make_gateways

    s = get_settings()
    try:
        ns = s.section(NotifySettings)
        gateways = make_gateways(ns)
    except ValueError as exc:
        raise fail(f"notification settings: {exc}") from exc
    c = migrated_container(s)
    tz = ZoneInfo(c.settings.timezone)
    try:
        got = notify.send_test(channel, to, lang, uow_factory=c.uow, gateways=gateways, settings=ns, clock=c.clock,
                               tz_label=local(c.clock.now(), tz))
    except AppError as exc:
        raise fail(f"{exc.message} ({exc.code})") from exc
    finally:
        c.dispose()
    if got.status != "delivered":
        raise fail(f"notification {got.id} {got.status}: {got.detail}", code=1)
    out.print(f"notification {got.id} delivered through {gateways.for_channel(channel).name}")
