/* Dispatch board: address search in the call-taker form (after dispatch_board_pane.js).
   Typing in the address field asks GET /api/v1/geocode (debounced, the map centre as `near`); the
   results form a listbox driven by the keyboard (↓ ↑ Enter Esc) or the mouse. Choosing one places the
   call there (B.setPick: lon/lat of the form, the pin on the map) and writes its name as the address. */
(function () {
  "use strict";
  const J = window.JW, t = J.t, esc = J.esc, B = J.board;
  const input = document.getElementById("f-address");
  const list = document.getElementById("f-geo-list");
  if (!input || !list) return;
  const DEBOUNCE_MS = 250;
  let timer = null, seq = 0, items = [], active = -1, lastQuery = "";

  const label = (h) => (J.zh ? h.name_zh || h.name : h.name_en || h.name);
  const cjk = (s) => /[\u3400-\u9fff]/.test(s);

  function close() {
    list.hidden = true; list.innerHTML = ""; items = []; active = -1;
    input.setAttribute("aria-expanded", "false"); input.removeAttribute("aria-activedescendant");
  }
  function render() {
    if (!items.length) {
      list.innerHTML = `<li class="none" role="presentation">${esc(t("geo_none"))}</li>`;
    } else {
      list.innerHTML = items.map((h, k) => `<li role="option" id="geo-opt-${k}" data-k="${k}" aria-selected="${k === active}"
          class="${k === active ? "on" : ""}"><span class="gk gk-${h.kind}">${esc(t("geo_kind_" + h.kind))}</span>
          <span class="gn">${esc(label(h))}</span>${h.note ? `<span class="muted gnote">${esc(h.note)}</span>` : ""}
          <span class="gc" title="${esc(t("geo_confidence"))}">${Math.round(h.confidence * 100)}%</span></li>`).join("");
    }
    list.hidden = false;
    input.setAttribute("aria-expanded", "true");
    if (active >= 0) input.setAttribute("aria-activedescendant", "geo-opt-" + active);
    else input.removeAttribute("aria-activedescendant");
  }
  function search(q) {
    const mine = ++seq;  // answers to older keystrokes are dropped
    const c = B.map.getCenter();
    const url = `/api/v1/geocode?limit=8&q=${encodeURIComponent(q)}&near=${c.lng.toFixed(5)},${c.lat.toFixed(5)}`;
    J.api(url).then((r) => {
      if (mine !== seq || input.value.trim() !== q) return;
      items = r.results; active = items.length ? 0 : -1; render();
    }).catch(() => { if (mine === seq) close(); });
  }
  function choose(k) {
    const h = items[k];
    if (!h) return;
    lastQuery = input.value = label(h);
    B.setPick(h.lon, h.lat);
    document.getElementById("f-loc-text").textContent += " · " + label(h);
    B.map.setView([h.lat, h.lon], Math.max(B.map.getZoom(), 16));
    close();
  }

  input.addEventListener("input", () => {
    const q = input.value.trim();
    clearTimeout(timer);
    if (q === lastQuery) return;
    if (!q || (!cjk(q) && q.length < 2)) { close(); return; }
    timer = setTimeout(() => search(q), DEBOUNCE_MS);
  });
  input.addEventListener("keydown", (e) => {
    if (list.hidden) { if (e.key === "ArrowDown" && input.value.trim()) search(input.value.trim()); return; }
    if (e.key === "ArrowDown" || e.key === "ArrowUp") {
      e.preventDefault();
      if (!items.length) return;
      active = (active + (e.key === "ArrowDown" ? 1 : items.length - 1)) % items.length;
      render();
      const el = document.getElementById("geo-opt-" + active);
      if (el) el.scrollIntoView({ block: "nearest" });
    } else if (e.key === "Enter") {
      if (active >= 0) { e.preventDefault(); choose(active); }
    } else if (e.key === "Escape") {
      e.preventDefault(); close();
    }
  });
  list.addEventListener("mousedown", (e) => {
    const li = e.target.closest("li[data-k]");
    if (li) { e.preventDefault(); choose(Number(li.dataset.k)); }
  });
  input.addEventListener("blur", () => setTimeout(close, 150));
})();
