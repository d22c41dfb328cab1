"""The simulation report as one HTML file: the figures, charts (Chart.js, vendored) and the coverage map,
drawn by ``web/static/js/simulation_report.js`` from the run's JSON inlined in the page; both languages'
strings are inlined too (Chinese first, an English switch). A standalone file inlines the two scripts as
well, so it opens from disk without a server; the planner's copy loads them from ``/static``."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from jinja2 import Environment, FileSystemLoader, select_autoescape

from jingwu.web.i18n import DEFAULT_LANG, LANGS, catalog

WEB = Path(__file__).resolve().parents[1] / "web"
_env = Environment(loader=FileSystemLoader(str(WEB / "templates")), autoescape=select_autoescape(["html"]))


def _json(obj: Any) -> str:
    """JSON safe inside a <script> block (no ``</script>`` can close it early)."""
    return json.dumps(obj, ensure_ascii=False, separators=(",", ":")).replace("<", "\\u003c")


def strings(lang: str) -> dict[str, str]:
    """The report's strings (``sim_*`` and the language switch) in ``lang``."""
    cat = catalog(lang)
    return {k: v for k, v in cat.items() if k.startswith("sim_") or k == "lang_switch"}


def render(result: dict[str, Any], lang: str = DEFAULT_LANG, inline: bool = True) -> str:
    lang = lang if lang in LANGS else DEFAULT_LANG
    i18n: dict[str, Any] = {"lang": lang, **{code: strings(code) for code in LANGS}}
    static = WEB / "static"
    return _env.get_template("simulation/report_file.html").render(
        lang=lang, title=i18n[lang]["sim_report_title"], switch=i18n[lang]["lang_switch"],
        css=(static / "css" / "simulation.css").read_text(encoding="utf-8"),
        data_json=_json(result), i18n_json=_json(i18n), inline=inline,
        chart_js=(static / "vendor" / "chartjs" / "chart.umd.js").read_text(encoding="utf-8").replace(
            "</script", "<\\/script") if inline else "",
        report_js=(static / "js" / "simulation_report.js").read_text(encoding="utf-8") if inline else "")
