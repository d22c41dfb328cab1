/* The live dispatch board: queue, one map (our roads, incidents by priority and
   status, units by status, route lines), the selected incident with its
   recommendations and one-click dispatch, duplicates, alerts, the intake form.
   Live: SSE /api/v1/stream → debounce 300 ms → GET /api/v1/board; polling every
   10 s while the stream is down. */
(function () {
  "use strict";
  const J = window.JW, t = J.t, esc = J.esc;
  const root = document.getElementById("board");
  const perms = JSON.parse(root.dataset.perms);
  const $ = (id) => document.getElementById(id);
  const ACTIVE_UNIT = ["dispatched", "acknowledged", "en_route"];
  const state = { board: null, level: localStorage.getItem("jw.board.level") || "station", selected: null,
                  detail: null, recs: null, links: {}, callers: {}, incLayers: {}, routes: {}, types: [], pick: null, fitted: false };

  // ------------------------------------------------------------------ map
  const mapEl = $("dmap");
  const map = J.newMap(mapEl, { zoomControl: true });
  L.control.scale({ imperial: false }).addTo(map);
  map.setView([30.66, 104.07], 13);
  const canvas = L.canvas({ padding: 0.3 });
  const routeLayer = L.layerGroup().addTo(map);
  const unitLayer = L.layerGroup().addTo(map);
  const incLayer = L.layerGroup().addTo(map);
  const selRing = L.circleMarker([0, 0], { radius: 20, color: "#0b3d91", weight: 3, fill: false, interactive: false });
  let pickMarker = null;

  function legend() {
    const pr = [1, 2, 3, 4].map((p) => `<span><i class="dot" style="background:${J.PRIORITY_COLORS[p]}"></i>P${p}</span>`).join("");
    const st = ["open", "dispatched", "on_scene"].map((s) => `<span><i class="inc-mini st-${s}"></i>${esc(J.incStatus(s))}</span>`).join("");
    const us = ["available", "dispatched", "acknowledged", "en_route", "on_scene"].map((s) =>
      `<span><i class="dot sm" style="background:${J.UNIT_COLORS[s]}"></i>${esc(J.unitStatus(s))}</span>`).join("");
    $("legend").innerHTML = `<div><b>${esc(t("legend_incidents"))}</b>${pr}</div><div>${st}</div>` +
      `<div><b>${esc(t("legend_units"))}</b>${us}</div>`;
  }
  legend();

  function incIcon(i, selected) {
    const cls = `inc-marker st-${i.status} p${i.priority}${selected ? " sel" : ""}${i.duplicate ? " dup" : ""}`;
    return L.divIcon({ className: "", html: `<div class="${cls}" style="--c:${J.PRIORITY_COLORS[i.priority]}">${i.priority}</div>`,
                       iconSize: [26, 26], iconAnchor: [13, 13] });
  }

  function drawMap() {
    const b = state.board;
    incLayer.clearLayers(); unitLayer.clearLayers();
    state.incLayers = {};
    b.units.forEach((u) => {
      if (u.lon == null) return;
      const m = L.circleMarker([u.lat, u.lon], { renderer: canvas, radius: u.status === "available" ? 5 : 7,
        color: "#fff", weight: 1.5, fillColor: J.UNIT_COLORS[u.status] || "#555", fillOpacity: 1 });
      m.bindTooltip(`${esc(u.call_sign)} · ${esc(J.kind(u.kind))} · ${esc(J.unitStatus(u.status))}`);
      if (u.incident_id) m.on("click", () => select(u.incident_id));
      m.addTo(unitLayer);
    });
    openIncidents().concat(closedIncidents()).forEach((i) => {
      if (i.lon == null) return;
      const m = L.marker([i.lat, i.lon], { icon: incIcon(i, i.id === state.selected), riseOnHover: true,
        zIndexOffset: (5 - i.priority) * 100 + (i.status === "open" ? 1000 : 0), opacity: i.status === "closed" ? 0.45 : 1 });
      m.bindTooltip(`<b>${esc(i.number)}</b> ${esc(typeName(i))}<br>P${i.priority} · ${esc(J.incStatus(i.status))}` +
                    (i.address ? `<br>${esc(i.address)}` : ""), { direction: "top", offset: [0, -12] });
      m.on("click", () => select(i.id));
      m.addTo(incLayer);
      state.incLayers[i.id] = m;
    });
    drawRoutes();
  }

  /* Route lines for units on their way (dispatched / acknowledged / en route); cached per unit position. */
  function drawRoutes() {
    const b = state.board, wanted = {};
    const units = Object.fromEntries(b.units.map((u) => [u.id, u]));
    b.incidents.forEach((i) => {
      if (i.lon == null) return;
      i.units.forEach((uid) => {
        const u = units[uid];
        if (!u || u.lon == null || !ACTIVE_UNIT.includes(u.status)) return;
        wanted[i.id + "|" + uid] = { inc: i, unit: u, pos: u.lon.toFixed(5) + "," + u.lat.toFixed(5) };
      });
    });
    Object.keys(state.routes).forEach((k) => {
      if (!wanted[k] || state.routes[k].pos !== wanted[k].pos) { routeLayer.removeLayer(state.routes[k].layer); delete state.routes[k]; }
    });
    Object.keys(wanted).slice(0, 40).forEach((k) => {
      if (state.routes[k]) return;
      const w = wanted[k];
      const entry = { pos: w.pos, layer: L.layerGroup().addTo(routeLayer) };
      state.routes[k] = entry;
      J.api(`/api/v1/incidents/${w.inc.id}/route?unit_id=${w.unit.id}`).then((r) => {
        const ll = r.geometry.coordinates.map((c) => [c[1], c[0]]);
        L.polyline(ll, { renderer: canvas, color: "#fff", weight: 5, opacity: 0.8, interactive: false }).addTo(entry.layer);
        L.polyline(ll, { renderer: canvas, color: J.UNIT_COLORS[w.unit.status] || "#1e6fd9", weight: 3, opacity: 0.85,
                         dashArray: w.unit.status === "en_route" ? null : "8 6" })
          .bindTooltip(`${esc(w.unit.call_sign)} → ${esc(w.inc.number)} · ${J.mmss(r.seconds)} · ${(r.meters / 1000).toFixed(1)} km`)
          .addTo(entry.layer);
      }).catch(() => { /* no route (off network): the markers still show */ });
    });
  }

  // ------------------------------------------------------------------ data
  const typeName = (i) => (J.zh ? i.type_name : (i.type_name_en || i.type_name));
  const ORDER = { open: 0, dispatched: 1, on_scene: 2 };
  function openIncidents() {
    return (state.board ? state.board.incidents : []).filter((i) => i.status in ORDER).sort((a, b) =>
      ORDER[a.status] - ORDER[b.status] || a.priority - b.priority || Date.parse(a.received_at) - Date.parse(b.received_at));
  }
  function closedIncidents() { return (state.board ? state.board.incidents : []).filter((i) => i.status === "closed"); }
  const incById = (id) => (state.board ? state.board.incidents.find((i) => i.id === id) : null);
  const unitById = (id) => (state.board ? state.board.units.find((u) => u.id === id) : null);

  let loading = null, again = false;
  function refresh() {
    if (loading) { again = true; return loading; }
    loading = J.api("/api/v1/board?level=" + state.level).then((b) => {
      state.board = b;
      renderQueue(); renderAlerts(); renderCounts(); drawMap();
      if (state.selected) maybeReloadDetail();
      root.dataset.status = "ready";
      root.dataset.incidents = String(b.incidents.length);
    }).catch((e) => { toast(J.errorText(e), true); }).finally(() => {
      loading = null;
      if (again) { again = false; refresh(); }
    });
    return loading;
  }
  let debounce = null;
  const soon = () => { clearTimeout(debounce); debounce = setTimeout(refresh, 300); };

  function fitToData() {
    const pts = state.board.units.filter((u) => u.lon != null).map((u) => [u.lat, u.lon])
      .concat(state.board.incidents.filter((i) => i.lon != null).map((i) => [i.lat, i.lon]));
    if (pts.length) { map.fitBounds(L.latLngBounds(pts).pad(0.05)); state.fitted = true; }
  }

  // ------------------------------------------------------------------ queue, counts, alerts
  function renderCounts() {
    const inc = openIncidents(), units = state.board.units;
    const n = (f) => inc.filter(f).length;
    const free = units.filter((u) => u.status === "available").length;
    $("counts").innerHTML =
      `<span class="c open"><b>${n((i) => i.status === "open")}</b>${esc(t("count_open"))}</span>` +
      `<span class="c"><b>${n((i) => i.status === "dispatched")}</b>${esc(t("count_dispatched"))}</span>` +
      `<span class="c"><b>${n((i) => i.status === "on_scene")}</b>${esc(t("count_on_scene"))}</span>` +
      `<span class="c free"><b>${free}/${units.length}</b>${esc(t("count_free_units"))}</span>`;
  }

  function renderQueue() {
    const inc = openIncidents();
    $("queue-n").textContent = inc.length;
    if (!inc.length) { $("queue").innerHTML = `<li class="empty">${esc(t("queue_empty"))}</li>`; return; }
    $("queue").innerHTML = inc.map((i) => `
      <li data-id="${i.id}" data-channel="${i.channel}" data-number="${esc(i.number)}" class="q st-${i.status}${i.id === state.selected ? " sel" : ""}" tabindex="0">
        <span class="prio p${i.priority}">P${i.priority}</span>
        <div class="qmain">
          <div class="qtop"><b class="qtype">${esc(typeName(i))}</b>
            ${i.duplicate ? `<span class="tag dup">${esc(t("dup_badge"))}</span>` : ""}
            ${i.level !== "station" ? `<span class="tag lv">${esc(J.levelName(i.level))}</span>` : ""}
            ${i.lon == null ? `<span class="tag noloc">${esc(t("no_location_badge"))}</span>` : ""}</div>
          <div class="qsub"><span class="ch ch-${i.channel}">${esc(J.channel(i.channel))}</span>
            <span class="num">${esc(i.number)}</span>${i.address ? " · " + esc(i.address) : ""}</div>
        </div>
        <div class="qright"><span class="status st-${i.status}">${esc(J.incStatus(i.status))}</span>
          <span class="age" data-since="${esc(i.received_at)}">${J.age(i.received_at)}</span></div>
      </li>`).join("");
  }
  $("queue").addEventListener("click", (e) => { const li = e.target.closest("li[data-id]"); if (li) select(li.dataset.id, true); });
  $("queue").addEventListener("keydown", (e) => {
    if (e.key === "Enter") { const li = e.target.closest("li[data-id]"); if (li) select(li.dataset.id, true); }
  });
  setInterval(() => document.querySelectorAll(".age[data-since]").forEach((el) => { el.textContent = J.age(el.dataset.since); }), 1000);

  const suggestions = {};
  function alertText(a) {
    if (J.zh) return a.message;
    const u = a.unit_id ? unitById(a.unit_id) : null;
    if (a.kind === "ack_timeout" && u) return t("alert_ack_text", { unit: u.call_sign });
    if (a.kind === "officer_safety" && u) return t("alert_safety_text", { unit: u.call_sign });
    const m = a.message.match(/装置 (\S+) 离线/);
    if (a.kind === "device_offline" && m) return t("alert_device_text", { code: m[1] });
    return a.message;
  }
  function renderAlerts() {
    const al = state.board.alerts.slice().sort((a, b) => (a.kind === "officer_safety" ? -1 : 0) - (b.kind === "officer_safety" ? -1 : 0));
    $("alerts-n").textContent = al.length || "";
    $("alerts-n").classList.toggle("hot", al.some((a) => a.kind === "officer_safety"));
    if (!al.length) { $("alerts").innerHTML = `<li class="empty">${esc(t("alerts_empty"))}</li>`; return; }
    $("alerts").innerHTML = al.map((a) => {
      const inc = a.incident_id ? incById(a.incident_id) : null;
      let extra = "";
      if (a.kind === "ack_timeout" && perms.dispatch) {
        const s = suggestions[a.id];
        extra = s === undefined || s === "pending" ? `<div class="sugg" data-sugg="${a.id}">${esc(t("loading"))}</div>`
          : s ? `<div class="sugg">${esc(t("suggest_next"))}: <b>${esc(s.call_sign)}</b> ${esc(J.kind(s.kind))} · ETA ${J.mmss(s.eta_seconds)}
                 <button type="button" class="btn primary sm" data-dispatch="${s.unit_id}" data-inc="${a.incident_id}">${esc(t("dispatch_btn"))}</button></div>`
            : `<div class="sugg muted">${esc(t("no_available_unit"))}</div>`;
      }
      return `<li class="alert k-${a.kind}" data-alert="${a.id}">
        <div class="atop"><span class="akind">${esc(t("alert_" + a.kind))}</span><span class="right"><span class="age" data-since="${esc(a.raised_at)}">${J.age(a.raised_at)}</span>
          ${perms.dispatch ? `<button type="button" class="link resolve" data-resolve="${a.id}">${esc(t("resolve"))}</button>` : ""}</span></div>
        <div class="amsg">${esc(alertText(a))}${inc ? ` · <a href="#" data-open="${inc.id}">${esc(inc.number)}</a>` : ""}</div>
        ${extra}
      </li>`;
    }).join("");
    al.filter((a) => a.kind === "ack_timeout" && perms.dispatch && suggestions[a.id] === undefined).forEach((a) => {
      suggestions[a.id] = "pending";
      J.api(`/api/v1/incidents/${a.incident_id}/recommendations?limit=5`).then((r) => {
        suggestions[a.id] = r.units.find((u) => u.status === "available" && u.unit_id !== a.unit_id) || null;
      }).catch(() => { suggestions[a.id] = null; }).then(() => renderAlerts());
    });
  }
  $("alerts").addEventListener("click", (e) => {
    const open = e.target.closest("[data-open]");
    if (open) { e.preventDefault(); select(open.dataset.open, true); return; }
    const res = e.target.closest("[data-resolve]");
    if (res) {
      res.disabled = true;
      J.post(`/api/v1/alerts/${res.dataset.resolve}/resolve`).then(refresh).catch((err) => toast(J.errorText(err), true));
      return;
    }
    const d = e.target.closest("[data-dispatch]");
    if (d) dispatchUnit(d.dataset.inc, d.dataset.dispatch, d);
  });

  // ------------------------------------------------------------------ selected incident
  function select(id, pan) {
    state.selected = id;
    state.recs = null;
    showPane("detail");
    document.querySelectorAll("#queue li").forEach((li) => li.classList.toggle("sel", li.dataset.id === id));
    Object.entries(state.incLayers).forEach(([k, m]) => m.setIcon(incIcon(incById(k), k === id)));
    const i = incById(id);
    if (pan && i && i.lon != null) map.panTo([i.lat, i.lon]);
    loadDetail(true);
  }

  /* Reload the selected incident when it changed on the board, else at most every 5 s (its
     recommendations depend on every unit's availability, which changes all the time). */
  let detailSig = "", detailAt = 0;
  function maybeReloadDetail() {
    const i = incById(state.selected);
    const sig = i ? [i.status, i.priority, i.level, i.lon, i.duplicate, i.units.join(",")].join("|") : "gone";
    if (sig !== detailSig || Date.now() - detailAt > 5000) loadDetail(false);
  }

  let detailSeq = 0;
  function loadDetail(fresh) {
    const id = state.selected, seq = ++detailSeq;
    const bi = incById(id);
    detailSig = bi ? [bi.status, bi.priority, bi.level, bi.lon, bi.duplicate, bi.units.join(",")].join("|") : "gone";
    detailAt = Date.now();
    if (fresh) $("detail").innerHTML = `<p class="muted">${esc(t("loading"))}</p>`;
    const inc = J.api(`/api/v1/incidents/${id}`);
    const recs = inc.then((d) => (perms.dispatch && d.status !== "closed" && d.status !== "merged" && d.snapped_lon != null
      ? J.api(`/api/v1/incidents/${id}/recommendations?limit=8`).catch((e) => ({ error: e })) : null));
    Promise.all([inc, recs]).then(([d, r]) => {
      if (seq !== detailSeq) return;
      state.detail = d; state.recs = r;
      renderDetail();
    }).catch((e) => { if (seq === detailSeq) $("detail").innerHTML = `<p class="err">${esc(J.errorText(e))}</p>`; });
  }

  const NEXT_LEVEL = { station: "branch", branch: "city" };
  function renderDetail() {
    const d = state.detail, r = state.recs;
    const units = d.assignments.filter((a) => a.active).map((a) => {
      const u = unitById(a.unit_id);
      return `<li><i class="dot sm" style="background:${J.UNIT_COLORS[u ? u.status : ""] || "#999"}"></i>
        <b>${esc(u ? u.call_sign : a.unit_id.slice(0, 8))}</b> ${esc(u ? J.unitStatus(u.status) : "")}
        <span class="muted">${esc(t("dispatched_at"))} ${J.clock(a.dispatched_at)}${a.eta_seconds ? " · ETA " + J.mmss(a.eta_seconds) : ""}</span></li>`;
    }).join("");
    const flags = Object.entries(d.flags || {}).map(([k, v]) => `<span class="tag flag">${esc(t("flag_" + k))}${v === true ? "" : " " + esc(v)}</span>`).join("");
    const dups = d.duplicates.filter((p) => p.state === "proposed").map((p) => {
      const other = p.incident_id === d.id ? p.candidate_id : p.incident_id;
      const o = incById(other);
      return `<li class="dupprop"><div>${esc(t("dup_text", { number: o ? o.number : other.slice(0, 8),
          meters: Math.round(p.distance_m), seconds: Math.round(p.seconds_apart) }))}</div>
        <div class="btns"><button type="button" class="btn sm" data-merge="${p.incident_id}" data-into="${p.candidate_id}">${esc(t("merge_btn"))}</button>
          <button type="button" class="btn sm ghost" data-split="${p.incident_id}" data-cand="${p.candidate_id}">${esc(t("split_btn"))}</button></div></li>`;
    }).join("");
    let recHtml = "";
    if (!perms.dispatch) recHtml = "";
    else if (d.status === "closed" || d.status === "merged") recHtml = "";
    else if (d.snapped_lon == null) recHtml = `<p class="warn">${esc(t("no_location_hint"))}</p>`;
    else if (r && r.error) recHtml = `<p class="err">${esc(J.errorText(r.error))}</p>`;
    else if (r) {
      const need = Object.entries(r.required).map(([k, n]) => `${esc(J.kind(k))}×${n}`).join("、");
      recHtml = `<p class="runcard">${esc(t("run_card"))}: ${need} <span class="muted">(${esc(r.run_card)})</span></p>` +
        (r.units.length ? `<table class="recs" id="recs"><thead><tr><th>${esc(t("col_unit"))}</th><th>ETA</th><th>${esc(t("col_reasons"))}</th><th></th></tr></thead><tbody>` +
        r.units.map((u, k) => `<tr class="${u.matches_run_card ? "" : "offcard"}${k === 0 ? " top" : ""}" data-unit="${u.unit_id}">
          <td><b>${esc(u.call_sign)}</b><div class="muted">${esc(J.kind(u.kind))}</div></td>
          <td class="eta">${J.mmss(u.eta_seconds)}<div><span class="src src-${u.position_source}">${esc(t("src_" + u.position_source))}</span></div></td>
          <td class="reasons">${u.reasons.map((x) => esc(reasonText(x))).join("<br>")}</td>
          <td><button type="button" class="btn primary dispatch" data-dispatch="${u.unit_id}" data-inc="${d.id}">${esc(t("dispatch_btn"))}</button></td>
        </tr>`).join("") + "</tbody></table>" : `<p class="warn">${esc(t("no_available_unit"))}</p>`);
    }
    const tl = d.timeline.slice().reverse().map((e) => `<li><time>${J.clock(e.at)}</time> ${esc(t("ev_" + e.kind))}
      ${e.detail && e.detail.call_sign ? `<b>${esc(e.detail.call_sign)}</b>` : ""}
      ${e.detail && e.detail.level ? esc(J.levelName(e.detail.level)) : ""}
      ${e.detail && e.detail.text ? `“${esc(e.detail.text)}”` : ""}
      <span class="muted">${esc(e.actor)}</span></li>`).join("");
    $("detail").dataset.incident = d.id;
    $("detail").dataset.status = d.status;
    const canEsc = perms.dispatch && NEXT_LEVEL[d.level] && d.status !== "closed" && d.status !== "merged";
    $("detail").innerHTML = `
      <div class="dhead" style="--c:${J.PRIORITY_COLORS[d.priority]}">
        <span class="prio p${d.priority}">P${d.priority}</span>
        <div><h2>${esc(J.zh ? d.type_name : (incById(d.id) || {}).type_name_en || d.type_name)}</h2>
          <div class="muted">${esc(d.number)} · ${esc(J.channel(d.channel))} · ${J.dateTime(d.received_at)}</div></div>
        <span class="status st-${d.status}">${esc(J.incStatus(d.status))}</span>
      </div>
      <dl class="facts">
        <dt>${esc(t("f_address"))}</dt><dd>${esc(d.address || "—")}${d.accuracy_m ? ` <span class="muted">±${Math.round(d.accuracy_m)} m</span>` : ""}</dd>
        <dt>${esc(t("f_summary"))}</dt><dd>${esc(d.summary || "—")}</dd>
        <dt>${esc(t("level"))}</dt><dd>${esc(J.levelName(d.level))}</dd>
        ${flags || d.injuries || d.deaths ? `<dt>${esc(t("f_flags"))}</dt><dd>${flags}</dd>` : ""}
        ${units ? `<dt>${esc(t("assigned"))}</dt><dd><ul class="asg">${units}</ul></dd>` : ""}
      </dl>
      <div class="actions">
        ${canEsc ? `<button type="button" class="btn warn-btn" id="btn-escalate">⬆ ${esc(t("escalate_to", { level: J.levelName(NEXT_LEVEL[d.level]) }))}</button>` : ""}
        ${perms.take_calls && d.status !== "closed" && d.status !== "merged" ? `<button type="button" class="btn ${d.snapped_lon == null ? "primary" : "ghost"}" id="btn-link">✉ ${esc(t("sms_link_btn"))}</button>` : ""}
        ${perms.personal ? `<button type="button" class="btn ghost" id="btn-caller">${esc(t("caller_btn"))}</button>` : ""}
      </div>
      <div id="callerbox">${callerHtml(state.callers[d.id])}</div>
      <div id="linkbox">${linkHtml(state.links[d.id])}</div>
      ${dups ? `<h3>${esc(t("duplicates"))}</h3><ul class="dups">${dups}</ul>` : ""}
      ${recHtml ? `<h3>${esc(t(units ? "recommendations_more" : "recommendations"))}</h3>${recHtml}` : ""}
      <h3>${esc(t("timeline"))}</h3><ol class="timeline">${tl}</ol>`;
  }

  function callerHtml(c) {
    return c ? `<div class="linkbox"><div class="muted">${esc(t("caller_audited"))}</div>
      <div class="caller">${esc(c.name || "—")} · <a href="tel:${esc(c.phone || "")}">${esc(c.phone || "—")}</a></div></div>` : "";
  }
  function linkHtml(l) {
    return l ? `<div class="linkbox"><div class="muted">${esc(t("sms_read_out"))}</div>
      <p class="sms" id="sms-text">${esc(l.sms_text)}</p>
      <div><a href="${esc(l.url)}" target="_blank" rel="noopener" id="sms-url">${esc(l.url)}</a></div>
      <div class="muted">${esc(t("link_expires"))} ${J.clock(l.expires_at)}</div>
      <button type="button" class="btn sm ghost" id="btn-copy">${esc(t("copy"))}</button></div>` : "";
  }

  const REASONS = [
    [/^road ETA (\d+) min (\d+) s$/, (m) => t("r_eta", { m: m[1], s: m[2] })],
    [/^no road route$/, () => t("r_no_route")],
    [/^stale position \((\d+) min old\).*$/, (m) => t("r_stale", { m: m[1] })],
    [/^no usable position.*$/, () => t("r_station")],
    [/^(\w+) required by run card.*$/, (m) => t("r_runcard", { kind: J.kind(m[1]) })],
    [/^(\w+) not on the run card$/, (m) => t("r_offcard", { kind: J.kind(m[1]) })],
    [/^own jurisdiction$/, () => t("r_own")],
    [/^busy: (\w+)$/, (m) => t("r_busy", { status: J.unitStatus(m[1]) })],
  ];
  function reasonText(x) {
    for (const [re, f] of REASONS) { const m = x.match(re); if (m) return f(m); }
    return x;
  }

  function dispatchUnit(incId, unitId, btn) {
    if (btn) { btn.disabled = true; btn.textContent = t("dispatching"); }
    return J.post(`/api/v1/incidents/${incId}/dispatch`, { unit_id: unitId }).then(() => {
      const u = unitById(unitId);
      toast(t("dispatched_ok", { unit: u ? u.call_sign : "" }));
    }).catch((e) => {
      toast(e.code === "unit_unavailable" ? t("err_unit_unavailable") : J.errorText(e), true);
    }).finally(() => { Object.keys(suggestions).forEach((k) => delete suggestions[k]); refresh(); });
  }

  $("detail").addEventListener("click", (e) => {
    const d = state.detail;
    const b = e.target.closest("button");
    if (!b || !d) return;
    if (b.dataset.dispatch) { dispatchUnit(b.dataset.inc, b.dataset.dispatch, b); return; }
    if (b.dataset.merge) {
      b.disabled = true;
      J.post(`/api/v1/incidents/${b.dataset.merge}/merge`, { into: b.dataset.into })
        .then(() => { toast(t("merged_ok")); if (state.selected === b.dataset.merge) state.selected = b.dataset.into; refresh(); })
        .catch((err) => { toast(J.errorText(err), true); refresh(); });
      return;
    }
    if (b.dataset.split) {
      b.disabled = true;
      J.post(`/api/v1/incidents/${b.dataset.split}/split`, { candidate: b.dataset.cand })
        .then(() => { toast(t("split_ok")); refresh(); }).catch((err) => { toast(J.errorText(err), true); refresh(); });
      return;
    }
    if (b.id === "btn-escalate") {
      const reason = window.prompt(t("escalate_reason"));
      if (!reason || !reason.trim()) return;
      J.post(`/api/v1/incidents/${d.id}/escalate`, { level: NEXT_LEVEL[d.level], reason: reason.trim() })
        .then(() => { toast(t("escalated_ok")); refresh(); }).catch((err) => toast(J.errorText(err), true));
      return;
    }
    if (b.id === "btn-link") {
      b.disabled = true;
      J.post(`/api/v1/incidents/${d.id}/location-link`).then((l) => {
        state.links[d.id] = l;
        $("linkbox").innerHTML = linkHtml(l);
        loadDetail(false);  // the timeline shows the link as sent
      }).catch((err) => toast(J.errorText(err), true)).finally(() => { b.disabled = false; });
      return;
    }
    if (b.id === "btn-caller") {
      const reason = window.prompt(t("caller_reason"), t("caller_reason_default"));
      if (!reason || !reason.trim()) return;
      J.api(`/api/v1/incidents/${d.id}?personal=true&reason=${encodeURIComponent(reason.trim())}`).then((x) => {
        state.callers[d.id] = x.caller || {};
        $("callerbox").innerHTML = callerHtml(state.callers[d.id]);
      }).catch((err) => toast(J.errorText(err), true));
      return;
    }
    if (b.id === "btn-copy") {
      navigator.clipboard && navigator.clipboard.writeText($("sms-text").textContent).then(() => toast(t("copied")));
    }
  });

  // ------------------------------------------------------------------ right-hand tabs and intake
  function showPane(name) {
    document.querySelectorAll(".rtabs button").forEach((b) => b.classList.toggle("on", b.dataset.pane === name));
    document.querySelectorAll(".dsp-right .pane").forEach((p) => { p.hidden = p.id !== "pane-" + name; });
    const picking = name === "intake";
    mapEl.classList.toggle("picking", picking);
    $("pickhint").hidden = !picking;
  }
  document.querySelectorAll(".rtabs button").forEach((b) => b.addEventListener("click", () => showPane(b.dataset.pane)));

  const form = $("intake");
  let idemKey = crypto.randomUUID ? crypto.randomUUID() : String(Date.now()) + Math.random();
  if (form) {
    J.api("/api/v1/incident-types").then((types) => {
      state.types = types;
      const cats = {};
      types.forEach((x) => { (cats[x.category] = cats[x.category] || []).push(x); });
      $("f-type").innerHTML = `<option value="">${esc(t("f_choose_type"))}</option>` + Object.entries(cats).map(([c, xs]) =>
        `<optgroup label="${esc(t("cat_" + c))}">` + xs.map((x) => `<option value="${x.code}">${esc(J.zh ? x.name_zh : x.name_en)} · P${x.priority}</option>`).join("") + "</optgroup>").join("");
    });
    map.on("click", (e) => {
      if ($("pane-intake").hidden) return;
      setPick(e.latlng.lng, e.latlng.lat);
    });
    $("f-loc-clear").addEventListener("click", () => setPick(null, null));
    form.addEventListener("input", () => { idemKey = crypto.randomUUID ? crypto.randomUUID() : String(Date.now()) + Math.random(); });
    form.addEventListener("submit", (e) => {
      e.preventDefault();
      const f = new FormData(form);
      const num = (k) => (f.get(k) === "" || f.get(k) == null ? null : Number(f.get(k)));
      const body = {
        type_code: f.get("type_code"), channel: f.get("channel"), lon: num("lon"), lat: num("lat"), accuracy_m: num("accuracy_m"),
        address: f.get("address") || null, summary: f.get("summary") || null, caller_name: f.get("caller_name") || null,
        caller_phone: f.get("caller_phone") || null,
        flags: { weapon: f.get("weapon") === "on", trapped: f.get("trapped") === "on", ongoing: f.get("ongoing") === "on",
                 injuries: num("injuries") || 0, deaths: num("deaths") || 0 },
      };
      if (body.lon == null && !body.address) { msg(t("err_need_location"), true); return; }
      $("f-submit").disabled = true;
      J.post("/api/v1/calls", body, { "Idempotency-Key": idemKey }).then((r) => {
        const text = t("intake_ok", { number: r.number, priority: r.priority }) + (r.duplicates.length ? " " + t("intake_dups", { n: r.duplicates.length }) : "");
        msg(text); toast(text);
        form.reset(); setPick(null, null);
        idemKey = crypto.randomUUID ? crypto.randomUUID() : String(Date.now()) + Math.random();
        return refresh().then(() => select(r.incident_id, true));
      }).catch((err) => msg(J.errorText(err), true)).finally(() => { $("f-submit").disabled = false; });
    });
  }
  function msg(text, bad) { const m = $("f-msg"); m.textContent = text; m.classList.toggle("err", !!bad); }
  function setPick(lon, lat) {
    $("f-lon").value = lon == null ? "" : lon.toFixed(6);
    $("f-lat").value = lat == null ? "" : lat.toFixed(6);
    $("f-loc-text").textContent = lon == null ? t("f_no_location") : `${t("f_location")}: ${lon.toFixed(5)}, ${lat.toFixed(5)}`;
    $("f-loc-clear").hidden = lon == null;
    $("f-loc").classList.toggle("set", lon != null);
    if (pickMarker) { map.removeLayer(pickMarker); pickMarker = null; }
    if (lon != null) pickMarker = L.marker([lat, lon], { icon: L.divIcon({ className: "", html: '<div class="pick-pin"></div>', iconSize: [24, 24], iconAnchor: [12, 24] }) }).addTo(map);
    idemKey = crypto.randomUUID ? crypto.randomUUID() : String(Date.now()) + Math.random();
  }

  // ------------------------------------------------------------------ level switch, toast, live updates
  function setLevel(lv) {
    state.level = lv;
    localStorage.setItem("jw.board.level", lv);
    document.querySelectorAll("#level-switch button").forEach((b) => b.classList.toggle("on", b.dataset.level === lv));
  }
  document.querySelectorAll("#level-switch button").forEach((b) => b.addEventListener("click", () => { setLevel(b.dataset.level); refresh(); }));
  setLevel(state.level);

  let toastTimer = null;
  function toast(text, bad) {
    const el = $("toast");
    el.textContent = text; el.hidden = false; el.classList.toggle("bad", !!bad);
    clearTimeout(toastTimer);
    toastTimer = setTimeout(() => { el.hidden = true; }, bad ? 6000 : 3500);
  }

  let poller = null;
  function live(mode) {
    const el = $("live");
    el.dataset.mode = mode;
    el.textContent = t("live_" + mode);
    if (mode === "polling" && !poller) poller = setInterval(refresh, 10000);
    if (mode === "live" && poller) { clearInterval(poller); poller = null; }
  }
  function connect() {
    if (!window.EventSource) { live("polling"); return; }
    const es = new EventSource("/api/v1/stream");
    es.onopen = () => { live("live"); soon(); };
    es.addEventListener("change", soon);
    es.onerror = () => {
      live("polling");
      if (es.readyState === EventSource.CLOSED) setTimeout(connect, 5000);
    };
  }

  J.drawRoads(map, canvas).then((roads) => {
    roads.bringToBack();
    mapEl.dataset.status = "ready";
    if (!state.fitted) { map.fitBounds(roads.getBounds()); state.fitted = true; }
  }).catch(() => { mapEl.dataset.status = "error"; if (state.board) fitToData(); });
  refresh().then(() => connect());
})();
