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
from twin.errors import InputError
from twin.recipe import Recipe


class MappingError(InputError):
    """A mapping file that is malformed, or names a node, unit or field that does not exist."""


RECIPE_UNITS: dict[str, str] = {f.name: f.metadata.get("unit", "") for f in dataclasses.fields(Recipe)}
"""Canonical unit of every recipe field (``transfer`` has none)."""

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


@dataclass(frozen=True)
class Status:
    node: str
    idle: Scalar
    running: Scalar
    done: Scalar
    aborted: Scalar
    fault: Scalar
    phase: str = ""
    """Optional node with the current phase name (telemetry; readback ``phases`` refer to it)."""

    def values(self) -> dict[str, Scalar]:
        return {"idle": self.idle, "running": self.running, "done": self.done, "aborted": self.aborted,
                "fault": self.fault}


@dataclass(frozen=True)
class Commands:
    start: str
    abort: str


@dataclass(frozen=True)
class Setpoint:
    """A recipe field written to a node, in the node's unit."""

    field: str
    node: str
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
    """A limit of a recipe field, in the tool's unit; the tool may publish it (``min_node``/``max_node``)."""

    field: str
    unit: str
    min: float
    max: float
    min_node: str = ""
    max_node: str = ""
    scale: float = 1.0

    def to_recipe_units(self, lo: float, hi: float) -> tuple[float, float]:
        """Limits as the tool holds them (``unit`` times ``scale``) in the recipe's unit."""
        canonical = RECIPE_UNITS[self.field]
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
