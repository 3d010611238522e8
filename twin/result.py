"""What one run produced."""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass, field
from typing import Any

from twin.recipe import Recipe

STEP_EVENTS = ("load", "vent", "pumpdown_done", "transfer_done", "heated", "presputter_start", "shutter_open",
               "seed_done", "deposition_done", "anneal_start", "anneal_done", "unload")
RANDOM_EVENTS = ("arc", "rf_trip", "rf_restored", "leak_burst", "flake", "particle_on_substrate")
STATE_EVENTS = ("target_end_of_life",)


@dataclass(frozen=True, slots=True)
class Event:
    """A time-stamped event of the discrete-event model; ``time_s`` counts from the run's load."""

    time_s: float
    kind: str
    value: float = 0.0

    def to_dict(self) -> dict[str, Any]:
        return {"time_s": self.time_s, "kind": self.kind, "value": self.value}


@dataclass(frozen=True)
class RunResult:
    """Outcome of one run. Resistances at the chamber's room temperature."""

    recipe: Recipe
    interface_resistance_ohm_cm2: float
    bulk_resistance_ohm_cm2: float
    thickness_nm: float
    deposition_rate_nm_min: float
    deposition_time_s: float
    process_time_s: float
    plasma_time_s: float
    interface_damage_dose_ev_nm2: float
    damaged_layer_nm: float
    interface_contamination_ml: float
    h2o_dose_langmuir: float
    proton_uptake: float
    film_impurity_fraction: float
    li_p_ratio: float
    nitrogen_content: float
    ionic_conductivity_s_cm: float
    particles_on_substrate: float
    short_probability: float
    shorted: bool
    events: tuple[Event, ...]
    seed: int | None
    deterministic: bool
    model_version: str
    target_kwh_start: float
    chamber_state_after: dict[str, float]
    telemetry: Any = field(default=None, compare=False, repr=False)
    interface_particles: float = 0.0
    """Particles that landed before the interface layer was complete (the ones that can short the cell)."""

    @property
    def total_resistance_ohm_cm2(self) -> float:
        """Interface plus bulk resistance [Ω·cm²]."""
        return self.interface_resistance_ohm_cm2 + self.bulk_resistance_ohm_cm2

    def event_counts(self) -> dict[str, int]:
        """How many of each random event the run saw."""
        counts = dict.fromkeys(RANDOM_EVENTS, 0)
        for e in self.events:
            if e.kind in counts:
                counts[e.kind] += 1
        return counts

    def to_dict(self) -> dict[str, Any]:
        """JSON-serialisable dict (telemetry excluded; NaN and infinity become None)."""
        out: dict[str, Any] = {}
        for f in dataclasses.fields(self):
            if f.name == "telemetry":
                continue
            v = getattr(self, f.name)
            if f.name == "recipe":
                v = v.to_dict()
            elif f.name == "events":
                v = [e.to_dict() for e in v]
            elif isinstance(v, float) and not math.isfinite(v):
                v = None
            out[f.name] = v
        out["total_resistance_ohm_cm2"] = self.total_resistance_ohm_cm2
        out["event_counts"] = self.event_counts()
        return out
