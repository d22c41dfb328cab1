"""The live stream tells each subscriber only what its agency may know: ids of changes in its subtree,
nothing of another branch's, and a bare "refresh" for changes without an agency."""

from __future__ import annotations

import asyncio
import json

from jingwu.dispatch.api import fan_out
from jingwu.dispatch.wiring import BOARD_HUB
from jingwu.platform.container import Container
from support import Org


def drain(q: asyncio.Queue[str]) -> list[dict[str, object]]:
    out = []
    while not q.empty():
        out.append(json.loads(q.get_nowait()))
    return out


def test_fan_out_respects_each_subscribers_scope(container: Container, org: Org) -> None:
    with container.uow() as uow:
        path = {a: uow.agencies.get(a).path for a in (org.city, org.station_a, org.station_b)}
    hub = container.get(BOARD_HUB)
    city_q: asyncio.Queue[str] = asyncio.Queue()
    a_q: asyncio.Queue[str] = asyncio.Queue()
    b_q: asyncio.Queue[str] = asyncio.Queue()
    for q, agency in ((city_q, org.city), (a_q, org.station_a), (b_q, org.station_b)):
        hub.add(q)
        hub.scopes[q] = path[agency]

    async def run() -> None:
        await fan_out(container, "jingwu.dispatch.incident_created", {"incident_id": "I-A", "agency_id": org.station_a})
        # a unit's change carries no agency: the unit's own agency decides (B1 belongs to station B)
        await fan_out(container, "jingwu.dispatch.unit_status", {"unit_id": org.unit_b, "incident_id": "I-B"})
        await fan_out(container, "jingwu.dispatch.units_moved", {"count": 3})
        await fan_out(container, "jingwu.dispatch.unit_status", {"unit_id": "no-such-unit", "incident_id": "I-X"})

    asyncio.run(run())
    city, a, b = drain(city_q), drain(a_q), drain(b_q)
    assert [m.get("incident_id") for m in city] == ["I-A", "I-B", None]
    assert [m.get("incident_id") for m in a] == ["I-A", None]
    assert [m.get("incident_id") for m in b] == ["I-B", None]
    assert not any("I-B" in json.dumps(m) for m in a) and not any("I-A" in json.dumps(m) for m in b)
    assert all(m == {"subject": "jingwu.dispatch.units_moved"} for m in a[1:])  # the bare refresh, no ids
    hub.discard(a_q)
    assert a_q not in hub.scopes
