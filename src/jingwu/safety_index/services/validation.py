"""``jingwu index validate``: the method checked on the deployment's own history before it publishes
(method §14): the whole history's daily cube is built from the store exactly as a computation builds it,
scored in memory with the deployment's method (nothing is stored), and summarised by
``validate.deployment_check``."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from jingwu.platform.errors import InvalidInput
from jingwu.safety_index import engine, validate
from jingwu.safety_index.domain import HISTORY_DAYS, Method, fed_from_categories
from jingwu.safety_index.services.common import Progress, UowFactory
from jingwu.safety_index.services.compute import _arrays, _with_events
from jingwu.safety_index.store import repo


def validate_history(*, uow_factory: UowFactory, method: Method, sizes: tuple[float, ...] = validate.SURGE_SIZES,
                     seed: int = 1, progress: Progress | None = None) -> dict[str, Any]:
    """The validation of ``method`` on every day of the stored history (from its first to its last
    incident). Refused (``not_enough_history``) with fewer than 91 days of data or no towns."""
    with uow_factory() as uow:
        r = repo(uow)
        towns = uow.towns.all()
        first, last = r.origin_day(), r.last_incident_day()
        if first is None or last is None or not towns or (last - first).days + 1 < HISTORY_DAYS + 7:
            raise InvalidInput(f"validation needs at least {HISTORY_DAYS + 7} days of incidents and some towns "
                               f"(the store holds {first} .. {last}, {len(towns)} towns)", code="not_enough_history")
        n_days = (last - first).days + 1
        a = _arrays(r.aggregates(first, last), towns, first, n_days, method)
        fed = None
        if method.version == "v2":
            _with_events(r, a, towns, first, last, first)
            fed = method.fed or fed_from_categories(r.categories_present())
    check = validate.deployment_check(a, method, first, [t.name for t in towns], fed, sizes=sizes, seed=seed,
                                      progress=progress)
    check["data_first_day"] = first.isoformat()
    check["data_last_day"] = (first + timedelta(days=n_days - 1)).isoformat()
    check["warm_up_days"] = engine.FIRST_SCORABLE + 1
    return check
