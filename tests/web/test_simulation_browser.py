"""The planner's simulation page in real Chromium against `jingwu demo --no-stream`: start a run, follow
its progress, read the report drawn in the page (figures, charts, map) in Chinese and in English; a bad
input shows its code. Screenshots: simulation-planner-{zh,en}.png."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from support import browser_login, demo_server

pytestmark = pytest.mark.browser


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, dict[str, str]]]:
    with demo_server(tmp_path_factory.mktemp("sim-demo"), "--no-stream") as srv:
        yield srv


def test_planner_runs_and_shows_the_report(server, browser, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    base, pw = server
    shots = Path(os.environ.get("JINGWU_SCREENSHOT_DIR") or tmp_path)
    shots.mkdir(parents=True, exist_ok=True)
    for lang, mean_label in (("zh", "平均响应"), ("en", "Mean response")):
        ctx = browser.new_context(viewport={"width": 1400, "height": 1800})
        page = browser_login(ctx, base, "analyst", pw["analyst"], "/simulation")
        if lang == "en":
            page.goto(f"{base}/lang/en")
            page.goto(f"{base}/simulation")
        errors: list[str] = []
        page.on("pageerror", lambda e: errors.append(str(e)))
        # bad input first: no units
        page.fill("input[name=units]", "0")
        page.click("#sim-run")
        page.wait_for_function("() => !document.getElementById('sim-error').hidden")
        assert page.get_attribute("#sim-error", "data-code") == "no_units"
        page.fill("input[name=units]", "30")
        page.fill("input[name=days]", "2")
        page.fill("input[name=calls_per_day]", "400")
        page.click("#sim-run")
        page.wait_for_function("() => document.getElementById('sim-report').getAttribute('data-status') === 'ready'",
                               timeout=120_000)
        text = page.locator("#sim-summary").inner_text()
        assert mean_label in text
        assert page.locator("#sim-summary thead th[data-policy]").count() == 3
        drawn = page.get_attribute("#sim-map", "data-drawn")
        assert drawn is not None and int(drawn) > 10
        assert page.evaluate("() => Chart.getChart('sim-hist') !== undefined")
        href = page.get_attribute("#sim-open", "href")
        assert href and href.endswith("/report")
        assert errors == []
        page.screenshot(path=str(shots / f"simulation-planner-{lang}.png"), full_page=True)
        ctx.close()
