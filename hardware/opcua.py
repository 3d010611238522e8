"""``OpcUaTool``: the :class:`twin.Tool` protocol on a real sputter tool over OPC UA (asyncua).

A run: connect → read state, alarms and interlocks → dry check of the recipe against the mapping's limits and
the limits the tool publishes → write setpoints and verify their echoes → subscribe to readbacks → start →
follow readbacks into telemetry → completion → read results. The interface resistance is not known from the tool
(unless a result node publishes it): the returned :class:`twin.RunResult` has it NaN, with every model-only field,
and the campaign keeps the trial in ``awaiting_measurement``.

Safety: the adapter enforces limits itself (never only the tool), writes nothing before every check passed,
and on Ctrl-C, :meth:`OpcUaTool.abort`, an alarm, an open interlock, a following readback out of tolerance for
``settle_s`` (a stuck readback), a live readback that repeats exactly the same value for ``frozen_after_s`` (a
frozen readback) or a lost connection (watchdog, ``watchdog_s`` ≤ 5 s) it sends the abort command and writes the
mapping's safe state (RF off, shutter closed, gas off), then raises :class:`hardware.errors.RunInterlockError` /
:class:`~hardware.errors.RunAbortedError` carrying the telemetry so far and the command log. Ctrl-C is then
passed on as :class:`~hardware.errors.RunInterrupted` (a ``KeyboardInterrupt`` carrying the same record), so
that the caller stops as it does on Ctrl-C with any other tool. Every command sent is in
``result.telemetry.attrs["command_log"]`` (and on the error).

asyncua is asynchronous; the adapter runs it in a private event loop in a background thread so that
:meth:`OpcUaTool.run` is an ordinary blocking call.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import datetime as dt
import logging
import math
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd
from asyncua import Client, ua

from hardware import _ua
from hardware.errors import (
    RunAbortedError,
    RunAlarmError,
    RunFaultError,
    RunInterlockError,
    RunInterrupted,
    RunRecord,
)
from hardware.mapping import Mapping, MappingError, check_frozen_after_s
from twin.chamber import Chamber
from twin.errors import InputError, RecipeError
from twin.recipe import Recipe
from twin.result import Event, RunResult
from twin.tool import ToolStatus

log = logging.getLogger(__name__)

CONFIG_KEYS = {"type", "endpoint", "mapping", "require_approval", "timeout_s", "watchdog_s", "settle_s",
               "run_timeout_s", "frozen_after_s", "name"}
"""Keys of a campaign's ``[tool]`` table for ``type = "opcua"``."""

_POLL_S = 0.05
_SERVER_TIME = ua.NodeId(ua.ObjectIds.Server_ServerStatus_CurrentTime)


async def bounded(aw: Any, timeout: float) -> Any:
    """Await ``aw`` for at most ``timeout`` seconds, then cancel it *without waiting* for the cancellation.

    ``asyncio.wait_for`` waits until a cancelled request has unwound, which a client talking to a hung server
    may never do; a safety path must not hang with it.
    """
    task = asyncio.ensure_future(aw)
    try:
        done, _pending = await asyncio.wait({task}, timeout=timeout)
    except asyncio.CancelledError:
        task.cancel()
        task.add_done_callback(_consume)
        raise
    if not done:
        task.cancel()
        task.add_done_callback(_consume)
        raise TimeoutError(f"no answer within {timeout:g} s")
    return task.result()


def _consume(task: asyncio.Task) -> None:
    if not task.cancelled():
        task.exception()  # retrieved, so asyncio does not log "exception was never retrieved"


class _RevisedParameters(logging.Filter):
    """Drop asyncua's warnings that a server revised the session timeout or subscription counts: normal OPC UA
    negotiation, not something an operator can act on."""

    def filter(self, record: logging.LogRecord) -> bool:
        msg = record.getMessage()
        return not (msg.startswith("Requested session timeout") or msg.startswith("Revised values returned"))


_FILTER = _RevisedParameters()


class _Stop(Exception):
    """Internal: stop the run with an error class and a reason."""

    def __init__(self, cls: type[RunRecord], reason: str, message: str, safe: bool = True) -> None:
        super().__init__(message)
        self.cls, self.reason, self.message, self.safe = cls, reason, message, safe


@dataclass
class _Run:
    recipe: Recipe
    t0: float
    command_log: list[dict[str, Any]] = field(default_factory=list)
    samples: list[tuple[float, str, float]] = field(default_factory=list)
    events: list[Event] = field(default_factory=list)
    values: dict[str, Any] = field(default_factory=dict)
    state: Any = None
    phase: str = ""
    lost: str = ""
    last_ok: float = 0.0
    out_since: dict[str, float] = field(default_factory=dict)
    changed_at: dict[str, float] = field(default_factory=dict)
    """Live readback column → loop time its value last changed."""
    live_since: dict[str, float] = field(default_factory=dict)
    """Live readback column → loop time the run entered the readback's phases."""


class _Handler:
    def __init__(self, tool: OpcUaTool, run: _Run, by_id: dict[ua.NodeId, str]) -> None:
        self.tool, self.run, self.by_id = tool, run, by_id

    def datachange_notification(self, node: Any, val: Any, _data: Any) -> None:
        text = self.by_id.get(node.nodeid)
        if text is not None:
            self.tool._on_value(self.run, text, val)

    def status_change_notification(self, status: Any) -> None:
        self.run.lost = self.run.lost or f"subscription status {status}"


class OpcUaTool:
    """A sputter tool attached over OPC UA, described by a mapping file.

    Parameters
    ----------
    mapping : Mapping
        Nodes, units, limits and safe state of the tool (:meth:`hardware.mapping.Mapping.from_toml`).
    endpoint : str
        ``opc.tcp://host:port/...`` of the tool's OPC UA server.
    chamber : Chamber, optional
        The twin's description of the tool; if given, its limits are enforced too.
    timeout_s : float
        Timeout of one OPC UA request [s].
    watchdog_s, settle_s, run_timeout_s, frozen_after_s : float, optional
        Override the mapping's values [s] (``watchdog_s`` at most 5 s; ``frozen_after_s`` 0 = off, else at least
        ``watchdog_s``).
    """

    is_real = True

    def __init__(self, mapping: Mapping, endpoint: str, chamber: Chamber | None = None, *, name: str = "",
                 timeout_s: float = 4.0, watchdog_s: float | None = None, settle_s: float | None = None,
                 run_timeout_s: float | None = None, frozen_after_s: float | None = None) -> None:
        tool = mapping.tool
        self.mapping = mapping
        self.endpoint = endpoint
        self.chamber = chamber
        self.name = name or f"opcua:{tool.name}"
        self.timeout_s = float(timeout_s)
        self.watchdog_s = float(watchdog_s if watchdog_s is not None else tool.watchdog_s)
        self.settle_s = float(settle_s if settle_s is not None else tool.settle_s)
        self.run_timeout_s = float(run_timeout_s if run_timeout_s is not None else tool.run_timeout_s)
        if not 0 < self.watchdog_s <= 5:
            raise MappingError("tool.watchdog_s", self.watchdog_s, "a lost connection must be seen within 5 s",
                               "(0, 5] s")
        self.frozen_after_s = check_frozen_after_s(
            float(frozen_after_s if frozen_after_s is not None else tool.frozen_after_s), self.watchdog_s)
        self.command_log: list[dict[str, Any]] = []
        """Commands of the last run (also on its telemetry and on its error)."""
        self._status = ToolStatus.IDLE
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._busy = threading.Lock()
        self._cancel = ""
        client_log = logging.getLogger("asyncua.client.client")
        if _FILTER not in client_log.filters:
            client_log.addFilter(_FILTER)

    @classmethod
    def from_config(cls, config: dict[str, Any], chamber: Chamber | None = None) -> OpcUaTool:
        """Build from a campaign's ``[tool]`` table: ``type = "opcua"``, ``endpoint``, ``mapping`` (a path),
        optional ``timeout_s``, ``watchdog_s``, ``settle_s``, ``run_timeout_s``, ``frozen_after_s`` (0 = off),
        ``name``.

        ``require_approval = false`` is refused: a real tool runs only recipes a person approved.
        """
        unknown = sorted(set(config) - CONFIG_KEYS)
        if unknown:
            raise InputError(f"tool.{unknown[0]}", config[unknown[0]], "unknown key", ", ".join(sorted(CONFIG_KEYS)))
        if config.get("require_approval", True) is not True:
            raise InputError("tool.require_approval", config["require_approval"],
                             "a real tool runs only recipes a person approved", "true")
        for key in ("endpoint", "mapping"):
            if not isinstance(config.get(key), str) or not config[key]:
                raise InputError(f"tool.{key}", config.get(key), "missing or not a string",
                                 "opc.tcp://HOST:PORT/PATH" if key == "endpoint" else "path to a mapping TOML")
        if not config["endpoint"].startswith("opc.tcp://"):
            raise InputError("tool.endpoint", config["endpoint"], "not an OPC UA endpoint", "opc.tcp://HOST:PORT/...")
        kwargs: dict[str, Any] = {}
        for key in ("timeout_s", "watchdog_s", "settle_s", "run_timeout_s", "frozen_after_s"):
            if key in config:
                v = config[key]
                off = key == "frozen_after_s" and v == 0
                if isinstance(v, bool) or not isinstance(v, int | float) or not math.isfinite(v) or \
                        not (v > 0 or off):
                    raise InputError(f"tool.{key}", v, "expected a positive number of seconds",
                                     "0 (off) or > 0" if key == "frozen_after_s" else "> 0")
                kwargs[key] = float(v)
        if "name" in config:
            kwargs["name"] = str(config["name"])
        mapping = Mapping.from_toml(Path(config["mapping"]).expanduser())
        return cls(mapping, config["endpoint"], chamber, **kwargs)

    # -- Tool protocol ------------------------------------------------------------------------------------------
    @property
    def status(self) -> ToolStatus:
        return self._status

    def check(self, recipe: Recipe) -> None:
        """Dry pass without the tool: the mapping's limits, fields the tool cannot set, the chamber's limits.

        :meth:`run` repeats it online with the limits the tool publishes and its interlocks, before writing.
        """
        self.mapping.check_recipe(recipe)
        if self.chamber is not None:
            self.chamber.check(recipe)

    def run(self, recipe: Recipe) -> RunResult:
        """Execute ``recipe`` on the tool and wait for completion.

        Ctrl-C aborts the run into the safe state, then raises :class:`~hardware.errors.RunInterrupted` (a
        ``KeyboardInterrupt``) carrying the telemetry, the command log and whether the safe state was confirmed.
        """
        self.check(recipe)
        if not self._busy.acquire(blocking=False):
            raise RunFaultError(f"{self.name}: a run is already going on through this adapter")
        self._cancel = ""
        try:
            return self._run_blocking(recipe)
        finally:
            self._busy.release()

    def _run_blocking(self, recipe: Recipe) -> RunResult:
        loop = self._ensure_loop()
        fut = asyncio.run_coroutine_threadsafe(self._run(recipe), loop)
        ctrl_c: list[bool] = []
        try:
            result = self._wait(fut, ctrl_c)
        except Exception as exc:
            if ctrl_c:
                raise self._interrupted(exc) from exc
            raise
        if ctrl_c:  # the run ended by itself before the adapter acted on Ctrl-C: the operator still wants out
            raise self._interrupted(RunAbortedError(f"{self.name}: Ctrl-C as the run finished; nothing to abort")
                                    .attach(telemetry=result.telemetry, command_log=self.command_log,
                                            safe_state_written=False, reason="operator"))
        return result

    def _wait(self, fut: Any, ctrl_c: list[bool]) -> RunResult:
        """Wait for the run; on Ctrl-C (noted in ``ctrl_c``) ask it to stop and keep waiting while it does."""
        give_up = math.inf
        while True:
            try:
                return fut.result(timeout=0.2)
            except TimeoutError:
                if time.monotonic() > give_up:  # last resort: never leave the operator stuck
                    fut.cancel()
                    raise RunAbortedError(f"{self.name}: {self._cancel}; the adapter did not finish stopping "
                                          "within its time; SAFE STATE NOT CONFIRMED: check the tool").attach(
                        telemetry=None, command_log=self.command_log, safe_state_written=False,
                        reason="operator") from None
            except KeyboardInterrupt:
                if not ctrl_c:
                    log.warning("Ctrl-C: aborting the run on %s", self.name)
                ctrl_c.append(True)
                self._request_cancel("interrupted by the operator (Ctrl-C)")
            if self._cancel and give_up == math.inf:
                give_up = time.monotonic() + 6 * self.timeout_s + 10.0

    def _interrupted(self, exc: BaseException) -> RunInterrupted:
        """The Ctrl-C to pass on once the run has stopped, with what the run left (``exc``, or a record of it)."""
        if not isinstance(exc, RunRecord):  # stopped before anything was written (e.g. a recipe refused online)
            exc = RunAbortedError(f"{self.name}: interrupted by the operator (Ctrl-C); {exc}").attach(
                telemetry=None, command_log=self.command_log, safe_state_written=not self.command_log,
                reason="operator")
        log.log(logging.ERROR if "SAFE STATE NOT CONFIRMED" in str(exc) else logging.WARNING, "%s", exc)
        return RunInterrupted(exc)

    def abort(self) -> None:
        """Abort the running recipe (from another thread), or put an idle tool in its safe state."""
        if self._busy.locked():
            self._request_cancel("aborted by abort()")
            return
        loop = self._ensure_loop()
        ok = asyncio.run_coroutine_threadsafe(self._safe_standalone(_Run(Recipe(), loop.time())), loop).result(
            timeout=4 * self.timeout_s + 5)
        self._status = ToolStatus.ABORTED if ok else ToolStatus.DISCONNECTED

    def close(self) -> None:
        """Stop the private event loop thread."""
        if self._loop is not None and self._thread is not None:
            self._loop.call_soon_threadsafe(self._loop.stop)
            self._thread.join(timeout=5)
            if not self._thread.is_alive():
                self._loop.close()
            self._loop = self._thread = None

    def __enter__(self) -> OpcUaTool:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- plumbing -------------------------------------------------------------------------------------------------
    def _ensure_loop(self) -> asyncio.AbstractEventLoop:
        if self._loop is None:
            self._loop = asyncio.new_event_loop()
            self._thread = threading.Thread(target=self._loop.run_forever, name=f"{self.name}-loop", daemon=True)
            self._thread.start()
        return self._loop

    def _request_cancel(self, reason: str) -> None:
        """Ask the running coroutine to stop (thread-safe: it polls this every 50 ms)."""
        self._cancel = self._cancel or reason

    def _now(self, ctx: _Run) -> float:
        return asyncio.get_running_loop().time() - ctx.t0

    def _on_value(self, ctx: _Run, text: str, value: Any) -> None:
        now = asyncio.get_running_loop().time()
        t = now - ctx.t0
        changed = text not in ctx.values or ctx.values[text] != value
        ctx.values[text] = value
        m = self.mapping
        if text == m.status.node:
            ctx.state = value
        elif text == m.status.phase:
            if value != ctx.phase:
                ctx.phase = str(value)
                ctx.events.append(Event(t, f"phase:{value}"))
        for rb in m.readbacks:
            if rb.node == text:
                if changed and rb.live:
                    ctx.changed_at[rb.column] = now
                with contextlib.suppress(TypeError, ValueError):
                    ctx.samples.append((t, rb.column, rb.to_canonical(value)))

    async def _write(self, ctx: _Run, client: Client, nodes: dict[str, Any], kind: str, name: str, text: str,
                     value: Any) -> bool:
        entry = {"t_s": round(self._now(ctx), 4), "utc": dt.datetime.now(dt.UTC).isoformat(), "kind": kind,
                 "name": name, "node": text, "value": _ua.plain(value), "ok": False, "error": ""}
        ctx.command_log.append(entry)
        try:
            node, vtype = nodes[text]
            await bounded(node.write_value(_ua.typed(value, vtype)), self.timeout_s)
            entry["ok"] = True
        except Exception as exc:  # every failure is logged with the command
            entry["error"] = f"{type(exc).__name__}: {exc}"
            log.error("write %s %s = %r failed: %s", kind, text, value, entry["error"])
        return bool(entry["ok"])

    async def _resolve(self, client: Client) -> dict[str, tuple[Any, ua.VariantType]]:
        """Every mapped node → (Node, its variant type); a missing node is a RunFaultError."""
        ns = await client.get_namespace_index(self.mapping.tool.namespace_uri)
        texts = [row["node"] for row in self.mapping.node_roles()] + [sw.node for sw in self.mapping.safe_state]
        out: dict[str, tuple[Any, ua.VariantType]] = {}
        for text in dict.fromkeys(texts):
            try:
                if _ua.is_path(text):
                    node = await client.nodes.objects.get_child(_ua.path_elements(text, ns))
                else:
                    node = client.get_node(_ua.node_id(text, ns))
                out[text] = (node, await node.read_data_type_as_variant_type())
            except Exception as exc:
                raise RunFaultError(f"tool {self.mapping.tool.name!r} has no node {text!r} "
                                    f"({type(exc).__name__}); run `sputter-twin tool check`") from None
        return out

    # -- the run ----------------------------------------------------------------------------------------------------
    async def _run(self, recipe: Recipe) -> RunResult:
        loop = asyncio.get_running_loop()
        ctx = _Run(recipe, loop.time())
        self.command_log = ctx.command_log
        self._status = ToolStatus.RUNNING
        client = Client(self.endpoint, timeout=self.timeout_s)
        heartbeat: asyncio.Task | None = None
        nodes: dict[str, Any] = {}
        try:
            try:
                await bounded(client.connect(), self.timeout_s + 1)
            except Exception as exc:
                raise _Stop(RunFaultError, "connect", f"cannot connect to {self.endpoint}: {exc}", safe=False) from None
            nodes = await self._resolve(client)
            await self._preflight(ctx, nodes, recipe)
            self._check_cancel_and_watchdog(ctx)
            await self._write_setpoints(ctx, client, nodes, recipe)
            by_id = {node.nodeid: text for text, (node, _vt) in nodes.items()}
            sub = await client.create_subscription(self.mapping.tool.publish_ms, _Handler(self, ctx, by_id))
            watch = [self.mapping.status.node, self.mapping.status.phase] + [rb.node for rb in self.mapping.readbacks]
            watch += [a.node for a in self.mapping.alarms] + [i.node for i in self.mapping.interlocks]
            await sub.subscribe_data_change([nodes[t][0] for t in dict.fromkeys(watch) if t])
            await self._wait_for(ctx, lambda: self.mapping.status.node in ctx.values, self.timeout_s,
                                 "no data from the tool's subscription")
            ctx.last_ok = loop.time()
            heartbeat = asyncio.create_task(self._heartbeat(ctx, client))
            if not await self._write(ctx, client, nodes, "command", "start", self.mapping.commands.start, True):
                raise _Stop(RunFaultError, "start", "the start command was not accepted")
            st = self.mapping.status
            await self._wait_for(ctx, lambda: ctx.state == st.running, self.mapping.tool.start_timeout_s,
                                 f"the tool did not report running ({st.running!r}) after the start command")
            ctx.events.append(Event(self._now(ctx), "start"))
            await self._follow(ctx)
            result = await self._finish(ctx, nodes)
            self._status = ToolStatus.IDLE
            return result
        except _Stop as stop:
            # anything written (setpoints, start) is undone by the abort command and the safe state
            attempted = stop.safe and bool(ctx.command_log)
            safe = await self._safe(ctx, client, nodes, stop.reason == "connection_lost") if attempted else False
            self._status = ToolStatus.ABORTED if stop.cls is RunAbortedError else ToolStatus.FAULT
            if stop.reason == "connection_lost":
                self._status = ToolStatus.DISCONNECTED
            msg = stop.message
            if attempted:
                msg += "; safe state written" if safe else "; SAFE STATE NOT CONFIRMED: check the tool"
            err = stop.cls(f"{self.name}: {msg}")
            raise err.attach(telemetry=self._telemetry(ctx), command_log=ctx.command_log,
                             safe_state_written=safe or not ctx.command_log, reason=stop.reason) from None
        except RunFaultError as err:
            self._status = ToolStatus.FAULT
            raise err.attach(telemetry=self._telemetry(ctx), command_log=ctx.command_log, safe_state_written=False,
                             reason="tool") from None
        except (RecipeError, InputError):
            self._status = ToolStatus.IDLE
            raise
        except Exception as exc:  # an OPC UA failure we did not foresee: stop safely all the same
            log.exception("run on %s failed", self.name)
            safe = await self._safe_standalone(ctx) if ctx.command_log else True
            self._status = ToolStatus.FAULT
            err = RunFaultError(f"{self.name}: {type(exc).__name__}: {exc}"
                                + ("; safe state written" if safe else "; SAFE STATE NOT CONFIRMED: check the tool"))
            raise err.attach(telemetry=self._telemetry(ctx), command_log=ctx.command_log, safe_state_written=safe,
                             reason="error") from exc
        finally:
            if heartbeat is not None:
                heartbeat.cancel()
            await self._hang_up(client)

    @staticmethod
    async def _hang_up(client: Client) -> None:
        """Disconnect, bounded: a server that does not answer gets its socket closed."""
        try:
            await bounded(client.disconnect(), 1.0)
        except BaseException:  # whatever happened, close the socket
            with contextlib.suppress(BaseException):
                client.disconnect_socket()

    async def _wait_for(self, ctx: _Run, cond: Any, timeout: float, what: str) -> None:
        loop = asyncio.get_running_loop()
        end = loop.time() + timeout
        while not cond():
            self._check_cancel_and_watchdog(ctx)
            if loop.time() > end:
                raise _Stop(RunFaultError, "timeout", what)
            await asyncio.sleep(_POLL_S)

    async def _preflight(self, ctx: _Run, nodes: dict[str, Any], recipe: Recipe) -> None:
        """State, alarms, interlocks, published limits: read only, nothing written."""
        m = self.mapping
        state = await nodes[m.status.node][0].read_value()
        if state in (m.status.running,):
            raise _Stop(RunFaultError, "busy", f"the tool is busy (state {state!r})", safe=False)
        for al in m.alarms:
            if await nodes[al.node][0].read_value():
                raise _Stop(RunInterlockError, "alarm", f"alarm {al.name!r} is active; nothing was written",
                            safe=False)
        for il in m.interlocks:
            value = await nodes[il.node][0].read_value()
            if not il.is_ok(value):
                raise _Stop(RunInterlockError, "interlock", f"interlock {il.name!r} is open (value {value!r}); "
                            "nothing was written", safe=False)
        published: dict[str, tuple[float, float]] = {}
        for lim in m.limits:
            lo = await nodes[lim.min_node][0].read_value() if lim.min_node else lim.min
            hi = await nodes[lim.max_node][0].read_value() if lim.max_node else lim.max
            if lim.min_node or lim.max_node:
                published[lim.field] = lim.to_recipe_units(float(lo), float(hi))
        m.check_recipe(recipe, published)

    async def _write_setpoints(self, ctx: _Run, client: Client, nodes: dict[str, Any], recipe: Recipe) -> None:
        writes = self.mapping.setpoint_writes(recipe)
        for sp, raw in writes:
            self._check_cancel_and_watchdog(ctx)
            if not await self._write(ctx, client, nodes, "setpoint", sp.field, sp.node, raw):
                raise _Stop(RunFaultError, "setpoint", f"writing {sp.field} to {sp.node!r} failed")
        loop = asyncio.get_running_loop()
        end = loop.time() + self.mapping.tool.setpoint_timeout_s
        pending = list(writes)
        while pending:
            still = []
            for sp, raw in pending:
                echo = await nodes[sp.readback or sp.node][0].read_value()
                if not sp.matches(raw, echo):
                    still.append((sp, raw, echo))
            if not still:
                break
            if loop.time() > end:
                sp, raw, echo = still[0]
                raise _Stop(RunFaultError, "setpoint", f"setpoint {sp.field} not confirmed: sent {raw!r} to "
                            f"{sp.node!r}, the tool reads back {echo!r} at {(sp.readback or sp.node)!r}")
            pending = [(sp, raw) for sp, raw, _e in still]
            await asyncio.sleep(_POLL_S)

    async def _heartbeat(self, ctx: _Run, client: Client) -> None:
        loop = asyncio.get_running_loop()
        node = client.get_node(_SERVER_TIME)
        while True:
            try:
                await bounded(node.read_value(), self.watchdog_s / 2)
                ctx.last_ok = loop.time()
            except asyncio.CancelledError:
                raise
            except TimeoutError:  # slow, not gone (TimeoutError is an OSError): the watchdog decides
                log.warning("watchdog: %s did not answer within %g s", self.endpoint, self.watchdog_s / 2)
            except (ConnectionError, OSError) as exc:  # the socket is gone: no need to wait for the watchdog
                ctx.lost = ctx.lost or f"{type(exc).__name__}: {exc}"
            except Exception as exc:
                log.warning("watchdog: %s did not answer (%s)", self.endpoint, type(exc).__name__)
            await asyncio.sleep(self.watchdog_s / 5)

    def _check_cancel_and_watchdog(self, ctx: _Run) -> None:
        if self._cancel:
            raise _Stop(RunAbortedError, "operator", self._cancel)
        why = ""
        if ctx.lost:
            why = ctx.lost
        elif ctx.last_ok and asyncio.get_running_loop().time() - ctx.last_ok > self.watchdog_s:
            why = f"no answer for {self.watchdog_s:g} s"
        if why:
            ctx.events.append(Event(self._now(ctx), "connection_lost"))
            raise _Stop(RunAbortedError, "connection_lost", f"connection to {self.endpoint} lost ({why})")

    async def _follow(self, ctx: _Run) -> None:
        m = self.mapping
        loop = asyncio.get_running_loop()
        end = loop.time() + self.run_timeout_s
        while True:
            self._check_cancel_and_watchdog(ctx)
            now = loop.time()
            for al in m.alarms:
                if ctx.values.get(al.node):
                    ctx.events.append(Event(self._now(ctx), f"alarm:{al.name}"))
                    raise _Stop(RunAlarmError, "alarm", f"alarm {al.name!r} during the run")
            for il in m.interlocks:
                if il.node in ctx.values and not il.is_ok(ctx.values[il.node]):
                    ctx.events.append(Event(self._now(ctx), f"interlock:{il.name}"))
                    raise _Stop(RunAlarmError, "interlock", f"interlock {il.name!r} opened during the run "
                                f"(value {ctx.values[il.node]!r})")
            for rb in m.readbacks:
                if not rb.follows or ctx.phase not in rb.phases or rb.node not in ctx.values:
                    ctx.out_since.pop(rb.column, None)
                    continue
                try:
                    value = rb.to_canonical(ctx.values[rb.node])
                except (TypeError, ValueError):
                    value = math.nan
                if rb.in_tolerance(value, ctx.recipe):
                    ctx.out_since.pop(rb.column, None)
                elif now - ctx.out_since.setdefault(rb.column, now) > self.settle_s:
                    want = " or ".join(f"{f} = {getattr(ctx.recipe, f):g}" for f in rb.follows)
                    ctx.events.append(Event(self._now(ctx), f"readback:{rb.column}"))
                    raise _Stop(RunAbortedError, "readback",
                                f"readback {rb.column} = {value:.4g} out of tolerance ({rb.tolerance:.0%} of {want}) "
                                f"for more than {self.settle_s:g} s in phase {ctx.phase!r} (stuck readback?)")
            self._check_frozen(ctx, now)
            st = m.status
            if ctx.state == st.done:
                return
            if ctx.state in (st.aborted, st.fault, st.idle):
                raise _Stop(RunFaultError, "tool", f"the tool stopped the run itself (state {ctx.state!r})")
            if now > end:
                raise _Stop(RunAbortedError, "timeout", f"the run took longer than {self.run_timeout_s:g} s")
            await asyncio.sleep(_POLL_S)

    def _check_frozen(self, ctx: _Run, now: float) -> None:
        """A live readback that repeats exactly the same value for ``frozen_after_s`` in its phases: the sensor
        stopped measuring (a real one always carries some noise), even if its value is still in tolerance."""
        if not self.frozen_after_s:
            return
        for rb in self.mapping.readbacks:
            if not rb.live or ctx.phase not in rb.phases or rb.column not in ctx.changed_at:
                ctx.live_since.pop(rb.column, None)
                continue
            since = max(ctx.changed_at[rb.column], ctx.live_since.setdefault(rb.column, now))
            if now - since > self.frozen_after_s:
                raw = ctx.values.get(rb.node)
                ctx.events.append(Event(self._now(ctx), f"frozen_readback:{rb.column}"))
                raise _Stop(RunAbortedError, "frozen_readback",
                            f"readback {rb.column} frozen: the same value ({raw!r} at {rb.node!r}) for more than "
                            f"{self.frozen_after_s:g} s in phase {ctx.phase!r}; a live readback always carries "
                            "noise, so the sensor has stopped measuring (frozen readback)")

    async def _finish(self, ctx: _Run, nodes: dict[str, Any]) -> RunResult:
        ctx.events.append(Event(self._now(ctx), "done"))
        measured: dict[str, float] = {}
        for res in self.mapping.results:
            raw = await nodes[res.node][0].read_value()
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
            raise _Stop(RunFaultError, "result", "the tool reported done but no thickness readback: the run is "
                        "not recorded as done", safe=False)
        if "process_time_s" not in measured:
            measured["process_time_s"] = last.get("time_s", self._now(ctx))
        telemetry = self._telemetry(ctx)
        return _result(ctx.recipe, measured, tuple(ctx.events), telemetry, self.name)

    # -- safe state ---------------------------------------------------------------------------------------------------
    async def _safe(self, ctx: _Run, client: Client, nodes: dict[str, Any], reconnect: bool) -> bool:
        """Abort command, then every safe-state write; on a lost connection, one fresh connection is tried."""
        if not reconnect and nodes:
            return await self._safe_writes(ctx, client, nodes)
        return await self._safe_standalone(ctx)

    async def _safe_standalone(self, ctx: _Run) -> bool:
        client = Client(self.endpoint, timeout=min(self.timeout_s, 2.0))
        try:
            await bounded(client.connect(), 2.5)
        except Exception as exc:
            ctx.command_log.append({"t_s": round(self._now(ctx), 4), "utc": dt.datetime.now(dt.UTC).isoformat(),
                                    "kind": "safe_state", "name": "connect", "node": self.endpoint, "value": None,
                                    "ok": False, "error": f"{type(exc).__name__}: {exc}"})
            log.error("cannot reach %s to write the safe state", self.endpoint)
            return False
        try:
            nodes = await self._resolve(client)
            return await self._safe_writes(ctx, client, nodes)
        except Exception:
            log.exception("safe state on a fresh connection failed")
            return False
        finally:
            await self._hang_up(client)

    async def _safe_writes(self, ctx: _Run, client: Client, nodes: dict[str, Any]) -> bool:
        ok = await self._write(ctx, client, nodes, "safe_state", "abort", self.mapping.commands.abort, True)
        for sw in self.mapping.safe_state:
            ok = await self._write(ctx, client, nodes, "safe_state", "safe_state", sw.node, sw.value) and ok
        return ok

    # -- outputs ------------------------------------------------------------------------------------------------------
    def _telemetry(self, ctx: _Run) -> pd.DataFrame:
        """Readbacks as a wide DataFrame (``elapsed_s`` wall-clock seconds since the run began, ``phase``, one
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
            gap = self.mapping.tool.publish_ms / 2000.0
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
        wide.attrs["tool"] = self.name
        wide.attrs["endpoint"] = self.endpoint
        wide.attrs["events"] = [e.to_dict() for e in ctx.events]
        wide.attrs["t0_monotonic"] = ctx.t0
        # time.monotonic() at elapsed_s = 0: event times are relative to it
        return wide


def _result(recipe: Recipe, measured: dict[str, float], events: tuple[Event, ...], telemetry: pd.DataFrame,
            name: str) -> RunResult:
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
