"""A shared alert (record type ``alert``) as a CAP 1.2 message (OASIS Common Alerting Protocol 1.2): times in
the deployment's zone with their offset, the area as a CAP circle ``lat,lon radius_km``. Standard library."""

from __future__ import annotations

from datetime import datetime
from typing import Any
from xml.etree import ElementTree as ET
from zoneinfo import ZoneInfo

CAP_NS = "urn:oasis:names:tc:emergency:cap:1.2"


def _cap_time(dt: datetime, tz: ZoneInfo) -> str:
    return dt.astimezone(tz).replace(microsecond=0).isoformat()


def alert_to_cap(share: dict[str, Any], *, sender: str, tz: ZoneInfo) -> str:
    """``share``: a row of ``xc_shares`` with ``record_type == 'alert'`` (its ``fields`` as shared)."""
    f = share["fields"]
    ET.register_namespace("", CAP_NS)
    q = f"{{{CAP_NS}}}"
    alert = ET.Element(q + "alert")

    def sub(parent: ET.Element, tag: str, text: str) -> ET.Element:
        e = ET.SubElement(parent, q + tag)
        e.text = text
        return e

    origin = share.get("peer_id") or "local"
    sub(alert, "identifier", f"jingwu-exchange-{origin}-{f.get('id', share['id'])}")
    sub(alert, "sender", sender)
    sub(alert, "sent", _cap_time(share["at"], tz))
    sub(alert, "status", "Actual")
    sub(alert, "msgType", "Alert")
    sub(alert, "scope", "Restricted")
    sub(alert, "restriction", "Partner agencies under a sharing agreement")
    info = ET.SubElement(alert, q + "info")
    sub(info, "language", "zh-CN")
    sub(info, "category", "Security")
    sub(info, "event", str(f.get("event", "")))
    sub(info, "urgency", str(f.get("urgency", "Unknown")))
    sub(info, "severity", str(f.get("severity", "Unknown")))
    sub(info, "certainty", str(f.get("certainty", "Unknown")))
    if f.get("expires"):
        sub(info, "expires", _cap_time(datetime.fromisoformat(str(f["expires"]).replace("Z", "+00:00")), tz))
    for key, tag in (("headline", "headline"), ("description", "description"), ("instruction", "instruction")):
        if f.get(key):
            sub(info, tag, str(f[key]))
    if f.get("area_desc") or "lat" in f:
        area = ET.SubElement(info, q + "area")
        sub(area, "areaDesc", str(f.get("area_desc") or f"{f.get('lat')},{f.get('lon')}"))
        if "lat" in f and "lon" in f:
            radius = float(f.get("radius_km") or 0)
            sub(area, "circle", f"{float(f['lat']):.5f},{float(f['lon']):.5f} {radius:g}")
    return '<?xml version="1.0" encoding="UTF-8"?>\n' + ET.tostring(alert, encoding="unicode")
