// Public Safety Index page: towns coloured by band (Leaflet, no tile server), the day's
// ranking, any past date, and a trend chart (inline SVG) per town. Data: the public API only.
(function () {
  "use strict";
  var el = document.getElementById("si-map");
  var T = JSON.parse(el.getAttribute("data-i18n"));
  var zh = T.lang === "zh-CN";
  var COLORS = {green: "#2e9d4a", blue: "#2b6cb0", yellow: "#d9a400", orange: "#e0701f", red: "#c53030",
                no_data: "#9e9e9e"};
  // a town without data that day (state "no_data": before its own 91 days of history, after the data's
  // horizon): grey, no score, no rank; never shown as 100 or green
  function bandOf(p) { return p.state === "scored" ? p.band : "no_data"; }
  function scoreText(p) { return p.score === null ? "—" : p.score.toFixed(1); }
  var map = L.map("si-map", {zoomControl: true, attributionControl: false});
  map.setView([30.67, 104.07], 12);
  // place names and main streets from the public label endpoint, the street lines drawn faintly for context
  JWLabels.attach(map, {url: "/api/v1/public/map/labels", lang: T.lang,
                        streetLines: {color: "#ffffff", weight: 1.5, opacity: 0.55}});
  var layer = null, selected = null, layersByCode = {}, current = {};
  var dateInput = document.getElementById("si-date");
  var tbody = document.querySelector("#si-rank tbody");

  function name(p) { return zh ? p.name : (p.name_en || p.name); }
  function esc(s) { return String(s).replace(/[&<>"']/g, function (c) { return "&#" + c.charCodeAt(0) + ";"; }); }
  function api(path) { return fetch(path, {headers: {Accept: "application/json"}}).then(function (r) {
    if (!r.ok) { throw new Error(r.status); } return r.json(); }); }

  function setLinks(d) {
    var base = "/api/v1/public/safety-index?date=" + d;
    document.getElementById("dl-json").href = base;
    document.getElementById("dl-csv").href = base + "&format=csv";
    document.getElementById("dl-geojson").href = base + "&format=geojson";
    document.getElementById("dl-cap").href = base + "&format=cap";
  }

  function warnText(p) {
    if (p.state !== "scored") { return ""; }
    var w = (p.band === "red" ? ["red"] : []).concat(p.warnings);
    var s = w.map(function (k) { return T.warn[k] || k; }).join("、");
    // method v2: why the band and the warnings differ, said where they do
    if (p.note) { s += (s ? " " : "") + "(" + (T.note[p.note] || p.note) + ")"; }
    return s;
  }

  function load(d) {
    el.setAttribute("data-status", "loading");
    var q = d ? "&date=" + d : "";
    return api("/api/v1/public/safety-index?format=geojson" + q).then(function (fc) {
      if (layer) { map.removeLayer(layer); }
      layersByCode = {};
      layer = L.geoJSON(fc, {
        style: function (f) {
          var nd = f.properties.state !== "scored";
          return {color: "#333", weight: 1, fillColor: COLORS[bandOf(f.properties)], fillOpacity: nd ? 0.35 : 0.65,
                  dashArray: nd ? "4 3" : null};
        },
        onEachFeature: function (f, l) {
          var p = f.properties;
          layersByCode[p.town_code] = l;
          l.bindTooltip(esc(name(p)) + " · " + scoreText(p) + " · " + esc(T.bands[bandOf(p)]), {sticky: true});
          l.on("click", function () { chart(p.town_code); });
        }
      }).addTo(map);
      if (fc.features.length) { map.fitBounds(layer.getBounds(), {padding: [10, 10]}); }
      var rows = fc.features.map(function (f) { return f.properties; }).sort(function (a, b) {
        if ((a.rank === null) !== (b.rank === null)) { return a.rank === null ? 1 : -1; }
        return a.rank === null ? (a.town_code < b.town_code ? -1 : 1) : a.rank - b.rank;
      });
      tbody.innerHTML = rows.map(function (p) {
        var nd = p.state !== "scored";
        var n = nd ? "—" : (p.incidents_7d === null ? "<span title='" + esc(T.suppressed) + "'>&lt;3</span>" : p.incidents_7d);
        return "<tr data-code='" + esc(p.town_code) + "' data-band='" + bandOf(p) + "' data-state='" + esc(p.state) +
          "'><td class='num'>" + (nd ? "—" : p.rank) +
          "</td><td><span class='si-dot band-" + bandOf(p) + "'></span> " + esc(name(p)) + "</td><td class='num'>" +
          (nd ? "<span class='si-nodata'>" + esc(T.no_data) + "</span>" : scoreText(p)) + "</td><td class='num'>" + n +
          "</td><td class='si-warn'>" + esc(warnText(p)) + "</td></tr>";
      }).join("");
      var ranked = rows.filter(function (p) { return p.state === "scored"; }).length;
      var rk = document.getElementById("si-ranked");
      rk.textContent = ranked === 0 ? T.no_data_day :
        T.ranked.replace("{n}", String(ranked)).replace("{m}", String(rows.length));
      el.setAttribute("data-ranked", String(ranked));
      Array.prototype.forEach.call(tbody.querySelectorAll("tr"), function (tr) {
        tr.addEventListener("click", function () {
          var p = rows.filter(function (x) { return x.town_code === tr.getAttribute("data-code"); })[0];
          chart(p.town_code);
        });
      });
      setLinks(fc.date);
      if (dateInput.value !== fc.date) { dateInput.value = fc.date; }
      el.setAttribute("data-towns", String(rows.length));
      el.setAttribute("data-date", fc.date);
      el.setAttribute("data-status", "ready");
      current = {};
      rows.forEach(function (p) { current[p.town_code] = p; });
      // the chart opens on the selected town, else on the lowest-ranked scored town (else the last row)
      var scored = rows.filter(function (p) { return p.state === "scored"; });
      var fallback = scored.length ? scored[scored.length - 1] : rows[rows.length - 1];
      if (rows.length) { chart(selected && current[selected] ? selected : fallback.town_code); }
    }).catch(function () {
      tbody.innerHTML = "<tr><td colspan='5'>" + esc(T.none) + "</td></tr>";
      el.setAttribute("data-status", "empty");
    });
  }

  function chart(code, label) {
    selected = code;
    var cur = current[code];
    Object.keys(layersByCode).forEach(function (k) {
      layersByCode[k].setStyle(k === code ? {weight: 3, color: "#000"} : {weight: 1, color: "#333"});
      if (k === code) { layersByCode[k].bringToFront(); }
    });
    if (cur && cur.state !== "scored") {
      label = label || name(cur);
      document.getElementById("si-subs").innerHTML = "<span style='color:#fff;border-color:" + COLORS.no_data + ";background:" +
        COLORS.no_data + "'>" + esc(T.no_data) + "</span>";
    } else if (cur) {
      label = label || name(cur);
      document.getElementById("si-subs").innerHTML = Object.keys(T.subs).map(function (k) {
        return "<span>" + esc(T.subs[k]) + " " + cur.sub_indices[k].toFixed(1) + "</span>";
      }).join("") + "<span style='color:#fff;border-color:" + COLORS[cur.band] + ";background:" + COLORS[cur.band] + "'>" + esc(T.bands[cur.band]) + " " +
        cur.score.toFixed(1) + "</span>";
    }
    Array.prototype.forEach.call(tbody.querySelectorAll("tr"), function (tr) {
      tr.classList.toggle("sel", tr.getAttribute("data-code") === code);
    });
    var d = dateInput.value;
    var from = new Date(Date.parse(d) - 179 * 86400000).toISOString().slice(0, 10);
    api("/api/v1/public/safety-index/towns/" + encodeURIComponent(code) + "/series?from=" + from + "&to=" + d)
      .then(function (s) {
        var box = document.getElementById("si-chart");
        document.getElementById("si-chart-title").textContent = T.trend + " · " + (label || (zh ? s.name : (s.name_en || s.name)));
        var old = box.querySelector("svg"); if (old) { box.removeChild(old); }
        var W = 380, H = 170, L0 = 30, R0 = 6, T0 = 8, B0 = 20, pts = s.points;
        var svg = document.createElementNS("http://www.w3.org/2000/svg", "svg");
        svg.setAttribute("viewBox", "0 0 " + W + " " + H);
        svg.setAttribute("data-points", String(pts.length));
        var html = "";
        [[90, "green"], [80, "blue"], [70, "yellow"], [60, "orange"]].forEach(function (b) {
          var y = T0 + (100 - b[0]) / 100 * (H - T0 - B0);
          html += "<line x1='" + L0 + "' x2='" + (W - R0) + "' y1='" + y + "' y2='" + y + "' stroke='" + COLORS[b[1]] + "' stroke-dasharray='3 3' stroke-width='0.7'/>";
          html += "<text x='2' y='" + (y + 3) + "' font-size='9' fill='#555'>" + b[0] + "</text>";
        });
        if (pts.length) {
          var x = function (i) { return L0 + (pts.length === 1 ? 0 : i / (pts.length - 1)) * (W - L0 - R0); };
          var y = function (v) { return T0 + (100 - v) / 100 * (H - T0 - B0); };
          // one polyline per run of scored days: no-data days are gaps, shaded grey, never drawn as 100
          var run = [];
          var flush = function () {
            if (run.length) { html += "<polyline fill='none' stroke='#222' stroke-width='1.3' points='" + run.join(" ") + "'/>"; }
            run = [];
          };
          var step = pts.length > 1 ? (W - L0 - R0) / (pts.length - 1) : 0;
          var gaps = 0;
          pts.forEach(function (p, i) {
            if (p.score === null) {
              flush();
              gaps += 1;
              html += "<rect class='si-gap' x='" + (x(i) - step / 2).toFixed(1) + "' y='" + T0 + "' width='" + Math.max(step, 1).toFixed(1) +
                "' height='" + (H - T0 - B0) + "' fill='#9e9e9e' fill-opacity='0.25'/>";
            } else {
              run.push(x(i).toFixed(1) + "," + y(p.score).toFixed(1));
            }
          });
          flush();
          svg.setAttribute("data-gaps", String(gaps));
          pts.forEach(function (p, i) {
            if (p.score !== null && p.band !== "green") {
              html += "<circle cx='" + x(i).toFixed(1) + "' cy='" + y(p.score).toFixed(1) + "' r='1.8' fill='" + COLORS[p.band] + "'/>";
            }
          });
          html += "<text x='" + L0 + "' y='" + (H - 4) + "' font-size='9' fill='#555'>" + pts[0].date + "</text>";
          html += "<text x='" + (W - R0) + "' y='" + (H - 4) + "' font-size='9' fill='#555' text-anchor='end'>" + pts[pts.length - 1].date + "</text>";
        }
        svg.innerHTML = html;
        box.appendChild(svg);
      });
  }

  dateInput.addEventListener("change", function () {
    if (dateInput.value) {
      history.replaceState(null, "", "?date=" + dateInput.value);
      load(dateInput.value);
    }
  });
  load(dateInput.value || "");
})();
