"""Extra variables of a campaign (tool settings the twin does not model): parsing, refusal of bad tables with one
line, the point → (recipe, extras) split, and every strategy proposing them as more dimensions."""

from __future__ import annotations

import pytest

from campaigns.config import CampaignConfig, Outcome
from campaigns.errors import CampaignError
from campaigns.space import SearchSpace
from campaigns.strategies import StrategyContext, make_strategy
from campaigns.variables import Proposal
from twin import Recipe

BASE = '[campaign]\nname = "x"\nbudget = 5\n[space]\nrf_power_w = [30.0, 200.0]\n'
BIAS = '[space.extra.substrate_bias_v]\nlow = -100.0\nhigh = 0.0\nunit = "V"\ndoc = "substrate bias"\n'
ROT = '[space.extra.rotation_rpm]\ntype = "integer"\nlow = 1\nhigh = 5\nunit = "rpm"\n'
MODE = '[space.extra.magnet_mode]\ntype = "categorical"\ncategories = ["balanced", "unbalanced"]\n'


def _space() -> SearchSpace:
    return CampaignConfig.from_text(BASE + BIAS + ROT + MODE).space


def test_extras_are_dimensions_after_the_recipe_fields_with_their_units():
    space = _space()
    assert space.names == ("rf_power_w", "substrate_bias_v", "rotation_rpm", "magnet_mode")
    assert [d.name for d in space.extras] == ["substrate_bias_v", "rotation_rpm", "magnet_mode"]
    bias, rot, mode = space.extras
    assert (bias.kind, bias.low, bias.high, bias.unit, bias.doc) == ("real", -100.0, 0.0, "V", "substrate bias")
    assert (rot.kind, rot.low, rot.high, rot.unit) == ("integer", 1.0, 5.0, "rpm")
    assert mode.kind == "categorical" and mode.categories == ("balanced", "unbalanced")
    assert space.dimensions[0].unit == "W" and not space.dimensions[0].extra


def test_a_point_splits_into_the_recipe_the_twin_sees_and_the_extras():
    space = _space()
    point = [120.0, -40.0, 2.6, "unbalanced"]
    recipe, extras = space.split(point)
    assert recipe == Recipe(rf_power_w=120.0)
    assert extras == {"substrate_bias_v": -40.0, "rotation_rpm": 3, "magnet_mode": "unbalanced"}
    assert space.to_recipe(point) == recipe  # the twin's view: extras left out
    prop = space.to_proposal(point)
    assert isinstance(prop, Proposal) and prop.recipe == recipe and prop.extras == extras
    assert prop.to_dict() == recipe.to_dict()  # what the store keeps as the trial's recipe
    assert space.to_point(prop) == [120.0, -40.0, 3, "unbalanced"]
    assert space.to_point({**recipe.to_dict(), **extras}) == space.to_point(prop)
    # a bare recipe (no extras known): each extra at its centre, so a surrogate can still be asked about it
    assert space.to_point(recipe) == [120.0, -50.0, 3, "balanced"]


def test_a_space_without_extras_still_proposes_bare_recipes():
    space = CampaignConfig.from_text(BASE).space
    assert space.extras == () and isinstance(space.to_proposal([100.0]), Recipe)


@pytest.mark.parametrize(("extra", "field", "words"), [
    ('[space.extra.substrate_bias_v]\nlow = -100.0\nhigh = 0.0\n', "space.extra.substrate_bias_v.unit", "unit"),
    ('[space.extra.substrate_bias_v]\nlow = 0.0\nhigh = -100.0\nunit = "V"\n', "space.extra.substrate_bias_v",
     "reversed"),
    ('[space.extra.substrate_bias_v]\nlow = -100.0\nhigh = 0.0\nunit = "V"\nstep = 5\n',
     "space.extra.substrate_bias_v.step", "unknown key"),
    ('[space.extra.substrate_bias_v]\nlow = -100.0\nunit = "V"\n', "space.extra.substrate_bias_v.high",
     "missing"),
    ('[space.extra.substrate_bias_v]\nlow = "a"\nhigh = 0.0\nunit = "V"\n', "space.extra.substrate_bias_v.low",
     "finite number"),
    ('[space.extra.rf_power_w]\nlow = 1.0\nhigh = 2.0\nunit = "W"\n', "space.extra.rf_power_w",
     "recipe field"),
    ('[space.extra.thickness_nm]\nlow = 1.0\nhigh = 2.0\nunit = "nm"\n', "space.extra.thickness_nm",
     "column"),
    ('[space.extra.Bias]\nlow = 1.0\nhigh = 2.0\nunit = "V"\n', "space.extra.Bias", "snake case"),
    ('[space.extra.rotation_rpm]\ntype = "integer"\nlow = 1.5\nhigh = 5\nunit = "rpm"\n',
     "space.extra.rotation_rpm.low", "whole-number"),
    ('[space.extra.rotation_rpm]\ntype = "integral"\nlow = 1\nhigh = 5\nunit = "rpm"\n',
     "space.extra.rotation_rpm.type", "real | integer | categorical"),
    ('[space.extra.flow_sccm]\nlow = 0.0\nhigh = 5.0\nlog = true\nunit = "sccm"\n', "space.extra.flow_sccm.low",
     "log"),
    ('[space.extra.magnet_mode]\ncategories = ["a", "a"]\n', "space.extra.magnet_mode.categories", "repeated"),
    ('[space.extra.magnet_mode]\ncategories = []\n', "space.extra.magnet_mode.categories", "non-empty"),
    ('[space.extra.magnet_mode]\ncategories = ["a", "b"]\nlow = 1\n', "space.extra.magnet_mode.low",
     "categories, not a range"),
    ('extra = 3\n', "space.extra", "tables of extra variables"),
])
def test_bad_extras_are_refused_with_one_line_naming_the_key(tmp_path, extra, field, words):
    path = tmp_path / "c.toml"
    path.write_text(BASE + extra, encoding="utf-8")
    with pytest.raises(CampaignError) as info:
        CampaignConfig.from_toml(path)
    msg = str(info.value)
    assert "\n" not in msg and msg.startswith(str(path)) and info.value.field == field and words in msg


def test_a_space_of_extras_only_is_refused():
    with pytest.raises(CampaignError, match="at least one field"):
        CampaignConfig.from_text('[campaign]\nname = "x"\n' + BIAS)


@pytest.mark.parametrize("strategy", ["gp", "random", "space-filling", "twin-prior"])
def test_every_strategy_proposes_extras_in_range_and_learns_from_them(strategy):
    space = _space()
    settings = {"gp": {"n_initial": 3, "n_points": 500, "acq_optimizer": "sampling"},
                "twin-prior": {"n_search": 100, "n_candidates": 50, "n_local": 2}}.get(strategy, {})
    seen = []
    strat = make_strategy(strategy, StrategyContext(space, settings, 5, budget=6))
    for k in range(6):
        (p,) = strat.ask(1)
        assert isinstance(p, Proposal) and isinstance(p.recipe, Recipe)
        assert -100.0 <= p.extras["substrate_bias_v"] <= 0.0
        assert p.extras["rotation_rpm"] in range(1, 6) and isinstance(p.extras["rotation_rpm"], int)
        assert p.extras["magnet_mode"] in ("balanced", "unbalanced")
        seen.append(p.extras["substrate_bias_v"])
        # a made-up objective that only the extras decide: the twin cannot know it
        score = abs(p.extras["substrate_bias_v"] + 60.0) / 100.0 + k * 1e-3
        strat.tell([p], [Outcome(10 ** score, score, False)])
        assert strat.points[-1] == space.to_point(p)
    assert len(set(seen)) == len(seen)  # the extra is searched, not held fixed
