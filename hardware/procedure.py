"""The run procedure, written once over :class:`hardware.transport.Transport`: connect → resolve every address →
pre-flight (read only) → setpoints with their echoes, or the recipe as a job → subscribe → watchdog → start →
follow → results; on any stop, the abort command and the safe state.

Nothing here knows OPC UA: :class:`hardware.opcua.OpcUaTool` runs it over
:class:`~hardware.opcua_transport.OpcUaTransport`, the tests over
:class:`~hardware.memory_backend.MemoryTransport` on simulated time, and a SECS/GEM or Modbus adapter would run it
over its own transport. Every wait is measured on the transport's clock (:meth:`Transport.now`), never the wall
clock directly.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from hardware.errors import RunAbortedError, RunFaultError
from hardware.jobs import download_job
from hardware.mapping import Mapping
from hardware.run_checks import (
    check_alarms_and_interlocks,
    check_connection,
    check_followed,
    check_frozen,
    preflight,
)
from hardware.run_context import POLL_S, RunContext, Stop, elapsed, send, write_logged
from hardware.run_telemetry import measured_result, record_value, telemetry_frame
from hardware.safe_state import write_safe_state
from hardware.transport import NoSuchAddress, SecurityRefused, Transport
from twin.errors import InputError, RecipeError
from twin.recipe import Recipe
from twin.result import Event, RunResult
from twin.tool import ToolStatus

log = logging.getLogger("hardware.opcua")


@dataclass(frozen=True)
class Timing:
    """The procedure's time limits [s of the transport's clock] (the mapping's, or a campaign's overrides)."""

    timeout_s: float = 4.0
    """One request."""
    watchdog_s: float = 2.0
    settle_s: float = 1.0
    run_timeout_s: float = 172800.0
    frozen_after_s: float = 10.0


def addresses(mapping: Mapping) -> list[str]:
    """Every address a run uses, once each (nodes, method objects and methods)."""
    texts = [row["node"] for row in mapping.node_roles() if row["role"] != "context"]  # read apart, before a run
    texts += [sw.node for sw in mapping.safe_state]
    return list(dict.fromkeys(t for t in texts if t))


def watched(mapping: Mapping) -> list[str]:
    """The addresses a run subscribes to: state, phase, alarm text, readbacks, alarms, interlocks."""
    st = mapping.status
    texts = [st.node, st.phase, st.alarm_text] + [rb.node for rb in mapping.readbacks]
    texts += [a.node for a in mapping.alarms] + [i.node for i in mapping.interlocks]
    return list(dict.fromkeys(t for t in texts if t))


class RunProcedure:
    """One run of ``mapping``'s tool over ``transport``.

    Parameters
    ----------
    mapping : Mapping
    transport : Transport
        Unconnected; the procedure connects it and hangs up at the end.
    timing : Timing
    name : str
        The tool's name, for messages and the result's provenance.
    cancelled : callable
        Returns why the operator wants the run stopped (Ctrl-C, ``abort()``), ``""`` otherwise; polled every
        :data:`~hardware.run_context.POLL_S`.
    run_id : str
        The run's id (the campaign's trial), sent with a job.
    """

    def __init__(self, mapping: Mapping, transport: Transport, timing: Timing, name: str,
                 cancelled: Callable[[], str] = lambda: "", run_id: str = "") -> None:
        self.mapping, self.transport, self.timing, self.name = mapping, transport, timing, name
        self.cancelled, self.run_id = cancelled, run_id
        self.ctx: RunContext | None = None
        self.status = ToolStatus.IDLE

    async def run(self, recipe: Recipe, extras: dict[str, Any] | None = None) -> RunResult:
        """Execute ``recipe`` with the campaign's ``extras`` (extra variables, written to their own nodes beside
        the recipe: :meth:`hardware.mapping.Mapping.extra_writes`); raises a :class:`~hardware.errors.RunRecord`
        with what the run left."""
        t, m, tm = self.transport, self.mapping, self.timing
        ctx = self.ctx = RunContext(recipe, t.now(), t.now)
        self.status = ToolStatus.RUNNING
        try:
            try:
                await t.connect(tm.timeout_s + 1)
            except SecurityRefused as exc:  # before anything is written: nothing to undo
                raise Stop(RunFaultError, "security", f"connection refused: {exc}", safe=False) from None
            except Exception as exc:
                raise Stop(RunFaultError, "connect", f"cannot connect to {t.address}: {exc}", safe=False) from None
            try:
                await t.resolve(addresses(m), tm.timeout_s)
            except NoSuchAddress as exc:
                raise RunFaultError(f"tool {m.tool.name!r} has no node {exc.args[0]!r}; run `sputter-twin tool "
                                    "check`") from None
            await preflight(m, t, recipe, tm.timeout_s)
            self._check(ctx, watchdog=False)
            if m.job is not None:
                await download_job(ctx, m, t, recipe, self.run_id or f"{self.name}-run", tm.timeout_s)
                await self._write_setpoints(ctx, m.extra_writes(extras))  # extras: nodes of their own
            else:
                await self._write_setpoints(ctx, [*m.setpoint_writes(recipe), *m.extra_writes(extras)])
            await t.subscribe(watched(m), lambda text, value: record_value(ctx, m, text, value), m.tool.publish_ms)
            await self._wait_for(ctx, lambda: m.status.node in ctx.values, tm.timeout_s,
                                 "no data from the tool's subscription", watchdog=False)
            await t.start_watchdog(tm.watchdog_s)
            seen = ctx.state_changes
            started, _out = await send(ctx, t, "command", "start", m.commands.start, tm.timeout_s, self.run_id)
            if not started:
                raise Stop(RunFaultError, "start", "the start command was not accepted")
            st = m.status
            # running, or already done (a short run between two notifications) but not the done of the run before
            await self._wait_for(ctx, lambda: st.kind(ctx.state) == "running" or (
                st.kind(ctx.state) == "done" and ctx.state_changes > seen), m.tool.start_timeout_s,
                                 f"the tool did not report running ({' | '.join(map(repr, st.running))}) after the "
                                 "start command")
            ctx.events.append(Event(elapsed(ctx), "start"))
            await self._follow(ctx)
            result = await self._finish(ctx)
            self.status = ToolStatus.IDLE
            return result
        except Stop as stop:
            # anything written (setpoints, job, start) is undone by the abort command and the safe state
            attempted = stop.safe and bool(ctx.command_log)
            safe = await write_safe_state(ctx, m, t, tm.timeout_s, stop.reason == "connection_lost") \
                if attempted else False
            self.status = ToolStatus.ABORTED if stop.cls is RunAbortedError else ToolStatus.FAULT
            if stop.reason == "connection_lost":
                self.status = ToolStatus.DISCONNECTED
            msg = stop.message
            if attempted:
                msg += "; safe state written" if safe else "; SAFE STATE NOT CONFIRMED: check the tool"
            err = stop.cls(f"{self.name}: {msg}")
            raise err.attach(telemetry=self.telemetry(), command_log=ctx.command_log,
                             safe_state_written=safe or not ctx.command_log, reason=stop.reason) from None
        except RunFaultError as err:
            self.status = ToolStatus.FAULT
            raise err.attach(telemetry=self.telemetry(), command_log=ctx.command_log, safe_state_written=False,
                             reason="tool") from None
        except (RecipeError, InputError):
            self.status = ToolStatus.IDLE
            raise
        except Exception as exc:  # a transport failure we did not foresee: stop safely all the same
            log.exception("run on %s failed", self.name)
            safe = (await write_safe_state(ctx, m, t, tm.timeout_s, reconnect=True) if ctx.command_log else True)
            self.status = ToolStatus.FAULT
            err = RunFaultError(f"{self.name}: {type(exc).__name__}: {exc}"
                                + ("; safe state written" if safe else "; SAFE STATE NOT CONFIRMED: check the tool"))
            raise err.attach(telemetry=self.telemetry(), command_log=ctx.command_log, safe_state_written=safe,
                             reason="error") from exc
        finally:
            await t.close()

    def telemetry(self) -> Any:
        """The run's telemetry so far (a DataFrame with the command log in ``attrs``)."""
        if self.ctx is None:
            return None
        frame = telemetry_frame(self.ctx, self.mapping, self.name, self.transport.address)
        if self.ctx.job_id:
            frame.attrs["job_id"] = self.ctx.job_id
        return frame

    # -- steps ----------------------------------------------------------------------------------------------
    def _check(self, ctx: RunContext, watchdog: bool = True) -> None:
        why = self.cancelled()
        if why:
            raise Stop(RunAbortedError, "operator", why)
        if watchdog:
            check_connection(ctx, self.transport, self.timing.watchdog_s)

    async def _wait_for(self, ctx: RunContext, cond: Callable[[], bool], timeout: float, what: str,
                        watchdog: bool = True) -> None:
        t = self.transport
        end = t.now() + timeout
        while not cond():
            self._check(ctx, watchdog)
            if t.now() > end:
                raise Stop(RunFaultError, "timeout", what)
            await t.sleep(POLL_S)

    async def _write_setpoints(self, ctx: RunContext, writes: list[tuple[Any, Any]]) -> None:
        """Write each ``(setpoint, raw value)`` (recipe setpoints and extras), then wait for every echo."""
        t, tm = self.transport, self.timing
        for sp, raw in writes:
            self._check(ctx, watchdog=False)
            if not await write_logged(ctx, t, "setpoint", sp.field, sp.node, raw, tm.timeout_s):
                raise Stop(RunFaultError, "setpoint", f"writing {sp.field} to {sp.node!r} failed")
        end = t.now() + self.mapping.tool.setpoint_timeout_s
        pending = list(writes)
        while pending:
            still = []
            for sp, raw in pending:
                echo = await t.read(sp.readback or sp.node, tm.timeout_s)
                if not sp.matches(raw, echo):
                    still.append((sp, raw, echo))
            if not still:
                break
            if t.now() > end:
                sp, raw, echo = still[0]
                raise Stop(RunFaultError, "setpoint", f"setpoint {sp.field} not confirmed: sent {raw!r} to "
                           f"{sp.node!r}, the tool reads back {echo!r} at {(sp.readback or sp.node)!r}")
            pending = [(sp, raw) for sp, raw, _e in still]
            self._check(ctx, watchdog=False)
            await t.sleep(POLL_S)

    async def _follow(self, ctx: RunContext) -> None:
        m, t, tm = self.mapping, self.transport, self.timing
        end = t.now() + tm.run_timeout_s
        st = m.status
        while True:
            self._check(ctx)
            now = t.now()
            check_alarms_and_interlocks(ctx, m)
            check_followed(ctx, m, now, tm.settle_s)
            check_frozen(ctx, m, now, tm.frozen_after_s)
            kind = st.kind(ctx.state)
            if kind == "done":
                return
            if kind in ("aborted", "fault", "idle", "unknown"):
                text = ctx.values.get(st.alarm_text) if st.alarm_text else ""
                what = "the tool stopped the run itself" if kind != "unknown" else \
                    "the tool reports a state the mapping does not know"
                raise Stop(RunFaultError, "tool", f"{what} (state {ctx.state!r}{': ' + text if text else ''})")
            if now > end:
                raise Stop(RunAbortedError, "timeout", f"the run took longer than {tm.run_timeout_s:g} s")
            await t.sleep(POLL_S)

    async def _finish(self, ctx: RunContext) -> RunResult:
        ctx.events.append(Event(elapsed(ctx), "done"))
        measured: dict[str, float] = {}
        for res in self.mapping.results:
            raw = await self.transport.read(res.node, self.timing.timeout_s)
            try:
                measured[res.field] = res.to_canonical(raw)
            except (TypeError, ValueError):
                measured[res.field] = math.nan
        last = {}
        for _t, column, value in ctx.samples:
            last[column] = value
        if "thickness_nm" not in measured and "thickness_nm" in last:
            measured["thickness_nm"] = last["thickness_nm"]
        if not math.isfinite(measured.get("thickness_nm", math.nan)):
            raise Stop(RunFaultError, "result", "the tool reported done but no thickness readback: the run is "
                       "not recorded as done", safe=False)
        if "process_time_s" not in measured:  # the tool's process clock when mapped, else the transport's
            measured["process_time_s"] = last.get("time_s", elapsed(ctx))
        return measured_result(ctx.recipe, measured, tuple(ctx.events), self.telemetry(), self.name)
