"""The OPC UA backend of :class:`hardware.transport.Transport` (asyncua): node texts resolved once, values typed
as each node expects, method calls, a subscription whose notifications go to the procedure, and a heartbeat that
reads the server's clock every ``watchdog_s / 5`` (a hung server keeps its socket open: only the heartbeat can
tell). Every await on the server is bounded (:func:`hardware.opcua_context.bounded`).

The client is made by ``client_factory`` (by default a plain :class:`asyncua.Client`): where connection security
(policies, certificates, user) plugs in (:func:`hardware.security_client.client_factory`, whose clients raise
:class:`~hardware.transport.SecurityRefused` from ``connect``). A secured connection takes two steps (discovery,
then the session with its asymmetric handshake): ``connect_s`` lets it take longer than the caller's bound.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Sequence
from typing import Any

from asyncua import Client, ua

from hardware import _ua
from hardware.opcua_context import bounded, hang_up, log
from hardware.transport import NoSuchAddress, OnChange

SERVER_TIME = ua.NodeId(ua.ObjectIds.Server_ServerStatus_CurrentTime)
"""The node the heartbeat reads: every OPC UA server has it."""

ClientFactory = Callable[[str, float], Client]
"""(endpoint, request timeout [s]) → an unconnected asyncua Client."""


def plain_client(endpoint: str, timeout_s: float) -> Client:
    """An asyncua Client without security settings."""
    return Client(endpoint, timeout=timeout_s)


class _Handler:
    """The subscription's handler: notifications → ``on_change``; a subscription status change → connection lost."""

    def __init__(self, transport: OpcUaTransport, by_id: dict[ua.NodeId, str], on_change: OnChange) -> None:
        self.transport, self.by_id, self.on_change = transport, by_id, on_change

    def datachange_notification(self, node: Any, val: Any, _data: Any) -> None:
        text = self.by_id.get(node.nodeid)
        if text is not None:
            self.on_change(text, val)

    def status_change_notification(self, status: Any) -> None:
        self.transport.lost = self.transport.lost or f"subscription status {status}"


class OpcUaTransport:
    """One OPC UA connection to ``endpoint`` whose tool lives in namespace ``namespace_uri``."""

    def __init__(self, endpoint: str, namespace_uri: str, timeout_s: float = 4.0,
                 client_factory: ClientFactory = plain_client, connect_s: float = 0.0) -> None:
        self.address = endpoint
        self.namespace_uri = namespace_uri
        self.timeout_s = timeout_s
        self.client_factory = client_factory
        self.connect_s = connect_s
        """The least time :meth:`connect` is given [s], whatever the caller's bound (0: the caller's)."""
        self.client: Client | None = None
        self.nodes: dict[str, tuple[Any, ua.VariantType | None]] = {}
        self.lost = ""
        self.last_ok = 0.0
        self._beat: asyncio.Task | None = None

    def now(self) -> float:
        return asyncio.get_running_loop().time()

    async def sleep(self, seconds: float) -> None:
        await asyncio.sleep(seconds)

    async def connect(self, timeout_s: float) -> None:
        self.client = self.client_factory(self.address, self.timeout_s)
        await bounded(self.client.connect(), max(timeout_s, self.connect_s))

    async def resolve(self, addresses: Sequence[str], timeout_s: float) -> None:
        client = self._client()
        ns = await bounded(client.get_namespace_index(self.namespace_uri), timeout_s)
        for text in addresses:
            if text in self.nodes:
                continue
            try:
                if _ua.is_path(text):
                    node = await bounded(client.nodes.objects.get_child(_ua.path_elements(text, ns)), timeout_s)
                else:
                    node = client.get_node(_ua.node_id(text, ns))
                cls = await bounded(node.read_node_class(), timeout_s)
                vtype = await bounded(node.read_data_type_as_variant_type(), timeout_s) \
                    if cls == ua.NodeClass.Variable else None
            except Exception as exc:
                log.debug("no node %s: %s", text, exc)
                raise NoSuchAddress(text) from None
            self.nodes[text] = (node, vtype)

    async def read(self, address: str, timeout_s: float) -> Any:
        return await bounded(self.nodes[address][0].read_value(), timeout_s)

    async def write(self, address: str, value: Any, timeout_s: float) -> None:
        node, vtype = self.nodes[address]
        await bounded(node.write_value(_ua.typed(value, vtype or ua.VariantType.Boolean)), timeout_s)

    async def call(self, obj: str, method: str, args: Sequence[Any], timeout_s: float) -> list[Any]:
        parent, mnode = self.nodes[obj][0], self.nodes[method][0]
        out = await bounded(parent.call_method(mnode, *args), timeout_s)
        return [] if out is None else list(out) if isinstance(out, list) else [out]

    async def subscribe(self, addresses: Sequence[str], on_change: OnChange, publish_ms: float) -> None:
        client = self._client()
        by_id = {self.nodes[t][0].nodeid: t for t in addresses}
        sub = await bounded(client.create_subscription(publish_ms, _Handler(self, by_id, on_change)), self.timeout_s)
        await bounded(sub.subscribe_data_change([self.nodes[t][0] for t in addresses]), self.timeout_s)

    async def start_watchdog(self, watchdog_s: float) -> None:
        self.last_ok = self.now()
        self._beat = asyncio.create_task(self._heartbeat(watchdog_s))

    def liveness(self) -> tuple[float, str]:
        return self.last_ok, self.lost

    async def close(self) -> None:
        if self._beat is not None:
            self._beat.cancel()
            self._beat = None
        if self.client is not None:
            await hang_up(self.client)

    def fresh(self) -> OpcUaTransport:
        return OpcUaTransport(self.address, self.namespace_uri, min(self.timeout_s, 2.0), self.client_factory,
                              self.connect_s)

    def _client(self) -> Client:
        if self.client is None:
            raise ConnectionError(f"not connected to {self.address}")
        return self.client

    async def _heartbeat(self, watchdog_s: float) -> None:
        """Read the server's clock every ``watchdog_s / 5``; note when it last answered or that the socket is gone."""
        node = self._client().get_node(SERVER_TIME)
        while True:
            try:
                await bounded(node.read_value(), watchdog_s / 2)
                self.last_ok = self.now()
            except asyncio.CancelledError:
                raise
            except TimeoutError:  # slow, not gone (TimeoutError is an OSError): the watchdog decides
                log.warning("watchdog: %s did not answer within %g s", self.address, watchdog_s / 2)
            except (ConnectionError, OSError) as exc:  # the socket is gone: no need to wait for the watchdog
                self.lost = self.lost or f"{type(exc).__name__}: {exc}"
            except Exception as exc:
                log.warning("watchdog: %s did not answer (%s)", self.address, type(exc).__name__)
            await asyncio.sleep(watchdog_s / 5)
