"""Strategies: determinism and exact replay, batches, failed runs, the registry."""

from __future__ import annotations

import numpy as np
import pytest

from campaigns.config import CampaignConfig, Outcome
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


def test_failed_runs_enter_the_gp_at_the_worst_successful_score(tmp_path):
    cfg = _config(tmp_path)
    worst = make_strategy("gp", make_context(cfg))
    assert isinstance(worst, GPStrategy)
    rs = worst.ask(4)
    outs = [_outcome(r) for r in rs]
    failed_recipe = rs[0]
    outs[0] = Outcome(None, None, True, "shorted cell")
    worst.tell(rs, outs)
    xs, ys = worst._training_set()
    assert len(xs) == 4 and ys[0] == max(o.score for o in outs[1:])
    drop_cfg = CampaignConfig.from_text(cfg.text.replace('acq_optimizer = "sampling"',
                                                         'acq_optimizer = "sampling"\nfailure_penalty = "drop"'))
    drop = make_strategy("gp", make_context(drop_cfg))
    drop.tell(rs, outs)
    assert len(drop._training_set()[0]) == 3
    # the GP that knows the failure predicts a worse score there than the one that dropped it
    assert worst.predict([failed_recipe])[0][0] > drop.predict([failed_recipe])[0][0]


def test_random_strategy_samples_log_dimensions_log_uniformly(tmp_path):
    s = make_strategy("random", make_context(_config(tmp_path, strategy="random")))
    pumps = np.array([r.pumpdown_min for r in s.ask(400)])
    # log-uniform on [30, 2880]: the geometric midpoint ~294 min splits the samples in half
    assert 0.4 < np.mean(pumps < np.sqrt(30 * 2880)) < 0.6


@pytest.mark.parametrize("acq", ["EI", "PI", "LCB", "gp_hedge"])
def test_every_acquisition_function_proposes_deterministically(tmp_path, acq):
    cfg = _config(tmp_path)
    cfg = CampaignConfig.from_text(cfg.text.replace('acq_optimizer = "sampling"',
                                                    f'acq_optimizer = "sampling"\nacq_func = "{acq}"'))
    runs = []
    for _ in range(2):
        s = make_strategy("gp", make_context(cfg))
        rs = s.ask(5)
        s.tell(rs, [_outcome(r) for r in rs])
        runs.append(s.ask(2))
    assert runs[0] == runs[1] and runs[0][0] != runs[0][1]
