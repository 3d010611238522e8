"""An OPC UA server on 127.0.0.1 that emulates a sputter tool with the twin, shaped by a mapping file.

The emulator creates every node a mapping names (setpoints and their echoes, commands, state and phase,
readbacks, alarms, interlocks, published limits, results, safe-state actuators), so a second mapping with other
node names and units gives another tool without code change. On the start command it reads its setpoints
(tool units → recipe), refuses a recipe outside its limits or with an open interlock (state ``fault``), runs the
twin (:class:`twin.SimulatedTool` with telemetry, so chamber state carries over between runs) and plays the
telemetry back on the readbacks, time scaled by ``speed`` (600: one hour of process in six seconds). Live
readbacks (pressure, forward power: ``live`` in the mapping) carry seeded Gaussian noise of ``noise`` (relative
σ, 0.2 % by default) at every tick, as a real gauge does; the twin's telemetry itself is noise-free.

Playback follows the wall clock (``loop.time()``): this is an emulated real tool, not a simulation; the twin
itself never sees the clock.

Faults (:data:`hardware.emulator_faults.FAULTS`: ``alarm[:NAME]``, ``stuck:COLUMN``, ``frozen:COLUMN``,
``interlock[:NAME]``, ``disconnect``, ``freeze[:SECONDS]``, ``kill``, ``clear``) are injected on request
(:meth:`Emulator.inject`, the writable ``s=Emulator.Fault`` node) or scheduled with
``FAULT@PHASE[+SECONDS]`` (:class:`~hardware.emulator_faults.ScheduledFault`).

With ``security=`` (:class:`~hardware.security_server.ServerSecurity`) the emulator serves secure endpoints only:
the policies and modes given, its own certificate, client certificates checked against a trust list, users with
passwords (:func:`~hardware.security_server.serve_secure`, which any emulator profile can call).

Every value a client writes is kept in :attr:`Emulator.write_log` and published as JSON in
``s=Emulator.WriteLog``. The address space is built by :mod:`hardware.emulator_address_space`; the faults, their
check and :class:`ScheduledFault` live in :mod:`hardware.emulator_faults` and stay importable from here.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import os
import threading
import time
from typing import Any

import numpy as np
from asyncua import Server, ua
from asyncua.common.callback import CallbackType

from hardware import _ua
from hardware.emulator_address_space import build_address_space, ok_number
from hardware.emulator_faults import (
    FAULT_FORMS,
    FAULT_KINDS,
    FAULTS,
    EmulatorError,
    FaultKind,
    ScheduledFault,
    check_spec,
)
from hardware.mapping import Mapping
from hardware.security_server import ServerSecurity, serve_secure
from twin.chamber import Chamber
from twin.errors import InputError
from twin.tool import SimulatedTool

__all__ = ["FAULTS", "FAULT_FORMS", "FAULT_KINDS", "Emulator", "EmulatorError", "EmulatorThread", "FaultKind",
           "ScheduledFault", "check_spec"]

log = logging.getLogger(__name__)


class Emulator:
    """The emulated tool; ``await start()`` inside a running event loop, ``await stop()`` to end."""

    def __init__(self, mapping: Mapping, chamber: Chamber | None = None, *, host: str = "127.0.0.1",
                 port: int = 0, speed: float = 600.0, seed: int = 0, tick_s: float = 0.02,
                 faults: tuple[ScheduledFault, ...] = (), published_limits: dict[str, float] | None = None,
                 allow_exit: bool = False, noise: float = 0.002, security: ServerSecurity | None = None) -> None:
        if not speed > 0:
            raise EmulatorError("--speed", speed, "must be positive", "> 0")
        if not 0 <= noise <= 0.05:
            raise EmulatorError("noise", noise, "relative σ of the live readbacks out of range", "[0, 0.05]")
        self.mapping = mapping
        self.tool = SimulatedTool(chamber, seed=seed, telemetry=True, name="emulator")
        self.host, self.port, self.speed, self.tick_s = host, port, float(speed), tick_s
        self.noise = float(noise)
        self._rng = np.random.default_rng((seed, 1))  # the noise's own stream: the twin's runs do not change
        self.faults = list(faults)
        self.published_limits = dict(published_limits or {})
        self.allow_exit = allow_exit
        self.security = security
        """Secure endpoints only (:func:`hardware.security_server.serve_secure`); ``None``: one endpoint without
        security, as a bare PLC on a lab network serves."""
        self.write_log: list[dict[str, Any]] = []
        self.fault_log: list[tuple[float, str]] = []
        """Faults injected: (``time.monotonic()``, spec)."""
        self.runs: list[Any] = []
        """RunResults of the runs started, in order."""
        self.server: Server | None = None
        self._nodes: dict[str, Any] = {}
        self._vtypes: dict[str, ua.VariantType] = {}
        self._by_id: dict[ua.NodeId, str] = {}
        self._stuck: set[str] = set()
        self._frozen: dict[str, Any] = {}
        """Frozen readback column → the raw value it keeps publishing."""
        self._play: dict[str, Any] | None = None
        self._task: asyncio.Task | None = None
        self._ns = 0
        self._t0 = 0.0

    # -- lifecycle -----------------------------------------------------------------------------------------
    @property
    def endpoint(self) -> str:
        return f"opc.tcp://{self.host}:{self.port}/sputter-twin/"

    async def start(self) -> None:
        self.server = Server()
        await self.server.init()
        self.server.set_endpoint(f"opc.tcp://{self.host}:{self.port}/sputter-twin/")
        self.server.set_server_name(f"sputter-twin emulator ({self.mapping.tool.name})")
        if self.security is not None:
            await serve_secure(self.server, self.security)
        self._ns = await self.server.register_namespace(self.mapping.tool.namespace_uri)
        space = await build_address_space(self.server, self._ns, self.mapping, self.published_limits)
        self._nodes, self._vtypes, self._by_id = space.nodes, space.vtypes, space.by_id
        self._fault_node, self._log_node = space.fault_node, space.log_node
        self.server.subscribe_server_callback(CallbackType.PostWrite, self._on_write)
        await self.server.start()
        self.port = self.server.bserver.port
        self._t0 = asyncio.get_running_loop().time()
        self._task = asyncio.create_task(self._loop())
        log.info("emulating %s on %s", self.mapping.tool.name, self.endpoint)

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None
        if self.server is not None:
            server, self.server = self.server, None
            with contextlib.suppress(Exception):
                await server.stop()

    # -- nodes --------------------------------------------------------------------------------------------------
    async def _set(self, text: str, value: Any) -> None:
        """Write a node's value on the server side (not logged: only client writes are)."""
        if text not in self._nodes or self.server is None:
            return
        await self.server.write_attribute_value(self._nodes[text].nodeid,
                                                ua.DataValue(_ua.typed(value, self._vtypes[text])))

    async def _get(self, text: str) -> Any:
        return await self._nodes[text].read_value()

    # -- client writes ----------------------------------------------------------------------------------------
    async def _on_write(self, event: Any, _dispatcher: Any) -> None:
        if not getattr(event, "is_external", True):
            return
        results = event.response_params or []
        for i, wv in enumerate(event.request_params.NodesToWrite):
            ok = i >= len(results) or results[i].is_good()
            if wv.NodeId == self._fault_node.nodeid:
                spec = str(wv.Value.Value.Value or "")
                try:
                    check_spec(spec)
                except EmulatorError as exc:
                    log.warning("fault request ignored: %s", exc)
                    continue
                if ok:
                    await self._inject(spec)
                continue
            text = self._by_id.get(wv.NodeId)
            if text is None:
                continue
            value = wv.Value.Value.Value
            self.write_log.append({"time_s": self._now(), "node": text, "value": _ua.plain(value), "ok": ok})
            if ok:
                await self._react(text, value)
        await self.server.write_attribute_value(self._log_node.nodeid,
                                                ua.DataValue(ua.Variant(json.dumps(self.write_log),
                                                                        ua.VariantType.String)))

    async def _react(self, text: str, value: Any) -> None:
        m = self.mapping
        if text == m.commands.start and value:
            await self._set(text, False)
            await self._start_run()
        elif text == m.commands.abort and value:
            await self._set(text, False)
            if self._play is not None:
                self._play = None
                await self._set(m.status.node, m.status.aborted)
                if m.status.phase:
                    await self._set(m.status.phase, "aborted")
        else:
            for sp in m.setpoints:
                if sp.node == text and sp.readback and sp.readback != sp.node and sp.field not in self._stuck:
                    await self._set(sp.readback, value)

    async def _start_run(self) -> None:
        m = self.mapping
        if self._play is not None:
            log.warning("start refused: a run is going on")
            return
        try:
            recipe = m.recipe_from_tool({sp.node: await self._get(sp.node) for sp in m.setpoints})
            published = {}
            for lim in m.limits:
                lo = self.published_limits.get(f"{lim.field}.min", lim.min)
                hi = self.published_limits.get(f"{lim.field}.max", lim.max)
                published[lim.field] = lim.to_recipe_units(lo, hi)
            m.check_recipe(recipe, published)
            self.tool.check(recipe)
        except InputError as exc:
            log.warning("start refused: %s", exc)
            await self._set(m.status.node, m.status.fault)
            return
        for il in m.interlocks:
            if not il.is_ok(await self._get(il.node)):
                log.warning("start refused: interlock %s open", il.name)
                await self._set(m.status.node, m.status.fault)
                return
        for al in m.alarms:
            if await self._get(al.node):
                log.warning("start refused: alarm %s", al.name)
                await self._set(m.status.node, m.status.fault)
                return
        result = self.tool.run(recipe)
        self.runs.append(result)
        df = result.telemetry
        self._play = {"t0": asyncio.get_running_loop().time(), "result": result, "time": df["time_s"].to_numpy(),
                      "df": df, "end": result.process_time_s, "phase": None, "phase_t0": 0.0,
                      "pending": [f for f in self.faults]}
        for res in m.results:
            await self._set(res.node, float("nan"))
        for sw in m.safe_state:
            if isinstance(sw.value, bool):
                await self._set(sw.node, not sw.value)
        await self._set(m.status.node, m.status.running)
        log.info("run %d started: %s", len(self.runs), recipe)

    # -- playback ---------------------------------------------------------------------------------------------
    async def _loop(self) -> None:
        loop = asyncio.get_running_loop()
        while True:
            await asyncio.sleep(self.tick_s)
            play = self._play
            if play is None:
                continue
            try:
                await self._tick(play, (loop.time() - play["t0"]) * self.speed)
            except Exception:  # keep serving; a broken tick must not kill the server
                log.exception("emulator tick failed")

    async def _tick(self, play: dict[str, Any], t: float) -> None:
        m = self.mapping
        df = play["df"]
        if t >= play["end"]:
            await self._finish(play)
            return
        i = max(int(np.searchsorted(play["time"], t, side="right")) - 1, 0)
        row = df.iloc[i]
        phase = str(row["phase"])
        if phase != play["phase"]:
            play["phase"], play["phase_t0"] = phase, t
            if m.status.phase:
                await self._set(m.status.phase, phase)
        for f in list(play["pending"]):
            if f.phase == play["phase"] and t >= play["phase_t0"] + f.delay_s:
                play["pending"].remove(f)
                await self._inject(f.spec)
                if self._play is None:
                    return
        for rb in m.readbacks:
            if rb.column in self._stuck:
                continue
            if rb.column in self._frozen:
                await self._set(rb.node, self._frozen[rb.column])
            elif rb.column == "time_s":
                await self._set(rb.node, rb.from_canonical(t))
            elif rb.column in df.columns:
                value = float(row[rb.column])
                if rb.live and self.noise:
                    value *= 1.0 + self.noise * float(self._rng.standard_normal())
                await self._set(rb.node, rb.from_canonical(value))

    async def _finish(self, play: dict[str, Any]) -> None:
        m = self.mapping
        res = play["result"]
        for node in m.results:
            await self._set(node.node, node.from_canonical(float(getattr(res, node.field))))
        if m.status.phase:
            await self._set(m.status.phase, "done")
        self._play = None
        await self._set(m.status.node, m.status.done)

    # -- faults -----------------------------------------------------------------------------------------------
    def inject(self, spec: str) -> None:
        """Inject a fault from another coroutine of the same loop's thread: schedules :meth:`_inject`."""
        check_spec(spec)
        asyncio.get_running_loop().create_task(self._inject(spec))

    async def _inject(self, spec: str) -> None:
        kind, _, target = spec.partition(":")
        log.warning("fault injected: %s", spec)
        self.fault_log.append((time.monotonic(), spec))
        await getattr(self, f"_fault_{kind}")(target)

    async def _fault_alarm(self, target: str) -> None:
        for al in self.mapping.alarms:
            if not target or al.name == target:
                await self._set(al.node, True)

    async def _fault_stuck(self, target: str) -> None:
        self._stuck.add(target)

    async def _fault_frozen(self, target: str) -> None:
        for rb in self.mapping.readbacks:
            if rb.column == target:
                self._frozen[target] = await self._get(rb.node)
        if target not in self._frozen:
            log.warning("frozen: no readback column %r in the mapping", target)

    async def _fault_interlock(self, target: str) -> None:
        for il in self.mapping.interlocks:
            if not target or il.name == target:
                await self._set(il.node, il.bad_value())

    async def _fault_disconnect(self, target: str) -> None:
        for transport in list(self.server.iserver.asyncio_transports):
            transport.close()

    async def _fault_freeze(self, target: str) -> None:
        time.sleep(float(target or 8.0))  # deliberately block the server's event loop: a hung controller

    async def _fault_kill(self, target: str) -> None:
        if self.allow_exit:
            os._exit(3)
        self._play = None
        await self.stop()

    async def _fault_clear(self, target: str) -> None:
        m = self.mapping
        self._stuck.clear()
        self._frozen.clear()
        for al in m.alarms:
            await self._set(al.node, False)
        for il in m.interlocks:
            await self._set(il.node, il.ok if il.ok is not None else ok_number(il))

    def _now(self) -> float:
        return asyncio.get_running_loop().time() - self._t0


class EmulatorThread:
    """An :class:`Emulator` in a background thread with its own event loop (for tests and notebooks).

    >>> from hardware.mapping import Mapping
    >>> m = Mapping.from_toml("examples/hardware/rf_a_si.toml")
    >>> with EmulatorThread(m, speed=1000) as emu:
    ...     emu.endpoint.startswith("opc.tcp://127.0.0.1:")
    True
    """

    def __init__(self, mapping: Mapping, chamber: Chamber | None = None, **kwargs: Any) -> None:
        self.emulator = Emulator(mapping, chamber, **kwargs)
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, name="opcua-emulator", daemon=True)

    def start(self) -> EmulatorThread:
        self._thread.start()
        asyncio.run_coroutine_threadsafe(self.emulator.start(), self._loop).result(timeout=30)
        return self

    def stop(self) -> None:
        if self._thread.is_alive():
            with contextlib.suppress(Exception):
                asyncio.run_coroutine_threadsafe(self.emulator.stop(), self._loop).result(timeout=30)
            self._loop.call_soon_threadsafe(self._loop.stop)
            self._thread.join(timeout=10)
        if not self._thread.is_alive():
            self._loop.close()

    def __enter__(self) -> EmulatorThread:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    @property
    def endpoint(self) -> str:
        return self.emulator.endpoint

    def inject(self, spec: str) -> None:
        """Inject a fault now (thread-safe)."""
        check_spec(spec)
        asyncio.run_coroutine_threadsafe(self.emulator._inject(spec), self._loop).result(timeout=10)

    def read(self, text: str) -> Any:
        """Current value of a mapped node (thread-safe)."""
        return asyncio.run_coroutine_threadsafe(self.emulator._get(text), self._loop).result(timeout=10)

    @property
    def write_log(self) -> list[dict[str, Any]]:
        return list(self.emulator.write_log)
