"""The run procedure's checks of the tool, whatever the transport: before anything is written (state, alarms,
interlocks, published limits), and while the run goes on (the watchdog, alarms, interlocks, readbacks that follow
a setpoint, live readbacks that froze). A check that fails raises :class:`~hardware.run_context.Stop` with the
error class and reason the run ends with; :mod:`hardware.procedure` then aborts into the safe state.
"""

from __future__ import annotations

import math

from hardware.errors import RunAbortedError, RunAlarmError, RunFaultError, RunInterlockError
from hardware.mapping import Mapping
from hardware.run_context import RunContext, Stop, elapsed
from hardware.transport import Transport
from twin.recipe import Recipe
from twin.result import Event


async def preflight(mapping: Mapping, transport: Transport, recipe: Recipe, timeout_s: float) -> None:
    """State, alarms, interlocks, published limits: read only, nothing written.

    A tool in a running or busy state, in a fault state or in a state the mapping does not know is refused:
    only idle, done and aborted tools take a new run.
    """
    m = mapping
    st = m.status
    state = await transport.read(st.node, timeout_s)
    kind = st.kind(state)
    if kind in ("running", "busy"):
        raise Stop(RunFaultError, "busy", f"the tool is busy (state {state!r}); nothing was written", safe=False)
    if kind in ("fault", "unknown"):
        what = "in a fault state" if kind == "fault" else "in a state the mapping does not know"
        text = await alarm_text(m, transport, timeout_s)
        raise Stop(RunFaultError, "tool_state", f"the tool is {what} (state {state!r}{text}); nothing was written"
                   + ("; after fixing the cause, `sputter-twin tool reset`" if m.commands.reset else ""), safe=False)
    for al in m.alarms:
        if await transport.read(al.node, timeout_s):
            text = await alarm_text(m, transport, timeout_s)
            raise Stop(RunInterlockError, "alarm", f"alarm {al.name!r} is active{text}; nothing was written"
                       + ("; `sputter-twin tool reset` once its cause is fixed" if al.latched else ""), safe=False)
    for il in m.interlocks:
        value = await transport.read(il.node, timeout_s)
        if not il.is_ok(value):
            raise Stop(RunInterlockError, "interlock", f"interlock {il.name!r} is open (value {value!r}); "
                       "nothing was written", safe=False)
    published: dict[str, tuple[float, float]] = {}
    for lim in m.limits:
        lo = await transport.read(lim.min_node, timeout_s) if lim.min_node else lim.min
        hi = await transport.read(lim.max_node, timeout_s) if lim.max_node else lim.max
        if lim.min_node or lim.max_node:
            published[lim.field] = lim.to_recipe_units(float(lo), float(hi))
    m.check_recipe(recipe, published)


async def alarm_text(mapping: Mapping, transport: Transport, timeout_s: float) -> str:
    """``: TEXT`` of the tool's alarm-text node, or ``""`` (no node, empty, or unreadable)."""
    if not mapping.status.alarm_text:
        return ""
    try:
        text = await transport.read(mapping.status.alarm_text, timeout_s)
    except Exception:
        return ""
    return f": {text}" if text else ""


def check_connection(ctx: RunContext, transport: Transport, watchdog_s: float) -> None:
    """The watchdog: the connection is gone, or the tool has not answered for ``watchdog_s``."""
    last_ok, lost = transport.liveness()
    why = ""
    if lost:
        why = lost
    elif last_ok and transport.now() - last_ok > watchdog_s:
        why = f"no answer for {watchdog_s:g} s"
    if why:
        ctx.events.append(Event(elapsed(ctx), "connection_lost"))
        raise Stop(RunAbortedError, "connection_lost", f"connection to {transport.address} lost ({why})")


def check_alarms_and_interlocks(ctx: RunContext, mapping: Mapping) -> None:
    """An alarm raised or an interlock opened during the run."""
    for al in mapping.alarms:
        if ctx.values.get(al.node):
            ctx.events.append(Event(elapsed(ctx), f"alarm:{al.name}"))
            text = ctx.values.get(mapping.status.alarm_text) if mapping.status.alarm_text else ""
            raise Stop(RunAlarmError, "alarm", f"alarm {al.name!r} during the run" + (f": {text}" if text else "")
                       + ("; latched: `sputter-twin tool reset` once its cause is fixed" if al.latched else ""))
    for il in mapping.interlocks:
        if il.node in ctx.values and not il.is_ok(ctx.values[il.node]):
            ctx.events.append(Event(elapsed(ctx), f"interlock:{il.name}"))
            raise Stop(RunAlarmError, "interlock", f"interlock {il.name!r} opened during the run "
                       f"(value {ctx.values[il.node]!r})")


def check_followed(ctx: RunContext, mapping: Mapping, now: float, settle_s: float) -> None:
    """A readback that follows a setpoint, out of tolerance for more than ``settle_s`` in its phases (a stuck
    readback)."""
    for rb in mapping.readbacks:
        if not rb.follows or ctx.phase not in rb.phases or rb.node not in ctx.values:
            ctx.out_since.pop(rb.column, None)
            continue
        try:
            value = rb.to_canonical(ctx.values[rb.node])
        except (TypeError, ValueError):
            value = math.nan
        if rb.in_tolerance(value, ctx.recipe):
            ctx.out_since.pop(rb.column, None)
        elif now - ctx.out_since.setdefault(rb.column, now) > settle_s:
            want = " or ".join(f"{f} = {getattr(ctx.recipe, f):g}" for f in rb.follows)
            ctx.events.append(Event(elapsed(ctx), f"readback:{rb.column}"))
            raise Stop(RunAbortedError, "readback",
                       f"readback {rb.column} = {value:.4g} out of tolerance ({rb.tolerance:.0%} of {want}) "
                       f"for more than {settle_s:g} s in phase {ctx.phase!r} (stuck readback?)")


def check_frozen(ctx: RunContext, mapping: Mapping, now: float, frozen_after_s: float) -> None:
    """A live readback that repeats exactly the same value for ``frozen_after_s`` in its phases: the sensor
    stopped measuring (a real one always carries some noise), even if its value is still in tolerance."""
    if not frozen_after_s:
        return
    for rb in mapping.readbacks:
        if not rb.live or ctx.phase not in rb.phases or rb.column not in ctx.changed_at:
            ctx.live_since.pop(rb.column, None)
            continue
        since = max(ctx.changed_at[rb.column], ctx.live_since.setdefault(rb.column, now))
        if now - since > frozen_after_s:
            raw = ctx.values.get(rb.node)
            ctx.events.append(Event(elapsed(ctx), f"frozen_readback:{rb.column}"))
            raise Stop(RunAbortedError, "frozen_readback",
                       f"readback {rb.column} frozen: the same value ({raw!r} at {rb.node!r}) for more than "
                       f"{frozen_after_s:g} s in phase {ctx.phase!r}; a live readback always carries "
                       "noise, so the sensor has stopped measuring (frozen readback)")


def run_time_checks(mapping: Mapping, watchdog_s: float | None = None, settle_s: float | None = None,
                    frozen_after_s: float | None = None) -> list[tuple[str, bool, str]]:
    """Every check a run of ``mapping`` makes, as (check, active, detail); ``tool check`` lists them, so that a
    check that is off is seen to be off. Times default to the mapping's.

    >>> from hardware.mapping import Mapping
    >>> checks = run_time_checks(Mapping.from_toml("examples/hardware/pvd_c_jobs.toml"))
    >>> [(c, on) for c, on, _detail in checks if "readback rf_power_w" in c]
    [('stuck readback rf_power_w', True), ('frozen readback rf_power_w', True)]
    """
    t, st = mapping.tool, mapping.status
    watchdog_s = t.watchdog_s if watchdog_s is None else watchdog_s
    settle_s = t.settle_s if settle_s is None else settle_s
    frozen_after_s = t.frozen_after_s if frozen_after_s is None else frozen_after_s
    busy = [*st.running, *st.busy]
    out = [("busy tool refused", True, f"states {', '.join(map(str, busy))}; also fault and unknown states"),
           ("watchdog", True, f"lost connection declared after {watchdog_s:g} s without an answer")]
    out.append(("alarms", bool(mapping.alarms), ", ".join(a.name + (" (latched)" if a.latched else "")
                                                       for a in mapping.alarms) or "none mapped"))
    out.append(("interlocks", bool(mapping.interlocks), ", ".join(i.name for i in mapping.interlocks)
                or "none mapped"))
    if mapping.job is not None:
        out.append(("job read-back", True, "the stored job is compared with the recipe before it starts"))
    echoed = [sp.field for sp in mapping.setpoints if sp.node]
    if echoed:
        out.append(("setpoint echoes", True, f"{len(echoed)} setpoints verified after writing"))
    phase = ("the state node" if st.phase_in_state else st.phase) if st.phase else ""
    out.append(("phase", bool(phase), f"read from {phase}" if phase else "no phase node: no phase-bound check"))
    for rb in mapping.readbacks:
        where = ", ".join(rb.phases)
        if rb.follows:
            out.append((f"stuck readback {rb.column}", True, f"within {rb.tolerance:.0%} of "
                        f"{' or '.join(rb.follows)} in {where}; {settle_s:g} s to settle"))
        if rb.live:
            out.append((f"frozen readback {rb.column}", frozen_after_s > 0,
                        f"the same value for {frozen_after_s:g} s in {where}" if frozen_after_s > 0
                        else "off (frozen_after_s = 0)"))
    clock = next((rb.node for rb in mapping.readbacks if rb.column == "time_s"), "")
    out.append(("process clock", bool(clock), f"the tool's, {clock}" if clock else
                "none mapped: process time is the adapter's clock since the run began"))
    return out
