"""The small protocol between the run procedure and a tool: read, write, call, subscribe, and the clock.

:mod:`hardware.procedure` writes the run once (pre-flight → setpoints or job → follow → safe state) over a
:class:`Transport`; each protocol is a backend, as ophyd-async separates a device's logic from its
``SignalBackend``. :class:`hardware.opcua_transport.OpcUaTransport` talks OPC UA (asyncua);
:class:`hardware.memory_backend.MemoryTransport` holds an emulated tool in memory and runs on simulated time, so
the procedure's tests are fast and free of wall-clock races. A SECS/GEM or Modbus backend implements the same
methods (addresses are then SVIDs/ECIDs or registers) and reuses the procedure, its checks and its safe state.

Addresses are the mapping's node texts. Every method that waits takes ``timeout_s`` and raises
:class:`TimeoutError` when the tool did not answer in time: the backend bounds its own waits, on its own clock.
A backend whose connection is secured (OPC UA's ``[security]`` table, :mod:`hardware.security_client`) raises
:class:`SecurityRefused` from :meth:`Transport.connect` when the tool or the adapter refused it: the procedure
stops with reason ``security`` before anything is written.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any, Protocol, runtime_checkable

from twin.errors import ToolError

OnChange = Callable[[str, Any], None]
"""Called with (address, new value) for each data change of a subscribed address."""


class NoSuchAddress(LookupError):
    """An address the mapping names does not exist on the tool."""


class SecurityRefused(ToolError):
    """The secured connection was refused, by the tool or by the adapter: no endpoint with the mapping's policy,
    an untrusted server certificate, a client certificate or user the tool refused. Nothing was written.

    Defined with the protocol (no asyncua here) so that the procedure can tell it from a tool that cannot be
    reached; :mod:`hardware.security_client` raises it."""


@runtime_checkable
class Transport(Protocol):
    """How the run procedure reaches one tool (one connection; :meth:`fresh` makes another)."""

    address: str
    """Where the tool is (an OPC UA endpoint, a host:port); for messages."""

    def now(self) -> float:
        """The clock every timeout of the procedure is measured on [s] (monotonic; simulated in memory)."""

    async def sleep(self, seconds: float) -> None:
        """Let ``seconds`` pass on :meth:`now`'s clock (subscriptions are delivered meanwhile)."""

    async def connect(self, timeout_s: float) -> None:
        """Open the connection; :class:`SecurityRefused` if its security was refused, any other exception means
        the tool cannot be reached."""

    async def resolve(self, addresses: Sequence[str], timeout_s: float) -> None:
        """Look every address up once; :class:`NoSuchAddress` names the first one missing."""

    async def read(self, address: str, timeout_s: float) -> Any:
        """The current value at ``address``."""

    async def write(self, address: str, value: Any, timeout_s: float) -> None:
        """Write ``value`` (typed as the address expects); raises if the tool refused it."""

    async def call(self, obj: str, method: str, args: Sequence[Any], timeout_s: float) -> list[Any]:
        """Call ``method`` of ``obj`` with ``args``; its output arguments."""

    async def subscribe(self, addresses: Sequence[str], on_change: OnChange, publish_ms: float) -> None:
        """Report every change of ``addresses`` (and their current values first) to ``on_change``."""

    async def start_watchdog(self, watchdog_s: float) -> None:
        """Start checking that the tool answers (at least every ``watchdog_s / 5``); see :meth:`liveness`."""

    def liveness(self) -> tuple[float, str]:
        """(:meth:`now` of the tool's last answer to the watchdog, 0 before it started; why the connection is
        gone, ``""`` while it is not known to be)."""

    async def close(self) -> None:
        """Hang up, bounded: a tool that does not answer has its connection dropped."""

    def fresh(self) -> Transport:
        """A new, unconnected transport to the same tool (the safe state after a lost connection)."""
