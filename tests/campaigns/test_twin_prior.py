"""Strategy twin-prior: the twin's optima first, the GP on the discrepancy, and reduction to gp."""

from __future__ import annotations

import dataclasses
import math

import numpy as np
import pytest

from campaigns import CampaignConfig, CampaignError
from campaigns.strategies import GPStrategy, context, make_strategy, strategy_names
from campaigns.twin_prior import TwinPriorStrategy, twin_score
from twin import Chamber, Recipe, SimulatedTool

CAMPAIGN = """
[campaign]
name = "tp"
seed = 3
[objective]
minimize = "interface_resistance_ohm_cm2"
log = true
[constraints]
thickness_tolerance = 0.1
[strategy]
name = "twin-prior"
n_search = 300
n_candidates = 200
n_local = 4
[space]
rf_power_w = [30.0, 240.0]
seed_power_w = [15.0, 120.0]
seed_thickness_nm = [0.0, 10.0]
pressure_pa = { low = 0.2, high = 3.0, log = true }
pumpdown_min = { low = 30.0, high = 2880.0, log = true }
[fixed]
target_thickness_nm = 100.0
"""


def _config(text: str = CAMPAIGN) -> CampaignConfig:
    return CampaignConfig.from_text(text)


def _observations(cfg: CampaignConfig, chamber: Chamber, n: int, seed: int = 0):
    rng = np.random.default_rng(seed)
    tool = SimulatedTool(chamber, seed=seed)
    recipes = [cfg.space.to_recipe(p) for p in cfg.space.sample(n, rng)]
    outcomes = [cfg.objective.evaluate(tool.run(r).to_dict(), r.to_dict()) for r in recipes]
    return recipes, outcomes


def test_registered_and_checked_by_the_campaign_file():
    assert "twin-prior" in strategy_names()
    cfg = _config()
    s = make_strategy("twin-prior", context(cfg, Chamber()))
    assert isinstance(s, TwinPriorStrategy) and s.settings["n_initial"] == 2
    with pytest.raises(CampaignError, match=r"strategy.n_local = 0: out of range \(allowed: \[1, 100\]\)"):
        _config(CAMPAIGN.replace("n_local = 4", "n_local = 0"))
    with pytest.raises(CampaignError, match="strategy.bogus = 1: unknown setting"):
        _config(CAMPAIGN.replace("n_local = 4", "bogus = 1"))
    with pytest.raises(CampaignError, match="strategy.failure_penalty"):
        _config(CAMPAIGN.replace("n_local = 4", 'failure_penalty = "ignore"'))


def test_twin_score_is_the_log_objective_of_the_deterministic_run():
    cfg = _config()
    from twin import simulate

    r = Recipe(rf_power_w=80.0)
    expected = math.log10(simulate(r, deterministic=True).interface_resistance_ohm_cm2)
    assert twin_score(Chamber(), cfg.objective, r) == pytest.approx(expected)
    # a recipe the twin predicts to fail is penalised
    thin = dataclasses.replace(cfg.objective, max_process_time_h=0.01)
    assert twin_score(Chamber(), thin, r, 0.5) == pytest.approx(expected + 0.5)


def test_first_proposals_are_the_twins_optima():
    cfg = _config()
    s = make_strategy("twin-prior", context(cfg, Chamber()))
    first, second = s.ask(2)
    optima = s.twin_optima()
    assert cfg.space.to_point(first) == pytest.approx(optima[0][0])
    assert cfg.space.to_point(second) == pytest.approx(optima[1][0])
    # the twin's optimum beats every point of an independent random search of the same twin
    rng = np.random.default_rng(123)
    others = [twin_score(Chamber(), cfg.objective, cfg.space.to_recipe(p)) for p in cfg.space.sample(400, rng)]
    assert optima[0][1] <= min(others) + 1e-9
    # and before any run the surrogate is the twin itself
    mean, std = s.predict([first])
    assert mean[0] == pytest.approx(optima[0][1]) and std[0] == 0.0


def test_constant_twin_gives_gps_posterior(monkeypatch):
    """An uninformative twin (the same prediction everywhere) makes twin-prior's surrogate *be* gp's: the same
    skopt GP fitted to residuals shifted by a constant, which its target normalisation removes. Posterior mean,
    standard deviation and expected improvement agree with gp's for the same observations and seed."""
    cfg = _config()
    recipes, outcomes = _observations(cfg, Chamber(), 9, seed=4)
    ctx = context(cfg, Chamber())
    tp = make_strategy("twin-prior", ctx)
    monkeypatch.setattr(tp.twin, "scores", lambda points: np.full(len(points), 1.234))
    gp = GPStrategy(dataclasses.replace(ctx, settings={}), {
        "n_initial": 10, "initial_design": "lhs", "acq_func": "EI", "xi": 0.01, "kappa": 1.96,
        "acq_optimizer": "auto", "n_points": 10000, "n_restarts_optimizer": 5, "failure_penalty": "worst"})
    for s in (tp, gp):
        s.tell(recipes, outcomes)
    probe = [cfg.space.to_recipe(p) for p in cfg.space.sample(25, np.random.default_rng(9))] + recipes[:3]
    m_tp, s_tp = tp.predict(probe)
    m_gp, s_gp = gp.predict(probe)
    np.testing.assert_allclose(m_tp, m_gp, rtol=1e-6, atol=1e-8)
    np.testing.assert_allclose(s_tp, s_gp, rtol=1e-6, atol=1e-8)
    np.testing.assert_allclose(tp.expected_improvement(probe), gp.expected_improvement(probe), rtol=1e-5,
                               atol=1e-9)
    assert np.ptp(m_tp) > 0.01  # the posterior is not flat: the equality is not trivial


def test_informative_twin_changes_the_posterior():
    cfg = _config()
    recipes, outcomes = _observations(cfg, Chamber(), 9, seed=4)
    ctx = context(cfg, Chamber())
    tp = make_strategy("twin-prior", ctx)
    gp = make_strategy("gp", dataclasses.replace(ctx, settings={}))
    for s in (tp, gp):
        s.tell(recipes, outcomes)
    probe = [cfg.space.to_recipe(p) for p in cfg.space.sample(25, np.random.default_rng(9))]
    assert np.max(np.abs(tp.predict(probe)[0] - gp.predict(probe)[0])) > 0.01


def test_the_gp_corrects_a_mismatched_twin():
    cfg = _config()
    reality = Chamber().replace({"interface.clean_resistance_ohm_cm2": 7.8 * 1.3})
    recipes, outcomes = _observations(cfg, reality, 10, seed=5)
    s = make_strategy("twin-prior", context(cfg, Chamber()))
    twin_only = s.predict(recipes)[0]
    s.tell(recipes, outcomes)
    ok = [i for i, o in enumerate(outcomes) if not o.failed]
    measured = np.array([outcomes[i].score for i in ok])
    post = s.predict([recipes[i] for i in ok])[0]
    # the twin alone is off by log10(1.3) ≈ 0.11; the posterior at the measured recipes is within the noise
    assert np.median(np.abs(twin_only[ok] - measured)) > 0.08
    assert np.median(np.abs(post - measured)) < 0.04


def test_same_seed_same_proposals_and_exact_resume():
    cfg = _config()
    recipes, outcomes = _observations(cfg, Chamber(), 4, seed=6)
    ctx = context(cfg, Chamber())
    a = make_strategy("twin-prior", ctx)
    a.tell(recipes, outcomes)
    b = make_strategy("twin-prior", ctx)
    b.tell(recipes[:2], outcomes[:2])
    b.tell(recipes[2:], outcomes[2:])
    pa, pb = a.ask(1), b.ask(1)
    assert pa == pb
    assert a.ask(1) == pa  # asking again without telling gives the same recipe


def test_batch_proposals_are_distinct_and_within_the_space():
    cfg = _config()
    recipes, outcomes = _observations(cfg, Chamber(), 4, seed=7)
    s = make_strategy("twin-prior", context(cfg, Chamber()))
    s.tell(recipes, outcomes)
    batch = s.ask(3)
    pts = [tuple(cfg.space.to_point(r)) for r in batch]
    assert len(set(pts)) == 3
    for r in batch:
        Chamber().check(r)


def test_twin_weight_follows_the_measurements(monkeypatch):
    """A twin whose differences are twice the real ones gets a weight near 1/2; a constant twin keeps 1; with
    ``twin_weight = "fixed"`` the weight is 1 whatever the twin."""
    cfg = _config()
    recipes, outcomes = _observations(cfg, Chamber(), 12, seed=8)
    ctx = context(cfg, Chamber())
    s = make_strategy("twin-prior", ctx)
    real = s.twin.scores
    monkeypatch.setattr(s.twin, "scores", lambda points: 2.0 * real(points))
    s.tell(recipes, outcomes)
    assert 0.35 < s.model().rho < 0.7
    flat = make_strategy("twin-prior", ctx)
    monkeypatch.setattr(flat.twin, "scores", lambda points: np.full(len(points), 0.9))
    flat.tell(recipes, outcomes)
    assert flat.model().rho == 1.0
    fixed = make_strategy("twin-prior", dataclasses.replace(ctx, settings={**ctx.settings, "twin_weight": "fixed"}))
    monkeypatch.setattr(fixed.twin, "scores", lambda points: 2.0 * real(points))
    fixed.tell(recipes, outcomes)
    assert fixed.model().rho == 1.0
