/* Place names on any Leaflet map, from our own OSM data (no tile server, no CDN).

   One call per map:   JWLabels.attach(map, { url: "/api/v1/map/labels" })
   (public pages pass url: "/api/v1/public/map/labels"). Needs leaflet.js and
   vendor/leaflet-textpath/leaflet.textpath.js loaded first.

   Data: GET url?bbox=W,S,E,N&zoom=Z answers a GeoJSON FeatureCollection of
   streets (LineString / MultiLineString), places and POIs (Points) with
   properties {kind, name, name_zh, name_en, rank, min_zoom}. The view is cut
   into tile-like cells (the slippy tile grid two levels above the map's zoom,
   never coarser than level 10, so a cell side stays under 0.5°); each cell is
   fetched once per zoom level and cached, and requests for cells that have left
   the view are aborted. Below zoom 10 the map shows no labels.

   Drawing (after every move, from the cached cells): candidates are placed in
   order — places, then streets, then POIs, each by rank (smaller first) — and a
   label is skipped when its screen box overlaps one already placed. Street names
   run along the street (SVG textPath, leaflet-textpath) on the longest visible
   stretch, centred, turned to read left to right, and only where the stretch is
   straight enough and long enough for the whole name; a name is not repeated
   within 320 px. Places and POIs are small text labels (divIcon). All text has a
   white halo. Language: the page's (<html lang>): Chinese shows name_zh, else
   name; English shows name_en, else name (the local name). A feature with no
   name is never labelled (never an OSM id). */
(function () {
  "use strict";
  const KIND_ORDER = { place: 0, street: 1, poi: 2 };
  const MIN_ZOOM = 10, MAX_ZOOM = 20;
  const MAX_LABELS = 220;          // at most this many labels in view (≈ 3 DOM nodes each)
  const REPEAT_PX = 320;           // the same name is not drawn twice closer than this
  const MAX_TURN = 50 * Math.PI / 180;  // total bend allowed under a street name
  const CACHE_CELLS = 300;
  const FONT_FAMILY = '"Noto Sans CJK SC", "Source Han Sans SC", "PingFang SC", "Microsoft YaHei", system-ui, sans-serif';

  const CSS = `
.jw-labels-pane { pointer-events: none; }
.jw-labels-pane svg { pointer-events: none; }
.jw-street-label { fill: #3a4654; stroke: #fff; stroke-width: 3px; stroke-linejoin: round; paint-order: stroke;
  font-family: ${FONT_FAMILY}; }
.jw-lbl { white-space: nowrap; font-family: ${FONT_FAMILY}; line-height: 1; pointer-events: none;
  text-shadow: -1px -1px 0 #fff, 1px -1px 0 #fff, -1px 1px 0 #fff, 1px 1px 0 #fff, 0 0 3px #fff, 0 0 3px #fff; }
.jw-lbl-place { color: #1d2733; font-weight: 600; }
.jw-lbl-poi { color: #6b4f2a; }
.jw-lbl-poi::before { content: ""; display: inline-block; width: 4px; height: 4px; border-radius: 50%;
  background: #8a6a3c; margin-right: 3px; vertical-align: middle; box-shadow: 0 0 0 1px #fff; }
.leaflet-marker-icon.jw-lbl-icon { background: none; border: 0; }
`;
  let cssDone = false;
  function injectCss() {
    if (cssDone) return;
    const s = document.createElement("style");
    s.id = "jw-labels-css";
    s.textContent = CSS;
    document.head.appendChild(s);
    cssDone = true;
  }

  // ------------------------------------------------------------------ text metrics
  const measureCtx = document.createElement("canvas").getContext("2d");
  const widthCache = new Map();
  function textWidth(text, font) {
    const k = font + "|" + text;
    let w = widthCache.get(k);
    if (w === undefined) {
      measureCtx.font = font;
      w = measureCtx.measureText(text).width;
      if (widthCache.size > 5000) widthCache.clear();
      widthCache.set(k, w);
    }
    return w;
  }

  /* The label of a feature in a language; null when it has no name. */
  function labelText(p, lang) {
    const en = String(lang || "").toLowerCase().startsWith("en");
    const s = en ? (p.name_en || p.name) : (p.name_zh || p.name);
    return s && String(s).trim() ? String(s).trim() : null;
  }

  // ------------------------------------------------------------------ styles by kind and rank
  function styleOf(p) {
    const r = typeof p.rank === "number" ? p.rank : 9;
    if (p.kind === "place") {
      const size = r <= 2 ? 16 : r <= 4 ? 14 : 12.5;
      return { size: size, weight: 600, cls: "jw-lbl-place" };
    }
    if (p.kind === "poi") return { size: r <= 1 ? 11.5 : 11, weight: r <= 1 ? 600 : 400, cls: "jw-lbl-poi", dot: 7 };
    return { size: r <= 3 ? 12.5 : r <= 5 ? 12 : 11.5, weight: r <= 3 ? 600 : r <= 5 ? 500 : 400 };
  }
  const fontOf = (st) => `${st.weight} ${st.size}px ${FONT_FAMILY}`;

  // ------------------------------------------------------------------ tile-like cells
  const lon2x = (lon, z) => Math.floor((lon + 180) / 360 * (1 << z));
  const lat2y = (lat, z) => {
    const r = lat * Math.PI / 180;
    return Math.floor((1 - Math.log(Math.tan(r) + 1 / Math.cos(r)) / Math.PI) / 2 * (1 << z));
  };
  const x2lon = (x, z) => x / (1 << z) * 360 - 180;
  const y2lat = (y, z) => {
    const n = Math.PI - 2 * Math.PI * y / (1 << z);
    return 180 / Math.PI * Math.atan(0.5 * (Math.exp(n) - Math.exp(-n)));
  };
  const cellZoom = (z) => Math.max(MIN_ZOOM, z - 2);

  function cellsFor(bounds, z) {
    const cz = cellZoom(z), out = [];
    const x0 = lon2x(bounds.getWest(), cz), x1 = lon2x(bounds.getEast(), cz);
    const y0 = lat2y(bounds.getNorth(), cz), y1 = lat2y(bounds.getSouth(), cz);
    for (let x = x0; x <= x1; x++) {
      for (let y = y0; y <= y1; y++) {
        const bbox = [x2lon(x, cz), y2lat(y + 1, cz), x2lon(x + 1, cz), y2lat(y, cz)].map((v) => v.toFixed(6));
        out.push({ key: `${z}/${cz}/${x}/${y}`, bbox: bbox.join(",") });
      }
    }
    return out;
  }

  // ------------------------------------------------------------------ geometry on screen
  /* Runs of consecutive screen points inside the view rectangle (a point just
     outside is kept at the ends so the run reaches the edge). */
  function visibleRuns(pts, size) {
    const runs = [];
    let cur = null;
    const inside = (p) => p.x >= 0 && p.y >= 0 && p.x <= size.x && p.y <= size.y;
    for (let i = 0; i < pts.length; i++) {
      if (inside(pts[i])) {
        if (!cur) { cur = i > 0 ? [pts[i - 1]] : []; runs.push(cur); }
        cur.push(pts[i]);
      } else if (cur) { cur.push(pts[i]); cur = null; }
    }
    return runs;
  }

  function cumulative(pts) {
    const d = [0];
    for (let i = 1; i < pts.length; i++) d.push(d[i - 1] + pts[i].distanceTo(pts[i - 1]));
    return d;
  }

  /* The sub-path of pts between distances a and b along it. */
  function slice(pts, cum, a, b) {
    const out = [];
    const at = (s) => {
      let i = 1;
      while (i < cum.length - 1 && cum[i] < s) i++;
      const seg = cum[i] - cum[i - 1] || 1, f = Math.min(1, Math.max(0, (s - cum[i - 1]) / seg));
      return { i: i, p: L.point(pts[i - 1].x + (pts[i].x - pts[i - 1].x) * f, pts[i - 1].y + (pts[i].y - pts[i - 1].y) * f) };
    };
    const s = at(a), e = at(b);
    out.push(s.p);
    for (let i = s.i; i < e.i; i++) out.push(pts[i]);
    out.push(e.p);
    return out;
  }

  function totalTurn(pts) {
    let t = 0;
    for (let i = 1; i < pts.length - 1; i++) {
      const a1 = Math.atan2(pts[i].y - pts[i - 1].y, pts[i].x - pts[i - 1].x);
      const a2 = Math.atan2(pts[i + 1].y - pts[i].y, pts[i + 1].x - pts[i].x);
      let d = Math.abs(a2 - a1);
      if (d > Math.PI) d = 2 * Math.PI - d;
      t += d;
    }
    return t;
  }

  /* Boxes (screen squares) every `step` px along a path: the collision shape of a street name. */
  function boxesAlong(pts, half) {
    const cum = cumulative(pts), len = cum[cum.length - 1], out = [];
    const step = half * 1.6;
    for (let s = 0; s <= len + 0.1; s += step) {
      const p = slice(pts, cum, s, s)[0];
      out.push([p.x - half, p.y - half, p.x + half, p.y + half]);
    }
    return out;
  }

  // ------------------------------------------------------------------ collision grid
  class Grid {
    constructor(cell) { this.cell = cell; this.m = new Map(); }
    keys(b, fn) {
      const c = this.cell;
      for (let x = Math.floor(b[0] / c); x <= Math.floor(b[2] / c); x++)
        for (let y = Math.floor(b[1] / c); y <= Math.floor(b[3] / c); y++) fn(x + "," + y);
    }
    hits(b) {
      let hit = false;
      this.keys(b, (k) => {
        if (hit) return;
        const l = this.m.get(k);
        if (l) hit = l.some((o) => o[0] < b[2] && b[0] < o[2] && o[1] < b[3] && b[1] < o[3]);
      });
      return hit;
    }
    add(b) { this.keys(b, (k) => { const l = this.m.get(k); if (l) l.push(b); else this.m.set(k, [b]); }); }
  }

  // ------------------------------------------------------------------ the layer
  function attach(map, opts) {
    opts = opts || {};
    injectCss();
    const url = opts.url || "/api/v1/map/labels";
    let lang = opts.lang || document.documentElement.lang || "zh-CN";
    const el = map.getContainer();
    const paneName = "jwLabels";
    if (!map.getPane(paneName)) {
      const pane = map.createPane(paneName);
      pane.style.zIndex = String(opts.zIndex || 450);
      pane.classList.add("jw-labels-pane");
    }
    const pane = map.getPane(paneName);
    const svg = L.svg({ pane: paneName, padding: 0.1 });
    const group = L.layerGroup().addTo(map);
    const lines = opts.streetLines ? L.layerGroup().addTo(map) : null;
    const cache = new Map();          // cell key -> features
    const inflight = new Map();       // cell key -> AbortController
    let timer = null, wanted = [], drawQueued = false, stats = { labels: 0, candidates: 0, ms: 0, nodes: 0 };

    function fetchCell(c) {
      const ctrl = new AbortController();
      inflight.set(c.key, ctrl);
      const z = c.key.split("/")[0];
      return fetch(`${url}?bbox=${c.bbox}&zoom=${z}`, { credentials: "same-origin", signal: ctrl.signal,
                                                        headers: { Accept: "application/geo+json, application/json" } })
        .then((r) => { if (!r.ok) throw new Error(url + " " + r.status); return r.json(); })
        .then((fc) => {
          cache.set(c.key, (fc && fc.features) || []);
          if (cache.size > CACHE_CELLS) cache.delete(cache.keys().next().value);
          queueDraw();
        })
        .catch((e) => { if (e.name !== "AbortError") { el.dataset.labelsError = String(e.message || e); } })
        .finally(() => { if (inflight.get(c.key) === ctrl) inflight.delete(c.key); });
    }

    function refresh() {
      const zf = map.getZoom();
      if (zf < MIN_ZOOM) { wanted = []; abortStale(new Set()); draw(); return; }
      const z = Math.min(MAX_ZOOM, Math.floor(zf));
      wanted = cellsFor(map.getBounds().pad(0.05), z);
      const keep = new Set(wanted.map((c) => c.key));
      abortStale(keep);
      wanted.forEach((c) => { if (!cache.has(c.key) && !inflight.has(c.key)) fetchCell(c); else if (cache.has(c.key)) {
        const f = cache.get(c.key); cache.delete(c.key); cache.set(c.key, f);   // most recently used last
      } });
      draw();
    }
    function abortStale(keep) {
      inflight.forEach((ctrl, k) => { if (!keep.has(k)) { ctrl.abort(); inflight.delete(k); } });
    }
    function queueDraw() {
      if (drawQueued) return;
      drawQueued = true;
      requestAnimationFrame(() => { drawQueued = false; draw(); });
    }

    /* Features of the wanted cells, each once (a street crossing cells comes with each). */
    function features() {
      const seen = new Set(), out = [];
      wanted.forEach((c) => {
        (cache.get(c.key) || []).forEach((f) => {
          const g = f.geometry;
          if (!g || !f.properties) return;
          const co = g.type === "Point" ? g.coordinates : g.type === "LineString" ? [g.coordinates[0], g.coordinates[g.coordinates.length - 1], g.coordinates.length]
            : [g.coordinates[0][0], g.coordinates.length, g.coordinates[g.coordinates.length - 1].length];
          const k = f.properties.kind + "|" + f.properties.name + "|" + JSON.stringify(co);
          if (seen.has(k)) return;
          seen.add(k);
          out.push(f);
        });
      });
      return out;
    }

    function draw() {
      const t0 = performance.now();
      group.clearLayers();
      if (lines) lines.clearLayers();
      const zf = map.getZoom(), size = map.getSize();
      const grid = new Grid(64), byName = new Map();
      // nothing under the map's controls (zoom, attribution, layers) or the page's overlays on the map
      const cr = el.getBoundingClientRect();
      el.querySelectorAll(".leaflet-control").forEach((c) => avoid(c, cr, grid));
      if (opts.avoid) document.querySelectorAll(opts.avoid).forEach((c) => avoid(c, cr, grid));
      const feats = features().filter((f) => (f.properties.min_zoom == null || f.properties.min_zoom <= Math.floor(zf)));
      feats.sort((a, b) => (KIND_ORDER[a.properties.kind] ?? 3) - (KIND_ORDER[b.properties.kind] ?? 3) ||
        (a.properties.rank ?? 99) - (b.properties.rank ?? 99));
      let n = 0;
      const farFromSame = (text, p) => (byName.get(text) || []).every((q) => q.distanceTo(p) >= REPEAT_PX);
      const remember = (text, p) => { const l = byName.get(text); if (l) l.push(p); else byName.set(text, [p]); };
      for (const f of feats) {
        if (n >= MAX_LABELS) break;
        const p = f.properties, text = labelText(p, lang);
        if (!text) continue;
        const st = styleOf(p);
        if (p.kind === "street") {
          if (lines) drawLine(f);
          if (!L.Polyline.prototype.setText) continue;   // leaflet-textpath not loaded: no street names
          if (placeStreet(f, text, st, size, grid, farFromSame, remember)) n++;
        } else if (f.geometry.type === "Point") {
          if (placePoint(f, text, st, size, grid, farFromSame, remember)) n++;
        }
      }
      stats = { labels: n, candidates: feats.length, ms: Math.round((performance.now() - t0) * 10) / 10,
                nodes: pane.getElementsByTagName("*").length };
      el.dataset.labels = String(n);
      el.dataset.labelsMs = String(stats.ms);
      el.dataset.labelsStatus = inflight.size ? "loading" : "ready";
      el.dispatchEvent(new CustomEvent("jw-labels-drawn", { detail: stats }));
    }

    function avoid(node, cr, grid) {
      const r = node.getBoundingClientRect();
      if (r.width && r.height) grid.add([r.left - cr.left - 2, r.top - cr.top - 2, r.right - cr.left + 2, r.bottom - cr.top + 2]);
    }

    function drawLine(f) {
      const g = f.geometry, parts = g.type === "LineString" ? [g.coordinates] : g.coordinates;
      parts.forEach((c) => L.polyline(c.map((x) => [x[1], x[0]]), Object.assign(
        { color: "#fff", weight: 2, opacity: 0.7 }, opts.streetLines, { renderer: svg, interactive: false })).addTo(lines));
    }

    function placeStreet(f, text, st, size, grid, farFromSame, remember) {
      const g = f.geometry;
      const parts = g.type === "LineString" ? [g.coordinates] : g.type === "MultiLineString" ? g.coordinates : [];
      const font = fontOf(st), w = textWidth(text, font) + 12, half = st.size * 0.62;
      // the longest visible stretch of the street
      let best = null, bestLen = 0;
      parts.forEach((c) => {
        const pts = c.map((x) => map.latLngToContainerPoint([x[1], x[0]]));
        visibleRuns(pts, size).forEach((run) => {
          if (run.length < 2) return;
          const cum = cumulative(run), len = cum[cum.length - 1];
          if (len > bestLen) { best = { run: run, cum: cum }; bestLen = len; }
        });
      });
      if (!best || bestLen < w) return false;
      for (const at of [0.5, 0.3, 0.7, 0.15, 0.85]) {
        const c = bestLen * at;
        if (c - w / 2 < 0 || c + w / 2 > bestLen) continue;
        let sub = slice(best.run, best.cum, c - w / 2, c + w / 2);
        const mid = slice(best.run, best.cum, c, c)[0];
        if (mid.x < 0 || mid.y < 0 || mid.x > size.x || mid.y > size.y) continue;
        if (totalTurn(sub) > MAX_TURN) continue;
        if (!farFromSame(text, mid)) return false;
        const boxes = boxesAlong(sub, half);
        if (boxes.some((b) => b[0] < 0 || b[1] < 0 || b[2] > size.x || b[3] > size.y || grid.hits(b))) continue;
        boxes.forEach((b) => grid.add(b));
        remember(text, mid);
        if (sub[sub.length - 1].x < sub[0].x) sub = sub.slice().reverse();   // read left to right
        const ll = sub.map((q) => map.containerPointToLatLng(q));
        const line = L.polyline(ll, { renderer: svg, stroke: false, fill: false, interactive: false });
        line.addTo(group);
        // the stretch is the measured text width + 12 px long: start 6 px in (no `center`, which would
        // force a layout per label to measure the text again)
        line.setText(text, { offset: st.size * 0.36,
                             attributes: { class: "jw-street-label", "font-size": st.size + "px", "font-weight": st.weight,
                                           dx: 6, "data-kind": "street", "data-name": text } });
        return true;
      }
      return false;
    }

    function placePoint(f, text, st, size, grid, farFromSame, remember) {
      const c = f.geometry.coordinates, pt = map.latLngToContainerPoint([c[1], c[0]]);
      const w = Math.ceil(textWidth(text, fontOf(st)) + (st.dot || 0)) + 4, h = Math.ceil(st.size * 1.3);
      const b = [pt.x - w / 2, pt.y - h / 2, pt.x + w / 2, pt.y + h / 2];
      if (b[0] < 0 || b[1] < 0 || b[2] > size.x || b[3] > size.y) return false;
      if (!farFromSame(text, pt) || grid.hits(b)) return false;
      grid.add(b);
      remember(text, pt);
      const span = document.createElement("span");
      span.className = "jw-lbl " + st.cls;
      span.style.fontSize = st.size + "px";
      span.dataset.kind = f.properties.kind;
      span.dataset.name = text;
      span.textContent = text;
      L.marker([c[1], c[0]], {
        pane: paneName, interactive: false, keyboard: false,
        icon: L.divIcon({ className: "jw-lbl-icon", html: span, iconSize: [w, h], iconAnchor: [w / 2, h / 2] }),
      }).addTo(group);
      return true;
    }

    function schedule() {
      clearTimeout(timer);
      timer = setTimeout(refresh, opts.debounceMs == null ? 120 : opts.debounceMs);
    }
    map.on("moveend", schedule);
    map.on("resize", schedule);
    if (map._loaded) schedule(); else map.whenReady(schedule);

    const ctl = {
      map: map,
      layer: group,
      refresh: refresh,
      setLang: (l) => { lang = l; draw(); },
      stats: () => stats,
      remove: () => {
        map.off("moveend", schedule); map.off("resize", schedule); clearTimeout(timer);
        abortStale(new Set()); map.removeLayer(group); if (lines) map.removeLayer(lines);
        instances.splice(instances.indexOf(ctl), 1);
      },
    };
    instances.push(ctl);
    return ctl;
  }

  const instances = [];   // every attached map (tests and the console find a map's labels here)
  window.JWLabels = { attach: attach, labelText: labelText, instances: instances };
})();
