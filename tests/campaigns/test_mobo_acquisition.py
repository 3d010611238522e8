"""The multi-objective acquisition layer: box decomposition, exact EHVI against Monte Carlo, the feasibility rule,
and the kriging believer on the shared constant liar."""

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from campaigns import acquisition as acq
from campaigns import acquisition_mo as amo
from campaigns.pareto import hypervolume, nondominated_boxes


def _box_volume(lo, hi, floor):
    lo = np.maximum(lo, floor)
    return float(np.prod(np.maximum(hi - lo, 0.0), axis=1).sum())


@settings(max_examples=60, deadline=None)
@given(st.integers(2, 4), st.lists(st.tuples(*[st.floats(0, 1)] * 4), min_size=0, max_size=10))
def test_boxes_cover_exactly_what_the_front_does_not_dominate(m, rows):
    Y = np.array(rows, float).reshape(-1, 4)[:, :m]
    ref = np.full(m, 1.2)
    lo, hi = nondominated_boxes(Y, ref)
    # disjoint boxes: their volumes add up to the reference box minus the hypervolume
    assert _box_volume(lo, hi, 0.0) == pytest.approx(1.2**m - hypervolume(Y, ref), abs=1e-9)
    # no front point lies strictly inside a box
    for y in Y:
        assert not np.any(np.all((y > lo) & (y < hi), axis=1))


def _mc_ehvi(front, ref, mean, std, n, rng):
    base = hypervolume(front, ref)
    draws = mean + std * rng.standard_normal((n, len(mean)))
    hvi = np.array([hypervolume(np.vstack([front, d]), ref) - base for d in draws])
    return hvi.mean(), hvi.std() / math.sqrt(n)


@pytest.mark.parametrize("m", [2, 3])
def test_ehvi_matches_monte_carlo(m):
    rng = np.random.default_rng(10 + m)
    front = rng.random((6, m))
    ref = np.full(m, 1.1)
    lo, hi = nondominated_boxes(front, ref)
    cases = [(rng.random(m) * 0.8, rng.uniform(0.05, 0.4, m)) for _ in range(3)]
    cases.append((np.full(m, 0.9), np.full(m, 0.01)))  # nearly certain, dominated: ~0
    for mean, std in cases:
        exact = amo.expected_hypervolume_improvement(mean[None, :], std[None, :], lo, hi)[0]
        mc, se = _mc_ehvi(front, ref, mean, std, 3000, rng)
        assert abs(exact - mc) < 4 * se + 1e-6, (mean, std, exact, mc, se)


def test_ehvi_with_no_uncertainty_is_the_hypervolume_improvement():
    front = np.array([[0.2, 0.8], [0.5, 0.5], [0.8, 0.2]])
    ref = np.array([1.0, 1.0])
    lo, hi = nondominated_boxes(front, ref)
    y = np.array([[0.3, 0.3], [0.9, 0.9], [0.0, 0.0]])
    got = amo.expected_hypervolume_improvement(y, np.full_like(y, 1e-12), lo, hi)
    want = [hypervolume(np.vstack([front, r]), ref) - hypervolume(front, ref) for r in y]
    np.testing.assert_allclose(got, want, atol=1e-9)


class _Linear:
    """A fake surrogate: mean ``w·u + b``, a constant std; conditioning changes nothing."""

    def __init__(self, w, b, std=0.05):
        self.w, self.b, self.s = np.asarray(w, float), float(b), std

    def posterior(self, u):
        u = np.atleast_2d(u)
        return acq.Posterior.gaussian(u @ self.w + self.b, np.full(len(u), self.s))

    def condition(self, u, y):
        return self


def test_no_proposal_the_model_rates_more_likely_infeasible():
    # goals improve towards x0 = 1, but the constraint slack (x0 − 0.4) is feasible only for x0 < 0.4:
    # EHVI alone would go to x0 = 1
    goals = [_Linear([-1.0, 0.0], 1.0), _Linear([-1.0, 0.3], 1.0)]
    cons = [_Linear([1.0, 0.0], -0.4, std=0.05)]
    model = amo.MultiSurrogate(goals, cons, None, np.array([[0.9, 0.9]]), np.array([1.2, 1.5]))
    gain = amo.HypervolumeImprovement()
    rng = np.random.default_rng(0)
    best = acq.maximise(lambda u: gain(model, u), 2, rng, n_points=500)
    assert model.feasibility(best[None, :])[0] > 0.5
    assert 0.3 < best[0] < 0.45  # as far towards the goals as feasibility allows
    unconstrained = amo.MultiSurrogate(goals, [], None, np.array([[0.9, 0.9]]), np.array([1.2, 1.5]))
    assert acq.maximise(lambda u: gain(unconstrained, u), 2, rng, n_points=500)[0] > 0.9
    # gains: negative exactly where P(feasible) <= 0.5
    u = rng.random((400, 2))
    g, pf = gain(model, u), model.feasibility(u)
    assert np.all((g < 0) == (pf <= 0.5))


def test_nothing_feasible_gives_the_most_feasible_point():
    goals = [_Linear([-1.0, 0.0], 1.0), _Linear([0.0, -1.0], 1.0)]
    cons = [_Linear([0.0, -1.0], 2.0, std=0.5)]  # slack 2 − x1: P(feasible) < 0.5 everywhere, best at x1 = 1
    model = amo.MultiSurrogate(goals, cons, None, np.zeros((0, 2)), np.array([1.2, 1.2]))
    best = acq.maximise(lambda u: amo.HypervolumeImprovement()(model, u), 2, np.random.default_rng(1), n_points=500)
    assert best[1] > 0.95


def test_kriging_believer_spreads_a_batch_through_the_shared_liar():
    goals = [_Linear([-1.0, 0.0], 1.0, std=0.05), _Linear([1.0, 0.0], 0.0, std=0.05)]
    model = amo.MultiSurrogate(goals, [], None, np.array([[0.5, 0.5]]), np.array([1.2, 1.2]))
    rng = np.random.default_rng(3)
    gain = amo.HypervolumeImprovement()

    def choose(g):
        return acq.maximise(g, 2, rng, n_points=300)

    u = acq.propose_batch(model, 3, gain, float("nan"), choose, lie=amo.believer)
    assert u.shape == (3, 2) and len({tuple(np.round(r, 6)) for r in u}) == 3
    # a told point joins the incumbent front at its posterior mean: EHVI there collapses
    told = model.condition(u[:1], amo.believer(model, u[:1]))
    assert len(told.incumbent) == 2
    assert gain(told, u[:1])[0] < 0.2 * gain(model, u[:1])[0]
