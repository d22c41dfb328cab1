"""The incidents module (警情): the filtered, searched, paged list of incidents in the reader's scope, its CSV
export (times in the deployment's zone, the zone shown) and one incident's whole record: its calls (the
incident and the calls merged into it), merges, assignments, status steps, feedback, location links,
transfers and the audit entries of personal-data reads, on one timeline. Scope: a reader sees the incidents
of their agency and of every agency below it. The caller's personal data are shown only to intake, dispatch
and command roles, only when asked for, and each such read is audited (as the single incident read)."""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from jingwu.dispatch.domain import IncidentStatus, incident_number
from jingwu.dispatch.records_store import FLAGS, Arrival, IncidentFilter
from jingwu.dispatch.rows import IncidentRow
from jingwu.dispatch.services.common import Catalogue, load_incident
from jingwu.dispatch.services.incidents import PERSONAL_ROLES_PERMS, WITHHELD, redact_free_text, works_calls
from jingwu.dispatch.store import DispatchUnitOfWork
from jingwu.platform import timefmt
from jingwu.platform.domain import Permission, Principal
from jingwu.platform.errors import Forbidden, InvalidInput

MAX_PER_PAGE = 200
EXPORT_MAX = 50_000


@dataclass(frozen=True)
class ListQuery:
    """The list's filters as given (validated by ``check``)."""

    since: datetime | None = None
    until: datetime | None = None
    types: tuple[str, ...] = ()
    priorities: tuple[int, ...] = ()
    statuses: tuple[str, ...] = ()
    station_id: str | None = None
    flags: tuple[str, ...] = ()
    q: str | None = None


def check_range(since: datetime | None, until: datetime | None) -> None:
    """422 ``invalid_range``: a zone-less time, a year outside 1900–2999, or since not before until."""
    for v in (since, until):
        if v is None:
            continue
        if v.tzinfo is None:
            raise InvalidInput("since/until need a time zone (e.g. 2026-11-23T00:00:00+08:00).", code="invalid_time")
        if not 1900 <= v.year <= 2999:
            raise InvalidInput("since/until must lie between 1900 and 2999.", code="invalid_range")
    if since is not None and until is not None and since >= until:
        raise InvalidInput("since must be before until.", code="invalid_range")


def _filter(p: Principal, q: ListQuery, uow: DispatchUnitOfWork) -> IncidentFilter:
    check_range(q.since, q.until)
    bad = [s for s in q.statuses if s not in {x.value for x in IncidentStatus}]
    if bad:
        raise InvalidInput(f"Unknown status {bad[0]!r}; one of {[x.value for x in IncidentStatus]}.",
                           code="invalid_status")
    bad = [f for f in q.flags if f not in FLAGS]
    if bad:
        raise InvalidInput(f"Unknown flag {bad[0]!r}; one of {list(FLAGS)}.", code="invalid_flag")
    if any(not 1 <= x <= 4 for x in q.priorities):
        raise InvalidInput("priority is 1 to 4.", code="invalid_priority")
    station_path = None
    if q.station_id:
        station_path = uow.agencies.get(q.station_id).path  # 404 for an unknown agency
        if not station_path.startswith(p.agency_path):
            raise Forbidden("That agency is outside your scope.", code="out_of_scope")
    return IncidentFilter(path=p.agency_path, since=q.since, until=q.until, types=q.types, priorities=q.priorities,
                          statuses=q.statuses, station_path=station_path, flags=q.flags, q=q.q)


def _type_names(cat: Catalogue, code: str) -> tuple[str, str]:
    t = cat.types.types.get(code)
    return (t.name_zh, t.name_en) if t else (code, code)


def _item_flags(i: IncidentRow, asg: list[Arrival]) -> list[str]:
    out = []
    if any(a.flags for a in asg):
        out.append("arrival_flagged")
    if i.officer_initiated:
        out.append("officer_initiated")
    if i.source == "imported":
        out.append("imported")
    if i.location_status in ("outside_area", "unlocated"):
        out.append(i.location_status)
    if i.level != "station":
        out.append("escalated")
    if i.merged_into:
        out.append("merged")
    if i.disposition == "transferred":
        out.append("transferred")
    return out


def _items(rows: list[IncidentRow], uow: DispatchUnitOfWork, cat: Catalogue, p: Principal) -> list[dict[str, Any]]:
    if not works_calls(p):  # addresses can name people: withheld from roles that do not work calls
        rows = [redact_free_text(i, [])[0] for i in rows]
    ids = [i.id for i in rows]
    calls = uow.records.units_of(ids)
    flags = uow.records.arrival_flags(ids)
    names = {a.id: (a.name, a.name_en) for a in uow.agencies.in_subtree("/")} if rows else {}
    out = []
    for i in rows:
        zh, en = _type_names(cat, i.type_code)
        out.append({
            "id": i.id, "number": incident_number(i.received_at, i.seq), "status": i.status,
            "priority": i.priority, "level": i.level, "type_code": i.type_code, "type_name": zh,
            "type_name_en": en, "address": i.address, "agency_id": i.agency_id,
            "agency_name": names.get(i.agency_id, (i.agency_id, i.agency_id))[0],
            "agency_name_en": names.get(i.agency_id, (i.agency_id, i.agency_id))[1] or "",
            "received_at": i.received_at, "dispatched_at": i.dispatched_at, "arrived_at": i.arrived_at,
            "closed_at": i.closed_at, "channel": i.channel, "source": i.source,
            "location_status": i.location_status, "units": calls.get(i.id, []),
            "flags": _item_flags(i, flags.get(i.id, []))})
    return out


def list_incidents(p: Principal, q: ListQuery, *, uow: DispatchUnitOfWork, cat: Catalogue, page: int = 1,
                   per_page: int = 50) -> dict[str, Any]:
    """One page (1-based) of the incidents matching ``q`` in the reader's scope, newest first, with the total."""
    p.require(Permission.READ_ORG)
    if page < 1 or not 1 <= per_page <= MAX_PER_PAGE:
        raise InvalidInput(f"page >= 1 and 1 <= per_page <= {MAX_PER_PAGE}.", code="invalid_page")
    with uow:
        f = _filter(p, q, uow)
        total, rows = uow.records.page(f, offset=(page - 1) * per_page, limit=per_page)
        items = _items(rows, uow, cat, p)
    return {"total": total, "page": page, "per_page": per_page, "pages": max(1, -(-total // per_page)),
            "items": items}


EXPORT_COLUMNS = ("number", "received_at", "dispatched_at", "arrived_at", "closed_at", "type_code", "type_name",
                  "priority", "status", "level", "station", "address", "units", "flags", "channel", "source")


def export_csv(p: Principal, q: ListQuery, *, uow: DispatchUnitOfWork, cat: Catalogue) -> str:
    """Every incident matching ``q`` (at most EXPORT_MAX, else 422 ``export_too_large``) as CSV; times in the
    deployment's zone with their UTC offset (``2026-11-23 14:05:09 +08:00``). No personal data."""
    p.require(Permission.READ_ORG)
    with uow:
        f = _filter(p, q, uow)
        total, rows = uow.records.page(f, offset=0, limit=EXPORT_MAX + 1)
        if total > EXPORT_MAX:
            raise InvalidInput(f"{total} incidents match; narrow the filters to at most {EXPORT_MAX}.",
                               code="export_too_large")
        items = _items(rows, uow, cat, p)
    tz = cat.timezone
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\r\n")
    w.writerow(EXPORT_COLUMNS)
    for it in items:
        w.writerow([it["number"], *(timefmt.local(it[k], tz) for k in ("received_at", "dispatched_at", "arrived_at",
                                                                     "closed_at")),
                    it["type_code"], it["type_name"], it["priority"], it["status"], it["level"], it["agency_name"],
                    it["address"] or "", " ".join(it["units"]), " ".join(it["flags"]), it["channel"], it["source"]])
    return "\ufeff" + buf.getvalue()  # BOM: spreadsheet programs then read the Chinese text as UTF-8


def _caller(i: IncidentRow, shown: bool) -> dict[str, Any] | None:
    return {"name": i.caller_name, "phone": i.caller_phone} if shown else None


def record(p: Principal, incident_id: str, *, uow: DispatchUnitOfWork, cat: Catalogue, with_personal: bool = False,
           reason: str | None = None) -> dict[str, Any]:
    """The whole record of one incident: the incident, its calls, merges, assignments (with ETA, route length,
    arrival flags, stand-down), transfers, location links, personal-data reads, and one timeline of all of
    them in time order. ``with_personal`` shows the callers' name and phone (audited, per call)."""
    with uow:
        inc = load_incident(uow, p, incident_id, Permission.READ_ORG)
        shown = with_personal and any(p.can(x) for x in PERSONAL_ROLES_PERMS)
        works = works_calls(p)
        if with_personal and not shown and works:
            raise Forbidden("Your roles may not read the caller's personal data.", code="missing_role")
        if with_personal and not works and not (reason or "").strip():
            raise InvalidInput("Reading a call's free text needs a stated reason (it is audited).",
                               code="missing_reason")
        free_text = works or with_personal
        merged = uow.records.merged_calls(inc.id)
        if with_personal and not works:
            uow.audit.write(actor=p.username, action="free_text_read", object_type="incident", object_id=inc.id,
                            agency_id=inc.agency_id, reason=reason,
                            detail={"fields": ["address", "summary", "timeline", "feedback"], "via": "record"})
            uow.commit()
        if shown:
            for c in (inc, *merged):
                uow.audit.write(actor=p.username, action="personal_data_read", object_type="incident",
                                object_id=c.id, agency_id=c.agency_id, reason=reason,
                                detail={"fields": ["caller_name", "caller_phone"], "via": "record"})
            uow.commit()
        events = uow.incidents.timeline(inc.id)
        merged_events = {m.id: uow.incidents.timeline(m.id) for m in merged}
        asgs = uow.records.assignments(inc.id)
        proposals = uow.incidents.proposals(inc.id)
        transfers = uow.transfers.for_incidents([inc.id])
        links = uow.records.links(inc.id)
        reads = uow.records.personal_reads([inc.id, *(m.id for m in merged)])
        merged_into = uow.incidents.get(inc.merged_into) if inc.merged_into else None
        if merged_into is not None and not merged_into.agency_path.startswith(p.agency_path):
            merged_into = None  # outside the reader's scope: named by id only
    if not free_text:  # withheld, as on the incident read (services/incidents.py)
        inc, events = redact_free_text(inc, events)
        merged_pairs = [redact_free_text(m, merged_events[m.id]) for m in merged]
        merged = [m for m, _ in merged_pairs]
        merged_events = {m.id: tl for m, tl in merged_pairs}
        asgs = [{**a, "feedback": WITHHELD if a.get("feedback") else a.get("feedback")} for a in asgs]
    zh, en = _type_names(cat, inc.type_code)
    number = incident_number(inc.received_at, inc.seq)
    calls = [{"id": c.id, "number": incident_number(c.received_at, c.seq), "received_at": c.received_at,
              "channel": c.channel, "address": c.address, "summary": c.summary, "created_by": c.created_by,
              "caller": _caller(c, shown), "merged": c.id != inc.id} for c in (inc, *merged)]
    timeline: list[dict[str, Any]] = []
    flags_by_unit = {a["unit_id"]: a["arrival_flags"] for a in asgs if a["arrival_flags"]}
    for e in events:
        entry = {"at": e["at"], "kind": e["kind"], "actor": e["actor"], "detail": e["detail"], "source": "incident"}
        if e["kind"] == "unit_on_scene" and e["detail"].get("unit_id") in flags_by_unit:
            entry["arrival_flags"] = flags_by_unit[e["detail"]["unit_id"]]
        timeline.append(entry)
    for m in merged:
        mn = incident_number(m.received_at, m.seq)
        for e in merged_events[m.id]:
            timeline.append({"at": e["at"], "kind": e["kind"], "actor": e["actor"],
                             "detail": {**e["detail"], "call": mn}, "source": "merged_call"})
    for t in transfers:
        if t.outcome_at is not None:
            timeline.append({"at": t.outcome_at, "kind": f"transfer_{t.outcome}", "actor": t.outcome_by or "",
                             "detail": {"target": t.target_name or t.target_agency_id, "note": t.outcome_note},
                             "source": "transfer"})
    for ln in links:
        if ln["used_at"] is not None:
            timeline.append({"at": ln["used_at"], "kind": "location_link_used", "actor": "caller", "detail": {},
                             "source": "link"})
    for r in reads:
        timeline.append({"at": r["at"], "kind": "personal_data_read", "actor": r["actor"],
                         "detail": {"reason": r["reason"], "audit_seq": r["seq"]}, "source": "audit"})
    timeline.sort(key=lambda x: timefmt.as_utc(x["at"]))
    return {
        "incident": {**_items_one(inc, asgs), "number": number, "type_name": zh, "type_name_en": en,
                     "summary": inc.summary, "lon": inc.lon, "lat": inc.lat, "deaths": inc.deaths,
                     "injuries": inc.injuries, "disposition": inc.disposition,
                     "merged_into": {"id": inc.merged_into,
                                     "number": incident_number(merged_into.received_at, merged_into.seq)
                                     if merged_into else None} if inc.merged_into else None},
        "personal_shown": shown, "calls": calls, "merges": proposals, "assignments": asgs,
        "feedback": [{"unit_id": a["unit_id"], "call_sign": a["call_sign"], "at": a["feedback_at"],
                      "text": a["feedback"]} for a in asgs if a["feedback_at"]],
        "transfers": [t.__dict__ for t in transfers], "location_links": links, "personal_data_reads": reads,
        "timeline": timeline,
    }


def _items_one(i: IncidentRow, asgs: list[dict[str, Any]]) -> dict[str, Any]:
    flags = _item_flags(i, [Arrival(a["unit_id"], a["dispatched_at"], a["on_scene_at"], a["arrival_flags"])
                            for a in asgs])
    return {"id": i.id, "status": i.status, "priority": i.priority, "level": i.level, "type_code": i.type_code,
            "address": i.address, "agency_id": i.agency_id, "received_at": i.received_at,
            "dispatched_at": i.dispatched_at, "arrived_at": i.arrived_at, "closed_at": i.closed_at,
            "channel": i.channel, "source": i.source, "location_status": i.location_status, "flags": flags}

