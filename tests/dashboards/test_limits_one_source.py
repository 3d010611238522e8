"""One source of the tool's limits: the chamber's check, the campaign space, the review margins, the what-if array
check and the batch twin accept and refuse the same recipes, on a grid around every limit and several chambers."""

from __future__ import annotations

import math

import numpy as np
import pytest

from campaigns.errors import CampaignError
from campaigns.space import SearchSpace, tool_limits
from campaigns.whatif.validate import violations
from dashboards.review import limit_margins
from twin import Chamber, Recipe, expected_outcomes
from twin.errors import InputError
from twin.limits import check_columns

CHAMBERS = {  # chamber parameters that move the limits, as a what-if study would vary them
    "default": {},
    "low power density": {"limits.max_power_density_w_cm2": 3.0},
    "small target": {"geometry.target_diameter_mm": 50.8},
    "warm room, narrow window": {"vacuum.room_temperature_c": 30.0, "limits.min_pressure_pa": 0.3,
                                 "limits.max_pressure_pa": 2.0},
    "cool heaters, short runs": {"limits.max_substrate_temperature_c": 300.0, "limits.max_anneal_temperature_c": 250.0,
                                 "limits.max_presputter_min": 30.0, "limits.max_anneal_min": 60.0,
                                 "limits.max_thickness_nm": 500.0, "limits.min_power_w": 40.0},
}
BASES = {
    "plain": Recipe(),
    "seed, anneal, air": Recipe(seed_thickness_nm=5.0, seed_power_w=30.0, anneal_min=30.0, transfer="air",
                                air_exposure_min=10.0),
}


def _grid(chamber: Chamber):
    """Every limited field at each end of its range, a hair inside and a hair outside, from every base recipe."""
    for base_name, base in BASES.items():
        for lim in chamber.recipe_limits():
            for end in (float(lim.low), float(lim.high)):
                step = max(abs(end), 1.0) * 1e-9
                for value in (end - step, end, end + step):
                    try:
                        yield base_name, base.replace(**{lim.field: value})
                    except InputError:
                        continue  # not a recipe at all (below the field's physical range): not a limit question


def _space_accepts(recipe: Recipe, chamber: Chamber) -> bool:
    fixed = {k: v for k, v in recipe.to_dict().items() if k != "n2_fraction"}
    try:
        SearchSpace.from_tables({"n2_fraction": [0.0, 1.0]}, fixed, chamber)
    except CampaignError:
        return False
    return True


@pytest.mark.parametrize("chamber_name", list(CHAMBERS))
def test_every_reader_of_the_limits_agrees_around_each_limit(chamber_name):
    changes = CHAMBERS[chamber_name]
    chamber = Chamber().replace(changes)
    cases = list(_grid(chamber))
    recipes = [r for _, r in cases]
    arrays = {f"recipe.{f}": np.array([getattr(r, f) for r in recipes], dtype=object if f == "transfer" else float)
              for f in Recipe.fields()}
    arrays |= {k: np.full(len(recipes), v) for k, v in changes.items()}
    flagged = violations(arrays, Recipe(), Chamber(), len(recipes))
    params = {k: np.full(len(recipes), v) for k, v in changes.items()}
    batch = expected_outcomes(recipes, Chamber(), params=params)
    table = {lim.field: lim for lim in chamber.recipe_limits()}
    ranges = tool_limits(chamber)
    refused = 0
    for i, (base_name, recipe) in enumerate(cases):
        try:
            chamber.check(recipe)
            error = None
        except InputError as exc:
            error = exc
        accepted = error is None
        refused += not accepted
        where = (chamber_name, base_name, recipe)
        assert all(m.ok for m in limit_margins(recipe, chamber)) is accepted, where
        assert _space_accepts(recipe, chamber) is accepted, where
        assert bool(flagged[i]) is not accepted, where
        assert bool(batch.valid[i]) is accepted, where
        if error is not None:
            assert batch.violation[i] == error.field, where
            assert error.field.removeprefix("recipe.") in table
    for field, lim in table.items():  # the campaign's ranges are the table's
        assert ranges[field] == (float(lim.low), float(lim.high), lim.unit)
    assert 0 < refused < len(cases)


def test_the_array_check_gives_the_twins_error_line():
    """The vectorised table names the same field, value, limit and unit as Chamber.check, in one line."""
    chamber = Chamber().replace({"geometry.target_diameter_mm": 50.8})
    recipes = [Recipe(rf_power_w=200.0), Recipe(pressure_pa=7.0), Recipe(anneal_min=5.0, anneal_temperature_c=800.0),
               Recipe(presputter_min=300.0), Recipe()]
    check = check_columns(chamber.recipe_limits(), {f: [getattr(r, f) for r in recipes] for f in Recipe.fields()
                                                    if f != "transfer"}, len(recipes))
    for i, r in enumerate(recipes):
        try:
            chamber.check(r)
            twin = None
        except InputError as exc:
            twin = str(exc)
        err = check.error(i)
        assert (None if err is None else str(err)) == twin
    assert str(check.error(0)) == ("recipe.rf_power_w = 200.0: power density 9.87 W/cm² outside the target's limits "
                                   "(allowed: [10, 111.5] W)")
    margins = check.margins()
    assert margins.shape == (len(chamber.recipe_limits()), len(recipes))
    assert math.isnan(margins[1, 0])  # no seed layer: the seed power's limit does not apply
