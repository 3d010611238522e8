"""Strategies: determinism and exact replay, batches, failed runs, the registry."""

from __future__ import annotations

import numpy as np
import pytest

from campaigns.config import CampaignConfig, Outcome
from campaigns.errors import CampaignError
from campaigns.strategies import GPStrategy, make_strategy, strategy_names
from campaigns.strategies import context as make_context
from tests.campaigns.helpers import small_campaign


def _config(tmp_path, **kw):
    return CampaignConfig.from_toml(small_campaign(tmp_path, **kw))


def _score(recipe) -> float:
    """A smooth synthetic objective (log10 units): best at low power and long pump-down."""
    return 1.0 + 0.3 * (recipe.rf_power_w / 240.0) ** 2 + 0.2 * abs(np.log10(recipe.pumpdown_min / 2000.0))


def _outcome(recipe) -> Outcome:
    s = _score(recipe)
    return Outcome(10 ** s, s, False)


def test_builtin_strategies_are_registered():
    assert {"gp", "random", "space-filling"} <= set(strategy_names())


@pytest.mark.parametrize("name", ["gp", "random", "space-filling"])
def test_replaying_tell_reproduces_the_live_proposals(tmp_path, name):
    cfg = _config(tmp_path, strategy=name)
    live = make_strategy(name, make_context(cfg))
    history, proposals = [], []
    for _ in range(7):
        (r,) = live.ask(1)
        assert live.ask(1) == [r]  # the same point until tell
        live.tell([r], [_outcome(r)])
        history.append(r)
        replay = make_strategy(name, make_context(cfg))
        replay.tell(history, [_outcome(x) for x in history])
        proposals.append((live.ask(2), replay.ask(2)))
    for a, b in proposals:
        assert a == b


def test_different_seeds_give_different_designs(tmp_path):
    a = make_strategy("gp", make_context(_config(tmp_path, seed=1))).ask(3)
    b = make_strategy("gp", make_context(_config(tmp_path, seed=2))).ask(3)
    assert a != b


def test_gp_batch_holds_distinct_recipes_inside_the_space(tmp_path):
    cfg = _config(tmp_path)
    s = make_strategy("gp", make_context(cfg))
    rs = s.ask(4)  # design points
    s.tell(rs, [_outcome(r) for r in rs])
    rs = s.ask(4)  # GP + constant liar
    assert len({tuple(sorted(r.to_dict().items())) for r in rs}) == 4
    for r in rs:
        for d in cfg.space.dimensions:
            assert d.low <= getattr(r, d.name) <= d.high
    mean, std = s.predict(rs)
    ei = s.expected_improvement(rs)
    assert np.all(np.isfinite(mean)) and np.all(std >= 0) and np.all(ei >= 0)


def test_gp_improves_on_its_design_on_a_smooth_objective(tmp_path):
    cfg = _config(tmp_path)
    s = make_strategy("gp", make_context(cfg))
    scores = []
    for _ in range(16):
        (r,) = s.ask(1)
        s.tell([r], [_outcome(r)])
        scores.append(_score(r))
    assert min(scores[4:]) < min(scores[:4]) - 0.05


def _with(cfg, setting: str) -> CampaignConfig:
    return CampaignConfig.from_text(cfg.text.replace('acq_optimizer = "sampling"',
                                                     f'acq_optimizer = "sampling"\n{setting}'))


def test_failed_runs_enter_the_gp_at_the_worst_successful_score(tmp_path):
    cfg = _with(_config(tmp_path), 'failure_penalty = "worst"')
    worst = make_strategy("gp", make_context(cfg))
    assert isinstance(worst, GPStrategy)
    rs = worst.ask(4)
    outs = [_outcome(r) for r in rs]
    failed_recipe = rs[0]
    outs[0] = Outcome(None, None, True, "shorted cell")
    worst.tell(rs, outs)
    xs, ys = worst._training_set()
    assert len(xs) == 4 and ys[0] == max(o.score for o in outs[1:])
    drop = make_strategy("gp", make_context(_with(_config(tmp_path), 'failure_penalty = "drop"')))
    drop.tell(rs, outs)
    assert len(drop._training_set()[0]) == 3
    # the GP that knows the failure predicts a worse score there than the one that dropped it
    assert worst.predict([failed_recipe])[0][0] > drop.predict([failed_recipe])[0][0]


def _fails(recipe) -> bool:
    """A deterministic failure region: every run above 170 W fails."""
    return recipe.rf_power_w > 170.0


def _told(tmp_path, n: int, failing, setting: str = 'failure_penalty = "model"', seed: int = 3):
    cfg = _config(tmp_path, seed=seed)
    s = make_strategy("gp", make_context(_with(cfg, setting)))
    rng = np.random.default_rng(seed)
    rs = [cfg.space.to_recipe(p) for p in cfg.space.sample(n, rng)]
    s.tell(rs, [Outcome(None, None, True, "shorted cell") if failing(r) else _outcome(r) for r in rs])
    return s, rs


def test_failure_model_keeps_failures_out_of_the_objective_gp(tmp_path):
    assert make_strategy("gp", make_context(_config(tmp_path))).settings["failure_penalty"] == "model"  # default
    s, rs = _told(tmp_path, 12, _fails)
    n_failed = sum(_fails(r) for r in rs)
    assert s.settings["failure_penalty"] == "model" and 0 < n_failed < 12
    xs, ys = s._training_set()
    assert len(xs) == 12 - n_failed and len(s._failed_points()) == n_failed
    assert max(ys) == pytest.approx(max(_score(r) for r in rs if not _fails(r)))


def test_failure_probability_is_high_where_runs_keep_failing_and_low_where_they_succeed(tmp_path):
    s, rs = _told(tmp_path, 30, _fails)
    model = s.model()
    assert model is not None and model.failed
    space = s.space
    probe = [space.to_point(r) for r in rs]
    p = model.failure_probability(probe)
    assert np.all((p > 0) & (p < 1))
    failed = np.array([_fails(r) for r in rs])
    assert p[failed].mean() > 0.5 > p[~failed].mean()
    assert p[failed].mean() - p[~failed].mean() > 0.3


def test_a_lone_random_failure_among_good_runs_barely_counts(tmp_path):
    lone = {}

    def one_random_short(recipe):
        if not lone:
            lone["r"] = recipe
        return recipe is lone["r"]

    s, rs = _told(tmp_path, 30, one_random_short)
    p = s.model().failure_probability([s.space.to_point(rs[0])])[0]
    assert p < 0.5  # the neighbourhood's successes outweigh the one failure
    assert s.model().failure_probability([s.space.to_point(rs[5])])[0] < 0.2


def test_gp_avoids_a_region_that_keeps_failing(tmp_path):
    """With the failure model, proposals leave the failing region; with failures dropped the GP cannot know it."""
    model_s, _ = _told(tmp_path, 20, _fails)
    proposals = model_s.ask(4)
    assert len({tuple(sorted(r.to_dict().items())) for r in proposals}) == 4
    assert sum(_fails(r) for r in proposals) == 0
    again, _ = _told(tmp_path, 20, _fails)
    assert again.ask(4) == proposals  # exact replay


def test_failure_model_without_failures_is_plain_gp(tmp_path):
    a, _ = _told(tmp_path, 10, lambda r: False)
    b, _ = _told(tmp_path, 10, lambda r: False, 'failure_penalty = "worst"')
    assert a.ask(3) == b.ask(3)
    # no failure seen: the smoothed rate 1 / (n + 2) everywhere, which leaves the acquisition's argmax alone
    assert a.model().failure_probability([a.points[0], a.points[5]]) == pytest.approx([1 / 12, 1 / 12])
    assert a.failure_probability(a._recipes(a.points[:2])) == pytest.approx([1 / 12, 1 / 12])
    assert np.isnan(b.failure_probability(b._recipes(b.points[:2]))).all()  # "worst" does not model failure


def test_random_strategy_samples_log_dimensions_log_uniformly(tmp_path):
    s = make_strategy("random", make_context(_config(tmp_path, strategy="random")))
    pumps = np.array([r.pumpdown_min for r in s.ask(400)])
    # log-uniform on [30, 2880]: the geometric midpoint ~294 min splits the samples in half
    assert 0.4 < np.mean(pumps < np.sqrt(30 * 2880)) < 0.6


@pytest.mark.parametrize("acq, penalty", [("EI", "model"), ("PI", "model"), ("EI", "worst"), ("PI", "worst"),
                                           ("LCB", "worst"), ("gp_hedge", "worst"), ("LCB", "drop")])
def test_every_acquisition_function_proposes_deterministically(tmp_path, acq, penalty):
    cfg = _with(_config(tmp_path), f'acq_func = "{acq}"\nfailure_penalty = "{penalty}"')
    runs = []
    for _ in range(2):
        s = make_strategy("gp", make_context(cfg))
        rs = s.ask(5)
        # one failed run, so that "model" takes its own path (the acquisition weighted by P(success))
        s.tell(rs, [Outcome(None, None, True, "shorted cell")] + [_outcome(r) for r in rs[1:]])
        runs.append(s.ask(2))
    assert runs[0] == runs[1] and runs[0][0] != runs[0][1]


@pytest.mark.parametrize("acq", ["LCB", "gp_hedge"])
def test_failure_model_refuses_an_acquisition_it_cannot_weight(tmp_path, acq):
    with pytest.raises(CampaignError) as info:  # refused when the file is read
        _with(_config(tmp_path), f'acq_func = "{acq}"\nfailure_penalty = "model"')
    msg = str(info.value)
    assert "strategy.acq_func" in msg and acq in msg and 'failure_penalty = "worst"' in msg and "\n" not in msg
    # left to the default, the rule for these acquisitions is "worst" (as it was before "model" became the default)
    s = make_strategy("gp", make_context(_with(_config(tmp_path), f'acq_func = "{acq}"')))
    assert s.settings["failure_penalty"] == "worst" and len(s.ask(1)) == 1


def test_failure_model_weights_probability_of_improvement_by_p_success(tmp_path):
    """With acq_func = "PI" the failure model's acquisition is PI × P(success), not EI."""
    from scipy.stats import norm

    s, rs = _told(tmp_path, 14, _fails, 'acq_func = "PI"')
    model = s.model()
    u = model.unit([s.space.to_point(r) for r in rs])
    y_opt = min(model.scores)
    mean, std = model.surrogate.predict_unit(u)
    want = norm.cdf((y_opt - s.settings["xi"] - mean) / std) * (1 - model.failure.probability(u))
    assert np.allclose(model.acquisition()(model.surrogate, u, y_opt), want)
    assert not np.allclose(model.acquisition("EI")(model.surrogate, u, y_opt), want)


def test_gp_s_own_predictive_is_the_latent_posterior_and_the_fitted_noise(tmp_path):
    s, _ = _told(tmp_path, 20, lambda r: False)
    model = s.model()
    mean, std = model.predictive([s.points[0]])
    _, latent = model.predict([s.points[0]])
    assert std == pytest.approx(np.sqrt(latent**2 + model.surrogate.noise_std**2))
    # with no proposal-time predictions told, only the model-free floor can widen what the store keeps
    assert np.all(s.predict(s._recipes([s.points[0]]))[1] >= std)
