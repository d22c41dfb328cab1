"""``jingwu index generate``: a labelled synthetic incident history for the existing towns (source
"synthetic", for demos and trials; never mixed with real data), scored at once, so a fresh demo's Safety
Index page is filled from the first start."""

from __future__ import annotations

from typing import Annotated
from zoneinfo import ZoneInfo

import typer
from rich.console import Console

err = Console(stderr=True)
out = Console()


def generate_cmd(
    days: Annotated[int, typer.Option(help="days of history ending yesterday", min=91, max=1100)] = 150,
    per_day: Annotated[int, typer.Option("--per-day", help="incidents per day, whole city", min=1)] = 60,
    seed: Annotated[int, typer.Option(help="random seed")] = 1,
    realistic: Annotated[bool, typer.Option(
        "--realistic", help="seasonal, overdispersed (gamma-Poisson), 2 %% co-recorded offences "
                            "(safety_index.synthetic, method §13.7) instead of the plain Poisson demo stream")] = False,
) -> None:
    """Generate a synthetic incident history for the existing towns (source "synthetic", for demos and
    trials; never mix with real data) and compute the index over it."""
    from datetime import UTC, datetime, timedelta

    import numpy as np

    from jingwu.demo import synthetic
    from jingwu.platform.cli import migrated_container
    from jingwu.platform.settings import get_settings
    from jingwu.safety_index import synthetic as realistic_history
    from jingwu.safety_index.config import SafetyIndexSettings, load_method
    from jingwu.safety_index.domain import Category
    from jingwu.safety_index.services.compute import compute
    from jingwu.safety_index.services.ingest import IncidentFact, record_incidents

    c = migrated_container()
    tz = ZoneInfo(c.settings.timezone)
    try:
        with c.uow() as uow:
            towns = uow.towns.all()
        if not towns:
            err.print("[bold red]error:[/] no towns: load a city first (jingwu demo --no-serve)")
            raise typer.Exit(2)
        first = c.clock.now().astimezone(tz).date() - timedelta(days=days)
        pop = np.array([t.population for t in towns], dtype=float)
        surges = [(int(i), days - 8, 6, 3.0) for i in np.random.default_rng(seed).choice(len(towns), 1)]
        g: realistic_history.History | synthetic.Generated
        if realistic:
            g = realistic_history.generate(pop, days, per_day, seed=seed, surges=surges,
                                           first_weekday=first.weekday(), first_doy=first.timetuple().tm_yday - 1)
            minutes = g.minute
        else:
            g = synthetic.generate(pop, days, per_day * days, seed=seed, surges=surges,
                                   first_weekday=first.weekday())
            minutes = np.full(len(g), 12 * 60)
        midnight = datetime(first.year, first.month, first.day, tzinfo=tz).astimezone(UTC)
        facts = [IncidentFact(f"synthetic:{seed}:{k}", midnight + timedelta(days=int(d), minutes=int(mi)),
                              towns[int(t)].id, str(code), Category(str(cat)), int(de), int(inj), "synthetic")
                 for k, (t, d, mi, code, cat, de, inj) in enumerate(zip(g.town, g.day, minutes, g.type_code,
                                                                         g.category, g.deaths, g.injuries,
                                                                         strict=True))]
        record_incidents(facts, uow=c.uow(), tz=tz)
        method = load_method(get_settings().section(SafetyIndexSettings).method_file)
        s = compute(None, None, uow_factory=c.uow, clock=c.clock, tz=tz, method=method)
    finally:
        c.engine.dispose()
    out.print(f"{len(facts)} synthetic incidents over {days} days for {len(towns)} towns; "
              f"computed {s.days} days ({s.first} .. {s.last})")
