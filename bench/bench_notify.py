"""Throughput of the notification outbox and of redaction, each against a baseline measured in the same run.

- **enqueue**: N notifications written through ``platform.notify.enqueue`` in transactions of 100
  (validation, rendering both languages, the dedupe lookup, the insert) against the **baseline** of the same
  N rows inserted directly with the repository (the insert alone).
- **deliver**: delivery passes with the outbox adapter (claim, render, send, record) with ``batch`` 50,
  against ``batch`` 1 (one claim transaction per message).
- **redact**: ``documents.redact`` on a one-page penalty decision with seeded personal data, against the
  baseline of one ``str.replace`` per name (the least any redaction must do).

    .venv/bin/python bench/bench_notify.py [--n 2000]
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

from jingwu.platform import notify
from jingwu.platform.container import build_container
from jingwu.platform.db import upgrade
from jingwu.platform.documents import redact
from jingwu.platform.notify import NotificationRequest, deliver_due, enqueue
from jingwu.platform.notify_gateways import Gateways, NotifySettings, OutboxGateway
from jingwu.platform.notify_store import repo
from jingwu.platform.settings import Settings
from jingwu.platform.tables import new_id

notify.register_template("bench.update", zh=("案件{{ n }}", "案件{{ n }}状态：{{ s }}。查询码 {{ c }}。"),
                         en=("Case {{ n }}", "Case {{ n }} is now {{ s }}. Code {{ c }}."))


def container(tmp: Path):  # type: ignore[no-untyped-def]
    c = build_container(Settings(data_dir=tmp, secret_key="bench-" + "x" * 30, log_json=False,
                                 audit_anchor_interval_s=0))
    upgrade(c.engine)
    return c


def enqueue_all(c, n: int, direct: bool) -> float:  # type: ignore[no-untyped-def]
    t = time.perf_counter()
    for start in range(0, n, 100):
        with c.uow() as uow:
            for i in range(start, min(n, start + 100)):
                params = {"n": f"A2026-{i:05d}", "s": "已立案", "c": "K7Q2-9XPM-44TB"}
                if direct:
                    now = c.clock.now()
                    repo(uow).add({"id": new_id(), "dedupe_key": f"d{i}", "channel": "sms", "address": "13812345678",
                                   "template": "bench.update", "lang": "zh-CN", "params": params, "ref": "",
                                   "agency_id": None, "status": "queued", "attempts": 0, "created_at": now,
                                   "next_attempt_at": now, "due_by": None})
                else:
                    enqueue(uow, NotificationRequest("sms", "13812345678", "bench.update", "zh-CN", params, f"k{i}"))
            uow.commit()
    return time.perf_counter() - t


def deliver_all(c, batch: int) -> tuple[float, int]:  # type: ignore[no-untyped-def]
    s = NotifySettings(interval_s=0, batch=batch)
    box = OutboxGateway()
    gws = Gateways(sms=box, email=box, outbox=box)
    t, done = time.perf_counter(), 0
    while True:
        got = deliver_due(uow_factory=c.uow, gateways=gws, settings=s, clock=c.clock, reader=c.read_uow)
        if not got:
            break
        done += len(got)
    return time.perf_counter() - t, done


DOC = ("<h1>成都市公安局锦江区分局行政处罚决定书</h1>"
       "<p>当事人欧阳建国，身份证号51010419850317281X，住四川省成都市锦江区春熙路88号，联系电话+86 139-8888-7777。</p>"
       "<p>2026年11月3日，欧阳建国与王小明（电话028-86661234，手机13512345678，邮箱wangxm@example.com）"
       "发生纠纷，将赔偿款转入银行卡6222 0202 0011 2233 445。</p>" * 4)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--n", type=int, default=2000)
    n = ap.parse_args().n
    import logging

    logging.getLogger("jingwu.notify").setLevel(logging.WARNING)
    with tempfile.TemporaryDirectory() as d:
        c = container(Path(d))
        base = enqueue_all(c, n, direct=True)
        full = enqueue_all(c, n, direct=False)
        print(f"enqueue   baseline (insert only) {n / base:8.0f}/s   enqueue {n / full:8.0f}/s   "
              f"({full / base:.1f}x the baseline's time)")
        t50, d50 = deliver_all(c, 50)
        print(f"deliver   batch 50: {d50} in {t50:.2f} s = {d50 / t50:6.0f}/s")
        c.dispose()
    with tempfile.TemporaryDirectory() as d:
        c = container(Path(d))
        enqueue_all(c, n // 4, direct=False)
        t1, d1 = deliver_all(c, 1)
        print(f"deliver   batch 1 (baseline): {d1} in {t1:.2f} s = {d1 / t1:6.0f}/s   "
              f"batch 50 is {(d50 / t50) / (d1 / t1):.1f}x faster")
        c.dispose()
    reps = 300
    names, addrs = ["欧阳建国", "王小明"], ["四川省成都市锦江区春熙路88号"]
    t = time.perf_counter()
    for _ in range(reps):
        out = DOC
        for x in names:
            out = out.replace(x, "*")
    base = time.perf_counter() - t
    t = time.perf_counter()
    for _ in range(reps):
        redact(DOC, names=names, addresses=addrs)
    full = time.perf_counter() - t
    print(f"redact    {len(DOC)} chars: baseline {reps / base:8.0f} docs/s   redact {reps / full:6.0f} docs/s "
          f"({full / reps * 1000:.2f} ms per document)")


if __name__ == "__main__":
    main()
