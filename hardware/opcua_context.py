"""asyncua helpers of the OPC UA adapter: :func:`bounded` keeps every await on a server that may hang within a
time limit, :func:`hang_up` disconnects without hanging. The run's context and the logged write, which know no
protocol, live in :mod:`hardware.run_context` (re-exported here)."""

from __future__ import annotations

import asyncio
import contextlib
from typing import Any

from asyncua import Client

from hardware.run_context import POLL_S, RunContext, Stop, elapsed, log, write_logged

__all__ = ["POLL_S", "RunContext", "Stop", "bounded", "elapsed", "hang_up", "log", "write_logged"]


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


async def hang_up(client: Client) -> None:
    """Disconnect, bounded: a server that does not answer gets its socket closed."""
    try:
        await bounded(client.disconnect(), 1.0)
    except BaseException:  # whatever happened, close the socket
        with contextlib.suppress(BaseException):
            client.disconnect_socket()
