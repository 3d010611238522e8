"""Run a what-if plan on Dask: a local cluster of processes by default, or an existing scheduler.

Work goes out in chunks of sequences (many runs per task); a bounded number of chunks is in flight, so the
driver never holds more than a few chunks. Each finished chunk is written at once to its own Parquet file
in ``OUT.parts/`` (written to a temporary name, then renamed, so every file there is complete); when all
chunks are done they are streamed in order into ``OUT`` (one row group per chunk) and the parts are removed.
If anything fails, the parts already written stay in ``OUT.parts/`` and are readable with
``pandas.read_parquet(DIR)``.

Lost workers. A worker that dies while the study runs (killed, out of memory, its machine gone) costs nothing but
time: the scheduler reruns the chunks it held on the other workers (or on the one its nanny restarts), and the
runner, subscribed to the scheduler's ``remove-worker`` events, logs one warning per lost worker and counts the
rerun chunks in :class:`RunInfo`. The plan reaches the workers as the result of a task, not as scattered data, so
the scheduler can recompute it if every worker holding it dies; a broadcast ``scatter`` would also make the
scheduler send an event it cannot serialise (a ``replicate`` event listing ``WorkerState`` objects, distributed
2026.8) and cut the client off. A chunk that kills every worker it runs on (more than the scheduler's
``distributed.scheduler.allowed-failures``) ends the study with a :class:`ClusterError`. A local cluster whose
worker dies while it starts is a :class:`ClusterError` before anything is written.
"""

from __future__ import annotations

import contextlib
import logging
import os
import shutil
import socket
import threading
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
from tqdm.auto import tqdm

from campaigns.whatif.engine import run_chunk_parquet, schema
from campaigns.whatif.errors import ClusterError, ScenarioError
from campaigns.whatif.plan import Plan, spread_order
from twin.errors import InputError

log = logging.getLogger(__name__)

METADATA_KEY = b"sputter_twin.whatif"


@dataclass(frozen=True)
class RunInfo:
    """What a call of :func:`run_plan` did."""

    out: Path
    runs: int
    chunks: int
    chunk_runs: int
    workers: int
    wall_s: float
    """Wall time from before the cluster starts to the merged file [s]."""
    compute_s: float
    """Wall time of the chunks alone, cluster start and the final merge excluded [s]."""
    scheduler: str
    lost_workers: int = 0
    """Workers the scheduler lost while the study ran."""
    rerun_chunks: int = 0
    """Chunks rerun because the worker that held them (running, queued or finished but not yet collected) was lost."""

    def lost_note(self) -> str:
        """What lost workers cost, for the summary line ("" when none was lost).

        Examples
        --------
        >>> RunInfo(Path("x.parquet"), 88, 22, 4, 2, 1.0, 1.0, "local", 1, 2).lost_note()
        '1 worker lost mid-run, 2 chunks rerun on other workers'
        """
        if not self.lost_workers:
            return ""
        return (f"{self.lost_workers} worker{'s' * (self.lost_workers > 1)} lost mid-run, {self.rerun_chunks} "
                f"chunk{'s' * (self.rerun_chunks != 1)} rerun on other workers")


class LostWorkers:
    """Handler of the scheduler's events (topic ``all``): counts the workers removed and the chunks they held.

    ``prefix`` is the key prefix of this study's tasks; ``plan_key`` the key of the task that holds the plan.
    Called in the client's event loop, read by the driver: a lock guards the counts.
    """

    def __init__(self, prefix: str, plan_key: str):
        self.prefix = prefix
        self.plan_key = plan_key
        self.workers = 0
        self.chunks: set[str] = set()
        self.reruns = 0
        self._lock = threading.Lock()

    def __call__(self, event: tuple[float, Any]) -> None:
        _, msg = event
        if not isinstance(msg, dict) or msg.get("action") != "remove-worker":
            return
        held = set(msg.get("processing-tasks", ())) | set(msg.get("lost-computed-tasks", ()))
        ours = sorted(k for k in held if isinstance(k, str) and k.startswith(self.prefix) and k != self.plan_key)
        with self._lock:
            self.workers += 1
            self.chunks.update(ours)
            self.reruns += len(ours)
        how = "left" if msg.get("expected") else "was lost"
        log.warning("Dask worker %s %s mid-run; %d unfinished chunk%s it held %s rerun on other workers",
                    msg.get("worker", "?"), how, len(ours), "s" * (len(ours) != 1), "are" if len(ours) != 1 else "is")

    def counts(self) -> tuple[int, int]:
        """(workers lost, chunk reruns) so far."""
        with self._lock:
            return self.workers, self.reruns


def parts_dir(out: Path) -> Path:
    """Where the chunks of ``out`` are written while the study runs."""
    return out.with_name(out.name + ".parts")


@contextlib.contextmanager
def dask_client(scheduler: str | None = None, workers: int | None = None,
                connect_timeout_s: float = 5.0) -> Iterator[Any]:
    """A ``distributed.Client``: to ``scheduler`` if given, else to a new ``LocalCluster`` of processes.

    The local cluster binds to 127.0.0.1 with the dashboard off, one thread per worker process.
    An unreachable scheduler is a :class:`ClusterError` after ``connect_timeout_s``.
    """
    from distributed import Client, LocalCluster

    if scheduler:
        host, port = parse_scheduler_address(scheduler)
        try:  # a plain TCP probe first: a clear, fast answer, and no half-built Client left behind
            socket.create_connection((host, port), timeout=connect_timeout_s).close()
        except OSError as exc:
            raise ClusterError(f"cannot reach the Dask scheduler at {scheduler!r} within "
                               f"{connect_timeout_s:g} s ({exc.strerror or type(exc).__name__})") from None
        try:
            client = Client(scheduler, timeout=f"{connect_timeout_s}s", set_as_default=False)
        except (OSError, TimeoutError) as exc:
            raise ClusterError(f"cannot connect to the Dask scheduler at {scheduler!r} within "
                               f"{connect_timeout_s:g} s ({type(exc).__name__})") from None
        try:
            try:
                client.wait_for_workers(1, timeout=connect_timeout_s)
            except (TimeoutError, OSError):
                raise ClusterError(f"the Dask scheduler at {scheduler!r} has no workers "
                                   f"(waited {connect_timeout_s:g} s)") from None
            yield client
        finally:
            client.close()
        return
    n = workers or os.cpu_count() or 1
    # dashboard off; the scheduler's small HTTP server (health, metrics) on a free loopback port, so that
    # several clusters on one machine do not fight over port 8787
    try:
        cluster = LocalCluster(n_workers=n, threads_per_worker=1, processes=True, dashboard_address=None,
                               host="127.0.0.1", silence_logs=logging.CRITICAL,
                               scheduler_kwargs={"dashboard": False, "dashboard_address": "127.0.0.1:0"})
    except Exception as exc:  # a worker (or its nanny) died while starting: nothing ran, nothing was written
        reason = " ".join(f"{type(exc).__name__}: {exc}".split())
        raise ClusterError(f"the local Dask cluster of {n} worker process(es) did not start: a worker died while "
                           f"starting ({reason}); nothing was run or written") from None
    client = Client(cluster, set_as_default=False)
    try:
        yield client
    finally:
        client.close()
        cluster.close()


def parse_scheduler_address(address: str) -> tuple[str, int]:
    """Host and port of ``tcp://HOST:PORT``, ``tls://HOST:PORT`` or ``HOST:PORT``; else an InputError.

    Examples
    --------
    >>> parse_scheduler_address("tcp://127.0.0.1:8786")
    ('127.0.0.1', 8786)
    >>> parse_scheduler_address("[::1]:8786")
    ('::1', 8786)
    """
    rest = address
    scheme, sep, tail = address.partition("://")
    if sep:
        if scheme not in ("tcp", "tls"):
            raise InputError("--scheduler", address, f"unknown scheme {scheme!r}", "tcp://HOST:PORT")
        rest = tail
    host, sep, port = rest.rpartition(":")
    host = host[1:-1] if host.startswith("[") and host.endswith("]") else host
    if not sep or not host or not port.isdigit() or not 0 < int(port) < 65536:
        raise InputError("--scheduler", address, "not a scheduler address", "tcp://HOST:PORT")
    return host, int(port)


def run_plan(plan: Plan, out: str | Path, *, scheduler: str | None = None, workers: int | None = None,
             chunk_runs: int | None = None, progress: bool | None = None, connect_timeout_s: float = 5.0,
             client: Any = None) -> RunInfo:
    """Run every chunk of ``plan`` on Dask and write one row per run to the Parquet file ``out``.

    Parameters
    ----------
    plan : Plan
        The runs to do.
    out : path
        Parquet file to write (replaced atomically at the end).
    scheduler : str, optional
        Address of an existing Dask scheduler (``tcp://HOST:PORT``); default: a new local cluster.
    workers : int, optional
        Worker processes of the local cluster (default: one per core).
    chunk_runs : int, optional
        Runs per task (default: see :meth:`Plan.default_chunk_runs`).
    progress : bool, optional
        Show a progress bar (default: when standard error is a terminal).
    client : distributed.Client, optional
        Use this client instead of connecting (the caller keeps it open). While the study runs the client is
        subscribed to the scheduler's ``all`` events, to count lost workers; a handler the caller had set for
        that topic is replaced, and removed at the end.

    Returns
    -------
    RunInfo
        What ran, where and how long, and the workers lost and chunks rerun on the way.

    Raises
    ------
    ScenarioError
        A design point turned out invalid when it ran (exit status 2).
    ClusterError
        The cluster could not be reached or started, or a chunk failed on it (exit status 1). The chunks
        finished before stay in ``OUT.parts/``.
    """
    out = Path(out)
    t0 = time.perf_counter()
    parts = parts_dir(out)
    if parts.exists():
        log.warning("removing partial results of an earlier run in %s", parts)
        shutil.rmtree(parts)
    if out.parent and not out.parent.exists():
        raise InputError("--out", str(out), "directory does not exist", "a file in an existing directory")
    if client is not None:
        return _run(plan, out, parts, client, chunk_runs, progress, t0, "given client")
    with dask_client(scheduler, workers, connect_timeout_s) as cl:
        return _run(plan, out, parts, cl, chunk_runs, progress, t0, scheduler or "local")


def _run(plan: Plan, out: Path, parts: Path, client: Any, chunk_runs: int | None, progress: bool | None,
         t0: float, where: str) -> RunInfo:
    from distributed import as_completed

    n_workers = max(1, len(client.scheduler_info(n_workers=-1)["workers"]))
    chunk_runs = chunk_runs or plan.default_chunk_runs(n_workers)
    n_chunks = plan.n_chunks(chunk_runs)
    sch = schema(plan)
    parts.mkdir(parents=True)
    tag = uuid.uuid4().hex[:8]
    t1 = time.perf_counter()
    # the plan as a task's result (see the module docstring): recomputed if every worker holding it is lost
    plan_key = f"whatif-{tag}-plan"
    plan_future = client.submit(_the_plan, plan, key=plan_key, pure=False)
    lost = LostWorkers(f"whatif-{tag}-", plan_key)
    client.subscribe_topic("all", lost)
    todo = ((i, plan.chunk(i, chunk_runs)) for i in spread_order(n_chunks))
    in_flight: dict[Any, int] = {}
    done = as_completed(loop=client.loop)
    max_in_flight = 2 * n_workers + 1
    drain_timeout_s = 60.0
    saved_runs = 0

    def submit_next() -> None:
        nxt = next(todo, None)
        if nxt is not None:
            i, (a, b) = nxt
            fut = client.submit(run_chunk_parquet, plan_future, a, b, key=f"whatif-{tag}-{i:06d}", pure=False)
            in_flight[fut] = i
            done.add(fut)

    bar = tqdm(total=plan.total_runs, unit="run", disable=None if progress is None else not progress,
               desc="what-if", smoothing=0.1)
    try:
        for _ in range(max_in_flight):
            submit_next()
        for fut in done:
            i = in_flight.pop(fut)
            try:
                rows, data = fut.result()
            except Exception as exc:
                # keep what the other chunks in flight finish, then report what was saved
                saved_runs += _drain(in_flight, parts, drain_timeout_s)
                if isinstance(exc, InputError):
                    raise ScenarioError(exc.field, exc.value, f"{exc.problem} ({_saved(saved_runs, parts)})",
                                        exc.allowed, exc.source) from None
                raise ClusterError(f"chunk {i} failed on the cluster: {_reason(exc)} "
                                   f"({_saved(saved_runs, parts)})") from None
            fut.release()
            _write_part(parts, i, data)
            saved_runs += rows
            bar.update(rows)
            submit_next()
    except BaseException:
        for fut in in_flight:
            fut.cancel()
        raise
    finally:
        bar.close()
        plan_future.release()
        with contextlib.suppress(Exception):
            client.unsubscribe_topic("all")
    lost_workers, reruns = lost.counts()
    compute_s = time.perf_counter() - t1
    _merge(parts, n_chunks, out, sch.with_metadata({METADATA_KEY: plan.scenario.text.encode()}))
    shutil.rmtree(parts)
    wall = time.perf_counter() - t0
    log.info("%d runs in %.2f s (%d chunks of ~%d runs on %d workers)", saved_runs, wall, n_chunks, chunk_runs,
             n_workers)
    return RunInfo(out, saved_runs, n_chunks, chunk_runs, n_workers, wall, compute_s, where, lost_workers, reruns)


def _the_plan(plan: Plan) -> Plan:
    """The task whose result is the plan on the workers."""
    return plan


def _reason(exc: BaseException) -> str:
    """A chunk's failure in one line; a chunk that killed every worker it ran on says so."""
    if type(exc).__name__ == "KilledWorker":
        return ("every worker that ran it died while running it (distributed.scheduler.allowed-failures "
                "exceeded): KilledWorker")
    return " ".join(f"{type(exc).__name__}: {exc}".split())


def _drain(in_flight: dict[Any, int], parts: Path, timeout_s: float) -> int:
    """Wait (at most ``timeout_s`` in all) for the chunks still in flight and write those that succeed; runs written.

    Each future is awaited through its own client: ``distributed.wait`` looks for a default client, and the
    runner's is not one (``set_as_default=False``), so it would return at once and drop every chunk in flight.
    """
    deadline = time.monotonic() + timeout_s
    written = 0
    for fut, i in list(in_flight.items()):
        with contextlib.suppress(Exception):  # a chunk that fails too, or is not done by the deadline: not saved
            rows, data = fut.result(timeout=max(0.0, deadline - time.monotonic()))
            _write_part(parts, i, data)
            written += rows
        in_flight.pop(fut)
        fut.cancel()
    return written


def _saved(runs: int, parts: Path) -> str:
    return f"{runs} runs already saved in {parts}, readable with pandas.read_parquet"


def _write_part(parts: Path, i: int, data: bytes) -> None:
    final = parts / f"part-{i:06d}.parquet"
    tmp = parts / f".part-{i:06d}.parquet.tmp"
    tmp.write_bytes(data)
    os.replace(tmp, final)


def _merge(parts: Path, n_chunks: int, out: Path, sch: pa.Schema) -> None:
    tmp = out.with_name(f".{out.name}.tmp")
    with pq.ParquetWriter(tmp, sch) as writer:
        for i in range(n_chunks):
            writer.write_table(pq.read_table(parts / f"part-{i:06d}.parquet").replace_schema_metadata(sch.metadata))
    os.replace(tmp, out)


def read_partial(path: str | Path) -> Any:
    """Runs saved so far: the finished file, or the parts of an unfinished or failed study (pandas DataFrame)."""
    import pandas as pd

    p = Path(path)
    if not p.exists() and parts_dir(p).exists():
        p = parts_dir(p)
    if p.is_dir():
        files = sorted(p.glob("part-*.parquet"))
        if not files:
            raise ScenarioError("", "", "no finished chunks yet", source=str(p))
        return pd.concat([pd.read_parquet(f) for f in files], ignore_index=True).sort_values("run_index",
                                                                                           ignore_index=True)
    return pd.read_parquet(p)
