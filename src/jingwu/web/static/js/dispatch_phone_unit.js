/* The officer's phone (the /unit page), on top of dispatch_unit.js (ADR 0024):
   - a tap made without network (status or feedback) is queued in
     localStorage (jw.tapq) with its own time `at` and replayed in order when the network is back, and the page
     shows the queued steps as done (the last order seen, with the queued taps applied);
   - a new order rings (Web Audio, unlocked by the first tap on the page), vibrates and shows a banner
     until it is acknowledged or the banner is tapped;
   - J.liveStream: the event stream with a watchdog (the server sends `ping` every 15 s; 40 s of silence
     means a dead link) and reconnects with exponential backoff (1 s → 30 s, jittered).
   Loaded after dispatch_common.js and before dispatch_unit.js; it wraps J.api / J.post. */
(function () {
  "use strict";
  const J = window.JW, t = J.t, esc = J.esc;
  const QKEY = "jw.tapq";
  const TAP = /^\/api\/v1\/units\/([^/]+)\/(status|feedback)$/;
  const ORDER = /^\/api\/v1\/units\/([^/]+)\/assignment$/;
  const rawApi = J.api;
  const lastGet = {};  // path -> last answer, shown (with the queued taps) while offline
  let replaying = false;

  // ------------------------------------------------------------------ the offline queue
  const load = () => { try { return JSON.parse(localStorage.getItem(QKEY) || "[]"); } catch (e) { return []; } };
  const save = (q) => { localStorage.setItem(QKEY, JSON.stringify(q)); showBar(); markQueued(); };
  const isNetworkError = (e) => !(e instanceof J.ApiError);
  const offline = () => navigator.onLine === false;

  function bar() {
    let el = document.getElementById("netbar");
    if (!el) {
      el = document.createElement("div");
      el.id = "netbar"; el.className = "netbar"; el.setAttribute("role", "status"); el.hidden = true;
      const root = document.getElementById("unitview");
      root.insertBefore(el, root.firstChild);
    }
    return el;
  }
  function showBar(state) {
    const el = bar(), n = load().length;
    const off = state === "offline" || offline();
    el.dataset.queued = String(n);
    el.dataset.state = off ? "offline" : (state || (n ? "sending" : "online"));
    if (!off && !n && state !== "lost") { el.hidden = true; return; }
    el.hidden = false;
    el.classList.toggle("off", off || state === "lost");
    el.textContent = (off ? t("ph_offline") : state === "lost" ? t("ph_reconnecting") : t("ph_sending")) +
      (n ? " · " + t("ph_queued", { n: n }) : "");
  }

  /* The buttons of queued steps say so (class "queued"), whatever dispatch_unit.js last drew. */
  function markQueued() {
    const q = load().filter((i) => i.body.status).map((i) => i.body.status);
    document.querySelectorAll("#ubtns button[data-status]").forEach((b) => {
      const on = q.includes(b.dataset.status) || (b.dataset.status === "feedback" && load().some((i) => !i.body.status));
      if (b.classList.contains("queued") !== on) b.classList.toggle("queued", on);
    });
  }
  const btns = document.getElementById("ubtns");
  if (btns && window.MutationObserver) new MutationObserver(markQueued).observe(btns, { childList: true, subtree: true });

  function enqueue(path, body) {
    const q = load();
    q.push({ path: path, body: body, queued_at: new Date().toISOString() });
    save(q);
  }

  /* Replay in order; a refused tap (4xx) is dropped and told, a network error stops and waits. */
  async function replay() {
    if (replaying || offline()) return;
    let q = load();
    if (!q.length) return;
    replaying = true;
    showBar("sending");
    let sent = 0;
    try {
      while (q.length) {
        const item = q[0];
        try {
          await rawApi(item.path, { method: "POST", body: item.body });
          sent += 1;
        } catch (e) {
          if (isNetworkError(e)) break;
          toast(t("ph_replay_refused", { what: label(item), why: J.errorText(e) }), true);
        }
        q = load(); q.shift(); save(q);
      }
    } finally {
      replaying = false;
      showBar();
      if (sent) toast(t("ph_replayed", { n: sent }));
      window.dispatchEvent(new Event("jw:refresh"));
    }
  }
  const label = (item) => item.body.status ? J.unitStatus(item.body.status) : t("btn_feedback");

  /* The last order seen with the queued taps applied, so the buttons move on while offline. */
  function withQueue(path, data) {
    const m = ORDER.exec(path);
    if (!m || !data) return data;
    const d = JSON.parse(JSON.stringify(data));
    load().forEach((item) => {
      const k = TAP.exec(item.path);
      if (!k || k[1] !== m[1]) return;
      if (k[2] === "status") {
        d.unit.status = item.body.status;
        if (d.assignment) d.assignment[item.body.status + "_at"] = item.body.at;
      } else {
        d.unit.status = "available";
        if (d.assignment) d.assignment.feedback_at = item.body.at;
      }
      d.queued = true;
    });
    return d;
  }

  async function api(path, opts) {
    opts = opts || {};
    const method = opts.method || "GET";
    if (method === "POST" && TAP.test(path)) {
      const body = Object.assign({}, opts.body);
      const at = body.at || new Date().toISOString();  // the tap's own time, sent only if the tap is queued:
      // a live tap is stamped by the server on receipt, so a phone with a fast clock cannot spoil it
      if (offline() || load().length) { enqueue(path, Object.assign(body, { at: at })); replay(); return { queued: true }; }
      try {
        return await rawApi(path, Object.assign({}, opts, { body: body }));
      } catch (e) {
        if (!isNetworkError(e)) throw e;
        enqueue(path, Object.assign(body, { at: at })); showBar("offline");
        return { queued: true };
      }
    }
    if (method === "GET") {
      if (offline() && lastGet[path] !== undefined) return withQueue(path, lastGet[path]);
      try {
        const d = await rawApi(path, opts);
        lastGet[path] = d;
        if (ORDER.test(path)) { ring(d); return withQueue(path, d); }
        return d;
      } catch (e) {
        if (isNetworkError(e) && lastGet[path] !== undefined) return withQueue(path, lastGet[path]);
        throw e;
      }
    }
    return rawApi(path, opts);
  }
  // ------------------------------------------------------------------ the route's ETA at the top of the order
  const ROUTE = /^\/api\/v1\/incidents\/[^/]+\/route\?unit_id=/;
  const MOVING = ["dispatched", "acknowledged", "en_route"];
  function etaBox() {
    let el = document.getElementById("order-eta");
    const order = document.getElementById("order");
    if (!el && order) {
      el = document.createElement("div");
      el.id = "order-eta"; el.className = "ucard ueta"; el.hidden = true;
      order.parentNode.insertBefore(el, order.nextSibling);
    }
    return el;
  }
  function showEta(r) {
    const el = etaBox();
    if (!el) return;
    if (!r) { el.hidden = true; return; }
    const arrive = new Date(Date.now() + r.seconds * 1000).toISOString();
    el.innerHTML = `<b>${esc(t("eta"))} ${J.mmss(r.seconds)}</b> · ${esc(t("ph_eta_line", { clock: J.clock(arrive), km: (r.meters / 1000).toFixed(1) }))}`;
    el.dataset.seconds = String(Math.round(r.seconds));
    el.hidden = false;
  }
  const root = document.getElementById("unitview");
  if (root && window.MutationObserver) {
    new MutationObserver(() => { if (!MOVING.includes(root.dataset.unitStatus)) showEta(null); })
      .observe(root, { attributes: true, attributeFilter: ["data-unit-status"] });
  }
  const routeApi = async (path, opts) => {
    try { const r = await api(path, opts); if (ROUTE.test(path)) showEta(r); return r; }
    catch (e) { if (ROUTE.test(path)) showEta(null); throw e; }
  };

  J.api = routeApi;
  J.post = (path, body, headers) => api(path, { method: "POST", body: body, headers: headers });

  // ------------------------------------------------------------------ new order: sound, vibration, banner
  let audio = null, seen = null, repeat = null;
  function unlock() {
    if (audio) return;
    const Ctx = window.AudioContext || window.webkitAudioContext;
    if (!Ctx) return;
    audio = new Ctx();
    const g = audio.createGain(); g.gain.value = 0; g.connect(audio.destination);  // a silent start unlocks it
    const o = audio.createOscillator(); o.connect(g); o.start(); o.stop(audio.currentTime + 0.01);
    document.documentElement.dataset.audio = "unlocked";
  }
  ["pointerdown", "keydown", "touchstart"].forEach((ev) => document.addEventListener(ev, unlock, { once: false, passive: true }));

  function beep() {
    if (!audio) return false;
    if (audio.state === "suspended") audio.resume();
    const now = audio.currentTime;
    [0, 0.35, 0.7].forEach((dt, i) => {
      const o = audio.createOscillator(), g = audio.createGain();
      o.type = "square"; o.frequency.value = i % 2 ? 660 : 880;
      g.gain.setValueAtTime(0.0001, now + dt);
      g.gain.exponentialRampToValueAtTime(0.35, now + dt + 0.02);
      g.gain.exponentialRampToValueAtTime(0.0001, now + dt + 0.28);
      o.connect(g); g.connect(audio.destination); o.start(now + dt); o.stop(now + dt + 0.3);
    });
    return true;
  }

  function banner() {
    let el = document.getElementById("neworder");
    if (!el) {
      el = document.createElement("button");
      el.type = "button"; el.id = "neworder"; el.className = "neworder"; el.hidden = true;
      el.addEventListener("click", () => dismiss());
      document.body.appendChild(el);
    }
    return el;
  }
  function dismiss() {
    banner().hidden = true;
    clearInterval(repeat); repeat = null;
  }
  function alertOrder(d) {
    const inc = d.incident || {}, a = d.assignment || {};
    const el = banner();
    el.innerHTML = `<b>${esc(t("ph_new_order"))}</b> <span class="prio p${inc.priority}">P${inc.priority}</span>
      ${esc(inc.type_name || "")}<small>${esc(inc.address || "")}${a.eta_seconds ? " · " + esc(t("eta")) + " " + J.mmss(a.eta_seconds) : ""}</small>
      <small class="tapnote">${esc(t("ph_tap_to_close"))}</small>`;
    el.hidden = false;
    el.dataset.assignment = a.id || "";
    const rang = beep();
    el.dataset.sound = rang ? "played" : "locked";
    if (navigator.vibrate) navigator.vibrate([400, 200, 400, 200, 400]);
    clearInterval(repeat);
    repeat = setInterval(() => { beep(); if (navigator.vibrate) navigator.vibrate([300, 150, 300]); }, 20000);
  }
  function ring(d) {
    if (!d || !d.unit) return;
    const a = d.assignment;
    if (a && d.unit.status === "dispatched") {
      const key = d.unit.id + "|" + a.id;
      if (seen !== key) { seen = key; alertOrder(d); }
    } else if (!banner().hidden) {
      dismiss();
    }
  }

  // ------------------------------------------------------------------ the live stream with watchdog and backoff
  /* onChange(event) for each change; onState("live" | "lost"). A reconnect after a loss calls onState("live")
     again, so the page refetches what it missed. */
  J.liveStream = function (onChange, onState) {
    let es = null, delay = 1000, dog = null, timer = null;
    const SILENCE = (window.JW_STREAM_SILENCE_MS || 40000);
    function arm() { clearTimeout(dog); dog = setTimeout(() => restart(), SILENCE); }
    function open() {
      timer = null;
      es = new EventSource("/api/v1/stream");
      arm();
      es.onopen = () => {
        delay = 1000; arm(); showBar(); document.documentElement.dataset.stream = "live"; onState("live"); replay();
      };
      es.addEventListener("ping", arm);
      es.addEventListener("change", (ev) => { arm(); onChange(ev); });
      es.onerror = () => restart();
    }
    function restart(now) {
      clearTimeout(dog);
      if (es) { es.close(); es = null; }
      onState("lost"); showBar(offline() ? "offline" : "lost");
      if (timer) clearTimeout(timer);
      const wait = now ? 0 : delay * (0.8 + Math.random() * 0.4);
      delay = Math.min(delay * 2, 30000);
      timer = setTimeout(open, wait);
      document.documentElement.dataset.stream = "lost";
    }
    window.addEventListener("online", () => { delay = 1000; restart(true); });
    window.addEventListener("offline", () => { showBar("offline"); });
    open();
    return { restart: restart };
  };

  function toast(text, bad) {
    const el = document.getElementById("toast");
    if (!el) return;
    el.textContent = text; el.hidden = false; el.classList.toggle("bad", !!bad);
    clearTimeout(toast.timer);
    toast.timer = setTimeout(() => { el.hidden = true; }, bad ? 8000 : 3000);
  }

  window.addEventListener("online", () => { showBar(); replay(); });
  window.addEventListener("offline", () => showBar("offline"));
  document.addEventListener("DOMContentLoaded", () => { showBar(); replay(); });
  if (document.readyState !== "loading") { showBar(); replay(); }
  setInterval(() => { if (load().length) replay(); }, 15000);
})();
