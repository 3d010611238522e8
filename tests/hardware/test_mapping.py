"""The mapping file: examples load, units convert at the edge, bad files give one clear line."""

from __future__ import annotations

import copy
import math
import tomllib

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from numpy.testing import assert_allclose

from hardware import units
from hardware.emulator import FAULT_KINDS, EmulatorError, ScheduledFault
from hardware.mapping import Mapping, MappingError
from twin import Recipe
from twin.errors import InputError, RecipeError

from .conftest import MAPPING_A, MAPPING_B, MAPPING_C


def test_examples_load_with_their_own_units(mapping_a, mapping_b):
    assert mapping_a.tool.name == "rf-a" and mapping_b.tool.name == "mag-b"
    units_a = {sp.field: sp.unit for sp in mapping_a.setpoints}
    units_b = {(sp.field, sp.gas): sp.unit for sp in mapping_b.setpoints}
    assert units_a["pressure_pa"] == "Pa" and units_b[("pressure_pa", "")] == "mTorr"
    assert units_a["rf_power_w"] == "W" and units_b[("rf_power_w", "")] == "kW"
    assert units_b[("n2_fraction", "N2")] == "sccm" and units_b[("n2_fraction", "Ar")] == "sccm"
    assert not {r["node"] for r in mapping_a.node_roles()} & {r["node"] for r in mapping_b.node_roles()}


def test_scale_applies_after_the_unit(mapping_b):
    (baratron,) = [rb for rb in mapping_b.readbacks if rb.column == "pressure_pa"]
    assert baratron.unit == "mTorr" and baratron.scale == 1000.0
    assert_allclose(baratron.from_canonical(0.5), 0.5 / 0.133322368 * 1000.0)     # µTorr counts
    assert_allclose(baratron.to_canonical(baratron.from_canonical(0.5)), 0.5)


def test_setpoints_in_tool_units(mapping_b, short_recipe):
    writes = {(sp.field, sp.gas): raw for sp, raw in mapping_b.setpoint_writes(short_recipe.replace(n2_fraction=0.25))}
    assert_allclose(writes[("rf_power_w", "")], 0.150)                       # kW
    assert_allclose(writes[("pressure_pa", "")], 0.5 / 0.133322368)          # mTorr
    assert_allclose(writes[("target_thickness_nm", "")], 200.0)              # Å
    assert_allclose(writes[("target_substrate_distance_mm", "")], 7.0)       # cm
    assert_allclose(writes[("substrate_temperature_c", "")], 298.15)         # K
    assert_allclose(writes[("presputter_min", "")], 180.0)                   # s
    assert_allclose(writes[("n2_fraction", "N2")], 5.0)                      # sccm of 20
    assert_allclose(writes[("n2_fraction", "Ar")], 15.0)
    assert writes[("transfer", "")] == 0


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(power=st.floats(10, 200), pressure=st.floats(0.14, 3.9), n2=st.floats(0, 1), dist=st.floats(50, 100),
       temp=st.floats(25, 300), thick=st.floats(5, 1000), air=st.booleans())
def test_tool_values_map_back_to_the_recipe(mapping_a, mapping_b, power, pressure, n2, dist, temp, thick, air):
    recipe = Recipe(rf_power_w=power, pressure_pa=pressure, n2_fraction=n2, target_substrate_distance_mm=dist,
                    substrate_temperature_c=temp, target_thickness_nm=thick, transfer="air" if air else "vacuum",
                    air_exposure_min=30.0 if air else 0.0)
    for m in (mapping_a, mapping_b):
        raw = {sp.node: v for sp, v in m.setpoint_writes(recipe)}
        back = m.recipe_from_tool(raw)
        for name in Recipe.fields():
            a, b = getattr(back, name), getattr(recipe, name)
            if isinstance(a, float):
                assert math.isclose(a, b, rel_tol=1e-9, abs_tol=1e-9), (m.tool.name, name, a, b)
            else:
                assert a == b


def test_limits_in_tool_units_are_enforced(mapping_a, mapping_b, short_recipe):
    mapping_a.check_recipe(short_recipe)
    mapping_b.check_recipe(short_recipe)
    with pytest.raises(RecipeError, match=r"recipe.rf_power_w = 250.0: outside the mapping's limits of tool 'mag-b' "
                                          r"\(allowed: \[10, 200\] W\)"):
        mapping_b.check_recipe(short_recipe.replace(rf_power_w=250.0))
    mapping_a.check_recipe(short_recipe.replace(rf_power_w=250.0))
    with pytest.raises(RecipeError, match="limits the tool publishes"):
        mapping_a.check_recipe(short_recipe, {"rf_power_w": (10.0, 100.0)})
    with pytest.raises(RecipeError, match=r"pressure_pa .*\[0.133322, 3.99967\] Pa"):
        mapping_b.check_recipe(short_recipe.replace(pressure_pa=4.5))


def test_a_field_the_tool_cannot_set_is_refused(mapping_b, short_recipe):
    with pytest.raises(RecipeError, match="anneal_min = 30.0: tool 'mag-b' cannot set this field"):
        mapping_b.check_recipe(short_recipe.replace(anneal_min=30.0))


def test_unit_conversions_round_trip():
    for canonical, table in units.CONVERSIONS.items():
        for unit in table:
            assert_allclose(units.from_tool(units.to_tool(1.2345, canonical, unit), canonical, unit), 1.2345)
    assert_allclose(units.to_tool(1.0, "Pa", "Torr"), 1 / 133.322368)


def _doc(path):
    with open(path, "rb") as fh:
        return tomllib.load(fh)


@pytest.mark.parametrize(("edit", "message"), [
    (lambda d: d["tool"].update(watchdog_s=6.0), "tool.watchdog_s = 6.0: a lost connection must be seen within 5 s"),
    (lambda d: d["tool"].update(colour="red"), "tool.colour = 'red': unknown key"),
    (lambda d: d["setpoint"][1].update(unit="furlong"), "setpoint[1].unit = 'furlong': no conversion from W"),
    (lambda d: d["setpoint"][0].update(field="magic_nm"), "setpoint[0].field = 'magic_nm': not a recipe field"),
    (lambda d: d["setpoint"][0].update(node="Recipe.Thickness"), "not a NodeId string or browse path"),
    (lambda d: d.pop("safe_state"), "safe_state = None: missing table"),
    (lambda d: d["limit"][0].update(min=300.0), "limit[0].min = 300.0: greater than max"),
    (lambda d: d["readback"][1].update(follows=["rf_power_w"]), "not a mapped recipe setpoint in Pa"),
    (lambda d: d["status"].update(done="IDLE"), "state values must be distinct"),
    (lambda d: d["interlock"][0].pop("ok"), "give either ok"),
    (lambda d: d["readback"][1].update(scale=0), "readback[1].scale = 0.0: must not be zero"),
    (lambda d: d["setpoint"].append(dict(d["setpoint"][1])), "setpoint[14].field = 'rf_power_w': mapped twice"),
])
def test_bad_mapping_is_one_clear_line(tmp_path, edit, message):
    doc = _doc(MAPPING_A)
    edit(doc)
    with pytest.raises(MappingError) as info:
        Mapping.from_dict(doc, source=str(tmp_path / "m.toml"))
    text = str(info.value)
    assert message in text and "\n" not in text and text.startswith(str(tmp_path / "m.toml"))


def test_malformed_file(tmp_path):
    bad = tmp_path / "bad.toml"
    bad.write_text("[tool\nname=")
    with pytest.raises(MappingError, match="malformed TOML"):
        Mapping.from_toml(bad)
    with pytest.raises(MappingError, match="file not found"):
        Mapping.from_toml(tmp_path / "none.toml")


_scalars = st.one_of(st.none(), st.booleans(), st.integers(-5, 5), st.floats(allow_nan=True), st.text(max_size=8),
                     st.lists(st.integers(), max_size=2), st.dictionaries(st.text(max_size=3), st.integers(),
                                                                          max_size=2))


@settings(max_examples=150, deadline=None)
@given(data=st.data())
def test_fuzzed_mapping_raises_only_mapping_errors(data):
    """Any value in any key of either example is accepted or refused with a MappingError, never a crash."""
    doc = copy.deepcopy(_doc(data.draw(st.sampled_from([MAPPING_A, MAPPING_B]))))
    for _ in range(data.draw(st.integers(1, 3))):
        table = data.draw(st.sampled_from(sorted(doc)))
        target = doc[table]
        if isinstance(target, list):
            target = target[data.draw(st.integers(0, len(target) - 1))]
        key = data.draw(st.sampled_from(sorted(target) + ["bogus"]))
        target[key] = data.draw(_scalars)
    try:
        m = Mapping.from_dict(doc, source="fuzz.toml")
    except MappingError as exc:
        assert "\n" not in str(exc) and str(exc).startswith("fuzz.toml: ")
        return
    try:
        m.check_recipe(Recipe())
        m.node_roles()
    except InputError:
        pass


@settings(max_examples=200, deadline=None)
@given(text=st.text(max_size=30))
def test_fuzzed_fault_specification_parses_or_is_one_clear_line(text):
    try:
        fault = ScheduledFault.parse(text)
    except EmulatorError as exc:
        assert "\n" not in str(exc) and str(exc).startswith(("--fault = ", "fault = "))
        return
    assert fault.spec.partition(":")[0] in FAULT_KINDS and fault.delay_s >= 0 and fault.phase


@pytest.mark.parametrize(("edit", "message"), [
    # a check that could never run is refused at load, not left silently off
    (lambda d: d["readback"][1].update(phases=["deposition", "sputtering"]),
     "readback[1].phases = 'sputtering': a phase the tool never reports: the check would never run (allowed: "
     "pumpdown | heat | presputter | deposition | anneal | cool)"),
    (lambda d: d["readback"][2].update(phases=["rf_trip"]), "readback[2].phases = 'rf_trip': a phase the tool never"),
    (lambda d: d["status"]["phases"].update(ETCHING=["etch"]),
     "status.phases.ETCHING = ['etch']: not a phase of a run"),
    (lambda d: d["status"]["phases"].update(COMPLETE=["unload"]),
     "status.phases.COMPLETE = 'COMPLETE': the phase is read from the state node, so each phase must be a running"),
    (lambda d: d["commands"].pop("reset"), "commands.reset = None: latched alarms need a reset command"),
    (lambda d: d["commands"].update(start="/Objects/PvdC/Go"), "commands.start = '/Objects/PvdC/Go': a tool that "
     "takes jobs starts one by a method"),
    (lambda d: d["job"].update(read="/Objects/PvdC/Read"), "job.read = '/Objects/PvdC/Read': a job is stored and "
     "read back by methods"),
    (lambda d: d["setpoint"][0].update(node="/Objects/PvdC/T"), "setpoint[0].node = '/Objects/PvdC/T': a tool that "
     "takes jobs gets parameters, not node writes"),
    (lambda d: d["commands"]["abort"].update(args=[{"x": 1}]), "commands.abort.args = [{'x': 1}]: expected a list"),
    (lambda d: d["commands"]["abort"].update(colour="red"), "commands.abort.colour = 'red': unknown key"),
    (lambda d: d["status"].update(busy=["READY"]), "state values must be distinct"),
    (lambda d: d["status"].update(running=[]), "status.running = []: needs at least one state value"),
])
def test_bad_state_machine_or_job_is_one_clear_line(mapping_c, edit, message):
    doc = _doc(MAPPING_C)
    edit(doc)
    with pytest.raises(MappingError) as info:
        Mapping.from_dict(doc, source="c.toml")
    text = str(info.value)
    assert text.startswith("c.toml: ") and message in text and "\n" not in text


def test_phase_node_map_and_parameters_without_a_job_are_refused():
    doc = _doc(MAPPING_A)
    doc["setpoint"][0]["parameter"] = "Thickness"
    with pytest.raises(MappingError, match=r"setpoint\[0\].parameter = 'Thickness': only with a \[job\] table"):
        Mapping.from_dict(doc)
    doc = _doc(MAPPING_A)
    del doc["status"]["phase"]
    doc["readback"] = [r for r in doc["readback"] if "phases" not in r]
    doc["status"]["phases"] = {"RUNNING": ["deposition"]}
    with pytest.raises(MappingError, match=r"status.phases = \['RUNNING'\]: a phase map needs status.phase"):
        Mapping.from_dict(doc)


def test_the_state_machine_of_the_second_profile(mapping_c):
    st = mapping_c.status
    assert st.phase_in_state and st.kind("DEPOSITING") == "running" and st.kind("LOADING") == "busy"
    assert st.kind("EMERGENCY_STOP") == "fault" and st.kind("COMPLETE") == "done" and st.kind("WARMING") == "unknown"
    assert st.phase_name("DEPOSITING") == "deposition" and st.tool_phase("rf_trip") == "DEPOSITING"
    assert st.tool_phase("vent") is None                 # not told apart: the tool keeps its previous phase
    assert [al.latched for al in mapping_c.alarms] == [True, True] and mapping_c.commands.reset.method
    assert mapping_c.job is not None and all(sp.parameter and not sp.node for sp in mapping_c.setpoints)
    a = Mapping.from_toml(MAPPING_A).status                # a single value is a tuple of one
    assert a.running == ("RUNNING",) and a.kind("RUNNING") == "running" and not a.phase_in_state


def test_a_bad_second_profile_is_exit_2_from_the_command_line(tmp_path, capsys):
    from sputter_twin.cli.main import main

    bad = tmp_path / "bad.toml"
    bad.write_text(MAPPING_C.read_text().replace('phases = ["presputter", "deposition"]\ntolerance = 0.1',
                                                  'phases = ["presputter", "sputter"]\ntolerance = 0.1'))
    assert main(["tool", "check", "--mapping", str(bad), "--endpoint", "opc.tcp://127.0.0.1:9/"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "readback[1].phases = 'sputter': a phase the tool never reports" in err


def test_a_gas_flow_readback_in_sccm_or_slm():
    doc = _doc(MAPPING_C)
    doc["readback"].append({"column": "n2_flow_sccm", "node": "/Objects/PvdC/Gas/N2Flow_slm", "unit": "slm"})
    (flow,) = [rb for rb in Mapping.from_dict(doc).readbacks if rb.column == "n2_flow_sccm"]
    assert flow.to_canonical(0.025) == pytest.approx(25.0) and not flow.live
    doc["readback"][-1]["unit"] = "W"
    with pytest.raises(MappingError, match=r"readback\[6\].unit = 'W': no conversion from sccm "
                                           r"\(allowed: sccm \| slm\)"):
        Mapping.from_dict(doc)


def test_the_total_flow_is_checked_against_its_limit_when_the_file_loads():
    doc = _doc(MAPPING_C)
    (lim,) = [x for x in doc["limit"] if x["field"] == "total_flow_sccm"]
    lim.update(unit="slm", min=0.005, max=0.02)
    with pytest.raises(MappingError, match=r"setpoint.total_flow_sccm = 25.0: outside limit\[3\] "
                                           r"\(allowed: \[5, 20\] sccm\)"):
        Mapping.from_dict(doc)
    doc = _doc(MAPPING_A)                       # no flows in sccm: no total flow to limit
    doc["limit"].append({"field": "total_flow_sccm", "unit": "sccm", "min": 0.0, "max": 50.0})
    with pytest.raises(MappingError, match=r"limit\[6\].field = 'total_flow_sccm': not a mapped numeric setpoint"):
        Mapping.from_dict(doc)
