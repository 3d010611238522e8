"""Campaign files and search spaces: what is accepted, and bad input refused with one line naming the field."""

from __future__ import annotations

import math

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from campaigns.config import CampaignConfig, Objective
from campaigns.errors import CampaignError
from campaigns.space import LOG_LOW_MIN, SearchSpace, tool_limits
from tests.campaigns.helpers import small_campaign
from tests.conftest import EXAMPLES
from twin import Chamber, Recipe
from twin.errors import InputError

BASE = '[campaign]\nname = "x"\nbudget = 5\n[space]\nrf_power_w = [30.0, 200.0]\n'


def test_example_campaign_reads_with_eight_dimensions():
    cfg = CampaignConfig.from_toml(EXAMPLES / "campaigns" / "lipon_interface.toml")
    assert len(cfg.space) == 8 and cfg.strategy == "gp" and cfg.tool["type"] == "simulated"
    assert cfg.objective.minimize == "interface_resistance_ohm_cm2" and cfg.objective.log
    for d in cfg.space.dimensions:  # every bound within the default tool's limits
        lo, hi, _ = tool_limits(Chamber())[d.name]
        assert lo <= d.low < d.high <= hi


def test_throughput_campaign_prices_tool_time():
    """The throughput example is the default campaign plus process time at 0.25 Ω·cm² per hour."""
    base = CampaignConfig.from_toml(EXAMPLES / "campaigns" / "lipon_interface.toml")
    cfg = CampaignConfig.from_toml(EXAMPLES / "campaigns" / "lipon_throughput.toml")
    assert cfg.space.names == base.space.names
    assert cfg.objective.secondary == "process_time_s"
    assert cfg.objective.secondary_weight * 3600 == pytest.approx(0.25)
    result = {"interface_resistance_ohm_cm2": 8.0, "process_time_s": 4 * 3600.0, "thickness_nm": 100.0,
              "shorted": False}
    assert cfg.objective.evaluate(result).value == pytest.approx(9.0)
    assert base.objective.evaluate(result).value == pytest.approx(8.0)


@pytest.mark.parametrize(("text", "field", "words"), [
    (BASE.replace("[30.0, 200.0]", "[200.0, 30.0]"), "space.rf_power_w", "reversed"),
    (BASE + "rf_powr_w = [1.0, 2.0]\n", "space.rf_powr_w", "unknown recipe field"),
    (BASE.replace("[30.0, 200.0]", "[30.0, 900.0]"), "space.rf_power_w", "tool's limits"),
    (BASE + "pressure_pa = { low = 0.01, high = 1.0 }\n", "space.pressure_pa.low", "tool's limits"),
    (BASE.replace("budget = 5", "budget = 0"), "campaign.budget", "at least one"),
    (BASE + '[strategy]\nname = "simulated-annealing"\n', "strategy.name", "unknown strategy"),
    (BASE + '[strategy]\nname = "gp"\nn_intial = 3\n', "strategy.n_intial", "unknown setting"),
    (BASE + '[strategy]\nname = "gp"\nacq_func = "UCB"\n', "strategy.acq_func", "allowed"),
    (BASE + 'transfer = ["vacuum", "plasma"]\n', "space.transfer", "not an allowed value"),
    (BASE + "pressure_pa = { low = 0.0, high = 1.0, log = true }\n", "space.pressure_pa.low", "log"),
    (BASE + "seed_thickness_nm = { low = 2.2250738585e-313, high = 5e-31, log = true }\n",
     "space.seed_thickness_nm.low", ">= 1e-100"),
    (BASE + "[fixed]\nrf_power_w = 50.0\n", "fixed.rf_power_w", "both searched and fixed"),
    (BASE + "[fixed]\npresure_pa = 1.0\n", "fixed.presure_pa", "unknown key"),
    (BASE + "[fixed]\npressure_pa = 50.0\n", "fixed.pressure_pa", "tool's limits"),
    (BASE + "[objective]\nminimize = \"thickness_nm\"\n", "objective.minimize", "unknown objective"),
    (BASE + "[constraints]\nmax_process_time_h = -1.0\n", "constraints.max_process_time_h", "positive"),
    (BASE + "[tool]\nrequire_approval = \"yes\"\n", "tool.require_approval", "true or false"),
    (BASE.replace("name = \"x\"", "name = \"\""), "campaign.name", "needs a name"),
    (BASE + "[bogus]\nx = 1\n", "bogus", "unknown table"),
    ('[campaign]\nname = "x"\n', "space", "at least one field"),
    (BASE.replace("budget = 5", "budget = 5.5"), "campaign.budget", "integer"),
    (BASE + "seed_power_w = [\"a\", \"b\"]\n", "space.seed_power_w", "finite number"),
])
def test_bad_campaign_files_name_file_field_and_problem(tmp_path, text, field, words):
    path = tmp_path / "bad.toml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(CampaignError) as info:
        CampaignConfig.from_toml(path)
    msg = str(info.value)
    assert "\n" not in msg and str(path) in msg and field in msg and words in msg, msg


def test_malformed_and_missing_files(tmp_path):
    bad = tmp_path / "m.toml"
    bad.write_text("[campaign\nname=", encoding="utf-8")
    with pytest.raises(CampaignError, match="malformed TOML"):
        CampaignConfig.from_toml(bad)
    with pytest.raises(CampaignError, match="file not found"):
        CampaignConfig.from_toml(tmp_path / "none.toml")


def test_bounds_are_checked_against_the_given_chamber(tmp_path):
    chamber = Chamber().replace({"limits.max_pressure_pa": 1.0})
    path = small_campaign(tmp_path)  # pressure up to 3 Pa
    CampaignConfig.from_toml(path)
    with pytest.raises(CampaignError, match=r"pressure_pa.*tool's limits.*\[0.1, 1\] Pa"):
        CampaignConfig.from_toml(path, chamber)


def test_to_recipe_repairs_dependent_fields_the_same_way():
    space = SearchSpace.from_tables({"transfer": ["vacuum", "air"], "air_exposure_min": [0.0, 60.0],
                                     "seed_thickness_nm": [0.0, 50.0]}, {"target_thickness_nm": 20.0})
    r = space.to_recipe(["vacuum", 30.0, 40.0])
    assert r.air_exposure_min == 0.0 and r.seed_thickness_nm == 20.0
    assert space.to_recipe(["air", 30.0, 5.0]).air_exposure_min == 30.0
    u = space.unit_cube([["air", 30.0, 5.0]])
    assert space.from_unit_cube(u)[0] == ["air", 30.0, 5.0]


def test_objective_counts_shorts_and_constraint_breaks_as_failed():
    obj = Objective(max_process_time_h=10.0, thickness_tolerance=0.1)
    good = {"interface_resistance_ohm_cm2": 10.0, "shorted": False, "process_time_s": 3600.0, "thickness_nm": 100.0,
            "recipe": {"target_thickness_nm": 100.0}}
    o = obj.evaluate(good)
    assert not o.failed and o.value == 10.0 and o.score == pytest.approx(1.0)
    assert obj.evaluate({**good, "shorted": True}).reason == "shorted cell"
    assert "process time" in obj.evaluate({**good, "process_time_s": 11 * 3600.0}).reason
    assert "thickness" in obj.evaluate({**good, "thickness_nm": 80.0}).reason
    two = Objective(secondary="process_time_s", secondary_weight=1 / 3600.0, log=False)
    assert two.evaluate(good).value == pytest.approx(11.0)


_FIELDS = [*Recipe.fields(), "bogus_field", "rf_power"]
_VALUES = st.one_of(
    st.lists(st.floats(allow_nan=True, allow_infinity=True, width=32), min_size=0, max_size=3),
    st.lists(st.sampled_from(["vacuum", "air", "x"]), max_size=3),
    st.fixed_dictionaries({"low": st.floats(-10, 1e4), "high": st.floats(-10, 1e4)},
                          optional={"log": st.booleans(), "step": st.integers()}),
    st.integers(), st.text(max_size=5), st.booleans(),
)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(space=st.dictionaries(st.sampled_from(_FIELDS), _VALUES, max_size=4),
       fixed=st.dictionaries(st.sampled_from(_FIELDS), st.one_of(st.floats(-1e3, 1e4), st.text(max_size=4)),
                             max_size=2),
       budget=st.integers(-3, 50), batch=st.integers(-1, 70))
def test_fuzzed_campaign_tables_either_load_or_raise_one_clear_input_error(space, fixed, budget, batch):
    doc = {"campaign": {"name": "f", "budget": budget, "batch_size": batch}, "space": space, "fixed": fixed}
    text = _toml(doc)
    try:
        cfg = CampaignConfig.from_text(text, source="fuzz.toml")
    except InputError as exc:
        assert "\n" not in str(exc) and str(exc).startswith("fuzz.toml: ")
        return
    # accepted: every point of the space makes a valid recipe within the tool's limits
    import numpy as np

    for p in cfg.space.sample(3, np.random.default_rng(0)):
        Chamber().check(cfg.space.to_recipe(p))
    assert cfg.budget >= 1 and 1 <= cfg.batch_size


def _toml(doc) -> str:
    def val(v):
        if isinstance(v, bool):
            return "true" if v else "false"
        if isinstance(v, float):
            return "nan" if math.isnan(v) else ("inf" if v > 0 else "-inf") if math.isinf(v) else repr(v)
        if isinstance(v, int):
            return str(v)
        if isinstance(v, str):
            return '"' + v.replace("\\", "\\\\").replace('"', '\\"') + '"'
        if isinstance(v, list):
            return "[" + ", ".join(val(x) for x in v) + "]"
        return "{ " + ", ".join(f"{k} = {val(x)}" for k, x in v.items()) + " }"

    out = []
    for table, kv in doc.items():
        out.append(f"[{table}]")
        out += [f"{k} = {val(v)}" for k, v in kv.items()]
    return "\n".join(out) + "\n"


_NUMERIC = [f for f in Recipe.fields() if f not in ("transfer", "seed_power_w", "air_exposure_min")]


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_fuzzed_valid_spaces_only_propose_recipes_the_tool_accepts(data):
    """Any space whose bounds lie within the tool's limits is accepted, and every point of it is a recipe the
    tool accepts (after the documented repairs)."""
    limits = tool_limits(Chamber())
    fields = data.draw(st.lists(st.sampled_from(_NUMERIC), min_size=1, max_size=5, unique=True))
    space = {}
    for f in fields:
        lo, hi, _ = limits[f]
        hi = min(hi, lo + 1e4)
        a = data.draw(st.floats(lo, hi, allow_nan=False))
        b = data.draw(st.floats(lo, hi, allow_nan=False))
        if a == b:
            continue
        low, high = sorted((a, b))
        space[f] = {"low": low, "high": high, "log": low >= LOG_LOW_MIN and data.draw(st.booleans())}
    if data.draw(st.booleans()):
        space["transfer"] = ["vacuum", "air"]
        space["air_exposure_min"] = [0.0, 60.0]
    if not space:
        return
    cfg = CampaignConfig.from_text(_toml({"campaign": {"name": "v"}, "space": space}))
    import numpy as np

    from campaigns.strategies import context, make_strategy

    for p in cfg.space.sample(5, np.random.default_rng(data.draw(st.integers(0, 2**16)))):
        Chamber().check(cfg.space.to_recipe(p))
    for r in make_strategy("space-filling", context(cfg)).ask(3):
        Chamber().check(r)


def test_log_dimensions_map_the_unit_cube_edges_onto_their_bounds_exactly():
    # exp(log(0.2) + 1 * (log(3) - log(0.2))) is 3.0000000000000004: skopt refuses such a point as out of bounds
    config = CampaignConfig.from_toml(EXAMPLES / "campaigns" / "lipon_interface.toml")
    space = config.space
    for u in (0.0, 1.0):
        point = space.from_unit_cube([[u] * len(space)])[0]
        for d, v in zip(space.dimensions, point, strict=True):
            assert d.low <= v <= d.high, (d.name, v)
