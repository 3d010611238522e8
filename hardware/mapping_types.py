"""The entries of a mapping file, as frozen values: the tool and the adapter's timing (``[tool]``), the state and
commands, setpoints, readbacks, alarms, interlocks, limits, safe-state writes and result nodes, each with the
unit conversion it needs (:mod:`hardware.units`). :class:`hardware.mapping.Mapping` holds a whole file;
:mod:`hardware.mapping_parse` builds these from TOML.
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass, field
from typing import Any

from hardware import units
from twin.errors import InputError, RecipeError
from twin.recipe import Recipe


class MappingError(InputError):
    """A mapping file that is malformed, or names a node, unit or field that does not exist."""


RECIPE_UNITS: dict[str, str] = {f.name: f.metadata.get("unit", "") for f in dataclasses.fields(Recipe)}
"""Canonical unit of every recipe field (``transfer`` has none)."""

TOTAL_FLOW = "total_flow_sccm"
"""A ``[[limit]]`` field that is not a recipe field: the total gas flow the N2 fraction is split from."""

RESULT_FIELDS = ("thickness_nm", "interface_resistance_ohm_cm2", "deposition_time_s", "process_time_s",
                 "deposition_rate_nm_min")
"""RunResult fields a tool may publish at the end of a run."""

Scalar = bool | int | float | str


@dataclass(frozen=True)
class ToolInfo:
    """The tool and the adapter's timing (seconds of wall-clock time)."""

    name: str
    namespace_uri: str
    watchdog_s: float = 2.0
    """A lost connection is declared after this long without an answer (at most 5 s)."""
    settle_s: float = 1.0
    """A following readback may stay out of tolerance this long before the run is aborted."""
    setpoint_timeout_s: float = 5.0
    """Setpoint echoes must match within this long after writing."""
    start_timeout_s: float = 5.0
    run_timeout_s: float = 172800.0
    publish_ms: float = 50.0
    """Subscription publishing interval."""
    frozen_after_s: float = 10.0
    """A live readback (:attr:`Readback.live`) that reports exactly the same value this long in its phases is a
    frozen sensor: the run is aborted (``frozen_readback``). 0 disables; else at least ``watchdog_s``
    (:func:`check_frozen_after_s`)."""


FROZEN_AFTER_MAX_S = 600.0
"""Longest ``frozen_after_s`` accepted: ten minutes of plasma on a frozen gauge is a lost wafer already."""


def check_frozen_after_s(value: float, watchdog_s: float, where: str = "tool.frozen_after_s") -> float:
    """``value`` if it is 0 (off) or in [``watchdog_s``, 600] s, else a :class:`MappingError`.

    Not below ``watchdog_s``: a server that stops answering stops every readback too, and must be reported as a
    lost connection (the safe state is then written over a fresh connection), not as a frozen readback.

    >>> check_frozen_after_s(10.0, 2.0)
    10.0
    >>> try:
    ...     check_frozen_after_s(0.5, 2.0)
    ... except MappingError as exc:
    ...     print(exc)
    tool.frozen_after_s = 0.5: must be 0 (off) or at least watchdog_s (allowed: 0 or [2, 600] s)
    """
    if value != 0 and not watchdog_s <= value <= FROZEN_AFTER_MAX_S:
        raise MappingError(where, value, "must be 0 (off) or at least watchdog_s",
                           f"0 or [{watchdog_s:g}, {FROZEN_AFTER_MAX_S:g}] s")
    return value


TWIN_PHASES = ("pumpdown", "transfer", "heat", "presputter", "deposition", "rf_trip", "anneal_ramp", "anneal", "cool",
               "unload")
"""Phases of a run as the twin names them; ``[status.phases]`` maps a tool's own phase values onto these."""


@dataclass(frozen=True)
class Status:
    """The tool's state machine: the state node, the values of each kind of state, and where the phase comes from.

    Each kind holds one or several tool values (a tool may report ``PUMPING``, ``PRESPUTTER``, ``DEPOSITING`` and
    ``ANNEALING`` while it runs). ``busy`` states refuse a run before anything is written (every running state is
    busy). ``phase`` is a node with the phase; it may be the state node itself, and ``phases`` then maps the
    tool's values onto the twin's phase names that readback ``phases`` use.
    """

    node: str
    idle: tuple[Scalar, ...]
    running: tuple[Scalar, ...]
    done: tuple[Scalar, ...]
    aborted: tuple[Scalar, ...]
    fault: tuple[Scalar, ...]
    phase: str = ""
    """Optional node with the current phase (telemetry; readback ``phases`` refer to it)."""
    busy: tuple[Scalar, ...] = ()
    """Further states (beside the running ones) in which the tool refuses a new run (e.g. ``LOADING``)."""
    phases: dict[str, tuple[str, ...]] = field(default_factory=dict)
    """Tool phase value → the twin's phases it covers (``DEPOSITING = ["deposition", "rf_trip"]``); the first is
    the name recorded in telemetry and used by readback ``phases``. Empty: the tool's values are the names."""
    alarm_text: str = ""
    """Optional String node with the active alarm's text (kept with the error and shown by ``tool reset``)."""

    def values(self) -> dict[str, tuple[Scalar, ...]]:
        """Every kind of state → its tool values."""
        return {"idle": self.idle, "running": self.running, "done": self.done, "aborted": self.aborted,
                "fault": self.fault, "busy": self.busy}

    def kind(self, state: Any) -> str:
        """``idle``, ``running``, ``done``, ``aborted``, ``fault``, ``busy`` or ``unknown`` for a state value.

        >>> Status("s=S", ("IDLE",), ("PUMPING", "DEPOSITING"), ("DONE",), ("ABORTED",), ("FAULT",)).kind("DEPOSITING")
        'running'
        """
        for kind, vals in self.values().items():
            if state in vals and not isinstance(state, bool):
                return kind
        return "unknown"

    @property
    def phase_in_state(self) -> bool:
        """Whether the phase is read from the state node itself."""
        return bool(self.phase) and self.phase == self.node

    def phase_name(self, value: Any) -> str:
        """The twin's name of a phase value the tool reports (the value itself when no ``phases`` map)."""
        names = self.phases.get(str(value))
        return names[0] if names else str(value)

    def tool_phase(self, name: str) -> str | None:
        """The tool's value for a twin phase (the emulator publishes it); the name itself without a ``phases``
        map, None if the map does not cover it (the tool keeps reporting its previous phase)."""
        if not self.phases:
            return name
        for value, names in self.phases.items():
            if name in names:
                return value
        return None

    def known_phases(self) -> tuple[str, ...] | None:
        """Phase names the tool can report, or None when the mapping cannot tell (a free phase node)."""
        if self.phases:
            return tuple(dict.fromkeys(names[0] for names in self.phases.values()))
        if self.phase_in_state:
            return tuple(str(v) for v in self.running)
        return None


@dataclass(frozen=True)
class Command:
    """How a command reaches the tool: a Boolean ``node`` set to true, or an OPC UA ``method`` of ``object`` called
    with ``args`` (``"{run_id}"`` and ``"{job_id}"`` in an argument are replaced by the run's and the tool's ids)."""

    node: str = ""
    method: str = ""
    object: str = ""
    args: tuple[Scalar, ...] = ()

    @property
    def address(self) -> str:
        """The node the command writes or the method it calls."""
        return self.node or self.method

    def arguments(self, run_id: str = "", job_id: str = "") -> list[Scalar]:
        """``args`` with the placeholders filled in."""
        return [a.replace("{run_id}", run_id).replace("{job_id}", job_id) if isinstance(a, str) else a
                for a in self.args]


@dataclass(frozen=True)
class Commands:
    start: Command
    abort: Command
    reset: Command | None = None
    """Resets/acknowledges latched alarms; sent only by ``sputter-twin tool reset`` after an operator confirmed."""


@dataclass(frozen=True)
class JobSpec:
    """A tool that takes the recipe as a job (OPC 40001-3 Job Management style): ``store`` is called with the run's
    id and the recipe's parameters as a JSON object (``parameter`` → tool value) and returns the tool's job id;
    ``read`` is called with the job id and returns the stored parameters as JSON, which must match what was sent;
    ``start`` (``[commands] start``, whose arguments may name ``{job_id}``) starts it."""

    store: Command
    read: Command


@dataclass(frozen=True)
class Setpoint:
    """A recipe field written to a node, in the node's unit."""

    field: str
    node: str = ""
    unit: str = ""
    readback: str = ""
    """Node echoing the setpoint the tool accepted; verified after writing (default: the node itself)."""
    tolerance: float = 0.01
    """Relative tolerance of the echo (absolute 1e-9 floor)."""
    scale: float = 1.0
    """The node holds the value in ``unit`` times ``scale`` (e.g. 10 for a PLC register in 0.1 W)."""
    gas: str = ""
    total_flow_sccm: float = 0.0
    values: dict[str, Scalar] = field(default_factory=dict)
    """For ``transfer``: tool value of each recipe value."""
    parameter: str = ""
    """The job parameter's name, when the tool takes the recipe as a job (``[job]``) instead of node writes."""

    @property
    def key(self) -> str:
        """The node written, or the job parameter."""
        return self.node or self.parameter

    def to_tool(self, recipe: Recipe) -> Scalar:
        """The raw value to write for ``recipe``."""
        value = getattr(recipe, self.field)
        if self.values:
            return self.values[value]
        if self.unit == "sccm":
            share = value if self.gas == "N2" else 1.0 - value
            return float(share * self.total_flow_sccm * self.scale)
        return float(units.to_tool(float(value), RECIPE_UNITS[self.field], self.unit) * self.scale)

    def matches(self, sent: Scalar, echo: Any) -> bool:
        """Whether the echo read back confirms the value sent."""
        if isinstance(sent, str) or isinstance(sent, bool):
            return echo == sent
        if not isinstance(echo, int | float) or isinstance(echo, bool):
            return False
        return abs(float(echo) - float(sent)) <= max(self.tolerance * abs(float(sent)), 1e-9)


@dataclass(frozen=True)
class ExtraSetpoint:
    """An extra variable of a campaign (a tool setting the twin does not model: substrate bias, magnetron rotation)
    written to a node: ``[[setpoint]]`` with ``extra = NAME`` instead of ``field``.

    The value is in ``unit``, which must be the unit the campaign declares for the extra (no conversion: the
    twin knows nothing of these quantities); the node holds it times ``scale``. ``min``/``max`` are the tool's
    limits in ``unit`` (optional, enforced by the adapter before anything is written). A categorical extra maps
    each of its categories to a tool value (``values``).
    """

    name: str
    node: str
    unit: str = ""
    readback: str = ""
    tolerance: float = 0.01
    scale: float = 1.0
    min: float | None = None
    max: float | None = None
    values: dict[str, Scalar] = field(default_factory=dict)

    @property
    def field(self) -> str:
        """The name the command log and error messages give this setpoint (as a recipe setpoint's field)."""
        return self.name

    def check_value(self, value: Any) -> None:
        """Raise :class:`twin.errors.RecipeError` if ``value`` is not one this tool accepts."""
        if self.values:
            if value not in self.values:
                raise RecipeError(f"extras.{self.name}", value, "not a value the tool's mapping knows",
                                  " | ".join(map(str, self.values)))
            return
        if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
            raise RecipeError(f"extras.{self.name}", value, "expected a finite number", self.unit)
        lo = -math.inf if self.min is None else self.min
        hi = math.inf if self.max is None else self.max
        if not lo <= value <= hi:
            raise RecipeError(f"extras.{self.name}", value, "outside the mapping's limits",
                              f"[{lo:.6g}, {hi:.6g}] {self.unit}".rstrip())

    def to_tool(self, value: Any) -> Scalar:
        """The raw value to write for ``value`` (checked first: :meth:`check_value`)."""
        self.check_value(value)
        return self.values[value] if self.values else float(value) * self.scale

    def from_tool(self, raw: Any) -> Any:
        """The extra's value a raw node value means (the emulator reads it back)."""
        if self.values:
            inverse = {tv: v for v, tv in self.values.items()}
            return inverse.get(raw, raw)
        return float(raw) / self.scale

    def matches(self, sent: Scalar, echo: Any) -> bool:
        """Whether the echo read back confirms the value sent (as :meth:`Setpoint.matches`)."""
        return Setpoint.matches(self, sent, echo)  # type: ignore[arg-type]


@dataclass(frozen=True)
class Readback:
    """A measured value followed during the run into telemetry (``column`` in canonical units)."""

    column: str
    node: str
    unit: str = ""
    follows: tuple[str, ...] = ()
    """Recipe fields the value must match (any of them) while the phase is one of ``phases``."""
    phases: tuple[str, ...] = ()
    tolerance: float = 0.05
    """Relative tolerance when following a setpoint."""
    scale: float = 1.0
    """The node holds the value in ``unit`` times ``scale``."""
    live: bool = False
    """A live process value (pressure, forward power): while the phase is one of ``phases`` it always carries
    some noise, so the same value for ``tool.frozen_after_s`` means a frozen sensor. Default: true for a readback
    that ``follows`` a setpoint."""

    @property
    def is_bool(self) -> bool:
        return units.canonical_unit(self.column) == "bool"

    def to_canonical(self, raw: Any) -> float:
        if self.is_bool:
            return float(bool(raw))
        return units.from_tool(float(raw) / self.scale, units.canonical_unit(self.column) or "", self.unit)

    def from_canonical(self, value: float) -> Scalar:
        if self.is_bool:
            return bool(value)
        return float(units.to_tool(float(value), units.canonical_unit(self.column) or "", self.unit) * self.scale)

    def in_tolerance(self, value: float, recipe: Recipe) -> bool:
        """Whether ``value`` (canonical unit) is within tolerance of any followed setpoint."""
        for name in self.follows:
            target = float(getattr(recipe, name))
            if abs(value - target) <= max(self.tolerance * abs(target), 1e-12):
                return True
        return not self.follows


@dataclass(frozen=True)
class Alarm:
    name: str
    node: str
    latched: bool = False
    """The tool keeps the alarm active until it is reset (``sputter-twin tool reset``), even once its cause is gone."""


@dataclass(frozen=True)
class Interlock:
    """A condition that must hold before and during a run: a Boolean equal to ``ok`` or a number in [min, max]."""

    name: str
    node: str
    ok: bool | None = None
    min: float | None = None
    max: float | None = None
    unit: str = ""

    def is_ok(self, raw: Any) -> bool:
        if self.ok is not None:
            return isinstance(raw, bool) and raw == self.ok
        if isinstance(raw, bool) or not isinstance(raw, int | float) or math.isnan(raw):
            return False
        return (self.min is None or raw >= self.min) and (self.max is None or raw <= self.max)

    def bad_value(self) -> Scalar:
        """A value that opens the interlock (the emulator injects it)."""
        if self.ok is not None:
            return not self.ok
        return float(self.max * 1000.0 + 1.0) if self.max is not None else float((self.min or 0.0) - 1.0)


@dataclass(frozen=True)
class Limit:
    """A limit of a recipe field (or of the total gas flow, :data:`TOTAL_FLOW`), in the tool's unit; the tool may
    publish it (``min_node``/``max_node``)."""

    field: str
    unit: str
    min: float
    max: float
    min_node: str = ""
    max_node: str = ""
    scale: float = 1.0

    def to_recipe_units(self, lo: float, hi: float) -> tuple[float, float]:
        """Limits as the tool holds them (``unit`` times ``scale``) in the recipe's unit."""
        canonical = RECIPE_UNITS.get(self.field, "sccm")  # a recipe field's unit, or the total gas flow's
        a = units.from_tool(lo / self.scale, canonical, self.unit)
        b = units.from_tool(hi / self.scale, canonical, self.unit)
        return (min(a, b), max(a, b))


@dataclass(frozen=True)
class SafeWrite:
    node: str
    value: Scalar


@dataclass(frozen=True)
class ResultNode:
    field: str
    node: str
    unit: str = ""
    scale: float = 1.0

    def to_canonical(self, raw: Any) -> float:
        return units.from_tool(float(raw) / self.scale, units.canonical_unit(self.field) or "", self.unit)

    def from_canonical(self, value: float) -> float:
        return float(units.to_tool(float(value), units.canonical_unit(self.field) or "", self.unit) * self.scale)
