"""`campaign run --chamber REALITY.toml`: the simulated tool runs in the reality, the campaign keeps its twin."""

from __future__ import annotations

import math

import pytest

from campaigns.store import CampaignStore
from sputter_twin.cli.main import main
from twin import Chamber, Recipe, simulate

CAMPAIGN = """
[campaign]
name = "rehearsal"
budget = 4
seed = 11

[strategy]
name = "random"

[space]
rf_power_w = [60.0, 160.0]
pressure_pa = [0.3, 1.5]

[fixed]
target_thickness_nm = 100.0
pumpdown_min = 600.0
"""


@pytest.fixture
def files(tmp_path):
    camp = tmp_path / "c.toml"
    camp.write_text(CAMPAIGN, encoding="utf-8")
    reality = tmp_path / "reality.toml"
    reality.write_text(Chamber().replace({"interface.clean_resistance_ohm_cm2": 7.8 * 1.3}).to_toml(),
                       encoding="utf-8")
    other = tmp_path / "other.toml"
    other.write_text(Chamber().replace({"interface.clean_resistance_ohm_cm2": 7.8 * 2}).to_toml(), encoding="utf-8")
    return camp, reality, other, tmp_path / "store.sqlite"


def test_tool_runs_in_the_reality_while_the_campaign_keeps_its_chamber(files, capsys):
    camp, reality, other, store_path = files
    assert main(["campaign", "run", str(camp), "--store", str(store_path), "--chamber", str(reality),
                 "--no-progress"]) == 0
    with CampaignStore(store_path) as store:
        c = store.campaigns()[0]
        trials = [t for t in store.trials(c.id) if t.state == "done"]
        assert Chamber.from_toml(reality) != Chamber()
        import tomllib
        assert Chamber.from_dict(tomllib.loads(c.chamber_toml)) == Chamber()  # the campaign's own twin
    assert len(trials) == 4
    ratios = []
    for t in trials:
        recipe = Recipe.from_dict(t.recipe)
        twin = simulate(recipe, Chamber(), deterministic=True).interface_resistance_ohm_cm2
        ratios.append(t.result["interface_resistance_ohm_cm2"] / twin)
    # measured on the reality (clean resistance ×1.3, 5 % noise, a drier chamber as runs go on)
    assert 1.1 < math.exp(sum(map(math.log, ratios)) / len(ratios)) < 1.45
    capsys.readouterr()
    # resuming needs the same reality: another one, or none, is refused before anything changes
    for extra in (["--chamber", str(other)], []):
        assert main(["campaign", "run", str(camp), "--store", str(store_path), "--budget", "5", "--no-progress",
                     *extra]) == 2
        assert "--chamber" in capsys.readouterr().err
        with CampaignStore(store_path) as store:
            assert len(store.trials(store.campaigns()[0].id)) == 4  # nothing proposed or run
    assert main(["campaign", "run", str(camp), "--store", str(store_path), "--budget", "5", "--no-progress",
                 "--chamber", str(reality)]) == 0
