"""The Gamma prior on GP length scales (``campaigns._gp_prior``) and ``mobo``'s ``length_scale_prior`` setting."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.stats import gamma

from campaigns import _skopt
from campaigns._gp_prior import GAMMA_RATE, GAMMA_SHAPE, length_scale_indices, neg_log_prior
from campaigns.ask_tell import AskTell
from campaigns.errors import CampaignError
from campaigns.variables import Real


@settings(max_examples=30, deadline=None)
@given(st.lists(st.floats(-4.0, 4.0), min_size=1, max_size=6))
def test_neg_log_prior_is_the_gamma_density_in_log_coordinates_with_its_gradient(theta):
    theta = np.array(theta)
    idx = np.arange(len(theta))
    value, grad = neg_log_prior(theta, idx)
    ell = np.exp(theta)
    # Gamma(a, rate b) density of ℓ times the Jacobian dℓ/dθ = ℓ, up to a constant
    exact = -np.sum(gamma.logpdf(ell, GAMMA_SHAPE, scale=1.0 / GAMMA_RATE) + theta)
    const = len(theta) * (GAMMA_SHAPE * np.log(GAMMA_RATE) - np.log(2.0))  # log Γ(3) = log 2
    assert value == pytest.approx(exact + const, rel=1e-9, abs=1e-9)
    h = 1e-6
    for j in range(len(theta)):
        e = np.zeros_like(theta)
        e[j] = h
        fd = (neg_log_prior(theta + e, idx)[0] - neg_log_prior(theta - e, idx)[0]) / (2 * h)
        assert grad[j] == pytest.approx(fd, rel=1e-5, abs=1e-6)


def test_only_length_scales_get_the_prior():
    u = np.random.default_rng(0).random((12, 3))
    gp = _skopt.fit_gp(u, u[:, 0], seed=1, length_scale_prior=True)
    kernel = gp.model.kernel_  # amplitude × Matérn(3 length scales) + noise: θ = [log a, log ℓ1..3, log noise]
    assert len(kernel.theta) == 5
    assert list(length_scale_indices(kernel)) == [1, 2, 3]
    assert neg_log_prior(np.zeros(5), np.array([], int)) == (0.0, pytest.approx(np.zeros(5)))


def test_prior_keeps_a_weak_variable_relevant_where_maximum_likelihood_drops_it():
    """Ten points in 4-D of a function with a strong first variable and a weak quadratic bowl in the rest (as in
    DTLZ2's distance variables): maximum likelihood sends some length scale to skopt's upper bound (100), the MAP
    estimate keeps every one where the data and prior put it (well below)."""
    rng = np.random.default_rng(3)
    u = rng.random((10, 4))
    y = np.cos(u[:, 0] * np.pi / 2) * (1.0 + np.sum((u[:, 1:] - 0.5) ** 2, axis=1))
    ml = _skopt.fit_gp(u, y, seed=2).model.kernel_
    mp = _skopt.fit_gp(u, y, seed=2, length_scale_prior=True).model.kernel_
    ell = lambda k: np.exp(k.theta[length_scale_indices(k)])  # noqa: E731
    assert ell(ml).max() > 50.0
    assert ell(mp).max() < 5.0


def test_mobo_setting_is_checked():
    with pytest.raises(CampaignError) as exc:
        AskTell([Real("x1", 0.0, 1.0), Real("x2", 0.0, 1.0)], "mobo", seed=0, objectives=["minimize", "minimize"],
                reference=[1.0, 1.0], settings={"length_scale_prior": "sometimes"})
    assert "length_scale_prior" in str(exc.value)
