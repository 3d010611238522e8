"""The contextual GP's kernel (:func:`campaigns._skopt.context_kernel`): what a run says about the recipe carries
over to another chamber state, the state shifts the score, and the GP still answers the latent score."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest
from sklearn.gaussian_process.kernels import Matern

from campaigns._gp_prior import length_scale_indices
from campaigns._skopt import GPSurrogate, context_kernel
from campaigns.config import CampaignConfig
from campaigns.errors import CampaignError
from campaigns.strategies import context as make_context
from campaigns.strategies import make_strategy
from tests.campaigns.helpers import small_campaign


def _shifted_runs(seed: int, n: int = 30) -> tuple[np.ndarray, np.ndarray]:
    """Scores ``(x0 - 0.3)² + (x1 - 0.6)² + 2 c`` plus noise: a recipe effect the same in every state, and a state
    that shifts every recipe's score (as wall water raises R_int whatever the recipe). Runs made in states c < 0.5."""
    rng = np.random.default_rng(seed)
    x = rng.random((n, 2))
    c = 0.5 * rng.random((n, 1))
    y = (x[:, 0] - 0.3) ** 2 + (x[:, 1] - 0.6) ** 2 + 2.0 * c[:, 0] + 0.01 * rng.standard_normal(n)
    return np.hstack([x, c]), y


def _ranking_error(gp: GPSurrogate, c_now: float, seed: int) -> float:
    """Mean absolute error of the predicted recipe effect (the score minus its mean over recipes) at a state no run
    was made in."""
    rng = np.random.default_rng(seed + 1000)
    x = rng.random((200, 2))
    truth = (x[:, 0] - 0.3) ** 2 + (x[:, 1] - 0.6) ** 2
    mean, _ = gp.predict_unit(np.hstack([x, np.full((200, 1), c_now)]))
    return float(np.mean(np.abs((mean - mean.mean()) - (truth - truth.mean()))))


def test_the_same_recipe_in_a_far_state_stays_correlated_through_the_recipe_term():
    k = context_kernel(2, 1)
    x = np.array([[0.2, 0.4, 0.0], [0.2, 0.4, 50.0], [0.9, 0.1, 50.0]])
    K = k(x)
    assert np.all(np.linalg.eigvalsh(K) > 0)
    # at the starting hyper-parameters (three unit amplitudes) the recipe term alone keeps a third of the
    # correlation however far the state; a single Matérn over all columns would keep none
    assert K[0, 1] / K[0, 0] > 0.3
    assert Matern(length_scale=[1.0, 1.0, 1.0], nu=2.5)(x)[0, 1] < 1e-6
    # a different recipe in that far state is less correlated than the same one
    assert K[0, 2] < K[0, 1]


def test_what_runs_say_about_the_recipe_carries_over_to_a_state_none_of_them_was_made_in():
    errors_structured, errors_product = [], []
    for seed in range(4):
        u, y = _shifted_runs(seed)
        structured = GPSurrogate(u, y, seed=seed, context_dims=1)
        product = GPSurrogate(u, y, seed=seed)  # one Matérn over recipe and context, as before
        errors_structured.append(_ranking_error(structured, 1.0, seed))
        errors_product.append(_ranking_error(product, 1.0, seed))
    assert np.mean(errors_structured) < np.mean(errors_product)
    assert np.mean(errors_structured) < 0.05


def test_the_contextual_gp_answers_the_latent_score_and_its_fitted_noise():
    u, y = _shifted_runs(0)
    gp = GPSurrogate(u, y, seed=0, context_dims=1)
    assert 0.0 < gp.noise_std < 0.1
    _, std = gp.predict_unit(u)
    assert np.all(std < gp.noise_std * 3)  # the latent std at the runs, not the noise-inflated one


def test_maximum_likelihood_sends_a_contextual_length_scale_to_its_bound_and_the_prior_does_not():
    """The runs of ``_shifted_runs(0)``: maximum likelihood calls a column irrelevant (length scale 100, skopt's
    bound); under the Gamma(3, 6) prior every free length scale stays near the prior's bulk, the pinned ones (a
    term ignoring the other columns) stay pinned, and the recipe effect still carries over to an unseen state."""
    u, y = _shifted_runs(0)
    ml = GPSurrogate(u, y, seed=0, context_dims=1)
    mp = GPSurrogate(u, y, seed=0, context_dims=1, length_scale_prior=True)
    free = length_scale_indices(context_kernel(2, 1))
    assert np.exp(ml.model.kernel_.theta[free]).max() > 50.0
    assert np.exp(mp.model.kernel_.theta[free]).max() < 5.0
    pinned = [3, 5, 6]  # θ: [a1, ℓ(recipe ×2), ℓ(ctx, pinned)], [a2, ℓ(recipe, pinned ×2), ℓ(ctx)], [a3, ℓ ×3]
    assert np.allclose(np.exp(mp.model.kernel_.theta[pinned]), 1e5)
    assert _ranking_error(mp, 1.0, 0) < 0.05


def test_length_scale_indices_leave_out_the_pinned_columns_of_the_context_kernel():
    # θ: [a1, ℓ(recipe ×3), ℓ(pinned ctx)], [a2, ℓ(pinned ×3), ℓ(ctx)], [a3, ℓ(all 4)]
    assert list(length_scale_indices(context_kernel(3, 1))) == [1, 2, 3, 9, 11, 12, 13, 14]


@pytest.mark.parametrize(("settings", "expected"), [
    ({"context": "auto"}, True), ({"context": ["hours_since_vent"]}, True), ({}, False),
    ({"context": "none"}, False), ({"context": "auto", "length_scale_prior": False}, False),
    ({"length_scale_prior": True}, True),
])
def test_gp_takes_map_length_scales_by_default_where_it_models_the_context(tmp_path, settings, expected):
    ctx = dataclasses.replace(make_context(CampaignConfig.from_toml(small_campaign(tmp_path))), settings=settings)
    assert make_strategy("gp", ctx).settings["length_scale_prior"] is expected


def test_a_length_scale_prior_that_is_not_true_or_false_is_refused(tmp_path):
    ctx = dataclasses.replace(make_context(CampaignConfig.from_toml(small_campaign(tmp_path))),
                              settings={"length_scale_prior": "yes"})
    with pytest.raises(CampaignError) as exc:
        make_strategy("gp", ctx)
    assert exc.value.field == "strategy.length_scale_prior"
