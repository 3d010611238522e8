"""``sputter-twin tool emulate`` and ``tool check`` as subprocesses, and the server killed mid-run."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from hardware.emulator_faults import FAULT_FORMS, FAULTS, ScheduledFault
from hardware.errors import RunAbortedError
from hardware.opcua import OpcUaTool
from sputter_twin.cli.main import main

from .conftest import MAPPING_A, MAPPING_B, ROOT


def start_emulator(*args: str) -> tuple[subprocess.Popen, str]:
    """``sputter-twin tool emulate ARGS`` (``--port 0`` unless given) in a subprocess; returns it and its endpoint."""
    if "--port" not in args:
        args = ("--port", "0", *args)
    proc = subprocess.Popen([sys.executable, "-m", "sputter_twin", "tool", "emulate", *args],
                            cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    line = proc.stdout.readline()
    if "opc.tcp://" not in line:
        proc.kill()
        raise RuntimeError(f"emulator did not start: {line!r} {proc.stderr.read()}")
    endpoint = next(w for w in line.split() if w.startswith("opc.tcp://"))
    return proc, endpoint


def stop(proc: subprocess.Popen) -> None:
    if proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
    proc.stdout.close()
    proc.stderr.close()


def test_server_killed_mid_run_is_a_lost_connection(mapping_a, short_recipe):
    """The emulator's process exits mid-deposition. (How soon it is noticed is measured on simulated time in
    test_procedure_memory.py and in benchmarks/watchdog_latency.py, not asserted against a busy machine's clock.)"""
    proc, endpoint = start_emulator("--mapping", str(MAPPING_A), "--speed", "500", "--fault", "kill@deposition+30")
    try:
        with OpcUaTool(mapping_a, endpoint) as tool, pytest.raises(RunAbortedError) as info:
            tool.run(short_recipe)
        proc.wait(timeout=30)
    finally:
        stop(proc)
    err = info.value
    assert proc.returncode == 3, "the emulator killed itself mid-run"
    assert err.reason == "connection_lost" and not err.safe_state_written
    assert "SAFE STATE NOT CONFIRMED" in str(err)
    tel = err.telemetry
    assert "deposition" in set(tel["phase"]) and "unload" not in set(tel["phase"])
    assert 0 < tel["thickness_nm"].max() < short_recipe.target_thickness_nm
    log = err.command_log
    assert [e["name"] for e in log if e["kind"] == "setpoint"] == [sp.field for sp in mapping_a.setpoints]
    assert log[-1]["kind"] == "safe_state" and not log[-1]["ok"]          # the attempt is on record


def test_check_passes_against_a_matching_tool_and_fails_against_another(tmp_path, capsys):
    proc, endpoint = start_emulator("--mapping", str(MAPPING_B), "--publish-limit", "rf_power_w.max=0.15")
    try:
        bad_unit = tmp_path / "b_in_watts.toml"
        bad_unit.write_text(MAPPING_B.read_text().replace('unit = "kW"', 'unit = "W"'))
        results = {}
        for name, path in (("b", MAPPING_B), ("a", MAPPING_A), ("bad_unit", bad_unit)):
            code = main(["tool", "check", "--mapping", str(path), "--endpoint", endpoint, "--json"])
            results[name] = (code, json.loads(capsys.readouterr().out))
    finally:
        stop(proc)
    code, out = results["b"]
    problems = [f for f in out["findings"] if f["kind"] != "ok"]
    # the tool publishes a stricter power limit than the mapping's 0.2 kW: reported, exit 1
    assert code == 1 and [(p["kind"], p["name"]) for p in problems] == [("range", "rf_power_w.max")]
    assert "0.15" in problems[0]["detail"]
    assert sum(f["kind"] == "ok" for f in out["findings"]) == len(out["findings"]) - 1
    code, out = results["a"]
    assert code == 1 and out["findings"][0]["kind"] == "missing"                    # another tool altogether
    code, out = results["bad_unit"]
    kinds = {(f["kind"], f["name"]) for f in out["findings"] if f["kind"] != "ok"}
    assert code == 1 and ("unit", "rf_power_w") in kinds and ("unit", "seed_power_w") in kinds


def test_check_ok_exit_0(emulator, mapping_a, capsys):
    emu = emulator()
    assert main(["tool", "check", "--mapping", str(MAPPING_A), "--endpoint", emu.endpoint]) == 0
    out = capsys.readouterr().out
    assert "0 problem(s): the tool matches" in out and "MISSING" not in out


@pytest.mark.parametrize(("argv", "message"), [
    (["tool", "check", "--mapping", "{bad}", "--endpoint", "opc.tcp://127.0.0.1:1/"], "tool.watchdog_s = 0.0"),
    (["tool", "check", "--mapping", "{missing}", "--endpoint", "opc.tcp://127.0.0.1:1/"], "file not found"),
    (["tool", "check", "--mapping", str(MAPPING_A), "--endpoint", "http://x"], "--endpoint = 'http://x'"),
    (["tool", "emulate", "--mapping", str(MAPPING_A), "--port", "70000"], "--port = 70000: not a TCP port"),
    (["tool", "emulate", "--mapping", str(MAPPING_A), "--fault", "meteor@deposition"], "unknown fault"),
    (["tool", "emulate", "--mapping", str(MAPPING_A), "--fault", "alarm"], "missing @PHASE"),
    (["tool", "emulate", "--mapping", str(MAPPING_A), "--speed", "-1"], "--speed = -1.0: must be positive"),
    (["tool", "emulate", "--mapping", str(MAPPING_A), "--publish-limit", "anneal_min.max=3"], "no [[limit]]"),
])
def test_bad_input_is_one_line_and_exit_2(tmp_path, capsys, argv, message):
    bad = tmp_path / "bad.toml"
    bad.write_text(MAPPING_A.read_text().replace("watchdog_s = 2.0", "watchdog_s = 0.0"))
    argv = [a.format(bad=bad, missing=tmp_path / "none.toml") for a in argv]
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert message in err and err.count("\n") == 1 and "Traceback" not in err


def test_emulate_help_lists_every_fault_the_emulator_knows(capsys):
    with pytest.raises(SystemExit) as stopped:
        main(["tool", "emulate", "--help"])
    assert stopped.value.code == 0
    text = " ".join(capsys.readouterr().out.split())  # argparse wraps the help at spaces
    assert all(form in text for form in FAULT_FORMS)
    assert {"frozen:COLUMN", "freeze[:SECONDS]", "clear"} <= set(FAULT_FORMS)
    for fault in FAULTS:  # each listed form is one the emulator accepts
        target = "" if fault.form == fault.name else ":" + ("3" if fault.name == "freeze" else "pressure_pa")
        assert ScheduledFault.parse(f"{fault.name}{target}@deposition").spec == f"{fault.name}{target}"


def test_unreachable_tool_exit_1(capsys):
    assert main(["tool", "check", "--mapping", str(MAPPING_A), "--endpoint", "opc.tcp://127.0.0.1:9/",
                 "--timeout", "1"]) == 1
    assert "cannot connect" in capsys.readouterr().err
