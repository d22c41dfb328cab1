"""Method v2 through the store: a 500-day history (season known for the last days), co-recorded
offences (same town, same occurred_at) counted once by the warning tests, the method version and the
note on every score row, the fed sub-indices detected and shown, late incidents recomputed exactly,
and an engine-level recomputation from the same facts agrees with what is stored."""

from __future__ import annotations

import csv
import io
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import numpy as np

from jingwu.platform.container import Container
from jingwu.safety_index import engine, publish, synthetic, views
from jingwu.safety_index.domain import Method, SubIndex, category_for_code
from jingwu.safety_index.jobs import _tz
from jingwu.safety_index.services.compute import compute
from jingwu.safety_index.services.ingest import IncidentFact, apply_changes, record_incidents, record_incidents_ex
from jingwu.safety_index.store import repo
from safety_index.si_support import add_towns, square
from support import Org, both_databases

D0 = date(2025, 1, 1)
DAYS = 500
V2 = Method(version="v2")


@both_databases
def test_v2_through_the_store(container: Container, org: Org) -> None:
    c = container
    tz = _tz(c)
    ids = add_towns(c, org, [(f"T{i}", f"镇{i}", square(104 + i / 100, 30.6, 0.01), 10_000 * (i + 1), "a")
                             for i in range(3)])
    towns = list(ids.values())
    pop = np.array([1e4, 2e4, 3e4])
    h = synthetic.generate(pop, DAYS, 9.0, seed=4, co_record=0.2, surges=[(2, DAYS - 7, 7, 3.0)])
    t0 = datetime(D0.year, D0.month, D0.day, tzinfo=tz).astimezone(UTC)  # local midnight: minutes keep the day
    facts = [IncidentFact(f"s:{k}", t0 + timedelta(days=int(d), minutes=int(mi)), towns[int(t)], str(code),
                          category_for_code(str(code)), int(de), int(inj))
             for k, (t, d, mi, code, de, inj) in enumerate(zip(h.town, h.day, h.minute, h.type_code, h.deaths,
                                                               h.injuries, strict=True))]
    record_incidents(facts, uow=c.uow(), tz=tz)
    today = c.clock.now().astimezone(ZoneInfo(c.settings.timezone)).date()
    c.clock.advance(days=(D0 + timedelta(days=DAYS) - today).days)  # type: ignore[attr-defined]
    last = D0 + timedelta(days=DAYS - 1)
    s = compute(last - timedelta(days=40), last, uow_factory=c.uow, clock=c.clock, tz=tz, method=V2)
    assert any("detected fed sub-indices" in n and "order" in n for n in s.notes)
    with c.uow() as uow:
        rows = repo(uow).scores_between(last - timedelta(days=40), last)
        warns = repo(uow).warnings_between(last - timedelta(days=40), last)
    assert rows and all(r["method_version"] == "v2" for r in rows)
    # recompute in memory from the generator's own cube: the same scores, bands and warnings
    cube = h.cube(V2, pop, [f"T{i}" for i in range(3)])
    fed = (SubIndex.ORDER, SubIndex.FIRE, SubIndex.TRAFFIC, SubIndex.DRUGS, SubIndex.FRAUD)
    r = engine.compute(cube, DAYS - 41, DAYS - 1, V2, fed)
    by = {(x["day"], x["town_id"]): x for x in rows}
    for ti, tid in enumerate(towns):
        for k in range(41):
            row = by[(last - timedelta(days=40 - k), tid)]
            assert abs(row["score"] - float(r.score[ti, k])) < 1e-9
            assert row["band"] == engine.BANDS[r.band[ti, k]].value
            assert r.v2 is not None and row["note"] == r.v2.note[ti, k]
    # the note is published: public JSON/GeoJSON properties and the CSV's last column say why band and
    # warning differ, town by town
    noted = next((d, tid) for (d, tid), x in sorted(by.items()) if x["note"])
    pub = views.public_index(noted[0], uow=c.uow())
    code = {v: k for k, v in ids.items()}[noted[1]]
    town = next(x for x in pub.towns if x.town_code == code)
    assert town.note == by[noted]["note"] and publish.public_properties(town)["note"] == town.note
    csv_rows = list(csv.DictReader(io.StringIO(publish.to_csv(pub.towns))))
    assert {x["town_code"]: x["note"] for x in csv_rows}[code] == town.note
    sf, mf = engine.warning_flags(r, V2.alpha)
    stored = {(w["day"], w["town_id"], w["kind"]) for w in warns}
    expect = {(last - timedelta(days=40 - int(k)), towns[int(ti)], kind)
              for kind, f in (("surge_7d", sf), ("mom_28d", mf)) for ti, k in zip(*np.nonzero(f), strict=True)}
    assert stored == expect and any(w[1] == towns[2] for w in stored)  # the injected surge is found
    # the test counted events: co-recorded offences once
    w = next(w for w in warns if w["town_id"] == towns[2] and w["kind"] == "surge_7d")
    assert r.obs_7d is not None and r.count_7d is not None
    k = 40 - (last - w["day"]).days
    assert w["observed"] == int(r.obs_7d[2, k]) < int(r.count_7d[2, k])
    # a late incident (v2 has no incremental path): recomputed from the facts, same as a full recompute
    late = [IncidentFact(f"late:{i}", t0 + timedelta(days=DAYS - 3), towns[0], "010400",
                         category_for_code("010400"), 0, 0) for i in range(4)]  # one event, four records
    ch = record_incidents_ex(late, uow=c.uow(), tz=tz)
    apply_changes(ch, uow_factory=c.uow, clock=c.clock, tz=tz, method=V2)
    with c.uow() as uow:
        inc = [{k: v for k, v in x.items() if k != "computed_at"} for x in repo(uow).scores_between(last, last)]
    compute(last - timedelta(days=40), last, uow_factory=c.uow, clock=c.clock, tz=tz, method=V2)
    with c.uow() as uow:
        full = [{k: v for k, v in x.items() if k != "computed_at"} for x in repo(uow).scores_between(last, last)]
    assert inc == full
    assert next(x for x in full if x["town_id"] == towns[0])["score"] != by[(last, towns[0])]["score"]
