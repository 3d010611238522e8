"""End to end: a campaign with ``require_approval`` on the emulated tool over OPC UA, approvals and measurements
through the CLI, three runs with telemetry; then the server killed mid-run, and the campaign resumes."""

from __future__ import annotations

import math
import signal

import pytest

from campaigns.config import CampaignConfig
from campaigns.store import CampaignStore
from hardware.mapping import Mapping
from sputter_twin.cli.main import main
from twin import Chamber, load_tool

from .conftest import MAPPING_A, ROOT
from .test_cli import start_emulator, stop

MAPPING = Mapping.from_toml(MAPPING_A)

CAMPAIGN = """
[campaign]
name = "opcua-e2e"
budget = {budget}
batch_size = 1
seed = 5

[objective]
minimize = "interface_resistance_ohm_cm2"
log = true

[strategy]
name = "random"

[space]
rf_power_w = [60.0, 200.0]
pressure_pa = [0.3, 1.5]

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


def _cli(*argv: str) -> int:
    return main([str(a) for a in argv])


def _only(store_path, state):
    with CampaignStore(store_path, create=False) as store:
        (camp,) = store.campaigns()
        return [t for t in store.trials(camp.id) if t.state == state]


def _campaign_file(tmp_path, endpoint, budget):
    path = tmp_path / "campaign.toml"
    path.write_text(CAMPAIGN.format(budget=budget, endpoint=endpoint, mapping=MAPPING_A))
    return path


def test_three_approved_runs_with_telemetry_and_measurements(tmp_path, emulator, capsys):
    emu = emulator()
    camp, store = _campaign_file(tmp_path, emu.endpoint, 3), tmp_path / "c.sqlite"
    for i in range(3):
        assert _cli("campaign", "run", camp, "--store", store, "--no-progress") == 0
        assert "await approval" in capsys.readouterr().out
        (proposed,) = _only(store, "proposed")
        assert len(emu.emulator.runs) == i                       # nothing ran without approval
        assert _cli("campaign", "run", camp, "--store", store, "--no-progress") == 0
        assert len(emu.emulator.runs) == i                       # still nothing: refused until approved
        assert _cli("campaign", "approve", proposed.id, "--store", store, "--reviewer", "alice") == 0
        assert _cli("campaign", "run", camp, "--store", store, "--no-progress") == 0
        (waiting,) = _only(store, "awaiting_measurement")
        assert waiting.id == proposed.id and len(emu.emulator.runs) == i + 1
        assert _cli("campaign", "measure", waiting.id, "--interface-resistance", 9.1 + i, "--store", store,
                    "--actor", "bob") == 0
    capsys.readouterr()
    done = _only(store, "done")
    assert len(done) == 3
    with CampaignStore(store, create=False) as st:
        for k, t in enumerate(sorted(done, key=lambda t: t.index)):
            assert t.interface_resistance_ohm_cm2 == pytest.approx(9.1 + k)
            assert t.reviewer == "alice"
            run = emu.emulator.runs[k]
            assert t.recipe["rf_power_w"] == pytest.approx(run.recipe.rf_power_w)
            assert t.result["thickness_nm"] == pytest.approx(run.thickness_nm)
            tel = st.telemetry(t.id)
            assert len(tel) > 10 and {"pressure_pa", "rf_power_w", "thickness_nm", "phase"} <= set(tel.columns)
            dep = tel[tel["phase"] == "deposition"]
            # at the emulator's 2000x a deposition lasts about a second of wall clock: how many samples fall in it
            # depends on the machine's load, at least one always does
            assert len(dep) >= 1 and dep["rf_power_w"].to_numpy() == pytest.approx(t.recipe["rf_power_w"], rel=0.02)
            commands = tel.attrs["command_log"]             # every command sent, kept with the trial
            assert [c["name"] for c in commands] == [sp.field for sp in MAPPING.setpoints] + ["start"]
            assert all(c["ok"] for c in commands)
    assert _cli("campaign", "run", camp, "--store", store, "--no-progress") == 0
    assert "budget spent" in capsys.readouterr().out


def test_server_killed_mid_run_interrupts_the_trial_and_the_campaign_resumes(tmp_path, capsys):
    proc, endpoint = start_emulator("--mapping", str(MAPPING_A), "--speed", "500", "--fault", "kill@deposition")
    camp, store = _campaign_file(tmp_path, endpoint, 2), tmp_path / "c.sqlite"
    try:
        assert _cli("campaign", "run", camp, "--store", store, "--no-progress") == 0
        (first,) = _only(store, "proposed")
        assert _cli("campaign", "approve", first.id, "--store", store, "--reviewer", "alice") == 0
        assert _cli("campaign", "run", camp, "--store", store, "--no-progress") == 1
        err = capsys.readouterr().err
        assert "connection to" in err and "lost" in err and err.count("\n") == 1
    finally:
        stop(proc)
    assert proc.returncode == 3
    (interrupted,) = _only(store, "interrupted")
    assert interrupted.id == first.id and interrupted.result is None       # not recorded as done
    with CampaignStore(store, create=False) as st:
        kinds = [e.kind for e in st.events(trial_id=first.id)]
        partial = st.telemetry(first.id)  # what the tool reported before it died is kept with the trial
    assert kinds[-1] == "interrupt" and "approve" in kinds
    assert "command" in kinds  # every command sent before the loss, as events of the trial
    # the emulator dies as deposition starts: the kept telemetry runs through the pre-sputter and stops there
    assert partial is not None and len(partial) > 10 and "presputter" in set(partial["phase"])
    assert partial["thickness_nm"].max() < first.recipe["target_thickness_nm"]

    # the tool is back on the same endpoint (a fresh emulator): the campaign goes on from the store
    port = endpoint.rsplit(":", 1)[1].split("/")[0]
    proc, endpoint2 = start_emulator("--mapping", str(MAPPING_A), "--speed", "1000", "--port", port)
    assert endpoint2 == endpoint
    try:
        assert _cli("campaign", "run", camp, "--store", store, "--no-progress") == 0
        (second,) = _only(store, "proposed")
        assert _cli("campaign", "approve", second.id, "--store", store, "--reviewer", "alice") == 0
        assert _cli("campaign", "run", camp, "--store", store, "--no-progress") == 0
        assert _cli("campaign", "measure", second.id, "--interface-resistance", 9.1, "--store", store,
                    "--actor", "bob") == 0
    finally:
        proc.send_signal(signal.SIGINT)
        stop(proc)
    (done,) = _only(store, "done")
    assert done.id == second.id and math.isclose(done.interface_resistance_ohm_cm2, 9.1)
    assert [t.id for t in _only(store, "interrupted")] == [first.id]      # nothing lost


def test_example_campaign_for_the_attached_tool_loads(monkeypatch):
    """``examples/hardware/campaign_rf_a.toml`` parses and builds its OPC UA tool (paths from the repository root)."""
    monkeypatch.chdir(ROOT)
    chamber = Chamber()
    config = CampaignConfig.from_toml(ROOT / "examples" / "hardware" / "campaign_rf_a.toml", chamber)
    tool = load_tool(config.tool["type"]).from_config(config.tool, chamber)
    assert tool.is_real and tool.mapping == MAPPING and tool.endpoint.startswith("opc.tcp://127.0.0.1:")
    tool.close()
