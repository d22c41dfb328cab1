/* The board's legend and side panels collapse, so they never hide incidents: the legend folds to a small
   button (folded by default), each side panel folds to a thin strip and the map takes the room (Leaflet
   follows the window's resize event). The choices are remembered on this device. */
(function () {
  "use strict";
  const J = window.JW || {};
  const t = J.t || ((k) => k);
  const board = document.getElementById("board");
  const legend = document.getElementById("legend");
  if (!board) return;
  const css = document.createElement("style");
  css.textContent = `
    .legend.folded { padding: 0; }
    .legend.folded > :not(.fold-btn) { display: none; }
    .legend .fold-btn { border: 0; background: transparent; font-size: 12px; cursor: pointer; padding: 4px 8px; color: #0b3d91; text-align: left; }
    .dsp-board.left-folded { grid-template-columns: 28px 1fr 400px; }
    .dsp-board.right-folded { grid-template-columns: 340px 1fr 28px; }
    .dsp-board.left-folded.right-folded { grid-template-columns: 28px 1fr 28px; }
    .dsp-board.left-folded .dsp-left > :not(.panel-fold), .dsp-board.right-folded .dsp-right > :not(.panel-fold) { display: none; }
    .panel-fold { position: sticky; top: 0; z-index: 5; width: 100%; border: 0; border-bottom: 1px solid #dde2e8; background: #f0f3f7;
      cursor: pointer; font-size: 12px; padding: 3px 0; color: #34495e; }
    .dsp-board.left-folded .dsp-left .panel-fold, .dsp-board.right-folded .dsp-right .panel-fold { height: 100%; }`;
  document.head.appendChild(css);
  const store = (k, v) => { try { if (v === undefined) return localStorage.getItem(k); localStorage.setItem(k, v); } catch (e) { /* private mode */ } return null; };
  const relayout = () => window.dispatchEvent(new Event("resize"));

  if (legend) {
    const btn = document.createElement("button");
    btn.type = "button";
    btn.className = "fold-btn";
    btn.id = "legend-toggle";
    const fold = (on) => {
      legend.classList.toggle("folded", on);
      btn.textContent = (on ? "▸ " : "▾ ") + t("legend_toggle");
      btn.setAttribute("aria-expanded", on ? "false" : "true");
      store("jw.legend.folded", on ? "1" : "0");
    };
    // the map script rewrites the legend's content: keep the button first
    new MutationObserver(() => { if (legend.firstChild !== btn) legend.insertBefore(btn, legend.firstChild); })
      .observe(legend, { childList: true });
    legend.insertBefore(btn, legend.firstChild);
    btn.addEventListener("click", () => fold(!legend.classList.contains("folded")));
    fold(store("jw.legend.folded") !== "0");
  }

  [["left", ".dsp-left", "◂", "▸"], ["right", ".dsp-right", "▸", "◂"]].forEach(([side, sel, open, closed]) => {
    const panel = board.querySelector(sel);
    if (!panel) return;
    const btn = document.createElement("button");
    btn.type = "button";
    btn.className = "panel-fold";
    btn.id = side + "-panel-toggle";
    btn.title = t("panel_toggle");
    const fold = (on) => {
      board.classList.toggle(side + "-folded", on);
      btn.textContent = on ? closed : open;
      btn.setAttribute("aria-expanded", on ? "false" : "true");
      store("jw.panel." + side, on ? "1" : "0");
      relayout();
    };
    panel.insertBefore(btn, panel.firstChild);
    btn.addEventListener("click", () => fold(!board.classList.contains(side + "-folded")));
    fold(store("jw.panel." + side) === "1");
  });
})();
