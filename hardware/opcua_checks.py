"""The adapter's checks of the tool: before anything is written (state, alarms, interlocks, published limits), and
while the run goes on (the watchdog's heartbeat, alarms, interlocks, readbacks that follow a setpoint, live
readbacks that froze). A check that fails raises :class:`~hardware.opcua_context.Stop` with the error class and
reason the run ends with; :class:`hardware.opcua.OpcUaTool` then aborts into the safe state.
"""

from __future__ import annotations

import asyncio
import math
from typing import Any

from asyncua import Client, ua

from hardware.errors import RunAbortedError, RunAlarmError, RunFaultError, RunInterlockError
from hardware.mapping import Mapping
from hardware.opcua_context import RunContext, Stop, bounded, elapsed, log
from twin.recipe import Recipe
from twin.result import Event

SERVER_TIME = ua.NodeId(ua.ObjectIds.Server_ServerStatus_CurrentTime)
"""The node the heartbeat reads: every OPC UA server has it."""


async def preflight(mapping: Mapping, nodes: dict[str, Any], recipe: Recipe) -> None:
    """State, alarms, interlocks, published limits: read only, nothing written."""
    m = mapping
    state = await nodes[m.status.node][0].read_value()
    if state in (m.status.running,):
        raise Stop(RunFaultError, "busy", f"the tool is busy (state {state!r})", safe=False)
    for al in m.alarms:
        if await nodes[al.node][0].read_value():
            raise Stop(RunInterlockError, "alarm", f"alarm {al.name!r} is active; nothing was written", safe=False)
    for il in m.interlocks:
        value = await nodes[il.node][0].read_value()
        if not il.is_ok(value):
            raise Stop(RunInterlockError, "interlock", f"interlock {il.name!r} is open (value {value!r}); "
                       "nothing was written", safe=False)
    published: dict[str, tuple[float, float]] = {}
    for lim in m.limits:
        lo = await nodes[lim.min_node][0].read_value() if lim.min_node else lim.min
        hi = await nodes[lim.max_node][0].read_value() if lim.max_node else lim.max
        if lim.min_node or lim.max_node:
            published[lim.field] = lim.to_recipe_units(float(lo), float(hi))
    m.check_recipe(recipe, published)


async def heartbeat(ctx: RunContext, client: Client, endpoint: str, watchdog_s: float) -> None:
    """Read the server's clock every ``watchdog_s / 5`` and note when it last answered (``ctx.last_ok``) or that
    the socket is gone (``ctx.lost``); runs until cancelled."""
    loop = asyncio.get_running_loop()
    node = client.get_node(SERVER_TIME)
    while True:
        try:
            await bounded(node.read_value(), watchdog_s / 2)
            ctx.last_ok = loop.time()
        except asyncio.CancelledError:
            raise
        except TimeoutError:  # slow, not gone (TimeoutError is an OSError): the watchdog decides
            log.warning("watchdog: %s did not answer within %g s", endpoint, watchdog_s / 2)
        except (ConnectionError, OSError) as exc:  # the socket is gone: no need to wait for the watchdog
            ctx.lost = ctx.lost or f"{type(exc).__name__}: {exc}"
        except Exception as exc:
            log.warning("watchdog: %s did not answer (%s)", endpoint, type(exc).__name__)
        await asyncio.sleep(watchdog_s / 5)


def check_connection(ctx: RunContext, endpoint: str, watchdog_s: float) -> None:
    """The watchdog: the socket is gone, or the server has not answered for ``watchdog_s``."""
    why = ""
    if ctx.lost:
        why = ctx.lost
    elif ctx.last_ok and asyncio.get_running_loop().time() - ctx.last_ok > watchdog_s:
        why = f"no answer for {watchdog_s:g} s"
    if why:
        ctx.events.append(Event(elapsed(ctx), "connection_lost"))
        raise Stop(RunAbortedError, "connection_lost", f"connection to {endpoint} lost ({why})")


def check_alarms_and_interlocks(ctx: RunContext, mapping: Mapping) -> None:
    """An alarm raised or an interlock opened during the run."""
    for al in mapping.alarms:
        if ctx.values.get(al.node):
            ctx.events.append(Event(elapsed(ctx), f"alarm:{al.name}"))
            raise Stop(RunAlarmError, "alarm", f"alarm {al.name!r} during the run")
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
