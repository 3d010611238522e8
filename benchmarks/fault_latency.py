"""How soon the adapter stops a run after a fault, over OPC UA (asyncua, the emulator on 127.0.0.1, wall clock)
against the same run procedure over the in-memory tool on simulated time (the baseline, run in this process: the
latency the procedure's own design gives, with no network and no scheduling delay).

Columns: the median latency over OPC UA, the in-memory baseline, what OPC UA adds (publishing interval, network,
scheduling) and their ratio (— where the baseline is 0: an alarm is seen at the step it is raised).
Latency = the adapter's event (``alarm:…``, ``connection_lost``, ``readback:…``, ``frozen_readback:…``) minus the
moment the emulator injected the fault. The promise (README, hardware/README.md): a lost connection, a hung
server included, is declared within 5 s (watchdog_s ≤ 5 s); the tests assert it on simulated time only.

    .venv/bin/python benchmarks/fault_latency.py [--repeat 3] [--faults alarm,disconnect,freeze,stuck,frozen]
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import statistics
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from hardware.emulator import EmulatorThread  # noqa: E402
from hardware.emulator_faults import ScheduledFault  # noqa: E402
from hardware.errors import RunRecord  # noqa: E402
from hardware.mapping import Mapping  # noqa: E402
from hardware.memory_backend import MemoryTool  # noqa: E402
from hardware.opcua import OpcUaTool  # noqa: E402
from hardware.procedure import RunProcedure, Timing  # noqa: E402
from twin import Recipe  # noqa: E402

PROFILES = {"rf-a": ROOT / "examples/hardware/rf_a_si.toml", "pvd-c": ROOT / "examples/hardware/pvd_c_jobs.toml"}
FAULTS = {  # name → (scheduled fault, event prefix the adapter records)
    "alarm": ("alarm:rf_generator@deposition+30", "alarm:"),
    "disconnect": ("disconnect@deposition+30", "connection_lost"),
    "freeze": ("freeze:8@deposition+30", "connection_lost"),
    "stuck": ("stuck:rf_power_w@presputter", "readback:"),          # forward power stuck at 0 W
    "frozen": ("frozen:pressure_pa@deposition+30", "frozen_readback:"),
}
RECIPE = Recipe(target_thickness_nm=60, rf_power_w=150, seed_power_w=50, seed_thickness_nm=2, pumpdown_min=10,
                presputter_min=3, pressure_pa=0.5)
SPEED = 300.0
SETTLE_S, FROZEN_S = 0.3, 2.0


def latency(err: RunRecord, t_fault: float, prefix: str) -> float:
    events = err.telemetry.attrs["events"]
    (ev,) = [e for e in events if e["kind"].startswith(prefix)][:1] or [None]
    if ev is None:
        raise RuntimeError(f"no {prefix} event: {err}")
    return err.telemetry.attrs["t0_monotonic"] + ev["time_s"] - t_fault


def over_opcua(mapping: Mapping, fault: str, prefix: str) -> float | str:
    """The latency, or why the run stopped before the fault was injected (a loaded machine can starve the
    emulator's thread past the watchdog: counted and shown, not hidden)."""
    with EmulatorThread(mapping, speed=SPEED, faults=(ScheduledFault.parse(fault),)) as emu, \
            OpcUaTool(mapping, emu.endpoint, settle_s=SETTLE_S, frozen_after_s=FROZEN_S) as tool:
        try:
            tool.run(RECIPE)
        except RunRecord as err:
            if not emu.emulator.fault_log:
                return f"stopped before the fault: {err.reason}"
            ((t_fault, _spec),) = emu.emulator.fault_log
            return latency(err, t_fault, prefix)
    raise RuntimeError(f"{fault}: the run was not stopped")


def in_memory(mapping: Mapping, fault: str, prefix: str) -> float:
    tool = MemoryTool(mapping, speed=SPEED, faults=(ScheduledFault.parse(fault),))
    t = mapping.tool
    timing = Timing(watchdog_s=t.watchdog_s, settle_s=SETTLE_S, frozen_after_s=FROZEN_S)
    try:
        asyncio.run(RunProcedure(mapping, tool.transport(), timing, "bench").run(RECIPE))
    except RunRecord as err:
        ((t_fault, _spec),) = tool.fault_log
        return latency(err, t_fault, prefix)
    raise RuntimeError(f"{fault}: the run was not stopped")


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeat", type=int, default=3, help="runs over OPC UA per fault and profile (median shown)")
    ap.add_argument("--faults", default=",".join(FAULTS), help=f"comma-separated subset of {', '.join(FAULTS)}")
    ap.add_argument("--profiles", default=",".join(PROFILES), help=f"comma-separated subset of {', '.join(PROFILES)}")
    args = ap.parse_args()
    logging.disable(logging.CRITICAL)  # the faults log warnings by design
    faults = [f for f in args.faults.split(",") if f]
    unknown = sorted(set(faults) - set(FAULTS)) + sorted(set(args.profiles.split(",")) - set(PROFILES))
    if unknown or args.repeat < 1:
        print(f"fault_latency: unknown fault or profile {unknown} or --repeat < 1", file=sys.stderr)
        return 2
    print(f"{'fault':11} {'profile':8} {'OPC UA [s]':>11} {'in-memory [s]':>14} {'added [s]':>10} {'ratio':>7}")
    worst_lost = 0.0
    for name in faults:
        spec, prefix = FAULTS[name]
        for profile in args.profiles.split(","):
            mapping = Mapping.from_toml(PROFILES[profile])
            runs = [over_opcua(mapping, spec, prefix) for _ in range(args.repeat)]
            early = [r for r in runs if isinstance(r, str)]
            for why in early:
                print(f"  ({name} {profile}: {why})")
            timed = [r for r in runs if not isinstance(r, str)]
            if not timed:
                continue
            wall = statistics.median(timed)
            base = in_memory(mapping, spec, prefix)
            if prefix == "connection_lost":
                worst_lost = max(worst_lost, wall)
            ratio = f"{wall / base:6.2f}×" if base > 0 else "     —"
            print(f"{name:11} {profile:8} {wall:11.3f} {base:14.3f} {wall - base:10.3f} {ratio:>7}")
    if worst_lost:
        print(f"lost connection declared within {worst_lost:.2f} s at worst (target <= 5 s): "
              + ("met" if worst_lost <= 5.0 else "NOT met"))
    return 0


if __name__ == "__main__":
    sys.exit(main())
