"""Hot spots by hour of week: kernel density and Getis–Ord Gi* over a square grid, with the
Benjamini–Hochberg false discovery rate across the cells.

Place-based only: the input is incident places and times (no person). Formulas, the bandwidth rule and
the classes are in docs/methods/planning.md:

- grid: square cells of ``cell_m`` metres in a local equirectangular projection around the incidents'
  centre, covering their bounding box grown by one cell (or a given bounding box);
- KDE: quartic (biweight) kernel ``K(d) = 3/(π h²)·(1 − d²/h²)²`` for ``d < h``, evaluated at the cell
  centres, in incidents per km²; bandwidth by the spatial rule of thumb
  ``h = 0.9 · min(SD, √(1/ln 2)·D_m) · n^(−1/5)`` (SD: standard distance, D_m: median distance to the
  mean centre; Silverman's rule adapted to two dimensions), unless given;
- Gi*: binary distance-band weights (cells whose centres are within ``band_m``, default 1.5 cells, i.e.
  the cell and its 8 neighbours), self included, on the cell counts;
  ``z_i = (Σ_j w_ij x_j − x̄ W_i) / (S · √((n W_i − W_i²)/(n − 1)))`` with ``W_i = Σ_j w_ij`` (binary
  weights so ``Σ_j w_ij² = W_i``), ``x̄`` and ``S`` the mean and (population) standard deviation of all
  ``n`` cell counts; the same z as PySAL esda ``G_Local(star=True, transform="B")``;
- p: two-sided normal; q: Benjamini–Hochberg adjusted p over all cells; class ``hot``/``cold`` at
  confidence 99/95/90 % when q ≤ 0.01/0.05/0.10 (z sign gives hot or cold).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

import numpy as np
import numpy.typing as npt
from scipy import sparse
from scipy.spatial import cKDTree
from scipy.stats import norm

from jingwu.platform.errors import InvalidInput
from jingwu.routing.geodesy import EARTH_RADIUS_M

F64 = npt.NDArray[np.float64]
DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
MAX_CELLS = 250_000
LEVELS = ((0.01, 99), (0.05, 95), (0.10, 90))


@dataclass(frozen=True)
class Incident:
    """One incident's place and local time (nothing about people)."""

    lon: float
    lat: float
    at: datetime  # aware


def hour_of_week(at: datetime, tz: ZoneInfo) -> int:
    """0 = Monday 00:00–00:59 … 167 = Sunday 23:00–23:59, in the deployment's local time."""
    local = at.astimezone(tz)
    return local.weekday() * 24 + local.hour


def parse_window(days: str | None, hours: str | None) -> npt.NDArray[np.bool_]:
    """168 flags from ``days`` (``mon,tue`` / ``mon-fri`` / ``all``) and ``hours`` (``18-23``, ``22-2`` wraps past
    midnight, ``7,8,17``; ``all``)."""
    day_set = _ranges(days or "all", DAYS, "days")
    hour_set = _ranges(hours or "all", tuple(str(h) for h in range(24)), "hours")
    out = np.zeros(168, dtype=bool)
    for d in day_set:
        for h in hour_set:
            out[d * 24 + h] = True
    return out


def _ranges(spec: str, names: tuple[str, ...], what: str) -> list[int]:
    spec = spec.strip().lower()
    if spec == "all":
        return list(range(len(names)))

    def index(token: str) -> int:
        token = token.strip()
        key = str(int(token)) if token.isascii() and token.isdigit() else token
        if key not in names:
            raise InvalidInput(f"--{what}: {token!r} is not one of {', '.join(names)}", code="invalid_window")
        return names.index(key)

    out: list[int] = []
    for part in spec.split(","):
        if "-" in part:
            a, b = (index(x) for x in part.split("-", 1))
            out.extend(range(a, b + 1) if a <= b else [*range(a, len(names)), *range(0, b + 1)])
        elif part.strip():
            out.append(index(part))
    if not out:
        raise InvalidInput(f"--{what} is empty", code="invalid_window")
    return sorted(set(out))


def hour_of_week_counts(incidents: Sequence[Incident], tz: ZoneInfo) -> npt.NDArray[np.int64]:
    counts = np.zeros(168, dtype=np.int64)
    for inc in incidents:
        counts[hour_of_week(inc.at, tz)] += 1
    return counts


def bandwidth_rule(x: F64, y: F64) -> float:
    """Spatial rule of thumb (metres): 0.9 · min(SD, √(1/ln 2)·D_m) · n^(−1/5)."""
    n = x.shape[0]
    cx, cy = x.mean(), y.mean()
    d = np.hypot(x - cx, y - cy)
    sd = math.sqrt(float(((x - cx) ** 2).sum() + ((y - cy) ** 2).sum()) / n)
    dm = float(np.median(d))
    h = 0.9 * min(sd, math.sqrt(1 / math.log(2)) * dm) * n ** -0.2
    return h if h > 0 else max(sd, 1.0)


def quartic_kde(px: F64, py: F64, gx: F64, gy: F64, h: float) -> F64:
    """Density (points per m²) at (gx, gy) from points (px, py), quartic kernel of radius h."""
    tree_p = cKDTree(np.column_stack([px, py]))
    tree_g = cKDTree(np.column_stack([gx, gy]))
    dist = tree_g.sparse_distance_matrix(tree_p, h, output_type="coo_matrix")
    u = 1.0 - (dist.data / h) ** 2
    vals = 3.0 / (math.pi * h * h) * u * u
    return np.bincount(dist.row, weights=vals, minlength=gx.shape[0]).astype(np.float64)


def band_weights(gx: F64, gy: F64, band_m: float) -> sparse.csr_matrix:
    """Binary distance-band weights with the diagonal set (Gi*)."""
    tree = cKDTree(np.column_stack([gx, gy]))
    pairs = tree.query_pairs(band_m, output_type="ndarray")
    n = gx.shape[0]
    rows = np.concatenate([pairs[:, 0], pairs[:, 1], np.arange(n)])
    cols = np.concatenate([pairs[:, 1], pairs[:, 0], np.arange(n)])
    return sparse.csr_matrix((np.ones(rows.shape[0]), (rows, cols)), shape=(n, n))


def gi_star(x: F64, w: sparse.csr_matrix) -> F64:
    """Getis–Ord Gi* z-scores of values ``x`` under binary weights ``w`` (diagonal included)."""
    n = x.shape[0]
    xbar = float(x.mean())
    s = math.sqrt(max(float((x * x).mean()) - xbar * xbar, 0.0))
    wi = np.asarray(w.sum(axis=1)).ravel()
    num = w @ x - xbar * wi
    den = s * np.sqrt((n * wi - wi * wi) / (n - 1))
    with np.errstate(divide="ignore", invalid="ignore"):
        z = np.where(den > 0, num / den, 0.0)
    return z.astype(np.float64)


def benjamini_hochberg(p: F64) -> F64:
    """Benjamini–Hochberg adjusted p-values (q): q_(i) = min_{k ≥ i} (n / k) · p_(k), capped at 1."""
    n = p.shape[0]
    order = np.argsort(p)
    ranked = p[order] * n / np.arange(1, n + 1)
    q_sorted = np.minimum.accumulate(ranked[::-1])[::-1]
    q = np.empty(n)
    q[order] = np.minimum(q_sorted, 1.0)
    return q


@dataclass
class HotspotResult:
    cells: list[dict[str, Any]]     # one row per grid cell
    cell_m: float
    bandwidth_m: float
    band_m: float
    n_incidents: int
    n_cells: int
    origin: tuple[float, float]     # lon, lat of the projection centre
    hour_counts: list[int]          # 168 counts (all incidents, before the window)
    window: list[int]               # hours of week included

    def summary(self) -> dict[str, Any]:
        classes: dict[str, int] = {}
        for c in self.cells:
            classes[c["class"]] = classes.get(c["class"], 0) + 1
        return {"incidents": self.n_incidents, "cells": self.n_cells, "cell_m": self.cell_m,
                "bandwidth_m": round(self.bandwidth_m, 1), "band_m": self.band_m, "classes": classes,
                "window_hours": len(self.window), "correction": "Benjamini-Hochberg FDR"}

    def geojson(self, only_significant: bool = False) -> dict[str, Any]:
        """Cells as GeoJSON polygons with their figures (only hot/cold cells if asked)."""
        feats = [{"type": "Feature", "geometry": {"type": "Polygon", "coordinates": [c["_ring"]]},
                  "properties": {k: v for k, v in c.items() if k != "_ring"}}
                 for c in self.cells if not (only_significant and c["class"] == "none")]
        return {"type": "FeatureCollection", "features": feats}

    def table(self) -> list[dict[str, Any]]:
        return [{k: v for k, v in c.items() if k != "_ring"} for c in self.cells]


def hotspots(incidents: Sequence[Incident], tz: ZoneInfo, *, window: npt.NDArray[np.bool_] | None = None,
             cell_m: float = 250.0, bandwidth_m: float | None = None, band_m: float | None = None,
             bbox: tuple[float, float, float, float] | None = None) -> HotspotResult:
    if not (math.isfinite(cell_m) and 20 <= cell_m <= 10_000):
        raise InvalidInput(f"the cell size must be between 20 and 10000 m, got {cell_m}", code="invalid_cell")
    if bandwidth_m is not None and not (math.isfinite(bandwidth_m) and 0 < bandwidth_m <= 50_000):
        raise InvalidInput("the bandwidth must be a positive number of metres (at most 50 km)",
                           code="invalid_bandwidth")
    band = band_m if band_m is not None else 1.5 * cell_m
    if not (math.isfinite(band) and cell_m * 0.99 <= band <= 20 * cell_m):
        raise InvalidInput("the Gi* band must be from one to 20 cells", code="invalid_band")
    win = window if window is not None else np.ones(168, dtype=bool)
    how_all = np.array([hour_of_week(i.at, tz) for i in incidents], dtype=np.int64)
    counts_all = np.bincount(how_all, minlength=168) if how_all.size else np.zeros(168, dtype=np.int64)
    sel = [inc for inc, h in zip(incidents, how_all.tolist(), strict=True) if win[h]]
    if len(sel) < 3:
        raise InvalidInput(f"{len(sel)} incident(s) in the chosen hours: at least 3 are needed", code="too_few")
    lon = np.array([i.lon for i in sel])
    lat = np.array([i.lat for i in sel])
    lon0, lat0 = float(np.median(lon)), float(np.median(lat))
    ky = EARTH_RADIUS_M * math.pi / 180.0
    kx = ky * math.cos(math.radians(lat0))
    px, py = (lon - lon0) * kx, (lat - lat0) * ky
    if bbox is not None:
        x0, y0 = (bbox[0] - lon0) * kx, (bbox[1] - lat0) * ky
        x1, y1 = (bbox[2] - lon0) * kx, (bbox[3] - lat0) * ky
        inside = (px >= x0) & (px <= x1) & (py >= y0) & (py <= y1)
        px, py = px[inside], py[inside]
        if px.size < 3:
            raise InvalidInput("fewer than 3 incidents inside the bounding box", code="too_few")
    else:
        x0, y0, x1, y1 = px.min() - cell_m, py.min() - cell_m, px.max() + cell_m, py.max() + cell_m
    nx = max(1, math.ceil((x1 - x0) / cell_m))
    ny = max(1, math.ceil((y1 - y0) / cell_m))
    if nx * ny > MAX_CELLS:
        raise InvalidInput(f"{nx} × {ny} cells is more than {MAX_CELLS}: use larger cells", code="too_many_cells")
    ix = np.clip(((px - x0) // cell_m).astype(np.int64), 0, nx - 1)
    iy = np.clip(((py - y0) // cell_m).astype(np.int64), 0, ny - 1)
    counts = np.bincount(iy * nx + ix, minlength=nx * ny).astype(np.float64)
    jj, ii = np.meshgrid(np.arange(nx), np.arange(ny))
    gx = (x0 + (jj.ravel() + 0.5) * cell_m).astype(np.float64)
    gy = (y0 + (ii.ravel() + 0.5) * cell_m).astype(np.float64)
    h = bandwidth_m if bandwidth_m is not None else bandwidth_rule(px, py)
    dens = quartic_kde(px, py, gx, gy, h) * 1e6  # per km²
    if nx * ny < 2:
        raise InvalidInput("the incidents fall in one cell: use smaller cells", code="too_few_cells")
    w = band_weights(gx, gy, band)
    z = gi_star(counts, w)
    p = 2.0 * norm.sf(np.abs(z))
    q = benjamini_hochberg(p)
    cells = []
    for c in range(nx * ny):
        cls, conf = "none", 0
        for level, pct in LEVELS:
            if q[c] <= level:
                cls, conf = ("hot" if z[c] > 0 else "cold"), pct
                break
        cx0, cy0 = gx[c] - cell_m / 2, gy[c] - cell_m / 2
        ring = [[round(lon0 + xx / kx, 6), round(lat0 + yy / ky, 6)] for xx, yy in
                ((cx0, cy0), (cx0 + cell_m, cy0), (cx0 + cell_m, cy0 + cell_m), (cx0, cy0 + cell_m), (cx0, cy0))]
        cells.append({"cell": c, "row": int(c // nx), "col": int(c % nx),
                      "lon": round(lon0 + gx[c] / kx, 6), "lat": round(lat0 + gy[c] / ky, 6),
                      "count": int(counts[c]), "density_km2": round(float(dens[c]), 4),
                      "gi_z": round(float(z[c]), 6), "p": float(p[c]), "q": float(q[c]),
                      "class": cls, "confidence": conf, "_ring": ring})
    return HotspotResult(cells=cells, cell_m=cell_m, bandwidth_m=h, band_m=band, n_incidents=int(px.size),
                         n_cells=nx * ny, origin=(lon0, lat0), hour_counts=[int(v) for v in counts_all],
                         window=[int(v) for v in np.flatnonzero(win)])
