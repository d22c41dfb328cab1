"""The monthly bulletin as a document: the restricted HTML that ``platform.documents.html_to_pdf`` lays out.
Presentation (the web's translations), kept out of the bulletin service, which computes the figures."""

from __future__ import annotations

import html as htmllib
from datetime import timedelta
from typing import Any

from jingwu.exchange.domain import RECORD_FIELDS
from jingwu.exchange.services.bulletin import Bulletin
from jingwu.web.i18n import translate


def bulletin_document_html(b: Bulletin, lang: str = "zh-CN") -> str:
    """The bulletin as the restricted HTML that ``platform.documents.html_to_pdf`` lays out (zh-CN by
    default, ``en``): title and period, the day series as a bar chart (``<table data-chart="bar">``), the
    figures as tables, the alerts and risks received (agreed, non-personal fields). Every value escaped."""
    def t(key: str) -> str:
        return translate(lang if lang in ("zh-CN", "en") else "zh-CN", key)

    def esc(v: Any) -> str:
        return htmllib.escape("" if v is None else str(v), quote=True)

    def table(head: list[str], rows: list[list[Any]], chart: str = "") -> str:
        attr = f' data-chart="{chart}"' if chart else ""
        out = [f"<table{attr}><tr>" + "".join(f"<th>{esc(x)}</th>" for x in head) + "</tr>"]
        out += ["<tr>" + "".join(f"<td>{esc(x)}</td>" for x in r) + "</tr>" for r in rows]
        return "".join(out) + "</table>"

    tz = b.start.tzinfo
    last = (b.end - timedelta(days=1)).date()
    parts = [f"<h1>{esc(t('xc_bulletin'))} {esc(b.month)}</h1>",
             f"<p>{esc(t('xc_b_period'))}: {b.start.date().isoformat()} – {last.isoformat()} ({esc(tz)})</p>",
             f"<h2>{esc(t('xc_b_daily'))}</h2>",
             table([t("xc_b_day"), t("xc_b_sent"), t("xc_b_received")],
                   [[d.day, s, r] for d, s, r in zip(b.days, b.series_sent, b.series_received, strict=True)],
                   chart="bar"),
             f"<h2>{esc(t('xc_b_by_type'))}</h2>",
             table([t("xc_record_type"), t("xc_b_sent"), t("xc_b_received")],
                   [[rt, b.sent_by_type.get(rt, 0), b.received_by_type.get(rt, 0)]
                    for rt in sorted(set(RECORD_FIELDS) | set(b.sent_by_type) | set(b.received_by_type))]),
             f"<h2>{esc(t('xc_b_partners'))}</h2>",
             table([t("xc_b_partner"), t("xc_b_count")], [[k, n] for k, n in b.by_partner.items()] or [["—", 0]]),
             f"<h2>{esc(t('xc_b_incidents'))}</h2>",
             table([t("xc_b_type"), t("xc_b_count")],
                   [[k, n] for k, n in b.incidents_by_type.items()] or [["—", 0]]),
             f"<h2>{esc(t('xc_requests'))}</h2>",
             table([t("xc_requests"), t("xc_b_count")],
                   [[t(f"xc_b_req_{k}"), b.requests.get(k, 0)] for k in
                    ("created", "sent", "received", "answered_in_time", "answered_late", "declined", "overdue",
                     "open")]),
             f"<h2>{esc(t('xc_notice'))}</h2>",
             table([t("xc_notice"), t("xc_b_count")],
                   [[t("xc_t_measures") if k == "taken" else t(f"xc_ns_{k}"), b.measures.get(k, 0)]
                    for k in ("taken", "on_time", "late", "late_pending", "pending")]),
             f"<h2>{esc(t('xc_b_disputes'))}</h2>",
             table([t("xc_b_disputes"), t("xc_b_count")],
                   [[t(f"xc_b_d_{k}"), b.disputes.get(k, 0)] for k in ("raised", "open", "decided")])]
    if b.alerts:
        parts += [f"<h2>{esc(t('xc_b_alerts'))}</h2>",
                  table([t("xc_b_at"), t("xc_b_from"), "event", "severity", "headline"],
                        [[a["at"].astimezone(tz).strftime("%Y-%m-%d %H:%M"), a["from"], a.get("event"),
                          a.get("severity"), a.get("headline")] for a in b.alerts])]
    if b.risks:
        parts += [f"<h2>{esc(t('xc_b_risks'))}</h2>",
                  table([t("xc_b_at"), t("xc_b_from"), "kind", "title", "place", "level"],
                        [[r["at"].astimezone(tz).strftime("%Y-%m-%d %H:%M"), r["from"], r.get("kind"),
                          r.get("title"), r.get("place"), r.get("level")] for r in b.risks])]
    return "\n".join(parts)
