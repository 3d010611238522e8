"""Extra variables through the loop: the runner sends them to the tool, the store keeps them, a resumed campaign
replays them, export shows them with units, and a tool that cannot write them is refused before anything runs."""

from __future__ import annotations

import dataclasses

import pandas as pd
import pytest

from campaigns.config import CampaignConfig
from campaigns.errors import CampaignError
from campaigns.runner import Runner, check_tool_extras, open_campaign, rebuild_strategy, trial_proposal
from campaigns.store import CampaignStore, trial_history
from sputter_twin.cli.main import main
from tests.campaigns.helpers import small_campaign
from tests.conftest import EXAMPLES
from twin import Chamber, Recipe, SimulatedTool
from twin.errors import InputError

BIAS = ('\n[space.extra.substrate_bias_v]\nlow = -100.0\nhigh = 0.0\nunit = "V"\n'
        '[space.extra.magnet_mode]\ncategories = ["balanced", "unbalanced"]\n')


def _campaign(tmp_path, **kw):
    path = small_campaign(tmp_path, **kw)
    text = path.read_text(encoding="utf-8").replace("\n[fixed]", BIAS + "\n[fixed]", 1)
    path.write_text(text, encoding="utf-8")
    return path


def _run(tmp_path, name, *, max_runs=None, budget=6):
    config = CampaignConfig.from_toml(_campaign(tmp_path, budget=budget))
    store = CampaignStore(tmp_path / name)
    cid = open_campaign(store, config, Chamber())
    Runner(store, cid, max_runs=max_runs).run()
    return store, cid, config


def test_the_runner_sends_extras_and_the_store_keeps_them(tmp_path):
    store, cid, config = _run(tmp_path, "a.sqlite")
    trials = store.trials(cid)
    assert len(trials) == 6 and all(t.state in ("done", "failed") for t in trials)
    for t in trials:
        assert set(t.extras) == {"substrate_bias_v", "magnet_mode"}
        assert -100.0 <= t.extras["substrate_bias_v"] <= 0.0 and t.extras["magnet_mode"] in ("balanced", "unbalanced")
        sent = [e for e in store.events(trial_id=t.id) if e.kind == "extras"]
        assert len(sent) == 1 and sent[0].detail["extras"] == t.extras and not sent[0].detail["modelled_by_twin"]
    # the strategy is told the extras as coordinates, not their centres
    strategy = rebuild_strategy(config, Chamber(), trials)
    assert strategy.points == [config.space.to_point(trial_proposal(t)) for t in trials]
    assert {p[-2] for p in strategy.points} != {-50.0}
    store.close()


def test_a_resumed_campaign_with_extras_continues_exactly(tmp_path):
    ref, rid, _ = _run(tmp_path, "ref.sqlite")
    config = CampaignConfig.from_toml(_campaign(tmp_path, budget=6))
    store = CampaignStore(tmp_path / "resumed.sqlite")
    cid = open_campaign(store, config, Chamber())
    Runner(store, cid, max_runs=3).run()
    Runner(store, cid).run()
    assert trial_history(store.trials(cid)) == trial_history(ref.trials(rid))
    ref.close()
    store.close()


def test_the_simulated_tool_ignores_extras_unless_an_effect_says_what_they_do():
    recipe = Recipe(rf_power_w=80.0)
    plain = SimulatedTool(seed=4).run(recipe)
    ignored = SimulatedTool(seed=4).run(recipe, extras={"substrate_bias_v": -70.0})
    assert ignored.to_dict() == plain.to_dict()

    def bias_matters(recipe, extras, result):  # a made-up reality: R_int grows away from -60 V
        r = result.interface_resistance_ohm_cm2 * (1.0 + ((extras["substrate_bias_v"] + 60.0) / 40.0) ** 2)
        return dataclasses.replace(result, interface_resistance_ohm_cm2=r)

    near = SimulatedTool(seed=4, extras_effect=bias_matters).run(recipe, extras={"substrate_bias_v": -60.0})
    far = SimulatedTool(seed=4, extras_effect=bias_matters).run(recipe, extras={"substrate_bias_v": 0.0})
    assert near.interface_resistance_ohm_cm2 == pytest.approx(plain.interface_resistance_ohm_cm2)
    assert far.interface_resistance_ohm_cm2 == pytest.approx(plain.interface_resistance_ohm_cm2 * (1 + 1.5**2))


class _OldTool:
    """A tool written before extras existed: run(recipe) only."""

    name = "old"
    is_real = True

    def run(self, recipe):
        raise AssertionError("must not run")


class _PickyTool(_OldTool):
    name = "picky"

    def check_extras(self, declared):
        if "magnet_mode" in declared:
            raise InputError("setpoint.magnet_mode", "magnet_mode", "no node for this extra in the mapping",
                             "substrate_bias_v")


@pytest.mark.parametrize(("tool", "words"), [(_OldTool(), "cannot set extra variables"),
                                             (_PickyTool(), "no node for this extra")])
def test_a_tool_that_cannot_write_an_extra_is_refused_with_one_line(tmp_path, tool, words):
    config = CampaignConfig.from_toml(_campaign(tmp_path))
    with pytest.raises(CampaignError) as info:
        check_tool_extras(config, tool)
    msg = str(info.value)
    assert "\n" not in msg and words in msg and repr(tool.name) in msg
    check_tool_extras(CampaignConfig.from_toml(small_campaign(tmp_path, name="plain.toml")), _OldTool())  # no extras


def test_the_example_campaign_runs_and_exports_its_extras_with_units(tmp_path, capsys):
    store = tmp_path / "bias.sqlite"
    assert main(["campaign", "run", str(EXAMPLES / "campaigns" / "lipon_bias.toml"), "--store", str(store),
                 "--budget", "3", "--no-progress"]) == 0
    assert "extras: magnetron_rotation_rpm = " in capsys.readouterr().out
    out = tmp_path / "bias.csv"
    assert main(["campaign", "export", "--store", str(store), "--format", "csv", "--out", str(out)]) == 0
    df = pd.read_csv(out)
    assert df["substrate_bias_v [V]"].between(-100.0, 0.0).all() and len(df) == 3
    assert df["magnetron_rotation_rpm [rpm]"].isin(range(31)).all()


def test_a_bad_extra_in_a_campaign_file_exits_2_with_one_line_and_no_store(tmp_path, capsys):
    path = _campaign(tmp_path)
    path.write_text(path.read_text(encoding="utf-8").replace('unit = "V"\n', ""), encoding="utf-8")
    store = tmp_path / "s.sqlite"
    assert main(["campaign", "run", str(path), "--store", str(store), "--no-progress"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "Traceback" not in err and str(path) in err
    assert "space.extra.substrate_bias_v.unit" in err and not store.exists()
