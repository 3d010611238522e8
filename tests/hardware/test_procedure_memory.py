"""The run procedure over the in-memory tool on simulated time: the fault matrix against both emulator profiles
(rf-a: a phase node, Boolean commands, setpoint nodes; pvd-c: the phase in the one state node, jobs started by
methods, kelvin and sccm, latched alarms), with exact timings that no busy machine can break."""

from __future__ import annotations

import asyncio
import math

import pytest

from hardware.emulator_faults import ScheduledFault
from hardware.errors import RunAbortedError, RunAlarmError, RunFaultError, RunInterlockError, RunRecord
from hardware.mapping import Mapping
from hardware.memory_backend import MemoryTool, MemoryTransport
from hardware.procedure import RunProcedure, Timing
from hardware.run_context import POLL_S
from hardware.transport import SecurityRefused
from twin import Recipe

from .conftest import MAPPING_A, MAPPING_C

PROFILES = {"rf-a": Mapping.from_toml(MAPPING_A), "pvd-c": Mapping.from_toml(MAPPING_C)}


@pytest.fixture(params=sorted(PROFILES))
def mapping(request) -> Mapping:
    return PROFILES[request.param]


def _timing(m: Mapping, **kw) -> Timing:
    t = m.tool
    return Timing(**{"watchdog_s": t.watchdog_s, "settle_s": t.settle_s, "frozen_after_s": t.frozen_after_s, **kw})


def run(tool: MemoryTool, recipe: Recipe, transport: MemoryTransport | None = None, **timing):
    """One run of the procedure on ``tool``; the result or the RunRecord it raised."""
    m = tool.mapping
    proc = RunProcedure(m, transport or tool.transport(), _timing(m, **timing), f"mem:{m.tool.name}",
                        run_id="trial-7")
    try:
        return asyncio.run(proc.run(recipe))
    except RunRecord as err:
        return err


def _safe_sequence(m: Mapping) -> list[tuple[str, object]]:
    abort = m.commands.abort
    return [(abort.address, True if abort.node else [])] + [(sw.node, sw.value) for sw in m.safe_state]


def _written(tool: MemoryTool) -> list[tuple[str, object]]:
    return [(w["node"], w["value"]) for w in tool.write_log]


def _start_index(tool: MemoryTool) -> int:
    start = tool.mapping.commands.start.address
    (i,) = [i for i, (node, _v) in enumerate(_written(tool)) if node == start]
    return i


def assert_safe_state_written(err: RunRecord, tool: MemoryTool) -> None:
    """The abort and every safe-state write reached the tool right after the start, in the mapping's order."""
    m = tool.mapping
    assert err.safe_state_written and "safe state written" in str(err)
    assert _written(tool)[_start_index(tool) + 1:] == _safe_sequence(m)
    assert [(e["node"], e["value"]) for e in err.command_log if e["kind"] == "safe_state"] == _safe_sequence(m)
    for sw in m.safe_state:
        assert tool.read(sw.node) == sw.value
    assert tool.read(m.status.node) in m.status.aborted


def assert_nothing_written(err: RunRecord, tool: MemoryTool) -> None:
    assert tool.write_log == [] and tool.runs == [] and err.command_log == []


def _kept(err: RunRecord) -> None:
    """What an interrupted trial keeps: telemetry with the command log and events, up to the stop."""
    tel = err.telemetry
    assert tel is not None and len(tel) > 5 and tel.attrs["command_log"] == err.command_log
    assert "unload" not in set(tel["phase"]) and "cool" not in set(tel["phase"])


@pytest.fixture
def recipe() -> Recipe:
    return Recipe(target_thickness_nm=20, rf_power_w=150, seed_power_w=50, seed_thickness_nm=2, pumpdown_min=10,
                  presputter_min=3, pressure_pa=0.5)


def test_a_run_completes_and_records_every_phase_both_profiles(mapping, recipe):
    tool = MemoryTool(mapping, speed=300.0)
    res = run(tool, recipe)
    assert not isinstance(res, RunRecord), res
    assert res.thickness_nm == pytest.approx(tool.runs[0].thickness_nm)
    assert tool.runs[0].recipe == recipe                       # through W, mTorr, sccm, K, s, min and a job
    tel = res.telemetry
    assert {"presputter", "deposition"} <= set(tel["phase"])   # pvd-c reports them in its state node
    dep = tel[tel["phase"] == "deposition"]
    assert dep["pressure_pa"].between(0.45, 0.55).all() and dep["pressure_pa"].nunique() > 5
    assert math.isnan(res.interface_resistance_ohm_cm2)
    assert res.process_time_s == pytest.approx(tool.runs[0].process_time_s, rel=0.01)   # the tool's clock


def test_pvd_c_takes_the_recipe_as_a_job_started_with_the_trial_id(recipe):
    m = PROFILES["pvd-c"]
    tool = MemoryTool(m, speed=300.0)
    res = run(tool, recipe)
    (job_id,) = tool.model.jobs
    assert job_id.endswith("trial-7") and res.telemetry.attrs["job_id"] == job_id
    assert f"job:{job_id}" in [e.kind for e in res.events]
    log = res.telemetry.attrs["command_log"]
    assert [e["name"] for e in log] == ["job_store", "job_read", "start"]
    assert log[0]["output"] == [job_id] and log[2]["value"] == [job_id]
    stored = tool.model.jobs[job_id]
    assert stored["Substrate_K"] == pytest.approx(298.15) and stored["FlowN2_sccm"] == pytest.approx(25.0)
    assert stored["Pressure_mTorr"] == pytest.approx(0.5 / 0.133322368)


@pytest.mark.parametrize("fault", ["alarm:rf_generator@deposition+60", "interlock:door_closed@deposition+60"])
def test_alarm_or_interlock_mid_run_writes_the_safe_state(mapping, recipe, fault):
    tool = MemoryTool(mapping, speed=300.0, faults=(ScheduledFault.parse(fault),))
    err = run(tool, recipe)
    assert isinstance(err, RunAlarmError), err
    assert err.reason == fault.partition(":")[0]
    assert_safe_state_written(err, tool)
    _kept(err)
    assert 0 < err.telemetry["thickness_nm"].iloc[-1] < recipe.target_thickness_nm


def test_latched_alarm_text_is_kept_and_the_next_run_is_refused_until_reset(recipe):
    m = PROFILES["pvd-c"]
    tool = MemoryTool(m, speed=300.0, faults=(ScheduledFault.parse("alarm:cooling_water@deposition+30"),))
    err = run(tool, recipe)
    assert isinstance(err, RunAlarmError)
    assert "alarm 'cooling_water' during the run: cooling_water: raised by the emulator" in str(err)
    assert "sputter-twin tool reset" in str(err)
    tool.inject("clear")                                   # the water flows again; the alarm stays latched
    tool.model.faults.clear()
    n = len(tool.write_log)
    again = run(tool, recipe)
    assert isinstance(again, RunInterlockError) and "alarm 'cooling_water' is active" in str(again)
    assert len(tool.write_log) == n                        # refused before anything was written
    tool.model.client_call(m.commands.reset.method, [], tool.now())     # an operator's acknowledge
    assert tool.read(m.status.node) in m.status.idle
    assert not isinstance(run(tool, recipe), RunRecord)


def test_lost_connection_writes_the_safe_state_on_a_fresh_connection(mapping, recipe):
    tool = MemoryTool(mapping, speed=300.0, faults=(ScheduledFault.parse("disconnect@presputter"),))
    err = run(tool, recipe)
    assert isinstance(err, RunAbortedError) and err.reason == "connection_lost"
    assert_safe_state_written(err, tool)
    _kept(err)


def test_hung_tool_is_caught_by_the_watchdog_within_its_window(mapping, recipe):
    """Simulated time: the heartbeat was last answered at most watchdog_s / 5 before the freeze, and the lost
    connection is declared watchdog_s after that answer, at the next poll: between watchdog_s - watchdog_s / 5 and
    watchdog_s + a poll after the freeze, and within the 5 s the adapter promises."""
    tool = MemoryTool(mapping, speed=300.0, faults=(ScheduledFault.parse("freeze:8@presputter"),))
    err = run(tool, recipe)
    assert isinstance(err, RunAbortedError) and err.reason == "connection_lost"
    w = mapping.tool.watchdog_s
    assert f"no answer for {w:g} s" in str(err)
    ((t_fault, spec),) = tool.fault_log
    (lost,) = [e for e in err.telemetry.attrs["events"] if e["kind"] == "connection_lost"]
    detected = err.telemetry.attrs["t0_monotonic"] + lost["time_s"]
    assert spec == "freeze:8" and w - w / 5 < detected - t_fault <= w + 2 * POLL_S and detected - t_fault < 5
    assert not err.safe_state_written and "SAFE STATE NOT CONFIRMED" in str(err)    # still hung on reconnect
    assert err.command_log[-1]["kind"] == "safe_state" and not err.command_log[-1]["ok"]


def test_killed_tool_is_a_lost_connection_without_a_confirmed_safe_state(mapping, recipe):
    tool = MemoryTool(mapping, speed=300.0, faults=(ScheduledFault.parse("kill@deposition+30"),))
    err = run(tool, recipe)
    assert isinstance(err, RunAbortedError) and err.reason == "connection_lost"
    assert not err.safe_state_written and err.command_log[-1]["name"] == "connect"
    _kept(err)


@pytest.mark.parametrize(("fault", "reason"), [("stuck:rf_power_w@pumpdown", "readback"),
                                               ("frozen:pressure_pa@deposition+30", "frozen_readback")])
def test_stuck_and_frozen_readbacks_abort_in_both_profiles(mapping, recipe, fault, reason):
    """pvd-c reports its phase in the state node: the checks are active there too (they used to be silently off)."""
    tool = MemoryTool(mapping, speed=300.0, faults=(ScheduledFault.parse(fault),))
    err = run(tool, recipe.replace(target_thickness_nm=60.0), settle_s=0.3, frozen_after_s=2.0)
    assert isinstance(err, RunAbortedError) and err.reason == reason, err
    assert_safe_state_written(err, tool)
    _kept(err)
    if reason == "frozen_readback":
        ((t_fault, _spec),) = tool.fault_log
        (ev,) = [e for e in err.telemetry.attrs["events"] if e["kind"].startswith("frozen_readback")]
        waited = err.telemetry.attrs["t0_monotonic"] + ev["time_s"] - t_fault
        assert 2.0 - POLL_S < waited <= 2.0 + 2 * POLL_S     # frozen_after_s after its last change, to a step


def test_open_interlock_refuses_the_run_before_anything_is_written(mapping, recipe):
    tool = MemoryTool(mapping)
    tool.inject("interlock:base_pressure")
    err = run(tool, recipe)
    assert isinstance(err, RunInterlockError) and "interlock 'base_pressure' is open" in str(err)
    assert_nothing_written(err, tool)


@pytest.mark.parametrize("which", ["first", "last"])
def test_a_busy_tool_is_refused_before_anything_is_written_in_any_running_state(mapping, recipe, which):
    """rf-a has one running state; pvd-c six and a busy one: a tool already DEPOSITING gets nothing written."""
    states = mapping.status.running + mapping.status.busy
    state = states[0] if which == "first" else states[-1]
    tool = MemoryTool(mapping)
    tool.inject(f"busy:{state}")
    err = run(tool, recipe)
    assert isinstance(err, RunFaultError) and err.reason == "busy" and f"state {state!r}" in str(err)
    assert_nothing_written(err, tool)


def test_a_tool_in_fault_or_an_unknown_state_is_refused(mapping, recipe):
    for state, words in ((mapping.status.fault[-1], "in a fault state"), ("WARMING_UP", "a state the mapping")):
        tool = MemoryTool(mapping)
        tool.model.set(mapping.status.node, state if isinstance(mapping.status.idle[0], str) else 77)
        err = run(tool, recipe)
        assert isinstance(err, RunFaultError) and words in str(err) and err.reason == "tool_state"
        assert_nothing_written(err, tool)


def test_refused_job_read_back_stops_before_the_start(recipe):
    m = PROFILES["pvd-c"]
    tool = MemoryTool(m)
    tool.inject("badjob:RfPower_W")
    err = run(tool, recipe)
    assert isinstance(err, RunFaultError) and err.reason == "job_readback"
    assert "parameter RfPower_W (rf_power_w) was sent as 150.0, the tool stored 226.0; not started" in str(err)
    names = [e["name"] for e in err.command_log]
    assert names[:2] == ["job_store", "job_read"] and "start" not in names and tool.runs == []
    assert err.safe_state_written                                   # abort + safe state all the same
    assert [(e["node"], e["value"]) for e in err.command_log if e["kind"] == "safe_state"] == _safe_sequence(m)


def test_tool_stopping_the_run_itself_is_a_fault_with_its_alarm_text(recipe):
    m = PROFILES["pvd-c"]
    tool = MemoryTool(m, speed=300.0)

    async def go():
        proc = RunProcedure(m, tool.transport(), _timing(m), "mem", run_id="t")
        task = asyncio.ensure_future(proc.run(recipe))
        while tool.read(m.status.node) != "DEPOSITING":
            await asyncio.sleep(0)
        tool.model.set(m.status.alarm_text, "arc count exceeded")
        tool.model.set(m.status.node, "ERROR")
        with pytest.raises(RunFaultError) as info:
            await task
        return info.value

    err = asyncio.run(go())
    assert "the tool stopped the run itself (state 'ERROR': arc count exceeded)" in str(err)
    assert_safe_state_written_after_fault = [(e["node"], e["value"]) for e in err.command_log
                                             if e["kind"] == "safe_state"]
    assert assert_safe_state_written_after_fault == _safe_sequence(m)


class PollingTransport(MemoryTransport):
    """A second kind of backend, as a Modbus adapter would be: no subscriptions, every watched address is polled
    at each step. The procedure, its checks and its safe state are reused unchanged."""

    async def subscribe(self, addresses, on_change, publish_ms):
        self._polled = (list(addresses), on_change, {})
        await self._poll()

    async def sleep(self, seconds):
        await super().sleep(seconds)
        if getattr(self, "_polled", None) and self.connected:
            await self._poll()

    async def _poll(self):
        addresses, on_change, last = self._polled
        for a in addresses:
            value = await self.read(a, 1.0)
            if a not in last or last[a] != value:
                last[a] = value
                on_change(a, value)


def test_a_polling_backend_reuses_the_procedure(recipe):
    m = PROFILES["rf-a"]
    tool = MemoryTool(m, speed=300.0)
    tool.model.faults.append(ScheduledFault.parse("stuck:rf_power_w@presputter"))
    err = run(tool, recipe, transport=PollingTransport(tool), settle_s=0.3)
    assert isinstance(err, RunAbortedError) and err.reason == "readback"
    assert_safe_state_written(err, tool)
    ok = run(MemoryTool(m, speed=300.0), recipe, transport=None)
    assert not isinstance(ok, RunRecord)


def test_reset_refuses_a_running_tool_and_a_mapping_without_a_reset(recipe):
    from hardware.mapping import MappingError
    from hardware.reset import reset_tool
    from twin.errors import ToolError

    m = PROFILES["pvd-c"]
    tool = MemoryTool(m)
    tool.inject("busy:DEPOSITING")
    asked = []
    with pytest.raises(ToolError, match=r"tool 'pvd-c' is running \(state 'DEPOSITING'\): nothing was sent"):
        asyncio.run(reset_tool(m, tool.transport(), lambda now: asked.append(now) or True))
    assert asked == [] and tool.write_log == []
    with pytest.raises(MappingError, match="commands.reset = None: tool 'rf-a' has no reset command"):
        asyncio.run(reset_tool(PROFILES["rf-a"], MemoryTool(PROFILES["rf-a"]).transport(), lambda now: True))
    tool.inject("clear")
    tool.inject("alarm:rf_generator")
    out = asyncio.run(reset_tool(m, tool.transport(), lambda now: now.alarms == ["rf_generator"]))
    assert out.sent and not out.cleared and out.after.alarms == ["rf_generator"]   # its cause remains
    tool.inject("clear")
    out = asyncio.run(reset_tool(m, tool.transport(), lambda now: True))
    assert out.cleared and out.after.state == "READY" and out.command_log[0]["name"] == "reset"


def test_a_total_flow_above_the_limit_the_tool_publishes_is_refused_before_any_write(recipe):
    from twin.errors import RecipeError

    m = PROFILES["pvd-c"]
    tool = MemoryTool(m, published_limits={"total_flow_sccm.max": 20.0})
    with pytest.raises(RecipeError, match=r"setpoint.total_flow_sccm = 25.0: outside the limits the tool publishes "
                                          r"of tool 'pvd-c' \(allowed: \[5, 20\] sccm\)"):
        run(tool, recipe)
    assert tool.write_log == []


def test_integer_states_carrying_the_phase(recipe):
    """pvd-c with integer states (a PLC's enumeration): the phase map's keys are the integers as text."""
    import tomllib

    doc = tomllib.loads(MAPPING_C.read_text())
    names = ["PUMPING", "HEATING", "PRESPUTTER", "DEPOSITING", "ANNEALING", "VENTING"]
    st = doc["status"]
    st.update(idle=0, running=[1, 2, 3, 4, 5, 6], busy=[7], done=8, aborted=9, fault=[10, 11])
    st["phases"] = {str(names.index(k) + 1): v for k, v in st["phases"].items()}
    m = Mapping.from_dict(doc)
    tool = MemoryTool(m, speed=300.0, faults=(ScheduledFault.parse("stuck:rf_power_w@pumpdown"),))
    err = run(tool, recipe, settle_s=0.3)
    assert isinstance(err, RunAbortedError) and err.reason == "readback" and "phase 'presputter'" in str(err)
    assert tool.read(m.status.node) == 9 and err.safe_state_written
    busy = MemoryTool(m)
    busy.inject("busy:4")
    refused = run(busy, recipe)
    assert isinstance(refused, RunFaultError) and refused.reason == "busy" and "state 4" in str(refused)


class RefusedTransport(MemoryTransport):
    """A backend whose secured connection is refused (a wrong password, a certificate one side does not trust)."""

    async def connect(self, timeout_s):
        raise SecurityRefused(f"{self.address}: the tool refused user 'operator': wrong user name or password "
                              "(BadUserAccessDenied)")


def test_a_refused_secured_connection_stops_the_run_before_anything_is_written(mapping, recipe):
    tool = MemoryTool(mapping)
    err = run(tool, recipe, transport=RefusedTransport(tool))
    assert isinstance(err, RunFaultError) and err.reason == "security"
    assert "connection refused: " in str(err) and "wrong user name or password" in str(err)
    assert err.safe_state_written and "SAFE STATE" not in str(err)     # nothing written, so nothing to undo
    assert_nothing_written(err, tool)


def test_reset_passes_a_refused_secured_connection_on_as_its_own_line():
    from hardware.reset import reset_tool

    m = PROFILES["pvd-c"]
    tool = MemoryTool(m)
    tool.inject("alarm:rf_generator")
    asked = []
    with pytest.raises(SecurityRefused, match=r"^memory://pvd-c: the tool refused user 'operator'"):
        asyncio.run(reset_tool(m, RefusedTransport(tool), lambda now: asked.append(now) or True))
    assert asked == [] and tool.write_log == [] and tool.sessions == []
