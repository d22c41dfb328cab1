/* Dispatch board, whole-set dispatch and call handling (ADR 0019; loaded after dispatch_board.js).
   Adds to the selected incident's detail: "send the whole set" (the run card's missing units in one
   action) and "send the next best", or, for a call handled without units (consultation, transfer,
   duplicate), its handling, "close without units" and an audited override; a handling picker for open
   calls; the handling choice in the call-taker form; the English text of the "closed short" alert. */
(function () {
  "use strict";
  const J = window.JW, t = J.t, esc = J.esc, B = J.board;
  const { $, state, perms, unitById } = B;
  const HANDLINGS = ["consultation", "transfer_12345", "duplicate"];

  function missing(d, r) {
    const have = {};
    const seen = new Set();
    d.assignments.forEach((a) => {
      if (a.cancelled_at || !(a.active || a.on_scene_at) || seen.has(a.unit_id)) return;
      seen.add(a.unit_id);
      const u = unitById(a.unit_id);
      if (u) have[u.kind] = (have[u.kind] || 0) + 1;
    });
    const out = {};
    Object.entries(r.required || {}).forEach(([k, n]) => { if ((have[k] || 0) < n) out[k] = n - (have[k] || 0); });
    return out;
  }
  const kinds = (m) => Object.entries(m).map(([k, n]) => `${J.kind(k)}×${n}`).join("、");
  const hName = (h) => t("ws_h_" + (h || "dispatch"));

  function html(d, r) {
    const open = d.status !== "closed" && d.status !== "merged";
    if (!open) return "";
    const active = d.assignments.some((a) => a.active);
    let s = "";
    if (d.handling) {
      const pending = (d.transfers || []).some((x) => !x.outcome);
      s += `<p class="warn" id="ws-withheld">${esc(t("ws_withheld", { handling: hName(d.handling) }))}</p><div class="actions">`;
      if (perms.take_calls && d.status === "open") {
        s += pending ? `<span class="muted">${esc(t("ws_transfer_pending"))}</span>`
          : `<button type="button" class="btn primary" id="ws-close">${esc(t("ws_close"))}</button>`;
        s += `<button type="button" class="btn ghost" data-ws-handling="dispatch">${esc(t("ws_back_to_dispatch"))}</button>`;
      }
      if (perms.dispatch && d.handling !== "consultation") {
        s += `<button type="button" class="btn ghost" id="ws-override">${esc(t("ws_override"))}</button>`;
      }
      return s + "</div>";
    }
    if (perms.dispatch && r && !r.error && d.snapped_lon != null) {
      const m = missing(d, r);
      const n = Object.keys(m).length;
      s += `<div class="actions ws-set" id="ws-set" data-missing="${n}">
        <span class="${n ? "" : "muted"}">${esc(n ? t("ws_missing", { list: kinds(m) }) : t("ws_complete"))}</span>
        ${n ? `<button type="button" class="btn primary" id="ws-send-set">⇶ ${esc(t("ws_send_set"))}</button>` : ""}
        <button type="button" class="btn ghost" id="ws-send-next">${esc(t("ws_send_next"))}</button></div>`;
    }
    if (perms.take_calls && d.status === "open" && !active) {
      s += `<div class="actions ws-handling"><label>${esc(t("ws_handling"))}
        <select id="ws-handling-pick">${HANDLINGS.map((h) => `<option value="${h}">${esc(hName(h))}</option>`).join("")}</select></label>
        <button type="button" class="btn sm ghost" id="ws-handling-set">${esc(t("ws_set_handling"))}</button></div>`;
    }
    return s;
  }

  function inject() {
    const box = $("detail"), d = state.detail;
    if (!d || box.dataset.incident !== d.id || $("ws-box")) return;
    const s = html(d, state.recs);
    if (!s) return;
    const div = document.createElement("div");
    div.id = "ws-box";
    div.className = "ws-box";
    div.innerHTML = s;
    const card = box.querySelector(".runcard");
    if (card && d.handling) {  // withheld: no run card, no "no unit available", no recommendations heading
      const head = card.previousElementSibling, after = card.nextElementSibling;
      if (head && head.tagName === "H3") head.hidden = true;
      if (after && after.classList.contains("warn")) after.hidden = true;
      card.hidden = true;
    }
    const anchor = card || box.querySelector(".actions");
    if (anchor) anchor.parentNode.insertBefore(div, anchor.nextSibling); else box.appendChild(div);
  }
  new MutationObserver(inject).observe($("detail"), { childList: true });

  function done(text, bad) { B.toast(text, bad); B.refresh(); }
  function fail(e) {
    const key = { no_unit_available: "ws_err_no_unit", nothing_missing: "ws_err_nothing_missing" }[e.code];
    done(key ? t(key) : J.errorText(e), true);
  }

  $("detail").addEventListener("click", (e) => {
    const b = e.target.closest("button");
    const d = state.detail;
    if (!b || !d || !$("ws-box") || !$("ws-box").contains(b)) return;
    if (b.id === "ws-send-set") {
      b.disabled = true;
      J.post(`/api/v1/incidents/${d.id}/dispatch-set`).then((r) => {
        const parts = [];
        if (r.sent.length) parts.push(t("ws_sent", { units: r.sent.map((x) => x.call_sign).join("、") }));
        r.refused.forEach((x) => parts.push(t("ws_refused", { unit: x.call_sign })));
        if (Object.keys(r.still_missing).length) parts.push(t("ws_still_missing", { list: kinds(r.still_missing) }));
        done(parts.join("；"), r.refused.length > 0 || !r.sent.length);
      }).catch(fail);
      return;
    }
    if (b.id === "ws-send-next") {
      b.disabled = true;
      J.post(`/api/v1/incidents/${d.id}/dispatch-next`).then((r) => done(t("ws_next_ok", { unit: r.call_sign }))).catch(fail);
      return;
    }
    if (b.id === "ws-close") {
      const reason = window.prompt(t("ws_close_reason"));
      if (!reason || !reason.trim()) return;
      J.post(`/api/v1/incidents/${d.id}/close`, { reason: reason.trim() }).then(() => done(t("ws_closed_ok"))).catch(fail);
      return;
    }
    if (b.id === "ws-handling-set" || b.dataset.wsHandling) {
      const h = b.dataset.wsHandling || $("ws-handling-pick").value;
      const reason = window.prompt(t("ws_handling_reason"));
      if (!reason || !reason.trim()) return;
      J.post(`/api/v1/incidents/${d.id}/handling`, { handling: h, reason: reason.trim() })
        .then(() => done(t("ws_handling_ok"))).catch(fail);
      return;
    }
    if (b.id === "ws-override") {
      const reason = window.prompt(t("ws_override_reason"));
      if (!reason || !reason.trim()) return;
      J.api(`/api/v1/incidents/${d.id}/recommendations?limit=5&override=true`).then((r) => {
        const u = r.units.find((x) => x.status === "available");
        if (!u) throw Object.assign(new Error(t("ws_err_no_unit")), { code: "no_unit_available" });
        return J.post(`/api/v1/incidents/${d.id}/dispatch`, { unit_id: u.unit_id, override_reason: reason.trim() })
          .then(() => done(t("ws_next_ok", { unit: u.call_sign })));
      }).catch(fail);
    }
  });

  // a call handled without units is tagged in the queue
  function queueTags() {
    document.querySelectorAll("#queue li[data-id] .qtop").forEach((el) => {
      const i = B.incById(el.closest("li").dataset.id);
      if (!i || !i.handling || el.querySelector(".ws-h")) return;
      el.insertAdjacentHTML("beforeend", `<span class="tag ws-h" data-handling="${esc(i.handling)}">${esc(t("ws_tag_" + i.handling))}</span>`);
    });
  }
  new MutationObserver(queueTags).observe($("queue"), { childList: true });

  // the "closed short" alert in English (the stored message is Chinese, as the other alerts')
  function alertsText() {
    if (J.zh || !state.board) return;
    document.querySelectorAll("#alerts li.k-closed_short .amsg").forEach((el) => {
      if (el.dataset.ws) return;
      const a = state.board.alerts.find((x) => String(x.id) === el.closest("li").dataset.alert);
      if (!a || !a.detail) return;
      el.dataset.ws = "1";
      const link = el.querySelector("a");
      el.textContent = t("ws_closed_short_text", { arrived: a.detail.arrived_n, required: a.detail.required_n });
      if (link) { el.append(" · "); el.appendChild(link); }
    });
  }
  new MutationObserver(alertsText).observe($("alerts"), { childList: true });

  // the handling choice in the call-taker form (sent with the call as "handling")
  const form = $("intake");
  if (form && $("f-submit")) {
    const label = document.createElement("label");
    label.innerHTML = `${esc(t("ws_handling"))}<select name="handling" id="f-handling">
      <option value="">${esc(hName(null))}</option>${HANDLINGS.map((h) => `<option value="${h}">${esc(hName(h))}</option>`).join("")}</select>`;
    form.insertBefore(label, $("f-submit"));
  }
})();
