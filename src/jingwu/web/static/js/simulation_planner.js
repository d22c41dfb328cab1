// Planner page: start a simulation run through the API, follow its progress, draw the report in the page.
(function () {
  "use strict";
  var box = document.getElementById("sim-planner");
  var T = JSON.parse(box.getAttribute("data-i18n"));
  var form = document.getElementById("sim-form");
  var status = document.getElementById("sim-status");
  var bar = document.getElementById("sim-progress");
  var text = document.getElementById("sim-status-text");
  var errEl = document.getElementById("sim-error");
  var open = document.getElementById("sim-open");
  var root = document.getElementById("sim-report");

  function fail(e) {
    errEl.hidden = false;
    errEl.textContent = T.sim_failed + ": " + (e && e.message ? e.message : String(e)) + (e && e.code ? " (" + e.code + ")" : "");
    errEl.setAttribute("data-code", (e && e.code) || "");
    form.querySelector("button").disabled = false;
  }

  function poll(id) {
    fetch("/api/v1/simulation/runs/" + id, {credentials: "same-origin", headers: {Accept: "application/json"}}).then(function (r) {
      return r.json().then(function (b) { if (!r.ok) { throw b.error || {message: r.status}; } return b; });
    }).then(function (run) {
      bar.value = run.progress;
      text.textContent = T.sim_running + " " + Math.round(run.progress * 100) + " %";
      if (run.status === "running") { setTimeout(function () { poll(id); }, 700); return; }
      form.querySelector("button").disabled = false;
      if (run.status === "failed") { fail(run.error); return; }
      text.textContent = "";
      open.hidden = false;
      open.href = "/simulation/runs/" + id + "/report";
      window.JWSimReport.render(root, run.result, T);
    }).catch(fail);
  }

  form.addEventListener("submit", function (ev) {
    ev.preventDefault();
    errEl.hidden = true;
    open.hidden = true;
    var f = new FormData(form);
    var body = {};
    ["days", "units", "seed"].forEach(function (k) { body[k] = parseInt(f.get(k), 10); });
    ["calls_per_day", "target_s"].forEach(function (k) { body[k] = parseFloat(f.get(k)); });
    ["policy", "shifts", "mix"].forEach(function (k) { body[k] = String(f.get(k) || ""); });
    body.roster = f.get("roster") === "1";
    form.querySelector("button").disabled = true;
    status.hidden = false;
    bar.value = 0;
    text.textContent = T.sim_running;
    fetch("/api/v1/simulation/runs", {method: "POST", credentials: "same-origin", headers: {
      "Content-Type": "application/json", Accept: "application/json", "X-Jingwu-CSRF": "1"}, body: JSON.stringify(body)})
      .then(function (r) {
        return r.json().then(function (b) { if (!r.ok) { throw b.error || {message: r.status}; } return b; });
      }).then(function (run) { poll(run.id); }).catch(fail);
  });
})();
