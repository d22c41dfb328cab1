/* Case file and new-case page: every form posts to the cases API (cookie session + X-Jingwu-CSRF) and reloads
   on success; errors show their message. Opening a case from an incident reads the incident (dispatch's API,
   in the browser) and passes its timeline as the snapshot the case keeps. */
(function () {
  "use strict";
  var root = document.getElementById("case");
  var err = document.getElementById("case-error");
  function show(msg) { err.textContent = msg; err.hidden = false; }
  function api(method, url, body) {
    var reason = root && root.dataset.reason;
    if (reason) { url += (url.indexOf("?") < 0 ? "?" : "&") + "access_reason=" + encodeURIComponent(reason); }
    return fetch(url, {method: method, credentials: "same-origin",
      headers: {"Content-Type": "application/json", "X-Jingwu-CSRF": "1"},
      body: body === undefined ? undefined : JSON.stringify(body)}).then(function (r) {
      if (r.status === 204) { return {}; }
      return r.json().then(function (j) {
        if (!r.ok) { throw new Error((j.error && (j.error.message + " (" + j.error.code + ")")) || r.status); }
        return j;
      });
    });
  }
  function formData(f) {
    var o = {};
    Array.prototype.forEach.call(f.elements, function (el) {
      if (el.name && el.value !== "") { o[el.name] = el.value; }
    });
    return o;
  }
  function localIso(v) {  /* a datetime-local value read in the deployment's zone */
    if (!v) { return undefined; }
    var d = new Date(v + ":00Z");
    return v + ":00" + window.JW.offset(d, window.JW.zone());
  }
  function reload() { window.location.reload(); }

  var newForm = document.getElementById("new-case");
  if (newForm) {
    newForm.addEventListener("submit", function (ev) {
      ev.preventDefault();
      var body = formData(newForm);
      var first = body.incident_id
        ? fetch("/api/v1/incidents/" + encodeURIComponent(body.incident_id), {credentials: "same-origin"})
          .then(function (r) { return r.ok ? r.json() : {timeline: []}; })
          .then(function (inc) {
            body.incident_timeline = (inc.timeline || []).map(function (e) {
              return {at: e.at, what: e.kind || e.what || "", actor: e.actor || ""};
            });
          })
        : Promise.resolve();
      first.then(function () { return api("POST", "/api/v1/cases", body); })
        .then(function (r) { window.location.href = "/cases/" + r.id; })
        .catch(function (e) { show(e.message); });
    });
    return;
  }
  if (!root) { return; }
  var id = root.dataset.case, base = "/api/v1/cases/" + id;
  root.addEventListener("submit", function (ev) {
    var f = ev.target, op = f.dataset.op;
    if (!op) { return; }
    ev.preventDefault();
    var b = formData(f), p;
    if (op === "transition") { p = api("POST", base + "/transitions", b); }
    else if (op === "event") { b.at = localIso(b.at); p = api("POST", base + "/events", b); }
    else if (op === "party") { p = api("POST", base + "/parties", b); }
    else if (op === "property") { b.quantity = parseInt(b.quantity || "1", 10); p = api("POST", base + "/property", b); }
    else if (op === "property-action") { p = api("POST", base + "/property/" + f.dataset.item + "/actions", b); }
    else if (op === "account") { p = api("POST", base + "/accounts", b); }
    else if (op === "decision") { p = api("POST", base + "/decision", b); }
    if (p) { p.then(reload).catch(function (e) { show(e.message); }); }
  });
  root.addEventListener("click", function (ev) {
    var b = ev.target, op = b.dataset && b.dataset.op;
    if (!op || b.tagName !== "BUTTON" || b.form) { return; }
    ev.preventDefault();
    if (op === "code") {
      api("POST", base + "/parties/" + b.dataset.party + "/code").then(function (r) {
        var span = b.parentNode.querySelector(".code");
        span.textContent = r.case_number + " / " + r.code;
        span.hidden = false;
      }).catch(function (e) { show(e.message); });
    } else if (op === "revoke") {
      api("DELETE", base + "/parties/" + b.dataset.party + "/code").then(reload).catch(function (e) { show(e.message); });
    } else if (op === "release") {
      api("POST", base + "/accounts/" + b.dataset.item + "/actions", {action: "release"}).then(reload)
        .catch(function (e) { show(e.message); });
    }
  });
}());
