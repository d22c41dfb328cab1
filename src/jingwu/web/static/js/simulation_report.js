// Simulation report: the policies' figures side by side, charts (Chart.js, vendored) and a map of the
// demand cells coloured by the share of hours no available unit reached them within the target.
// Used by the standalone report file (data and strings inlined as JSON blocks) and by the planner page.
(function () {
  "use strict";
  var COLORS = {nearest: "#c53030", fastest: "#2b6cb0", coverage: "#2e9d4a"};
  var charts = [];

  function esc(s) { return String(s).replace(/[&<>"']/g, function (c) { return "&#" + c.charCodeAt(0) + ";"; }); }
  function fmt(v, kind) {
    if (v === null || v === undefined) { return "—"; }
    if (kind === "share") { return (v * 100).toFixed(1) + " %"; }
    if (kind === "s") { return Math.floor(v / 60) + ":" + String(Math.round(v % 60)).padStart(2, "0"); }
    return String(v);
  }

  function table(data, T) {
    var rows = [
      ["sim_calls", "calls", ""], ["sim_served", "served", ""], ["sim_unreachable", "unreachable", ""],
      ["sim_mean", "response_mean_s", "s"], ["sim_median", "response_median_s", "s"],
      ["sim_p90", "response_p90_s", "s"], ["sim_within", "within_target_share", "share"],
      ["sim_travel", "travel_mean_s", "s"], ["sim_wait", "wait_mean_s", "s"], ["sim_queued", "queued_share", "share"],
      ["sim_util", "utilisation_mean", "share"], ["sim_uncovered", "uncovered_mean_share", "share"],
      ["sim_runtime", "seconds", ""]];
    var h = "<table class='sim-table' id='sim-summary'><thead><tr><th></th>";
    data.results.forEach(function (r) { h += "<th data-policy='" + esc(r.policy) + "'>" + esc(T["sim_policy_" + r.policy] || r.policy) + "</th>"; });
    h += "</tr></thead><tbody>";
    rows.forEach(function (row) {
      h += "<tr data-metric='" + row[1] + "'><th>" + esc(T[row[0]] || row[0]) + "</th>";
      data.results.forEach(function (r) { h += "<td>" + esc(fmt(r[row[1]], row[2])) + "</td>"; });
      h += "</tr>";
    });
    return h + "</tbody></table>";
  }

  function chart(id, cfg) {
    var el = document.getElementById(id);
    if (!el || typeof Chart === "undefined") { return; }
    charts.push(new Chart(el, cfg));
  }

  function drawMap(canvas, data, policyIdx, T) {
    var ctx = canvas.getContext("2d");
    var W = canvas.width, H = canvas.height;
    ctx.clearRect(0, 0, W, H);
    var z = data.zones, r = data.results[policyIdx];
    var lons = z.lon.concat(data.posts.map(function (p) { return p.lon; }));
    var lats = z.lat.concat(data.posts.map(function (p) { return p.lat; }));
    var x0 = Math.min.apply(null, lons), x1 = Math.max.apply(null, lons);
    var y0 = Math.min.apply(null, lats), y1 = Math.max.apply(null, lats);
    var kx = Math.cos((y0 + y1) / 2 * Math.PI / 180);
    var sx = (W - 40) / Math.max((x1 - x0) * kx, 1e-9), sy = (H - 40) / Math.max(y1 - y0, 1e-9);
    var s = Math.min(sx, sy);
    function X(lon) { return 20 + (lon - x0) * kx * s; }
    function Y(lat) { return H - 20 - (lat - y0) * s; }
    var cellPx = Math.max(2, data.params.cell_m / 111320 * s);
    var wmax = Math.max.apply(null, z.weight);
    for (var i = 0; i < z.lon.length; i++) {
      var u = r.zone_uncovered_share[i];
      var red = Math.round(255 * Math.min(1, u * 2)), green = Math.round(200 * (1 - Math.min(1, u)));
      ctx.globalAlpha = 0.35 + 0.65 * Math.sqrt(z.weight[i] / wmax);
      ctx.fillStyle = "rgb(" + red + "," + green + ",60)";
      ctx.fillRect(X(z.lon[i]) - cellPx / 2, Y(z.lat[i]) - cellPx / 2, cellPx, cellPx);
    }
    ctx.globalAlpha = 1;
    var seen = {};
    data.posts.forEach(function (p) {
      var key = p.lon + "," + p.lat;
      if (seen[key]) { return; }
      seen[key] = 1;
      var x = X(p.lon), y = Y(p.lat);
      ctx.fillStyle = p.mode === "car" ? "#1a202c" : "#805ad5";
      ctx.beginPath(); ctx.moveTo(x, y - 7); ctx.lineTo(x - 6, y + 5); ctx.lineTo(x + 6, y + 5); ctx.closePath(); ctx.fill();
    });
    // 1 km scale bar
    var km = 1000 / 111320 * s;
    ctx.fillStyle = "#1a202c"; ctx.fillRect(20, H - 12, km, 3);
    ctx.font = "11px sans-serif"; ctx.fillText("1 km", 24 + km, H - 8);
    canvas.setAttribute("data-drawn", String(z.lon.length));
  }

  function render(root, data, T) {
    charts.forEach(function (c) { c.destroy(); });
    charts = [];
    var p = data.params;
    var head = "<p class='sim-params' id='sim-params'>" + esc(T.sim_days) + " " + p.days + " · " + esc(T.sim_calls_per_day) + " " +
      p.calls_per_day + " · " + esc(T.sim_units) + " " + p.units + " · " + esc(T.sim_target) + " " + p.target_s + " s · " +
      esc(T.sim_seed) + " " + p.seed + " · " + esc(T.sim_calls_source) + " " + esc(data.calls_source || "generated") +
      " · " + esc(T.sim_posts_source) + " " + esc(data.posts_source || "") + "</p>";
    var opts = data.results.map(function (r, i) {
      return "<option value='" + i + "'>" + esc(T["sim_policy_" + r.policy] || r.policy) + "</option>"; }).join("");
    root.innerHTML = head + table(data, T) +
      "<div class='sim-grid'>" +
      "<figure><figcaption>" + esc(T.sim_chart_hist) + "</figcaption><canvas id='sim-hist'></canvas></figure>" +
      "<figure><figcaption>" + esc(T.sim_chart_day) + "</figcaption><canvas id='sim-day'></canvas></figure>" +
      "<figure><figcaption>" + esc(T.sim_chart_hour) + "</figcaption><canvas id='sim-hour'></canvas></figure>" +
      "<figure><figcaption>" + esc(T.sim_chart_util) + "</figcaption><canvas id='sim-util'></canvas></figure>" +
      "</div><figure class='sim-mapbox'><figcaption>" + esc(T.sim_map) + " <select id='sim-map-policy'>" + opts +
      "</select></figcaption><canvas id='sim-map' width='760' height='560'></canvas><p class='sim-legend'>" +
      esc(T.sim_map_legend) + "</p></figure>";
    function ds(key, type) {
      return data.results.map(function (r) {
        return {label: T["sim_policy_" + r.policy] || r.policy, data: r[key], borderColor: COLORS[r.policy],
                backgroundColor: COLORS[r.policy], type: type, pointRadius: 0, borderWidth: 1.5};
      });
    }
    var hist = data.results[0].response_histogram.map(function (_, i) { return i + (i === 29 ? "+" : ""); });
    chart("sim-hist", {type: "bar", data: {labels: hist, datasets: ds("response_histogram", "bar")},
      options: {animation: false, scales: {x: {title: {display: true, text: T.sim_minutes}}}}});
    var days = data.results[0].uncovered_by_day.map(function (_, i) { return i + 1; });
    chart("sim-day", {type: "line", data: {labels: days, datasets: ds("uncovered_by_day", "line")},
      options: {animation: false, scales: {y: {min: 0, max: 1}}}});
    var hours = []; for (var h = 0; h < 24; h++) { hours.push(h); }
    chart("sim-hour", {type: "line", data: {labels: hours, datasets: ds("uncovered_by_hour_of_day", "line")},
      options: {animation: false, scales: {y: {min: 0, max: 1}, x: {title: {display: true, text: T.sim_hour}}}}});
    var units = data.results[0].utilisation.map(function (_, i) { return i + 1; });
    chart("sim-util", {type: "bar", data: {labels: units, datasets: ds("utilisation", "bar")},
      options: {animation: false, scales: {y: {min: 0, max: 1}}}});
    var sel = document.getElementById("sim-map-policy");
    var canvas = document.getElementById("sim-map");
    drawMap(canvas, data, 0, T);
    sel.addEventListener("change", function () { drawMap(canvas, data, Number(sel.value), T); });
    root.setAttribute("data-status", "ready");
  }

  window.JWSimReport = {render: render};

  // the standalone report file: data and both languages' strings inlined as JSON blocks
  var dataEl = document.getElementById("sim-data");
  var i18nEl = document.getElementById("sim-i18n");
  if (dataEl && i18nEl) {
    var data = JSON.parse(dataEl.textContent);
    var I = JSON.parse(i18nEl.textContent);
    var root = document.getElementById("sim-report");
    var lang = I.lang;
    var toggle = document.getElementById("sim-lang");
    var draw = function () {
      document.documentElement.lang = lang;
      document.getElementById("sim-title").textContent = I[lang].sim_report_title;
      if (toggle) { toggle.textContent = I[lang].lang_switch; }
      render(root, data, I[lang]);
    };
    if (toggle) {
      toggle.addEventListener("click", function () { lang = lang === "zh-CN" ? "en" : "zh-CN"; draw(); });
    }
    draw();
  }
})();
