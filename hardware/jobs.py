"""Recipes as jobs, for tools that take one (OPC 40001-3 Job Management style) instead of a setpoint per node.

The approved recipe is converted to the tool's parameters (the mapping's ``parameter`` names, tool units),
stored on the tool with the run's id (``[job] store``, which returns the tool's job id), read back
(``[job] read``) and compared parameter by parameter with what was sent (each setpoint's tolerance); only then is
it started (``[commands] start`` with ``{job_id}``). A read-back that differs stops the run before it starts.
The tool's job id is kept on the run (an event ``job:ID``, the telemetry's ``attrs["job_id"]``, the store
command's ``output`` in the command log), so the campaign store records it with the trial.
"""

from __future__ import annotations

import json
from typing import Any

from hardware.errors import RunFaultError
from hardware.mapping import Mapping
from hardware.run_context import RunContext, Stop, elapsed, send
from hardware.transport import Transport
from twin.recipe import Recipe
from twin.result import Event


def job_parameters(mapping: Mapping, recipe: Recipe) -> dict[str, Any]:
    """The recipe as the tool's job parameters (parameter → value in the tool's unit)."""
    return {sp.parameter: raw for sp, raw in mapping.setpoint_writes(recipe)}


async def download_job(ctx: RunContext, mapping: Mapping, transport: Transport, recipe: Recipe, run_id: str,
                       timeout_s: float) -> str:
    """Store the recipe as a job, read it back and compare; the tool's job id. Raises :class:`Stop` (reason
    ``job``: not stored; ``job_readback``: stored differently) before anything is started."""
    job = mapping.job
    if job is None:  # programming error: only called for a mapping with [job]
        raise ValueError("the mapping has no [job] table")
    sent = job_parameters(mapping, recipe)
    ok, out = await send(ctx, transport, "job", "job_store", job.store, timeout_s, args=[run_id, json.dumps(sent)])
    job_id = str(out[0]) if ok and out and out[0] not in (None, "") else ""
    if not job_id:
        raise Stop(RunFaultError, "job", f"the tool did not store the job {run_id!r}; not started")
    ctx.job_id = job_id
    ctx.events.append(Event(elapsed(ctx), f"job:{job_id}"))
    ok, out = await send(ctx, transport, "job", "job_read", job.read, timeout_s, args=[job_id])
    try:
        stored = json.loads(out[0]) if ok and out else None
    except (TypeError, ValueError):
        stored = None
    if not isinstance(stored, dict):
        raise Stop(RunFaultError, "job_readback", f"job {job_id}: the tool did not return the stored job; "
                   "not started")
    for sp, raw in mapping.setpoint_writes(recipe):
        echo = stored.get(sp.parameter)
        if not sp.matches(raw, echo):
            raise Stop(RunFaultError, "job_readback", f"job {job_id}: parameter {sp.parameter} ({sp.field}) was "
                       f"sent as {raw!r}, the tool stored {echo!r}; not started")
    extra = sorted(set(stored) - set(sent))
    if extra:
        raise Stop(RunFaultError, "job_readback", f"job {job_id}: the tool stored parameters that were not sent "
                   f"({', '.join(extra)}); not started")
    return job_id
