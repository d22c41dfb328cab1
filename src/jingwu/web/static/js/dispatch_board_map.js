/* Dispatch board, part 1 of 3 (loaded first, after dispatch_common.js).
   Owns: the shared namespace JW.board (state, permissions, look-ups into the last
   board) and the map: layers, legend, incident icons, unit and incident markers,
   route lines, fitting the view and drawing our roads.
   Parts 2 and 3 (dispatch_board_pane.js, dispatch_board.js) add their functions to
   JW.board; this part calls them (select) only once everything has loaded. */
(function () {
  "use strict";
  const J = window.JW, t = J.t, esc = J.esc;
  const root = document.getElementById("board");
  const perms = JSON.parse(root.dataset.perms);
  const $ = (id) => document.getElementById(id);
  const ACTIVE_UNIT = ["dispatched", "acknowledged", "en_route"];
  const state = { board: null, level: localStorage.getItem("jw.board.level") || "station", selected: null,
                  detail: null, recs: null, links: {}, callers: {}, incLayers: {}, routes: {}, types: [], pick: null, fitted: false };
  const B = J.board = { root: root, perms: perms, $: $, state: state };

  // ------------------------------------------------------------------ look-ups into the last board
  const typeName = (i) => (J.zh ? i.type_name : (i.type_name_en || i.type_name));
  const ORDER = { open: 0, dispatched: 1, on_scene: 2 };
  function openIncidents() {
    return (state.board ? state.board.incidents : []).filter((i) => i.status in ORDER).sort((a, b) =>
      ORDER[a.status] - ORDER[b.status] || a.priority - b.priority || Date.parse(a.received_at) - Date.parse(b.received_at));
  }
  function closedIncidents() { return (state.board ? state.board.incidents : []).filter((i) => i.status === "closed"); }
  const incById = (id) => (state.board ? state.board.incidents.find((i) => i.id === id) : null);
  const unitById = (id) => (state.board ? state.board.units.find((u) => u.id === id) : null);

  // ------------------------------------------------------------------ map
  const mapEl = $("dmap");
  const map = J.newMap(mapEl, { zoomControl: true, avoidLabels: "#legend" });
  L.control.scale({ imperial: false }).addTo(map);
  map.setView([30.66, 104.07], 13);
  const canvas = L.canvas({ padding: 0.3 });
  const routeLayer = L.layerGroup().addTo(map);
  const unitLayer = L.layerGroup().addTo(map);
  const incLayer = L.layerGroup().addTo(map);
  const selRing = L.circleMarker([0, 0], { radius: 20, color: "#0b3d91", weight: 3, fill: false, interactive: false });

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
      m.bindTooltip(`${esc(u.call_sign)} · ${esc(J.kind(u.kind))} · ${esc(J.unitStatus(u.status))}${u.crew && u.crew.length ? " · " + esc(u.crew.join("、")) : ""}`);
      if (u.incident_id) m.on("click", () => B.select(u.incident_id));
      m.addTo(unitLayer);
    });
    openIncidents().concat(closedIncidents()).forEach((i) => {
      if (i.lon == null) return;
      const m = L.marker([i.lat, i.lon], { icon: incIcon(i, i.id === state.selected), riseOnHover: true,
        zIndexOffset: (5 - i.priority) * 100 + (i.status === "open" ? 1000 : 0), opacity: i.status === "closed" ? 0.45 : 1 });
      m.bindTooltip(`<b>${esc(i.number)}</b> ${esc(typeName(i))}<br>P${i.priority} · ${esc(J.incStatus(i.status))}` +
                    (i.address ? `<br>${esc(i.address)}` : ""), { direction: "top", offset: [0, -12] });
      m.on("click", () => B.select(i.id));
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

  function fitToData() {
    const pts = state.board.units.filter((u) => u.lon != null).map((u) => [u.lat, u.lon])
      .concat(state.board.incidents.filter((i) => i.lon != null).map((i) => [i.lat, i.lon]));
    if (pts.length) { map.fitBounds(L.latLngBounds(pts).pad(0.05)); state.fitted = true; }
  }

  /* Our roads under everything; called by dispatch_board.js once all parts are loaded. */
  function loadRoads() {
    J.drawRoads(map).then((roads) => {
      roads.bringToBack();
      mapEl.dataset.status = "ready";
      if (!state.fitted) { map.fitBounds(roads.getBounds()); state.fitted = true; }
    }).catch(() => { mapEl.dataset.status = "error"; if (state.board) fitToData(); });
  }

  Object.assign(B, { typeName: typeName, openIncidents: openIncidents, closedIncidents: closedIncidents,
                     incById: incById, unitById: unitById, map: map, mapEl: mapEl, incIcon: incIcon,
                     drawMap: drawMap, fitToData: fitToData, loadRoads: loadRoads });
})();
