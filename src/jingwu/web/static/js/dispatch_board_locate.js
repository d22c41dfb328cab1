/* Dispatch board, calls without a place (after dispatch_board_pane.js, before dispatch_board.js).
   Owns: the "待定位 / 辖区外" list (open calls whose location_status is unlocated or outside_area: they
   are kept out of the main queue and off the map), and in the detail pane the actions for them: set the
   place by a click on the map or typed coordinates (POST /incidents/{id}/location) and transfer the call
   to a neighbouring agency (POST /incidents/{id}/transfers, then its outcome). */
(function () {
  "use strict";
  const J = window.JW, t = J.t, esc = J.esc, B = J.board;
  const { $, state, perms, map, mapEl } = B;

  const needsLocation = (i) => i.status === "open" && i.location_status && i.location_status !== "located";

  function renderLocq() {
    const el = $("locq");
    if (!el) return;
    const xs = (state.board ? state.board.incidents : []).filter(needsLocation)
      .sort((a, b) => a.priority - b.priority || Date.parse(a.received_at) - Date.parse(b.received_at));
    $("locq-n").textContent = xs.length || "";
    if (!xs.length) { el.innerHTML = `<li class="empty">${esc(t("locq_empty"))}</li>`; return; }
    el.innerHTML = xs.map((i) => `
      <li data-id="${i.id}" data-ls="${i.location_status}" class="q ls-${i.location_status}${i.id === state.selected ? " sel" : ""}" tabindex="0">
        <span class="prio p${i.priority}">P${i.priority}</span>
        <div class="qmain">
          <div class="qtop"><b class="qtype">${esc(B.typeName(i))}</b>
            <span class="tag ls ls-${i.location_status}">${esc(t("ls_" + i.location_status))}</span>
            ${i.transfer ? `<span class="tag xfer">${esc(t("transfer_btn"))}…</span>` : ""}</div>
          <div class="qsub"><span class="ch ch-${i.channel}">${esc(J.channel(i.channel))}</span>
            <span class="num">${esc(i.number)}</span>${i.address ? " · " + esc(i.address) : ""}</div>
        </div>
        <div class="qright"><span class="age" data-since="${esc(i.received_at)}">${J.age(i.received_at)}</span></div>
      </li>`).join("");
  }
  const locq = $("locq");
  if (locq) {
    locq.addEventListener("click", (e) => { const li = e.target.closest("li[data-id]"); if (li) B.select(li.dataset.id, false); });
    locq.addEventListener("keydown", (e) => {
      if (e.key === "Enter") { const li = e.target.closest("li[data-id]"); if (li) B.select(li.dataset.id, false); }
    });
  }

  // ------------------------------------------------------------------ the detail pane's part
  function targetName(tr) {
    if (tr.target_name) return tr.target_name + (tr.target_phone ? " " + tr.target_phone : "");
    const a = ((state.board && state.board.transfer_targets) || []).find((x) => x.id === tr.target_agency_id);
    return a ? (J.zh ? a.name : a.name_en || a.name) : tr.target_agency_id;
  }

  function pendingHtml(p) {
    return `<div class="xfer-pending" id="xfer-pending"><b>${esc(t("transfer_pending", { target: targetName(p) }))}</b>
      <div class="btns">${["accepted", "refused", "no_answer"].map((o) =>
        `<button type="button" class="btn sm${o === "accepted" ? " primary" : " ghost"}" data-outcome="${o}" data-transfer="${p.id}">${esc(t("outcome_" + o))}</button>`).join("")}</div></div>`;
  }

  function locateHtml(d) {
    if (d.disposition === "transferred") return `<p class="ok ls-note">${esc(t("disposition_transferred"))}</p>`;
    if (d.status !== "open") return "";
    const pending = (d.transfers || []).find((x) => x.outcome == null);
    if (!d.location_status || d.location_status === "located") return pending && perms.take_calls ? pendingHtml(pending) : "";
    const out = d.location_status === "outside_area";
    const pos = d.lon != null ? `<div class="muted">${esc(t("reported_position"))}: ${d.lon.toFixed(5)}, ${d.lat.toFixed(5)}</div>` : "";
    if (!perms.take_calls) return `<div class="locbox ls-${d.location_status}"><p class="warn">${esc(t(out ? "outside_hint" : "unlocated_hint"))}</p>${pos}</div>`;
    const targets = (state.board && state.board.transfer_targets) || [];
    const opts = targets.map((a) => `<option value="${a.id}">${esc(J.zh ? a.name : a.name_en || a.name)}</option>`).join("");
    const xfer = pending ? pendingHtml(pending)
      : `<details class="xfer" id="xfer"${out ? " open" : ""}><summary>${esc(t("transfer_title"))}</summary>
           <form id="xfer-form" class="intake" autocomplete="off">
             <label>${esc(t("transfer_to_agency"))}<select name="target_agency_id" id="xfer-agency">
               <option value="">${esc(t("transfer_other"))}</option>${opts}</select></label>
             <div class="row2"><label>${esc(t("transfer_name"))}<input name="target_name" id="xfer-name" maxlength="200"></label>
               <label>${esc(t("transfer_phone"))}<input name="target_phone" id="xfer-phone" maxlength="64" inputmode="tel"></label></div>
             <label>${esc(t("transfer_reason"))}<input name="reason" id="xfer-reason" maxlength="2000" value="${esc(t("transfer_reason_default"))}"></label>
             <button type="submit" class="btn warn-btn" id="xfer-submit">⇄ ${esc(t("transfer_submit"))}</button>
           </form></details>`;
    return `<div class="locbox ls-${d.location_status}" id="locbox">
      <p class="warn">${esc(t(out ? "outside_hint" : "unlocated_hint"))}</p>${pos}
      <div class="actions"><button type="button" class="btn primary" id="btn-locate">⌖ ${esc(t("locate_btn"))}</button>
        <input id="loc-coords" class="coords" placeholder="${esc(t("locate_coords"))}" aria-label="${esc(t("locate_coords"))}">
        <button type="button" class="btn ghost" id="btn-coords">${esc(t("locate_apply"))}</button></div>
      ${xfer}</div>`;
  }

  // ------------------------------------------------------------------ actions
  function setLocating(id) {
    state.locating = id;
    mapEl.classList.toggle("picking", !!id);
    const hint = $("pickhint");
    if (id) { hint.dataset.was = hint.textContent; hint.textContent = t("locate_hint"); hint.hidden = false; }
    else { if (hint.dataset.was) hint.textContent = hint.dataset.was; hint.hidden = $("pane-intake") ? $("pane-intake").hidden : true; }
  }
  function locate(id, lon, lat) {
    setLocating(null);
    return J.post(`/api/v1/incidents/${id}/location`, { lon: lon, lat: lat }).then((r) => {
      B.toast(t("located_ok", { status: t("ls_" + r.location_status) }));
      return B.refresh().then(() => B.select(id, r.location_status === "located"));
    }).catch((err) => B.toast(J.errorText(err), true));
  }
  map.on("click", (e) => { if (state.locating) locate(state.locating, e.latlng.lng, e.latlng.lat); });
  document.addEventListener("keydown", (e) => { if (e.key === "Escape" && state.locating) setLocating(null); });

  $("detail").addEventListener("click", (e) => {
    const d = state.detail, b = e.target.closest("button");
    if (!b || !d) return;
    if (b.id === "btn-locate") { setLocating(d.id); return; }
    if (b.id === "btn-coords") {
      const m = ($("loc-coords").value || "").split(/[\s,，]+/).filter(Boolean).map(Number);
      if (m.length !== 2 || !m.every(isFinite)) { B.toast(t("locate_bad"), true); return; }
      locate(d.id, m[0], m[1]);
      return;
    }
    if (b.dataset.outcome) {
      b.disabled = true;
      J.post(`/api/v1/incidents/${d.id}/transfers/${b.dataset.transfer}/outcome`, { outcome: b.dataset.outcome })
        .then(() => { B.toast(t("outcome_ok")); return B.refresh().then(() => B.select(d.id, false)); })
        .catch((err) => { b.disabled = false; B.toast(J.errorText(err), true); });
    }
  });
  $("detail").addEventListener("submit", (e) => {
    if (e.target.id !== "xfer-form") return;
    e.preventDefault();
    const d = state.detail, f = new FormData(e.target);
    const agency = f.get("target_agency_id");
    const body = agency ? { target_agency_id: agency, reason: f.get("reason") }
      : { target_name: f.get("target_name"), target_phone: f.get("target_phone"), reason: f.get("reason") };
    $("xfer-submit").disabled = true;
    J.post(`/api/v1/incidents/${d.id}/transfers`, body)
      .then(() => { B.toast(t("transfer_ok")); return B.refresh().then(() => B.select(d.id, false)); })
      .catch((err) => { $("xfer-submit").disabled = false; B.toast(J.errorText(err), true); });
  });

  Object.assign(B, { needsLocation: needsLocation, renderLocq: renderLocq, locateHtml: locateHtml });
})();
