"""``twin-mobo``'s calibration of the twin against every goal at once (:mod:`campaigns.mobo_calibrate`): on a tool
unlike its twin it refits the parameters the runs call for and predicts unseen recipes better; on a tool that is
its twin it refits nothing; proposals stay exactly reproducible."""

from pathlib import Path

import numpy as np
import pytest

from campaigns.config import CampaignConfig
from campaigns.errors import CampaignError
from campaigns.mobo_calibrate import profile_gains
from campaigns.strategies import context, make_strategy
from campaigns.twin_ensemble import candidate_parameters
from twin import Chamber, SimulatedTool, expected_outcomes

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "campaigns" / "lipon_pareto.toml"
O_MINUS = "energetics.o_minus_per_sputtered_o"


def _tool_runs(chamber, n, seed=0):
    """``n`` random recipes of the example, each run on a freshly vented tool of ``chamber`` (no carry-over)."""
    config = CampaignConfig.from_toml(EXAMPLE)
    recipes = [config.space.to_recipe(p) for p in config.space.sample(n, np.random.default_rng(seed))]
    outs = [config.objective.evaluate(SimulatedTool(chamber, seed=seed, run_index=k).run(r).to_dict(), r.to_dict())
            for k, r in enumerate(recipes)]
    return config, recipes, outs


def _strategy(config, recipes, outs, **settings):
    s = make_strategy("twin-mobo", context(config, Chamber()))
    s.settings.update(settings)
    s.tell(recipes, outs)
    return s


def _log_r_error(strategy, config, chamber):
    held = [config.space.to_recipe(p) for p in config.space.sample(200, np.random.default_rng(9))]
    truth = np.log10(expected_outcomes(held, chamber).interface_resistance_ohm_cm2)
    return float(np.sqrt(np.mean((strategy.predict(held)[0][:, 0] - truth) ** 2)))


def test_a_tool_unlike_the_twin_is_calibrated_and_predicted_better():
    base = Chamber()
    tool = base.replace({O_MINUS: base.get(O_MINUS) * 10.0}, name="more O- than the twin")
    config, recipes, outs = _tool_runs(tool, 12)
    cal = _strategy(config, recipes, outs)
    plain = _strategy(config, recipes, outs, calibrate=False)
    cal.ask(1)
    plain.ask(1)
    diag = cal.diagnostics()
    assert diag["calibrated"] and diag["calibration"]["successful_runs"] >= 3, diag
    assert plain.diagnostics()["calibrated"] == []
    # R_int of 200 unseen recipes on the tool's deterministic twin, log10 RMS error: 0.10 vs 0.39 when written
    assert _log_r_error(cal, config, tool) < 0.5 * _log_r_error(plain, config, tool)


def test_a_tool_that_is_the_twin_calibrates_nothing():
    config, recipes, outs = _tool_runs(Chamber(), 12, seed=3)
    cal = _strategy(config, recipes, outs)
    plain = _strategy(config, recipes, outs, calibrate=False)
    first = cal.ask(1)
    assert cal.diagnostics()["calibrated"] == []
    assert plain.ask(1) == first


def test_profile_gains_are_zero_on_the_twins_own_values_and_large_for_the_changed_parameter():
    config = CampaignConfig.from_toml(EXAMPLE)
    s = make_strategy("twin-mobo", context(config, Chamber()))
    twin = s.default_twin()
    u = np.random.default_rng(1).random((15, len(config.space)))
    priors = candidate_parameters(Chamber())
    floors = 0.3 * twin.spread
    same, _ = profile_gains(lambda rows, par: twin._raw(rows, par)[0], priors, u, twin._raw(u)[0], floors)
    assert max(same.values()) < 1e-6
    o_minus = next(p for p in priors if p.name == O_MINUS)
    y = twin._raw(u, {O_MINUS: o_minus.value * 10.0})[0]
    gains, shapes = profile_gains(lambda rows, par: twin._raw(rows, par)[0], priors, u, y, floors)
    assert gains[O_MINUS] > 100 and gains[O_MINUS] >= 0.5 * max(gains.values()), sorted(gains.items(),
                                                                                        key=lambda kv: -kv[1])[:4]
    assert shapes[O_MINUS].shape == (15 * y.shape[1],)


def test_calibrated_proposals_are_exactly_reproducible():
    base = Chamber()
    tool = base.replace({O_MINUS: base.get(O_MINUS) * 10.0}, name="more O- than the twin")
    config, recipes, outs = _tool_runs(tool, 8, seed=5)
    a = _strategy(config, recipes, outs).ask(2)
    assert _strategy(config, recipes, outs).ask(2) == a and a[0] != a[1]


@pytest.mark.parametrize("key, value", [("max_parameters", 21), ("max_parameters", -1), ("n_samples", 8)])
def test_calibration_settings_out_of_range_are_refused(key, value):
    config = CampaignConfig.from_toml(EXAMPLE)
    ctx = context(config, Chamber())
    with pytest.raises(CampaignError, match=key):
        make_strategy("twin-mobo", ctx.__class__(**{**ctx.__dict__, "settings": {key: value}}))


def test_a_calibration_that_predicts_the_runs_worse_than_the_default_twin_is_dropped(monkeypatch):
    import campaigns.mobo_calibrate as mc

    config, recipes, outs = _tool_runs(Chamber(), 12, seed=3)  # the tool is the twin
    wrong = mc.Calibration({O_MINUS: Chamber().get(O_MINUS) * 30.0}, {"calibrated": [O_MINUS]})
    monkeypatch.setattr(mc, "calibrate", lambda *a, **k: wrong)
    s = _strategy(config, recipes, outs)
    plain = _strategy(config, recipes, outs, calibrate=False)
    assert s.ask(1) == plain.ask(1)
    diag = s.diagnostics()
    assert diag["calibrated"] == [] and diag["calibration"]["kept"] is False
    assert diag["calibration"]["loo_calibrated"] < diag["calibration"]["loo_default"]


def test_leave_one_out_density_is_the_refit_without_the_run():
    from scipy.stats import norm

    from campaigns._skopt import fit_gp

    rng = np.random.default_rng(4)
    u = rng.random((9, 2))
    y = np.sin(4 * u[:, 0]) + u[:, 1] ** 2 + 0.05 * rng.standard_normal(9)
    for gp in (fit_gp(u, y, seed=1), fit_gp(u, y, seed=1, amplitude_bounds=(0.01, 4.0))):
        m = gp.model  # the fitted kernel on the same targets, each run left out in turn; skopt zeroes the kernel's
        k = m.kernel_(u) + (float(m.noise_ or 0.0) + m.alpha) * np.eye(len(y))  # noise after the fit: added back
        t = np.asarray(m.y_train_, float).ravel()
        scale = gp._y_scale()
        brute = 0.0
        for i in range(len(y)):
            r = np.arange(len(y)) != i
            w = np.linalg.solve(k[np.ix_(r, r)], k[r, i])
            mean, var = w @ t[r], k[i, i] - w @ k[r, i]
            brute += float(norm.logpdf(t[i] * scale, mean * scale, np.sqrt(var) * scale))
        assert gp.loo_log_density() == pytest.approx(brute, rel=1e-8)


def test_a_twin_mobo_campaign_stores_what_its_calibration_did(tmp_path):
    from campaigns.store import CampaignStore
    from sputter_twin.cli.main import main
    from tests.campaigns.mo_helpers import mo_campaign

    camp = mo_campaign(tmp_path, budget=7, strategy="twin-mobo", settings="n_initial = 3\nn_points = 300")
    store = tmp_path / "s.sqlite"
    assert main(["campaign", "run", str(camp), "--store", str(store), "--no-progress"]) == 0
    with CampaignStore(store, create=False) as s:
        trials = s.trials(1)
    assert len(trials) == 7 and all(t.state in ("done", "failed") for t in trials)
    model = trials[-1].provenance["model"]
    assert isinstance(model["calibrated"], list)
    assert model["calibration"]["successful_runs"] >= 3 and model["calibration"]["profile_gain"]
