/* Public page of the SMS location link (no login): one button sends the
   caller's position once to POST /api/v1/public/location/{token}. */
(function () {
  "use strict";
  const T = JSON.parse(document.getElementById("dsp-texts").textContent);
  const page = document.getElementById("linkpage");
  const btn = document.getElementById("send");
  const out = document.getElementById("result");
  const label = btn.textContent;

  function show(key, ok) {
    out.hidden = false;
    out.textContent = T["dsp_" + key];
    out.className = "result " + (ok ? "ok" : "bad");
    page.dataset.status = key;
  }

  function send(pos) {
    const c = pos.coords;
    return fetch("/api/v1/public/location/" + encodeURIComponent(page.dataset.token), {
      method: "POST", headers: { "Content-Type": "application/json" }, credentials: "omit",
      body: JSON.stringify({ lon: c.longitude, lat: c.latitude, accuracy_m: c.accuracy != null ? Math.min(c.accuracy, 100000) : null }),
    }).then((r) => {
      if (r.status === 204) { show("link_ok", true); btn.hidden = true; return; }
      return r.json().catch(() => ({})).then((d) => {
        const code = d && d.error && d.error.code;
        if (code === "invalid_link") { show("link_expired", false); btn.hidden = true; } else { show("link_failed", false); }
      });
    });
  }

  btn.addEventListener("click", () => {
    if (!navigator.geolocation) { show("link_unsupported", false); return; }
    btn.disabled = true;
    btn.textContent = T.dsp_link_sending;
    out.hidden = true;
    navigator.geolocation.getCurrentPosition((pos) => {
      send(pos).catch(() => show("link_failed", false)).finally(() => { btn.disabled = false; btn.textContent = label; });
    }, (err) => {
      show(err && err.code === 1 ? "link_denied" : "link_failed", false);
      btn.disabled = false; btn.textContent = label;
    }, { enableHighAccuracy: true, timeout: 20000, maximumAge: 0 });
  });
})();
