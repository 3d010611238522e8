"""Scenario files: parsing, validation (one clear error per bad input) and the design they produce."""

from __future__ import annotations

import math
import tomllib

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from campaigns.whatif import Plan, Scenario, ScenarioError, parameter_names, run_chunk, sequence_seed
from campaigns.whatif.scenario import Factor
from tests.conftest import EXAMPLES
from twin import Chamber

SCENARIOS = EXAMPLES / "scenarios"


def _doc(vary: dict, **scenario) -> dict:
    return {"scenario": {"seed": 1, "replicates": 2, **scenario}, "vary": vary}


def _error(doc: dict) -> ScenarioError:
    with pytest.raises(ScenarioError) as info:
        Scenario.from_dict(doc, base_dir=SCENARIOS, source="bad.toml")
    msg = str(info.value)
    assert "\n" not in msg and msg.startswith("bad.toml: ")
    return info.value


@pytest.mark.parametrize("path", sorted(SCENARIOS.glob("*.toml")), ids=lambda p: p.name)
def test_every_example_scenario_loads(path):
    sc = Scenario.from_toml(path)
    plan = Plan(sc)
    assert plan.total_runs >= plan.sweep_runs > 0
    assert sc.text == path.read_text(encoding="utf-8")


def test_big_example_has_ten_thousand_sweep_runs():
    sc = Scenario.from_toml(SCENARIOS / "leak_pumpdown_target.toml")
    assert sc.sweep_runs == 10_000
    assert {f.name for f in sc.factors} == {"events.leak_rate_per_h", "recipe.pumpdown_min", "state.target_kwh"}


def test_base_recipe_and_chamber_changes_apply():
    doc = {"scenario": {"recipe": "../recipes/haruta2015.toml", "chamber": "../chambers/default.toml"},
           "recipe": {"pumpdown_min": 90.0}, "chamber": {"events": {"leak_rate_per_h": 3.0},
                                                         "state.target_kwh": 12.0}}
    sc = Scenario.from_dict(doc, base_dir=SCENARIOS, source="x.toml")
    assert sc.recipe.pumpdown_min == 90.0 and sc.recipe.seed_thickness_nm == 5.0
    assert sc.chamber.get("events.leak_rate_per_h") == 3.0 and sc.chamber.get("state.target_kwh") == 12.0


@pytest.mark.parametrize("vary, field, words", [
    ({"events.leak_rate": {"grid": [1.0]}}, "vary.events.leak_rate", "unknown parameter"),
    ({"recipe.power": {"grid": [1.0]}}, "vary.recipe.power", "unknown parameter"),
    ({"recipe.pumpdown_min": {"grid": []}}, "vary.recipe.pumpdown_min.grid", "empty grid"),
    ({"recipe.pumpdown_min": {"grid": [1.0, 1.0]}}, "vary.recipe.pumpdown_min.grid", "repeated"),
    ({"recipe.pumpdown_min": {"grid": ["long"]}}, "vary.recipe.pumpdown_min.grid", "expected a number"),
    ({"recipe.pumpdown_min": {"grid": [-5.0]}}, "vary.recipe.pumpdown_min.grid", "outside the range"),
    ({"recipe.pressure_pa": {"grid": [0.5, 50.0]}}, "vary.recipe.pressure_pa.grid", "invalid run"),
    ({"recipe.pumpdown_min": {"distribution": "uniform", "low": 100.0, "high": 10.0}},
     "vary.recipe.pumpdown_min.high", "low < high"),
    ({"recipe.pumpdown_min": {"distribution": "normal", "mean": 100.0, "sd": 0.0}},
     "vary.recipe.pumpdown_min.sd", "positive"),
    ({"recipe.pumpdown_min": {"distribution": "normal", "mean": 100.0, "sd": -1.0}},
     "vary.recipe.pumpdown_min.sd", "positive"),
    ({"events.leak_rate_per_h": {"distribution": "lognormal", "median": -1.0, "sigma": 1.0}},
     "vary.events.leak_rate_per_h.median", "positive"),
    ({"events.leak_rate_per_h": {"distribution": "lognormal", "median": 1.0, "sigma": 0.0}},
     "vary.events.leak_rate_per_h.sigma", "positive"),
    ({"events.leak_rate_per_h": {"distribution": "weibull", "k": 1.0}},
     "vary.events.leak_rate_per_h.distribution", "unknown distribution"),
    ({"events.leak_rate_per_h": {"distribution": "uniform", "low": 1.0}},
     "vary.events.leak_rate_per_h.high", "missing argument"),
    ({"events.leak_rate_per_h": {"distribution": "uniform", "low": 1.0, "high": 2.0, "mode": 1.5}},
     "vary.events.leak_rate_per_h.mode", "unknown key"),
    ({"events.leak_rate_per_h": {"grid": [1.0], "distribution": "uniform"}}, "vary.events.leak_rate_per_h",
     "not both"),
    ({"events.leak_rate_per_h": {}}, "vary.events.leak_rate_per_h", "missing grid or distribution"),
    ({"recipe.transfer": {"distribution": "uniform", "low": 0.0, "high": 1.0}}, "vary.recipe.transfer.distribution",
     "not a number"),
    ({"recipe.pressure_pa": {"distribution": "normal", "mean": 0.5, "sd": 0.2}}, "vary.recipe.pressure_pa",
     "invalid run"),
])
def test_bad_variations_are_one_clear_error(vary, field, words):
    dist = any("distribution" in t for t in vary.values())
    err = _error(_doc(vary, **({"samples": 4} if dist else {})))
    assert err.field == field
    assert words in err.problem


@pytest.mark.parametrize("doc, field", [
    ({"scenario": {"replicates": 0}}, "scenario.replicates"),
    ({"scenario": {"seed": -1}}, "scenario.seed"),
    ({"scenario": {"seed": 1.5}}, "scenario.seed"),
    ({"scenario": {"seed": 2**63}}, "scenario.seed"),
    ({"scenario": {"colour": "red"}}, "scenario.colour"),
    ({"scenario": {}, "vary": {"state.target_kwh": {"distribution": "uniform", "low": 0.0, "high": 1.0}}},
     "scenario.samples"),
    ({"scenario": {"samples": 3}}, "scenario.samples"),
    ({"sensitivity": {"method": "fast"}}, "sensitivity.method"),
    ({"sensitivity": {"method": "sobol", "samples": 10}, "vary": {"state.target_kwh": {"grid": [0.0, 5.0]}}},
     "sensitivity.samples"),
    ({"sensitivity": {"method": "sobol"}}, "sensitivity.method"),
    ({"spec": {"max_interface_resistance_ohm_cm2": -3.0}}, "spec.max_interface_resistance_ohm_cm2"),
    ({"chamber": {"events.nope": 1.0}}, "chamber.events.nope"),
    ({"recipe": {"rf_power_w": 5000.0}}, "recipe.rf_power_w"),
    ({"recipes": {}}, "recipes"),
])
def test_bad_scenario_tables_are_one_clear_error(doc, field):
    assert _error(doc).field == field


def test_missing_base_recipe_file_names_the_file():
    with pytest.raises(ScenarioError, match="nope.toml"):
        Scenario.from_dict({"scenario": {"recipe": "nope.toml"}}, base_dir=SCENARIOS, source="bad.toml")


def test_scenario_file_errors_name_the_file(tmp_path):
    p = tmp_path / "s.toml"
    p.write_text('[vary."events.leak_rate_per_h"]\ngrid = []\n')
    with pytest.raises(ScenarioError, match=r"s\.toml: vary\.events\.leak_rate_per_h\.grid = \[\]: empty grid"):
        Scenario.from_toml(p)
    p.write_text("[scenario\n")
    with pytest.raises(ScenarioError, match="malformed TOML"):
        Scenario.from_toml(p)


def test_dotted_vary_tables_name_one_parameter():
    a = tomllib.loads('[vary.events.leak_rate_per_h]\ngrid = [1.0, 2.0]\n')
    b = tomllib.loads('[vary."events.leak_rate_per_h"]\ngrid = [1.0, 2.0]\n')
    fa = Scenario.from_dict(a).factors
    assert fa == Scenario.from_dict(b).factors and fa[0].name == "events.leak_rate_per_h"


def test_distributions_map_quantiles():
    u = np.linspace(0.0, 1.0, 10_001)[1:-1]
    norm = Factor("x", "normal", args=(("mean", 10.0), ("sd", 2.0)))
    assert np.median(norm.from_unit(u)) == pytest.approx(10.0, abs=1e-6)
    assert norm.from_unit(np.array([0.841344746]))[0] == pytest.approx(12.0, rel=1e-6)
    logn = Factor("x", "lognormal", args=(("median", 3.0), ("sigma", 0.5)))
    assert np.median(logn.from_unit(u)) == pytest.approx(3.0, rel=1e-6)
    trunc = Factor("x", "normal", args=(("mean", 0.0), ("sd", 1.0), ("low", 0.5), ("high", 1.0)))
    v = trunc.from_unit(u)
    assert v.min() >= 0.5 and v.max() <= 1.0


def test_normal_is_truncated_to_the_parameter_range():
    sc = Scenario.from_dict(_doc({"events.leak_rate_per_h": {"distribution": "normal", "mean": 0.1, "sd": 1.0}},
                                 samples=500))
    draws = Plan(sc).draws[:, 0]
    assert draws.min() >= 0.0 and (draws < 0.1).any()


def test_design_order_and_seeds_follow_the_scenario():
    sc = Scenario.from_toml(SCENARIOS / "small.toml")
    plan = Plan(sc)
    assert plan.n_sweep_points == 4 * 3 and plan.n_sens_points == 8 * (3 + 2)
    assert plan.sequence(0) == (0, 0) and plan.sequence(5) == (1, 1)
    assert plan.sequence(plan.n_sweep_sequences) == (plan.n_sweep_points, 0)
    p = plan.point(7)  # variation 2 (leak 5.0, pump-down 60), draw 1
    assert (p.variation, p.draw) == (2, 1)
    assert p.values["events.leak_rate_per_h"] == 5.0 and p.values["recipe.pumpdown_min"] == 60.0
    assert p.values["state.target_kwh"] == plan.draws[1, 0]
    assert sequence_seed(sc.seed, 3) != sequence_seed(sc.seed + 1, 3)


def test_chunks_do_not_change_the_runs():
    """The same rows whether a study runs as one chunk or as many (Dask only distributes these chunks)."""
    sc = Scenario.from_toml(SCENARIOS / "small.toml")
    plan = Plan(sc)
    whole = run_chunk(plan, 0, plan.n_sequences).to_pandas()
    import pandas as pd

    pieces = pd.concat([run_chunk(plan, a, b).to_pandas() for a, b in plan.chunks(7)], ignore_index=True)
    pd.testing.assert_frame_equal(whole, pieces)
    assert list(whole["run_index"]) == list(range(plan.total_runs))
    other = Plan(Scenario.from_dict({**tomllib.loads((SCENARIOS / "small.toml").read_text()),
                                     "scenario": {**tomllib.loads((SCENARIOS / "small.toml").read_text())["scenario"],
                                                  "seed": 12}}, base_dir=SCENARIOS, source="small.toml"))
    assert not np.array_equal(run_chunk(other, 0, 4).to_pandas()["interface_resistance_ohm_cm2"],
                              whole["interface_resistance_ohm_cm2"][:4])


def test_sequences_carry_chamber_state_over():
    doc = {"scenario": {"seed": 3, "replicates": 2, "runs_per_sequence": 5, "recipe": "../recipes/haruta2015.toml"},
           "vary": {"recipe.pumpdown_min": {"grid": [30.0, 240.0]}}}
    plan = Plan(Scenario.from_dict(doc, base_dir=SCENARIOS, source="seq.toml"))
    df = run_chunk(plan, 0, plan.n_sequences).to_pandas()
    assert len(df) == 2 * 2 * 5
    for _, seq in df.groupby("sequence"):
        assert list(seq["run_in_sequence"]) == [0, 1, 2, 3, 4]
        kwh = seq["target_kwh_start"].to_numpy()
        assert (np.diff(kwh) > 0).all()  # the target erodes from run to run
        assert np.allclose(kwh[1:], seq["target_kwh_after"].to_numpy()[:-1])


def test_invalid_combination_is_reported_by_the_run():
    """The plan refuses it (test_whatif_validation.py); unchecked, the engine still refuses the point it reaches."""
    doc = {"scenario": {"seed": 1, "samples": 20},
           "vary": {"recipe.seed_thickness_nm": {"grid": [0.0, 60.0]},
                    "recipe.target_thickness_nm": {"distribution": "uniform", "low": 20.0, "high": 200.0}}}
    with pytest.raises(ScenarioError, match="seed_thickness_nm"):
        Plan(Scenario.from_dict(doc, source="combo.toml"))
    plan = Plan(Scenario.from_dict(doc, source="combo.toml"), check=False)
    run_chunk(plan, 0, 20)  # seed layer 0: every draw is fine
    with pytest.raises(ScenarioError, match="design point") as info:
        run_chunk(plan, 20, 40)
    assert "seed_thickness_nm" in str(info.value)


# -- fuzzing: any scenario document is either accepted (and gives finite inputs in range) or one clear error -----
_names = st.sampled_from(parameter_names() + ["recipe.nope", "events", "state.target_kwh.x", "nope.x", ""])
_number = st.one_of(st.floats(allow_nan=True, allow_infinity=True), st.integers(-10, 10**6))
_value = st.one_of(_number, st.text(max_size=5), st.booleans(), st.lists(_number, max_size=3))
_dist = st.fixed_dictionaries({"distribution": st.sampled_from(["uniform", "normal", "lognormal", "beta"])},
                              optional={k: _number for k in ("low", "high", "mean", "sd", "median", "sigma")})
_grid = st.fixed_dictionaries({"grid": st.lists(st.one_of(_number, st.sampled_from(["air", "vacuum", True])),
                                                max_size=4)})
_table = st.one_of(_dist, _grid, st.dictionaries(st.text(max_size=4), _value, max_size=2))


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(vary=st.dictionaries(_names, _table, max_size=3), samples=st.integers(-1, 4),
       replicates=st.integers(-1, 3), seed=st.one_of(st.integers(-2, 2**64), st.floats()))
def test_fuzzed_scenarios_load_or_fail_cleanly(vary, samples, replicates, seed):
    doc = {"scenario": {"seed": seed, "samples": samples, "replicates": replicates}, "vary": vary}
    try:
        sc = Scenario.from_dict(doc, source="fuzz.toml")
    except ScenarioError as exc:
        assert "\n" not in str(exc) and str(exc).startswith("fuzz.toml: ")
        return
    try:
        plan = Plan(sc)
    except ScenarioError as exc:  # a combination of grid levels and draws that breaks a recipe rule
        assert "\n" not in str(exc) and str(exc).startswith("fuzz.toml: ")
        plan = Plan(sc, check=False)
    ranges = {f"{row['section']}.{row['name']}": (row["low"], row["high"]) for row in Chamber.parameter_docs()}
    for j, f in enumerate(sc.dist_factors):
        col = plan.draws[:, j]
        assert np.isfinite(col).all()
        low, high = ranges.get(f.name, (None, None))
        if low is not None:
            assert col.min() >= low and col.max() <= high
    for p in range(min(plan.n_points, 3)):
        for v in plan.point(p).values.values():
            assert not (isinstance(v, float) and math.isnan(v))


@pytest.mark.parametrize("chunk_runs", [1, 7, 40, 10_000])
def test_chunks_by_index_cover_every_sequence_once(chunk_runs):
    from campaigns.whatif.plan import spread_order

    plan = Plan(Scenario.from_toml(SCENARIOS / "small.toml"))
    n = plan.n_chunks(chunk_runs)
    listed = list(plan.chunks(chunk_runs))
    assert len(listed) == n and [plan.chunk(i, chunk_runs) for i in range(n)] == listed
    order = list(spread_order(n))
    assert sorted(order) == list(range(n))
    covered = sorted(g for i in order for g in range(*plan.chunk(i, chunk_runs)))
    assert covered == list(range(plan.n_sequences))
