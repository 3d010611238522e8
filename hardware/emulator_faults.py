"""The faults the emulator can inject: what each one is called and does (:data:`FAULTS`, the one list the
emulator, its error messages and ``sputter-twin tool emulate --help`` read), the check of a fault specification,
and a fault scheduled for a phase of the run (``--fault KIND[:TARGET]@PHASE[+SECONDS]``).

A fault is injected now (:meth:`hardware.emulator.EmulatorThread.inject`, or a client writing the spec to the
``s=Emulator.Fault`` node) or when playback reaches a phase (:class:`ScheduledFault`).

Light on purpose (no asyncua): the command line builds its help from it at every start.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from twin.errors import InputError


@dataclass(frozen=True)
class FaultKind:
    """One kind of fault: its ``name`` (the part before ``:``), how it is written, and what it does."""

    name: str
    form: str
    effect: str


FAULTS: tuple[FaultKind, ...] = (
    FaultKind("alarm", "alarm[:NAME]", "raise an alarm (all alarms, or one)"),
    FaultKind("stuck", "stuck:COLUMN", "a readback column (or a setpoint echo) is no longer updated: it keeps its "
                                       "current value"),
    FaultKind("frozen", "frozen:COLUMN", "the sensor of a readback column stops measuring: the tool keeps publishing "
                                         "the value it read last, at every tick and without noise (a plausible "
                                         "value, in tolerance: only frozen_after_s sees it)"),
    FaultKind("interlock", "interlock[:NAME]", "open an interlock (all interlocks, or one)"),
    FaultKind("disconnect", "disconnect", "drop every client connection (the server stays up)"),
    FaultKind("freeze", "freeze[:SECONDS]", "the server stops answering for SECONDS (default 8, at most 600) with "
                                            "its connections open, as a hung controller does (only a watchdog "
                                            "notices)"),
    FaultKind("busy", "busy[:STATE]", "the tool reports itself busy with another job (STATE, or its last busy or "
                                      "running state) until cleared"),
    FaultKind("badjob", "badjob[:PARAMETER]", "the tool stores jobs with a parameter other than it was sent (one, or "
                                              "the first), so their read-back disagrees"),
    FaultKind("kill", "kill", "exit the process at once (allow_exit, as the command line does), else stop the server"),
    FaultKind("clear", "clear", "clear the causes: alarms (latched ones stay on until a reset), stuck and frozen "
                                "values, open interlocks, a busy state, bad jobs"),
)
"""Every fault the emulator knows, in the order the help lists them."""

FAULT_KINDS: tuple[str, ...] = tuple(f.name for f in FAULTS)
"""Names of the faults (``alarm``, ``stuck``, ...)."""

FAULT_FORMS: tuple[str, ...] = tuple(f.form for f in FAULTS)
"""How each fault is written (``alarm[:NAME]``, ``frozen:COLUMN``, ``freeze[:SECONDS]``, ...)."""


class EmulatorError(InputError):
    """A bad emulator option (fault specification, speed)."""


def check_spec(spec: str) -> None:
    """Raise :class:`EmulatorError` unless ``spec`` is ``KIND[:TARGET]`` of a known fault.

    >>> check_spec("frozen:pressure_pa")
    >>> try:
    ...     check_spec("meteor")
    ... except EmulatorError as exc:
    ...     print(exc)
    fault = 'meteor': unknown fault (allowed: alarm | stuck | frozen | interlock | disconnect | freeze | busy | badjob |
    kill | clear)
    """
    kind, _, target = spec.partition(":")
    if kind not in FAULT_KINDS:
        raise EmulatorError("fault", spec, "unknown fault", " | ".join(FAULT_KINDS))
    if kind == "freeze" and target:
        try:
            seconds = float(target)
        except ValueError:
            seconds = math.nan
        if not 0 < seconds <= 600:
            raise EmulatorError("fault", spec, "freeze needs seconds", "freeze:SECONDS, (0, 600]")
    if kind == "frozen" and not target:
        raise EmulatorError("fault", spec, "frozen needs a readback column", "frozen:COLUMN, e.g. frozen:pressure_pa")


@dataclass(frozen=True)
class ScheduledFault:
    """A fault injected when playback enters ``phase`` (plus ``delay_s`` of process time)."""

    spec: str
    phase: str
    delay_s: float = 0.0

    @classmethod
    def parse(cls, text: str) -> ScheduledFault:
        """``KIND[:TARGET]@PHASE[+SECONDS]``, e.g. ``alarm@deposition`` or ``stuck:rf_power_w@presputter+30``.

        >>> ScheduledFault.parse("kill@deposition+60")
        ScheduledFault(spec='kill', phase='deposition', delay_s=60.0)
        """
        spec, sep, when = text.partition("@")
        phase, _, delay = when.partition("+")
        check_spec(spec)
        if not sep or not phase:
            raise EmulatorError("--fault", text, "missing @PHASE", "KIND[:TARGET]@PHASE[+SECONDS]")
        try:
            d = float(delay) if delay else 0.0
        except ValueError:
            raise EmulatorError("--fault", text, "delay is not a number", "KIND[:TARGET]@PHASE[+SECONDS]") from None
        if not d >= 0:
            raise EmulatorError("--fault", text, "negative delay", ">= 0 s")
        return cls(spec, phase, d)
