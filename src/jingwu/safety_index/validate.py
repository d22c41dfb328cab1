"""Checking the method on a history before publishing it (docs/methods/safety-index.md §13.7, §14):

- on a synthetic history (``synthetic.generate``: seasonal, overdispersed, co-recorded offences) with
  known truth: the warning rate on town-days no injected surge can reach, and the power to find
  injected surges;
- on the deployment's own history (the daily cube built from the store by the services): the warning
  rate by town and by month (an upper bound of the false-alarm rate: real surges are not known), the
  power on surges injected into the real history (several sizes), and the calibration of the tests
  (p-value histogram, observed against expected counts).

Pure numpy over ``engine.DailyArrays``: nothing is stored. ``report_html`` renders the result as one
self-contained HTML file (Chart.js inlined, data inlined as JSON).
"""

from __future__ import annotations

import html
import json
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, timedelta
from importlib import resources
from typing import Any

import numpy as np
from numpy.typing import NDArray

from jingwu.safety_index import engine, synthetic
from jingwu.safety_index.domain import CURRENT_DAYS, MOM_DAYS, Method, SubIndex

Progress = Callable[[int, int], None]
SURGE_SIZES = (1.5, 2.0, 3.0)
QUIET_DAYS = 2 * MOM_DAYS - 1  # a surge on day s can make the tests of s .. s+55 fire


@dataclass
class Rates:
    """Warning town-days over the evaluated town-days."""

    town_days: int
    surge: int
    mom: int
    either: int

    def pct(self, n: int) -> float:
        return round(100.0 * n / self.town_days, 4) if self.town_days else 0.0

    def as_dict(self) -> dict[str, Any]:
        return {"town_days": self.town_days, "surge_7d": self.surge, "mom_28d": self.mom, "either": self.either,
                "surge_7d_pct": self.pct(self.surge), "mom_28d_pct": self.pct(self.mom),
                "either_pct": self.pct(self.either)}


def rates(surge: NDArray[np.bool_], mom: NDArray[np.bool_], mask: NDArray[np.bool_] | None = None) -> Rates:
    m = np.ones(surge.shape, dtype=bool) if mask is None else mask
    return Rates(int(m.sum()), int((surge & m).sum()), int((mom & m).sum()), int(((surge | mom) & m).sum()))


def _flags(a: engine.DailyArrays, m: Method, fed: tuple[SubIndex, ...] | None = None
           ) -> tuple[engine.Result, NDArray[np.bool_], NDArray[np.bool_]]:
    r = engine.compute(a, engine.FIRST_SCORABLE, a.harm.shape[1] - 1, m, fed)
    s, mo = engine.warning_flags(r, m.alpha)
    return r, s, mo


def inject(a: engine.DailyArrays, surges: list[tuple[int, int, int, float]], seed: int) -> engine.DailyArrays:
    """A copy of the cube with extra events on (town, first day, days, factor): on each day, Poisson
    (factor - 1) x the town's mean daily events of the 84 days before the surge, each extra event a
    harm-bearing record with the town's mean harm per record per sub-index over those days."""
    rng = np.random.default_rng(seed)
    h, c, e = a.harm.copy(), a.count.copy(), (a.count if a.events is None else a.events).copy()
    for t, d0, nd, f in surges:
        lo = max(0, d0 - 84)
        ev_rate = e[t, lo:d0].sum() / max(1, d0 - lo)
        recs = c[t, lo:d0].sum()
        per_rec = h[t, lo:d0].sum(axis=0) / recs if recs else np.zeros(h.shape[2])
        rec_per_ev = recs / max(1, e[t, lo:d0].sum()) if recs else 1.0
        extra = rng.poisson((f - 1.0) * max(ev_rate, 0.0), nd)
        d = np.arange(d0, d0 + nd)
        e[t, d] += extra
        n_rec = np.round(extra * rec_per_ev).astype(np.int64)
        c[t, d] += n_rec
        h[t, d] += n_rec[:, None] * per_rec[None, :]
    return engine.DailyArrays(np.round(h, 6), c, a.deaths, a.population, a.codes, e, a.data_start)


@dataclass
class Power:
    factor: float
    surges: int
    found_last_day: int  # a warning on the surge's 7th day
    found_in_week: int  # a warning on any of its 7 days

    def as_dict(self) -> dict[str, Any]:
        n = max(1, self.surges)
        return {"factor": self.factor, "surges": self.surges, "found_last_day": self.found_last_day,
                "found_in_week": self.found_in_week, "power_last_day_pct": round(100 * self.found_last_day / n, 1),
                "power_in_week_pct": round(100 * self.found_in_week / n, 1)}


def power(a: engine.DailyArrays, m: Method, factor: float, *, days: int = CURRENT_DAYS, seed: int = 1,
          towns: NDArray[np.int64] | None = None, fed: tuple[SubIndex, ...] | None = None,
          rounds: int = 2) -> Power:
    """Surges of ``factor`` over ``days`` days injected into the history, one per town per round (at a
    random start at least 91 days after the data start), each scored against the history as it is."""
    rng = np.random.default_rng(seed)
    n_t, n_d = a.count.shape
    ts = np.arange(n_t) if towns is None else towns
    lo = a.data_start + engine.FIRST_SCORABLE + 1
    found_last = found_any = total = 0
    if n_d - days - 1 <= lo:
        return Power(factor, 0, 0, 0)
    for k in range(rounds):
        starts = rng.integers(lo, n_d - days, len(ts))
        surges = [(int(t), int(s), days, factor) for t, s in zip(ts, starts, strict=True)]
        _, s, mo = _flags(inject(a, surges, seed + 1000 * k), m, fed)
        w = s | mo
        for t, s0, nd, _f in surges:
            k0 = s0 - engine.FIRST_SCORABLE
            total += 1
            found_last += bool(w[t, k0 + nd - 1])
            found_any += bool(w[t, k0:k0 + nd].any())
    return Power(factor, total, found_last, found_any)


# ---------------------------------------------------------------- synthetic truth

@dataclass
class SyntheticCheck:
    method: str
    towns: int
    days: int
    null: dict[str, Any]  # warning rates where no surge was injected
    null_season_known: dict[str, Any]  # the same, on days whose season is known (>= 455 days of data)
    power_5_per_day: list[dict[str, Any]]
    params: dict[str, Any] = field(default_factory=dict)


def synthetic_check(method: Method, *, towns: int = 60, days: int = 1095, per_day: float = 400.0,
                    power_towns: int = 120, seed: int = 5, progress: Progress | None = None) -> SyntheticCheck:
    """The targets of §13.7 on a generated history: warning town-days on a history without surges (towns
    of 0.1-25 events a day, season ±15 %, dispersion 1-1.65, 2 % of events co-recorded), and the power to
    find a x2 (and x1.5, x3) week-long surge in towns of 5 events a day."""
    rng = np.random.default_rng(seed)
    pop = np.exp(rng.uniform(np.log(2e3), np.log(2e5), towns))
    codes = [f"S{i:04d}" for i in range(towns)]
    h = synthetic.generate(pop, days, per_day, seed=seed)
    _, s, mo = _flags(h.cube(method, pop, codes), method)
    if progress:
        progress(1, 1 + len(SURGE_SIZES))
    season_known = np.zeros(s.shape, dtype=bool)
    season_known[:, max(0, engine.V2_HISTORY_DAYS - 1 - engine.FIRST_SCORABLE):] = True
    pop5 = np.full(power_towns, 1e4)
    h5 = synthetic.generate(pop5, days, 5.0 * power_towns, seed=seed + 1)
    a5 = h5.cube(method, pop5, [f"P{i:04d}" for i in range(power_towns)])
    pw = []
    for i, f in enumerate(SURGE_SIZES):
        pw.append(power(a5, method, f, seed=seed + 7).as_dict())
        if progress:
            progress(2 + i, 1 + len(SURGE_SIZES))
    return SyntheticCheck(method.version, towns, days, rates(s, mo).as_dict(), rates(s, mo, season_known).as_dict(),
                          pw, {"per_day": per_day, "seed": seed, "season": 0.15, "dispersion": [1.0, 1.65],
                               "co_record": 0.02, "power_towns": power_towns})


# ---------------------------------------------------------------- the deployment's own history

def calibration(r: engine.Result, bins: int = 20, min_expected: float = 5.0) -> dict[str, Any]:
    """The surge test's p-values over town-days whose expected current count is at least ``min_expected``
    (where the test is nearly continuous: under no change they are close to uniform), and observed
    against expected current counts in ten bins of the expected count."""
    assert r.obs_7d is not None and r.ref_7d is not None and r.p0_7d is not None
    n = (r.obs_7d + r.ref_7d).astype(np.float64)
    exp = n * r.p0_7d
    sel = exp >= min_expected
    hist, edges = np.histogram(r.p_surge[sel], bins=bins, range=(0.0, 1.0))
    out: dict[str, Any] = {"p_hist": hist.tolist(), "p_edges": [round(float(e), 3) for e in edges],
                           "p_town_days": int(sel.sum()), "min_expected": min_expected, "obs_vs_exp": []}
    pos = exp > 0
    if pos.any():
        qs = np.unique(np.quantile(exp[pos], np.linspace(0, 1, 11)))
        idx = np.clip(np.searchsorted(qs, exp[pos], side="right") - 1, 0, max(0, len(qs) - 2))
        obs = r.obs_7d[pos].astype(np.float64)
        for b in range(max(0, len(qs) - 1)):
            m = idx == b
            if m.any():
                out["obs_vs_exp"].append({"expected": round(float(exp[pos][m].mean()), 3),
                                          "observed": round(float(obs[m].mean()), 3), "town_days": int(m.sum())})
    return out


def deployment_check(a: engine.DailyArrays, m: Method, day0: date, names: list[str],
                     fed: tuple[SubIndex, ...] | None = None, *, sizes: tuple[float, ...] = SURGE_SIZES,
                     seed: int = 1, progress: Progress | None = None) -> dict[str, Any]:
    """The method on the deployment's history (cube from its first day with data, ``day0``): warning
    rates by town and month, power on injected surges of several sizes, calibration, bands and notes."""
    steps = 2 + len(sizes)
    r, s, mo = _flags(a, m, fed)
    if progress:
        progress(1, steps)
    n_t, n_k = s.shape
    first = day0 + timedelta(days=engine.FIRST_SCORABLE)
    days = [first + timedelta(days=k) for k in range(n_k)]
    by_town = [{"code": a.codes[t], "name": names[t], **rates(s[t:t + 1], mo[t:t + 1]).as_dict()}
               for t in range(n_t)]
    months: dict[str, list[int]] = {}
    for k, d in enumerate(days):
        months.setdefault(d.strftime("%Y-%m"), []).append(k)
    by_month = [{"month": mon, **rates(s[:, ks], mo[:, ks]).as_dict()} for mon, ks in months.items()]
    pw = []
    for i, f in enumerate(sizes):
        pw.append(power(a, m, f, seed=seed + i, fed=fed).as_dict())
        if progress:
            progress(2 + i, steps)
    bands = np.bincount(r.band.ravel(), minlength=len(engine.BANDS))
    notes: dict[str, int] = {}
    if r.v2 is not None:
        for v, c in zip(*np.unique(r.v2.note[r.v2.note != None].astype(str), return_counts=True),  # noqa: E711
                        strict=True):
            notes[str(v)] = int(c)
    weights = r.v2.weights if r.v2 is not None else m.composite_weights()
    out = {"method_version": m.version, "alpha": m.alpha, "first_day": first.isoformat(),
           "last_day": days[-1].isoformat() if days else None, "towns": n_t, "scored_days": n_k,
           "weights": {k.value: round(v, 4) for k, v in weights.items()},
           "fed": [x.value for x in (m.fed or fed or ())], "fed_declared": m.fed is not None,
           "overall": rates(s, mo).as_dict(), "by_town": by_town, "by_month": by_month, "power": pw,
           "calibration": calibration(r), "bands": {b.value: int(c) for b, c in zip(engine.BANDS, bands, strict=True)},
           "notes": notes}
    if progress:
        progress(steps, steps)
    return out


def _chartjs() -> str:
    return (resources.files("jingwu.web") / "static" / "vendor" / "chartjs" / "chart.umd.js").read_text("utf-8")


def report_html(check: dict[str, Any], synthetic_checks: list[dict[str, Any]] | None = None) -> str:
    """One self-contained HTML file: tables and charts (Chart.js inlined), the data inlined as JSON."""
    e = html.escape
    o = check["overall"]

    def table(rows: list[dict[str, Any]], cols: list[tuple[str, str]]) -> str:
        head = "".join(f"<th>{e(label)}</th>" for _, label in cols)
        body = "".join("<tr>" + "".join(f"<td>{e(str(r.get(k, '')))}</td>" for k, _ in cols) + "</tr>" for r in rows)
        return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"

    rate_cols = [("town_days", "镇街日 town-days"), ("surge_7d_pct", "7日突增 % surge_7d"),
                 ("mom_28d_pct", "环比 % mom_28d"), ("either_pct", "任一预警 % either")]
    power_cols = [("factor", "倍数 factor"), ("surges", "注入次数 surges"),
                  ("power_last_day_pct", "第7日检出 % found on day 7"), ("power_in_week_pct", "一周内检出 % in week")]
    syn = ""
    for sc in synthetic_checks or []:
        syn += (f"<h3>合成历史 synthetic history — method {e(sc['method'])}: {sc['towns']} towns × {sc['days']} days"
                f"</h3>{table([sc['null']], rate_cols)}<p>5 起/日 5 events a day:</p>"
                f"{table(sc['power_5_per_day'], power_cols)}")
    data = json.dumps(check, ensure_ascii=False).replace("</", "<\\/")
    weights = ", ".join(f"{k} {v}" for k, v in check["weights"].items() if v > 0)
    return f"""<!doctype html>
<html lang="zh-CN"><head><meta charset="utf-8">
<title>平安指数方法验证 Safety Index method validation</title>
<style>body{{font-family:system-ui,sans-serif;margin:2em;max-width:1100px}}
table{{border-collapse:collapse;margin:1em 0}}td,th{{border:1px solid #ccc;padding:.25em .6em;text-align:right}}
th{{background:#f3f3f3}}.chart{{max-width:900px;margin:1em 0}}.note{{color:#555}}</style></head><body>
<h1>平安指数方法验证 <small>Safety Index method validation</small></h1>
<p>方法 method <b>{e(check['method_version'])}</b>, α = {check['alpha']}; {check['towns']} 个镇街 towns,
{e(str(check['first_day']))} … {e(str(check['last_day']))} ({check['scored_days']} days).
综合权重 composite weights: {e(weights)} ({'declared' if check['fed_declared'] else 'detected'}).</p>
<h2>预警率 Warning rate (all town-days; real surges are not known, so this bounds the false-alarm rate)</h2>
{table([o], rate_cols)}
<h3>按月 By month</h3><div class="chart"><canvas id="months"></canvas></div>
{table(check['by_month'], [('month', '月 month'), *rate_cols])}
<h3>按镇街 By town</h3>
{table(check['by_town'], [('code', '代码 code'), ('name', '名称 name'), *rate_cols])}
<h2>检出率 Power on surges injected into this history (7 days)</h2>
<p class="note">每个镇街每轮注入一次：在原有记录上加上 (倍数−1)×此前84天日均事件数的泊松事件。
Each town gets one injected surge per round: Poisson extra events, (factor − 1) × its mean daily events of the 84 days
before, on top of the real records.</p>
{table(check['power'], power_cols)}
<h2>校准 Calibration</h2>
<p class="note">7日突增检验的p值（期望数 ≥ {check['calibration']['min_expected']} 的
{check['calibration']['p_town_days']} 个镇街日）：无变化时应接近均匀分布。 p-values of the surge test where the expected
count is at least {check['calibration']['min_expected']}: close to uniform when nothing changes; a pile near 0 means
too many warnings.</p>
<div class="chart"><canvas id="phist"></canvas></div>
<div class="chart"><canvas id="obsexp"></canvas></div>
<h2>色带与说明 Bands and notes</h2>
{table([check['bands']], [(b, b) for b in check['bands']])}
{table([check['notes']], [(n, n) for n in check['notes']]) if check['notes'] else ''}
{syn}
<script>{_chartjs()}</script>
<script id="data" type="application/json">{data}</script>
<script>
const D = JSON.parse(document.getElementById('data').textContent);
new Chart(document.getElementById('months'), {{type: 'bar', data: {{labels: D.by_month.map(r => r.month),
  datasets: [{{label: '任一预警 % of town-days (either)', data: D.by_month.map(r => r.either_pct)}}]}}}});
const E = D.calibration.p_edges;
new Chart(document.getElementById('phist'), {{type: 'bar',
  data: {{labels: E.slice(0, -1).map((x, i) => x + '–' + E[i + 1]),
          datasets: [{{label: 'p-value histogram (surge_7d)', data: D.calibration.p_hist}}]}}}});
const C = D.calibration.obs_vs_exp;
new Chart(document.getElementById('obsexp'), {{type: 'scatter', data: {{datasets: [
  {{label: '观察 observed vs 期望 expected (7 days)', data: C.map(r => ({{x: r.expected, y: r.observed}}))}},
  {{label: 'y = x', type: 'line', data: C.map(r => ({{x: r.expected, y: r.expected}})), pointRadius: 0}}]}},
  options: {{scales: {{x: {{title: {{display: true, text: 'expected'}}}},
                       y: {{title: {{display: true, text: 'observed'}}}}}}}}}});
</script></body></html>
"""
