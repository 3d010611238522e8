"""Runs and faults against the emulator on 127.0.0.1, started in a thread by each test."""

from __future__ import annotations

import _thread
import asyncio
import concurrent.futures
import math
import threading
import tomllib

import pytest
from asyncua import Client, ua

from hardware.emulator import ScheduledFault
from hardware.errors import RunAbortedError, RunAlarmError, RunFaultError, RunInterlockError, RunInterrupted
from hardware.mapping import Mapping
from hardware.opcua import OpcUaTool
from twin import ToolStatus, load_tool
from twin.errors import AbortedError, InputError, InterlockError, RecipeError

from .conftest import MAPPING_A


def _safe_writes(log, mapping):
    return [e for e in log if e["kind"] == "safe_state"]


def _assert_safe_state_written(err, emu, mapping):
    """The abort command and every safe-state write reached the tool, in the mapping's order, after the start."""
    assert err.safe_state_written
    sent = [(e["node"], e["value"]) for e in _safe_writes(err.command_log, mapping)]
    expected = [(mapping.commands.abort.node, True)] + [(sw.node, sw.value) for sw in mapping.safe_state]
    assert sent == expected and all(e["ok"] for e in _safe_writes(err.command_log, mapping))
    written = [(w["node"], w["value"]) for w in emu.write_log]
    start = written.index((mapping.commands.start.node, True))
    assert written[start + 1:] == expected
    for sw in mapping.safe_state:
        assert emu.read(sw.node) == sw.value
    assert emu.read(mapping.status.node) in mapping.status.aborted


def test_run_completes_with_telemetry_and_nan_interface_resistance(emulator, mapping_a, short_recipe):
    emu = emulator()
    with OpcUaTool(mapping_a, emu.endpoint) as tool:
        assert tool.is_real and tool.status is ToolStatus.IDLE
        res = tool.run(short_recipe)
    twin_run = emu.emulator.runs[0]
    assert twin_run.recipe == short_recipe                       # the tool received exactly the recipe
    assert math.isnan(res.interface_resistance_ohm_cm2) and math.isnan(res.bulk_resistance_ohm_cm2)
    assert math.isnan(res.interface_damage_dose_ev_nm2) and res.to_dict()["interface_resistance_ohm_cm2"] is None
    assert res.thickness_nm == pytest.approx(twin_run.thickness_nm)
    assert res.process_time_s == pytest.approx(twin_run.process_time_s)
    tel = res.telemetry
    assert {"time_s", "elapsed_s", "phase", "pressure_pa", "rf_power_w", "thickness_nm"} <= set(tel.columns)
    dep = tel[tel["phase"] == "deposition"]
    assert len(dep) >= 5 and dep["pressure_pa"].between(0.45, 0.55).all()
    power = dep["rf_power_w"].to_numpy()     # seed, then bulk power, with the gauge's noise (0.2 %)
    assert ((abs(power - 50.0) < 1.0) | (abs(power - 150.0) < 3.0)).all() and power.std() > 0
    assert tel["thickness_nm"].iloc[-1] == pytest.approx(short_recipe.target_thickness_nm)  # QCM readback
    kinds = [e.kind for e in res.events]
    assert kinds.index("phase:presputter") < kinds.index("phase:deposition") < kinds.index("done")
    log = tel.attrs["command_log"]
    assert [e["name"] for e in log if e["kind"] == "setpoint"] == [sp.field for sp in mapping_a.setpoints]
    assert log[-1]["name"] == "start" and all(e["ok"] for e in log)
    assert [(w["node"], w["value"]) for w in emu.write_log] == [(e["node"], e["value"]) for e in log]


def test_second_mapping_drives_the_emulator_in_other_units(emulator, mapping_b, short_recipe):
    recipe = short_recipe.replace(n2_fraction=0.25, transfer="air", air_exposure_min=10.0)
    emu = emulator(mapping_b)
    with OpcUaTool(mapping_b, emu.endpoint) as tool:
        res = tool.run(recipe)
    twin_run = emu.emulator.runs[0]
    for name in recipe.fields():  # the recipe arrived intact through kW, mTorr, sccm, Å, cm, K and s
        a, b = getattr(twin_run.recipe, name), getattr(recipe, name)
        assert a == pytest.approx(b, rel=1e-9, abs=1e-9) if isinstance(a, float) else a == b
    written = {w["node"]: w["value"] for w in emu.write_log}
    assert written["/Objects/MagB/Recipe/Power_kW"] == pytest.approx(0.15)
    assert written["/Objects/MagB/Gas/N2_sccm"] == pytest.approx(5.0)
    assert written["/Objects/MagB/Recipe/TransferMode"] == 1
    assert res.thickness_nm == pytest.approx(twin_run.thickness_nm)
    dep = res.telemetry[res.telemetry["phase"] == "deposition"]
    assert dep["pressure_pa"].between(0.45, 0.55).all()             # converted back from µTorr counts
    assert res.telemetry["substrate_temperature_c"].iloc[-1] == pytest.approx(25.0)   # from kelvin


def test_out_of_limit_recipe_refused_before_anything_is_written(emulator, mapping_b, short_recipe):
    emu = emulator(mapping_b)
    tool = OpcUaTool(mapping_b, emu.endpoint)
    with pytest.raises(RecipeError, match=r"recipe.rf_power_w = 250.0: outside the mapping's limits"):
        tool.check(short_recipe.replace(rf_power_w=250.0))
    with pytest.raises(RecipeError, match="rf_power_w = 250.0"):
        tool.run(short_recipe.replace(rf_power_w=250.0))
    assert emu.write_log == [] and tool.command_log == [] and emu.emulator.runs == []
    tool.close()


def test_limit_published_by_the_tool_is_enforced_online(emulator, mapping_a, short_recipe):
    emu = emulator(mapping_a, published_limits={"rf_power_w.max": 100.0})
    with OpcUaTool(mapping_a, emu.endpoint) as tool:
        tool.check(short_recipe)                  # offline: only the mapping's 250 W
        with pytest.raises(RecipeError, match=r"rf_power_w = 150.0: outside the limits the tool publishes .*"
                                              r"\[10, 100\] W"):
            tool.run(short_recipe)
    assert emu.write_log == []


def test_open_interlock_refuses_the_run_before_anything_is_written(emulator, mapping_a, short_recipe):
    emu = emulator()
    emu.inject("interlock:door_closed")
    with OpcUaTool(mapping_a, emu.endpoint) as tool, pytest.raises(RunInterlockError,
                                                                   match="interlock 'door_closed' is open"):
        tool.run(short_recipe)
    assert emu.write_log == [] and emu.emulator.runs == []


def test_alarm_mid_run_writes_the_safe_state_and_interrupts(emulator, mapping_a, short_recipe):
    emu = emulator(faults=(_fault("alarm:rf_generator@deposition+60"),))
    with OpcUaTool(mapping_a, emu.endpoint) as tool, pytest.raises(RunAlarmError) as info:
        tool.run(short_recipe)
    err = info.value
    assert isinstance(err, InterlockError) and isinstance(err, AbortedError)  # interrupted, not done
    assert err.reason == "alarm" and "alarm 'rf_generator' during the run" in str(err)
    _assert_safe_state_written(err, emu, mapping_a)
    tel = err.telemetry
    assert "deposition" in set(tel["phase"]) and "unload" not in set(tel["phase"])
    assert tel.attrs["command_log"] == err.command_log
    assert 0 < tel["thickness_nm"].iloc[-1] < short_recipe.target_thickness_nm


def test_stuck_readback_aborts(emulator, mapping_a, short_recipe):
    emu = emulator(speed=500.0, faults=(_fault("stuck:rf_power_w@pumpdown"),))
    with OpcUaTool(mapping_a, emu.endpoint, settle_s=0.3) as tool, pytest.raises(RunAbortedError) as info:
        tool.run(short_recipe)
    err = info.value
    assert err.reason == "readback" and "readback rf_power_w = 0 out of tolerance" in str(err)
    _assert_safe_state_written(err, emu, mapping_a)
    assert set(err.telemetry["phase"]) & {"presputter", "deposition"}


def test_ctrl_c_aborts_into_the_safe_state_then_passes_the_interruption_on(emulator, mapping_a, short_recipe):
    emu = emulator(speed=300.0)
    with OpcUaTool(mapping_a, emu.endpoint) as tool:
        timer = threading.Timer(1.5, _thread.interrupt_main)
        timer.start()
        try:
            with pytest.raises(KeyboardInterrupt) as info:
                tool.run(short_recipe)
        finally:
            timer.cancel()
        assert tool.status is ToolStatus.ABORTED
    interrupted = info.value
    assert isinstance(interrupted, RunInterrupted) and not isinstance(interrupted, Exception)
    record = interrupted.record                      # what the run left, as for any other abort
    assert isinstance(record, RunAbortedError) and record.reason == interrupted.reason == "operator"
    assert "Ctrl-C" in str(record) and "safe state written" in str(interrupted)
    assert interrupted.command_log == record.command_log and interrupted.telemetry is record.telemetry
    _assert_safe_state_written(record, emu, mapping_a)


def test_dropped_connection_is_detected_and_the_safe_state_written_on_reconnect(emulator, mapping_a, short_recipe):
    emu = emulator(speed=300.0, faults=(_fault("disconnect@presputter"),))
    with OpcUaTool(mapping_a, emu.endpoint) as tool, pytest.raises(RunAbortedError) as info:
        tool.run(short_recipe)
    err = info.value
    assert err.reason == "connection_lost" and "lost" in str(err)
    (_t_fault, spec), = emu.emulator.fault_log
    assert spec == "disconnect"
    _assert_safe_state_written(err, emu, mapping_a)


def test_busy_or_unconfirmed_setpoint_is_a_tool_fault(emulator, mapping_a, short_recipe):
    emu = emulator()
    emu.inject("stuck:rf_power_w")     # the setpoint echo no longer follows
    with OpcUaTool(mapping_a, emu.endpoint) as tool, pytest.raises(RunFaultError, match="setpoint rf_power_w not "
                                                                                        "confirmed"):
        tool.run(short_recipe)
    assert emu.emulator.runs == []
    assert (mapping_a.commands.start.node, True) not in [(w["node"], w["value"]) for w in emu.write_log]


def test_registered_as_opcua_tool_and_built_from_a_campaign_table(tmp_path, mapping_a):
    cls = load_tool("opcua")
    assert cls is OpcUaTool
    tool = cls.from_config({"type": "opcua", "endpoint": "opc.tcp://127.0.0.1:4840/", "mapping": str(MAPPING_A),
                            "watchdog_s": 1.0, "require_approval": True}, None)
    assert tool.watchdog_s == 1.0 and tool.mapping == mapping_a.__class__.from_toml(MAPPING_A)
    for bad, msg in [({"require_approval": False}, "a real tool runs only recipes a person approved"),
                     ({"watchdog_s": 9.0}, "within 5 s"), ({"endpoint": "http://x"}, "not an OPC UA endpoint"),
                     ({"colour": 1}, "unknown key"), ({"mapping": str(tmp_path / "none.toml")}, "file not found")]:
        cfg = {"type": "opcua", "endpoint": "opc.tcp://127.0.0.1:4840/", "mapping": str(MAPPING_A), **bad}
        with pytest.raises(InputError, match=msg):
            cls.from_config(cfg, None)


def test_unreachable_tool_is_a_fault_with_nothing_written(mapping_a, short_recipe):
    with OpcUaTool(mapping_a, "opc.tcp://127.0.0.1:9/", timeout_s=1.0) as tool, \
            pytest.raises(RunFaultError, match="cannot connect"):
        tool.run(short_recipe)


def _fault(text):
    return ScheduledFault.parse(text)


def test_abort_on_an_idle_tool_writes_the_safe_state(emulator, mapping_b):
    emu = emulator(mapping_b)
    with OpcUaTool(mapping_b, emu.endpoint) as tool:
        tool.abort()
        assert tool.status is ToolStatus.ABORTED
    expected = [(mapping_b.commands.abort.node, True)] + [(sw.node, sw.value) for sw in mapping_b.safe_state]
    assert [(w["node"], w["value"]) for w in emu.write_log] == expected


def test_faults_requested_through_the_fault_node(emulator, mapping_a, short_recipe):
    emu = emulator()

    async def request(spec):
        async with Client(emu.endpoint) as client:
            ns = await client.get_namespace_index(mapping_a.tool.namespace_uri)
            await client.get_node(ua.NodeId("Emulator.Fault", ns)).write_value(ua.Variant(spec, ua.VariantType.String))

    def send(spec):  # a loop of its own in a thread: the test process may already run one (Playwright's)
        with concurrent.futures.ThreadPoolExecutor(1) as pool:
            pool.submit(asyncio.run, request(spec)).result()

    send("meteor-strike")          # unknown: ignored, the server keeps serving
    send("interlock:base_pressure")
    with OpcUaTool(mapping_a, emu.endpoint) as tool, pytest.raises(RunInterlockError, match="base_pressure"):
        tool.run(short_recipe)
    assert emu.write_log == []
    send("clear")
    with OpcUaTool(mapping_a, emu.endpoint) as tool:
        assert tool.run(short_recipe).thickness_nm > 0


def test_hung_server_is_caught_by_the_watchdog(emulator, mapping_a, short_recipe):
    """The server stops answering with its socket open: the adapter's watchdog (2 s in the mapping) or asyncua's own
    connection monitor tells, and the run stops as a lost connection. How soon is measured on simulated time in
    ``test_procedure_memory.py`` and as a latency in ``benchmarks/watchdog_latency.py``, not here against the wall
    clock of a busy machine."""
    emu = emulator(speed=300.0, faults=(_fault("freeze:8@presputter"),))
    with OpcUaTool(mapping_a, emu.endpoint) as tool, pytest.raises(RunAbortedError) as info:
        tool.run(short_recipe)
    err = info.value
    assert err.reason == "connection_lost" and "lost (" in str(err)
    assert not err.safe_state_written and "SAFE STATE NOT CONFIRMED" in str(err)   # the tool was unreachable
    (_t_fault, spec), = emu.emulator.fault_log
    assert spec == "freeze:8"
    assert [e["kind"] for e in err.telemetry.attrs["events"]].count("connection_lost") == 1
    assert "unload" not in set(err.telemetry["phase"])


def test_abort_from_another_thread_during_a_run(emulator, mapping_b, short_recipe):
    emu = emulator(mapping_b, speed=300.0)
    with OpcUaTool(mapping_b, emu.endpoint) as tool:
        timer = threading.Timer(1.0, tool.abort)
        timer.start()
        with pytest.raises(RunAbortedError, match="aborted by abort"):
            tool.run(short_recipe)
        timer.join()
        assert tool.status is ToolStatus.ABORTED
        res = tool.run(short_recipe.replace(rf_power_w=120.0))   # the next approved run goes ahead
    assert res.recipe.rf_power_w == 120.0 and len(emu.emulator.runs) == 2


def test_no_thickness_readback_means_not_done(emulator, short_recipe):
    """A tool that reports done without any thickness (no result node, no readback) is a fault, not a result."""
    doc = tomllib.loads(MAPPING_A.read_text())
    doc["result"] = [r for r in doc["result"] if r["field"] != "thickness_nm"]
    doc["readback"] = [r for r in doc["readback"] if r["column"] != "thickness_nm"]
    mapping = Mapping.from_dict(doc, source="no_thickness.toml")
    emu = emulator(mapping)
    with OpcUaTool(mapping, emu.endpoint) as tool, pytest.raises(RunFaultError, match="not recorded as done"):
        tool.run(short_recipe)
    assert len(emu.emulator.runs) == 1       # it did run: the trial must not count as done


def test_check_tool_works_from_inside_a_running_event_loop(emulator, mapping_a):
    """A notebook or a web app calls the synchronous API with its own loop running (Playwright's tests do too)."""
    from hardware.check import check_tool

    emu = emulator()

    async def inside_a_loop():
        return check_tool(mapping_a, emu.endpoint)

    with concurrent.futures.ThreadPoolExecutor(1) as pool:  # this thread may have a loop running already
        findings = pool.submit(asyncio.run, inside_a_loop()).result()
    assert findings and all(f.kind == "ok" for f in findings)
