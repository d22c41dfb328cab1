/* Dispatch board, part 2 of 3 (after dispatch_board_map.js).
   Owns: the right-hand pane: its tabs (showPane), the selected incident (select,
   detail with recommendations, duplicates, escalation, SMS location link, caller
   details) and the call-taker form (incident types, picking the place on the map,
   submit). Reads JW.board from part 1; calls refresh, toast and dispatchUnit of
   part 3 (dispatch_board.js) only in response to events, when all parts are loaded. */
(function () {
  "use strict";
  const J = window.JW, t = J.t, esc = J.esc, B = J.board;
  const { $, state, perms, map, mapEl, incById, unitById, incIcon } = B;

  // ------------------------------------------------------------------ selected incident
  function select(id, pan) {
    state.selected = id;
    state.recs = null;
    showPane("detail");
    document.querySelectorAll("#queue li").forEach((li) => li.classList.toggle("sel", li.dataset.id === id));
    Object.entries(state.incLayers).forEach(([k, m]) => m.setIcon(incIcon(incById(k), k === id)));
    const i = incById(id);
    if (pan && i && i.lon != null) map.panTo([i.lat, i.lon]);
    loadDetail(true);
  }

  /* Reload the selected incident when it changed on the board, else at most every 5 s (its
     recommendations depend on every unit's availability, which changes all the time). */
  let detailSig = "", detailAt = 0;
  function maybeReloadDetail() {
    const i = incById(state.selected);
    const sig = i ? [i.status, i.priority, i.level, i.lon, i.duplicate, i.units.join(","), i.location_status,
                     i.transfer && i.transfer.id].join("|") : "gone";
    if (sig !== detailSig || Date.now() - detailAt > 5000) loadDetail(false);
  }

  let detailSeq = 0;
  function loadDetail(fresh) {
    const id = state.selected, seq = ++detailSeq;
    const bi = incById(id);
    detailSig = bi ? [bi.status, bi.priority, bi.level, bi.lon, bi.duplicate, bi.units.join(","), bi.location_status,
                      bi.transfer && bi.transfer.id].join("|") : "gone";
    detailAt = Date.now();
    if (fresh) $("detail").innerHTML = `<p class="muted">${esc(t("loading"))}</p>`;
    const inc = J.api(`/api/v1/incidents/${id}`);
    const recs = inc.then((d) => (perms.dispatch && d.status !== "closed" && d.status !== "merged" && d.snapped_lon != null
      ? J.api(`/api/v1/incidents/${id}/recommendations?limit=8`).catch((e) => ({ error: e })) : null));
    Promise.all([inc, recs]).then(([d, r]) => {
      if (seq !== detailSeq) return;
      state.detail = d; state.recs = r;
      renderDetail();
    }).catch((e) => { if (seq === detailSeq) $("detail").innerHTML = `<p class="err">${esc(J.errorText(e))}</p>`; });
  }

  const NEXT_LEVEL = { station: "branch", branch: "city" };
  const STAND_DOWN_FROM = new Set(["dispatched", "acknowledged", "en_route"]);
  function shiftExtras(a, u) {  // ADR 0018: the crew, arrival flags and the stand-down button of an assignment
    return (u && u.crew && u.crew.length ? ` <span class="muted">· ${esc(u.crew.join("、"))}</span>` : "") +
      (a.arrival_flags || []).map((f) => `<span class="tag aflag">${esc(t("arrival_" + f))}</span>`).join("") +
      (B.perms.dispatch && u && STAND_DOWN_FROM.has(u.status)
        ? ` <button type="button" class="link standdown" data-standdown="${u.id}">${esc(t("alert_stood_down"))}</button>` : "");
  }
  function renderDetail() {
    const d = state.detail, r = state.recs;
    const units = d.assignments.filter((a) => a.active).map((a) => {
      const u = unitById(a.unit_id);
      return `<li><i class="dot sm" style="background:${J.UNIT_COLORS[u ? u.status : ""] || "#999"}"></i>
        <b>${esc(u ? u.call_sign : a.unit_id.slice(0, 8))}</b> ${esc(u ? J.unitStatus(u.status) : "")}
        <span class="muted">${esc(t("dispatched_at"))} ${J.clock(a.dispatched_at)}${a.eta_seconds ? " · ETA " + J.mmss(a.eta_seconds) : ""}</span>${shiftExtras(a, u)}</li>`;
    }).join("");
    const flags = Object.entries(d.flags || {}).map(([k, v]) => `<span class="tag flag">${esc(t("flag_" + k))}${v === true ? "" : " " + esc(v)}</span>`).join("");
    const dups = d.duplicates.filter((p) => p.state === "proposed").map((p) => {
      const other = p.incident_id === d.id ? p.candidate_id : p.incident_id;
      const o = incById(other);
      return `<li class="dupprop"><div>${esc(t("dup_text", { number: o ? o.number : other.slice(0, 8),
          meters: Math.round(p.distance_m), seconds: Math.round(p.seconds_apart) }))}</div>
        <div class="btns"><button type="button" class="btn sm" data-merge="${p.incident_id}" data-into="${p.candidate_id}">${esc(t("merge_btn"))}</button>
          <button type="button" class="btn sm ghost" data-split="${p.incident_id}" data-cand="${p.candidate_id}">${esc(t("split_btn"))}</button></div></li>`;
    }).join("");
    let recHtml = "";
    if (!perms.dispatch) recHtml = "";
    else if (d.status === "closed" || d.status === "merged") recHtml = "";
    else if (d.location_status && d.location_status !== "located" && B.locateHtml) recHtml = "";  // the locate box says it
    else if (d.snapped_lon == null) recHtml = `<p class="warn">${esc(t("no_location_hint"))}</p>`;
    else if (r && r.error) recHtml = `<p class="err">${esc(J.errorText(r.error))}</p>`;
    else if (r) {
      const need = Object.entries(r.required).map(([k, n]) => `${esc(J.kind(k))}×${n}`).join("、");
      recHtml = `<p class="runcard">${esc(t("run_card"))}: ${need} <span class="muted">(${esc(r.run_card)})</span></p>` +
        (r.units.length ? `<table class="recs" id="recs"><thead><tr><th>${esc(t("col_unit"))}</th><th>ETA</th><th>${esc(t("col_reasons"))}</th><th></th></tr></thead><tbody>` +
        r.units.map((u, k) => `<tr class="${u.matches_run_card ? "" : "offcard"}${k === 0 ? " top" : ""}" data-unit="${u.unit_id}">
          <td><b>${esc(u.call_sign)}</b><div class="muted">${esc(J.kind(u.kind))}</div></td>
          <td class="eta">${J.mmss(u.eta_seconds)}<div><span class="src src-${u.position_source}">${esc(t("src_" + u.position_source))}</span></div></td>
          <td class="reasons">${u.reasons.map((x) => esc(reasonText(x))).join("<br>")}</td>
          <td>${u.in_scope === false ? `<span class="muted out-of-scope">${esc(t("ask_command"))}</span>` : `<button type="button" class="btn primary dispatch" data-dispatch="${u.unit_id}" data-inc="${d.id}">${esc(t("dispatch_btn"))}</button>`}</td>
        </tr>`).join("") + "</tbody></table>" : `<p class="warn">${esc(t("no_available_unit"))}</p>`);
    }
    const tl = d.timeline.slice().reverse().map((e) => `<li><time>${J.clock(e.at)}</time> ${esc(t("ev_" + e.kind))}
      ${e.detail && e.detail.call_sign ? `<b>${esc(e.detail.call_sign)}</b>` : ""}
      ${e.detail && e.detail.level ? esc(J.levelName(e.detail.level)) : ""}
      ${e.detail && e.detail.text ? `“${esc(e.detail.text)}”` : ""}
      ${e.kind === "geocoded" ? `${esc(e.detail.name)} · ${esc(t(e.detail.used ? "geo_used" : "geo_not_used"))} ${esc(t("geo_confidence"))} ${Math.round(e.detail.confidence * 100)}%` : ""}
      <span class="muted">${esc(e.actor)}</span></li>`).join("");
    $("detail").dataset.incident = d.id;
    $("detail").dataset.status = d.status;
    const canEsc = perms.dispatch && NEXT_LEVEL[d.level] && d.status !== "closed" && d.status !== "merged";
    $("detail").innerHTML = `
      <div class="dhead" style="--c:${J.PRIORITY_COLORS[d.priority]}">
        <span class="prio p${d.priority}">P${d.priority}</span>
        <div><h2>${esc(J.zh ? d.type_name : (incById(d.id) || {}).type_name_en || d.type_name)}</h2>
          <div class="muted">${esc(d.number)} · ${esc(J.channel(d.channel))} · ${J.dateTime(d.received_at)}</div></div>
        <span class="status st-${d.status}">${esc(J.incStatus(d.status))}</span>
      </div>
      <dl class="facts">
        <dt>${esc(t("f_address"))}</dt><dd>${esc(d.address || "—")}${d.accuracy_m ? ` <span class="muted">±${Math.round(d.accuracy_m)} m</span>` : ""}</dd>
        <dt>${esc(t("f_summary"))}</dt><dd>${esc(d.summary || "—")}</dd>
        <dt>${esc(t("level"))}</dt><dd>${esc(J.levelName(d.level))}</dd>
        ${flags || d.injuries || d.deaths ? `<dt>${esc(t("f_flags"))}</dt><dd>${flags}</dd>` : ""}
        ${units ? `<dt>${esc(t("assigned"))}</dt><dd><ul class="asg">${units}</ul></dd>` : ""}
      </dl>
      <div class="actions">
        ${canEsc ? `<button type="button" class="btn warn-btn" id="btn-escalate">⬆ ${esc(t("escalate_to", { level: J.levelName(NEXT_LEVEL[d.level]) }))}</button>` : ""}
        ${perms.take_calls && d.status !== "closed" && d.status !== "merged" ? `<button type="button" class="btn ${d.snapped_lon == null ? "primary" : "ghost"}" id="btn-link">✉ ${esc(t("sms_link_btn"))}</button>` : ""}
        ${perms.personal ? `<button type="button" class="btn ghost" id="btn-caller">${esc(t("caller_btn"))}</button>` : ""}
      </div>
      <div id="callerbox">${callerHtml(state.callers[d.id])}</div>
      <div id="linkbox">${linkHtml(state.links[d.id])}</div>
      ${B.locateHtml ? B.locateHtml(d) : ""}
      ${dups ? `<h3>${esc(t("duplicates"))}</h3><ul class="dups">${dups}</ul>` : ""}
      ${recHtml ? `<h3>${esc(t(units ? "recommendations_more" : "recommendations"))}</h3>${recHtml}` : ""}
      <h3>${esc(t("timeline"))}</h3><ol class="timeline">${tl}</ol>`;
  }

  function callerHtml(c) {
    return c ? `<div class="linkbox"><div class="muted">${esc(t("caller_audited"))}</div>
      <div class="caller">${esc(c.name || "—")} · <a href="tel:${esc(c.phone || "")}">${esc(c.phone || "—")}</a></div></div>` : "";
  }
  function linkHtml(l) {
    return l ? `<div class="linkbox"><div class="muted">${esc(t("sms_read_out"))}</div>
      <p class="sms" id="sms-text">${esc(l.sms_text)}</p>
      <div><a href="${esc(l.url)}" target="_blank" rel="noopener" id="sms-url">${esc(l.url)}</a></div>
      <div class="muted">${esc(t("link_expires"))} ${J.clock(l.expires_at)}</div>
      <button type="button" class="btn sm ghost" id="btn-copy">${esc(t("copy"))}</button></div>` : "";
  }

  const REASONS = [
    [/^(car|motorbike|bicycle|foot) ETA (\d+) min (\d+) s$/, (m) => t("r_eta_mode", { mode: t("mode_" + m[1]), m: m[2], s: m[3] })],
    [/^no (car|motorbike|bicycle|foot) route$/, (m) => t("r_no_route_mode", { mode: t("mode_" + m[1]) })],
    [/^stale position \((\d+) min old\).*$/, (m) => t("r_stale", { m: m[1] })],
    [/^no usable position.*$/, () => t("r_station")],
    [/^(\w+) required by run card.*$/, (m) => t("r_runcard", { kind: J.kind(m[1]) })],
    [/^(\w+) not on the run card$/, (m) => t("r_offcard", { kind: J.kind(m[1]) })],
    [/^own jurisdiction$/, () => t("r_own")],
    [/^outside your agency$/, () => t("r_outside_scope")],
    [/^busy: (\w+)$/, (m) => t("r_busy", { status: J.unitStatus(m[1]) })],
  ];
  function reasonText(x) {
    for (const [re, f] of REASONS) { const m = x.match(re); if (m) return f(m); }
    return x;
  }

  $("detail").addEventListener("click", (e) => {
    const d = state.detail;
    const b = e.target.closest("button");
    if (!b || !d) return;
    if (b.dataset.dispatch) { B.dispatchUnit(b.dataset.inc, b.dataset.dispatch, b); return; }
    if (b.dataset.merge) {
      b.disabled = true;
      J.post(`/api/v1/incidents/${b.dataset.merge}/merge`, { into: b.dataset.into })
        .then(() => { B.toast(t("merged_ok")); if (state.selected === b.dataset.merge) state.selected = b.dataset.into; B.refresh(); })
        .catch((err) => { B.toast(J.errorText(err), true); B.refresh(); });
      return;
    }
    if (b.dataset.split) {
      b.disabled = true;
      J.post(`/api/v1/incidents/${b.dataset.split}/split`, { candidate: b.dataset.cand })
        .then(() => { B.toast(t("split_ok")); B.refresh(); }).catch((err) => { B.toast(J.errorText(err), true); B.refresh(); });
      return;
    }
    if (b.id === "btn-escalate") {
      const reason = window.prompt(t("escalate_reason"));
      if (!reason || !reason.trim()) return;
      J.post(`/api/v1/incidents/${d.id}/escalate`, { level: NEXT_LEVEL[d.level], reason: reason.trim() })
        .then(() => { B.toast(t("escalated_ok")); B.refresh(); }).catch((err) => B.toast(J.errorText(err), true));
      return;
    }
    if (b.id === "btn-link") {
      b.disabled = true;
      J.post(`/api/v1/incidents/${d.id}/location-link`).then((l) => {
        state.links[d.id] = l;
        $("linkbox").innerHTML = linkHtml(l);
        loadDetail(false);  // the timeline shows the link as sent
      }).catch((err) => B.toast(J.errorText(err), true)).finally(() => { b.disabled = false; });
      return;
    }
    if (b.id === "btn-caller") {
      const reason = window.prompt(t("caller_reason"), t("caller_reason_default"));
      if (!reason || !reason.trim()) return;
      J.api(`/api/v1/incidents/${d.id}?personal=true&reason=${encodeURIComponent(reason.trim())}`).then((x) => {
        state.callers[d.id] = x.caller || {};
        $("callerbox").innerHTML = callerHtml(state.callers[d.id]);
      }).catch((err) => B.toast(J.errorText(err), true));
      return;
    }
    if (b.id === "btn-copy") {
      navigator.clipboard && navigator.clipboard.writeText($("sms-text").textContent).then(() => B.toast(t("copied")));
    }
  });

  // ------------------------------------------------------------------ right-hand tabs and intake
  function showPane(name) {
    document.querySelectorAll(".rtabs button").forEach((b) => b.classList.toggle("on", b.dataset.pane === name));
    document.querySelectorAll(".dsp-right .pane").forEach((p) => { p.hidden = p.id !== "pane-" + name; });
    const picking = name === "intake";
    mapEl.classList.toggle("picking", picking);
    $("pickhint").hidden = !picking;
  }
  document.querySelectorAll(".rtabs button").forEach((b) => b.addEventListener("click", () => showPane(b.dataset.pane)));

  let pickMarker = null;
  const form = $("intake");
  let idemKey = crypto.randomUUID ? crypto.randomUUID() : String(Date.now()) + Math.random();
  if (form) {
    J.api("/api/v1/incident-types").then((types) => {
      state.types = types;
      const cats = {};
      types.forEach((x) => { (cats[x.category] = cats[x.category] || []).push(x); });
      $("f-type").innerHTML = `<option value="">${esc(t("f_choose_type"))}</option>` + Object.entries(cats).map(([c, xs]) =>
        `<optgroup label="${esc(t("cat_" + c))}">` + xs.map((x) => `<option value="${x.code}">${esc(J.zh ? x.name_zh : x.name_en)} · P${x.priority}</option>`).join("") + "</optgroup>").join("");
    });
    map.on("click", (e) => {
      if ($("pane-intake").hidden) return;
      setPick(e.latlng.lng, e.latlng.lat);
    });
    $("f-loc-clear").addEventListener("click", () => setPick(null, null));
    form.addEventListener("input", () => { idemKey = crypto.randomUUID ? crypto.randomUUID() : String(Date.now()) + Math.random(); });
    form.addEventListener("submit", (e) => {
      e.preventDefault();
      const f = new FormData(form);
      const num = (k) => (f.get(k) === "" || f.get(k) == null ? null : Number(f.get(k)));
      const body = {
        type_code: f.get("type_code"), channel: f.get("channel"), lon: num("lon"), lat: num("lat"), accuracy_m: num("accuracy_m"),
        address: f.get("address") || null, summary: f.get("summary") || null, caller_name: f.get("caller_name") || null,
        caller_phone: f.get("caller_phone") || null, handling: f.get("handling") || null,
        flags: { weapon: f.get("weapon") === "on", trapped: f.get("trapped") === "on", ongoing: f.get("ongoing") === "on",
                 injuries: num("injuries") || 0, deaths: num("deaths") || 0 },
      };
      if (body.lon == null && !body.address) { msg(t("err_need_location"), true); return; }
      $("f-submit").disabled = true;
      J.post("/api/v1/calls", body, { "Idempotency-Key": idemKey }).then((r) => {
        const text = t("intake_ok", { number: r.number, priority: r.priority }) + (r.duplicates.length ? " " + t("intake_dups", { n: r.duplicates.length }) : "");
        msg(text); B.toast(text);
        form.reset(); setPick(null, null);
        idemKey = crypto.randomUUID ? crypto.randomUUID() : String(Date.now()) + Math.random();
        return B.refresh().then(() => select(r.incident_id, true));
      }).catch((err) => msg(J.errorText(err), true)).finally(() => { $("f-submit").disabled = false; });
    });
  }
  function msg(text, bad) { const m = $("f-msg"); m.textContent = text; m.classList.toggle("err", !!bad); }
  function setPick(lon, lat) {
    $("f-lon").value = lon == null ? "" : lon.toFixed(6);
    $("f-lat").value = lat == null ? "" : lat.toFixed(6);
    $("f-loc-text").textContent = lon == null ? t("f_no_location") : `${t("f_location")}: ${lon.toFixed(5)}, ${lat.toFixed(5)}`;
    $("f-loc-clear").hidden = lon == null;
    $("f-loc").classList.toggle("set", lon != null);
    if (pickMarker) { map.removeLayer(pickMarker); pickMarker = null; }
    if (lon != null) pickMarker = L.marker([lat, lon], { icon: L.divIcon({ className: "", html: '<div class="pick-pin"></div>', iconSize: [24, 24], iconAnchor: [12, 24] }) }).addTo(map);
    idemKey = crypto.randomUUID ? crypto.randomUUID() : String(Date.now()) + Math.random();
  }

  Object.assign(B, { select: select, maybeReloadDetail: maybeReloadDetail, showPane: showPane, setPick: setPick });
})();
