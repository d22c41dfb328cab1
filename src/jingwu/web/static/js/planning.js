// Planner page: coverage (MCLP), hot spots (KDE + Gi*, BH FDR) and event security rings on the map.
// The map background is the served network's own roads (/api/v1/map/roads) and labels; no tile server.
// Calls the planning API with the cookie session and the X-Jingwu-CSRF header.
(function () {
  "use strict";
  var el = document.getElementById("pl-map");
  var T = JSON.parse(el.getAttribute("data-i18n"));
  var map = L.map("pl-map", {preferCanvas: true, zoomControl: true, attributionControl: true});
  map.attributionControl.setPrefix(false).addAttribution(T.osm_attribution);
  L.control.scale({imperial: false}).addTo(map);
  map.setView([30.67, 104.07], 13);
  var canvas = L.canvas({padding: 0.3});
  JWLabels.attach(map, {lang: T.lang});
  var result = document.getElementById("pl-result");
  var errBox = document.getElementById("pl-error");
  var layer = null, venueMarker = null, legend = null, switcher = null;
  var RING = {core: "#c53030", control: "#dd8a1e", diversion: "#2b6cb0"};

  function fld(form, name) { return form.querySelector("[name=" + name + "]"); }
  function esc(s) { return String(s).replace(/[&<>"']/g, function (c) { return "&#" + c.charCodeAt(0) + ";"; }); }
  function fmt(x, d) { return Number(x).toLocaleString(T.lang, {maximumFractionDigits: d === undefined ? 2 : d}); }

  fetch("/api/v1/map/roads", {credentials: "same-origin"}).then(function (r) { return r.json(); }).then(function (gj) {
    var roads = L.geoJSON(gj, {renderer: canvas, interactive: false,
      style: function () { return {weight: 1, color: "#8a94a0", opacity: 0.7}; }}).addTo(map);
    if (gj.features.length) { map.fitBounds(roads.getBounds()); }
    el.setAttribute("data-status", "ready");
  }).catch(function () { el.setAttribute("data-status", "ready"); });

  function clear() {
    if (layer) { map.removeLayer(layer); layer = null; }
    if (legend) { map.removeControl(legend); legend = null; }
    if (switcher) { map.removeControl(switcher); switcher = null; }
    errBox.hidden = true;
    result.innerHTML = "";
  }
  function showLegend(rows) {
    legend = L.control({position: "bottomright"});
    legend.onAdd = function () {
      var d = L.DomUtil.create("div", "pl-legend");
      d.innerHTML = rows.map(function (r) { return "<i style='background:" + r[0] + "'></i>" + esc(r[1]); }).join("<br>");
      return d;
    };
    legend.addTo(map);
  }
  function post(path, body) {
    el.setAttribute("data-status", "loading");
    result.textContent = T.working;
    return fetch(path, {method: "POST", credentials: "same-origin",
      headers: {"Content-Type": "application/json", "X-Jingwu-CSRF": "1"}, body: JSON.stringify(body)
    }).then(function (r) {
      return r.json().then(function (j) {
        if (!r.ok) { throw new Error(j.error ? j.error.code + ": " + j.error.message : String(r.status)); }
        return j;
      });
    }).catch(function (e) {
      result.textContent = "";
      errBox.textContent = e.message; errBox.hidden = false;
      el.setAttribute("data-status", "error");
      throw e;
    });
  }
  function readFile(input) {
    var f = input.files && input.files[0];
    if (!f) { return Promise.resolve(null); }
    return f.text();
  }
  function parseCsv(text) {  // id -> [lon, lat] for drawing (the server checks the tables)
    var lines = text.replace(/^\ufeff/, "").split(/\r?\n/).filter(function (l) { return l.trim(); });
    var head = lines[0].split(",").map(function (h) { return h.trim().toLowerCase(); });
    var ii = head.indexOf("id"), xi = head.indexOf("lon"), yi = head.indexOf("lat");
    var out = {};
    if (ii < 0 || xi < 0 || yi < 0) { return out; }
    lines.slice(1).forEach(function (l) {
      var c = l.split(",");
      var x = parseFloat(c[xi]), y = parseFloat(c[yi]);
      if (isFinite(x) && isFinite(y)) { out[c[ii].trim()] = [x, y]; }
    });
    return out;
  }

  // tabs
  Array.prototype.forEach.call(document.querySelectorAll(".pl-tabs button"), function (b) {
    b.addEventListener("click", function () {
      Array.prototype.forEach.call(document.querySelectorAll(".pl-tabs button"), function (x) { x.classList.toggle("on", x === b); });
      Array.prototype.forEach.call(document.querySelectorAll(".pl-form"), function (f) {
        f.hidden = f.getAttribute("data-tab") !== b.getAttribute("data-tab");
      });
    });
  });

  // coverage
  document.getElementById("f-coverage").addEventListener("submit", function (ev) {
    ev.preventDefault();
    el.setAttribute("data-status", "loading");  // at once, before any file is read or request sent
    var f = ev.target;
    Promise.all([readFile(fld(f, "demand")), readFile(fld(f, "sites")), readFile(fld(f, "costs"))]).then(function (t) {
      clear();
      var body = {demand_csv: t[0] || "", sites_csv: t[1] || "", costs_csv: t[2], k: parseInt(fld(f, "k").value, 10),
                  within: t[2] ? parseFloat(fld(f, "within_min").value) : parseFloat(fld(f, "within_min").value) * 60,
                  method: fld(f, "method").value, backup: fld(f, "backup").checked};
      return post("/api/v1/planning/coverage", body).then(function (a) {
        var dem = parseCsv(t[0] || ""), sit = parseCsv(t[1] || "");
        layer = L.layerGroup().addTo(map);
        a.demand.forEach(function (d) {
          var p = dem[d.id]; if (!p) { return; }
          L.circleMarker([p[1], p[0]], {renderer: canvas, radius: 3, weight: 0, fillOpacity: 0.8,
            fillColor: d.covered_by >= 2 ? "#1a7f37" : d.covered_by === 1 ? "#2e9d4a" : "#c53030"}).addTo(layer);
        });
        var pts = [];
        a.chosen.forEach(function (s) {
          var p = s.lon !== undefined ? [s.lon, s.lat] : sit[s.id]; if (!p) { return; }
          pts.push([p[1], p[0]]);
          L.marker([p[1], p[0]], {title: s.id}).bindTooltip(esc(s.id) + " · " + fmt(s.covers_weight)).addTo(layer);
        });
        if (pts.length) { map.fitBounds(L.latLngBounds(pts).pad(0.3)); }
        var state = a.proven_optimal ? T.optimal : T.gap + " ≤ " + (a.gap === null ? "?" : fmt(a.gap * 100, 3) + " %");
        result.innerHTML = "<p><b>" + esc(T.covered) + "</b>: " + fmt(a.covered_weight) + " / " + fmt(a.total_weight) +
          " (" + fmt(a.covered_share * 100, 2) + " %) · " + esc(state) + " · " + esc(T.seconds) + " " + fmt(a.seconds, 3) +
          (a.backup ? "<br>" + esc(T.covered_twice) + ": " + fmt(a.backup_share * 100, 2) + " %" : "") +
          "<br>" + esc(T.uncovered) + ": " + a.uncovered_points + "</p><table id='pl-chosen'><thead><tr><th>" + esc(T.chosen) +
          "</th><th>" + esc(T.covered) + "</th></tr></thead><tbody>" + a.chosen.map(function (s) {
            return "<tr><td>" + esc(s.id) + "</td><td>" + fmt(s.covers_weight) + "</td></tr>"; }).join("") + "</tbody></table>";
        showLegend([["#2e9d4a", T.covered], ["#1a7f37", T.covered_twice], ["#c53030", T.uncovered]]);
        el.setAttribute("data-status", "done");
      });
    });
  });

  // hot spots
  function hotColor(p) {
    if (p["class"] === "hot") { return p.confidence >= 99 ? "#b10026" : p.confidence >= 95 ? "#e31a1c" : "#fd8d3c"; }
    if (p["class"] === "cold") { return p.confidence >= 99 ? "#08519c" : p.confidence >= 95 ? "#3182bd" : "#9ecae1"; }
    return null;
  }
  document.getElementById("f-hotspots").addEventListener("submit", function (ev) {
    ev.preventDefault();
    el.setAttribute("data-status", "loading");  // at once, before any file is read or request sent
    var f = ev.target;
    readFile(fld(f, "incidents")).then(function (text) {
      clear();
      return post("/api/v1/planning/hotspots", {incidents_csv: text || "", days: fld(f, "days").value, hours: fld(f, "hours").value,
                                               cell_m: parseFloat(fld(f, "cell_m").value)}).then(function (a) {
        var maxD = Math.max.apply(null, a.cells.features.map(function (x) { return x.properties.density_km2; }).concat([1e-9]));
        var kde = L.geoJSON(a.cells, {renderer: canvas, style: function (x) {
          var v = x.properties.density_km2 / maxD;
          return {stroke: false, fillColor: "#6a3d9a", fillOpacity: Math.min(0.75, v * 0.8)}; }});
        var gi = L.geoJSON({type: "FeatureCollection", features: a.cells.features.filter(function (x) { return hotColor(x.properties); })},
          {renderer: canvas, style: function (x) { return {color: "#333", weight: 0.5, fillColor: hotColor(x.properties), fillOpacity: 0.7}; },
           onEachFeature: function (x, l) { var p = x.properties;
             l.bindTooltip((p["class"] === "hot" ? T.hot : T.cold) + " " + p.confidence + " % · z " + fmt(p.gi_z) + " · q " + p.q.toPrecision(2) + " · n " + p.count); }});
        layer = L.layerGroup([kde, gi]).addTo(map);
        switcher = L.control.layers(null, (function () { var o = {}; o[T.density] = kde; o[T.gi] = gi; return o; })(), {collapsed: false}).addTo(map);
        if (a.cells.features.length) { map.fitBounds(kde.getBounds()); }
        var s = a.summary, hot = s.classes.hot || 0, cold = s.classes.cold || 0;
        result.innerHTML = "<p>" + esc(T.incidents_n) + " " + s.incidents + " · " + esc(T.cells) + " " + s.cells + " · " +
          esc(T.bandwidth) + " " + fmt(s.bandwidth_m, 0) + "<br>" + esc(T.hot) + " " + hot + " · " + esc(T.cold) + " " + cold +
          "<br>" + esc(T.fdr) + "</p>";
        showLegend([["#b10026", T.hot + " 99 %"], ["#e31a1c", T.hot + " 95 %"], ["#fd8d3c", T.hot + " 90 %"],
                    ["#3182bd", T.cold], ["#6a3d9a", T.density]]);
        el.setAttribute("data-status", "done");
      });
    });
  });

  // event rings
  var fe = document.getElementById("f-event");
  map.on("click", function (e) {
    if (fe.hidden) { return; }
    fld(fe, "lon").value = e.latlng.lng.toFixed(6); fld(fe, "lat").value = e.latlng.lat.toFixed(6);
    if (venueMarker) { map.removeLayer(venueMarker); }
    venueMarker = L.circleMarker(e.latlng, {radius: 7, color: "#111", fillColor: "#111", fillOpacity: 1}).addTo(map);
  });
  fe.addEventListener("submit", function (ev) {
    ev.preventDefault();
    el.setAttribute("data-status", "loading");  // at once, before any file is read or request sent
    clear();
    var body = {lon: parseFloat(fld(fe, "lon").value), lat: parseFloat(fld(fe, "lat").value), crowd: parseInt(fld(fe, "crowd").value, 10), name: fld(fe, "name").value};
    post("/api/v1/planning/event", body).then(function (a) {
      layer = L.layerGroup().addTo(map);
      a.rings.slice().reverse().forEach(function (r) {
        L.geoJSON(r.geometry, {style: {color: RING[r.ring], weight: 2, fillColor: RING[r.ring], fillOpacity: 0.18}}).addTo(layer);
      });
      a.rings.forEach(function (r) {
        r.posts.forEach(function (p) {
          L.circleMarker([p.lat, p.lon], {radius: 4, color: "#fff", weight: 1, fillColor: RING[r.ring], fillOpacity: 1})
            .bindTooltip(T["ring_" + r.ring] + " · " + T.posts).addTo(layer);
        });
      });
      map.fitBounds(L.geoJSON(a.rings[2].outer).getBounds());
      function units(u) { return Object.keys(u).map(function (k) { return esc(T["unit_" + k] || k) + " " + u[k]; }).join("、"); }
      result.innerHTML = "<table id='pl-rings'><thead><tr><th></th><th>" + esc(T.minutes) + "</th><th>km²</th><th>" + esc(T.posts) +
        "</th><th>" + esc(T.officers) + "</th><th>" + esc(T.units) + "</th></tr></thead><tbody>" + a.rings.map(function (r) {
          return "<tr data-ring='" + r.ring + "'><td>" + esc(T["ring_" + r.ring]) + "</td><td>" + fmt(r.minutes, 1) + "</td><td>" +
            fmt(r.area_km2, 2) + "</td><td>" + r.posts.length + "</td><td>" + r.officers + "</td><td>" + units(r.units) + "</td></tr>";
        }).join("") + "<tr><td><b>" + esc(T.total) + "</b></td><td></td><td></td><td></td><td><b>" + a.officers + "</b></td><td>" +
        units(a.units) + "</td></tr></tbody></table>";
      var pr = document.getElementById("pl-print");
      pr.href = "/planning/event/print?lon=" + body.lon + "&lat=" + body.lat + "&crowd=" + body.crowd +
        "&name=" + encodeURIComponent(body.name) + "&lang=" + encodeURIComponent(T.lang);
      pr.hidden = false;
      showLegend([[RING.core, T.ring_core], [RING.control, T.ring_control], [RING.diversion, T.ring_diversion]]);
      el.setAttribute("data-status", "done");
    });
  });
})();
