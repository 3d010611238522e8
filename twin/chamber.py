"""The chamber: geometry, limits, vacuum, state, random-event rates, and every process-model parameter.

A chamber TOML has one table per section below (``[geometry]``, ``[limits]``, ..., ``[interface]``);
each key is a field of that section's dataclass, documented by its metadata (``sputter-twin chamber-doc``
prints them all). Unknown keys are errors. Omitted keys take the defaults, which describe a 3-inch RF
magnetron research tool with a load lock.
"""

from __future__ import annotations

import dataclasses
import functools
import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import process_models as pm
from process_models._params import describe, param
from twin.config import dataclass_to_table, dump_toml, load_dataclass, read_toml
from twin.errors import ChamberError, InputError
from twin.limits import Limit, Limits, first_refusal, recipe_limits
from twin.recipe import Recipe


@dataclass(frozen=True)
class Geometry:
    """Target and substrate geometry."""

    target_diameter_mm: float = param(76.2, "mm", "target diameter (3 inch)", "[A] tool", low=10, high=1000)

    @property
    def target_area_cm2(self) -> float:
        return math.pi * (self.target_diameter_mm / 20.0) ** 2


@dataclass(frozen=True)
class Vacuum:
    """Vacuum system and handling times."""

    load_lock: bool = param(True, "", "true: samples enter through a load lock and the process chamber stays "
                            "under vacuum; false: every load vents the process chamber", "[A] tool")
    transfer_min: float = param(5.0, "min", "time to move the sample into the process chamber", "[A]", low=0,
                                high=1e4)
    heat_rate_c_min: float = param(20.0, "°C/min", "substrate heating and cooling rate", "[A]", low=0.01,
                                   high=1e4)
    unload_min: float = param(5.0, "min", "time to take the sample out", "[A]", low=0, high=1e4)
    room_temperature_c: float = param(25.0, "°C", "room and measurement temperature", "[A]", low=-50, high=100)


@dataclass(frozen=True)
class State:
    """Initial state of the chamber; a queue of runs carries it over from run to run."""

    target_kwh: float = param(0.0, "kWh", "energy already put into the target", "[A]", low=0, high=1e5)
    target_life_kwh: float = param(120.0, "kWh", "energy after which the target is worn out", "[A]", low=0.01,
                                   high=1e5)
    shield_kwh: float = param(0.0, "kWh", "energy since the shields were last cleaned", "[A]", low=0, high=1e5)
    hours_since_vent: float = param(0.0, "h", "time since the process chamber was last vented, at the first "
                                    "load (0: vented for this run)", "[A]", low=0, high=1e6)


@dataclass(frozen=True)
class Events:
    """Rates and effects of random events (FACTS §4 [A]: arcs, RF trips, leak bursts, flakes)."""

    arc_rate_per_h: float = param(1.0, "1/h", "arc rate with plasma on at the reference power density, pure "
                                  "Ar", "[A]", low=0, high=1e5)
    arc_reference_power_density_w_cm2: float = param(2.5, "W/cm²", "reference power density of the arc rate",
                                                     "[A]", low=0.01, high=100)
    arc_power_exponent: float = param(2.0, "1", "arc rate ∝ (power density)^k", "[A]", low=0, high=10)
    arc_n2_factor: float = param(3.0, "1", "arc rate in pure N2 relative to Ar (poisoned target)", "[A]",
                                 low=0, high=100)
    arc_particle_probability: float = param(0.2, "1", "chance that an arc throws a particle onto the "
                                            "substrate while the shutter is open", "[A]", low=0, high=1)
    rf_trip_rate_per_h: float = param(0.3, "1/h", "RF trips per hour of plasma", "[A]", low=0, high=1e5)
    rf_trip_recovery_s: float = param(90.0, "s", "time to re-strike after a trip (shutter closed meanwhile)",
                                      "[A]", low=0, high=1e5)
    leak_rate_per_h: float = param(0.2, "1/h", "virtual-leak bursts per hour in the process chamber", "[A]",
                                   low=0, high=1e5)
    leak_h2o_pa: float = param(5e-5, "Pa", "mean H2O partial-pressure jump of a burst (exponential)", "[A]",
                               low=0, high=1)
    leak_decay_s: float = param(120.0, "s", "decay time of a burst", "[A]", low=0.01, high=1e6)
    flake_rate_per_h: float = param(0.5, "1/h", "flakes per hour of plasma from clean shields", "[A]", low=0,
                                    high=1e5)
    flake_shield_kwh_scale: float = param(10.0, "kWh", "shield load at which the flake rate has doubled",
                                          "[A]", low=0.01, high=1e5)


@dataclass(frozen=True)
class Noise:
    """Measurement noise in stochastic mode (none in deterministic mode)."""

    resistance_rel_sigma: float = param(0.05, "1", "log-normal σ of the measured interface resistance", "[A]",
                                        low=0, high=2)
    thickness_rel_sigma: float = param(0.01, "1", "relative σ of the measured thickness", "[A]", low=0, high=1)


@dataclass(frozen=True)
class Telemetry:
    """Sampling of telemetry, built only when asked for."""

    interval_s: float = param(1.0, "s", "sample interval with plasma on or heating", "[A]", low=0.01, high=1e4)
    idle_interval_s: float = param(30.0, "s", "sample interval while pumping or waiting", "[A]", low=0.01,
                                   high=1e5)


SECTIONS: dict[str, type] = {
    "geometry": Geometry, "limits": Limits, "vacuum": Vacuum, "state": State, "events": Events,
    "noise": Noise, "telemetry": Telemetry,
    "deposition": pm.DepositionParams, "energetics": pm.EnergeticsParams,
    "contamination": pm.ContaminationParams, "film": pm.FilmParams, "interface": pm.InterfaceParams,
    "defects": pm.DefectParams,
}
"""Chamber TOML sections and the dataclass each one fills."""


ORDERED_PARAMETERS: tuple[tuple[str, str], ...] = (
    ("limits.min_pressure_pa", "limits.max_pressure_pa"), ("limits.min_distance_mm", "limits.max_distance_mm"),
    ("interface.li_p_window_low", "interface.li_p_window_high"),
    ("film.reference_n", "film.optimum_n"))  # the reference activation energy lies on the falling branch
"""Pairs of parameters whose first may not exceed the second; a chamber that breaks one is refused."""


@dataclass(frozen=True)
class Chamber:
    """A sputter tool and every parameter of its model."""

    name: str = "default"
    geometry: Geometry = field(default_factory=Geometry)
    limits: Limits = field(default_factory=Limits)
    vacuum: Vacuum = field(default_factory=Vacuum)
    state: State = field(default_factory=State)
    events: Events = field(default_factory=Events)
    noise: Noise = field(default_factory=Noise)
    telemetry: Telemetry = field(default_factory=Telemetry)
    deposition: pm.DepositionParams = field(default_factory=pm.DepositionParams)
    energetics: pm.EnergeticsParams = field(default_factory=pm.EnergeticsParams)
    contamination: pm.ContaminationParams = field(default_factory=pm.ContaminationParams)
    film: pm.FilmParams = field(default_factory=pm.FilmParams)
    interface: pm.InterfaceParams = field(default_factory=pm.InterfaceParams)
    defects: pm.DefectParams = field(default_factory=pm.DefectParams)

    def __post_init__(self) -> None:
        for lo, hi in ORDERED_PARAMETERS:
            if self.get(lo) > self.get(hi):
                raise ChamberError(lo, self.get(lo), f"greater than {hi}", f"<= {self.get(hi)}")

    # -- files ---------------------------------------------------------------------------------------
    @classmethod
    def from_dict(cls, doc: dict[str, Any], source: str = "") -> Chamber:
        """Build from a dict of sections; errors name ``source``."""
        try:
            kwargs: dict[str, Any] = {}
            for key, value in doc.items():
                if key == "name":
                    if not isinstance(value, str):
                        raise ChamberError("name", value, "expected a string")
                    kwargs["name"] = value
                elif key in SECTIONS:
                    kwargs[key] = load_dataclass(SECTIONS[key], value, key, ChamberError)
                else:
                    raise ChamberError(key, value if not isinstance(value, dict) else "{...}",
                                       "unknown section", "name, " + ", ".join(SECTIONS))
            return cls(**kwargs)
        except InputError as exc:
            raise (exc.with_source(source) if source else exc) from None

    @classmethod
    def from_toml(cls, path: str | Path) -> Chamber:
        """Load a chamber file."""
        return cls.from_dict(read_toml(path, ChamberError), source=str(path))

    def to_dict(self) -> dict[str, Any]:
        """Sections as nested dicts (JSON- and TOML-serialisable)."""
        out: dict[str, Any] = {"name": self.name}
        for key in SECTIONS:
            out[key] = dataclass_to_table(getattr(self, key))
        return out

    def to_toml(self, header: str = "") -> str:
        """The chamber as TOML text, every parameter written out."""
        tables = {key: dataclass_to_table(getattr(self, key)) for key in SECTIONS}
        return f"name = {self.name!r}\n".replace("'", '"') + "\n" + dump_toml(tables, header)

    # -- parameters by dotted name (calibration moves these) ---------------------------------------------
    def get(self, dotted: str) -> Any:
        """A parameter by ``section.field``."""
        section, _, name = dotted.partition(".")
        if section not in SECTIONS or name not in {f.name for f in dataclasses.fields(SECTIONS[section])}:
            raise ChamberError(dotted, None, "no such chamber parameter")
        return getattr(getattr(self, section), name)

    def replace(self, changes: dict[str, Any] | None = None, **top: Any) -> Chamber:
        """A copy with parameters changed by dotted name, e.g. ``{"interface.damage_coefficient": 2.0}``."""
        sections: dict[str, dict[str, Any]] = {}
        for dotted, value in (changes or {}).items():
            self.get(dotted)
            section, _, name = dotted.partition(".")
            sections.setdefault(section, {})[name] = value
        new = {s: dataclasses.replace(getattr(self, s), **kv) for s, kv in sections.items()}
        return dataclasses.replace(self, **new, **top)

    @staticmethod
    def parameter_docs() -> list[dict[str, Any]]:
        """Every chamber parameter: section, name, default, unit, doc, source, low, high."""
        return [{"section": s, **row} for s, cls in SECTIONS.items() for row in describe(cls)]

    # -- recipes against the tool's limits -----------------------------------------------------------
    def section(self, name: str, params: Mapping[str, Any] | None = None) -> Any:
        """Section ``name`` with the parameters of ``params`` (dotted names) that belong to it replaced.

        The values are not checked and may be arrays (one value per row of a batch): the result feeds
        vectorised functions, never a :class:`Chamber`.
        """
        sec = getattr(self, name)
        prefix = name + "."
        changes = {k[len(prefix):]: v for k, v in (params or {}).items() if k.startswith(prefix)}
        return dataclasses.replace(sec, **changes) if changes else sec

    def recipe_limits(self, params: Mapping[str, Any] | None = None) -> tuple[Limit, ...]:
        """The tool's limit table (:func:`twin.limits.recipe_limits`), the one source every check reads.

        ``params`` maps dotted chamber parameters (``limits.*``, ``geometry.target_diameter_mm``,
        ``vacuum.room_temperature_c``) to values or arrays that replace the chamber's own.
        """
        if not params:
            return self._limit_table
        return recipe_limits(self.section("limits", params), self.section("geometry", params).target_area_cm2,
                             self.section("vacuum", params).room_temperature_c)

    @functools.cached_property
    def _limit_table(self) -> tuple[Limit, ...]:
        return recipe_limits(self.limits, self.geometry.target_area_cm2, self.vacuum.room_temperature_c)

    def check(self, recipe: Recipe) -> None:
        """Raise :class:`RecipeError` naming field, value and allowed range if the recipe breaks a limit."""
        err = first_refusal(self._limit_table, recipe)
        if err is not None:
            raise err
