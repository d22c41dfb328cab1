"""The monthly joint bulletin (月度通报, seed 001 item 5): for a calendar month in the deployment's time zone,
what crossed the border in the caller's scope: records sent and received by type and partner, received
incidents by type, the day-by-day series, cooperation requests (answered in time, late, overdue, open),
coercive-measure notices, alerts and risks received, jurisdiction disputes. Counts only, plus the received
incidents' and risks' agreed fields (no personal field is printed)."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from jingwu.exchange.domain import RECORD_FIELDS, RequestStatus
from jingwu.exchange.services.common import actor_of, agency_paths, require_any
from jingwu.exchange.store import repo
from jingwu.platform.domain import Permission, Principal
from jingwu.platform.errors import InvalidInput
from jingwu.platform.uow import SqlUnitOfWork

READ = (Permission.COMMAND, Permission.ANALYSE, Permission.REVIEW_CASES, Permission.READ_AUDIT)
PERSONAL = {f for fs in RECORD_FIELDS.values() for f, personal in fs.items() if personal}


@dataclass
class Bulletin:
    month: str
    start: datetime
    end: datetime
    days: list[date]
    sent_by_type: dict[str, int] = field(default_factory=dict)
    received_by_type: dict[str, int] = field(default_factory=dict)
    by_partner: dict[str, int] = field(default_factory=dict)
    incidents_by_type: dict[str, int] = field(default_factory=dict)
    series_sent: list[int] = field(default_factory=list)
    series_received: list[int] = field(default_factory=list)
    requests: dict[str, int] = field(default_factory=dict)
    measures: dict[str, int] = field(default_factory=dict)
    disputes: dict[str, int] = field(default_factory=dict)
    alerts: list[dict[str, Any]] = field(default_factory=list)
    risks: list[dict[str, Any]] = field(default_factory=list)


def month_bounds(month: str, tz: ZoneInfo) -> tuple[datetime, datetime, list[date]]:
    try:
        first = datetime.strptime(month, "%Y-%m").date()
    except ValueError as exc:
        raise InvalidInput(f"month {month!r} is not YYYY-MM", code="invalid_month") from exc
    if not 2000 <= first.year <= 2200:
        raise InvalidInput(f"month {month!r} is outside 2000-2200", code="invalid_month")
    nxt = (first.replace(day=28) + timedelta(days=4)).replace(day=1)
    days = [first + timedelta(days=i) for i in range((nxt - first).days)]
    return datetime.combine(first, time(0), tz), datetime.combine(nxt, time(0), tz), days


def bulletin(month: str, *, principal: Principal, uow: SqlUnitOfWork, tz: ZoneInfo) -> Bulletin:
    require_any(principal, READ)
    start, end, days = month_bounds(month, tz)
    b = Bulletin(month, start, end, days)
    now = uow.clock.now()
    with uow:
        paths = agency_paths(uow)
        names = {a.id: a.name for a in uow.agencies.in_subtree("/")}
        ids = {a.id for a in uow.agencies.in_subtree(principal.agency_path)}
        r = repo(uow)
        sent: Counter[str] = Counter()
        received: Counter[str] = Counter()
        partners: Counter[str] = Counter()
        inc_types: Counter[str] = Counter()
        day_sent: Counter[date] = Counter()
        day_recv: Counter[date] = Counter()
        for s in r.shares(agency_ids=ids, limit=1_000_000):
            if not (start <= s["at"] < end):
                continue
            day = s["at"].astimezone(tz).date()
            incoming = s["direction"] == "in" or (s["partner_agency_id"] in ids and s["agency_id"] not in ids)
            partner = s["peer_id"] or names.get(s["agency_id"] if incoming else s["partner_agency_id"], "?")
            partners[partner] += 1
            if incoming:
                received[s["record_type"]] += 1
                day_recv[day] += 1
                f = {k: v for k, v in s["fields"].items() if k not in PERSONAL}
                if s["record_type"] == "incident":
                    inc_types[str(f.get("type_name") or f.get("type_code") or "?")] += 1
                elif s["record_type"] == "alert":
                    b.alerts.append({"at": s["at"], "from": partner, **f})
                elif s["record_type"] == "risk":
                    b.risks.append({"at": s["at"], "from": partner, **f})
            else:
                sent[s["record_type"]] += 1
                day_sent[day] += 1
        b.sent_by_type, b.received_by_type = dict(sent), dict(received)
        b.by_partner, b.incidents_by_type = dict(partners.most_common()), dict(inc_types.most_common())
        b.series_sent = [day_sent[d] for d in days]
        b.series_received = [day_recv[d] for d in days]
        req: Counter[str] = Counter()
        for q in r.requests():
            mine = q.agency_id in ids or (q.partner_agency_id in ids)
            if not mine or not (start <= q.created_at < end):
                continue
            req["created"] += 1
            req["sent" if q.outgoing else "received"] += 1
            if q.status is RequestStatus.COMPLETED and q.answered_at is not None:
                req["answered_in_time" if q.answered_at <= q.deadline else "answered_late"] += 1
            elif q.status is RequestStatus.DECLINED:
                req["declined"] += 1
            elif q.overdue(now):
                req["overdue"] += 1
            elif q.status in (RequestStatus.OPEN, RequestStatus.ACCEPTED):
                req["open"] += 1
        b.requests = dict(req)
        ms: Counter[str] = Counter()
        for m in r.measures():
            if m.agency_id in ids and m.taken_at is not None and start <= m.taken_at < end:
                ms["taken"] += 1
                ms[m.notice_state(now)] += 1
        b.measures = dict(ms)
        ds: Counter[str] = Counter()
        for d in r.disputes():
            if (d["agency_id"] in ids or d["other_agency_id"] in ids) and start <= d["raised_at"] < end:
                ds["raised"] += 1
                ds[d["status"]] += 1
        b.disputes = dict(ds)
        uow.audit.write(actor=actor_of(principal), action="exchange.bulletin_read", object_type="xc_bulletin",
                        object_id=month, agency_id=principal.agency_id)
        uow.commit()
    del paths
    return b


def bars(values: list[int], *, width: int = 620, height: int = 120) -> list[dict[str, float]]:
    """Bar geometry for an inline SVG chart (no script): x, y, w, h per value."""
    top = max(values, default=0) or 1
    n = max(len(values), 1)
    w = width / n
    return [{"x": round(i * w + 1, 1), "w": round(max(w - 2, 1), 1), "h": round(v / top * (height - 14), 1),
             "y": round(height - v / top * (height - 14), 1), "v": v} for i, v in enumerate(values)]
