"""What one run of :class:`hardware.opcua.OpcUaTool` carries, and the OPC UA calls every step of it makes.

:class:`RunContext` is the run's state (values seen, samples, events, the command log); :class:`Stop` is how a step
ends the run with an error class and a reason; :func:`write_logged` is the only way the adapter writes to the tool
(every write, failed ones included, goes into the command log); :func:`bounded` keeps every await on a server
that may hang within a time limit.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import logging
from dataclasses import dataclass, field
from typing import Any

from asyncua import Client, ua

from hardware import _ua
from hardware.errors import RunFaultError, RunRecord
from hardware.mapping import Mapping
from twin.recipe import Recipe
from twin.result import Event

log = logging.getLogger("hardware.opcua")  # the adapter's log lines keep one logger, whichever module writes them

POLL_S = 0.05
"""How often a waiting step checks Ctrl-C / ``abort()``, the connection and the tool [s]."""


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


class Stop(Exception):
    """Internal: stop the run with an error class and a reason (``safe``: abort and write the safe state)."""

    def __init__(self, cls: type[RunRecord], reason: str, message: str, safe: bool = True) -> None:
        super().__init__(message)
        self.cls, self.reason, self.message, self.safe = cls, reason, message, safe


@dataclass
class RunContext:
    """One run: what the adapter saw and sent (times are the event loop's clock; ``t0`` when the run began)."""

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


def elapsed(ctx: RunContext) -> float:
    """Seconds since the run began (call from the adapter's event loop)."""
    return asyncio.get_running_loop().time() - ctx.t0


async def write_logged(ctx: RunContext, nodes: dict[str, Any], kind: str, name: str, text: str, value: Any,
                       timeout_s: float) -> bool:
    """Write ``value`` to the node ``text`` and log the command (``kind`` = setpoint | command | safe_state);
    whether the tool accepted it."""
    entry = {"t_s": round(elapsed(ctx), 4), "utc": dt.datetime.now(dt.UTC).isoformat(), "kind": kind,
             "name": name, "node": text, "value": _ua.plain(value), "ok": False, "error": ""}
    ctx.command_log.append(entry)
    try:
        node, vtype = nodes[text]
        await bounded(node.write_value(_ua.typed(value, vtype)), timeout_s)
        entry["ok"] = True
    except Exception as exc:  # every failure is logged with the command
        entry["error"] = f"{type(exc).__name__}: {exc}"
        log.error("write %s %s = %r failed: %s", kind, text, value, entry["error"])
    return bool(entry["ok"])


async def resolve(client: Client, mapping: Mapping) -> dict[str, tuple[Any, ua.VariantType]]:
    """Every mapped node → (Node, its variant type); a missing node is a RunFaultError."""
    ns = await client.get_namespace_index(mapping.tool.namespace_uri)
    texts = [row["node"] for row in mapping.node_roles()] + [sw.node for sw in mapping.safe_state]
    out: dict[str, tuple[Any, ua.VariantType]] = {}
    for text in dict.fromkeys(texts):
        try:
            if _ua.is_path(text):
                node = await client.nodes.objects.get_child(_ua.path_elements(text, ns))
            else:
                node = client.get_node(_ua.node_id(text, ns))
            out[text] = (node, await node.read_data_type_as_variant_type())
        except Exception as exc:
            raise RunFaultError(f"tool {mapping.tool.name!r} has no node {text!r} "
                                f"({type(exc).__name__}); run `sputter-twin tool check`") from None
    return out


async def hang_up(client: Client) -> None:
    """Disconnect, bounded: a server that does not answer gets its socket closed."""
    try:
        await bounded(client.disconnect(), 1.0)
    except BaseException:  # whatever happened, close the socket
        with contextlib.suppress(BaseException):
            client.disconnect_socket()
