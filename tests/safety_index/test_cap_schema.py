"""The CAP 1.2 feed against the official OASIS schema (tests/data/cap/CAP-v1.2.xsd), with its times in the
deployment's zone: ``sent`` is the clock converted to the zone, ``effective`` the scored day's local midnight."""

from __future__ import annotations

from datetime import UTC, date, datetime
from pathlib import Path
from xml.etree import ElementTree as ET
from zoneinfo import ZoneInfo

import pytest
import xmlschema

from jingwu.safety_index.publish import to_cap
from jingwu.safety_index.views import PublicWarning

XSD = Path(__file__).resolve().parents[1] / "data" / "cap" / "CAP-v1.2.xsd"
CAP = "{urn:oasis:names:tc:emergency:cap:1.2}"
SQUARE = {"type": "Polygon", "coordinates": [[[104.0, 30.6], [104.1, 30.6], [104.1, 30.7], [104.0, 30.6]]]}


@pytest.fixture(scope="module")
def schema() -> xmlschema.XMLSchema:
    return xmlschema.XMLSchema(str(XSD))


def _warnings(day: date) -> list[PublicWarning]:
    return [PublicWarning(day, "T1", "玉林街道", "Yulin", "red", SQUARE),
            PublicWarning(day, "T2", "芳草街道", None, "surge_7d", None)]


@pytest.mark.parametrize(("zone", "day", "sent_utc", "sent_local", "effective"), [
    ("Asia/Shanghai", date(2026, 4, 30), datetime(2026, 4, 30, 20, 5, 7, 123456, tzinfo=UTC),
     "2026-05-01T04:05:07+08:00", "2026-04-30T00:00:00+08:00"),
    # a DST zone: the offset of the day itself (summer) and of the moment sent (winter) differ
    ("America/New_York", date(2026, 7, 4), datetime(2026, 12, 1, 12, 0, tzinfo=UTC),
     "2026-12-01T07:00:00-05:00", "2026-07-04T00:00:00-04:00"),
])
def test_cap_times_in_zone_and_valid(schema: xmlschema.XMLSchema, zone: str, day: date, sent_utc: datetime,
                                     sent_local: str, effective: str) -> None:
    xml = to_cap(day, _warnings(day), sender="si@example.org", sent=sent_utc, base_url="https://x.example/",
                 tz=ZoneInfo(zone))
    schema.validate(xml.encode())  # raises XMLSchemaValidationError with the failing path
    root = ET.fromstring(xml)
    assert root.findtext(CAP + "sent") == sent_local
    infos = root.findall(CAP + "info")
    assert len(infos) == 4  # two warnings × zh-CN, en-US
    assert {i.findtext(CAP + "effective") for i in infos} == {effective}


def test_cap_without_warnings_is_valid(schema: xmlschema.XMLSchema) -> None:
    xml = to_cap(date(2026, 4, 30), [], sender="si@example.org", sent=datetime(2026, 4, 30, tzinfo=UTC),
                 base_url="https://x.example/", tz=ZoneInfo("Asia/Shanghai"))
    schema.validate(xml.encode())
    assert ET.fromstring(xml).find(CAP + "info") is None


def test_schema_catches_a_broken_alert(schema: xmlschema.XMLSchema) -> None:
    """The check can fail: the same alert with a UTC "Z" time (CAP 1.2 forbids it) is refused."""
    xml = to_cap(date(2026, 4, 30), [], sender="si@example.org", sent=datetime(2026, 4, 30, tzinfo=UTC),
                 base_url="https://x.example/", tz=ZoneInfo("UTC"))
    schema.validate(xml.encode())  # +00:00 is fine
    with pytest.raises(xmlschema.XMLSchemaValidationError):
        schema.validate(xml.replace("+00:00", "Z").encode())


def test_naive_sent_refused() -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        to_cap(date(2026, 4, 30), [], sender="s", sent=datetime(2026, 4, 30), base_url="/", tz=ZoneInfo("UTC"))
