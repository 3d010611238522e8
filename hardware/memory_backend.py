"""An in-memory tool on simulated time: :class:`MemoryTool` holds the emulated tool (:class:`~hardware.tool_model.
ToolModel`, the same one the OPC UA emulator serves) and a simulated clock; :class:`MemoryTransport` is the
:class:`~hardware.transport.Transport` the run procedure uses to reach it.

Time passes only when the procedure waits (:meth:`MemoryTransport.sleep`, or a request to a hung tool that runs
into its timeout), in steps of ``tick_s``: the tool plays its run back, changes are delivered to the subscription,
and the watchdog's heartbeat is answered unless the tool hangs. A whole run of the procedure therefore takes
milliseconds of wall time, and every duration a test asserts (the watchdog caught a hung tool within 5 s, a
frozen readback after ``frozen_after_s``) is exact and independent of how busy the machine is.

Faults are the emulator's (:data:`hardware.emulator_faults.FAULTS`); the connection's are simulated here:
``disconnect`` drops every session, ``freeze:S`` leaves requests and heartbeats unanswered for S seconds,
``kill`` drops every session and refuses new ones.

>>> from hardware.mapping import Mapping
>>> tool = MemoryTool(Mapping.from_toml("examples/hardware/rf_a_si.toml"))
>>> tool.now(), tool.read("s=Status.State")
(0.0, 'IDLE')
"""

from __future__ import annotations

import asyncio
import math
from collections.abc import Sequence
from typing import Any

from hardware.emulator_faults import ScheduledFault
from hardware.mapping import Mapping
from hardware.tool_model import ToolModel, commands_of, writable_nodes
from hardware.transport import NoSuchAddress, OnChange
from twin.chamber import Chamber


class MemoryTool:
    """The tool's side: the model, the simulated clock, the sessions and the state of the link.

    Parameters
    ----------
    speed : float
        Process seconds per simulated second.
    tick_s : float, optional
        Step of the simulated clock [s]; by default the mapping's publishing interval, so that each step's changes
        arrive as one publish does.
    """

    def __init__(self, mapping: Mapping, chamber: Chamber | None = None, *, speed: float = 600.0, seed: int = 0,
                 noise: float = 0.002, faults: tuple[ScheduledFault, ...] = (),
                 published_limits: dict[str, float] | None = None, tick_s: float | None = None) -> None:
        self.mapping = mapping
        self.model = ToolModel(mapping, chamber, speed=speed, seed=seed, noise=noise, faults=faults,
                               published_limits=published_limits)
        self.model.on_link_fault = self._link_fault
        self.tick_s = tick_s if tick_s is not None else mapping.tool.publish_ms / 1000.0
        self.t = 0.0
        self.hung_until = -math.inf
        self.killed = False
        self.sessions: list[MemoryTransport] = []
        self._known = set(self.model.values) | {a for c in commands_of(mapping) for a in (c.method, c.object) if a}
        self._writable = writable_nodes(mapping)

    # -- what tests read --------------------------------------------------------------------------------------
    def now(self) -> float:
        """The simulated clock [s]."""
        return self.t

    def read(self, text: str) -> Any:
        return self.model.values[text]

    @property
    def write_log(self) -> list[dict[str, Any]]:
        return list(self.model.write_log)

    @property
    def fault_log(self) -> list[tuple[float, str]]:
        """Faults injected: (simulated time, spec)."""
        return self.model.fault_log

    @property
    def runs(self) -> list[Any]:
        return self.model.runs

    def inject(self, spec: str) -> None:
        """Inject a fault now."""
        self.model.inject(spec, self.t)
        self._publish()

    def transport(self) -> MemoryTransport:
        """A new, unconnected session to this tool."""
        return MemoryTransport(self)

    # -- time ---------------------------------------------------------------------------------------------------
    @property
    def hung(self) -> bool:
        return self.t < self.hung_until

    def advance(self, seconds: float) -> None:
        """Let ``seconds`` of simulated time pass, in steps of ``tick_s``."""
        end = self.t + seconds
        while self.t < end - 1e-12:
            self.t = min(self.t + self.tick_s, end)
            self.model.tick(self.t)
            self._publish()
            for s in self.sessions:
                s._beat(self.t, self.hung)

    def wait_answer(self, timeout_s: float) -> None:
        """A request: answered at once, or, while the tool hangs, after it recovers (TimeoutError past
        ``timeout_s``)."""
        if self.hung:
            if self.hung_until - self.t > timeout_s:
                self.advance(timeout_s)
                raise TimeoutError(f"no answer within {timeout_s:g} s")
            self.advance(self.hung_until - self.t)

    def _publish(self) -> None:
        changes = self.model.drain()
        if changes and not self.hung:
            for s in list(self.sessions):
                s._deliver(changes)
        elif changes:  # a hung tool publishes nothing; its values are read again when it recovers
            for s in self.sessions:
                s._missed.extend(changes)

    def _link_fault(self, kind: str, target: str) -> None:
        if kind == "freeze":
            self.hung_until = self.t + float(target or 8.0)
            return
        if kind == "kill":
            self.killed = True
            self.model.halt()
        for s in list(self.sessions):
            s._drop("ConnectionResetError: the tool closed the connection")


class MemoryTransport:
    """A session with a :class:`MemoryTool` (the :class:`~hardware.transport.Transport` protocol)."""

    def __init__(self, tool: MemoryTool) -> None:
        self.tool = tool
        self.address = "memory://" + tool.mapping.tool.name
        self.connected = False
        self.lost = ""
        self.last_ok = 0.0
        self._period = 0.0
        self._next_beat = math.inf
        self._subs: list[tuple[set[str], OnChange]] = []
        self._missed: list[tuple[str, Any]] = []

    def now(self) -> float:
        return self.tool.t

    async def sleep(self, seconds: float) -> None:
        self.tool.advance(seconds)
        await asyncio.sleep(0)

    async def connect(self, timeout_s: float) -> None:
        if self.tool.killed:
            raise ConnectionRefusedError(f"{self.address} refuses connections")
        self.tool.wait_answer(timeout_s)
        self.connected, self.lost = True, ""
        self.tool.sessions.append(self)

    async def resolve(self, addresses: Sequence[str], timeout_s: float) -> None:
        self._request(timeout_s)
        for a in addresses:
            if a not in self.tool._known:
                raise NoSuchAddress(a)

    async def read(self, address: str, timeout_s: float) -> Any:
        self._request(timeout_s)
        return self.tool.model.values[address]

    async def write(self, address: str, value: Any, timeout_s: float) -> None:
        self._request(timeout_s)
        if address not in self.tool._writable:
            raise PermissionError(f"BadNotWritable: {address}")
        self.tool.model.client_write(address, value, self.tool.t)
        self.tool._publish()

    async def call(self, obj: str, method: str, args: Sequence[Any], timeout_s: float) -> list[Any]:
        self._request(timeout_s)
        try:
            return self.tool.model.client_call(method, list(args), self.tool.t)
        finally:
            self.tool._publish()

    async def subscribe(self, addresses: Sequence[str], on_change: OnChange, publish_ms: float) -> None:
        self._request(4.0)
        wanted = set(addresses)
        self._subs.append((wanted, on_change))
        for a in addresses:
            on_change(a, self.tool.model.values[a])

    async def start_watchdog(self, watchdog_s: float) -> None:
        self.last_ok = self.tool.t
        self._period = watchdog_s / 5
        self._next_beat = self.tool.t + self._period

    def liveness(self) -> tuple[float, str]:
        return self.last_ok, self.lost

    async def close(self) -> None:
        if self in self.tool.sessions:
            self.tool.sessions.remove(self)
        self.connected = False

    def fresh(self) -> MemoryTransport:
        return MemoryTransport(self.tool)

    # -- the tool's side ----------------------------------------------------------------------------------------
    def _request(self, timeout_s: float) -> None:
        if not self.connected:
            raise ConnectionResetError(self.lost or f"not connected to {self.address}")
        self.tool.wait_answer(timeout_s)
        if self._missed:  # the tool recovered: what changed meanwhile arrives now
            missed, self._missed = self._missed, []
            self._deliver(missed)

    def _deliver(self, changes: list[tuple[str, Any]]) -> None:
        for text, value in changes:
            for wanted, on_change in self._subs:
                if text in wanted:
                    on_change(text, value)

    def _beat(self, t: float, hung: bool) -> None:
        if t >= self._next_beat:
            if not hung:
                self.last_ok = t
                if self._missed:
                    missed, self._missed = self._missed, []
                    self._deliver(missed)
            self._next_beat += self._period

    def _drop(self, why: str) -> None:
        self.connected = False
        self.lost = why
        if self in self.tool.sessions:
            self.tool.sessions.remove(self)
