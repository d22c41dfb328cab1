"""Cost of the public case lookup (``GET /api/v1/public/cases/{number}?code=``), in process on SQLite: a right
pair, a wrong code for a real number, and an unknown number, each timed over N requests (the throttle is
replaced by one that never locks, to time the check itself), with the baseline of the same run: ``/healthz``.

The claim checked by eye: wrong code and unknown number cost the same (one keyed hash, one indexed read);
the right pair costs more (it builds the view and writes an audit entry).

    PYTHONPATH=src .venv/bin/python bench/bench_cases_lookup.py [--n 300] [--cases 200]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

from fastapi.testclient import TestClient

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))

from jingwu.app import create_app
from jingwu.platform import services
from jingwu.platform.container import build_container
from jingwu.platform.db import upgrade
from support import build_org, login, make_settings


def timed(client: TestClient, url: str, n: int) -> list[float]:
    out = []
    for _ in range(n):
        t = time.perf_counter()
        client.get(url)
        out.append((time.perf_counter() - t) * 1000)
    return out


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--n", type=int, default=300)
    ap.add_argument("--cases", type=int, default=200)
    a = ap.parse_args()
    with tempfile.TemporaryDirectory() as d:
        s = make_settings(Path(d), "sqlite")
        c = build_container(s)
        upgrade(c.engine)
        build_org(c)
        services.create_user(services.CreateUser("inv", "inv", "pw-inv-123", "STA", ("investigator",)),
                             uow=c.uow(), actor=None)
        with TestClient(create_app(s, c)) as tc:
            h = login(tc, "inv", "pw-inv-123")
            number = code = ""
            for _ in range(a.cases):
                case = tc.post("/api/v1/cases", headers=h, json={"track": "criminal", "title": "bench"}).json()
                pid = tc.post(f"/api/v1/cases/{case['id']}/parties", headers=h,
                              json={"role": "victim", "name": "x"}).json()["id"]
                code = tc.post(f"/api/v1/cases/{case['id']}/parties/{pid}/code", headers=h).json()["code"]
                number = case["number"]
            from jingwu.cases.services.parties import PUBLIC_THROTTLE
            from jingwu.platform.throttle import LoginThrottle, ThrottlePolicy

            c._slots[PUBLIC_THROTTLE] = LoginThrottle(ThrottlePolicy(account_failures=10**9,
                                                                      address_failures=10**9))
            rows = {
                "baseline /healthz": timed(tc, "/healthz", a.n),
                "right pair": timed(tc, f"/api/v1/public/cases/{number}?code={code}", a.n),
                "wrong code": timed(tc, f"/api/v1/public/cases/{number}?code=AAAAA-BBBBB", a.n),
                "unknown number": timed(tc, f"/api/v1/public/cases/ZZ-2099-000001?code={code}", a.n),
            }
        c.dispose()
    print(f"{a.cases} cases, {a.n} requests each (in process, SQLite)")
    for k, v in rows.items():
        q = statistics.quantiles(v, n=20)
        print(f"{k:<18} median {statistics.median(v):7.2f} ms   p95 {q[18]:7.2f} ms")


if __name__ == "__main__":
    main()
