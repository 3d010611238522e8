"""The batch twin against the discrete-event twin: same numbers for every field, same refusals, one-line errors."""

from __future__ import annotations

import numpy as np
import pytest
from numpy.testing import assert_allclose

from twin import BatchResult, Chamber, InputError, Recipe, RecipeError, expected_outcomes, simulate
from twin.batch import OUTCOMES

RTOL = 1e-9
"""Both paths run the same operations in the same order; they differ only where the DES takes ``math`` and the
batch numpy (last-bit differences of exp and log), far below this."""

CHAMBER = Chamber()
PARAMS = {  # documented ranges are wide; these stay well inside them and keep every limit where it is
    "interface.damage_coefficient": (0.5, 10.0), "deposition.yield_q": (0.2, 1.5),
    "contamination.sticking_coefficient": (0.01, 0.5), "events.leak_rate_per_h": (0.0, 5.0),
    "film.n_max": (0.2, 1.0), "energetics.range_at_100ev_nm": (0.5, 4.0), "vacuum.heat_rate_c_min": (2.0, 60.0),
    "contamination.h2o_outgassing_pa_s": (0.01, 2.0), "events.flake_rate_per_h": (0.0, 5.0),
    "defects.interface_thickness_nm": (0.0, 20.0), "contamination.impurity_depth_nm": (0.5, 10.0),
}


def random_recipe(rng: np.random.Generator, chamber: Chamber = CHAMBER) -> Recipe:
    """A valid recipe inside ``chamber``'s limits; a field often sits exactly at a limit."""
    table = {lim.field: lim for lim in chamber.recipe_limits()}

    def pick(field: str, lo: float | None = None, hi: float | None = None) -> float:
        lo = float(table[field].low) if lo is None else lo
        hi = float(table[field].high) if hi is None else hi
        u = rng.random()
        return lo if u < 0.1 else hi if u < 0.2 else float(rng.uniform(lo, hi))

    thickness = pick("target_thickness_nm", 1.0, 800.0)
    seed = 0.0 if rng.random() < 0.4 else (thickness if rng.random() < 0.1 else float(rng.uniform(0, thickness)))
    air = rng.random() < 0.4
    return Recipe(
        target_thickness_nm=thickness, rf_power_w=pick("rf_power_w"), seed_power_w=pick("seed_power_w"),
        seed_thickness_nm=seed, pressure_pa=pick("pressure_pa"), n2_fraction=float(rng.choice([0.0, 1.0,
                                                                                               rng.random()])),
        target_substrate_distance_mm=pick("target_substrate_distance_mm"),
        substrate_temperature_c=pick("substrate_temperature_c", hi=400.0),
        presputter_min=pick("presputter_min", hi=60.0), pumpdown_min=pick("pumpdown_min", hi=3000.0),
        transfer="air" if air else "vacuum", air_exposure_min=pick("air_exposure_min", hi=600.0) if air else 0.0,
        anneal_temperature_c=pick("anneal_temperature_c", hi=450.0),
        anneal_min=0.0 if rng.random() < 0.5 else pick("anneal_min", 0.5, 240.0),
    )


def des_row(result) -> dict[str, float]:
    """The batch's outcome names, read from a RunResult."""
    after = result.chamber_state_after
    extra = {"target_kwh_after": after["target_kwh"], "shield_kwh_after": after["shield_kwh"],
             "hours_since_vent_after": after["hours_since_vent"]}
    return {k: extra[k] if k in extra else getattr(result, k) for k in OUTCOMES}


def assert_same(batch: BatchResult, results: list, label: str = "") -> None:
    assert batch.valid.all(), batch.violation[~batch.valid]
    for name in OUTCOMES:
        des = np.array([des_row(r)[name] for r in results])
        assert_allclose(getattr(batch, name), des, rtol=RTOL, atol=0, err_msg=f"{label}{name}")
    assert batch.shorted.tolist() == [r.shorted for r in results]
    assert_allclose(batch.total_resistance_ohm_cm2, [r.total_resistance_ohm_cm2 for r in results], rtol=RTOL)


@pytest.mark.parametrize("load_lock", [True, False])
def test_every_field_matches_the_des_on_random_recipes_states_and_parameters(load_lock):
    rng = np.random.default_rng(20261202 + load_lock)
    n = 300
    recipes = [random_recipe(rng) for _ in range(n)]
    params = {name: rng.uniform(lo, hi, n) for name, (lo, hi) in PARAMS.items()}
    params["vacuum.load_lock"] = np.full(n, load_lock)
    state = {"hours_since_vent": rng.choice([0.0, 0.5, 24.0, 300.0], n), "target_kwh": rng.uniform(0, 130, n),
             "shield_kwh": rng.uniform(0, 40, n)}
    batch = expected_outcomes(recipes, CHAMBER, params=params, state=state)
    results = []
    for i, r in enumerate(recipes):
        row = {k: v[i].item() for k, v in params.items()} | {f"state.{k}": float(v[i]) for k, v in state.items()}
        results.append(simulate(r, CHAMBER.replace(row), deterministic=True))
    assert_same(batch, results)
    # the recipes cover what they should: seed layers, anneals, air, fields at their limits, shorted cells
    seeds = np.array([r.seed_thickness_nm for r in recipes])
    assert (seeds == 0).any() and (seeds > 0).any() and any(r.seed_thickness_nm == r.target_thickness_nm
                                                            for r in recipes)
    assert {r.transfer for r in recipes} == {"vacuum", "air"} and {r.anneal_min > 0 for r in recipes} == {True, False}
    assert any(r.rf_power_w == CHAMBER.recipe_limits()[0].high for r in recipes)


def test_columns_with_defaults_and_scalars_match_recipes():
    """Columns broadcast scalars and fill omitted fields with the Recipe defaults."""
    powers = np.array([20.0, 60.0, 110.0, 240.0])
    batch = expected_outcomes({"rf_power_w": powers, "transfer": "air", "air_exposure_min": 5.0},
                              state={"hours_since_vent": 2.0})
    chamber = CHAMBER.replace({"state.hours_since_vent": 2.0})
    assert_same(batch, [simulate(Recipe(rf_power_w=float(w), transfer="air", air_exposure_min=5.0), chamber,
                                 deterministic=True) for w in powers])


def test_m_parameter_sets_times_n_recipes_in_one_call():
    rng = np.random.default_rng(7)
    recipes = [random_recipe(rng) for _ in range(20)]
    damage = np.array([0.5, 3.0, 9.0])
    batch = expected_outcomes(recipes * len(damage), params={"interface.damage_coefficient": np.repeat(damage, 20)})
    for m, k in enumerate(damage):
        one = expected_outcomes(recipes, CHAMBER.replace({"interface.damage_coefficient": float(k)}))
        assert_allclose(batch.interface_resistance_ohm_cm2[m * 20:(m + 1) * 20], one.interface_resistance_ohm_cm2,
                        rtol=1e-12)
    assert len(batch) == 60


def _twin_refusal(recipe_fields: dict, chamber: Chamber) -> str:
    """The field the twin refuses (the recipe's constructor, then the tool's limits), "" if it runs."""
    try:
        chamber.check(Recipe(**recipe_fields))
    except InputError as exc:
        return exc.field
    return ""


def test_invalid_rows_are_marked_with_the_field_the_twin_refuses():
    rng = np.random.default_rng(11)
    rows = [random_recipe(rng).to_dict() for _ in range(40)]
    breaks = [{"pressure_pa": 20.0}, {"pressure_pa": 0.05}, {"rf_power_w": 300.0}, {"rf_power_w": -1.0},
              {"seed_thickness_nm": 5.0, "seed_power_w": 500.0}, {"anneal_min": 10.0, "anneal_temperature_c": 700.0},
              {"anneal_min": 0.0, "anneal_temperature_c": 700.0}, {"transfer": "vacuum", "air_exposure_min": 3.0},
              {"target_thickness_nm": 10.0, "seed_thickness_nm": 20.0}, {"pumpdown_min": float("nan")},
              {"transfer": "helium"}, {"target_substrate_distance_mm": 30.0}, {"presputter_min": 241.0}]
    for i, b in enumerate(breaks):
        rows[2 * i] = rows[2 * i] | b
    cols = {f: [r[f] for r in rows] for f in Recipe.fields()}
    batch = expected_outcomes(cols)
    for i, r in enumerate(rows):
        expected = _twin_refusal(r, CHAMBER)
        assert batch.violation[i] == expected, (i, r)
        assert batch.valid[i] == (expected == "")
        if expected:
            assert np.isnan(batch.thickness_nm[i]) and not batch.shorted[i] and batch.reason[i]
        else:
            assert np.isfinite(batch.interface_resistance_ohm_cm2[i])
    assert (~batch.valid).sum() == len(breaks) - 1  # 700 °C without an anneal is no anneal: not refused
    unchecked = expected_outcomes(cols, check_limits=False)
    assert unchecked.valid.sum() > batch.valid.sum()


def test_parameters_out_of_range_and_inconsistent_limits_mark_rows():
    batch = expected_outcomes([Recipe()] * 3, params={"interface.damage_coefficient": [3.0, -1.0, 3.0],
                                                      "limits.min_pressure_pa": [0.1, 0.1, 6.0]})
    assert batch.violation.tolist() == ["", "interface.damage_coefficient", "limits.min_pressure_pa"]
    assert batch.reason[2] == "greater than limits.max_pressure_pa"
    with pytest.raises(InputError):  # the twin refuses the same chamber
        CHAMBER.replace({"limits.min_pressure_pa": 6.0})


@pytest.mark.parametrize(("kwargs", "field", "problem"), [
    ({"recipes": {"rf_power": [1.0]}}, "recipe.rf_power", "unknown field"),
    ({"recipes": {"rf_power_w": ["a", "b"]}}, "recipe.rf_power_w", "expected a number"),
    ({"recipes": {"rf_power_w": [1.0, 2.0], "pressure_pa": [0.5, 0.5, 0.5]}}, "recipes", "different lengths"),
    ({"recipes": [Recipe()], "params": {"interface.nope": 1.0}}, "interface.nope", "no such chamber parameter"),
    ({"recipes": [Recipe()], "state": {"vent_hours": 1.0}}, "state.vent_hours", "no such state"),
    ({"recipes": [Recipe()], "params": {"state.target_kwh": 1.0}, "state": {"target_kwh": 2.0}},
     "state.target_kwh", "both"),
    ({"recipes": [{"rf_power_w": 1.0}]}, "recipes[0]", "expected a Recipe"),
    ({"recipes": Recipe()}, "recipes", "expected a sequence of Recipe"),
    ({"recipes": {"rf_power_w": [[1.0]]}}, "recipe.rf_power_w", "1-D array"),
])
def test_malformed_input_is_one_line_naming_the_field(kwargs, field, problem):
    with pytest.raises(InputError) as info:
        expected_outcomes(**kwargs)
    assert info.value.field == field and problem in str(info.value) and "\n" not in str(info.value)


def test_a_recipe_error_is_raised_for_malformed_columns_not_for_bad_values():
    batch = expected_outcomes({"rf_power_w": [110.0, 1e9]})
    assert batch.violation.tolist() == ["", "recipe.rf_power_w"]
    assert isinstance(RecipeError("recipe.x", 1, "p"), InputError)
