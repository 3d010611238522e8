"""Extra variables on the OPC UA tool: the mapping's ``[[setpoint]] extra = NAME`` entries, the adapter writing each
extra to its node (echo verified) against the emulator on 127.0.0.1, and a campaign whose extra the mapping cannot
write refused before anything runs."""

from __future__ import annotations

import tomllib

import pytest

from campaigns.store import CampaignStore
from hardware.mapping import Mapping, MappingError
from hardware.opcua import OpcUaTool
from sputter_twin.cli.main import main
from twin.errors import RecipeError

from .conftest import MAPPING_A

BIAS_ENTRY = """
# An extra variable of a campaign (a tool setting the twin does not model): a campaign that declares
# [space.extra.substrate_bias_v] with unit "V" and a range inside [-150, 0] V gets it written here.
[[setpoint]]
extra = "substrate_bias_v"
node = "s=Recipe.SubstrateBias"
unit = "V"
min = -150.0
max = 0.0
readback = "s=Recipe.SubstrateBias.Accepted"
"""
"""The example tool rf-a with a substrate bias it can set (appended to its mapping file)."""
DOC = tomllib.loads(MAPPING_A.read_text(encoding="utf-8"))
BIAS = {"unit": "V", "kind": "real", "low": -100.0, "high": 0.0, "categories": ()}


@pytest.fixture(scope="module")
def bias_mapping_path(tmp_path_factory):
    path = tmp_path_factory.mktemp("mapping") / "rf_a_bias.toml"
    path.write_text(MAPPING_A.read_text(encoding="utf-8") + BIAS_ENTRY, encoding="utf-8")
    return path


@pytest.fixture(scope="module")
def mapping_a(bias_mapping_path):  # the rf-a mapping with the bias entry, for every test here
    return Mapping.from_toml(bias_mapping_path)


def _with(*entries):
    doc = {**DOC, "setpoint": [sp for sp in DOC["setpoint"] if "extra" not in sp] + list(entries)}
    return Mapping.from_dict(doc)


def test_a_mapping_maps_the_substrate_bias_and_accepts_a_campaign_range(mapping_a):
    (bias,) = mapping_a.extras
    assert (bias.name, bias.node, bias.unit, bias.min, bias.max) == ("substrate_bias_v", "s=Recipe.SubstrateBias",
                                                                      "V", -150.0, 0.0)
    mapping_a.check_extras({"substrate_bias_v": BIAS})
    assert mapping_a.extra_writes({"substrate_bias_v": -40.0}) == [(bias, -40.0)]
    assert mapping_a.extra_writes(None) == []  # a campaign without extras writes none


def test_a_scaled_categorical_and_a_scaled_numeric_extra_convert_to_tool_values():
    m = _with({"extra": "rotation_rpm", "node": "s=Recipe.Rotation", "unit": "rpm", "scale": 10.0, "max": 30.0},
              {"extra": "magnet_mode", "node": "s=Recipe.Magnets", "values": {"balanced": 0, "unbalanced": 1}})
    rot, mode = m.extras
    assert rot.to_tool(12) == 120.0 and rot.from_tool(120.0) == 12.0
    assert mode.to_tool("unbalanced") == 1 and mode.from_tool(1) == "unbalanced"
    m.check_extras({"magnet_mode": {"unit": "", "kind": "categorical", "categories": ("balanced", "unbalanced")}})


@pytest.mark.parametrize(("entry", "field", "words"), [
    ({"extra": "Bias", "node": "s=X", "unit": "V"}, "setpoint[0].extra", "snake case"),
    ({"extra": "rf_power_w", "node": "s=X", "unit": "W"}, "setpoint[0].extra", "not a recipe field"),
    ({"extra": "bias_v", "node": "s=X"}, "setpoint[0].unit", "missing"),
    ({"extra": "bias_v", "node": "s=X", "unit": "V", "min": 0.0, "max": -5.0}, "setpoint[0].min", "greater"),
    ({"extra": "bias_v", "node": "s=X", "unit": "V", "field": "rf_power_w"}, "setpoint[0].field", "unknown key"),
    ({"extra": "mode", "node": "s=X", "values": {"a": 1, "b": 1}}, "setpoint[0].values", "distinct"),
    ({"extra": "mode", "node": "s=X", "values": {"a": 1}, "unit": "V"}, "setpoint[0].unit", "categorical"),
])
def test_bad_extra_entries_are_refused_with_one_line(entry, field, words):
    doc = {**DOC, "setpoint": [entry] + [sp for sp in DOC["setpoint"] if "extra" not in sp]}
    with pytest.raises(MappingError) as info:
        Mapping.from_dict(doc)
    assert info.value.field == field and words in str(info.value) and "\n" not in str(info.value)


@pytest.mark.parametrize(("declared", "words"), [
    ({"rotation_rpm": {**BIAS, "unit": "rpm"}}, "no [[setpoint]] for this extra"),
    ({"substrate_bias_v": {**BIAS, "unit": "kV"}}, "unit differs"),
    ({"substrate_bias_v": {**BIAS, "low": -300.0}}, "beyond the mapping's limits"),
    ({"substrate_bias_v": {"unit": "", "kind": "categorical", "categories": ("on",)}}, "category"),
])
def test_a_declared_extra_the_mapping_cannot_write_is_refused(mapping_a, declared, words):
    with pytest.raises(MappingError) as info:
        mapping_a.check_extras(declared)
    assert words in str(info.value) and "\n" not in str(info.value)


def test_the_adapter_writes_the_extra_verifies_its_echo_and_the_tool_receives_it(emulator, mapping_a,
                                                                                   short_recipe):
    emu = emulator(mapping_a)
    with OpcUaTool(mapping_a, emu.endpoint) as tool:
        res = tool.run(short_recipe, extras={"substrate_bias_v": -40.0})
    assert emu.emulator.extras == [{"substrate_bias_v": -40.0}]  # read back by the tool at the start command
    assert emu.emulator.runs[0].recipe == short_recipe
    log = res.telemetry.attrs["command_log"]
    names = [e["name"] for e in log if e["kind"] == "setpoint"]
    assert names == [sp.field for sp in mapping_a.setpoints] + ["substrate_bias_v"]
    assert ("s=Recipe.SubstrateBias", -40.0) in [(w["node"], w["value"]) for w in emu.write_log]
    assert emu.read("s=Recipe.SubstrateBias.Accepted") == -40.0  # echoed and verified before the start


@pytest.mark.parametrize("extras", [{"substrate_bias_v": -200.0}, {"rotation_rpm": 5.0}])
def test_an_extra_outside_the_mapping_is_refused_before_anything_is_written(emulator, mapping_a, short_recipe,
                                                                            extras):
    emu = emulator(mapping_a)
    with OpcUaTool(mapping_a, emu.endpoint) as tool, pytest.raises(RecipeError) as info:
        tool.run(short_recipe, extras=extras)
    assert "extras." in info.value.field and emu.write_log == [] and emu.emulator.runs == []


CAMPAIGN = """
[campaign]
name = "opcua-extras"
budget = 1
seed = 5
[strategy]
name = "random"
[space]
rf_power_w = [60.0, 200.0]
[space.extra.{extra}]
low = -80.0
high = -10.0
unit = "V"
[fixed]
target_thickness_nm = 20.0
seed_thickness_nm = 0.0
pumpdown_min = 10.0
presputter_min = 3.0
[tool]
type = "opcua"
endpoint = "{endpoint}"
mapping = "{mapping}"
require_approval = true
"""


def test_a_campaign_whose_extra_the_mapping_cannot_write_is_refused_before_the_store_changes(tmp_path, capsys,
                                                                                            bias_mapping_path):
    camp = tmp_path / "c.toml"
    camp.write_text(CAMPAIGN.format(extra="grid_bias_v", endpoint="opc.tcp://127.0.0.1:9/x",
                                    mapping=bias_mapping_path))
    store = tmp_path / "c.sqlite"
    assert main(["campaign", "run", str(camp), "--store", str(store), "--no-progress"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "grid_bias_v" in err and "no [[setpoint]] for this extra" in err
    assert not store.exists()  # refused before the store was created, nothing proposed, nothing run


def test_a_campaign_with_an_extra_runs_it_on_the_tool_after_approval(tmp_path, emulator, capsys, mapping_a,
                                                                     bias_mapping_path):
    emu = emulator(mapping_a)
    camp = tmp_path / "c.toml"
    camp.write_text(CAMPAIGN.format(extra="substrate_bias_v", endpoint=emu.endpoint, mapping=bias_mapping_path))
    store = tmp_path / "c.sqlite"
    assert main(["campaign", "run", str(camp), "--store", str(store), "--no-progress"]) == 0
    with CampaignStore(store, create=False) as st:
        (t,) = st.trials(st.campaigns()[0].id)
    assert t.state == "proposed" and -80.0 <= t.extras["substrate_bias_v"] <= -10.0
    assert main(["campaign", "approve", str(t.id), "--store", str(store), "--reviewer", "alice"]) == 0
    assert main(["campaign", "run", str(camp), "--store", str(store), "--no-progress"]) == 0
    assert emu.emulator.extras == [t.extras]
    with CampaignStore(store, create=False) as st:
        assert st.trial(t.id).state == "awaiting_measurement"
        kinds = [e.kind for e in st.events(trial_id=t.id)]
    assert "extras" in kinds


@pytest.mark.parametrize("profile", ["rf-a", "pvd-c"])
def test_the_run_procedure_writes_the_extra_for_a_setpoint_tool_and_a_job_tool(profile, short_recipe):
    """On simulated time (the in-memory tool): rf-a writes setpoint nodes, pvd-c takes the recipe as a job; the
    extra has a node of its own on both and is written, echoed and read by the tool before the start."""
    import asyncio

    from hardware.memory_backend import MemoryTool
    from hardware.procedure import RunProcedure, Timing

    from .conftest import MAPPING_C

    path = MAPPING_A if profile == "rf-a" else MAPPING_C
    mapping = Mapping.from_dict({**tomllib.loads(path.read_text(encoding="utf-8")),
                                 "setpoint": tomllib.loads(path.read_text(encoding="utf-8"))["setpoint"]
                                 + tomllib.loads(BIAS_ENTRY)["setpoint"]})
    tool = MemoryTool(mapping, speed=300.0)
    t = mapping.tool
    proc = RunProcedure(mapping, tool.transport(), Timing(watchdog_s=t.watchdog_s, settle_s=t.settle_s,
                                                          frozen_after_s=t.frozen_after_s), "mem", run_id="trial-1")
    res = asyncio.run(proc.run(short_recipe, {"substrate_bias_v": -35.0}))
    assert tool.model.extras == [{"substrate_bias_v": -35.0}] and tool.runs[0].recipe == short_recipe
    sent = [e for e in res.telemetry.attrs["command_log"] if e["name"] == "substrate_bias_v"]
    assert [(e["node"], e["value"], e["ok"]) for e in sent] == [("s=Recipe.SubstrateBias", -35.0, True)]
    start = mapping.commands.start.address
    written = [w["node"] for w in tool.write_log]
    assert written.index("s=Recipe.SubstrateBias") < written.index(start)  # set before the run starts
