// Notifications page: the retry button posts to the platform API (cookie session + CSRF header) and reloads.
(function () {
  "use strict";
  var texts = JSON.parse(document.getElementById("ntf-texts").textContent || "{}");
  var msg = document.getElementById("ntf-msg");
  function show(text) { msg.textContent = text; msg.hidden = false; }
  document.querySelectorAll("button.ntf-retry").forEach(function (b) {
    b.addEventListener("click", function () {
      b.disabled = true;
      fetch("/api/v1/admin/notifications/" + encodeURIComponent(b.dataset.id) + "/retry",
            {method: "POST", credentials: "same-origin", headers: {"X-Jingwu-CSRF": "1"}})
        .then(function (r) { return r.json().then(function (body) { return [r.ok, body]; }); })
        .then(function (res) {
          if (res[0]) { show(texts.done); window.location.reload(); }
          else { b.disabled = false; show(texts.failed + ": " + ((res[1].error || {}).message || "")); }
        })
        .catch(function () { b.disabled = false; show(texts.failed); });
    });
  });
  document.getElementById("notifications").dataset.ready = "1";
})();
