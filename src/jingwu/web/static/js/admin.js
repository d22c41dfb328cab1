/* Organisation administration (/admin/*): one script for every tab. Data from /api/v1/admin/* (cookie
   session; writes carry the X-Jingwu-CSRF header); a failed write shows the API's error message. Maps draw
   our own roads (no tile server). */
(function () {
  "use strict";
  const root = document.getElementById("admin");
  const T = JSON.parse(document.getElementById("adm-texts").textContent);
  const zh = T.lang === "zh-CN";
  const tab = root.dataset.tab;
  const bbox = JSON.parse(root.dataset.bbox || "null");

  const t = (key, vars) => {
    let s = T["adm_" + key];
    if (s === undefined) s = key;
    if (vars) Object.keys(vars).forEach((k) => { s = s.split("{" + k + "}").join(String(vars[k])); });
    return s;
  };
  const esc = (s) => String(s == null ? "" : s).replace(/[&<>"']/g, (c) => "&#" + c.charCodeAt(0) + ";");
  const nameOf = (x) => (zh ? x.name : x.name_en || x.name);

  class ApiError extends Error {
    constructor(status, code, message) { super(message); this.status = status; this.code = code; }
  }
  async function api(path, method, body) {
    const headers = { Accept: "application/json" };
    const init = { method: method || "GET", credentials: "same-origin", headers: headers };
    if (init.method !== "GET") headers["X-Jingwu-CSRF"] = "1";
    if (body !== undefined) { headers["Content-Type"] = "application/json"; init.body = JSON.stringify(body); }
    const r = await fetch(path, init);
    if (r.status === 204) return null;
    let data = null;
    try { data = await r.json(); } catch (e) { data = null; }
    if (!r.ok) {
      const err = (data && data.error) || {};
      throw new ApiError(r.status, err.code || "http_" + r.status, err.message || r.statusText);
    }
    return data;
  }

  const msgEl = document.getElementById("adm-msg");
  function say(text, isError) {
    msgEl.textContent = text;
    msgEl.classList.toggle("error", !!isError);
    msgEl.hidden = false;
    msgEl.dataset.kind = isError ? "error" : "ok";
  }
  // the API's code, a localised explanation when there is one, and the API's own message (it names the detail)
  const fail = (e) => {
    const known = T["adm_err_" + e.code];
    say(t("error") + " [" + (e.code || "error") + "]" + (known ? " " + known : "") + ": " + e.message, true);
  };
  async function act(fn, okText) {
    try {
      const out = await fn();
      say(okText || t("saved"), false);
      await load();
      return out;
    } catch (e) {
      fail(e);
      return undefined;
    }
  }

  // ------------------------------------------------------------------ form helpers
  const num = (v) => (v === "" || v == null ? null : Number(v));
  function fill(form, obj) {
    Array.from(form.elements).forEach((el) => {
      if (!el.name || el.type === "file" || el.type === "checkbox" || el.type === "password") return;
      const v = obj[el.name];
      el.value = v == null ? "" : v;
    });
  }
  function readFile(input) {
    const f = input && input.files && input.files[0];
    if (!f) return Promise.resolve(undefined);
    return f.text().then((txt) => {
      try { return JSON.parse(txt); } catch (e) { throw new ApiError(0, "bad_file", t("bad_file", { why: e.message })); }
    });
  }
  function options(select, items, selected) {
    select.innerHTML = items.map((it) => '<option value="' + esc(it[0]) + '"' + (it[0] === selected ? " selected" : "") +
      ">" + esc(it[1]) + "</option>").join("");
  }
  const kindLabel = (k) => t("kind_" + k);
  const pill = (active) => '<span class="pill' + (active ? "" : " off") + '">' + (active ? t("active") : t("inactive")) + "</span>";

  // a position far from the served road network is warned about (not refused)
  async function checkPosition(form) {
    const warn = form.querySelector('[data-warn="position"]');
    if (!warn) return;
    const lon = num(form.elements.lon.value), lat = num(form.elements.lat.value);
    warn.hidden = true;
    if (lon == null || lat == null) return;
    try {
      const r = await fetch("/admin/position-check?lon=" + lon + "&lat=" + lat, { credentials: "same-origin" });
      const c = await r.json();
      if (c.far) {
        warn.textContent = c.distance_m == null ? t("off") : t("far", { d: Math.round(c.distance_m) });
        warn.hidden = false;
      }
    } catch (e) { /* the check is advisory */ }
  }
  document.querySelectorAll(".adm-form").forEach((form) => {
    if (form.elements.lon) ["change", "input"].forEach((ev) => form.elements.lon.addEventListener(ev, () => checkPosition(form)));
    if (form.elements.lat) ["change", "input"].forEach((ev) => form.elements.lat.addEventListener(ev, () => checkPosition(form)));
  });

  // ------------------------------------------------------------------ map
  let map = null, mapLayer = null;
  const ROAD = { motorway: [3, "#e8a0a0"], trunk: [2.6, "#f0b27a"], primary: [2.2, "#f5c98b"], secondary: [1.8, "#f7dc8c"] };
  function ensureMap() {
    const el = document.getElementById("adm-map");
    if (!el || map) return map;
    map = L.map(el, { preferCanvas: true, zoomSnap: 0.25 });
    map.attributionControl.setPrefix(false).addAttribution(zh ? "道路 © OpenStreetMap 贡献者 (ODbL)" : "Roads © OpenStreetMap contributors (ODbL)");
    L.control.scale({ imperial: false }).addTo(map);
    if (bbox) map.fitBounds([[bbox[1], bbox[0]], [bbox[3], bbox[2]]]); else map.setView([0, 0], 2);
    fetch("/api/v1/map/roads", { credentials: "same-origin" }).then((r) => (r.ok ? r.json() : null)).then((gj) => {
      if (!gj) return;
      L.geoJSON(gj, { style: (f) => { const s = ROAD[f.properties.highway] || [0.8, "#b8c0cc"]; return { weight: s[0], color: s[1], opacity: 0.9 }; },
        interactive: false }).addTo(map).bringToBack();
    }).catch(() => {});
    mapLayer = L.layerGroup().addTo(map);
    return map;
  }
  function draw(geojson, point, label) {
    ensureMap();
    mapLayer.clearLayers();
    let bounds = null;
    if (geojson) {
      const l = L.geoJSON(geojson, { style: { color: "#0b3d91", weight: 2, fillOpacity: 0.12 } }).addTo(mapLayer);
      bounds = l.getBounds();
    }
    if (point) {
      L.circleMarker([point[1], point[0]], { radius: 8, color: "#0b3d91", weight: 2, fillColor: "#fff", fillOpacity: 1 })
        .bindTooltip(label || "", { permanent: !!label, direction: "right" }).addTo(mapLayer);
      if (!bounds) bounds = L.latLngBounds([[point[1], point[0]], [point[1], point[0]]]);
    }
    if (bounds && bounds.isValid()) map.fitBounds(bounds.pad(0.3), { maxZoom: 16 });
    root.dataset.drawn = geojson ? "polygon" : point ? "point" : "none";
  }

  // ------------------------------------------------------------------ shared data
  let agencies = [];
  const byId = (id) => agencies.find((a) => a.id === id);
  async function loadAgencies() {
    if (T.canOrg === false) return;
    agencies = await api("/api/v1/admin/agencies");
  }
  const agencyName = (id) => { const a = byId(id); return a ? nameOf(a) : id ? id.slice(0, 8) : ""; };
  const stationItems = () => agencies.filter((a) => (a.kind === "station" || a.kind === "fire_station") && a.active)
    .map((a) => [a.id, nameOf(a) + " · " + a.code]);
  const agencyItems = (onlyActive) => agencies.filter((a) => !onlyActive || a.active)
    .map((a) => [a.id, "\u00a0".repeat(2 * (a.path.split("/").length - 3)) + nameOf(a) + " · " + a.code]);

  const rowsOr = (html, cols) => html || '<tr><td class="empty" colspan="' + cols + '">' + t("empty") + "</td></tr>";
  function rowButtons(x, extra) {
    return (extra || "") + '<button type="button" class="ghost" data-act="edit" data-id="' + x.id + '">' + t("edit") + "</button>" +
      (x.active ? '<button type="button" class="ghost" data-act="deactivate" data-id="' + x.id + '">' + t("deactivate") + "</button>"
                : '<button type="button" class="ghost" data-act="activate" data-id="' + x.id + '">' + t("activate") + "</button>") +
      '<button type="button" class="danger" data-act="delete" data-id="' + x.id + '">' + t("delete") + "</button>";
  }
  function onRowAction(container, base, items, label, onEdit) {
    container.addEventListener("click", (ev) => {
      const b = ev.target.closest("button[data-act]");
      if (!b) return;
      const x = items().find((i) => i.id === b.dataset.id);
      if (!x) return;
      const act_ = b.dataset.act;
      if (act_ === "edit") onEdit(x);
      else if (act_ === "deactivate" || act_ === "activate") act(() => api(base + "/" + x.id + "/" + act_, "POST"));
      else if (act_ === "delete") {
        if (window.confirm(t("confirm_delete", { what: label(x) }))) act(() => api(base + "/" + x.id, "DELETE"), t("deleted"));
      }
    });
  }

  // ------------------------------------------------------------------ agencies
  const TABS = {};
  TABS.agencies = {
    async load() {
      await loadAgencies();
      const tree = document.getElementById("agency-tree");
      const children = {};
      agencies.forEach((a) => { (children[a.parent_id || ""] = children[a.parent_id || ""] || []).push(a); });
      const rank = (a) => T.agency_kinds.indexOf(a.kind);
      Object.values(children).forEach((l) => l.sort((x, y) => rank(x) - rank(y) || x.code.localeCompare(y.code)));
      const ids = new Set(agencies.map((a) => a.id));
      const tops = agencies.filter((a) => !a.parent_id || !ids.has(a.parent_id));
      const topIds = new Set(tops.map((a) => a.id));  // the caller's own agency: edited, never switched off here
      const li = (a) => '<li data-code="' + esc(a.code) + '"><div class="row' + (a.active ? "" : " off") + '"><span class="kind">' + esc(kindLabel(a.kind)) +
        '</span><span class="grow">' + esc(nameOf(a)) + ' <span class="code">' + esc(a.code) + "</span></span>" + pill(a.active) +
        "<span>" + (topIds.has(a.id) ? rowButtons(a).replace(/<button type="button" class="(ghost|danger)" data-act="(deactivate|activate|delete)"[^>]*>[^<]*<\/button>/g, "")
                                     : rowButtons(a)) + "</span></div>" +
        ((children[a.id] || []).length ? "<ul>" + children[a.id].map(li).join("") + "</ul>" : "") + "</li>";
      tree.innerHTML = tops.map(li).join("");
      const form = document.getElementById("agency-form");
      if (!form.elements.id.value) options(document.getElementById("agency-parent"), agencyItems(true), form.elements.parent_id.value);
    },
    init() {
      const form = document.getElementById("agency-form");
      options(document.getElementById("agency-kind"), T.agency_kinds.map((k) => [k, kindLabel(k)]), "station");
      const reset = () => {
        form.elements.id.value = "";
        form.elements.parent_id.disabled = form.elements.kind.disabled = form.elements.code.disabled = false;
        document.getElementById("agency-form-title").textContent = t("new_agency");
      };
      form.addEventListener("reset", () => setTimeout(reset, 0));
      onRowAction(document.getElementById("agency-tree"), "/api/v1/admin/agencies", () => agencies, (a) => a.code, (a) => {
        fill(form, a);
        form.elements.parent_id.disabled = form.elements.kind.disabled = true;
        document.getElementById("agency-form-title").textContent = t("edit_agency") + " · " + a.code;
        checkPosition(form);
      });
      form.addEventListener("submit", (ev) => {
        ev.preventDefault();
        const f = form.elements, id = f.id.value;
        const body = { code: f.code.value.trim(), name: f.name.value.trim(), name_en: f.name_en.value.trim() || null,
                       lon: num(f.lon.value), lat: num(f.lat.value) };
        if (id) act(() => api("/api/v1/admin/agencies/" + id, "PATCH", body));
        else act(() => api("/api/v1/admin/agencies", "POST", Object.assign(body, { kind: f.kind.value, parent_id: f.parent_id.value || null })))
          .then((r) => { if (r) form.reset(); });
      });
    },
  };

  // ------------------------------------------------------------------ stations
  TABS.stations = {
    load: async function () {
      await loadAgencies();
      const rows = agencies.filter((a) => a.kind === "station" || a.kind === "fire_station");
      document.querySelector("#station-table tbody").innerHTML = rowsOr(rows.map((a) =>
        '<tr data-code="' + esc(a.code) + '" class="' + (a.active ? "" : "off") + '"><td>' + esc(a.code) + "</td><td>" + esc(nameOf(a)) +
        "</td><td>" + esc(kindLabel(a.kind)) + "</td><td>" + (a.lon != null ? a.lon.toFixed(5) + ", " + a.lat.toFixed(5) : t("none")) +
        "</td><td>" + (a.jurisdiction ? "✓" : t("none")) + "</td><td>" + pill(a.active) + "</td><td>" + rowButtons(a) + "</td></tr>").join(""), 7);
    },
    init() {
      const form = document.getElementById("station-form");
      ensureMap();
      const pick = (a) => {
        fill(form, a);
        form.elements.jurisdiction.value = "";
        document.getElementById("station-save").disabled = false;
        document.getElementById("station-form-title").textContent = t("edit_station") + " · " + a.code;
        document.querySelectorAll("#station-table tr").forEach((tr) => tr.classList.toggle("sel", tr.dataset.code === a.code));
        draw(a.jurisdiction, a.lon != null ? [a.lon, a.lat] : null, nameOf(a));
        checkPosition(form);
      };
      onRowAction(document.querySelector("#station-table tbody"), "/api/v1/admin/agencies",
        () => agencies, (a) => a.code, pick);
      map.on("click", (ev) => {
        if (!form.elements.id.value) return;
        form.elements.lon.value = ev.latlng.lng.toFixed(6);
        form.elements.lat.value = ev.latlng.lat.toFixed(6);
        const a = byId(form.elements.id.value);
        draw(a && a.jurisdiction, [ev.latlng.lng, ev.latlng.lat], a && nameOf(a));
        checkPosition(form);
      });
      form.addEventListener("submit", async (ev) => {
        ev.preventDefault();
        const f = form.elements, id = f.id.value;
        if (!id) return;
        try {
          const jur = await readFile(f.jurisdiction);
          const body = { name: f.name.value.trim(), name_en: f.name_en.value.trim() || null, lon: num(f.lon.value), lat: num(f.lat.value) };
          if (jur !== undefined) body.jurisdiction = jur;
          const a = await act(() => api("/api/v1/admin/agencies/" + id, "PATCH", body));
          if (a) pick(a);
        } catch (e) { fail(e); }
      });
    },
  };

  // ------------------------------------------------------------------ towns
  let towns = [];
  TABS.towns = {
    async load() {
      await loadAgencies();
      towns = await api("/api/v1/admin/towns");
      document.querySelector("#town-table tbody").innerHTML = rowsOr(towns.map((x) =>
        '<tr data-code="' + esc(x.code) + '" class="' + (x.active ? "" : "off") + '"><td>' + esc(x.code) + "</td><td>" + esc(nameOf(x)) +
        '</td><td class="num">' + x.population.toLocaleString(zh ? "zh-CN" : "en") + '</td><td class="num">' +
        (x.area_km2 != null ? x.area_km2.toFixed(2) : t("none")) + "</td><td>" + esc(agencyName(x.agency_id)) + "</td><td>" +
        pill(x.active) + "</td><td>" + rowButtons(x) + "</td></tr>").join(""), 7);
      const form = document.getElementById("town-form");
      options(document.getElementById("town-owner"), agencyItems(true), form.elements.agency_id.value);
    },
    init() {
      const form = document.getElementById("town-form");
      ensureMap();
      form.addEventListener("reset", () => setTimeout(() => {
        form.elements.id.value = "";
        document.getElementById("town-form-title").textContent = t("new_town");
      }, 0));
      onRowAction(document.querySelector("#town-table tbody"), "/api/v1/admin/towns", () => towns, (x) => x.code, (x) => {
        fill(form, x);
        form.elements.geometry.value = "";
        document.getElementById("town-form-title").textContent = t("edit_town") + " · " + x.code;
        document.querySelectorAll("#town-table tr").forEach((tr) => tr.classList.toggle("sel", tr.dataset.code === x.code));
        draw(x.geometry, null);
      });
      form.addEventListener("submit", async (ev) => {
        ev.preventDefault();
        const f = form.elements, id = f.id.value;
        try {
          const geometry = await readFile(f.geometry);
          const body = { code: f.code.value.trim(), name: f.name.value.trim(), name_en: f.name_en.value.trim() || null,
                         agency_id: f.agency_id.value, population: num(f.population.value),
                         population_note: f.population_note.value.trim() || null };
          if (geometry !== undefined) body.geometry = geometry;
          const x = await act(() => id ? api("/api/v1/admin/towns/" + id, "PATCH", body) : api("/api/v1/admin/towns", "POST", body));
          if (x) { draw(x.geometry, null); if (!id) form.reset(); }
        } catch (e) { fail(e); }
      });
    },
  };

  // ------------------------------------------------------------------ units
  let units = [];
  TABS.units = {
    async load() {
      await loadAgencies();
      units = await api("/api/v1/admin/units");
      document.querySelector("#unit-table tbody").innerHTML = rowsOr(units.map((u) =>
        '<tr data-call-sign="' + esc(u.call_sign) + '" class="' + (u.active ? "" : "off") + '"><td>' + esc(u.call_sign) + "</td><td>" +
        esc(t("unit_" + u.kind)) + "</td><td>" + esc(agencyName(u.agency_id)) + "</td><td>" + esc(T["adm_status_" + u.status] || u.status) +
        "</td><td>" + esc(t("mode_" + u.travel_mode)) + (u.travel_mode_set ? "" : ' <span class="off">(' + t("mode_auto_short") + ")</span>") +
        "</td><td>" + pill(u.active) + "</td><td>" + rowButtons(u) + "</td></tr>").join(""), 7);
      const form = document.getElementById("unit-form");
      options(document.getElementById("unit-station"), stationItems(), form.elements.station_id.value);
    },
    init() {
      const form = document.getElementById("unit-form");
      options(document.getElementById("unit-kind"), T.unit_kinds.map((k) => [k, t("unit_" + k)]), "patrol_car");
      const modeOptions = () => {
        const k = form.elements.kind.value;
        const auto = k === "foot_patrol" ? "foot" : k === "motorbike" ? "motorbike" : "car";
        const cur = form.elements.travel_mode.value;
        options(document.getElementById("unit-mode"), [["", t("mode_auto", { mode: t("mode_" + auto) })]]
          .concat(T.travel_modes.map((m) => [m, t("mode_" + m)])), cur);
      };
      modeOptions();
      form.elements.kind.addEventListener("change", modeOptions);
      form.addEventListener("reset", () => setTimeout(() => {
        form.elements.id.value = "";
        document.getElementById("unit-form-title").textContent = t("new_unit");
        modeOptions();
      }, 0));
      onRowAction(document.querySelector("#unit-table tbody"), "/api/v1/admin/units", () => units, (u) => u.call_sign, (u) => {
        fill(form, Object.assign({}, u, { station_id: u.agency_id, travel_mode: u.travel_mode_set || "" }));
        modeOptions();
        form.elements.travel_mode.value = u.travel_mode_set || "";
        document.getElementById("unit-form-title").textContent = t("edit_unit") + " · " + u.call_sign;
      });
      form.addEventListener("submit", (ev) => {
        ev.preventDefault();
        const f = form.elements, id = f.id.value;
        const body = { call_sign: f.call_sign.value.trim(), kind: f.kind.value, station_id: f.station_id.value,
                       travel_mode: f.travel_mode.value || null };
        act(() => id ? api("/api/v1/admin/units/" + id, "PATCH", body) : api("/api/v1/admin/units", "POST", body))
          .then((r) => { if (r && !id) form.reset(); });
      });
    },
  };

  // ------------------------------------------------------------------ users
  let users = [];
  const roleLabel = (r) => (T.roles.find((x) => x[0] === r) || [r, r])[1];
  TABS.users = {
    async load() {
      try { await loadAgencies(); } catch (e) { agencies = []; }
      users = await api("/api/v1/admin/users");
      document.querySelector("#user-table tbody").innerHTML = rowsOr(users.map((u) =>
        '<tr data-username="' + esc(u.username) + '" class="' + (u.active ? "" : "off") + '"><td>' + esc(u.username) + "</td><td>" +
        esc(u.display_name) + "</td><td>" + esc(agencyName(u.agency_id)) + "</td><td>" + u.roles.map((r) => esc(roleLabel(r))).join("、") +
        "</td><td>" + pill(u.active) + "</td><td>" +
        '<button type="button" class="ghost" data-act="edit" data-id="' + u.id + '">' + t("edit") + "</button>" +
        (u.active ? '<button type="button" class="ghost" data-act="disable" data-id="' + u.id + '">' + t("disable") + "</button>"
                  : '<button type="button" class="ghost" data-act="enable" data-id="' + u.id + '">' + t("enable") + "</button>") +
        '<button type="button" class="ghost" data-act="password" data-id="' + u.id + '">' + t("reset_pw") + "</button></td></tr>").join(""), 6);
      const form = document.getElementById("user-form");
      options(document.getElementById("user-agency"), agencyItems(true), form.elements.agency_id.value);
    },
    init() {
      const form = document.getElementById("user-form");
      document.getElementById("user-roles").insertAdjacentHTML("beforeend", T.roles.map((r) =>
        '<label><input type="checkbox" name="role" value="' + r[0] + '"> ' + esc(r[1]) + "</label>").join(""));
      const secret = document.getElementById("user-secret");
      const setNew = (isNew) => {
        form.elements.username.disabled = !isNew;
        form.querySelector("[data-new-only]").hidden = !isNew;
      };
      form.addEventListener("reset", () => setTimeout(() => {
        form.elements.id.value = "";
        setNew(true);
        document.getElementById("user-form-title").textContent = t("new_user");
      }, 0));
      document.querySelector("#user-table tbody").addEventListener("click", (ev) => {
        const b = ev.target.closest("button[data-act]");
        if (!b) return;
        const u = users.find((x) => x.id === b.dataset.id);
        if (!u) return;
        if (b.dataset.act === "edit") {
          fill(form, u);
          setNew(false);
          form.querySelectorAll('input[name="role"]').forEach((c) => { c.checked = u.roles.includes(c.value); });
          document.getElementById("user-form-title").textContent = t("edit_user") + " · " + u.username;
        } else if (b.dataset.act === "disable" || b.dataset.act === "enable") {
          act(() => api("/api/v1/admin/users/" + u.id + "/" + b.dataset.act, "POST"));
        } else if (b.dataset.act === "password" && window.confirm(t("confirm_reset", { what: u.username }))) {
          act(() => api("/api/v1/admin/users/" + u.id + "/password", "POST", {})).then((r) => {
            if (r && r.temporary_password) { secret.textContent = t("temp_password", { what: u.username, pw: r.temporary_password }); secret.hidden = false; }
          });
        }
      });
      form.addEventListener("submit", (ev) => {
        ev.preventDefault();
        const f = form.elements, id = f.id.value;
        const roles = Array.from(form.querySelectorAll('input[name="role"]:checked')).map((c) => c.value);
        if (id) {
          act(() => api("/api/v1/admin/users/" + id, "PATCH", { display_name: f.display_name.value.trim(), roles: roles, agency_id: f.agency_id.value }));
        } else {
          const a = byId(f.agency_id.value);
          act(() => api("/api/v1/admin/users", "POST", { username: f.username.value.trim(), display_name: f.display_name.value.trim(),
            password: f.password.value, agency_code: a ? a.code : "", roles: roles })).then((r) => { if (r) form.reset(); });
        }
      });
    },
  };

  // ------------------------------------------------------------------ devices (dispatch's tab)
  let devices = [];
  TABS.devices = {
    async load() {
      await loadAgencies();
      devices = await api("/api/v1/admin/devices");
      document.querySelector("#device-table tbody").innerHTML = rowsOr(devices.map((d) =>
        '<tr data-code="' + esc(d.code) + '" class="' + (d.active ? "" : "off") + '"><td>' + esc(d.code) + "</td><td>" + esc(d.name) +
        "</td><td>" + esc(agencyName(d.agency_id)) + "</td><td>" + d.lon.toFixed(5) + ", " + d.lat.toFixed(5) + "</td><td>" +
        (d.online ? t("yes") : t("no")) + "</td><td>" + pill(d.active) + "</td><td>" + rowButtons(d) + "</td></tr>").join(""), 7);
      const form = document.getElementById("device-form");
      options(document.getElementById("device-agency"), agencyItems(true), form.elements.agency_id.value);
      ensureMap();
      mapLayer.clearLayers();
      devices.forEach((d) => L.circleMarker([d.lat, d.lon], { radius: 7, color: d.active ? "#b3261e" : "#8a93a0", weight: 2,
        fillColor: "#fff", fillOpacity: 1 }).bindTooltip(d.code + " · " + d.name).addTo(mapLayer));
    },
    init() {
      const form = document.getElementById("device-form");
      const secret = document.getElementById("device-secret");
      ensureMap().on("click", (ev) => {
        form.elements.lon.value = ev.latlng.lng.toFixed(6);
        form.elements.lat.value = ev.latlng.lat.toFixed(6);
        checkPosition(form);
      });
      form.addEventListener("reset", () => setTimeout(() => {
        form.elements.id.value = "";
        form.elements.code.disabled = false;
        document.getElementById("device-form-title").textContent = t("new_device");
      }, 0));
      onRowAction(document.querySelector("#device-table tbody"), "/api/v1/admin/devices", () => devices, (d) => d.code, (d) => {
        fill(form, d);
        form.elements.mqtt_profile.value = d.payload_format === "plain" ? "plain" : d.signs ? "signed" : "json";
        form.elements.code.disabled = true;
        document.getElementById("device-form-title").textContent = t("edit_device") + " · " + d.code;
        checkPosition(form);
      });
      form.addEventListener("submit", (ev) => {
        ev.preventDefault();
        const f = form.elements, id = f.id.value;
        const body = { name: f.name.value.trim(), agency_id: f.agency_id.value, lon: num(f.lon.value), lat: num(f.lat.value),
                       heartbeat_seconds: num(f.heartbeat_seconds.value) || 60,
                       signs: f.mqtt_profile.value === "signed", payload_format: f.mqtt_profile.value === "plain" ? "plain" : "json" };
        if (id) act(() => api("/api/v1/admin/devices/" + id, "PATCH", body));
        else act(() => api("/api/v1/admin/devices", "POST", Object.assign(body, { code: f.code.value.trim() }))).then((r) => {
          if (r) {
            secret.textContent = t("device_key", { what: r.code, key: r.key }) + " · " + t("mqtt_secret", { secret: r.mqtt_secret });
            secret.hidden = false; form.reset();
          }
        });
      });
    },
  };

  const page = TABS[tab];
  async function load() {
    try {
      await page.load();
      root.dataset.status = "ready";
    } catch (e) {
      fail(e);
      root.dataset.status = "error";
    }
  }
  page.init();
  load();
})();
