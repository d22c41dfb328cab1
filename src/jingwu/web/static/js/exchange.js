// Exchange pages: every form[data-api] posts its fields as JSON to its API address (cookie session + the
// X-Jingwu-CSRF header that a cross-site form cannot send); reloads on success, shows the error otherwise.
(function () {
  "use strict";
  var err = document.getElementById("xc-error");
  Array.prototype.forEach.call(document.querySelectorAll("form[data-api]"), function (f) {
    f.addEventListener("submit", function (ev) {
      ev.preventDefault();
      var body = {};
      Array.prototype.forEach.call(f.querySelectorAll("input[name], select[name]"), function (el) {
        body[el.name] = el.value;
      });
      fetch(f.getAttribute("data-api"), {
        method: "POST", credentials: "same-origin",
        headers: {"Content-Type": "application/json", "X-Jingwu-CSRF": "1"}, body: JSON.stringify(body)
      }).then(function (r) {
        if (r.ok) { location.reload(); return; }
        return r.json().then(function (j) {
          err.textContent = j.error ? j.error.code + ": " + j.error.message : String(r.status);
          err.hidden = false;
        });
      });
    });
  });
})();
