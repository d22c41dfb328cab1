/* Board additions of ADR 0018: the crews on shift (who crews which unit), a stand-down with its reason from
   the incident pane (buttons [data-standdown]), and the English text of the stood_down / arrival_flagged
   alerts. Reads JW.board; redraws when the board snapshot changes. */
(function () {
  "use strict";
  const J = window.JW, t = J.t, esc = J.esc, B = J.board;
  const $ = (id) => document.getElementById(id);
  const list = $("crews");
  let last = null;

  function render() {
    const b = B.state.board;
    if (!b || b === last || !list) return;
    last = b;
    const crewed = b.units.filter((u) => u.crew && u.crew.length).sort((a, c) => a.call_sign.localeCompare(c.call_sign));
    $("crews-n").textContent = crewed.length || "";
    list.innerHTML = crewed.length ? crewed.map((u) => `<li data-unit="${u.id}"><i class="dot sm" style="background:${J.UNIT_COLORS[u.status] || "#999"}"></i>
        <b>${esc(u.call_sign)}</b> <span class="muted">${esc(J.unitStatus(u.status))}</span> · ${esc(u.crew.join("、"))}</li>`).join("")
      : `<li class="empty">${esc(t("crews_empty"))}</li>`;
  }
  setInterval(render, 500);

  document.addEventListener("click", (e) => {
    const b = e.target.closest("[data-standdown]");
    if (!b) return;
    const reason = window.prompt(t("stand_down_reason"));
    if (reason === null) return;
    b.disabled = true;
    J.post(`/api/v1/units/${b.dataset.standdown}/status`, { status: "available", reason: reason })
      .catch((err) => window.alert(J.errorText(err))).finally(() => { b.disabled = false; });
  });

  J.shiftAlertText = (a, u) => {
    const d = a.detail || {}, unit = (u && u.call_sign) || d.call_sign || "";
    if (a.kind === "stood_down") return t("alert_stood_down_text", { unit: unit, reason: d.reason || "" });
    if (a.kind === "arrival_flagged") {
      return t("alert_arrival_text", { unit: unit, flags: (d.flags || []).map((f) => t("arrival_" + f)).join(", ") });
    }
    return null;
  };
})();
