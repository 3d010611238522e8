"""Real worker faults for the what-if cluster tests: a Dask worker that dies at start-up, or one killed mid-run.

Loaded into real Dask worker processes: as a preload module (``distributed.worker.preload``, also through the
environment as ``DASK_DISTRIBUTED__WORKER__PRELOAD='["tests.campaigns.whatif.worker_faults"]'``), with the fault
chosen by ``SPUTTER_TWIN_TEST_WORKER_FAULT``:

- ``startup``: the worker process kills itself (SIGKILL) while it starts;
- ``midrun:PATH``: the first worker to start its ``KILL_AT``-th what-if chunk kills itself (SIGKILL) as the chunk
  starts; the file ``PATH``, created atomically, makes sure only one worker ever does (the nanny restarts the
  killed worker, which loads this module again).

:class:`KillOnce` is the mid-run fault as a worker plugin, for a cluster the test itself starts.
"""

from __future__ import annotations

import os
import signal

from distributed import WorkerPlugin

FAULT_ENV = "SPUTTER_TWIN_TEST_WORKER_FAULT"
KILL_AT = 3
"""The worker dies as it starts its third what-if chunk: mid-run, with other chunks already saved."""


class KillOnce(WorkerPlugin):
    """Kill this worker process (SIGKILL) when it starts its ``at``-th what-if chunk, unless ``marker`` exists."""

    def __init__(self, marker: str, at: int = KILL_AT):
        self.marker = marker
        self.at = at
        self.started = 0

    def transition(self, key, start, finish, **kwargs):
        if finish != "executing" or not str(key).startswith("whatif-") or str(key).endswith("-plan"):
            return  # only the chunks count, not the task that hands out the plan
        self.started += 1
        if self.started < self.at:
            return
        try:
            os.close(os.open(self.marker, os.O_CREAT | os.O_EXCL | os.O_WRONLY))
        except FileExistsError:
            return
        os.kill(os.getpid(), signal.SIGKILL)


async def dask_setup(worker) -> None:
    fault = os.environ.get(FAULT_ENV, "")
    if fault == "startup":
        os.kill(os.getpid(), signal.SIGKILL)
    elif fault.startswith("midrun:"):
        await worker.plugin_add(KillOnce(fault.removeprefix("midrun:")), name="kill-once")
