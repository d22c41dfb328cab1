/* The call-taker's incident type picker (ADR 0024): a combobox above the type <select> that finds a type by
   its Chinese name, its pinyin (daoqie) or initials (dq), its code or English name. ↓ ↑ move, Enter chooses
   (the <select> takes the value and the focus goes to the next field), Esc closes. The <select> stays as
   the browsable list and the form's value; it is kept out of the Tab order (the picker is the keyboard path). */
(function () {
  "use strict";
  const J = window.JW, t = J.t, esc = J.esc;
  const $ = (id) => document.getElementById(id);
  const input = $("f-type-q"), list = $("f-type-list"), sel = $("f-type"), form = $("intake");
  if (!input || !list || !sel || !form) return;
  sel.tabIndex = -1;
  let types = [], hits = [], active = -1;
  const MAX = 12;

  J.api("/api/v1/incident-types").then((ts) => {
    types = ts.map((x, i) => Object.assign({ order: i, en: (x.name_en || "").toLowerCase() }, x));
    input.dataset.ready = "1";
  }).catch(() => {});

  const norm = (s) => String(s || "").toLowerCase().replace(/ü/g, "v").replace(/[\s'’·]/g, "");

  /* Lower is better: code, Chinese name, initials and pinyin prefixes, then anywhere, then English. */
  function score(x, q) {
    if (x.code.startsWith(q)) return 0;
    const zi = x.name_zh.indexOf(q);
    if (zi === 0) return 1;
    if (x.initials.startsWith(q) || x.pinyin.startsWith(q)) return 2;
    if (zi > 0) return 3;
    if (x.initials.includes(q) || x.pinyin.includes(q)) return 4;
    if (x.en.includes(q)) return 5;
    return -1;
  }
  function search(raw) {
    const q = norm(raw);
    if (!q) return types.slice();
    return types.map((x) => [score(x, q), x]).filter((p) => p[0] >= 0)
      .sort((a, b) => a[0] - b[0] || a[1].order - b[1].order).map((p) => p[1]);
  }
  const label = (x) => J.zh ? x.name_zh : x.name_en;

  function open(raw) {
    hits = search(raw);
    active = hits.length ? 0 : -1;
    const shown = hits.slice(0, MAX);
    list.innerHTML = shown.length ? shown.map((x, i) =>
      `<li role="option" id="f-type-opt-${i}" data-code="${esc(x.code)}" aria-selected="${i === active}"${i === active ? ' class="on"' : ""}>
        <span class="prio p${x.priority}">P${x.priority}</span><span class="gn">${esc(label(x))}</span>
        <span class="gc">${esc(x.initials)}</span></li>`).join("") +
      (hits.length > MAX ? `<li class="none">${esc(t("ct_matches", { n: hits.length }))}</li>` : "")
      : `<li class="none">${esc(t("ct_no_match"))}</li>`;
    list.hidden = false;
    input.setAttribute("aria-expanded", "true");
    mark();
  }
  function close() {
    list.hidden = true;
    input.setAttribute("aria-expanded", "false");
    input.removeAttribute("aria-activedescendant");
  }
  function mark() {
    list.querySelectorAll("li[data-code]").forEach((li, i) => {
      li.classList.toggle("on", i === active);
      li.setAttribute("aria-selected", String(i === active));
      if (i === active) { input.setAttribute("aria-activedescendant", li.id); li.scrollIntoView({ block: "nearest" }); }
    });
  }
  function choose(code, moveOn) {
    const x = types.find((y) => y.code === code);
    if (!x) return;
    sel.value = code;
    sel.dispatchEvent(new Event("change", { bubbles: true }));
    input.value = label(x);
    input.dataset.code = code;
    close();
    if (moveOn) {  // on to the next field of the call
      const next = form.querySelector("select[name=channel]");
      if (next) next.focus();
    }
  }

  input.addEventListener("input", () => { delete input.dataset.code; open(input.value); });
  input.addEventListener("focus", () => { if (!input.dataset.code) open(input.value); });
  input.addEventListener("blur", () => setTimeout(close, 150));
  input.addEventListener("keydown", (e) => {
    const n = Math.min(hits.length, MAX);
    if (e.key === "ArrowDown" || e.key === "ArrowUp") {
      e.preventDefault();
      if (list.hidden) { open(input.value); return; }
      if (!n) return;
      active = (active + (e.key === "ArrowDown" ? 1 : n - 1)) % n;
      mark();
    } else if (e.key === "Enter" && !e.ctrlKey && !e.metaKey) {
      e.preventDefault();  // Enter chooses; it never submits the form half-filled
      if (!list.hidden && active >= 0 && hits[active]) choose(hits[active].code, true);
    } else if (e.key === "Escape") {
      if (!list.hidden) { e.preventDefault(); e.stopPropagation(); close(); }
    }
  });
  list.addEventListener("mousedown", (e) => {
    const li = e.target.closest("li[data-code]");
    if (li) { e.preventDefault(); choose(li.dataset.code, true); }
  });
  sel.addEventListener("change", () => {
    const x = types.find((y) => y.code === sel.value);
    if (x && input.dataset.code !== x.code) { input.value = label(x); input.dataset.code = x.code; }
  });
  form.addEventListener("reset", () => { input.value = ""; delete input.dataset.code; close(); });

  J.typePicker = { search: search, focus: () => { input.focus(); input.select(); } };
})();
