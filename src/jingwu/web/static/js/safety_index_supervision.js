// Supervision page: assign, record actions and close tickets through the API (cookie session +
// the X-Jingwu-CSRF header that a cross-site form cannot send). Reloads on success.
(function () {
  "use strict";
  var err = document.getElementById("sup-error");
  Array.prototype.forEach.call(document.querySelectorAll("#tickets form"), function (f) {
    f.addEventListener("submit", function (ev) {
      ev.preventDefault();
      var id = f.closest("tr").getAttribute("data-ticket");
      var input = f.querySelector("input");
      var body = {};
      body[input.name] = input.value;
      fetch("/api/v1/safety-index/tickets/" + encodeURIComponent(id) + "/" + f.getAttribute("data-op"), {
        method: "POST", credentials: "same-origin",
        headers: {"Content-Type": "application/json", "X-Jingwu-CSRF": "1"}, body: JSON.stringify(body)
      }).then(function (r) {
        if (r.ok) { location.reload(); return; }
        return r.json().then(function (j) { err.textContent = j.error ? j.error.message : r.status; err.hidden = false; });
      });
    });
  });
})();
