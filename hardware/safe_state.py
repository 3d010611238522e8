"""Abort + safe state, whatever the transport: the abort command, then every ``[[safe_state]]`` write of the
mapping in the file's order (RF off, shutter closed, gas off), on the run's connection or, when that is lost, on
one fresh connection (:meth:`hardware.transport.Transport.fresh`). Every write, failed ones included, is in the
run's command log (kind ``safe_state``).
"""

from __future__ import annotations

import datetime as dt

from hardware.mapping import Mapping
from hardware.run_context import RunContext, elapsed, log, send, write_logged
from hardware.transport import Transport

RECONNECT_S = 2.5
"""How long a fresh connection for the safe state may take [s]."""


async def write_safe_state(ctx: RunContext, mapping: Mapping, transport: Transport, timeout_s: float,
                           reconnect: bool) -> bool:
    """Abort command, then every safe-state write; on a lost connection (``reconnect``) one fresh connection is
    tried. Whether every write was confirmed."""
    if not reconnect:
        return await safe_writes(ctx, mapping, transport, timeout_s)
    return await safe_state_on_new_connection(ctx, mapping, transport.fresh(), timeout_s)


async def safe_state_on_new_connection(ctx: RunContext, mapping: Mapping, transport: Transport,
                                       timeout_s: float) -> bool:
    """Connect ``transport`` (2.5 s at most), write the abort command and the safe state, hang up."""
    try:
        await transport.connect(RECONNECT_S)
    except Exception as exc:
        ctx.command_log.append({"t_s": round(elapsed(ctx), 4), "utc": dt.datetime.now(dt.UTC).isoformat(),
                                "kind": "safe_state", "name": "connect", "node": transport.address, "value": None,
                                "ok": False, "error": f"{type(exc).__name__}: {exc}"})
        log.error("cannot reach %s to write the safe state", transport.address)
        await transport.close()
        return False
    try:
        await transport.resolve(safe_addresses(mapping), min(timeout_s, 2.0))
        return await safe_writes(ctx, mapping, transport, min(timeout_s, 2.0))
    except Exception:
        log.exception("safe state on a fresh connection failed")
        return False
    finally:
        await transport.close()


def safe_addresses(mapping: Mapping) -> list[str]:
    """Every address the abort and the safe state use."""
    abort = mapping.commands.abort
    return [a for a in (abort.node, abort.object, abort.method) if a] + [sw.node for sw in mapping.safe_state]


async def safe_writes(ctx: RunContext, mapping: Mapping, transport: Transport, timeout_s: float) -> bool:
    """The abort command, then every safe-state write, each tried even if one before it failed."""
    ok, _out = await send(ctx, transport, "safe_state", "abort", mapping.commands.abort, timeout_s)
    for sw in mapping.safe_state:
        ok = await write_logged(ctx, transport, "safe_state", "safe_state", sw.node, sw.value, timeout_s) and ok
    return ok
