"""``OpcUaTool``: the :class:`twin.Tool` protocol on a real sputter tool over OPC UA (asyncua).

A run: connect → read state (busy, fault and unknown states refused), alarms and interlocks → dry check of the
recipe against the mapping's limits and the limits the tool publishes → write setpoints and verify their echoes,
or store the recipe as a job, read it back and compare → subscribe to readbacks → start → follow readbacks into
telemetry → completion → read results. The interface resistance is not known from the tool
(unless a result node publishes it): the returned :class:`twin.RunResult` has it NaN, with every model-only field,
and the campaign keeps the trial in ``awaiting_measurement``.

Safety: the adapter enforces limits itself (never only the tool), writes nothing before every check passed,
and on Ctrl-C, :meth:`OpcUaTool.abort`, an alarm, an open interlock, a following readback out of tolerance for
``settle_s`` (a stuck readback), a live readback that repeats exactly the same value for ``frozen_after_s`` (a
frozen readback) or a lost connection (watchdog, ``watchdog_s`` ≤ 5 s) it sends the abort command and writes the
mapping's safe state (RF off, shutter closed, gas off), then raises :class:`hardware.errors.RunInterlockError` /
:class:`~hardware.errors.RunAbortedError` carrying the telemetry so far and the command log. Ctrl-C is then
passed on as :class:`~hardware.errors.RunInterrupted` (a ``KeyboardInterrupt`` carrying the same record), so
that the caller stops as it does on Ctrl-C with any other tool. Every command sent is in
``result.telemetry.attrs["command_log"]`` (and on the error).

Security: every connection (the run's, the fresh one that writes the safe state after a lost connection or on
:meth:`OpcUaTool.abort` of an idle tool, and ``tool reset``'s) is opened as the mapping's ``[security]`` table
says (:mod:`hardware.security`, :mod:`hardware.security_client`, through the transport's ``client_factory``):
certificates and password source are checked when the adapter is built (a bad one is a
:class:`~hardware.mapping.MappingError`), and a refusal at connection time (untrusted server, client certificate
or user refused by the tool) is a :class:`~hardware.errors.RunFaultError` with reason ``security`` before
anything is written. A mapping without security is refused unless it says ``allow_none = true``.

asyncua is asynchronous; the adapter runs it in a private event loop in a background thread so that
:meth:`OpcUaTool.run` is an ordinary blocking call.

The run itself is :class:`hardware.procedure.RunProcedure`, written once over a transport; this adapter runs it
over :class:`hardware.opcua_transport.OpcUaTransport` and adds what a blocking ``Tool`` needs (the event-loop
thread, Ctrl-C, :meth:`OpcUaTool.abort` from another thread, ``from_config``). The procedure's parts live beside
it: :mod:`hardware.run_checks`, :mod:`hardware.run_telemetry`, :mod:`hardware.jobs`, :mod:`hardware.safe_state`.
"""

from __future__ import annotations

import asyncio
import logging
import math
import threading
import time
from pathlib import Path
from typing import Any

from hardware.errors import RunAbortedError, RunFaultError, RunInterrupted, RunRecord
from hardware.mapping import Mapping, MappingError, check_frozen_after_s
from hardware.opcua_context import bounded
from hardware.opcua_transport import OpcUaTransport
from hardware.procedure import RunProcedure, Timing
from hardware.run_context import RunContext
from hardware.safe_state import safe_state_on_new_connection
from hardware.security import load_credentials
from hardware.security_client import SECURE_CONNECT_S, client_factory
from hardware.transport import NoSuchAddress
from twin.chamber import Chamber
from twin.errors import InputError
from twin.recipe import Recipe
from twin.result import RunResult
from twin.tool import ToolStatus

__all__ = ["CONFIG_KEYS", "OpcUaTool", "bounded"]

log = logging.getLogger(__name__)

CONFIG_KEYS = {"type", "endpoint", "mapping", "require_approval", "timeout_s", "watchdog_s", "settle_s",
               "run_timeout_s", "frozen_after_s", "name"}
"""Keys of a campaign's ``[tool]`` table for ``type = "opcua"``."""


class _RevisedParameters(logging.Filter):
    """Drop asyncua's warnings that a server revised the session timeout or subscription counts: normal OPC UA
    negotiation, not something an operator can act on."""

    def filter(self, record: logging.LogRecord) -> bool:
        msg = record.getMessage()
        return not (msg.startswith("Requested session timeout") or msg.startswith("Revised values returned"))


_FILTER = _RevisedParameters()


class OpcUaTool:
    """A sputter tool attached over OPC UA, described by a mapping file.

    Parameters
    ----------
    mapping : Mapping
        Nodes, units, limits and safe state of the tool (:meth:`hardware.mapping.Mapping.from_toml`).
    endpoint : str
        ``opc.tcp://host:port/...`` of the tool's OPC UA server.
    chamber : Chamber, optional
        The twin's description of the tool; if given, its limits are enforced too.
    timeout_s : float
        Timeout of one OPC UA request [s].
    watchdog_s, settle_s, run_timeout_s, frozen_after_s : float, optional
        Override the mapping's values [s] (``watchdog_s`` at most 5 s; ``frozen_after_s`` 0 = off, else at least
        ``watchdog_s``).
    """

    is_real = True

    def __init__(self, mapping: Mapping, endpoint: str, chamber: Chamber | None = None, *, name: str = "",
                 timeout_s: float = 4.0, watchdog_s: float | None = None, settle_s: float | None = None,
                 run_timeout_s: float | None = None, frozen_after_s: float | None = None) -> None:
        tool = mapping.tool
        self.mapping = mapping
        self.endpoint = endpoint
        self.chamber = chamber
        self.name = name or f"opcua:{tool.name}"
        self.timeout_s = float(timeout_s)
        self.watchdog_s = float(watchdog_s if watchdog_s is not None else tool.watchdog_s)
        self.settle_s = float(settle_s if settle_s is not None else tool.settle_s)
        self.run_timeout_s = float(run_timeout_s if run_timeout_s is not None else tool.run_timeout_s)
        if not 0 < self.watchdog_s <= 5:
            raise MappingError("tool.watchdog_s", self.watchdog_s, "a lost connection must be seen within 5 s",
                               "(0, 5] s")
        self.frozen_after_s = check_frozen_after_s(
            float(frozen_after_s if frozen_after_s is not None else tool.frozen_after_s), self.watchdog_s)
        self._credentials = load_credentials(mapping.security, mapping.source)
        """Certificates and key of the secured connection, read and checked now (no password: read when
        connecting); ``None`` for a connection without security, which the mapping must allow."""
        self.command_log: list[dict[str, Any]] = []
        """Commands of the last run (also on its telemetry and on its error)."""
        self.run_id = ""
        """Id of the next run, sent with a job to a tool that takes jobs (the campaign runner sets the trial's)."""
        self._status = ToolStatus.IDLE
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._busy = threading.Lock()
        self._cancel = ""
        client_log = logging.getLogger("asyncua.client.client")
        if _FILTER not in client_log.filters:
            client_log.addFilter(_FILTER)

    @classmethod
    def from_config(cls, config: dict[str, Any], chamber: Chamber | None = None) -> OpcUaTool:
        """Build from a campaign's ``[tool]`` table: ``type = "opcua"``, ``endpoint``, ``mapping`` (a path),
        optional ``timeout_s``, ``watchdog_s``, ``settle_s``, ``run_timeout_s``, ``frozen_after_s`` (0 = off),
        ``name``.

        ``require_approval = false`` is refused: a real tool runs only recipes a person approved.
        """
        unknown = sorted(set(config) - CONFIG_KEYS)
        if unknown:
            raise InputError(f"tool.{unknown[0]}", config[unknown[0]], "unknown key", ", ".join(sorted(CONFIG_KEYS)))
        if config.get("require_approval", True) is not True:
            raise InputError("tool.require_approval", config["require_approval"],
                             "a real tool runs only recipes a person approved", "true")
        for key in ("endpoint", "mapping"):
            if not isinstance(config.get(key), str) or not config[key]:
                raise InputError(f"tool.{key}", config.get(key), "missing or not a string",
                                 "opc.tcp://HOST:PORT/PATH" if key == "endpoint" else "path to a mapping TOML")
        if not config["endpoint"].startswith("opc.tcp://"):
            raise InputError("tool.endpoint", config["endpoint"], "not an OPC UA endpoint", "opc.tcp://HOST:PORT/...")
        kwargs: dict[str, Any] = {}
        for key in ("timeout_s", "watchdog_s", "settle_s", "run_timeout_s", "frozen_after_s"):
            if key in config:
                v = config[key]
                off = key == "frozen_after_s" and v == 0
                if isinstance(v, bool) or not isinstance(v, int | float) or not math.isfinite(v) or \
                        not (v > 0 or off):
                    raise InputError(f"tool.{key}", v, "expected a positive number of seconds",
                                     "0 (off) or > 0" if key == "frozen_after_s" else "> 0")
                kwargs[key] = float(v)
        if "name" in config:
            kwargs["name"] = str(config["name"])
        mapping = Mapping.from_toml(Path(config["mapping"]).expanduser())
        return cls(mapping, config["endpoint"], chamber, **kwargs)

    # -- Tool protocol ------------------------------------------------------------------------------------------
    @property
    def status(self) -> ToolStatus:
        return self._status

    def check(self, recipe: Recipe) -> None:
        """Dry pass without the tool: the mapping's limits, fields the tool cannot set, the chamber's limits.

        :meth:`run` repeats it online with the limits the tool publishes and its interlocks, before writing.
        """
        self.mapping.check_recipe(recipe)
        if self.chamber is not None:
            self.chamber.check(recipe)

    def measured_fields(self) -> frozenset[str]:
        """Result fields this tool's runs have values for (:meth:`hardware.mapping.Mapping.measured_fields`)."""
        return self.mapping.measured_fields()

    def check_extras(self, declared: dict[str, dict[str, Any]]) -> None:
        """Dry check that the mapping can write every extra variable a campaign declares (a ``[[setpoint]]`` with
        ``extra = NAME``, the same unit, a range inside the mapping's limits); :class:`MappingError` otherwise."""
        self.mapping.check_extras(declared)

    def run(self, recipe: Recipe, extras: dict[str, Any] | None = None) -> RunResult:
        """Execute ``recipe`` on the tool, with the ``extras`` (extra variables: ``name → value``) written to their
        nodes beside the recipe's setpoints, and wait for completion.

        Ctrl-C aborts the run into the safe state, then raises :class:`~hardware.errors.RunInterrupted` (a
        ``KeyboardInterrupt``) carrying the telemetry, the command log and whether the safe state was confirmed.
        """
        self.check(recipe)
        self.mapping.extra_writes(extras)  # an unmapped extra or one outside the mapping's limits: nothing written
        if not self._busy.acquire(blocking=False):
            raise RunFaultError(f"{self.name}: a run is already going on through this adapter")
        self._cancel = ""
        try:
            return self._run_blocking(recipe, extras)
        finally:
            self._busy.release()

    def _run_blocking(self, recipe: Recipe, extras: dict[str, Any] | None = None) -> RunResult:
        loop = self._ensure_loop()
        fut = asyncio.run_coroutine_threadsafe(self._run(recipe, extras), loop)
        ctrl_c: list[bool] = []
        try:
            result = self._wait(fut, ctrl_c)
        except Exception as exc:
            if ctrl_c:
                raise self._interrupted(exc) from exc
            raise
        if ctrl_c:  # the run ended by itself before the adapter acted on Ctrl-C: the operator still wants out
            raise self._interrupted(RunAbortedError(f"{self.name}: Ctrl-C as the run finished; nothing to abort")
                                    .attach(telemetry=result.telemetry, command_log=self.command_log,
                                            safe_state_written=False, reason="operator"))
        return result

    def _wait(self, fut: Any, ctrl_c: list[bool]) -> RunResult:
        """Wait for the run; on Ctrl-C (noted in ``ctrl_c``) ask it to stop and keep waiting while it does."""
        give_up = math.inf
        while True:
            try:
                return fut.result(timeout=0.2)
            except TimeoutError:
                if time.monotonic() > give_up:  # last resort: never leave the operator stuck
                    fut.cancel()
                    raise RunAbortedError(f"{self.name}: {self._cancel}; the adapter did not finish stopping "
                                          "within its time; SAFE STATE NOT CONFIRMED: check the tool").attach(
                        telemetry=None, command_log=self.command_log, safe_state_written=False,
                        reason="operator") from None
            except KeyboardInterrupt:
                if not ctrl_c:
                    log.warning("Ctrl-C: aborting the run on %s", self.name)
                ctrl_c.append(True)
                self._request_cancel("interrupted by the operator (Ctrl-C)")
            if self._cancel and give_up == math.inf:
                give_up = time.monotonic() + 6 * self.timeout_s + 10.0

    def _interrupted(self, exc: BaseException) -> RunInterrupted:
        """The Ctrl-C to pass on once the run has stopped, with what the run left (``exc``, or a record of it)."""
        if not isinstance(exc, RunRecord):  # stopped before anything was written (e.g. a recipe refused online)
            exc = RunAbortedError(f"{self.name}: interrupted by the operator (Ctrl-C); {exc}").attach(
                telemetry=None, command_log=self.command_log, safe_state_written=not self.command_log,
                reason="operator")
        log.log(logging.ERROR if "SAFE STATE NOT CONFIRMED" in str(exc) else logging.WARNING, "%s", exc)
        return RunInterrupted(exc)

    def abort(self) -> None:
        """Abort the running recipe (from another thread), or put an idle tool in its safe state."""
        if self._busy.locked():
            self._request_cancel("aborted by abort()")
            return
        loop = self._ensure_loop()
        ctx = RunContext(Recipe(), loop.time(), loop.time)
        standalone = safe_state_on_new_connection(ctx, self.mapping, self.transport(), self.timeout_s)
        ok = asyncio.run_coroutine_threadsafe(standalone, loop).result(timeout=4 * self.timeout_s + 5)
        self._status = ToolStatus.ABORTED if ok else ToolStatus.DISCONNECTED

    def close(self) -> None:
        """Stop the private event loop thread."""
        if self._loop is not None and self._thread is not None:
            self._loop.call_soon_threadsafe(self._loop.stop)
            self._thread.join(timeout=5)
            if not self._thread.is_alive():
                self._loop.close()
            self._loop = self._thread = None

    def __enter__(self) -> OpcUaTool:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def context(self) -> dict[str, float]:
        """The chamber state the next run will start in, read from the mapping's ``[[context]]`` nodes (canonical
        units: :mod:`twin.context`); empty when the mapping names none. The runner records it with each trial."""
        if not self.mapping.contexts or self._busy.locked():
            return {}
        fut = asyncio.run_coroutine_threadsafe(self._read_context(), self._ensure_loop())
        return fut.result(timeout=4 * self.timeout_s + 5)

    async def _read_context(self) -> dict[str, float]:
        transport = self.transport()
        nodes = self.mapping.contexts
        out: dict[str, float] = {}
        try:
            await transport.connect(self.timeout_s)
            for c in nodes:  # a node the tool lacks or cannot read leaves its key out; the run does not need it
                try:
                    await transport.resolve([c.node], self.timeout_s)
                    out[c.key] = c.to_canonical(await transport.read(c.node, self.timeout_s))
                except (NoSuchAddress, TypeError, ValueError) as exc:
                    log.warning("context %s: node %s not read (%s): left out of the run's context", c.key, c.node,
                                type(exc).__name__)
            return out
        finally:
            await transport.close()

    # -- plumbing -------------------------------------------------------------------------------------------------
    def _ensure_loop(self) -> asyncio.AbstractEventLoop:
        if self._loop is None:
            self._loop = asyncio.new_event_loop()
            self._thread = threading.Thread(target=self._loop.run_forever, name=f"{self.name}-loop", daemon=True)
            self._thread.start()
        return self._loop

    def _request_cancel(self, reason: str) -> None:
        """Ask the running coroutine to stop (thread-safe: it polls this every 50 ms)."""
        self._cancel = self._cancel or reason

    # -- the run ----------------------------------------------------------------------------------------------------
    def transport(self) -> OpcUaTransport:
        """A new, unconnected OPC UA transport to the tool (the run procedure's backend), whose clients connect
        as the mapping's ``[security]`` table says (:func:`hardware.security_client.client_factory`); its
        :meth:`~hardware.opcua_transport.OpcUaTransport.fresh` copy (the safe state's) does too."""
        return OpcUaTransport(self.endpoint, self.mapping.tool.namespace_uri, self.timeout_s,
                              client_factory=client_factory(self._credentials),
                              connect_s=0.0 if self._credentials is None else SECURE_CONNECT_S)

    async def _run(self, recipe: Recipe, extras: dict[str, Any] | None = None) -> RunResult:
        timing = Timing(timeout_s=self.timeout_s, watchdog_s=self.watchdog_s, settle_s=self.settle_s,
                        run_timeout_s=self.run_timeout_s, frozen_after_s=self.frozen_after_s)
        proc = RunProcedure(self.mapping, self.transport(), timing, self.name, lambda: self._cancel, self.run_id)
        self._status = ToolStatus.RUNNING
        try:
            return await proc.run(recipe, extras)
        finally:
            self.command_log = proc.ctx.command_log if proc.ctx is not None else []
            self._status = proc.status
