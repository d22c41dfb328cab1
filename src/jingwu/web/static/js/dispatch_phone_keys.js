/* Keyboard-only call intake on the board (ADR 0024): Alt+N (or F2) opens a new call with the focus in the
   type picker; Tab walks the form; Ctrl+Enter (⌘+Enter) stores the call from any field of the form (the board then shows
   it for dispatch; Alt+N again starts the next call in an empty form). */
(function () {
  "use strict";
  const J = window.JW;
  const form = document.getElementById("intake");
  if (!form) return;
  const tab = document.getElementById("rt-intake");

  function newCall() {
    if (tab) tab.click();
    setTimeout(() => { if (J.typePicker) J.typePicker.focus(); else form.querySelector("#f-type-q").focus(); }, 0);
  }
  document.addEventListener("keydown", (e) => {
    if ((e.altKey && !e.ctrlKey && !e.metaKey && (e.key === "n" || e.key === "N" || e.code === "KeyN")) || e.key === "F2") {
      e.preventDefault();
      newCall();
    }
  });
  form.addEventListener("keydown", (e) => {
    if (e.key === "Enter" && (e.ctrlKey || e.metaKey)) {
      e.preventDefault();
      if (form.reportValidity()) form.requestSubmit();
    }
  });
})();
