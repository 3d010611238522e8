"""Maintenance what-ifs (issue 16): the recommended recipe over the next runs, as is, vent now or later, new target."""

from __future__ import annotations

import re

import pytest

from campaigns.maintenance import maintenance_options
from sputter_twin.cli.main import main
from tests.campaigns.helpers import small_campaign
from twin import Chamber, Recipe

RECIPE = Recipe(pumpdown_min=60.0)
DRY_WORN = {"hours_since_vent": 48.0, "target_kwh": 100.0, "shield_kwh": 100.0}


def test_options_follow_the_physics_of_the_chamber_state():
    by = {o.name: o for o in maintenance_options(RECIPE, Chamber(), DRY_WORN, 6, replicates=8, seed=1)}
    assert list(by) == ["as is", "vent now", "vent after 3", "new target"]
    # a vent brings the walls' water back: the first run after it is worse than the same run in the dry chamber
    assert by["vent now"].r_int_first_ohm_cm2 > 1.2 * by["as is"].r_int_first_ohm_cm2
    # venting later: the first runs are those of the chamber as is (same seed), the last ones those after a vent
    assert by["vent after 3"].r_int_first_ohm_cm2 == pytest.approx(by["as is"].r_int_first_ohm_cm2)
    assert by["vent after 3"].r_int_mean_ohm_cm2 > by["as is"].r_int_mean_ohm_cm2
    # a new target sputters faster than a worn one (rate per watt falls with kWh): more runs per day
    assert by["new target"].runs_per_day > by["vent now"].runs_per_day
    for o in by.values():
        assert 0 <= o.yield_share <= 1 and o.runs == 6


def test_the_same_seed_gives_the_same_table_and_another_seed_another():
    a = maintenance_options(RECIPE, Chamber(), DRY_WORN, 3, replicates=4, seed=5)
    assert a == maintenance_options(RECIPE, Chamber(), DRY_WORN, 3, replicates=4, seed=5)
    assert a != maintenance_options(RECIPE, Chamber(), DRY_WORN, 3, replicates=4, seed=6)


def test_no_later_vent_row_when_vent_after_is_zero():
    names = [o.name for o in maintenance_options(RECIPE, Chamber(), DRY_WORN, 3, vent_after=0, replicates=2)]
    assert names == ["as is", "vent now", "new target"]


def test_the_command_prints_one_row_per_option(tmp_path, capsys):
    store = tmp_path / "s.sqlite"
    assert main(["campaign", "run", str(small_campaign(tmp_path, budget=5)), "--store", str(store),
                 "--no-progress"]) == 0
    capsys.readouterr()
    assert main(["campaign", "maintenance", "--store", str(store), "--runs", "4", "--replicates", "3"]) == 0
    out = capsys.readouterr().out
    assert "recommended by the model: trial" in out or "best measured: trial" in out
    for name in ("as is", "vent now", "vent after 2", "new target"):
        assert re.search(rf"^{name}\s+[0-9.]+\s+[0-9.]+\s+[0-9.]+\s+\d+%\s+[0-9.]+$", out, re.M), (name, out)


@pytest.mark.parametrize("args, field", [(["--runs", "0"], "--runs"), (["--runs", "5", "--vent-after", "5"],
                                                                        "--vent-after"),
                                         (["--runs", "3", "--replicates", "0"], "--replicates")])
def test_bad_arguments_are_one_line_and_exit_2(tmp_path, capsys, args, field):
    store = tmp_path / "s.sqlite"
    assert main(["campaign", "run", str(small_campaign(tmp_path, budget=2, strategy="random")), "--store",
                 str(store), "--no-progress"]) == 0
    capsys.readouterr()
    assert main(["campaign", "maintenance", "--store", str(store), *args]) == 2
    err = capsys.readouterr().err
    assert field in err and len(err.strip().splitlines()) == 1 and "Traceback" not in err


def test_a_campaign_without_a_successful_run_has_nothing_to_simulate(tmp_path, capsys):
    store = tmp_path / "s.sqlite"
    assert main(["campaign", "propose", str(small_campaign(tmp_path)), "--store", str(store)]) == 0
    capsys.readouterr()
    assert main(["campaign", "maintenance", "--store", str(store), "--runs", "3"]) == 2
    err = capsys.readouterr().err
    assert "no successful run yet" in err and len(err.strip().splitlines()) == 1
