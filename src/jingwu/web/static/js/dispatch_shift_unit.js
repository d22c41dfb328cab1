/* Unit view, crew card (ADR 0018): an officer signs on to the selected unit for a shift (optionally with a
   planned end) and signs off. While signed on, this device follows the crewed unit (localStorage jw.unit,
   shared with dispatch_unit.js through the unit picker). Shown only to patrol officers. */
(function () {
  "use strict";
  const J = window.JW, t = J.t, esc = J.esc;
  const $ = (id) => document.getElementById(id);
  const card = $("crew"), sel = $("unit-select");
  if (!card || !sel) return;
  let mine = null;

  function callSign(id) {
    const o = Array.from(sel.options).find((x) => x.value === id);
    return o ? o.textContent.split(" · ")[0] : "";
  }

  function follow() {  // the device follows the crewed unit
    if (!mine || sel.value === mine.unit_id || !Array.from(sel.options).some((o) => o.value === mine.unit_id)) return;
    sel.value = mine.unit_id;
    sel.dispatchEvent(new Event("change"));
  }

  function render() {
    card.hidden = false;
    if (mine) {
      card.dataset.crew = mine.unit_id;
      card.innerHTML = `<div class="crew-on"><b>${esc(t("crew_on", { unit: mine.call_sign }))}</b>
        <div class="muted">${esc(t("crew_members"))}: ${esc(mine.members.join("、"))}
        ${mine.shift_ends_at ? " · " + esc(t("crew_until")) + " " + J.clock(mine.shift_ends_at) : ""}</div></div>
        ${sel.value !== mine.unit_id ? `<p class="warn">${esc(t("crew_other", { unit: mine.call_sign }))}</p>` : ""}
        <button type="button" class="btn" id="crew-off">${esc(t("crew_sign_off"))}</button>`;
    } else {
      card.dataset.crew = "";
      const hours = [0, 4, 8, 10, 12].map((h) => `<option value="${h}">${esc(h ? t("crew_shift_hours", { h: h }) : t("crew_shift_open"))}</option>`).join("");
      card.innerHTML = `<p class="muted">${esc(t("crew_none"))}</p>
        <div class="crew-row"><select id="crew-hours">${hours}</select>
        <button type="button" class="btn primary" id="crew-on">${esc(t("crew_sign_on", { unit: callSign(sel.value) }))}</button></div>`;
    }
  }

  function load() {
    return J.api("/api/v1/me/crew").then((r) => { mine = r.crew; follow(); render(); });
  }

  card.addEventListener("click", (e) => {
    const on = e.target.closest("#crew-on"), off = e.target.closest("#crew-off");
    if (!on && !off) return;
    e.target.disabled = true;
    let req;
    if (on) {
      const h = Number($("crew-hours").value);
      const body = h ? { shift_ends_at: new Date(Date.now() + h * 3600e3).toISOString() } : {};
      const unit = sel.value;
      localStorage.setItem("jw.unit", unit);
      req = J.post(`/api/v1/units/${unit}/crew`, body).then((r) => J.toastCrew(t("crew_signed_on", { unit: r.call_sign })));
    } else {
      req = J.api(`/api/v1/units/${mine.unit_id}/crew`, { method: "DELETE" }).then(() => J.toastCrew(t("crew_signed_off")));
    }
    req.catch((err) => J.toastCrew(J.errorText(err), true)).finally(load);
  });
  sel.addEventListener("change", render);

  J.toastCrew = (text, bad) => {
    const el = $("toast");
    el.textContent = text; el.hidden = false; el.classList.toggle("bad", !!bad);
    setTimeout(() => { el.hidden = true; }, bad ? 6000 : 3000);
  };

  J.api("/api/v1/me").then((me) => {
    if (!me.roles.includes("patrol_officer")) return;
    // the picker is filled by dispatch_unit.js: wait for its options
    const wait = () => (sel.options.length ? load() : setTimeout(wait, 100));
    wait();
  }).catch(() => {});
})();
