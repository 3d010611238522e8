"""Unit-slip warnings: legal values that look like another unit are named, not refused, in every recipe check
(``simulate``, campaign files, ``tool check --recipe``); the example recipes and campaigns raise none."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from campaigns.config import CampaignConfig
from sputter_twin.cli.main import main
from sputter_twin.cli.slips import campaign_slips
from tests.campaigns.helpers import small_campaign
from tests.conftest import EXAMPLES
from twin import Chamber, Recipe
from twin.plausibility import RULES, unit_slips

EXE = Path(sys.executable).with_name("sputter-twin")
SLIPPED = {  # field -> (a legal recipe with a slipped value, what the person meant, in the field's unit)
    "pressure_pa": ({"pressure_pa": 5.0}, 0.667),
    "substrate_temperature_c": ({"substrate_temperature_c": 298.0}, 24.9),
    "anneal_temperature_c": ({"anneal_temperature_c": 423.0, "anneal_min": 60.0}, 150.0),
    "target_thickness_nm": ({"target_thickness_nm": 1.0}, 1000.0),
    "air_exposure_min": ({"transfer": "air", "air_exposure_min": 1800.0}, 30.0),
    "pumpdown_min": ({"pumpdown_min": 4.0}, 240.0),
}


def test_every_rule_has_a_slipped_example():
    assert {r.field for r in RULES} == set(SLIPPED)


@pytest.mark.parametrize("field", sorted(SLIPPED))
def test_a_slipped_value_is_legal_and_named_with_what_it_likely_meant(field):
    values, meant = SLIPPED[field]
    recipe = Recipe.from_dict(values)
    Chamber().check(recipe)  # legal: a warning, never an error
    (slip,) = unit_slips(recipe)
    assert slip.field == field and f"{meant:.3g}" in str(slip) and str(slip).startswith(f"recipe.{field} = ")


def test_a_rule_that_needs_context_stays_quiet_without_it():
    assert unit_slips(Recipe(anneal_temperature_c=423.0, anneal_min=0.0)) == []  # no anneal: not read
    assert unit_slips(Recipe(pumpdown_min=0.0)) == []


@pytest.mark.parametrize("path", sorted((EXAMPLES / "recipes").glob("*.toml")), ids=lambda p: p.name)
def test_example_recipes_raise_no_warning(path):
    assert unit_slips(Recipe.from_toml(path)) == []


@pytest.mark.parametrize("path", sorted((EXAMPLES / "campaigns").glob("*.toml")), ids=lambda p: p.name)
def test_example_campaigns_raise_no_warning(path):
    assert campaign_slips(CampaignConfig.from_toml(path).space) == []


def test_simulate_warns_on_stderr_and_runs(tmp_path):
    path = tmp_path / "slip.toml"
    path.write_text("[recipe]\npressure_pa = 5\n", encoding="utf-8")
    proc = subprocess.run([str(EXE), "simulate", str(path), "--deterministic", "--json"], capture_output=True,
                          text=True, timeout=120)
    assert proc.returncode == 0
    json.loads(proc.stdout)  # standard output stays one JSON object
    (line,) = proc.stderr.strip().splitlines()
    assert line.startswith(f"sputter-twin: warning: {path}: recipe.pressure_pa = 5 Pa") and "mTorr" in line


def test_campaign_file_with_a_slipped_fixed_value_or_range_warns(tmp_path, capsys):
    text = small_campaign(tmp_path).read_text()
    text = text.replace('transfer = "vacuum"', 'transfer = "vacuum"\nsubstrate_temperature_c = 298.0')
    text = text.replace("pressure_pa = { low = 0.2, high = 3.0, log = true }", "pressure_pa = [3.0, 5.0]")
    cfile = tmp_path / "slipped.toml"
    cfile.write_text(text, encoding="utf-8")
    rc = main(["campaign", "propose", str(cfile), "--store", str(tmp_path / "s.sqlite")])
    err = capsys.readouterr().err
    assert rc == 0
    lines = err.strip().splitlines()
    assert len(lines) == 2 and all(f"warning: {cfile}: recipe." in x for x in lines)
    assert any("substrate_temperature_c = 298" in x for x in lines)
    assert any("pressure_pa" in x and "[3, 5] Pa" in x for x in lines)


def test_tool_check_names_a_slipped_recipe_and_refuses_one_outside_the_mapping(tmp_path, capsys):
    mapping = EXAMPLES / "hardware" / "rf_a_si.toml"
    slipped, outside = tmp_path / "slipped.toml", tmp_path / "outside.toml"
    slipped.write_text("[recipe]\npressure_pa = 5\n", encoding="utf-8")
    outside.write_text("[recipe]\npressure_pa = 8\n", encoding="utf-8")
    rc = main(["tool", "check", "--mapping", str(mapping), "--endpoint", "opc.tcp://127.0.0.1:9/none",
               "--recipe", str(outside), "--timeout", "0.5"])
    err = capsys.readouterr().err
    assert rc == 2 and str(outside) in err and "pressure_pa" in err and len(err.strip().splitlines()) == 1
    rc = main(["tool", "check", "--mapping", str(mapping), "--endpoint", "opc.tcp://127.0.0.1:9/none",
               "--recipe", str(slipped), "--timeout", "0.5"])  # nothing listens there: the check itself fails
    err = capsys.readouterr().err
    assert f"warning: {slipped}: recipe.pressure_pa = 5 Pa" in err and rc == 1
