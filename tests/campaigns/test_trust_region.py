"""Trust regions of ``mobo`` (``campaigns.trust_region``): the side length's replay, the boxes, the hypervolume
gains that drive it, and the strategy keeping its proposals inside."""

import numpy as np
import pytest

from campaigns import trust_region as tr
from campaigns.ask_tell import AskTell
from campaigns.errors import CampaignError
from campaigns.variables import Real


def test_side_length_doubles_after_successes_halves_after_failures_and_restarts():
    assert tr.side_length([], 6) == tr.INITIAL
    assert tr.side_length([True] * 3, 6) == pytest.approx(2 * tr.INITIAL)
    assert tr.side_length([True] * 9, 6) == pytest.approx(tr.MAXIMUM)  # capped
    assert tr.side_length([False] * 5, 6) == pytest.approx(tr.INITIAL)  # 6 failures in a row needed in 6-D
    assert tr.side_length([False] * 6, 6) == pytest.approx(tr.INITIAL / 2)
    assert tr.side_length([False] * 4, 2) == pytest.approx(tr.INITIAL / 2)  # at least 4
    # a success resets the failures' count, and the other way round
    assert tr.side_length([False, False, False, True] * 3, 2) == pytest.approx(tr.INITIAL)
    # halved below the minimum: restart at the initial length
    halvings = int(np.ceil(np.log2(tr.INITIAL / tr.MINIMUM)))
    assert tr.side_length([False] * (4 * halvings), 2) == pytest.approx(tr.INITIAL)
    assert tr.side_length([False] * (4 * (halvings - 1)), 2) == pytest.approx(tr.INITIAL / 2 ** (halvings - 1))


def test_boxes_contain_their_samples_clip_at_the_faces_and_leave_categoricals_free():
    centres = np.array([[0.05, 0.5, 0.0], [0.9, 0.9, 1.0]])
    region = tr.TrustRegion(centres, 0.2, (0, 1))
    x = region.sample(np.random.default_rng(0), 2000)
    assert region.contains(x).all()
    assert x[:, :2].min() >= 0.0 and x[:, :2].max() <= 1.0
    near_first = x[::2]  # boxes are taken in turn
    assert near_first[:, 0].min() >= 0.0 and near_first[:, 0].max() <= 0.15 + 1e-12
    assert np.ptp(x[:, 2]) > 0.9  # the categorical column is not confined
    assert region.contains(np.array([[0.15, 0.59, 0.7], [0.5, 0.5, 0.0], [0.8, 1.0, 0.3]])).tolist() == [
        True, False, True]
    assert tr.TrustRegion(np.zeros((0, 3)), 0.2, (0, 1)).contains(np.ones((2, 3))).all()


def test_hypervolume_gains_count_only_feasible_runs_that_raise_the_front():
    scores = np.array([[2.0, 2.0], [1.0, 3.0], [3.0, 3.0], [0.5, 0.5], [0.1, 0.1], [1.5, 1.5]])
    feasible = np.array([True, True, True, True, False, True])
    assert tr.hypervolume_gains(scores, feasible, np.array([4.0, 4.0]), 1) == [True, False, True, False, False]
    assert tr.hypervolume_gains(scores, feasible, np.array([4.0, 4.0]), 6) == []


def _bowl(p):
    x, y = p["x1"], p["x2"]
    return ((x - 0.3) ** 2 + (y - 0.6) ** 2, (x - 0.6) ** 2 + (y - 0.4) ** 2)


def test_mobo_proposes_inside_its_trust_region_only_when_it_has_one():
    space = [Real("x1", 0.0, 1.0), Real("x2", 0.0, 1.0)]
    fast = {"n_initial": 5, "n_points": 300, "gp_restarts": 0, "n_restarts_optimizer": 2}
    opt = AskTell(space, "mobo", seed=3, objectives=["minimize", "minimize"], reference=[1.0, 1.0], settings=fast)
    while len(opt.points) < 7:
        pts = opt.ask(1)
        opt.tell(pts, [_bowl(p) for p in pts])
    for _ in range(2):
        region = opt.strategy.trust_region()
        assert region is not None
        assert region.length == tr.side_length(opt.strategy._improved(), 2)
        assert len(opt.strategy._improved()) == len(opt.points) - 5
        p = opt.ask(1)[0]
        assert region.contains(np.array([[p["x1"], p["x2"]]]))[0]
        opt.tell([p], [_bowl(p)])
    off = AskTell(space, "mobo", seed=3, objectives=["minimize", "minimize"], reference=[1.0, 1.0],
                  settings={**fast, "trust_region": False})
    off.tell(opt.points[:6], [_bowl(p) for p in opt.points[:6]])
    assert off.strategy.model() is not None and off.strategy.trust_region() is None


def test_trust_region_setting_is_checked():
    with pytest.raises(CampaignError) as exc:
        AskTell([Real("x1", 0.0, 1.0), Real("x2", 0.0, 1.0)], "mobo", seed=0, objectives=["minimize", "minimize"],
                reference=[1.0, 1.0], settings={"trust_region": "maybe"})
    assert "trust_region" in str(exc.value)
