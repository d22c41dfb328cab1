"""Maximal covering location (MCLP) and backup coverage: choose K sites among candidates to maximise
the demand weight reached within T.

Two methods on the same coverage matrix ``A`` (demand × site, ``a_ij = cost(site j → demand i) ≤ T``):

- ``exact``: the MILP of Church & ReVelle (1974), solved by HiGHS (``scipy.optimize.milp``) to a zero
  relative gap. Demand points with identical covering sets are merged (weights added) and demand no
  site covers is dropped before the model is built; neither changes the optimum.
- ``fast``: greedy construction, then best-improvement interchange (Teitz & Bart 1968) where the gain
  of every (out, in) swap is computed at once with two matrix products, then a few seeded
  perturbation rounds (iterated local search) while the answer is below the bound. Its gap is
  measured against the LP relaxation's optimum (HiGHS simplex), an upper bound on the optimum, so the
  answer says how far from optimal it can at most be.

Backup coverage (``levels=2``) maximises ``Σ w_i · min(c_i, 2)`` where ``c_i`` is the number of chosen
sites covering demand ``i``: weight covered once plus weight covered twice (the BACOP objective of
Hogan & ReVelle 1986 with equal weights on first and second cover). See docs/methods/planning.md.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass, field

import numpy as np
import numpy.typing as npt
from scipy import sparse
from scipy.optimize import Bounds, LinearConstraint, linprog, milp

from jingwu.platform.errors import InvalidInput

F64 = npt.NDArray[np.float64]
METHODS = ("exact", "fast")


@dataclass(frozen=True)
class CoverageProblem:
    """Weights ``w`` (n demand), boolean coverage ``cover`` (n × m), ``k`` sites to choose, ``levels``
    1 (plain MCLP) or 2 (backup coverage)."""

    weights: F64
    cover: npt.NDArray[np.bool_]
    k: int
    levels: int = 1

    @classmethod
    def from_costs(cls, costs: F64, weights: F64, within: float, k: int, levels: int = 1) -> CoverageProblem:
        """``costs`` is (sites × demand) with ``inf`` where a site does not reach a demand point."""
        costs = np.asarray(costs, dtype=np.float64)
        w = np.asarray(weights, dtype=np.float64)
        if costs.ndim != 2 or costs.shape[1] != w.shape[0]:
            raise InvalidInput("the cost matrix must be sites × demand points", code="invalid_costs")
        check_params(k, within, costs.shape[0], levels)
        return cls(w, (costs <= within).T.copy(), int(k), levels)

    @property
    def n_demand(self) -> int:
        return int(self.cover.shape[0])

    @property
    def n_sites(self) -> int:
        return int(self.cover.shape[1])

    def value(self, chosen: npt.ArrayLike) -> tuple[float, float, float]:
        """(objective, weight covered at least once, weight covered at least twice) of a site set."""
        idx = np.asarray(chosen, dtype=np.int64)
        c = self.cover[:, idx].sum(axis=1) if idx.size else np.zeros(self.n_demand)
        once = float(self.weights[c >= 1].sum())
        twice = float(self.weights[c >= 2].sum())
        return (once + twice if self.levels == 2 else once), once, twice


def check_params(k: int, within: float, n_sites: int, levels: int = 1) -> None:
    if not isinstance(within, int | float) or not math.isfinite(within) or within <= 0:
        raise InvalidInput(f"the coverage limit T must be a positive number, got {within}", code="invalid_within")
    if k < 1:
        raise InvalidInput(f"K must be at least 1, got {k}", code="invalid_k")
    if k > n_sites:
        raise InvalidInput(f"K = {k} is larger than the {n_sites} candidate sites", code="invalid_k")
    if levels not in (1, 2):
        raise InvalidInput("coverage levels must be 1 or 2 (backup)", code="invalid_levels")


@dataclass
class CoverageResult:
    chosen: list[int]                 # site indices, ascending
    objective: float
    covered_weight: float             # weight covered at least once
    backup_weight: float              # weight covered at least twice (0 unless levels = 2)
    total_weight: float
    method: str
    proven_optimal: bool
    bound: float                      # an upper bound on the objective
    gap: float | None                 # (bound - objective) / objective; 0 when proven optimal
    seconds: float
    details: dict[str, float | int | str] = field(default_factory=dict)

    @property
    def covered_share(self) -> float:
        return self.covered_weight / self.total_weight if self.total_weight > 0 else 0.0

    @property
    def backup_share(self) -> float:
        return self.backup_weight / self.total_weight if self.total_weight > 0 else 0.0


def _gap(bound: float, value: float) -> float | None:
    if value <= 0:
        return 0.0 if bound <= 1e-12 else None
    return max(0.0, (bound - value) / value)


def solve(problem: CoverageProblem, method: str = "exact", *, time_limit: float | None = None,
          seed: int = 0) -> CoverageResult:
    if method == "exact":
        return solve_exact(problem, time_limit=time_limit)
    if method == "fast":
        return solve_fast(problem, seed=seed)
    raise InvalidInput(f"method must be one of {', '.join(METHODS)}, got {method!r}", code="invalid_method")


# ---------------------------------------------------------------------------------------------- exact
def _reduce(problem: CoverageProblem) -> tuple[npt.NDArray[np.bool_], F64]:
    """Distinct covering sets of the demand that some site covers and that has weight, with summed weights."""
    keep = problem.cover.any(axis=1) & (problem.weights > 0)
    a = problem.cover[keep]
    w = problem.weights[keep]
    if a.shape[0] == 0:
        return a, w
    packed = np.packbits(a, axis=1)
    _, inverse = np.unique(packed, axis=0, return_inverse=True)
    inverse = inverse.ravel()
    groups = int(inverse.max()) + 1
    wsum = np.bincount(inverse, weights=w, minlength=groups).astype(np.float64)
    first = np.full(groups, -1, dtype=np.int64)
    first[inverse[::-1]] = np.arange(a.shape[0])[::-1]
    return a[first], wsum


def solve_exact(problem: CoverageProblem, *, time_limit: float | None = None) -> CoverageResult:
    """Church–ReVelle MILP: max Σ w_i y_i  s.t.  y_i ≤ Σ_j a_ij x_j,  Σ x_j = K,  x ∈ {0,1}, y ∈ [0,1]
    (for backup also u_i ≤ y_i and y_i + u_i ≤ Σ_j a_ij x_j, objective Σ w_i (y_i + u_i))."""
    t0 = time.perf_counter()
    a, w = _reduce(problem)
    n, m, k = a.shape[0], problem.n_sites, problem.k
    total = float(problem.weights.sum())
    if n == 0:  # nothing can be covered: every choice is optimal
        chosen = list(range(k))
        return _result(problem, chosen, "exact", True, 0.0, time.perf_counter() - t0, {"rows": 0})
    levels = problem.levels
    ny = n * levels
    nvar = m + ny
    c = np.concatenate([np.zeros(m), -np.tile(w, levels)])
    a_sp = sparse.csr_matrix(a.astype(np.float64))
    eye = sparse.identity(n, format="csr")
    if levels == 1:
        link = sparse.hstack([-a_sp, eye], format="csr")
        rows = [LinearConstraint(link, -np.inf, 0.0)]
    else:
        link = sparse.hstack([-a_sp, eye, eye], format="csr")
        order = sparse.hstack([sparse.csr_matrix((n, m)), -eye, eye], format="csr")
        rows = [LinearConstraint(link, -np.inf, 0.0), LinearConstraint(order, -np.inf, 0.0)]
    card = sparse.csr_matrix(np.concatenate([np.ones(m), np.zeros(ny)])[None, :])
    rows.append(LinearConstraint(card, k, k))
    integrality = np.concatenate([np.ones(m), np.zeros(ny)])
    options: dict[str, float | bool] = {"disp": False, "mip_rel_gap": 0.0}
    if time_limit is not None:
        options["time_limit"] = float(time_limit)
    res = milp(c, constraints=rows, integrality=integrality, bounds=Bounds(np.zeros(nvar), np.ones(nvar)),
               options=options)
    if res.x is None:
        raise InvalidInput(f"the MILP solver found no solution ({res.message})", code="solver_failed")
    x = res.x[:m]
    chosen = sorted(np.argsort(-x, kind="stable")[:k].tolist())
    value = problem.value(chosen)[0]
    dual = getattr(res, "mip_dual_bound", None)
    bound = float(-dual) if dual is not None and math.isfinite(dual) else value
    bound = max(bound, value)
    optimal = res.status == 0 and bound - value <= 1e-6 * max(1.0, abs(value))
    details: dict[str, float | int | str] = {"rows": n, "solver": "HiGHS (scipy.optimize.milp)",
                                             "status": str(res.message)}
    if getattr(res, "mip_node_count", None) is not None:
        details["nodes"] = int(res.mip_node_count)
    out = _result(problem, chosen, "exact", optimal, bound, time.perf_counter() - t0, details)
    out.total_weight = total
    return out


def _result(problem: CoverageProblem, chosen: list[int], method: str, optimal: bool, bound: float,
            seconds: float, details: dict[str, float | int | str]) -> CoverageResult:
    value, once, twice = problem.value(chosen)
    bound = value if optimal else max(bound, value)
    return CoverageResult(chosen=sorted(int(j) for j in chosen), objective=value, covered_weight=once,
                          backup_weight=twice if problem.levels == 2 else 0.0,
                          total_weight=float(problem.weights.sum()), method=method, proven_optimal=optimal,
                          bound=bound, gap=0.0 if optimal else _gap(bound, value), seconds=seconds,
                          details=details)


# ----------------------------------------------------------------------------------------------- fast
class _Search:
    """Greedy + interchange on the sparse coverage matrix; ``c`` counts the chosen sites covering each demand."""

    def __init__(self, a: F64, w: F64, k: int, levels: int) -> None:
        self.a = sparse.csr_matrix(a)            # demand × site
        self.at = sparse.csr_matrix(self.a.T)    # site × demand
        self.w, self.k, self.levels = w, k, levels
        self.m = self.a.shape[1]

    def counts(self, chosen: npt.NDArray[np.int64]) -> F64:
        return np.asarray(self.at[chosen].sum(axis=0)).ravel().astype(np.float64)

    def value(self, c: F64) -> float:
        return float(self.w @ np.minimum(c, self.levels))

    def _levels(self, c: F64) -> tuple[F64, F64, F64]:
        """Per demand, with L the coverage level: one more cover counts (c < L), one cover less counts
        (c ≤ L), and the demand sits exactly at the level (c = L)."""
        lv = self.levels
        return (c < lv).astype(np.float64), (c <= lv).astype(np.float64), (c == lv).astype(np.float64)

    def greedy(self) -> npt.NDArray[np.int64]:
        c = np.zeros(self.a.shape[0])
        chosen: list[int] = []
        free = np.ones(self.m, dtype=bool)
        for _ in range(self.k):
            gain = self.at @ (self.w * self._levels(c)[0])
            gain[~free] = -1.0
            j = int(np.argmax(gain))
            chosen.append(j)
            free[j] = False
            c[self.at[j].indices] += 1
        return np.asarray(chosen, dtype=np.int64)

    def local_search(self, chosen: npt.NDArray[np.int64], max_rounds: int = 10_000) -> npt.NDArray[np.int64]:
        """Best-improvement swaps (one out, one in) until none gains more than a rounding error.

        For chosen j and free k, with L the level (1, or 2 for backup): Δ(j→k) = Σ_{i∈N(k)} w_i[c_i < L]
        − Σ_{i∈N(j)} w_i[c_i ≤ L] + Σ_{i∈N(j)∩N(k)} w_i[c_i = L], the last term because demand both
        cover keeps its count. All K × m values come from three
        sparse products."""
        chosen = chosen.copy()
        c = self.counts(chosen)
        eps = 1e-9 * max(1.0, float(self.w.sum()))
        for _ in range(max_rounds):
            g, h, e = self._levels(c)
            gain = self.at @ (self.w * g)                       # adding k (every site)
            a_s = self.at[chosen]                               # K × n
            loss = a_s @ (self.w * h)                           # removing j (chosen)
            corr = (a_s.multiply((self.w * e)[None, :]).tocsr() @ self.a).toarray()  # covered by both j and k
            delta = gain[None, :] - loss[:, None] + corr
            delta[:, chosen] = -np.inf
            jj, kk = np.unravel_index(int(np.argmax(delta)), delta.shape)
            if delta[jj, kk] <= eps:
                break
            c[self.at[chosen[jj]].indices] -= 1
            c[self.at[kk].indices] += 1
            chosen[jj] = kk
        return chosen


def lp_bound(a: F64, w: F64, k: int, levels: int) -> float:
    """Upper bound from the LP relaxation of the exact model (x ∈ [0, 1]), solved by HiGHS."""
    return lp_start(a, w, k, levels)[0]


def lp_start(a: F64, w: F64, k: int, levels: int) -> tuple[float, F64 | None]:
    """The LP relaxation's optimum (an upper bound) and its site values (``None`` if it failed)."""
    n, m = a.shape
    a_sp = sparse.csr_matrix(a)
    eye = sparse.identity(n, format="csr")
    if levels == 1:
        a_ub = sparse.hstack([-a_sp, eye], format="csr")
        b_ub = np.zeros(n)
    else:
        a_ub = sparse.vstack([sparse.hstack([-a_sp, eye, eye]),
                              sparse.hstack([sparse.csr_matrix((n, m)), -eye, eye])], format="csr")
        b_ub = np.zeros(2 * n)
    c = np.concatenate([np.zeros(m), -np.tile(w, levels)])
    a_eq = np.concatenate([np.ones(m), np.zeros(n * levels)])[None, :]
    res = linprog(c, A_ub=a_ub, b_ub=b_ub, A_eq=a_eq, b_eq=[k], bounds=(0.0, 1.0), method="highs")
    if res.status != 0 or res.x is None:
        return float(levels * w.sum()), None  # the trivial bound
    return float(-res.fun), np.asarray(res.x[:m])


def solve_fast(problem: CoverageProblem, *, seed: int = 0, max_kicks: int = 400, patience: int = 150
               ) -> CoverageResult:
    """Starts: greedy and the K largest LP site values, each improved by interchange; then iterated local
    search: replace 2–3 sites of the best answer (incoming sites drawn with probability ∝ LP value + 0.02),
    descend, keep if better; stop when the best answer meets the LP bound, after ``patience`` kicks without
    improvement, or after ``max_kicks``. Seeded: the same input gives the same answer."""
    t0 = time.perf_counter()
    a_b, w = _reduce(problem)
    k, m = problem.k, problem.n_sites
    if a_b.shape[0] == 0:
        return _result(problem, list(range(k)), "fast", True, 0.0, time.perf_counter() - t0, {"rows": 0})
    a = a_b.astype(np.float64)
    s = _Search(a, w, k, problem.levels)
    bound, x_lp = lp_start(a, w, k, problem.levels)
    starts = [s.greedy()]
    if x_lp is not None:
        starts.append(np.argsort(-x_lp, kind="stable")[:k].astype(np.int64))
    best, best_val = starts[0], -1.0
    for st in starts:
        cand = s.local_search(st)
        val = s.value(s.counts(cand))
        if val > best_val:
            best, best_val = cand, val
    first_val = best_val
    t_ls = time.perf_counter()
    rng = np.random.default_rng(seed)
    pull = (np.clip(x_lp, 0.0, 1.0) if x_lp is not None else np.zeros(m)) + 0.02
    rounds = since = 0
    while k < m and rounds < max_kicks and since < patience:
        if bound - best_val <= 1e-9 * max(1.0, best_val):
            break
        rounds += 1
        since += 1
        cand = best.copy()
        free = np.setdiff1d(np.arange(m), cand)
        n_out = min(int(rng.integers(2, 4)), k, free.size)
        out_pos = rng.choice(k, size=n_out, replace=False)
        pf = pull[free] / pull[free].sum()
        cand[out_pos] = rng.choice(free, size=n_out, replace=False, p=pf)
        cand = s.local_search(cand)
        val = s.value(s.counts(cand))
        if val > best_val + 1e-9 * max(1.0, best_val):
            best, best_val, since = cand, val, 0
    optimal = bound - best_val <= 1e-6 * max(1.0, best_val)
    details: dict[str, float | int | str] = {"rows": int(a.shape[0]), "local_search_value": first_val,
                                             "kicks": rounds, "bound": "LP relaxation (HiGHS)",
                                             "seconds_to_local_optimum": round(t_ls - t0, 4)}
    return _result(problem, best.tolist(), "fast", optimal, bound, time.perf_counter() - t0, details)
