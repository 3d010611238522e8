"""The ``[[objectives]]`` tables, ``reference_point`` and ``[constraints] outcomes`` of a campaign file, read into a
:class:`campaigns.objectives.MultiObjective` (the format is in :mod:`campaigns.config`).

Every problem is one :class:`~campaigns.errors.CampaignError` naming the key with the goal's position
(``objectives[2].field``), the value and what is allowed; the CLI adds the file and exits with status 2.
"""

from __future__ import annotations

import math
from typing import Any

from campaigns.config import Objective
from campaigns.errors import CampaignError
from campaigns.objectives import RESULT_FIELDS, Goal, MultiObjective, OutcomeConstraint
from twin.config import coerce
from twin.errors import InputError

GOAL_KEYS: dict[str, type] = {"field": str, "direction": str, "log": bool, "reference": float}
"""Keys of one ``[[objectives]]`` table and their types."""


def _goal(table: Any, k: int) -> Goal:
    where = f"objectives[{k + 1}]"
    if not isinstance(table, dict):
        raise CampaignError(where, table, "expected a table ([[objectives]] with field = ...)")
    values: dict[str, Any] = {}
    for key, v in table.items():
        if key not in GOAL_KEYS:
            raise CampaignError(f"{where}.{key}", v, "unknown key", ", ".join(GOAL_KEYS))
        try:
            values[key] = coerce(v, GOAL_KEYS[key], f"{where}.{key}", CampaignError)
        except InputError as exc:
            raise CampaignError(exc.field, exc.value, exc.problem, exc.allowed) from None
    if "field" not in values:
        raise CampaignError(f"{where}.field", None, "every goal names a result field", " | ".join(RESULT_FIELDS))
    try:
        return Goal(**values)
    except CampaignError as exc:  # Goal names "objectives.KEY": say which goal
        raise CampaignError(exc.field.replace("objectives", where, 1), exc.value, exc.problem, exc.allowed) from None


def _reference(goals: list[Goal], point: Any) -> list[Goal]:
    """The goals with the top-level ``reference_point`` (one component per goal, in the goals' units)."""
    if point is None:
        return goals
    if not isinstance(point, list) or not all(isinstance(x, int | float) and not isinstance(x, bool) for x in point):
        raise CampaignError("reference_point", point, "expected a list of numbers, one per goal",
                            f"{len(goals)} numbers")
    if len(point) != len(goals):
        raise CampaignError("reference_point", point, f"has {len(point)} components for {len(goals)} goals",
                            f"{len(goals)} numbers, in the order of [[objectives]]")
    out = []
    for k, (g, x) in enumerate(zip(goals, point, strict=True)):
        if g.reference is not None:
            raise CampaignError(f"objectives[{k + 1}].reference", g.reference, "given twice: in the goal and in "
                                "reference_point", "one of the two")
        if not math.isfinite(float(x)) or (g.log and x <= 0):
            raise CampaignError(f"reference_point[{k + 1}]", x, f"must be finite{' and positive (log goal)' * g.log}",
                                "> 0" if g.log else "a finite number")
        out.append(Goal(g.field, g.direction, g.log, float(x)))
    return out


def multi_objective(tables: Any, reference_point: Any, outcomes: Any, hard: Objective) -> MultiObjective:
    """A :class:`MultiObjective` from the ``[[objectives]]`` array, the optional top-level ``reference_point``,
    the ``[constraints] outcomes`` list (or None) and the hard failure rules ``hard``."""
    if not isinstance(tables, list):
        raise CampaignError("objectives", tables, "expected an array of tables ([[objectives]])")
    goals = _reference([_goal(t, k) for k, t in enumerate(tables)], reference_point)
    if len(goals) < 2:
        raise CampaignError("objectives", len(goals), "a multi-objective campaign needs two goals or more; for one "
                            "use [objective]", ">= 2 [[objectives]] tables")
    seen: dict[str, int] = {}
    for k, g in enumerate(goals):
        if g.field in seen:
            raise CampaignError(f"objectives[{k + 1}].field", g.field,
                                f"already the field of objectives[{seen[g.field] + 1}]", "each field once")
        seen[g.field] = k
    constraints: list[OutcomeConstraint] = []
    if outcomes is not None:
        if not isinstance(outcomes, list):
            raise CampaignError("constraints.outcomes", outcomes, "expected a list of strings",
                                "['FIELD <= NUMBER', 'FIELD >= NUMBER', ...]")
        constraints = [OutcomeConstraint.parse(c) for c in outcomes]
    return MultiObjective(tuple(goals), tuple(constraints), hard)


__all__ = ["GOAL_KEYS", "multi_objective"]
