"""``jingwu index validate``: the method checked on the deployment's own history, one HTML report with
Chart.js and the data inlined; too short a history is refused with a clear message."""

from __future__ import annotations

import json
import re
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

from jingwu.cli import app as cli_app
from jingwu.platform.container import Container
from jingwu.safety_index import synthetic
from jingwu.safety_index.domain import category_for_code
from jingwu.safety_index.jobs import _tz
from jingwu.safety_index.services.ingest import IncidentFact, record_incidents
from safety_index.si_support import add_towns, square
from support import Org


def _history(c: Container, org: Org, days: int) -> None:
    tz = _tz(c)
    ids = add_towns(c, org, [(f"V{i}", f"验{i}", square(104 + i / 100, 30.6, 0.01), 10_000 * (i + 1), "a")
                             for i in range(3)])
    towns = list(ids.values())
    h = synthetic.generate(np.array([1e4, 2e4, 3e4]), days, 12.0, seed=2)
    d0 = date(2024, 1, 1)
    t0 = datetime(d0.year, d0.month, d0.day, tzinfo=tz).astimezone(UTC)
    record_incidents([IncidentFact(f"v:{k}", t0 + timedelta(days=int(d), minutes=int(mi)), towns[int(t)], str(code),
                                   category_for_code(str(code)), 0, 0)
                      for k, (t, d, mi, code) in enumerate(zip(h.town, h.day, h.minute, h.type_code, strict=True))],
                     uow=c.uow(), tz=tz)


@pytest.fixture
def cli_env(container: Container, monkeypatch: pytest.MonkeyPatch) -> object:
    from jingwu.platform.settings import get_settings

    monkeypatch.setenv("JINGWU_DATA_DIR", str(container.settings.data_dir))
    get_settings.cache_clear()
    yield
    get_settings.cache_clear()


def test_validate_writes_one_html_report(container: Container, org: Org, tmp_path: Path, cli_env: object) -> None:
    _history(container, org, 500)
    out = tmp_path / "report.html"
    res = CliRunner().invoke(cli_app, ["index", "validate", "--out", str(out)])
    assert res.exit_code == 0, res.output
    assert "method v2: 3 towns x 410 days" in res.output and "power in the surge week x1.5" in res.output
    page = out.read_text(encoding="utf-8")
    assert "Chart.js v4" in page  # Chart.js inlined, no CDN
    assert "<script src" not in page and "https://" not in page.split("<script>")[0]
    data = json.loads(re.search(r'<script id="data" type="application/json">(.*?)</script>', page, re.S).group(1))
    assert data["method_version"] == "v2" and len(data["by_town"]) == 3
    assert {m["month"] for m in data["by_month"]} >= {"2024-04", "2025-05"}
    assert [p["factor"] for p in data["power"]] == [1.5, 2.0, 3.0]
    assert data["power"][2]["power_in_week_pct"] >= data["power"][0]["power_in_week_pct"]
    assert sum(data["calibration"]["p_hist"]) == data["calibration"]["p_town_days"] > 0
    assert data["overall"]["either_pct"] < 1.0
    assert "验0" in page and "校准 Calibration" in page


def test_validate_refuses_a_short_history(container: Container, org: Org, tmp_path: Path, cli_env: object) -> None:
    _history(container, org, 60)
    res = CliRunner().invoke(cli_app, ["index", "validate", "--out", str(tmp_path / "r.html")])
    assert res.exit_code == 2 and "at least 98 days" in res.output
    assert not (tmp_path / "r.html").exists()
