"""Ranking units for a call: the one ordering dispatch recommends by and the simulation dispatches by.

Pure (numpy only, no I/O): given each candidate unit's cost to the call (ETA in seconds, or any cost a
caller ranks by) and optional flags, the candidate indices best first. Dispatch
(:mod:`jingwu.dispatch.services.recommend`) and the simulation (:mod:`jingwu.simulation.engine`) both call
:func:`rank_units`, so a simulated policy "fastest by road" is exactly the recommendation's order.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import numpy.typing as npt


def rank_units(costs: Sequence[float] | npt.NDArray[np.float64], *, available: Sequence[bool] | None = None,
               in_scope: Sequence[bool] | None = None, matches: Sequence[bool] | None = None
               ) -> npt.NDArray[np.int64]:
    """Candidate indices best first.

    Order: available units before busy ones, units the caller may dispatch (``in_scope``) before the others,
    units the run card asks for (``matches``) before the others, then least cost (``inf``, no route, last);
    ties keep the input order (a stable sort). A flag left ``None`` is true for every candidate."""
    c = np.asarray(costs, dtype=np.float64)
    keys: list[npt.NDArray[np.bool_]] = []
    for flags in (matches, in_scope, available):  # lexsort: the last key is the primary one
        if flags is not None:
            f = np.asarray(flags, dtype=bool)
            if f.shape != c.shape:
                raise ValueError("every flag needs one value per candidate")
            keys.append(~f)
    if not keys:
        return np.argsort(c, kind="stable")
    return np.lexsort((c, *keys))
