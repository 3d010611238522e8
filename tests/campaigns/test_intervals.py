"""Predictive intervals calibrated on the campaign's own track record (campaigns.intervals), through the strategy,
the runner and the store."""

from __future__ import annotations

import dataclasses
import math
import re

import numpy as np
import pytest
from scipy.stats import norm

from campaigns.config import Outcome
from campaigns.intervals import HALF_LIFE_RUNS, PRIOR_RUNS, IntervalCalibration, model_free_std
from campaigns.runner import load_campaign, outcomes, proposal_prediction, rebuild_strategy, trial_proposal
from campaigns.store import CampaignStore
from campaigns.strategies import context as make_context
from campaigns.strategies import make_strategy
from sputter_twin.cli.main import main
from tests.campaigns.helpers import small_campaign


def _errors(n: int, bias: float, scale: float, seed: int = 0) -> np.ndarray:
    """Standardised errors with exactly Gaussian quantiles, in a seeded random order."""
    z = norm.ppf((np.arange(n) + 0.5) / n)
    return bias + scale * np.random.default_rng(seed).permutation(z)


def _record(z, sigma=0.1, free=0.2):
    """Proposals predicted at mean 1 with the model's σ ``sigma``, measured ``z`` of those σ away."""
    return [(1.0 + sigma * v, 1.0, sigma, free) for v in z]


def _coverage(record, cal: IntervalCalibration) -> tuple[float, float]:
    """Share of the record that the calibrated ±1σ and ±2σ hold, each with the model-free σ of its own time."""
    y, m, s, free = np.array(record).T
    std = np.sqrt((cal.scale * s) ** 2 + (cal.model_free * free) ** 2) * cal.t
    a = np.abs((y - m - cal.bias * s) / std)
    return float(np.mean(a <= 1)), float(np.mean(a <= 2))


@pytest.mark.parametrize("bias, scale", [(0.0, 1.0), (0.0, 3.0), (1.5, 2.0), (-1.0, 0.5)])
def test_a_long_record_recovers_the_shift_and_scale_of_the_errors(bias, scale):
    record = _record(_errors(60, bias, scale))
    cal = IntervalCalibration.fit(record, [r[0] for r in record])
    assert cal.n == 60
    weight = sum(0.5 ** (k / HALF_LIFE_RUNS) for k in range(60))
    assert cal.bias == pytest.approx(bias * weight / (weight + PRIOR_RUNS), abs=0.3 * scale)  # shrunk towards 0
    widened = math.hypot(cal.scale * 0.1, cal.model_free * 0.2) / 0.1  # both components, in model σ
    assert widened == pytest.approx(scale, rel=0.4)
    c1, c2 = _coverage(record[-20:], cal)  # the recent record, which weighs most
    assert 0.5 <= c1 <= 0.9 and c2 >= 0.85


def test_heavy_tailed_misses_where_the_model_claimed_least_call_for_the_model_free_part():
    """Most proposals are right to their σ; a quarter had a σ ten times too small and missed by the model-free
    spread: a single factor on σ cannot hold both, the model-free component can."""
    rng = np.random.default_rng(1)
    record = []
    for k in range(40):
        if k % 4 == 3:
            record.append((1.0 + 0.2 * rng.normal(), 1.0, 0.01, 0.2))
        else:
            record.append((1.0 + 0.1 * rng.normal(), 1.0, 0.1, 0.2))
    cal = IntervalCalibration.fit(record, [r[0] for r in record])
    assert cal.model_free > 0.3
    c1, c2 = _coverage(record[-24:], cal)
    assert 0.55 <= c1 <= 0.9 and c2 >= 0.85


def test_no_record_leaves_the_model_alone_but_for_the_model_free_floor():
    cal = IntervalCalibration.fit([])
    assert (cal.bias, cal.scale, cal.model_free, cal.floor, cal.t) == (0.0, 1.0, 0.0, 0.0, 1.0)
    scores = [1.0, 1.2, 0.9, 1.1]
    floor = IntervalCalibration.fit([], scores).floor
    t_over_z = 3.182446 / 1.959964  # Student-t(3) and normal 97.5 % quantiles
    mad = np.median(np.abs(np.array(scores) - np.median(scores)))
    assert floor == pytest.approx(1.4826 * mad * math.sqrt(1 + 1 / 4) * t_over_z)
    # one run in a hopeless corner does not widen every interval after it
    assert model_free_std([*scores, 3.6]) < 2 * model_free_std(scores)
    mean, std = IntervalCalibration.fit([], scores).apply(np.array([1.0, 2.0]), np.array([0.01, 1.0]))
    assert mean.tolist() == [1.0, 2.0] and std.tolist() == pytest.approx([floor, 1.0])
    # the floor fades as the record grows: a model that has been right keeps its narrow intervals
    fading = [IntervalCalibration.fit(_record(_errors(k, 0.0, 1.0)), scores).floor for k in (1, 5, 20)]
    assert floor > fading[0] > fading[1] > fading[2] and fading[2] < 0.2 * floor


def test_a_well_calibrated_model_is_left_nearly_alone():
    cal = IntervalCalibration.fit(_record(_errors(40, 0.0, 1.0, seed=4)))
    assert abs(cal.bias) < 0.5  # about 12 proposals weigh: sampling error ~0.2
    assert 0.75 <= cal.scale <= 1.3 and cal.model_free < 0.3 and 1.0 < cal.t < 1.15


def test_from_outcomes_takes_the_model_free_spread_as_it_was_at_each_proposal():
    told = [Outcome(None, y, False, predicted=(y - 0.05, 0.05)) for y in (1.0, 1.3, 0.8, 1.1, 1.2)]
    told.insert(2, Outcome(None, None, True, "shorted cell", predicted=(1.0, 0.05)))  # failed: no record
    cal = IntervalCalibration.from_outcomes(told)
    scores = [1.0, 1.3, 0.8, 1.1, 1.2]
    record = [(y, y - 0.05, 0.05, model_free_std(scores[:k])) for k, y in enumerate(scores)]
    assert cal == IntervalCalibration.fit(record, scores) and cal.n == 5


def test_round_trip_through_a_dict_and_garbage_gives_no_calibration():
    cal = IntervalCalibration.fit(_record(_errors(10, 1.0, 2.0)), [1.0, 2.0])
    assert IntervalCalibration.from_dict(cal.to_dict()) == cal
    assert IntervalCalibration.from_dict("nonsense") == IntervalCalibration()
    assert IntervalCalibration.from_dict({"scale": "x"}) == IntervalCalibration()


def test_gp_widens_its_intervals_after_proposals_that_missed_by_three_sigma(tmp_path):
    cfile = small_campaign(tmp_path)
    from campaigns import CampaignConfig

    cfg = CampaignConfig.from_toml(cfile)
    rng = np.random.default_rng(2)
    recipes = [cfg.space.to_recipe(p) for p in cfg.space.sample(16, rng)]
    scores = [1.0 + 0.1 * math.sin(i) for i in range(16)]
    honest = [Outcome(10**y, y, False) for y in scores]
    # each run was predicted (before it ran) with a standard deviation a third of its actual miss
    missed = [dataclasses.replace(o, predicted=(o.score - 0.3 * (-1) ** i, 0.1)) for i, o in enumerate(honest)]
    plain = make_strategy("gp", make_context(cfg))
    plain.tell(recipes, honest)
    told = make_strategy("gp", make_context(cfg))
    told.tell(recipes, missed)
    probe = [cfg.space.to_recipe(p) for p in cfg.space.sample(5, np.random.default_rng(9))]
    own_mean, own_std = told.model_predictive(probe)
    mean, std = told.predict(probe)
    assert np.allclose(own_mean, plain.model_predictive(probe)[0])  # the model itself is the same
    assert np.all(std >= 2.0 * own_std)
    cal = told.interval_calibration()
    assert math.hypot(cal.scale * 0.1, cal.model_free * cal.model_free_std) / 0.1 == pytest.approx(3.0, rel=0.4)
    assert abs(told.interval_calibration().bias) < 0.5  # misses on both sides: no shift


def test_the_runner_keeps_the_models_own_prediction_and_replays_it_as_the_track_record(tmp_path, capsys):
    cfile = small_campaign(tmp_path, budget=9, batch=2)
    store = tmp_path / "c.sqlite"
    assert main(["campaign", "run", str(cfile), "--store", str(store)]) == 0
    capsys.readouterr()
    with CampaignStore(store) as s:
        cid, config, chamber = load_campaign(s, s.campaigns()[0].id)
        trials = s.trials(cid)
    told = outcomes(config, trials)
    with_record = [(t, o) for t, o in told if o.predicted is not None]
    assert len(with_record) >= 4  # every proposal made once the GP existed
    for t, o in with_record:
        cal = IntervalCalibration.from_dict(t.provenance["interval"])
        mean, std = cal.apply(o.predicted[0], o.predicted[1])
        assert t.predicted_mean == pytest.approx(float(mean)) and t.predicted_std == pytest.approx(float(std))
    # the batch's provenance keeps one prediction per recipe, matched by position in the batch
    batch = [t for t in trials if t.batch == with_record[0][0].batch]
    assert len(batch) == 2 and proposal_prediction(batch[1], 1) != proposal_prediction(batch[0], 0)
    assert proposal_prediction(batch[1], 1) == tuple(batch[1].provenance["interval"]["model"][1])
    assert proposal_prediction(batch[0], 5) is None
    # replay is exact: the rebuilt strategy predicts what it predicted, and calibrates from the stored record
    a, b = rebuild_strategy(config, chamber, trials), rebuild_strategy(config, chamber, trials)
    probe = [trial_proposal(t) for t in trials[:3]]
    assert np.array_equal(a.predict(probe)[1], b.predict(probe)[1])
    assert a.interval_calibration().n == sum(1 for _, o in with_record if not o.failed)


def test_campaign_status_says_how_the_intervals_were_calibrated(tmp_path, capsys):
    cfile = small_campaign(tmp_path, budget=8)
    store = tmp_path / "s.sqlite"
    assert main(["campaign", "run", str(cfile), "--store", str(store)]) == 0
    assert main(["campaign", "status", "--store", str(store)]) == 0
    out = capsys.readouterr().out
    assert re.search(r"intervals at trial \d+: calibrated on \d+ earlier proposal\(s\), ×[0-9.]+ the model's σ, "
                     r"shifted [+-][0-9.]+σ", out), out
