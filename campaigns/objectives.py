"""Several objectives and outcome constraints: what a multi-objective campaign learns from one trial.

A single-objective campaign has one :class:`campaigns.config.Objective`. A multi-objective one has a
:class:`MultiObjective`: a few :class:`Goal` (``minimize``/``maximize`` of a result field) and optional
:class:`OutcomeConstraint` (``interface_resistance_ohm_cm2 <= 15``). The optimiser works in *scores*: every goal
turned into a quantity to minimise (log10 where the goal is logged, negated where it is maximised), so that the
Pareto set and hypervolume (:mod:`campaigns.pareto`) need only one convention. A constraint gives a *slack* in the
same kind of units (log10 for a positive field): ≤ 0 is feasible. Constraints are modelled by the strategy as a
probability of feasibility, not as penalties, so a measured run that breaks one still teaches the objectives' models.

The hard failure rules of the single objective (shorted cell, process time, thickness) still apply: a failed run
gives no values at all.

Examples
--------
>>> mo = MultiObjective((Goal("interface_resistance_ohm_cm2", log=True), Goal("process_time_s")),
...                     (OutcomeConstraint.parse("ionic_conductivity_s_cm >= 1e-6"),))
>>> o = mo.evaluate({"interface_resistance_ohm_cm2": 10.0, "process_time_s": 3600.0,
...                  "ionic_conductivity_s_cm": 2e-6, "shorted": False})
>>> o.scores, o.feasible
((1.0, 3600.0), True)
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np

from campaigns.config import Objective
from campaigns.errors import CampaignError

RESULT_FIELDS: dict[str, tuple[str, bool]] = {
    "interface_resistance_ohm_cm2": ("Ω·cm²", True),
    "total_resistance_ohm_cm2": ("Ω·cm²", True),
    "bulk_resistance_ohm_cm2": ("Ω·cm²", True),
    "ionic_conductivity_s_cm": ("S/cm", True),
    "process_time_s": ("s", True),
    "deposition_time_s": ("s", True),
    "plasma_time_s": ("s", True),
    "deposition_rate_nm_min": ("nm/min", True),
    "damaged_layer_nm": ("nm", False),
    "interface_contamination_ml": ("monolayers", False),
    "interface_damage_dose_ev_nm2": ("eV/nm²", False),
    "short_probability": ("1", False),
    "li_p_ratio": ("1", True),
    "nitrogen_content": ("1", False),
    "thickness_nm": ("nm", True),
}
"""Result fields (:meth:`twin.RunResult.to_dict`) an objective or a constraint may name: unit, and whether the
field is always positive (so that it may be modelled in log10)."""

Direction = Literal["minimize", "maximize"]


def _check_field(name: str, where: str) -> None:
    if name not in RESULT_FIELDS:
        raise CampaignError(where, name, "unknown result field", " | ".join(RESULT_FIELDS))


@dataclass(frozen=True)
class Goal:
    """One objective: ``direction`` of result field ``field``; modelled in log10 when ``log``; ``reference`` is the
    reference point's component in the field's own units (the worst value that still counts for hypervolume)."""

    field: str
    direction: Direction = "minimize"
    log: bool = False
    reference: float | None = None

    def __post_init__(self) -> None:
        _check_field(self.field, "objectives.field")
        if self.direction not in ("minimize", "maximize"):
            raise CampaignError("objectives.direction", self.direction, "not a direction", "minimize | maximize")
        if self.log and not RESULT_FIELDS[self.field][1]:
            raise CampaignError("objectives.log", self.field, "field may be zero, cannot take its log",
                                " | ".join(k for k, (_, pos) in RESULT_FIELDS.items() if pos))
        if self.reference is not None and (not math.isfinite(self.reference) or (self.log and self.reference <= 0)):
            raise CampaignError("objectives.reference", self.reference, "must be finite (and positive with log)")

    @property
    def unit(self) -> str:
        return RESULT_FIELDS[self.field][0]

    def score(self, value: float) -> float:
        """The quantity the optimiser minimises for ``value`` (in the field's units)."""
        s = math.log10(value) if self.log else float(value)
        return s if self.direction == "minimize" else -s

    def value(self, score: float) -> float:
        """Inverse of :meth:`score`."""
        s = score if self.direction == "minimize" else -score
        return 10.0 ** s if self.log else float(s)


_CONSTRAINT = re.compile(r"^\s*([a-z0-9_]+)\s*(<=|>=)\s*([-+0-9.eE]+)\s*$")


@dataclass(frozen=True)
class OutcomeConstraint:
    """``field op bound`` on a measured result (``op`` is ``"<="`` or ``">="``); modelled in log10 when the field is
    always positive."""

    field: str
    op: Literal["<=", ">="]
    bound: float

    def __post_init__(self) -> None:
        _check_field(self.field, "constraints.outcomes")
        if self.op not in ("<=", ">="):
            raise CampaignError("constraints.outcomes", self.op, "not a comparison", "<= | >=")
        if not math.isfinite(self.bound) or (self.log and self.bound <= 0):
            raise CampaignError("constraints.outcomes", self.bound, "bound must be finite (positive for this field)")

    @classmethod
    def parse(cls, text: str) -> OutcomeConstraint:
        """``"interface_resistance_ohm_cm2 <= 15"`` → a constraint; anything else is a :class:`CampaignError`."""
        m = _CONSTRAINT.match(text) if isinstance(text, str) else None
        if m is None:
            raise CampaignError("constraints.outcomes", text, "expected 'FIELD <= NUMBER' or 'FIELD >= NUMBER'")
        try:
            bound = float(m.group(3))
        except ValueError:
            raise CampaignError("constraints.outcomes", text, "bound is not a number") from None
        return cls(m.group(1), m.group(2), bound)  # type: ignore[arg-type]

    @property
    def log(self) -> bool:
        return RESULT_FIELDS[self.field][1]

    def slack(self, value: float) -> float:
        """How far ``value`` is past the bound, in model units (log10 for a positive field): ≤ 0 is feasible."""
        if self.log:
            if value <= 0:
                return math.inf if self.op == ">=" else -math.inf
            v, b = math.log10(value), math.log10(self.bound)
        else:
            v, b = float(value), self.bound
        return v - b if self.op == "<=" else b - v

    def __str__(self) -> str:
        return f"{self.field} {self.op} {self.bound:g}"


@dataclass(frozen=True)
class MultiOutcome:
    """What the optimiser learns from one trial of a multi-objective campaign.

    ``values`` are the goals in their own units, ``scores`` what is minimised (see :class:`Goal`), ``slacks`` one
    per outcome constraint (≤ 0 feasible); all None when the run ``failed`` (with the ``reason``).
    """

    values: tuple[float, ...] | None
    scores: tuple[float, ...] | None
    slacks: tuple[float, ...] | None
    failed: bool
    reason: str = ""
    state: dict[str, float] | None = None
    state_after: dict[str, float] | None = None

    @property
    def feasible(self) -> bool:
        """A measured run that meets every outcome constraint."""
        return not self.failed and self.slacks is not None and all(s <= 0 for s in self.slacks)


@dataclass(frozen=True)
class MultiObjective:
    """Goals, outcome constraints, and the hard failure rules (``hard``: shorted cells, process time, thickness,
    as in a single-objective campaign; its ``minimize`` field is not used)."""

    goals: tuple[Goal, ...]
    constraints: tuple[OutcomeConstraint, ...] = ()
    hard: Objective = field(default_factory=Objective)

    def __post_init__(self) -> None:
        if len(self.goals) < 2:
            raise CampaignError("objectives", len(self.goals), "a multi-objective campaign needs several goals",
                                ">= 2")
        names = [g.field for g in self.goals]
        if len(set(names)) != len(names):
            raise CampaignError("objectives.field", names, "a field is named twice")

    @property
    def fields(self) -> tuple[str, ...]:
        return tuple(g.field for g in self.goals)

    def evaluate(self, result: Mapping[str, Any], recipe: Mapping[str, Any] | None = None) -> MultiOutcome:
        """Outcome of a run's result dict (:meth:`twin.RunResult.to_dict`)."""
        base = self.hard.evaluate(dict(result) | {self.hard.minimize: 1.0}, dict(recipe) if recipe else None)
        if base.failed:
            return MultiOutcome(None, None, None, True, base.reason)
        values = []
        for g in self.goals:
            v = result.get(g.field)
            if v is None or not math.isfinite(float(v)) or (g.log and float(v) <= 0):
                return MultiOutcome(None, None, None, True, f"no usable {g.field}")
            values.append(float(v))
        slacks = []
        for c in self.constraints:
            v = result.get(c.field)
            if v is None or not math.isfinite(float(v)):
                return MultiOutcome(None, None, None, True, f"no {c.field} for constraint {c}")
            slacks.append(c.slack(float(v)))
        return MultiOutcome(tuple(values), tuple(g.score(v) for g, v in zip(self.goals, values, strict=True)),
                            tuple(slacks), False)

    def outcome(self, trial: Any) -> MultiOutcome | None:
        """Outcome of a stored trial (None while it has none), with the same rules for rejected and failed trials
        as :meth:`campaigns.config.Objective.outcome`."""
        if trial.state == "rejected":
            return MultiOutcome(None, None, None, True, "rejected by reviewer")
        if trial.state == "failed":  # the rule it broke (shorted, off target...) when its result says so
            base = self.evaluate(trial.result, trial.recipe) if trial.result else None
            return MultiOutcome(None, None, None, True, base.reason if base is not None and base.failed
                                else "tool failure")
        if trial.state == "done" and trial.result is not None:
            return self.evaluate(trial.result, trial.recipe)
        return None

    def reference_scores(self) -> np.ndarray | None:
        """The reference point in score units, or None unless every goal gives its component."""
        if any(g.reference is None for g in self.goals):
            return None
        return np.array([g.score(g.reference) for g in self.goals])  # type: ignore[arg-type]

    def scores_to_values(self, scores: Sequence[Sequence[float]]) -> np.ndarray:
        """Scores (n × goals) back in the goals' own units."""
        s = np.atleast_2d(np.asarray(scores, float))
        return np.column_stack([[g.value(x) for x in s[:, j]] for j, g in enumerate(self.goals)])
