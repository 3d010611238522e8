"""Abort + safe state: the abort command, then every ``[[safe_state]]`` write of the mapping in the file's order
(RF off, shutter closed, gas off), on the run's connection or, when that is lost, on one fresh connection.
Every write, failed ones included, is in the run's command log (kind ``safe_state``).
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from hardware.mapping import Mapping
from hardware.opcua_context import RunContext, elapsed, hang_up, log, resolve, write_logged
from hardware.security import Credentials
from hardware.security_client import make_client, secure_connect


async def write_safe_state(ctx: RunContext, mapping: Mapping, nodes: dict[str, Any], endpoint: str,
                           timeout_s: float, reconnect: bool, credentials: Credentials | None = None) -> bool:
    """Abort command, then every safe-state write; on a lost connection (``reconnect``, or no nodes resolved yet),
    one fresh connection is tried (secured as the run's was: ``credentials``). Whether every write was
    confirmed."""
    if not reconnect and nodes:
        return await safe_writes(ctx, mapping, nodes, timeout_s)
    return await safe_state_on_new_connection(ctx, mapping, endpoint, timeout_s, credentials)


async def safe_state_on_new_connection(ctx: RunContext, mapping: Mapping, endpoint: str, timeout_s: float,
                                       credentials: Credentials | None = None) -> bool:
    """Connect afresh (2.5 s at most; secured as ``credentials`` say, 5 s: discovery, then the session), write
    the abort command and the safe state, hang up."""
    client = make_client(endpoint, min(timeout_s, 2.0), credentials)
    try:
        await secure_connect(client, 2.5 if credentials is None else 5.0)
    except Exception as exc:
        ctx.command_log.append({"t_s": round(elapsed(ctx), 4), "utc": dt.datetime.now(dt.UTC).isoformat(),
                                "kind": "safe_state", "name": "connect", "node": endpoint, "value": None,
                                "ok": False, "error": f"{type(exc).__name__}: {exc}"})
        log.error("cannot reach %s to write the safe state", endpoint)
        return False
    try:
        nodes = await resolve(client, mapping)
        return await safe_writes(ctx, mapping, nodes, timeout_s)
    except Exception:
        log.exception("safe state on a fresh connection failed")
        return False
    finally:
        await hang_up(client)


async def safe_writes(ctx: RunContext, mapping: Mapping, nodes: dict[str, Any], timeout_s: float) -> bool:
    """The abort command, then every safe-state write, each tried even if one before it failed."""
    ok = await write_logged(ctx, nodes, "safe_state", "abort", mapping.commands.abort, True, timeout_s)
    for sw in mapping.safe_state:
        ok = await write_logged(ctx, nodes, "safe_state", "safe_state", sw.node, sw.value, timeout_s) and ok
    return ok
