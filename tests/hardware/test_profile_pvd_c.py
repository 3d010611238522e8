"""The second emulator profile, pvd-c, over OPC UA (a real asyncua server on 127.0.0.1, driven by its mapping file
alone): the phase in the one state node, the recipe as a job stored, read back and started by methods, latched
alarms acknowledged by ``sputter-twin tool reset``, and ``tool check``'s write-access and state-value checks."""

from __future__ import annotations

import io
import json
import tomllib

import pytest

from hardware.emulator import ScheduledFault
from hardware.errors import RunAbortedError, RunAlarmError, RunFaultError, RunInterlockError
from hardware.mapping import Mapping
from hardware.opcua import OpcUaTool
from sputter_twin.cli.main import main

from .conftest import MAPPING_C


def _safe_sequence(m: Mapping) -> list[tuple[str, object]]:
    return [(m.commands.abort.method, [])] + [(sw.node, sw.value) for sw in m.safe_state]


def _after_start(emu, m: Mapping) -> list[tuple[str, object]]:
    written = [(w["node"], w["value"]) for w in emu.write_log]
    (i,) = [i for i, (node, _v) in enumerate(written) if node == m.commands.start.method]
    return written[i + 1:]


def test_a_job_run_records_the_phase_from_the_state_node_and_the_tools_job_id(emulator, mapping_c, short_recipe):
    emu = emulator(mapping_c, speed=300.0)
    with OpcUaTool(mapping_c, emu.endpoint) as tool:
        tool.run_id = "camp-trial-3"
        res = tool.run(short_recipe)
    assert emu.emulator.runs[0].recipe == short_recipe            # through the job, in mTorr, sccm and kelvin
    (job_id,) = emu.emulator.model.jobs
    assert job_id.endswith("camp-trial-3") and res.telemetry.attrs["job_id"] == job_id
    log = res.telemetry.attrs["command_log"]
    assert [(e["name"], e["ok"]) for e in log] == [("job_store", True), ("job_read", True), ("start", True)]
    assert log[0]["output"] == [job_id] and log[2]["value"] == [job_id]
    tel = res.telemetry
    assert {"pumpdown", "presputter", "deposition"} <= set(tel["phase"])
    dep = tel[tel["phase"] == "deposition"]
    assert dep["pressure_pa"].between(0.45, 0.55).all() and dep["substrate_temperature_c"].iloc[-1] == \
        pytest.approx(25.0)
    assert res.thickness_nm == pytest.approx(emu.emulator.runs[0].thickness_nm)   # the metrology node


def test_stuck_forward_power_with_the_phase_in_the_state_node_aborts(emulator, mapping_c, short_recipe):
    """The bug this profile was made for: RF forward power stuck at 0 W used to pass as a good run."""
    emu = emulator(mapping_c, speed=300.0, faults=(ScheduledFault.parse("stuck:rf_power_w@pumpdown"),))
    with OpcUaTool(mapping_c, emu.endpoint, settle_s=0.3) as tool, pytest.raises(RunAbortedError) as info:
        tool.run(short_recipe)
    err = info.value
    assert err.reason == "readback" and "readback rf_power_w = 0 out of tolerance" in str(err)
    assert err.safe_state_written and _after_start(emu, mapping_c) == _safe_sequence(mapping_c)
    assert emu.read(mapping_c.status.node) == "ABORTED"
    assert set(err.telemetry["phase"]) & {"presputter", "deposition"}


def test_a_tool_already_depositing_gets_nothing_written(emulator, mapping_c, short_recipe):
    emu = emulator(mapping_c)
    emu.inject("busy:DEPOSITING")
    with OpcUaTool(mapping_c, emu.endpoint) as tool, pytest.raises(RunFaultError) as info:
        tool.run(short_recipe)
    assert info.value.reason == "busy" and "state 'DEPOSITING'" in str(info.value)
    assert emu.write_log == [] and emu.emulator.model.jobs == {}


def test_a_job_stored_otherwise_is_never_started(emulator, mapping_c, short_recipe):
    emu = emulator(mapping_c)
    emu.inject("badjob:Substrate_K")
    with OpcUaTool(mapping_c, emu.endpoint) as tool, pytest.raises(RunFaultError) as info:
        tool.run(short_recipe)
    err = info.value
    assert err.reason == "job_readback" and "parameter Substrate_K (substrate_temperature_c)" in str(err)
    assert emu.emulator.runs == [] and mapping_c.commands.start.method not in [w["node"] for w in emu.write_log]
    assert err.safe_state_written


def test_latched_alarm_needs_an_operator_confirmed_reset(emulator, mapping_c, short_recipe, capsys, monkeypatch):
    emu = emulator(mapping_c, speed=300.0, faults=(ScheduledFault.parse("alarm:rf_generator@deposition+30"),))
    with OpcUaTool(mapping_c, emu.endpoint) as tool:
        with pytest.raises(RunAlarmError, match="rf_generator: raised by the emulator.*tool reset"):
            tool.run(short_recipe)
        emu.emulator.model.faults.clear()
        argv = ["tool", "reset", "--mapping", str(MAPPING_C), "--endpoint", emu.endpoint]

        monkeypatch.setattr("sys.stdin", io.StringIO("yes\n"))          # not the tool's name: nothing is sent
        n = len(emu.write_log)
        assert main(argv) == 1
        out, err = capsys.readouterr()
        assert "active alarms: rf_generator" in out and "not confirmed: nothing was sent" in err
        assert len(emu.write_log) == n

        assert main([*argv, "--yes"]) == 1                              # the cause remains: the alarm stays on
        assert "their cause remains" in capsys.readouterr().err
        with pytest.raises(RunInterlockError, match="alarm 'rf_generator' is active"):
            tool.run(short_recipe)

        emu.inject("clear")                                             # cause gone, alarm still latched
        assert emu.read("/Objects/PvdC/Alarms/RfGenerator") is True
        monkeypatch.setattr("sys.stdin", io.StringIO("pvd-c\n"))
        assert main(argv) == 0
        assert "now state 'READY'; active alarms: none" in capsys.readouterr().out
        assert emu.write_log[-1]["node"] == mapping_c.commands.reset.method
        assert tool.run(short_recipe).thickness_nm > 0


def test_check_verifies_write_access_and_state_values_and_lists_the_checks(emulator, mapping_c, tmp_path, capsys):
    emu = emulator(mapping_c)
    argv = ["tool", "check", "--endpoint", emu.endpoint, "--json", "--mapping"]
    assert main([*argv, str(MAPPING_C)]) == 0
    out = json.loads(capsys.readouterr().out)
    kinds = {f["role"] for f in out["findings"]}
    assert {"method", "method_object", "status"} <= kinds and all(f["kind"] == "ok" for f in out["findings"])
    (state,) = [f for f in out["findings"] if f["name"] == "state"]
    assert "all 12 state values are ones the tool reports" in state["detail"]
    checks = {c["check"]: c["active"] for c in out["checks"]}
    assert checks["stuck readback rf_power_w"] and checks["frozen readback pressure_pa"] and checks["job read-back"]

    doc = tomllib.loads(MAPPING_C.read_text())
    doc["status"]["running"].append("SPUTTERING")                       # a state the tool never reports
    doc["safe_state"][1]["node"] = "/Objects/PvdC/Process/ShutterOpen"  # a readback: read-only on the tool
    other = tmp_path / "other.toml"
    other.write_text(_toml(doc))
    assert main([*argv, str(other)]) == 1
    problems = {(f["kind"], f["node"]) for f in json.loads(capsys.readouterr().out)["findings"]
                if f["kind"] != "ok"}
    assert problems == {("state", "/Objects/PvdC/Machine/State"), ("access", "/Objects/PvdC/Process/ShutterOpen")}
    assert main(["tool", "check", "--endpoint", emu.endpoint, "--mapping", str(MAPPING_C)]) == 0
    text = capsys.readouterr().out
    assert "ACTIVE stuck readback rf_power_w" in text and "ACTIVE frozen readback pressure_pa" in text


def _toml(doc: dict) -> str:
    """A small TOML writer for the mapping's shapes (tables, arrays of tables, inline tables, lists)."""
    def value(v):
        if isinstance(v, bool):
            return "true" if v else "false"
        if isinstance(v, str):
            return json.dumps(v)
        if isinstance(v, list):
            return "[" + ", ".join(value(x) for x in v) + "]"
        if isinstance(v, dict):
            return "{ " + ", ".join(f"{k} = {value(x)}" for k, x in v.items()) + " }"
        return repr(v)

    lines = []
    for key, table in doc.items():
        for t in table if isinstance(table, list) else [table]:
            lines.append(f"[[{key}]]" if isinstance(table, list) else f"[{key}]")
            lines += [f"{k} = {value(v)}" for k, v in t.items()]
    return "\n".join(lines) + "\n"


def test_campaign_on_pvd_c_records_the_job_id_and_keeps_an_alarmed_trial(tmp_path, emulator, mapping_c, capsys):
    """Through the campaign: the approved run is started as a job under the trial's id and the tool's job id is
    kept with the trial; a second run stopped by a latched alarm is interrupted with its telemetry, nothing lost."""
    from campaigns.store import CampaignStore

    from .test_campaign_e2e import CAMPAIGN, _cli, _only

    emu = emulator(mapping_c, speed=300.0)
    camp = tmp_path / "campaign.toml"
    camp.write_text(CAMPAIGN.format(budget=2, endpoint=emu.endpoint, mapping=MAPPING_C))
    store = tmp_path / "c.sqlite"
    ids = []
    for i in range(2):
        assert _cli("campaign", "run", camp, "--store", store, "--no-progress") == 0
        (proposed,) = _only(store, "proposed")
        ids.append(proposed.id)
        assert _cli("campaign", "approve", proposed.id, "--store", store, "--reviewer", "alice") == 0
        if i == 1:
            emu.emulator.model.faults.append(ScheduledFault.parse("alarm:cooling_water@deposition+30"))
        code = _cli("campaign", "run", camp, "--store", store, "--no-progress")
        assert code == (0 if i == 0 else 1)
        if i == 0:
            assert _cli("campaign", "measure", proposed.id, "--interface-resistance", 9.1, "--store", store) == 0
    err = capsys.readouterr().err
    assert "alarm 'cooling_water' during the run" in err and "safe state written" in err
    jobs = list(emu.emulator.model.jobs)
    assert [j.rsplit(":", 1)[1] for j in jobs] == [f"opcua-e2e-trial-{t}" for t in ids]
    with CampaignStore(store, create=False) as st:
        first = [e.detail for e in st.events(trial_id=ids[0]) if e.kind == "command"]
        assert first[0]["name"] == "job_store" and first[0]["output"] == [jobs[0]]      # the tool's job id, kept
        assert st.telemetry(ids[0]).attrs["job_id"] == jobs[0]
        (second,) = _only(store, "interrupted")
        tel = st.telemetry(ids[1])
        assert second.id == ids[1] and second.result is None
        assert tel is not None and "deposition" in set(tel["phase"]) and tel.attrs["job_id"] == jobs[1]
        safe = [e.detail for e in st.events(trial_id=ids[1]) if e.kind == "command" and e.detail["kind"] ==
                "safe_state"]
        assert [(c["node"], c["value"]) for c in safe] == _safe_sequence(mapping_c) and all(c["ok"] for c in safe)
    assert [t.id for t in _only(store, "done")] == ids[:1]                # the first run, kept as it was


def test_check_refuses_readback_phases_the_tool_never_reports(emulator, mapping_a, tmp_path, capsys):
    """rf-a has a separate phase node whose values the mapping cannot know; the tool lists them, and a readback
    check bound to another phase would never run: a problem, not a silent gap."""
    from .conftest import MAPPING_A

    emu = emulator(mapping_a)
    argv = ["tool", "check", "--endpoint", emu.endpoint, "--json", "--mapping"]
    assert main([*argv, str(MAPPING_A)]) == 0
    (phase,) = [f for f in json.loads(capsys.readouterr().out)["findings"] if f["name"] == "phase"]
    assert "every readback phase is one the tool reports" in phase["detail"]
    other = tmp_path / "other.toml"
    other.write_text(MAPPING_A.read_text().replace('phases = ["presputter", "deposition"]\ntolerance = 0.1',
                                                   'phases = ["presputter", "sputtering"]\ntolerance = 0.1'))
    assert main([*argv, str(other)]) == 1
    bad = [f for f in json.loads(capsys.readouterr().out)["findings"] if f["kind"] != "ok"]
    assert [(f["kind"], f["name"]) for f in bad] == [("state", "phase")]
    assert "phases the tool never reports: sputtering" in bad[0]["detail"]


@pytest.mark.parametrize(("fault", "cls", "reason", "confirmed"), [
    ("disconnect@presputter", RunAbortedError, "connection_lost", True),
    ("freeze:8@presputter", RunAbortedError, "connection_lost", False),      # still hung when reconnecting
    ("frozen:pressure_pa@deposition+30", RunAbortedError, "frozen_readback", True),
    ("interlock:door_closed@deposition+30", RunAlarmError, "interlock", True),
])
def test_faults_mid_run_on_pvd_c_over_opc_ua(emulator, mapping_c, short_recipe, fault, cls, reason, confirmed):
    emu = emulator(mapping_c, speed=300.0, faults=(ScheduledFault.parse(fault),))
    recipe = short_recipe.replace(target_thickness_nm=60.0)
    with OpcUaTool(mapping_c, emu.endpoint, frozen_after_s=2.0) as tool, pytest.raises(cls) as info:
        tool.run(recipe)
    err = info.value
    assert err.reason == reason and err.safe_state_written is confirmed
    if confirmed:
        assert _after_start(emu, mapping_c) == _safe_sequence(mapping_c)
        assert emu.read(mapping_c.status.node) == "ABORTED"
    else:
        assert "SAFE STATE NOT CONFIRMED" in str(err) and err.command_log[-1]["kind"] == "safe_state"
    tel = err.telemetry                                       # what the run left, for the interrupted trial
    assert tel is not None and tel.attrs["command_log"] == err.command_log and tel.attrs["job_id"]
    assert "cool" not in set(tel["phase"]) and tel["thickness_nm"].max() < recipe.target_thickness_nm
