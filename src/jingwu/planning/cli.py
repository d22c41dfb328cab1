"""``jingwu plan``: coverage (where to put K posts), hot spots by hour of week, event security rings.

Every input problem is printed as ``error [code]: message`` on stderr with exit status 2 before any
work starts (no road graph loaded, no solver run)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console

from jingwu.platform.errors import AppError
from jingwu.routing.domain import RoutingError

err = Console(stderr=True, soft_wrap=True, highlight=False)
out = Console(soft_wrap=True, highlight=False)


def _fail(exc: Exception) -> typer.Exit:
    code = getattr(exc, "code", "error")
    message = getattr(exc, "message", str(exc))
    err.print(f"error [{code}]: {message}", markup=False)
    return typer.Exit(2)


def _graph_loader(osm: Path | None, mode: str = "car") -> Any:
    def load() -> Any:
        from jingwu.platform.settings import get_settings
        from jingwu.routing.graph import RoadGraph
        from jingwu.routing.settings import RoutingSettings, graph_cache_dir

        settings = get_settings()
        return RoadGraph.load_or_build(osm or settings.section(RoutingSettings).osm_file, graph_cache_dir(settings),
                                       mode=mode)
    return load


def coverage_cmd(
    demand: Annotated[Path, typer.Option("--demand", help="demand CSV: id,weight,lon,lat")],
    sites: Annotated[Path, typer.Option("--sites", help="candidate sites CSV: id,lon,lat")],
    k: Annotated[int, typer.Option("--k", help="number of sites to choose")],
    within: Annotated[float, typer.Option("--within", help="coverage limit T, in the unit of the costs "
                                          "(road graph: seconds for --metric time, metres for distance)")],
    costs: Annotated[Path | None, typer.Option("--costs", help="long cost table CSV: site,demand,cost "
                                               "(default: travel costs on the road graph)")] = None,
    method: Annotated[str, typer.Option("--method", help="exact (MILP, HiGHS) | fast (greedy + interchange)")]
    = "exact",
    backup: Annotated[bool, typer.Option("--backup", help="maximise weight covered once plus weight covered "
                                         "twice (backup coverage)")] = False,
    json_: Annotated[bool, typer.Option("--json", help="print the answer as JSON")] = False,
    metric: Annotated[str, typer.Option("--metric", help="road-graph cost: time (s) | distance (m)")] = "time",
    snap_m: Annotated[float, typer.Option("--snap-m", help="largest distance from a point to its road (m)")]
    = 500.0,
    time_limit: Annotated[float | None, typer.Option("--time-limit", help="exact: stop after this many "
                                                     "seconds (the answer then says it is not proven)")] = None,
    osm: Annotated[Path | None, typer.Option("--osm", help="road network file (default: JINGWU_OSM_FILE)")] = None,
) -> None:
    """Choose K posts among candidate sites to maximise the demand reached within T (MCLP)."""
    from jingwu.planning.inputs import read_text
    from jingwu.planning.services.coverage import CoverageRequest, plan_coverage

    try:
        req = CoverageRequest(demand_csv=read_text(demand, "demand"), sites_csv=read_text(sites, "sites"),
                              costs_csv=read_text(costs, "costs") if costs else None, k=k, within=within,
                              method=method, backup=backup, metric=metric, snap_m=snap_m, time_limit=time_limit)
        answer = plan_coverage(req, graph=_graph_loader(osm))
    except (AppError, RoutingError) as exc:
        raise _fail(exc)
    if json_:
        typer.echo(json.dumps(answer, ensure_ascii=False))
        return
    state = "proven optimal" if answer["proven_optimal"] else (
        f"gap ≤ {answer['gap'] * 100:.3f} %" if answer["gap"] is not None else "gap unknown")
    out.print(f"{answer['method']}: {len(answer['chosen'])} of {answer['candidate_sites']} sites cover "
              f"{answer['covered_weight']:g} of {answer['total_weight']:g} ({answer['covered_share'] * 100:.2f} %) "
              f"within {answer['within']:g} ({answer['unit']}); {state}; {answer['seconds']:.3f} s", markup=False)
    if backup:
        out.print(f"covered twice: {answer['backup_weight']:g} ({answer['backup_share'] * 100:.2f} %)", markup=False)
    for s in answer["chosen"]:
        out.print(f"  {s['id']}: covers {s['covers_weight']:g} ({s['covers_points']} points)", markup=False)


def hotspots_cmd(
    incidents: Annotated[Path, typer.Option("--incidents", help="incidents CSV: time (ISO 8601), lon, lat")],
    days: Annotated[str, typer.Option("--days", help="days of week: all | mon-fri | sat,sun")] = "all",
    hours: Annotated[str, typer.Option("--hours", help="local hours: all | 18-23 | 22-2 | 7,8,17")] = "all",
    cell_m: Annotated[float, typer.Option("--cell-m", help="grid cell side (m)")] = 250.0,
    bandwidth_m: Annotated[float | None, typer.Option("--bandwidth-m", help="KDE bandwidth (m; default: the "
                                                      "rule of thumb)")] = None,
    band_m: Annotated[float | None, typer.Option("--band-m", help="Gi* neighbour distance (m; default 1.5 "
                                                 "cells)")] = None,
    out_dir: Annotated[Path | None, typer.Option("--out", help="write hotspots.geojson, cells.csv and "
                                                 "hour_of_week.csv here")] = None,
    json_: Annotated[bool, typer.Option("--json", help="print the summary and the significant cells as JSON")]
    = False,
    tz: Annotated[str | None, typer.Option("--tz", help="time zone of times without offset and of the "
                                           "hours (default: the deployment's)")] = None,
) -> None:
    """Hot spots by hour of week: kernel density and Getis-Ord Gi* (Benjamini-Hochberg FDR) on a grid."""
    import csv
    from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

    from jingwu.planning.hotspots import Incident, hotspots, parse_window
    from jingwu.planning.inputs import read_incidents, read_text
    from jingwu.platform.settings import get_settings

    try:
        tz_name = tz or get_settings().timezone
        try:
            zone = ZoneInfo(tz_name)
        except (ZoneInfoNotFoundError, ValueError):
            raise AppError(f"unknown time zone {tz_name!r}", code="invalid_timezone")
        window = parse_window(days, hours)
        rows = read_incidents(read_text(incidents, "incidents"), tz_name)
        res = hotspots([Incident(x, y, at) for x, y, at in rows], zone, window=window, cell_m=cell_m,
                       bandwidth_m=bandwidth_m, band_m=band_m)
    except AppError as exc:
        raise _fail(exc)
    summary = res.summary() | {"days": days, "hours": hours, "timezone": tz_name}
    if out_dir is not None:
        out_dir.mkdir(parents=True, exist_ok=True)
        (out_dir / "hotspots.geojson").write_text(json.dumps(res.geojson(), ensure_ascii=False), encoding="utf-8")
        table = res.table()
        with (out_dir / "cells.csv").open("w", newline="", encoding="utf-8") as fh:
            wr = csv.DictWriter(fh, fieldnames=list(table[0]))
            wr.writeheader()
            wr.writerows(table)
        with (out_dir / "hour_of_week.csv").open("w", newline="", encoding="utf-8") as fh:
            wr2 = csv.writer(fh)
            wr2.writerow(["hour_of_week", "day", "hour", "incidents"])
            for h, n in enumerate(res.hour_counts):
                wr2.writerow([h, ("mon", "tue", "wed", "thu", "fri", "sat", "sun")[h // 24], h % 24, n])
    if json_:
        sig = [c for c in res.table() if c["class"] != "none"]
        typer.echo(json.dumps({"summary": summary, "significant": sig, "hour_of_week": res.hour_counts},
                              ensure_ascii=False))
        return
    cls = summary["classes"]
    out.print(f"{summary['incidents']} incidents in {summary['window_hours']} hours of the week, {summary['cells']} "
              f"cells of {cell_m:g} m; KDE bandwidth {summary['bandwidth_m']} m; Gi* band {summary['band_m']:g} m; "
              f"hot {cls.get('hot', 0)}, cold {cls.get('cold', 0)} cells (BH FDR q ≤ 0.10)", markup=False)
    top = sorted((c for c in res.table() if c["class"] == "hot"), key=lambda c: -c["gi_z"])[:10]
    for c in top:
        out.print(f"  hot {c['confidence']} %: {c['lon']:.5f},{c['lat']:.5f}  count {c['count']}  z {c['gi_z']:.2f}  "
                  f"q {c['q']:.2g}", markup=False)
    if out_dir is not None:
        out.print(f"written: {out_dir}/hotspots.geojson, cells.csv, hour_of_week.csv", markup=False)


def event_cmd(
    at: Annotated[str, typer.Option("--at", help="venue as LON,LAT (WGS84)")],
    crowd: Annotated[int, typer.Option("--crowd", help="expected number of attendees")],
    name: Annotated[str, typer.Option("--name", help="venue name for the printout")] = "",
    out_file: Annotated[Path | None, typer.Option("--out", help="write the printable HTML plan here")] = None,
    json_: Annotated[bool, typer.Option("--json", help="print the rings, posts and units as JSON")] = False,
    lang: Annotated[str, typer.Option("--lang", help="printout language: zh-CN | en")] = "zh-CN",
    core_min: Annotated[float, typer.Option("--core-min", help="core: minutes on foot (at least)")] = 3.0,
    control_min: Annotated[float, typer.Option("--control-min", help="control: minutes on foot (at least)")]
    = 10.0,
    diversion_min: Annotated[float, typer.Option("--diversion-min", help="diversion: minutes by car")] = 5.0,
    snap_m: Annotated[float, typer.Option("--snap-m", help="largest distance from the venue to a road (m)")]
    = 300.0,
    osm: Annotated[Path | None, typer.Option("--osm", help="road network file (default: JINGWU_OSM_FILE)")] = None,
) -> None:
    """Event security: the diversion, control and core rings around a venue, with posts, officers and units."""
    from jingwu.planning.printout import render
    from jingwu.planning.rings import RingPolicy, check_request, event_rings
    from jingwu.routing.domain import parse_lonlat

    try:
        lon, lat = parse_lonlat(at)
        if lang not in ("zh-CN", "en"):
            raise AppError(f"--lang must be zh-CN or en, got {lang!r}", code="invalid_lang")
        policy = RingPolicy(core_walk_min=core_min, control_walk_min=control_min, diversion_drive_min=diversion_min,
                            snap_m=snap_m)
        check_request(lon, lat, crowd, policy)
        foot, car = _graph_loader(osm, "foot")(), _graph_loader(osm, "car")()
        plan = event_rings(foot, car, lon, lat, crowd, policy, name=name)
    except (AppError, RoutingError) as exc:
        raise _fail(exc)
    if out_file is not None:
        try:
            out_file.write_text(render(plan, car, lang), encoding="utf-8")
        except OSError as exc:
            raise _fail(AppError(f"cannot write {out_file}: {exc.strerror or exc}", code="io_error"))
    if json_:
        typer.echo(json.dumps(plan, ensure_ascii=False))
        return
    for r in plan["rings"]:
        units = ", ".join(f"{k} {n}" for k, n in r["units"].items())
        out.print(f"{r['ring']:<9} {r['minutes']:5.1f} min {r['travel_mode']:<4} {r['area_km2']:8.3f} km²  "
                  f"{len(r['posts']):3d} posts  {r['officers']:5d} officers  units: {units}", markup=False)
    out.print(f"total {plan['officers']} officers; " + ", ".join(f"{k} {n}" for k, n in plan["units"].items()),
              markup=False)
    if out_file is not None:
        out.print(f"printable plan: {out_file}", markup=False)


def roster_cmd(
    requirements: Annotated[Path, typer.Option("--requirements", help="CSV day,hour,required[,mode]: officers "
                                               "needed in each hour of the week (mode: foot, car, motorbike, "
                                               "video, air, sea)")],
    shift_hours: Annotated[int, typer.Option("--shift-hours", help="shift length in hours")] = 8,
    starts: Annotated[str, typer.Option("--starts", help="allowed start hours: all | 0,8,16")] = "all",
    json_: Annotated[bool, typer.Option("--json", help="print the plan as JSON")] = False,
) -> None:
    """Shift plan per patrol mode: the fewest officer-shifts that meet the hourly requirement (exact ILP)."""
    from jingwu.planning.inputs import read_text
    from jingwu.planning.rosters import ShiftRules, plan_roster

    try:
        if starts.strip().lower() == "all":
            hours: tuple[int, ...] = tuple(range(24))
        else:
            try:
                hours = tuple(int(x) for x in starts.split(",") if x.strip())
            except ValueError:
                raise AppError(f"--starts must be all or a comma list of hours, got {starts!r}", code="invalid_shift")
        plan = plan_roster(read_text(requirements, "requirements"), ShiftRules(shift_hours, hours))
    except AppError as exc:
        raise _fail(exc)
    if json_:
        typer.echo(json.dumps(plan, ensure_ascii=False))
        return
    for mode, p in plan["modes"].items():
        out.print(f"{mode}: {p['officer_shifts']} officer-shifts of {p['shift_hours']} h (proven optimal), "
                  f"{p['required_hours']} officer-hours required, {p['surplus_hours']} surplus", markup=False)
        for s in p["shifts"]:
            out.print(f"  {s['day']} {s['start']}–{s['end']}: {s['officers']}", markup=False)


def school_gates_cmd(
    schools: Annotated[Path, typer.Option("--schools", help="CSV id,lon,lat[,officers] (officers per peak, "
                                          "default 1)")],
    units: Annotated[Path, typer.Option("--units", help="CSV id,lon,lat,officers available for the peaks")],
    within: Annotated[float, typer.Option("--within", help="longest travel from a unit to a school (s)")] = 900.0,
    peaks: Annotated[str, typer.Option("--peaks", help="peak windows, local time")] = "07:30-08:30,16:30-17:30",
    mode: Annotated[str, typer.Option("--mode", help="travel mode of the duty officers: car | motorbike | foot")]
    = "car",
    json_: Annotated[bool, typer.Option("--json", help="print the duty plan as JSON")] = False,
    osm: Annotated[Path | None, typer.Option("--osm", help="road network file (default: JINGWU_OSM_FILE)")] = None,
) -> None:
    """School-gate peak duty (护学岗): which units send how many officers to which school, at which peaks."""
    from jingwu.planning.inputs import read_text
    from jingwu.planning.schoolgates import plan_gates

    try:
        if mode not in ("car", "motorbike", "foot", "bicycle"):
            raise AppError(f"--mode must be car, motorbike, foot or bicycle, got {mode!r}", code="invalid_mode")
        plan = plan_gates(read_text(schools, "schools"), read_text(units, "units"), _graph_loader(osm, mode),
                          within=within, peaks=peaks)
    except (AppError, RoutingError) as exc:
        raise _fail(exc)
    if json_:
        typer.echo(json.dumps(plan, ensure_ascii=False))
        return
    out.print(f"{plan['schools']} schools, {plan['officers_per_peak']} officers per peak at "
              f"{', '.join(plan['peaks'])}; travel mean {plan['mean_travel_s'] / 60:.1f} min, "
              f"max {plan['max_travel_s'] / 60:.1f} min", markup=False)
    for a in plan["assignments"]:
        src = ", ".join(f"{s['unit']} ×{s['officers']} ({s['travel_s'] / 60:.1f} min)" for s in a["from"])
        out.print(f"  {a['school']}: {src}", markup=False)


def beats_cmd(
    beats: Annotated[int, typer.Option("--beats", help="number of patrol beats")],
    incidents: Annotated[Path | None, typer.Option("--incidents", help="incidents CSV time,lon,lat (workload; "
                                                   "default: street length only)")] = None,
    mode: Annotated[str, typer.Option("--mode", help="patrol mode: foot | car | motorbike | bicycle")] = "foot",
    share: Annotated[float, typer.Option("--incident-share", help="share of the workload from incidents "
                                         "(the rest from street length)")] = 0.5,
    out_file: Annotated[Path | None, typer.Option("--out", help="write the beats as GeoJSON here")] = None,
    json_: Annotated[bool, typer.Option("--json", help="print the beats as JSON")] = False,
    osm: Annotated[Path | None, typer.Option("--osm", help="road network file (default: JINGWU_OSM_FILE)")] = None,
) -> None:
    """Patrol beats balanced by workload (incidents and street length), grown along the roads."""
    from jingwu.planning.beats import plan_beats
    from jingwu.planning.inputs import read_text
    from jingwu.platform.settings import get_settings

    try:
        if mode not in ("car", "motorbike", "foot", "bicycle"):
            raise AppError(f"--mode must be car, motorbike, foot or bicycle, got {mode!r}", code="invalid_mode")
        if not 1 <= beats <= 2000:
            raise AppError(f"--beats must be 1 to 2000, got {beats}", code="invalid_beats")
        text = read_text(incidents, "incidents") if incidents else None
        plan = plan_beats(_graph_loader(osm, mode)(), beats, text, tz=get_settings().timezone, share_incidents=share)
    except (AppError, RoutingError) as exc:
        raise _fail(exc)
    if out_file is not None:
        fc = {"type": "FeatureCollection", "features": [
            {"type": "Feature", "geometry": b["geometry"],
             "properties": {k: v for k, v in b.items() if k != "geometry"}}
            for b in plan["beats"] if b["geometry"] is not None]}
        out_file.write_text(json.dumps(fc, ensure_ascii=False), encoding="utf-8")
    if json_:
        typer.echo(json.dumps(plan, ensure_ascii=False))
        return
    out.print(f"{len(plan['beats'])} {mode} beats; workload max/mean {plan['balance_max_over_mean']}; "
              f"{plan['incidents']} incidents", markup=False)
    for b in plan["beats"]:
        out.print(f"  beat {b['beat']}: {b['workload_share'] * 100:.1f} % workload, {b['incidents']} incidents, "
                  f"{b['street_km']} km, farthest {b['max_travel_s'] / 60:.1f} min", markup=False)
