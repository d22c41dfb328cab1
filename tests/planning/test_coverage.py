"""Coverage planning (MCLP): the exact method against brute force on tiny instances and against an
independent formulation (PySAL spopt's MCLP through PuLP), the fast method's bound and answer."""

from __future__ import annotations

import itertools

import numpy as np
import pytest

from jingwu.planning.coverage import CoverageProblem, lp_bound, solve
from jingwu.platform.errors import InvalidInput


def brute_force(p: CoverageProblem) -> float:
    return max(p.value(list(c))[0] for c in itertools.combinations(range(p.n_sites), p.k))


@pytest.mark.parametrize("levels", [1, 2])
def test_exact_equals_brute_force_and_fast_is_bounded(levels: int) -> None:
    rng = np.random.default_rng(levels)
    for _ in range(40):
        n, m = int(rng.integers(4, 14)), int(rng.integers(2, 8))
        k = int(rng.integers(1, m + 1))
        costs = rng.uniform(0, 10, (m, n))
        costs[rng.random((m, n)) < 0.1] = np.inf  # unreachable pairs
        w = rng.integers(0, 6, n).astype(float)
        p = CoverageProblem.from_costs(costs, w, 4.0, k, levels)
        best = brute_force(p)
        e = solve(p, "exact")
        assert e.proven_optimal and e.gap == 0.0
        assert e.objective == pytest.approx(best, abs=1e-9)
        assert len(e.chosen) == k and len(set(e.chosen)) == k
        f = solve(p, "fast")
        assert f.objective <= best + 1e-9
        assert f.bound >= best - 1e-6  # the LP bound is an upper bound
        assert len(f.chosen) == k and len(set(f.chosen)) == k
        if f.proven_optimal:
            assert f.objective == pytest.approx(best, abs=1e-9)


def _random_instance(seed: int, n: int = 400, m: int = 60, k: int = 8) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    xy_d = rng.uniform(0, 6000, (n, 2))
    xy_s = rng.uniform(0, 6000, (m, 2))
    d = np.sqrt(((xy_s[:, None, :] - xy_d[None, :, :]) ** 2).sum(-1))
    return d, rng.lognormal(0, 1, n)


@pytest.mark.parametrize("seed", [3, 4])
@pytest.mark.filterwarnings("ignore::DeprecationWarning")
def test_exact_matches_spopt_mclp(seed: int) -> None:
    pulp = pytest.importorskip("pulp")
    from spopt.locate import MCLP

    d, w = _random_instance(seed)
    ours = solve(CoverageProblem.from_costs(d, w, 1200.0, 8), "exact")
    model = MCLP.from_cost_matrix(d.T, w, service_radius=1200.0, p_facilities=8)
    model.solve(pulp.HiGHS(msg=False))
    assert model.problem.status == 1
    theirs = float(pulp.value(model.problem.objective))
    assert ours.proven_optimal
    assert ours.objective == pytest.approx(theirs, rel=1e-9)


def test_fast_reaches_the_optimum_on_a_city_sized_instance() -> None:
    d, w = _random_instance(5, n=1500, m=200, k=15)
    p = CoverageProblem.from_costs(d, w, 900.0, 15)
    e = solve(p, "exact")
    f = solve(p, "fast")
    assert e.proven_optimal
    assert f.objective >= 0.995 * e.objective
    assert f.bound >= e.objective - 1e-6
    assert f.gap is not None and f.gap == pytest.approx((f.bound - f.objective) / f.objective)


def test_backup_counts_second_cover() -> None:
    # two demand points, three sites: s0 and s1 cover d0, s2 covers d1; K = 2
    costs = np.array([[1.0, 9.0], [1.0, 9.0], [9.0, 1.0]])
    w = np.array([1.0, 1.5])
    plain = solve(CoverageProblem.from_costs(costs, w, 2.0, 2, levels=1), "exact")
    assert plain.chosen in ([0, 2], [1, 2]) and plain.covered_weight == 2.5
    backup = solve(CoverageProblem.from_costs(costs, np.array([1.0, 0.9]), 2.0, 2, levels=2), "exact")
    # s0+s1 cover d0 twice (2 × 1.0 = 2.0) beats s0+s2 (1.0 + 0.9 = 1.9)
    assert backup.chosen == [0, 1] and backup.backup_weight == 1.0 and backup.objective == 2.0


def test_lp_bound_is_not_below_the_optimum() -> None:
    d, w = _random_instance(7, n=200, m=30, k=4)
    p = CoverageProblem.from_costs(d, w, 1000.0, 4)
    e = solve(p, "exact")
    a = p.cover.astype(float)
    assert lp_bound(a, w, 4, 1) >= e.objective - 1e-6


@pytest.mark.parametrize(("k", "within", "code"), [(0, 5.0, "invalid_k"), (4, 5.0, "invalid_k"),
                                                   (1, 0.0, "invalid_within"), (1, -1.0, "invalid_within"),
                                                   (1, float("nan"), "invalid_within")])
def test_bad_parameters(k: int, within: float, code: str) -> None:
    with pytest.raises(InvalidInput) as exc:
        CoverageProblem.from_costs(np.ones((3, 2)), np.ones(2), within, k)
    assert exc.value.code == code


def test_nothing_coverable_is_optimal_with_zero() -> None:
    r = solve(CoverageProblem.from_costs(np.full((3, 2), 10.0), np.ones(2), 1.0, 2), "exact")
    assert r.objective == 0 and r.proven_optimal and len(r.chosen) == 2


@pytest.mark.parametrize("levels", [1, 2])
def test_interchange_gains_equal_the_change_of_objective(levels: int) -> None:
    from jingwu.planning.coverage import _Search

    rng = np.random.default_rng(levels)
    for _ in range(20):
        a = (rng.random((30, 12)) < 0.3).astype(float)
        w = rng.uniform(0, 5, 30)
        s = _Search(a, w, 4, levels)
        chosen = rng.choice(12, 4, replace=False)
        base = s.value(s.counts(chosen))
        # one round of local search makes the best swap; its objective must be the largest single swap
        best_swap = max(s.value(s.counts(np.where(np.arange(4) == j, k, chosen)))
                        for j in range(4) for k in range(12) if k not in chosen)
        after = s.local_search(chosen, max_rounds=1)
        assert s.value(s.counts(after)) == pytest.approx(max(base, best_swap))
