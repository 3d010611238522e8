"""Errors of the hardware adapters. Each run-time error carries what the run produced so far, so the campaign can
mark the trial interrupted and keep its telemetry and the commands that were sent."""

from __future__ import annotations

from typing import Any

from twin.errors import AbortedError, InterlockError, ToolError


class RunRecord(ToolError):
    """Root of the adapters' run-time errors: what an interrupted run leaves behind.

    Attributes
    ----------
    telemetry : pandas.DataFrame or None
        Readbacks followed until the interruption (``attrs["command_log"]`` holds the commands too).
    command_log : list of dict
        Every command sent to the tool, in order: ``t_s``, ``utc``, ``kind``, ``name``, ``node``, ``value``,
        ``ok``, ``error``.
    safe_state_written : bool
        Whether the abort command and every safe-state write were confirmed by the tool.
    reason : str
        Why the run stopped (``alarm``, ``interlock``, ``readback``, ``connection_lost``, ``operator``, ...).
    """

    telemetry: Any = None
    command_log: list[dict[str, Any]]
    safe_state_written: bool = False
    reason: str = ""

    def attach(self, *, telemetry: Any, command_log: list[dict[str, Any]], safe_state_written: bool,
               reason: str) -> RunRecord:
        self.telemetry = telemetry
        self.command_log = list(command_log)
        self.safe_state_written = safe_state_written
        self.reason = reason
        return self


class RunFaultError(RunRecord):
    """The tool failed to do what it was told (refused to start, setpoint not confirmed, no result)."""


class RunInterlockError(RunRecord, InterlockError):
    """An interlock was open or an alarm was raised, before or during the run."""


class RunAbortedError(RunRecord, AbortedError):
    """The run was aborted: operator (Ctrl-C or :meth:`abort`), a readback out of tolerance, a lost connection."""


class RunAlarmError(RunRecord, InterlockError, AbortedError):
    """An alarm or an interlock stopped a run that was going on: both an interlock event and an abort (the
    campaign marks the trial interrupted)."""


class RunInterrupted(KeyboardInterrupt):
    """Ctrl-C during a run, after the adapter aborted it and wrote the safe state: the interruption goes on up
    (the campaign runner marks the trial interrupted, the command line exits 130) and carries what the run left.

    Not a :class:`RunRecord`: a ``KeyboardInterrupt`` must not be caught by ``except Exception``. ``record`` is the
    :class:`RunAbortedError` (reason ``operator``) with the telemetry, the command log and ``safe_state_written``;
    the same attributes are on the interruption itself.
    """

    def __init__(self, record: RunRecord) -> None:
        super().__init__(str(record))
        self.record = record
        self.telemetry = record.telemetry
        self.command_log = list(getattr(record, "command_log", []))
        self.safe_state_written = record.safe_state_written
        self.reason = record.reason
