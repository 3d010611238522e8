"""Telemetry of a run, whatever the transport: every data change recorded into the run's context (the state,
the phase, readback samples), the telemetry DataFrame built from it (with the command log in ``attrs``), and the
:class:`twin.RunResult` of what the tool measured.
"""

from __future__ import annotations

import contextlib
import dataclasses
import math
from typing import Any

import pandas as pd

from hardware.mapping import Mapping
from hardware.run_context import RunContext
from twin.recipe import Recipe
from twin.result import Event, RunResult


def record_value(ctx: RunContext, mapping: Mapping, text: str, value: Any) -> None:
    """A new value of node ``text``: the tool's state and phase (a ``phase:NAME`` event; the phase may be read
    from the state node itself), or a readback sample in canonical units (and, for a live readback, when it last
    changed)."""
    now = ctx.clock()
    t = now - ctx.t0
    changed = text not in ctx.values or ctx.values[text] != value
    ctx.values[text] = value
    m = mapping
    st = m.status
    if text == st.node:
        ctx.state = value
        ctx.state_changes += 1
    if text == st.phase:  # not elif: a tool may report its phase in its one state node
        phase = st.phase_name(value)
        if phase != ctx.phase:
            ctx.phase = phase
            ctx.events.append(Event(t, f"phase:{phase}"))
    for rb in m.readbacks:
        if rb.node == text:
            if changed and rb.live:
                ctx.changed_at[rb.column] = now
            with contextlib.suppress(TypeError, ValueError):
                ctx.samples.append((t, rb.column, rb.to_canonical(value)))


def telemetry_frame(ctx: RunContext, mapping: Mapping, name: str, endpoint: str) -> pd.DataFrame:
    """Readbacks as a wide DataFrame (``elapsed_s`` seconds since the run began on the transport's clock: the
    wall clock over OPC UA, simulated time in memory; ``phase``, one
    column per readback, forward-filled); ``attrs`` holds the command log and the tool's name."""
    phases = [(e.time_s, e.kind.removeprefix("phase:")) for e in ctx.events if e.kind.startswith("phase:")]
    if ctx.samples:
        # a phase change is a mark (column "") among the samples, so that it is batched with them
        marks = [(t, "", math.nan) for t, _phase in phases]
        long = pd.DataFrame(ctx.samples + marks, columns=["elapsed_s", "column", "value"])
        long = long.sort_values("elapsed_s", kind="stable", ignore_index=True)
        # notifications of one publish arrive a few microseconds apart, in the server's order (not always
        # the order of the changes): one row per publish, stamped with the arrival of its last notification,
        # so a phase change lands on the values published with it
        gap = mapping.tool.publish_ms / 2000.0
        long["batch"] = (long["elapsed_s"].diff().fillna(0.0) > gap).cumsum()
        long["elapsed_s"] = long.groupby("batch")["elapsed_s"].transform("max")
        stamped = long.loc[long["column"] == "", "elapsed_s"].to_list()
        phases = [(t, phase) for t, (_t, phase) in zip(stamped, phases, strict=True)]
        values = long[long["column"] != ""]
        wide = values.pivot_table(index="elapsed_s", columns="column", values="value", aggfunc="last").ffill()
        wide = wide.reset_index()
        wide.columns.name = None
    else:
        wide = pd.DataFrame({"elapsed_s": pd.Series(dtype=float)})
    if phases and len(wide):
        ph = pd.DataFrame(phases, columns=["elapsed_s", "phase"])
        wide = pd.merge_asof(wide.sort_values("elapsed_s"), ph, on="elapsed_s", direction="backward")
    if "time_s" not in wide.columns:
        wide["time_s"] = wide["elapsed_s"]
    wide.attrs["command_log"] = list(ctx.command_log)
    wide.attrs["tool"] = name
    wide.attrs["endpoint"] = endpoint
    wide.attrs["events"] = [e.to_dict() for e in ctx.events]
    wide.attrs["t0_monotonic"] = ctx.t0
    # the transport's clock at elapsed_s = 0 (time.monotonic() over OPC UA): event times are relative to it
    return wide


def measured_result(recipe: Recipe, measured: dict[str, float], events: tuple[Event, ...],
                    telemetry: pd.DataFrame, name: str) -> RunResult:
    """A RunResult with what the tool measured; model-only fields NaN (the twin is not asked)."""
    values: dict[str, Any] = {}
    for f in dataclasses.fields(RunResult):
        kind = str(f.type)
        if f.name == "recipe":
            values[f.name] = recipe
        elif f.name == "events":
            values[f.name] = events
        elif f.name == "telemetry":
            values[f.name] = telemetry
        elif f.name == "model_version":
            values[f.name] = f"measured:{name}"
        elif f.name == "chamber_state_after":
            values[f.name] = {}
        elif kind == "bool":
            values[f.name] = False
        elif kind == "float":
            values[f.name] = float(measured.get(f.name, math.nan))
        elif f.default is not dataclasses.MISSING:
            values[f.name] = f.default
        else:
            values[f.name] = None
    if math.isfinite(values.get("thickness_nm", math.nan)) and math.isfinite(values.get("deposition_time_s",
                                                                                        math.nan)):
        values["deposition_rate_nm_min"] = values["thickness_nm"] / values["deposition_time_s"] * 60.0
    return RunResult(**values)
