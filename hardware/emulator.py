"""An OPC UA server on 127.0.0.1 that emulates a sputter tool with the twin, shaped by a mapping file.

The emulator creates every node a mapping names (setpoints and their echoes, commands, state and phase,
readbacks, alarms, interlocks, published limits, results, safe-state actuators), so a second mapping with other
node names and units gives another tool without code change. On the start command it reads its setpoints
(tool units → recipe), refuses a recipe outside its limits or with an open interlock (state ``fault``), runs the
twin (:class:`twin.SimulatedTool` with telemetry, so chamber state carries over between runs) and plays the
telemetry back on the readbacks, time scaled by ``speed`` (600: one hour of process in six seconds). Live
readbacks (pressure, forward power: ``live`` in the mapping) carry seeded Gaussian noise of ``noise`` (relative
σ, 0.2 % by default) at every tick, as a real gauge does; the twin's telemetry itself is noise-free.

The tool's behaviour (state machine, echoes, jobs, methods, playback, alarms, faults) is
:class:`hardware.tool_model.ToolModel`, which :class:`hardware.memory_backend.MemoryTransport` also holds on
simulated time; this module serves it over OPC UA. Playback here follows the wall clock (``loop.time()``): this is
an emulated real tool, not a simulation; the twin itself never sees the clock. Commands that the mapping gives as
methods (``{ method, object }``) and a ``[job]``'s store and read methods are served as OPC UA methods.

Faults (:data:`hardware.emulator_faults.FAULTS`: ``alarm[:NAME]``, ``stuck:COLUMN``, ``frozen:COLUMN``,
``interlock[:NAME]``, ``disconnect``, ``freeze[:SECONDS]``, ``busy[:STATE]``, ``badjob[:PARAMETER]``, ``kill``,
``clear``) are injected on request
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

from asyncua import Server, ua
from asyncua.common.callback import CallbackType

from hardware import _ua
from hardware.emulator_address_space import build_address_space
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
from hardware.tool_model import ToolModel
from twin.chamber import Chamber

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
        self.model = ToolModel(mapping, chamber, speed=speed, seed=seed, noise=noise, faults=faults,
                               published_limits=published_limits)
        self.model.on_link_fault = self._link_fault
        self.host, self.port, self.speed, self.tick_s = host, port, float(speed), tick_s
        self.allow_exit = allow_exit
        self.security = security
        """Secure endpoints only (:func:`hardware.security_server.serve_secure`); ``None``: one endpoint without
        security, as a bare PLC on a lab network serves."""
        self.server: Server | None = None
        self._nodes: dict[str, Any] = {}
        self._vtypes: dict[str, ua.VariantType] = {}
        self._by_id: dict[ua.NodeId, str] = {}
        self._task: asyncio.Task | None = None
        self._ns = 0

    @property
    def write_log(self) -> list[dict[str, Any]]:
        """Every client write and method call (``time_s``, ``node``, ``value``, ``ok``)."""
        return self.model.write_log

    @property
    def fault_log(self) -> list[tuple[float, str]]:
        """Faults injected: (``time.monotonic()``, spec)."""
        return self.model.fault_log

    @property
    def runs(self) -> list[Any]:
        """RunResults of the runs started, in order."""
        return self.model.runs

    @property
    def extras(self) -> list[dict[str, Any]]:
        """The extra variables' values at each run's start (tool units divided by scale), in run order."""
        return self.model.extras

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
        space = await build_address_space(self.server, self._ns, self.mapping, self.model.values, self._call)
        self._nodes, self._vtypes, self._by_id = space.nodes, space.vtypes, space.by_id
        self._fault_node, self._log_node = space.fault_node, space.log_node
        self.server.subscribe_server_callback(CallbackType.PostWrite, self._on_write)
        await self.server.start()
        self.port = self.server.bserver.port
        self.model.t0 = asyncio.get_running_loop().time()
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
    async def _flush(self) -> None:
        """Publish the model's changes on the server (not logged: only client writes are)."""
        for text, value in self.model.drain():
            if text not in self._nodes or self.server is None:
                continue
            await self.server.write_attribute_value(self._nodes[text].nodeid,
                                                    ua.DataValue(_ua.typed(value, self._vtypes[text])))

    async def _get(self, text: str) -> Any:
        return await self._nodes[text].read_value()

    def _now(self) -> float:
        return asyncio.get_running_loop().time()

    # -- clients ------------------------------------------------------------------------------------------------
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
            self.model.client_write(text, wv.Value.Value.Value, self._now(), ok)
            await self._flush()
        await self._publish_log()

    async def _call(self, method: str, args: list[Any]) -> list[Any]:
        """A client called one of the tool's methods; its outputs (a refusal is BadInvalidArgument)."""
        try:
            out = self.model.client_call(method, args, self._now())
        except (ValueError, TypeError) as exc:
            log.warning("method %s refused: %s", method, exc)
            raise ua.UaStatusCodeError(ua.StatusCodes.BadInvalidArgument) from None
        finally:
            await self._flush()
            await self._publish_log()
        return out

    async def _publish_log(self) -> None:
        if self.server is not None:
            await self.server.write_attribute_value(self._log_node.nodeid, ua.DataValue(
                ua.Variant(json.dumps(self.model.write_log), ua.VariantType.String)))

    # -- playback ---------------------------------------------------------------------------------------------
    async def _loop(self) -> None:
        while True:
            await asyncio.sleep(self.tick_s)
            try:
                self.model.tick(self._now())
                await self._flush()
            except Exception:  # keep serving; a broken tick must not kill the server
                log.exception("emulator tick failed")

    # -- faults -----------------------------------------------------------------------------------------------
    def inject(self, spec: str) -> None:
        """Inject a fault from another coroutine of the same loop's thread: schedules :meth:`_inject`."""
        check_spec(spec)
        asyncio.get_running_loop().create_task(self._inject(spec))

    async def _inject(self, spec: str) -> None:
        self.model.inject(spec, self._now())
        await self._flush()

    def _link_fault(self, kind: str, target: str) -> None:
        getattr(self, f"_fault_{kind}")(target)

    def _fault_disconnect(self, target: str) -> None:
        for transport in list(self.server.iserver.asyncio_transports):
            transport.close()

    def _fault_freeze(self, target: str) -> None:
        time.sleep(float(target or 8.0))  # deliberately block the server's event loop: a hung controller

    def _fault_kill(self, target: str) -> None:
        if self.allow_exit:
            os._exit(3)
        self.model.halt()
        asyncio.get_running_loop().create_task(self.stop())


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
