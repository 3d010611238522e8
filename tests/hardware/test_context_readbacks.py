"""The chamber's context read from a tool through its mapping file's ``[[context]]`` nodes (issue 16): the emulator
on 127.0.0.1 publishes the twin's state, the adapter reads it in canonical units, the runner records it."""

from __future__ import annotations

import time

import pytest

from campaigns.context import CONTEXT_EVENT, context_now, trial_context
from campaigns.store import CampaignStore
from hardware.mapping import Mapping
from hardware.mapping_types import MappingError
from hardware.opcua import OpcUaTool
from process_models.contamination import h2o_partial_pressure_pa
from sputter_twin.cli.main import main
from twin import Chamber

from .conftest import MAPPING_A
from .test_campaign_e2e import CAMPAIGN

CONTEXT = """
[[context]]
key = "base_pressure_pa"
node = "s=Chamber.BasePressure"
unit = "mbar"

[[context]]
key = "target_kwh"
node = "s=Chamber.TargetEnergy"
unit = "Wh"

[[context]]
key = "hours_since_vent"
node = "s=Chamber.MinutesSinceVent"
unit = "min"

[[context]]
key = "runs_since_vent"
node = "s=Chamber.RunsSinceVent"
"""


@pytest.fixture
def ctx_mapping(tmp_path):
    path = tmp_path / "rf_a_context.toml"
    path.write_text(MAPPING_A.read_text(encoding="utf-8") + CONTEXT, encoding="utf-8")
    return path


def test_the_adapter_reads_the_context_before_and_after_a_run_in_canonical_units(emulator, ctx_mapping, short_recipe):
    mapping = Mapping.from_toml(ctx_mapping)
    chamber = Chamber().replace({"state.target_kwh": 12.5, "state.hours_since_vent": 3.0})
    emu = emulator(mapping, chamber=chamber)
    assert emu.read("s=Chamber.TargetEnergy") == pytest.approx(12500.0)  # the node holds Wh
    with OpcUaTool(mapping, emu.endpoint) as tool:
        before = tool.context()
        assert before["target_kwh"] == pytest.approx(12.5) and before["hours_since_vent"] == pytest.approx(3.0)
        assert before["runs_since_vent"] == 0
        assert before["base_pressure_pa"] == pytest.approx(float(h2o_partial_pressure_pa(3 * 3600.0)), rel=1e-9)
        tool.run(short_recipe)
        after = tool.context()
    state = emu.emulator.runs[0].chamber_state_after
    assert after["target_kwh"] == pytest.approx(state["target_kwh"]) and after["target_kwh"] > 12.5
    assert after["hours_since_vent"] == pytest.approx(state["hours_since_vent"]) and after["runs_since_vent"] == 1
    assert after["base_pressure_pa"] < before["base_pressure_pa"]  # the walls dried out during the run
    emu.emulator.model.vent()  # published by the emulator's loop at its next tick
    for _ in range(200):
        if emu.read("s=Chamber.RunsSinceVent") == 0:
            break
        time.sleep(0.02)
    with OpcUaTool(mapping, emu.endpoint) as tool:
        vented = tool.context()
    assert vented["hours_since_vent"] == 0 and vented["runs_since_vent"] == 0
    assert vented["target_kwh"] == pytest.approx(after["target_kwh"])


def test_a_mapping_without_context_nodes_reads_nothing(emulator, mapping_a):
    emu = emulator()
    with OpcUaTool(mapping_a, emu.endpoint) as tool:
        assert tool.context() == {}


def test_the_runner_records_the_tools_context_with_each_trial(tmp_path, emulator, ctx_mapping, capsys):
    emu = emulator(Mapping.from_toml(ctx_mapping), chamber=Chamber().replace({"state.hours_since_vent": 6.0}))
    camp = tmp_path / "campaign.toml"
    camp.write_text(CAMPAIGN.format(budget=1, endpoint=emu.endpoint, mapping=ctx_mapping), encoding="utf-8")
    store_path = tmp_path / "c.sqlite"
    assert main(["campaign", "run", str(camp), "--store", str(store_path), "--no-progress"]) == 0
    with CampaignStore(store_path) as store:
        cid = store.campaigns()[0].id
        (proposed,) = store.trials(cid)
        read = [e for e in store.events(cid) if e.kind == CONTEXT_EVENT]
        assert read and read[-1].detail["context"]["hours_since_vent"] == pytest.approx(6.0)
        assert proposed.provenance["context_now"]["base_pressure_pa"] == pytest.approx(
            float(h2o_partial_pressure_pa(6 * 3600.0)), rel=1e-9)
    assert main(["campaign", "approve", str(proposed.id), "--store", str(store_path), "--reviewer", "alice"]) == 0
    assert main(["campaign", "run", str(camp), "--store", str(store_path), "--no-progress"]) == 0
    capsys.readouterr()
    with CampaignStore(store_path) as store:
        (trial,) = store.trials(cid)
        ctx = trial_context(trial)
        assert ctx is not None and ctx["hours_since_vent"] == pytest.approx(6.0) and ctx["runs_since_vent"] == 0
        assert ctx["target_kwh"] == 0 and set(ctx) == {"base_pressure_pa", "target_kwh", "hours_since_vent",
                                                        "runs_since_vent"}
        assert context_now(Chamber(), store.trials(cid), store.events(cid))["runs_since_vent"] == 1


@pytest.mark.parametrize("entry, field", [
    ('key = "moon_phase"\nnode = "s=X"', "context[0].key"),
    ('key = "target_kwh"\nnode = "s=X"\nunit = "mTorr"', "context[0].unit"),
    ('key = "target_kwh"\nnode = "s=X"\nscale = 0', "context[0].scale"),
    ('key = "target_kwh"\nnode = "not a node"', "context[0].node"),
    ('key = "target_kwh"\nnode = "s=X"\ncolour = "red"', "context[0].colour"),
])
def test_a_bad_context_entry_is_one_line_naming_the_field(tmp_path, entry, field):
    path = tmp_path / "bad.toml"
    path.write_text(MAPPING_A.read_text(encoding="utf-8") + f"\n[[context]]\n{entry}\n", encoding="utf-8")
    with pytest.raises(MappingError) as err:
        Mapping.from_toml(path)
    assert field in str(err.value) and "\n" not in str(err.value) and str(path) in str(err.value)


def test_a_context_key_mapped_twice_is_refused(tmp_path):
    path = tmp_path / "twice.toml"
    entry = '\n[[context]]\nkey = "target_kwh"\nnode = "s=A"\n'
    path.write_text(MAPPING_A.read_text(encoding="utf-8") + entry + entry.replace("s=A", "s=B"), encoding="utf-8")
    with pytest.raises(MappingError, match="mapped twice"):
        Mapping.from_toml(path)


def test_tool_check_reads_every_context_node_and_reports_a_missing_one(tmp_path, emulator, ctx_mapping):
    """``tool check`` verifies the ``[[context]]`` nodes like every other mapped node (present, numeric, unit); a
    node the tool lacks is left out of the context the adapter reads, not an error for the run."""
    from hardware.check import check_tool

    mapping = Mapping.from_toml(ctx_mapping)
    emu = emulator(mapping)
    found = {f.name: f for f in check_tool(mapping, emu.endpoint) if f.role == "context"}
    assert set(found) == {"base_pressure_pa", "target_kwh", "hours_since_vent", "runs_since_vent"}
    assert all(f.kind == "ok" for f in found.values()), found
    assert "Double" in found["target_kwh"].detail
    moved = tmp_path / "moved.toml"  # the tool has no such node: the check says so, the run's addresses do not need it
    moved.write_text(ctx_mapping.read_text(encoding="utf-8").replace("s=Chamber.RunsSinceVent", "s=Chamber.Runs"),
                     encoding="utf-8")
    again = {f.name: f for f in check_tool(Mapping.from_toml(moved), emu.endpoint) if f.role == "context"}
    assert again["runs_since_vent"].kind == "missing" and again["target_kwh"].kind == "ok"
    with OpcUaTool(Mapping.from_toml(moved), emu.endpoint) as tool:
        assert set(tool.context()) == {"base_pressure_pa", "target_kwh", "hours_since_vent"}
