/* Dispatch board, part 3 of 3 (loaded last, after dispatch_board_map.js and
   dispatch_board_pane.js). Owns: loading the board, the queue, counts and alerts
   (with the suggested next unit), one-click dispatch, the level switch, toasts, and
   live updates; starts the board once all parts are loaded.
   Live: SSE /api/v1/stream → debounce 300 ms → GET /api/v1/board; polling every
   10 s while the stream is down. */
(function () {
  "use strict";
  const J = window.JW, t = J.t, esc = J.esc, B = J.board;
  const { $, root, state, perms, typeName, openIncidents, incById, unitById } = B;

  // ------------------------------------------------------------------ data
  let loading = null, again = false;
  function refresh() {
    if (loading) { again = true; return loading; }
    loading = J.api("/api/v1/board?level=" + state.level).then((b) => {
      state.board = b;
      renderQueue(); renderAlerts(); renderCounts(); B.drawMap();
      if (B.renderLocq) B.renderLocq();
      if (state.selected) B.maybeReloadDetail();
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
    const inc = openIncidents().filter((i) => !(B.needsLocation && B.needsLocation(i)));  // those: own list
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
  $("queue").addEventListener("click", (e) => { const li = e.target.closest("li[data-id]"); if (li) B.select(li.dataset.id, true); });
  $("queue").addEventListener("keydown", (e) => {
    if (e.key === "Enter") { const li = e.target.closest("li[data-id]"); if (li) B.select(li.dataset.id, true); }
  });
  setInterval(() => document.querySelectorAll(".age[data-since]").forEach((el) => { el.textContent = J.age(el.dataset.since); }), 1000);

  const suggestions = {};
  const REDISPATCH = new Set(["ack_timeout", "stood_down"]);  // alerts offering "send the next recommended unit"
  function alertText(a) {
    if (J.zh) return a.message;
    const u = a.unit_id ? unitById(a.unit_id) : null;
    const shift = J.shiftAlertText && J.shiftAlertText(a, u);
    if (shift) return shift;
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
      if (REDISPATCH.has(a.kind) && perms.dispatch) {
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
    al.filter((a) => REDISPATCH.has(a.kind) && perms.dispatch && suggestions[a.id] === undefined).forEach((a) => {
      suggestions[a.id] = "pending";
      J.api(`/api/v1/incidents/${a.incident_id}/recommendations?limit=5`).then((r) => {
        suggestions[a.id] = r.units.find((u) => u.status === "available" && u.unit_id !== a.unit_id) || null;
      }).catch(() => { suggestions[a.id] = null; }).then(() => renderAlerts());
    });
  }
  $("alerts").addEventListener("click", (e) => {
    const open = e.target.closest("[data-open]");
    if (open) { e.preventDefault(); B.select(open.dataset.open, true); return; }
    const res = e.target.closest("[data-resolve]");
    if (res) {
      res.disabled = true;
      J.post(`/api/v1/alerts/${res.dataset.resolve}/resolve`).then(refresh).catch((err) => toast(J.errorText(err), true));
      return;
    }
    const d = e.target.closest("[data-dispatch]");
    if (d) dispatchUnit(d.dataset.inc, d.dataset.dispatch, d);
  });

  // ------------------------------------------------------------------ one-click dispatch (from the alerts and the detail pane)
  function dispatchUnit(incId, unitId, btn) {
    if (btn) { btn.disabled = true; btn.textContent = t("dispatching"); }
    return J.post(`/api/v1/incidents/${incId}/dispatch`, { unit_id: unitId }).then(() => {
      const u = unitById(unitId);
      toast(t("dispatched_ok", { unit: u ? u.call_sign : "" }));
    }).catch((e) => {
      toast(e.code === "unit_unavailable" ? t("err_unit_unavailable") : J.errorText(e), true);
    }).finally(() => { Object.keys(suggestions).forEach((k) => delete suggestions[k]); refresh(); });
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

  Object.assign(B, { refresh: refresh, toast: toast, dispatchUnit: dispatchUnit });
  B.loadRoads();
  refresh().then(() => connect());
})();
