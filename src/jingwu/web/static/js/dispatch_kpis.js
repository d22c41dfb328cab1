/* Response KPIs (GET /api/v1/kpis): overall cards, Chart.js charts by priority,
   hour, type and station (mean / median / p90 of the chosen measure), and the
   unit ranking. Refreshes on dispatch changes (SSE) and every minute. */
(function () {
  "use strict";
  const J = window.JW, t = J.t, esc = J.esc;
  const $ = (id) => document.getElementById(id);
  const root = $("kpis");
  const METRICS = ["total", "intake_to_dispatch", "dispatch_to_arrival"];
  const state = { days: 1, metric: "total", oi: "exclude", flagged: "include", data: null, types: {} };
  const charts = {};
  Chart.defaults.font.family = getComputedStyle(document.body).fontFamily;
  Chart.defaults.font.size = 12;
  Chart.defaults.color = "#34495e";
  const SERIES = [["mean", "#90a4c8"], ["median", "#0b3d91"], ["p90", "#d32f2f"]];

  function card(m) {
    const o = state.data.overall[m];
    return `<div class="kcard" data-metric="${m}"><h3>${esc(t("m_" + m))}</h3>
      <div class="big">${J.mmss(o.median)}</div>
      <div class="sub">${esc(t("median"))} · ${esc(t("mean"))} ${J.mmss(o.mean)} · ${esc(t("p90"))} ${J.mmss(o.p90)} · ${esc(t("n"))} ${o.n}</div></div>`;
  }

  function headline(h) {
    if (!h) return "";
    const ref = t("kpi_headline_ref").replace("{t}", J.mmss(h.reference.mean_seconds));
    return `<div class="kcard" id="kpi-headline" data-mean="${h.mean_seconds === null ? "" : h.mean_seconds}"><h3>${esc(t("kpi_headline"))}</h3>
      <div class="big">${J.mmss(h.mean_seconds)}</div>
      <div class="sub">${esc(t("n"))} ${h.n}${h.flagged_included ? ` · <span class="flag flag-arrival_flagged">${esc(t("kpi_flagged_count"))} ${h.flagged_included}</span>` : ""}</div>
      <div class="sub">${esc(ref)}</div></div>`;
  }

  function weekly(h) {
    const weeks = (h && h.weekly) || [];
    const group = {};
    weeks.forEach((w) => { group[w.week] = { dispatch_to_arrival: w }; });
    const m = state.metric;
    state.metric = "dispatch_to_arrival";
    chart("ch-week", weeks.map((w) => w.week), group, { line: true, height: 240 });
    state.metric = m;
  }

  function chart(id, labels, group, opts) {
    const m = state.metric;
    const datasets = SERIES.map(([k, color]) => ({
      label: t(k), data: labels.map((l) => (group[l] && group[l][m] ? group[l][m][k] : null)),
      backgroundColor: color, borderColor: color, borderWidth: opts.line ? 2 : 0, spanGaps: true, pointRadius: opts.line ? 2 : 0,
      tension: 0.25, borderRadius: 3, maxBarThickness: 28,
    }));
    const valueAxis = { beginAtZero: true, suggestedMax: 60, ticks: { precision: 0, callback: (v) => J.mmss(v) },
      grid: { color: "#eef1f4" } };
    const catAxis = { grid: { display: false }, ticks: { autoSkip: !opts.horizontal } };
    const config = {
      type: opts.line ? "line" : "bar",
      data: { labels: (opts.names || labels), datasets: datasets },
      options: {
        responsive: true, maintainAspectRatio: false, animation: false, indexAxis: opts.horizontal ? "y" : "x",
        plugins: { legend: { position: "bottom", labels: { boxWidth: 12 } },
                   tooltip: { callbacks: { label: (c) => `${c.dataset.label}: ${J.mmss(c.raw)}` } } },
        scales: opts.horizontal ? { x: valueAxis, y: catAxis } : { y: valueAxis, x: catAxis },
      },
    };
    const el = $(id);
    if (charts[id]) { charts[id].destroy(); delete charts[id]; }
    // no data: an empty state, never an axis of "0:01 0:01 …"
    const any = datasets.some((ds) => ds.data.some((v) => v !== null && v !== undefined));
    let empty = el.parentElement.querySelector(".empty-state");
    if (!any) {
      el.hidden = true;
      el.parentElement.style.height = "";
      if (!empty) {
        empty = document.createElement("p");
        empty.className = "empty-state";
        el.parentElement.appendChild(empty);
      }
      empty.textContent = t("chart_empty");
      return;
    }
    if (empty) empty.remove();
    el.hidden = false;
    el.parentElement.style.height = (opts.height || 300) + "px";
    charts[id] = new Chart(el, config);
  }

  function render() {
    const d = state.data, by = d.by;
    const c = d.counts || { by_priority: {}, officer_initiated: 0, imported: 0 };
    const per = Object.entries(c.by_priority).map(([p, n]) => `${esc(p)} ${n}`).join(" · ");
    $("cards").innerHTML = `<div class="kcard" id="kpi-counts"><h3>${esc(t("kpi_incidents"))}</h3><div class="big">${d.incidents}</div>
      <div class="sub">${J.dateTime(d.since)} – ${J.dateTime(d.until)}</div>
      <div class="sub">${per}</div>
      <div class="sub">${esc(t("oi_count"))} ${c.officer_initiated} · ${esc(t("imported_count"))} ${c.imported}</div>
      <div class="sub" id="kpi-flagged">${c.flagged_arrivals ? '<span class="flag flag-arrival_flagged">' : ""}${esc(t("kpi_flagged_count"))} ${c.flagged_arrivals || 0}${c.flagged_arrivals ? "</span>" : ""}</div></div>` +
      headline(d.headline) + METRICS.map(card).join("");
    document.querySelectorAll(".kpi-cards .kcard[data-metric]").forEach((c) => c.classList.toggle("sel", c.dataset.metric === state.metric));
    $("kpi-empty").hidden = d.overall.total.n + d.overall.intake_to_dispatch.n > 0;
    weekly(d.headline);
    const pr = Object.keys(by.priority).sort();
    chart("ch-priority", pr, by.priority, {});
    const hours = Array.from({ length: 24 }, (_, h) => String(h).padStart(2, "0"));
    chart("ch-hour", hours, by.hour, { line: true, names: hours.map((h) => h + ":00") });
    const types = Object.keys(by.type).sort((a, b) => (by.type[b].intake_to_dispatch.n || 0) - (by.type[a].intake_to_dispatch.n || 0)
      || (by.type[b].total.n || 0) - (by.type[a].total.n || 0)).slice(0, 12);
    chart("ch-type", types, by.type, { horizontal: true, names: types.map((c) => state.types[c] || c), height: Math.max(260, 60 + types.length * 26) });
    const st = Object.keys(by.station).sort();
    chart("ch-station", st, by.station, { horizontal: true, height: Math.max(260, 60 + st.length * 26) });
    $("ranking").querySelector("tbody").innerHTML = d.units.length ? d.units.slice(0, 20).map((u, i) =>
      `<tr><td>${i + 1}</td><td><b>${esc(u.call_sign)}</b></td><td class="num">${u.arrivals}</td><td class="num">${J.mmss(u.median_dispatch_to_arrival)}</td></tr>`).join("")
      : `<tr><td colspan="4" class="muted">${esc(t("kpi_empty"))}</td></tr>`;
    $("updated").textContent = `${t("kpi_updated")} ${J.clock(new Date().toISOString())}`;
    root.dataset.status = "ready";
    root.dataset.incidents = String(d.incidents);
    root.dataset.arrivals = String(d.overall.total.n);
    root.dataset.flagged = String((d.counts && d.counts.flagged_arrivals) || 0);
  }

  function load() {
    const until = new Date();
    const since = new Date(until.getTime() - state.days * 86400000);
    const q = `since=${encodeURIComponent(since.toISOString())}&until=${encodeURIComponent(until.toISOString())}` +
      `&officer_initiated=${state.oi}&flagged=${state.flagged}`;
    $("kpi-export").href = "/api/v1/kpis/export.csv?" + q;
    return J.api("/api/v1/kpis?" + q).then((d) => { state.data = d; render(); })
      .catch((e) => { $("cards").innerHTML = `<p class="err">${esc(J.errorText(e))}</p>`; root.dataset.status = "error"; });
  }

  function seg(id, attr, key) {
    $(id).addEventListener("click", (e) => {
      const b = e.target.closest("button");
      if (!b) return;
      $(id).querySelectorAll("button").forEach((x) => x.classList.toggle("on", x === b));
      state[key] = attr === "days" ? Number(b.dataset.days) : b.dataset[attr];
      if (key === "days" || key === "oi" || key === "flagged") load(); else if (state.data) render();
    });
  }
  $("cards").addEventListener("click", (e) => {
    const c = e.target.closest(".kcard[data-metric]");
    if (c) $("metric").querySelector(`button[data-metric=${c.dataset.metric}]`).click();
  });
  seg("range", "days", "days");
  seg("metric", "metric", "metric");
  seg("oi", "oi", "oi");
  seg("flagged", "flagged", "flagged");

  let debounce = null;
  if (window.EventSource) {
    const es = new EventSource("/api/v1/stream");
    es.addEventListener("change", () => { clearTimeout(debounce); debounce = setTimeout(load, 1500); });
  }
  setInterval(load, 60000);
  J.api("/api/v1/incident-types").then((ts) => { ts.forEach((x) => { state.types[x.code] = J.zh ? x.name_zh : x.name_en; }); })
    .catch(() => {}).then(load);
})();
