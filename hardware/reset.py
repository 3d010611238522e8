"""Reset / acknowledge a stopped tool's alarms, after an operator confirmed: ``sputter-twin tool reset``.

A tool whose alarms latch (``latched = true``) keeps them on after their cause is gone, and refuses new runs until
someone acknowledges them; the adapter never does that by itself. :func:`reset_tool` reads the tool's state,
its active alarms and its alarm text, asks ``confirm`` (the command line shows them and asks the operator to
type the tool's name), sends the mapping's reset command (a Boolean node or a method), and reads the tool again:
an alarm whose cause remains stays on, and says so. A running tool is never reset.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from hardware.mapping import Mapping, MappingError
from hardware.run_context import RunContext, send
from hardware.transport import SecurityRefused, Transport
from twin.errors import ToolError
from twin.recipe import Recipe

SETTLE_S = 0.5
"""How long the tool may take to clear its alarms after the reset [s of the transport's clock]."""


@dataclass
class ToolCondition:
    """What the tool reports: its state (and its kind), the active alarms, the alarm text."""

    state: Any
    kind: str
    alarms: list[str]
    text: str = ""


@dataclass
class ResetOutcome:
    """Before and after the reset; ``sent`` False when the operator did not confirm."""

    before: ToolCondition
    after: ToolCondition | None = None
    sent: bool = False
    command_log: list[dict[str, Any]] = field(default_factory=list)

    @property
    def cleared(self) -> bool:
        return self.after is not None and not self.after.alarms and self.after.kind in ("idle", "done")


async def read_condition(mapping: Mapping, transport: Transport, timeout_s: float) -> ToolCondition:
    st = mapping.status
    state = await transport.read(st.node, timeout_s)
    alarms = [al.name for al in mapping.alarms if await transport.read(al.node, timeout_s)]
    text = str(await transport.read(st.alarm_text, timeout_s) or "") if st.alarm_text else ""
    return ToolCondition(state, st.kind(state), alarms, text)


async def reset_tool(mapping: Mapping, transport: Transport, confirm: Callable[[ToolCondition], bool],
                     timeout_s: float = 4.0) -> ResetOutcome:
    """Read, confirm, reset, read again. Raises :class:`MappingError` without a reset command, and
    :class:`twin.ToolError` if the tool cannot be reached or is running."""
    reset = mapping.commands.reset
    if reset is None:
        raise MappingError("commands.reset", None, f"tool {mapping.tool.name!r} has no reset command in its mapping",
                           "reset = NODE or { method = ..., object = ... }")
    st = mapping.status
    try:
        await transport.connect(timeout_s + 1)
    except SecurityRefused:  # its own line already (exit status 1): nothing was sent
        await transport.close()
        raise
    except Exception as exc:
        raise ToolError(f"cannot connect to {transport.address}: {type(exc).__name__}: {exc}") from None
    try:
        needed = [st.node, st.alarm_text, reset.node, reset.method, reset.object] + [a.node for a in mapping.alarms]
        await transport.resolve([a for a in needed if a], timeout_s)
        out = ResetOutcome(await read_condition(mapping, transport, timeout_s))
        if out.before.kind in ("running", "busy"):
            raise ToolError(f"tool {mapping.tool.name!r} is running (state {out.before.state!r}): nothing was sent; "
                            "a reset is for a stopped tool")
        if not confirm(out.before):
            return out
        ctx = RunContext(Recipe(), transport.now(), transport.now)
        out.sent, _ = await send(ctx, transport, "command", "reset", reset, timeout_s)
        out.command_log = ctx.command_log
        if not out.sent:
            raise ToolError(f"tool {mapping.tool.name!r} refused the reset: {ctx.command_log[-1]['error']}")
        await transport.sleep(SETTLE_S)
        out.after = await read_condition(mapping, transport, timeout_s)
        return out
    finally:
        await transport.close()
