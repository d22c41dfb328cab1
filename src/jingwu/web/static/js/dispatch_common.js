/* Shared helpers of the dispatch pages: texts, API calls (cookie session + CSRF
   header on writes), formatting, colours, and our own roads on a Leaflet canvas. */
(function () {
  "use strict";
  const T = JSON.parse(document.getElementById("dsp-texts").textContent);
  const zh = T.lang === "zh-CN";

  class ApiError extends Error {
    constructor(status, code, message) { super(message); this.status = status; this.code = code; }
  }

  async function api(path, opts) {
    opts = opts || {};
    const headers = { Accept: "application/json" };
    const init = { method: opts.method || "GET", credentials: "same-origin", headers: headers };
    if (init.method !== "GET") headers["X-Jingwu-CSRF"] = "1";
    if (opts.body !== undefined) { headers["Content-Type"] = "application/json"; init.body = JSON.stringify(opts.body); }
    Object.assign(headers, opts.headers || {});
    const r = await fetch(path, init);
    if (r.status === 204) return null;
    let data = null;
    try { data = await r.json(); } catch (e) { data = null; }
    if (!r.ok) {
      const err = (data && data.error) || {};
      throw new ApiError(r.status, err.code || "http_" + r.status, err.message || r.statusText);
    }
    return data;
  }
  const post = (path, body, headers) => api(path, { method: "POST", body: body, headers: headers });

  const t = (key, vars) => {
    let s = T["dsp_" + key];
    if (s === undefined) s = key;
    if (vars) Object.keys(vars).forEach((k) => { s = s.split("{" + k + "}").join(String(vars[k])); });
    return s;
  };
  const esc = (s) => String(s == null ? "" : s).replace(/[&<>"']/g, (c) => "&#" + c.charCodeAt(0) + ";");
  const mmss = (sec) => {
    if (sec == null || !isFinite(sec)) return "—";
    sec = Math.max(0, Math.round(sec));
    const h = Math.floor(sec / 3600), m = Math.floor((sec % 3600) / 60), s = sec % 60;
    const pad = (n) => String(n).padStart(2, "0");
    return h ? h + ":" + pad(m) + ":" + pad(s) : m + ":" + pad(s);
  };
  const age = (iso, now) => {
    const sec = Math.max(0, ((now || Date.now()) - Date.parse(iso)) / 1000);
    if (sec < 3600) return mmss(sec);
    const h = Math.floor(sec / 3600);
    return h + t("hours_short") + Math.floor((sec % 3600) / 60) + t("minutes_short");
  };
  // the deployment's zone (body data-tz, timefmt.js), never the browser's
  const clock = (iso) => iso ? JW.fmtTime(iso, { date: false, zone: false }) : "—";
  const dateTime = (iso) => iso ? JW.fmtTime(iso) : "—";

  const PRIORITY_COLORS = { 1: "#d32f2f", 2: "#f57c00", 3: "#f9c80e", 4: "#8d99a6" };
  const UNIT_COLORS = {
    available: "#2e9d4a", dispatched: "#f57c00", acknowledged: "#e0a800", en_route: "#1e6fd9",
    on_scene: "#8e24aa", cleared: "#00897b", off_duty: "#9aa3ad",
  };
  const ROAD_STYLE = {
    motorway: [3.5, "#e8a0a0"], trunk: [3, "#f0b27a"], primary: [2.6, "#f5c98b"], secondary: [2.2, "#f7dc8c"],
    tertiary: [1.8, "#c9d0d8"], motorway_link: [1.8, "#e8a0a0"], trunk_link: [1.8, "#f0b27a"], primary_link: [1.8, "#f5c98b"],
  };

  /* Our own roads on a canvas (as the overview map, but muted so incidents and units stand out), in a pane
     under the place names (newMap), which stay under units, routes and incidents. */
  function drawRoads(map) {
    return api("/api/v1/map/roads").then((gj) => {
      const layer = L.geoJSON(gj, {
        renderer: L.canvas({ padding: 0.3, pane: "jwRoads" }), interactive: false,
        style: (f) => {
          const s = ROAD_STYLE[f.properties.highway] || [1, "#d5dae0"];
          return { weight: s[0], color: s[1], opacity: 0.95 };
        },
      }).addTo(map);
      return layer;
    });
  }

  function newMap(el, opts) {
    const map = L.map(el, Object.assign({ preferCanvas: true, zoomSnap: 0.25, attributionControl: true }, opts || {}));
    map.attributionControl.setPrefix(false).addAttribution(t("osm_attribution"));
    map.createPane("jwRoads").style.zIndex = "350";
    map.labels = JWLabels.attach(map, { lang: T.lang, zIndex: 380, avoid: (opts || {}).avoidLabels });
    return map;
  }

  window.JW = Object.assign(window.JW || {}, {  // keeps JW.fmtTime (timefmt.js)
    T: T, zh: zh, t: t, api: api, post: post, ApiError: ApiError, esc: esc, mmss: mmss, age: age, clock: clock,
    dateTime: dateTime, PRIORITY_COLORS: PRIORITY_COLORS, UNIT_COLORS: UNIT_COLORS, drawRoads: drawRoads, newMap: newMap,
    unitStatus: (s) => t("us_" + s), incStatus: (s) => t("is_" + s), kind: (k) => t("kind_" + k),
    channel: (c) => t("ch_" + c), levelName: (l) => t("lv_" + l),
    errorText: (e) => (e && e.code && T["dsp_err_" + e.code]) ? T["dsp_err_" + e.code] : (e && e.message) || String(e),
  });
})();
