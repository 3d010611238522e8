"""What one run carries through :mod:`hardware.procedure`, whatever the transport: the run's state (values seen,
samples, events, the command log), :class:`Stop` (how a step ends the run with an error class and a reason) and
:func:`send` / :func:`write_logged`, the only ways the procedure sends anything to a tool (every write and call,
failed ones included, goes into the command log).
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from hardware.errors import RunRecord
from hardware.mapping import Command
from hardware.transport import Transport
from twin.recipe import Recipe
from twin.result import Event

log = logging.getLogger("hardware.opcua")  # the adapter's log lines keep one logger, whichever module writes them

POLL_S = 0.05
"""How often a waiting step checks Ctrl-C / ``abort()``, the connection and the tool [s of the transport's clock]."""


class Stop(Exception):
    """Internal: stop the run with an error class and a reason (``safe``: abort and write the safe state)."""

    def __init__(self, cls: type[RunRecord], reason: str, message: str, safe: bool = True) -> None:
        super().__init__(message)
        self.cls, self.reason, self.message, self.safe = cls, reason, message, safe


@dataclass
class RunContext:
    """One run: what the procedure saw and sent (times on ``clock``, the transport's; ``t0`` when the run began)."""

    recipe: Recipe
    t0: float
    clock: Callable[[], float]
    command_log: list[dict[str, Any]] = field(default_factory=list)
    samples: list[tuple[float, str, float]] = field(default_factory=list)
    events: list[Event] = field(default_factory=list)
    values: dict[str, Any] = field(default_factory=dict)
    state: Any = None
    state_changes: int = 0
    """How many state values the run has seen (a ``done`` counts only if it came after the start command)."""
    phase: str = ""
    job_id: str = ""
    """The tool's id of the job the run started (tools that take jobs)."""
    out_since: dict[str, float] = field(default_factory=dict)
    changed_at: dict[str, float] = field(default_factory=dict)
    """Live readback column → clock time its value last changed."""
    live_since: dict[str, float] = field(default_factory=dict)
    """Live readback column → clock time the run entered the readback's phases."""


def elapsed(ctx: RunContext) -> float:
    """Seconds since the run began, on the transport's clock."""
    return ctx.clock() - ctx.t0


def plain(value: Any) -> Any:
    """A value made JSON-safe for logs (NaN → None, a list kept as a list)."""
    if isinstance(value, float) and value != value:  # NaN
        return None
    if isinstance(value, list | tuple):
        return [plain(v) for v in value]
    if isinstance(value, bool | int | float | str) or value is None:
        return value
    return repr(value)


def _entry(ctx: RunContext, kind: str, name: str, address: str, value: Any) -> dict[str, Any]:
    entry = {"t_s": round(elapsed(ctx), 4), "utc": dt.datetime.now(dt.UTC).isoformat(), "kind": kind,
             "name": name, "node": address, "value": plain(value), "ok": False, "error": ""}
    ctx.command_log.append(entry)
    return entry


async def write_logged(ctx: RunContext, transport: Transport, kind: str, name: str, address: str, value: Any,
                       timeout_s: float) -> bool:
    """Write ``value`` to ``address`` and log the command (``kind`` = setpoint | command | safe_state); whether the
    tool accepted it."""
    entry = _entry(ctx, kind, name, address, value)
    try:
        await transport.write(address, value, timeout_s)
        entry["ok"] = True
    except Exception as exc:  # every failure is logged with the command
        entry["error"] = f"{type(exc).__name__}: {exc}"
        log.error("write %s %s = %r failed: %s", kind, address, value, entry["error"])
    return bool(entry["ok"])


async def send(ctx: RunContext, transport: Transport, kind: str, name: str, command: Command, timeout_s: float,
               run_id: str = "", args: list[Any] | None = None) -> tuple[bool, list[Any]]:
    """Send a command: true to its Boolean node, or a call of its method (arguments with ``{run_id}`` and
    ``{job_id}`` filled in, unless ``args`` are given); logged. Whether the tool accepted it, and the method's
    outputs."""
    if command.node:
        return await write_logged(ctx, transport, kind, name, command.node, True, timeout_s), []
    values = args if args is not None else command.arguments(run_id, ctx.job_id)
    entry = _entry(ctx, kind, name, command.method, values)
    try:
        out = await transport.call(command.object, command.method, values, timeout_s)
        entry["ok"] = True
        entry["output"] = plain(list(out))
        return True, list(out)
    except Exception as exc:
        entry["error"] = f"{type(exc).__name__}: {exc}"
        log.error("call %s %s(%r) failed: %s", kind, command.method, values, entry["error"])
        return False, []
