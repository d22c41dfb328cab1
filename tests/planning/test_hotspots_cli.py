"""``jingwu plan hotspots``: layers and tables written, bad files refused with exit 2."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import typer
from typer.testing import CliRunner

from jingwu.planning.cli import hotspots_cmd
from planning.test_hotspots import _incidents

app = typer.Typer()
app.command("hotspots")(hotspots_cmd)
app.command("other")(lambda: None)
runner = CliRunner()


def _csv(path: Path) -> Path:
    with path.open("w", newline="", encoding="utf-8") as fh:
        w = csv.writer(fh)
        w.writerow(["time", "lon", "lat", "type"])
        for i, inc in enumerate(_incidents()):
            # half with an offset, half as naive local time
            t = inc.at.isoformat() if i % 2 else inc.at.replace(tzinfo=None).isoformat(sep=" ")
            w.writerow([t, inc.lon, inc.lat, "theft"])
    return path


def test_hotspots_files_and_json(tmp_path: Path) -> None:
    src = _csv(tmp_path / "inc.csv")
    res = runner.invoke(app, ["hotspots", "--incidents", str(src), "--days", "fri", "--hours", "20-22",
                              "--out", str(tmp_path / "out"), "--tz", "Asia/Shanghai"])
    assert res.exit_code == 0, res.output
    assert "hot 99 %" in res.stdout
    gj = json.loads((tmp_path / "out" / "hotspots.geojson").read_text())
    assert gj["type"] == "FeatureCollection" and {"gi_z", "q", "density_km2", "class"} <= set(
        gj["features"][0]["properties"])
    how = list(csv.DictReader((tmp_path / "out" / "hour_of_week.csv").open()))
    assert len(how) == 168 and sum(int(r["incidents"]) for r in how) == 750
    assert int(how[4 * 24 + 21]["incidents"]) >= 40
    js = runner.invoke(app, ["hotspots", "--incidents", str(src), "--days", "fri", "--hours", "20-22", "--json",
                             "--tz", "Asia/Shanghai"])
    body = json.loads(js.stdout)
    assert body["summary"]["correction"] == "Benjamini-Hochberg FDR"
    assert body["significant"] and all(c["q"] <= 0.10 for c in body["significant"])


def test_bad_files(tmp_path: Path) -> None:
    bad = tmp_path / "bad.csv"
    bad.write_text("time,lon,lat\nyesterday,113.9,22.5\n")
    res = runner.invoke(app, ["hotspots", "--incidents", str(bad)])
    assert res.exit_code == 2 and "error [invalid_time]" in res.stderr
    bad.write_text("when,lon,lat\n2026-01-01T00:00:00+08:00,113.9,22.5\n")
    res = runner.invoke(app, ["hotspots", "--incidents", str(bad)])
    assert res.exit_code == 2 and "error [missing_column]" in res.stderr
    src = _csv(tmp_path / "inc.csv")
    res = runner.invoke(app, ["hotspots", "--incidents", str(src), "--hours", "8-30"])
    assert res.exit_code == 2 and "error [invalid_window]" in res.stderr
    res = runner.invoke(app, ["hotspots", "--incidents", str(src), "--tz", "Mars/Olympus"])
    assert res.exit_code == 2 and "error [invalid_timezone]" in res.stderr
