/* The public case lookup: case number + access code → the public API; shows status timeline, unit, next step,
   seized property, frozen accounts (masked) and the redacted decision. Same message for any wrong input. */
(function () {
  "use strict";
  var form = document.getElementById("lookup-form");
  if (!form) { return; }
  var lang = document.body.dataset.lang || "zh-CN";
  var i18n = document.getElementById("i18n").dataset;
  var err = document.getElementById("lookup-error");
  function $(id) { return document.getElementById(id); }
  function text(tag, s) { var el = document.createElement(tag); el.textContent = s; return el; }
  function row(cells) {
    var tr = document.createElement("tr");
    cells.forEach(function (c) { tr.appendChild(text("td", c)); });
    return tr;
  }
  function fmt(iso) { return window.JW.fmtTime(iso, {seconds: false}); }
  function pick(o) { return o[lang] || o["zh-CN"]; }
  function camel(k) { return k.replace(/-([a-z])/g, function (m, c) { return c.toUpperCase(); }); }
  function label(prefix, v) { return i18n[camel(prefix + "-" + v)] || v; }
  form.addEventListener("submit", function (ev) {
    ev.preventDefault();
    err.hidden = true;
    var num = $("case-number").value.trim(), code = $("access-code").value.trim();
    fetch("/api/v1/public/cases/" + encodeURIComponent(num) + "?code=" + encodeURIComponent(code))
      .then(function (r) { return r.json().then(function (j) { return {ok: r.ok, j: j}; }); })
      .then(function (res) {
        if (!res.ok) {
          $("result").hidden = true;
          err.textContent = res.j.error ? res.j.error.message : "error";
          err.dataset.code = res.j.error ? res.j.error.code : "";
          err.hidden = false;
          return;
        }
        var v = res.j;
        $("r-number").textContent = v.case_number;
        $("r-state").textContent = pick(v.state_label);
        $("r-unit").textContent = pick(v.unit);
        $("r-role").textContent = label("role", v.your_role);
        $("r-next").textContent = v.next_step ? pick(v.next_step.title) + " · " + fmt(v.next_step.due) : i18n.none;
        var tl = $("r-timeline"); tl.textContent = "";
        v.timeline.forEach(function (e) { tl.appendChild(text("li", fmt(e.at) + "  " + pick(e.label))); });
        var pb = $("r-property").querySelector("tbody"); pb.textContent = "";
        v.property.forEach(function (p) {
          pb.appendChild(row([p.category, p.description + " ×" + p.quantity, label("prop", p.status), fmt(p.updated_at)]));
        });
        if (!v.property.length) { pb.appendChild(row([i18n.none])); }
        var ab = $("r-accounts").querySelector("tbody"); ab.textContent = "";
        v.accounts.forEach(function (a) {
          ab.appendChild(row([a.bank, a.account, a.amount + " " + a.currency, label("acc", a.status),
            fmt(a.frozen_at), fmt(a.released_at)]));
        });
        if (!v.accounts.length) { ab.appendChild(row([i18n.none])); }
        $("r-decision-wrap").hidden = !v.decision_html;
        $("r-decision").innerHTML = v.decision_html || "";  /* server-rendered, autoescaped and redacted */
        $("result").hidden = false;
      })
      .catch(function () { err.textContent = "network error"; err.hidden = false; });
  });
}());
