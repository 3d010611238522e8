"""Ctrl-C during ``sputter-twin campaign run`` on the OPC UA tool (a real subprocess, SIGINT mid-deposition), and
a readback frozen at a plausible value, both against an emulator on 127.0.0.1 started by the test."""

from __future__ import annotations

import signal
import sqlite3
import subprocess
import sys
import time
import tomllib
from pathlib import Path

import pytest

from campaigns.store import CampaignStore
from hardware.emulator import EmulatorError, ScheduledFault
from hardware.errors import RunAbortedError
from hardware.mapping import Mapping, MappingError
from hardware.opcua import OpcUaTool
from sputter_twin.cli.main import main
from twin.errors import InputError

from .conftest import MAPPING_A, ROOT
from .test_runs import _assert_safe_state_written

CAMPAIGN = """
[campaign]
name = "opcua-interrupt"
budget = 1
batch_size = 1
seed = 3

[objective]
minimize = "interface_resistance_ohm_cm2"
log = true

[strategy]
name = "random"

[space]
rf_power_w = [140.0, 160.0]
pressure_pa = [0.4, 0.6]

[fixed]
target_thickness_nm = {thickness}
seed_thickness_nm = 0.0
pumpdown_min = 10.0
presputter_min = 3.0

[tool]
type = "opcua"
endpoint = "{endpoint}"
mapping = "{mapping}"
require_approval = true
{extra}
"""

WAIT_S = 120.0
"""Generous bound of every wait on another process or thread (a shared CI machine can be slow)."""


def _campaign(tmp_path: Path, endpoint: str, thickness: float = 60.0, extra: str = "") -> tuple[Path, Path]:
    path = tmp_path / "campaign.toml"
    path.write_text(CAMPAIGN.format(endpoint=endpoint, mapping=MAPPING_A, thickness=thickness, extra=extra))
    return path, tmp_path / "c.sqlite"


def _stored(store: Path, trial_id: int):
    """The store's only trial, with its event log and telemetry, read back after the run."""
    with CampaignStore(store, create=False) as st:
        (c,) = st.campaigns()
        (trial,) = st.trials(c.id)
        assert trial.id == trial_id
        return trial, st.events(trial_id=trial_id), st.telemetry(trial_id)


def _approved_trial(camp: Path, store: Path) -> int:
    """Propose one trial and approve it, through the command line."""
    assert main(["campaign", "run", str(camp), "--store", str(store), "--no-progress"]) == 0
    with CampaignStore(store, create=False) as st:
        (c,) = st.campaigns()
        (trial,) = st.trials(c.id)
    assert main(["campaign", "approve", str(trial.id), "--store", str(store), "--reviewer", "alice"]) == 0
    return trial.id


def _sputter_twin() -> list[str]:
    script = Path(sys.executable).with_name("sputter-twin")
    return [str(script)] if script.exists() else [sys.executable, "-m", "sputter_twin"]


def _wait_for_phase(emu, mapping: Mapping, phase: str, proc: subprocess.Popen) -> None:
    end = time.monotonic() + WAIT_S
    while emu.read(mapping.status.phase) != phase:
        if proc.poll() is not None:
            raise AssertionError(f"the campaign ended (exit {proc.returncode}) before {phase}: {proc.stderr.read()}")
        if time.monotonic() > end:
            proc.kill()
            raise AssertionError(f"no {phase} within {WAIT_S:g} s")
        time.sleep(0.05)


def _safe_sequence(mapping: Mapping) -> list[tuple[str, object]]:
    return [(mapping.commands.abort.node, True)] + [(sw.node, sw.value) for sw in mapping.safe_state]


def test_ctrl_c_during_campaign_run_exits_130_with_the_safe_state_and_a_consistent_store(tmp_path, emulator,
                                                                                         mapping_a, capsys):
    emu = emulator(speed=150.0)        # 60 nm at ~150 W: about 10 s of deposition at this speed
    camp, store = _campaign(tmp_path, emu.endpoint)
    trial_id = _approved_trial(camp, store)
    capsys.readouterr()
    proc = subprocess.Popen([*_sputter_twin(), "campaign", "run", str(camp), "--store", str(store), "--no-progress"],
                            cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        _wait_for_phase(emu, mapping_a, "deposition", proc)
        proc.send_signal(signal.SIGINT)
        out, err = proc.communicate(timeout=WAIT_S)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.communicate()
    assert proc.returncode == 130, err
    assert "sputter-twin: interrupted" in err and "Traceback" not in err
    assert "Ctrl-C" in err and "safe state written" in err

    # the tool: aborted mid-deposition, and the safe state written in the mapping's order right after the run
    assert emu.read(mapping_a.status.node) in mapping_a.status.aborted
    assert len(emu.emulator.runs) == 1
    written = [(w["node"], w["value"]) for w in emu.write_log]
    after_start = written[written.index((mapping_a.commands.start.node, True)) + 1:]
    expected = _safe_sequence(mapping_a)
    assert after_start[:len(expected)] == expected and all(w["ok"] for w in emu.write_log)
    # the adapter confirmed the safe state, so the runner does not abort again: nothing else reaches the tool
    assert after_start[len(expected):] == []
    for sw in mapping_a.safe_state:
        assert emu.read(sw.node) == sw.value

    # the store: one file, intact, the trial interrupted (not done, no result) and the reason on record
    with sqlite3.connect(store) as db:
        assert db.execute("PRAGMA integrity_check").fetchone() == ("ok",)
        assert db.execute("SELECT state FROM trials WHERE id = ?", (trial_id,)).fetchone() == ("interrupted",)
    trial, events, telemetry = _stored(store, trial_id)
    assert trial.state == "interrupted" and trial.result is None
    assert events[-1].kind == "interrupt" and "Ctrl-C" in events[-1].detail["reason"]

    # what the interrupted run left is kept with the trial: every command sent (setpoints, start, then the abort
    # and the safe state) as events of the trial, and the telemetry up to the stop with the same command log
    commands = [e.detail for e in events if e.kind == "command"]
    n_start = len(mapping_a.setpoints) + 1
    assert [c["name"] for c in commands[:n_start]] == [sp.field for sp in mapping_a.setpoints] + ["start"]
    assert [(c["node"], c["value"]) for c in commands[n_start:]] == expected
    assert all(c["kind"] == "safe_state" and c["ok"] for c in commands[n_start:])
    assert telemetry is not None and len(telemetry) > 10 and "presputter" in set(telemetry["phase"])
    assert telemetry["thickness_nm"].max() < 60.0  # stopped before the target thickness
    kept = telemetry.attrs["command_log"]
    assert [(c["name"], c["node"]) for c in kept] == [(c["name"], c["node"]) for c in commands]


@pytest.mark.parametrize("fault", ["frozen:pressure_pa@deposition+30", "stuck:pressure_pa@deposition+30"])
def test_readback_frozen_in_tolerance_aborts_into_the_safe_state(emulator, mapping_a, short_recipe, fault):
    """The gauge goes on reporting its last value (``frozen``) or its node is no longer updated (``stuck``): the
    value stays inside the 10 % tolerance, only its missing noise tells."""
    emu = emulator(speed=300.0, faults=(ScheduledFault.parse(fault),))
    recipe = short_recipe.replace(target_thickness_nm=60.0)        # ~6 s of deposition at this speed
    with OpcUaTool(mapping_a, emu.endpoint, frozen_after_s=2.0) as tool, pytest.raises(RunAbortedError) as info:
        tool.run(recipe)
    err = info.value
    assert err.reason == "frozen_readback"
    assert "readback pressure_pa frozen" in str(err) and "more than 2 s in phase 'deposition'" in str(err)
    _assert_safe_state_written(err, emu, mapping_a)
    tel = err.telemetry
    dep = tel[tel["phase"] == "deposition"]
    assert dep["pressure_pa"].between(0.45, 0.55).all()              # in tolerance all along: not a `readback` stop
    assert tel["thickness_nm"].max() < recipe.target_thickness_nm      # stopped before the end
    (frozen,) = [e for e in tel.attrs["events"] if e["kind"].startswith("frozen_readback")]
    assert frozen["kind"] == "frozen_readback:pressure_pa"
    (t_fault, spec), = emu.emulator.fault_log
    assert spec == fault.partition("@")[0]
    assert tel.attrs["t0_monotonic"] + frozen["time_s"] - t_fault >= 2.0 - 0.1   # not before frozen_after_s


def test_noisy_readbacks_pass_and_frozen_after_0_disables_the_check(emulator, mapping_a, short_recipe):
    """Live readbacks of the emulator carry noise: a whole run passes a check as tight as the mapping allows
    (``frozen_after_s`` = ``watchdog_s``); with 0 the check is off and a frozen gauge goes unnoticed."""
    emu = emulator(speed=300.0)
    with OpcUaTool(mapping_a, emu.endpoint, frozen_after_s=mapping_a.tool.watchdog_s) as tool:
        res = tool.run(short_recipe)
    dep = res.telemetry[res.telemetry["phase"] == "deposition"]
    assert dep["pressure_pa"].nunique() > 5 and dep["pressure_pa"].between(0.45, 0.55).all()

    emu = emulator(speed=300.0, faults=(ScheduledFault.parse("frozen:pressure_pa@presputter+30"),))
    with OpcUaTool(mapping_a, emu.endpoint, frozen_after_s=0) as tool:
        res = tool.run(short_recipe)
    dep = res.telemetry[res.telemetry["phase"] == "deposition"]
    assert dep["pressure_pa"].nunique() == 1 and res.thickness_nm > 0


def test_frozen_readback_stop_is_kept_with_the_trial(tmp_path, emulator, capsys):
    """Through the campaign: exit 1, one line; the trial interrupted with its telemetry, the event and every
    command sent (the safe state included) in the store, as for the other aborts."""
    emu = emulator(speed=300.0, faults=(ScheduledFault.parse("frozen:rf_power_w@deposition+30"),))
    camp, store = _campaign(tmp_path, emu.endpoint, extra="frozen_after_s = 2.0")
    trial_id = _approved_trial(camp, store)
    capsys.readouterr()
    assert main(["campaign", "run", str(camp), "--store", str(store), "--no-progress"]) == 1
    err = capsys.readouterr().err
    assert "readback rf_power_w frozen" in err and "safe state written" in err and err.count("\n") == 1
    trial, events, tel = _stored(store, trial_id)
    assert trial.state == "interrupted" and trial.result is None
    commands = [e.detail for e in events if e.kind == "command"]
    assert [(c["node"], c["value"]) for c in commands if c["kind"] == "safe_state"] == _safe_sequence(MAPPING)
    assert events[-1].kind == "interrupt" and "readback rf_power_w frozen" in events[-1].detail["reason"]
    assert any(e["kind"] == "frozen_readback:rf_power_w" for e in tel.attrs["events"])


MAPPING = Mapping.from_toml(MAPPING_A)


def _doc() -> dict:
    return tomllib.loads(MAPPING_A.read_text())


@pytest.mark.parametrize(("value", "message"), [
    (0.5, "tool.frozen_after_s = 0.5: must be 0 (off) or at least watchdog_s (allowed: 0 or [2, 600] s)"),
    (-1.0, "tool.frozen_after_s = -1.0: must be 0 (off) or at least watchdog_s (allowed: 0 or [2, 600] s)"),
    (900, "tool.frozen_after_s = 900.0: must be 0 (off) or at least watchdog_s (allowed: 0 or [2, 600] s)"),
    ('"10 s"', "tool.frozen_after_s = '10 s': expected a finite number (allowed: 0 (off) or [watchdog_s, 600] s)"),
])
def test_bad_frozen_after_s_is_one_line_and_exit_2(tmp_path, capsys, value, message):
    bad = tmp_path / "bad.toml"
    bad.write_text(MAPPING_A.read_text().replace("frozen_after_s = 10.0", f"frozen_after_s = {value}"))
    for argv in (["tool", "check", "--mapping", str(bad), "--endpoint", "opc.tcp://127.0.0.1:9/"],
                 ["tool", "emulate", "--mapping", str(bad), "--port", "0"]):
        assert main(argv) == 2
        err = capsys.readouterr().err
        assert err == f"sputter-twin: {bad}: {message}\n"


def test_good_frozen_after_s_values_load(tmp_path):
    for value, expected in (("0", 0.0), ("2", 2.0), ("600.0", 600.0)):
        good = tmp_path / "good.toml"
        good.write_text(MAPPING_A.read_text().replace("frozen_after_s = 10.0", f"frozen_after_s = {value}"))
        assert Mapping.from_toml(good).tool.frozen_after_s == expected
    doc = _doc()
    del doc["tool"]["frozen_after_s"]
    assert Mapping.from_dict(doc).tool.frozen_after_s == 10.0                  # the documented default


@pytest.mark.parametrize(("edit", "message"), [
    (lambda d: d["readback"][6].update(live=True, phases=["deposition"]),
     "readback[6].live = True: a Boolean readback carries no noise: it cannot be live (allowed: false)"),
    (lambda d: d["readback"][4].update(live=True),
     "readback[4].phases = None: a live readback needs the phases in which it is live"),
    (lambda d: d["readback"][1].update(live="yes"), "readback[1].live = 'yes': expected true or false"),
])
def test_bad_live_readback_is_one_clear_line(edit, message):
    doc = _doc()
    edit(doc)
    with pytest.raises(MappingError) as info:
        Mapping.from_dict(doc, source="m.toml")
    assert str(info.value).startswith(f"m.toml: {message}") and "\n" not in str(info.value)


def test_live_defaults_to_the_readbacks_that_follow_a_setpoint():
    doc = _doc()
    for rb in doc["readback"]:
        rb.pop("live", None)
    live = {rb.column for rb in Mapping.from_dict(doc).readbacks if rb.live}
    assert live == {"pressure_pa", "rf_power_w"} == {rb.column for rb in MAPPING.readbacks if rb.live}


def test_frozen_after_s_in_a_campaign_tool_table():
    base = {"type": "opcua", "endpoint": "opc.tcp://127.0.0.1:4840/", "mapping": str(MAPPING_A)}
    assert OpcUaTool.from_config({**base, "frozen_after_s": 0}).frozen_after_s == 0.0
    assert OpcUaTool.from_config({**base, "frozen_after_s": 3}).frozen_after_s == 3.0
    with pytest.raises(InputError, match=r"tool.frozen_after_s = 1.0: must be 0 \(off\) or at least watchdog_s"):
        OpcUaTool.from_config({**base, "frozen_after_s": 1.0})
    with pytest.raises(InputError, match=r"tool.frozen_after_s = -2: expected a positive number of seconds"):
        OpcUaTool.from_config({**base, "frozen_after_s": -2})
    with pytest.raises(InputError, match=r"frozen_after_s = 4.0: must be 0 \(off\) or at least watchdog_s "
                                         r"\(allowed: 0 or \[4.5, 600\] s\)"):
        OpcUaTool.from_config({**base, "watchdog_s": 4.5, "frozen_after_s": 4.0})


def test_frozen_fault_needs_a_column():
    assert ScheduledFault.parse("frozen:pressure_pa@deposition+30") == ScheduledFault("frozen:pressure_pa",
                                                                                      "deposition", 30.0)
    with pytest.raises(EmulatorError, match=r"fault = 'frozen': frozen needs a readback column"):
        ScheduledFault.parse("frozen@deposition")
