/* Mobile unit view: pick my unit (remembered), the current order, the status
   buttons enabled per the legal next step (签收 → 出警 → 到场 → 处置完毕 → 反馈),
   the route on a small map, and the browser's position sent to the server. */
(function () {
  "use strict";
  const J = window.JW, t = J.t, esc = J.esc;
  const $ = (id) => document.getElementById(id);
  const root = $("unitview");
  const NEXT = { dispatched: "acknowledged", acknowledged: "en_route", en_route: "on_scene", on_scene: "cleared", cleared: "feedback" };
  const CHAIN = ["dispatched", "acknowledged", "en_route", "on_scene", "cleared", "feedback"];
  const state = { units: [], unit: null, data: null, routeKey: null, types: {} };
  if (!J.zh) J.api("/api/v1/incident-types").then((ts) => { ts.forEach((x) => { state.types[x.code] = x.name_en; }); if (state.data) render(); }).catch(() => {});

  const map = J.newMap($("umap"), { zoomControl: false });
  map.setView([30.66, 104.07], 14);
  const canvas = L.canvas({ padding: 0.3 });
  const overlay = L.layerGroup().addTo(map);
  J.drawRoads(map).then((r) => r.bringToBack()).catch(() => {});

  function toast(text, bad) {
    const el = $("toast");
    el.textContent = text; el.hidden = false; el.classList.toggle("bad", !!bad);
    clearTimeout(toast.timer);
    toast.timer = setTimeout(() => { el.hidden = true; }, bad ? 6000 : 3000);
  }

  function loadUnits() {
    return J.api("/api/v1/units").then((units) => {
      units.sort((a, b) => a.call_sign.localeCompare(b.call_sign));
      state.units = units;
      const sel = $("unit-select");
      if (!units.length) { $("order").innerHTML = `<p class="idle">${esc(t("no_units"))}</p>`; return; }
      sel.innerHTML = units.map((u) => `<option value="${u.id}">${esc(u.call_sign)} · ${esc(J.kind(u.kind))}</option>`).join("");
      const params = new URLSearchParams(location.search);
      const want = params.get("unit") || localStorage.getItem("jw.unit");
      state.unit = units.some((u) => u.id === want) ? want : units[0].id;
      sel.value = state.unit;
      localStorage.setItem("jw.unit", state.unit);
    });
  }
  $("unit-select").addEventListener("change", (e) => {
    state.unit = e.target.value; state.routeKey = null;
    localStorage.setItem("jw.unit", state.unit);
    refresh();
  });

  function refresh() {
    if (!state.unit) return Promise.resolve();
    const id = state.unit;
    return J.api(`/api/v1/units/${id}/assignment`).then((d) => {
      if (id !== state.unit) return;
      state.data = d;
      render();
      root.dataset.status = "ready";
      root.dataset.unitStatus = d.unit.status;
    }).catch((e) => toast(J.errorText(e), true));
  }

  function render() {
    const d = state.data, u = d.unit, inc = d.incident, a = d.assignment;
    $("ustat").innerHTML = `<span class="cs">${esc(u.call_sign)}</span>
      <span class="pill" id="unit-status" style="background:${J.UNIT_COLORS[u.status] || "#777"}">${esc(J.unitStatus(u.status))}</span>`;
    if (inc) {
      $("order").innerHTML = `<div class="muted">${esc(t("order"))} · ${esc(inc.number)}</div>
        <h2><span class="prio p${inc.priority}">P${inc.priority}</span> ${esc(state.types[inc.type_code] || inc.type_name)}</h2>
        <div class="addr">${esc(inc.address || (inc.lon != null ? inc.lon.toFixed(5) + ", " + inc.lat.toFixed(5) : "—"))}</div>
        ${inc.summary ? `<div class="summary">${esc(inc.summary)}</div>` : ""}
        <div class="muted">${esc(t("received"))} ${J.clock(inc.received_at)} · ${esc(t("dispatched_at"))} ${J.clock(a.dispatched_at)}
          ${a.eta_seconds ? " · " + esc(t("eta")) + " " + J.mmss(a.eta_seconds) : ""}</div>`;
    } else {
      $("order").innerHTML = `<p class="idle">${esc(t("no_order"))}</p>`;
    }
    const next = NEXT[u.status];
    const pos = CHAIN.indexOf(u.status);
    document.querySelectorAll("#ubtns button").forEach((b) => {
      const s = b.dataset.status;
      b.disabled = s !== next;
      b.classList.toggle("next", s === next);
      b.classList.toggle("done", pos >= 0 && CHAIN.indexOf(s) <= pos && CHAIN.indexOf(s) > 0);
      const stamp = a && a[s + "_at"];
      b.innerHTML = esc(t("btn_" + s)) + (stamp ? `<small>${J.clock(stamp)}</small>` : "");
    });
    $("feedback").hidden = u.status !== "cleared";
    drawMap();
  }

  function drawMap() {
    const d = state.data, u = d.unit, inc = d.incident;
    const key = [u.id, u.lon && u.lon.toFixed(4), u.lat && u.lat.toFixed(4), inc && inc.id, u.status].join("|");
    if (key === state.routeKey) return;
    state.routeKey = key;
    overlay.clearLayers();
    const pts = [];
    if (u.lon != null) {
      L.circleMarker([u.lat, u.lon], { renderer: canvas, radius: 9, color: "#fff", weight: 2.5, fillColor: J.UNIT_COLORS[u.status] || "#1e6fd9", fillOpacity: 1 })
        .bindTooltip(u.call_sign, { permanent: true, direction: "right", className: "station-label" }).addTo(overlay);
      pts.push([u.lat, u.lon]);
    }
    $("route-info").textContent = "";
    if (inc && inc.snapped_lon != null) {
      const ll = [inc.snapped_lat, inc.snapped_lon];
      L.marker(ll, { icon: L.divIcon({ className: "", html: `<div class="inc-marker st-${inc.status} p${inc.priority}" style="--c:${J.PRIORITY_COLORS[inc.priority]}">${inc.priority}</div>`, iconSize: [26, 26], iconAnchor: [13, 13] }) }).addTo(overlay);
      pts.push(ll);
      if (u.lon != null && ["dispatched", "acknowledged", "en_route"].includes(u.status)) {
        J.api(`/api/v1/incidents/${inc.id}/route?unit_id=${u.id}`).then((r) => {
          const line = r.geometry.coordinates.map((c) => [c[1], c[0]]);
          L.polyline(line, { renderer: canvas, color: "#fff", weight: 8, opacity: 0.9 }).addTo(overlay);
          L.polyline(line, { renderer: canvas, color: "#1e6fd9", weight: 5 }).addTo(overlay);
          map.fitBounds(L.latLngBounds(line).pad(0.15), { maxZoom: 16 });
          $("route-info").textContent = t("route_info", { km: (r.meters / 1000).toFixed(1), eta: J.mmss(r.seconds) });
        }).catch(() => { $("route-info").textContent = t("route_unavailable"); });
      }
    }
    if (pts.length > 1) map.fitBounds(L.latLngBounds(pts).pad(0.3), { maxZoom: 16 });
    else if (pts.length === 1) map.setView(pts[0], 15);
    if (pts.length > 1 && map.getZoom() > 16) map.setZoom(16);
  }

  $("ubtns").addEventListener("click", (e) => {
    const b = e.target.closest("button");
    if (!b || b.disabled) return;
    const s = b.dataset.status;
    if (s === "feedback") { $("feedback").hidden = false; $("feedback").querySelector("textarea").focus(); return; }
    b.disabled = true;
    J.post(`/api/v1/units/${state.unit}/status`, { status: s }).then((r) => {
      toast(r && r.queued ? t("ph_tap_queued", { status: J.unitStatus(s) }) : t("status_ok", { status: J.unitStatus(s) }));
    }).catch((err) => toast(J.errorText(err), true)).finally(refresh);
  });
  $("feedback").addEventListener("submit", (e) => {
    e.preventDefault();
    const text = e.target.text.value.trim();
    if (!text) return;
    J.post(`/api/v1/units/${state.unit}/feedback`, { text: text }).then((r) => {
      e.target.reset(); toast(r && r.queued ? t("ph_feedback_queued") : t("feedback_ok"));
    }).catch((err) => toast(J.errorText(err), true)).finally(refresh);
  });

  // ------------------------------------------------------------------ position reporting
  let watch = null, buffer = [], sender = null;
  function flush() {
    if (!buffer.length || !state.unit) return;
    const batch = buffer; buffer = [];
    J.post(`/api/v1/units/${state.unit}/positions`, { positions: batch }).then(() => {
      $("gps-msg").textContent = t("gps_sent", { time: J.clock(new Date().toISOString()) });
    }).catch((err) => { $("gps-msg").textContent = J.errorText(err); });
  }
  function gps(on) {
    localStorage.setItem("jw.gps", on ? "1" : "0");
    if (!on) { if (watch != null) navigator.geolocation.clearWatch(watch); watch = null; clearInterval(sender); sender = null; return; }
    if (!navigator.geolocation) { $("gps-msg").textContent = t("gps_denied", { why: "—" }); return; }
    watch = navigator.geolocation.watchPosition((p) => {
      buffer.push({ lon: p.coords.longitude, lat: p.coords.latitude, at: new Date(p.timestamp || Date.now()).toISOString() });
      if (buffer.length === 1 && !sender) flush();
    }, (err) => { $("gps-msg").textContent = t("gps_denied", { why: err.message || err.code }); },
    { enableHighAccuracy: true, maximumAge: 5000, timeout: 20000 });
    sender = setInterval(flush, 10000);
  }
  $("gps").addEventListener("change", (e) => gps(e.target.checked));
  if (localStorage.getItem("jw.gps") === "1") { $("gps").checked = true; gps(true); }

  // ------------------------------------------------------------------ live updates
  let debounce = null, poller = null;
  const soon = () => { clearTimeout(debounce); debounce = setTimeout(refresh, 300); };
  const onChange = (ev) => {
    let m = {};
    try { m = JSON.parse(ev.data); } catch (e) { m = {}; }
    const inc = state.data && state.data.incident;
    if (!m.unit_id || m.unit_id === state.unit || (inc && m.incident_id === inc.id)) soon();
  };
  window.addEventListener("jw:refresh", soon);
  function connect() {
    if (!window.EventSource) { poller = setInterval(refresh, 10000); return; }
    if (J.liveStream) {  // watchdog on the server's pings, reconnect with backoff (dispatch_phone_unit.js)
      J.liveStream(onChange, (s) => {
        if (s === "live") { if (poller) { clearInterval(poller); poller = null; } soon(); }
        else if (!poller) poller = setInterval(refresh, 10000);
      });
      return;
    }
    const es = new EventSource("/api/v1/stream");
    es.onopen = () => { if (poller) { clearInterval(poller); poller = null; } };
    es.addEventListener("change", (ev) => {
      let m = {};
      try { m = JSON.parse(ev.data); } catch (e) { m = {}; }
      const inc = state.data && state.data.incident;
      if (!m.unit_id || m.unit_id === state.unit || (inc && m.incident_id === inc.id)) soon();
    });
    es.onerror = () => {
      if (!poller) poller = setInterval(refresh, 10000);
      if (es.readyState === EventSource.CLOSED) setTimeout(connect, 5000);
    };
  }
  loadUnits().then(refresh).then(connect);
})();
