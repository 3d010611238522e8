"""The campaign strategies on any function of plain named variables, through ask/tell on dicts.

scikit-optimize's ``Optimizer`` has ``ask()``/``tell(x, y)`` on lists; here the points are dicts
``name → value`` and the strategy is one of the registry's (``gp``, ``random``, ``space-filling``), so the optimiser
that drives a campaign can be pointed at anything else — a test function, a simulation, an experiment outside the
twin. The loop is the caller's::

    >>> from campaigns.ask_tell import AskTell
    >>> from campaigns.variables import Real, Categorical
    >>> opt = AskTell([Real("x", 0.0, 1.0), Categorical("c", ["a", "b"])], "random", seed=3)
    >>> for _ in range(5):
    ...     points = opt.ask()
    ...     opt.tell(points, [p["x"] ** 2 + (p["c"] == "b") for p in points])
    >>> sorted(opt.best()[0])
    ['c', 'x']

**Several objectives** (``objectives=["minimize", "maximize"]``, strategy ``mobo``, or ``random``/``space-filling``):
each value told is a sequence of the objectives' values, followed by ``n_constraints`` constraint slacks (≤ 0 is
feasible), or ``None`` for a failed evaluation; ``reference`` is the hypervolume reference point in the objectives'
own units (default: :func:`campaigns.pareto.default_reference` of what was told)::

    >>> opt = AskTell([Real("x", 0.0, 1.0)], "random", seed=1, objectives=["minimize", "minimize"])
    >>> pts = opt.ask(4)
    >>> opt.tell(pts, [(p["x"], (1.0 - p["x"]) ** 2) for p in pts])
    >>> len(opt.front()) >= 1
    True

A value of ``None`` (or NaN) tells the strategy the evaluation failed; ``gp`` then handles it by its
``failure_penalty`` rule (see :mod:`campaigns.strategies`). Strategies that need the twin (``twin-prior``) need a
recipe and cannot run on a plain space. As in a campaign, proposals depend only on the seed and what was told,
so ``ask`` returns the same points until ``tell``.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from campaigns.config import Objective, Outcome
from campaigns.errors import CampaignError
from campaigns.objectives import MultiOutcome
from campaigns.pareto import pareto_mask
from campaigns.space import SearchSpace
from campaigns.strategies import StrategyContext, make_strategy
from campaigns.variables import Dimension

PLAIN_STRATEGIES = ("gp", "random", "space-filling", "mobo")
"""Strategies that work on plain variables (they treat the space as points; ``twin-prior`` needs the twin)."""
SINGLE_ONLY, MULTI_ONLY = ("gp",), ("mobo",)


@dataclass(frozen=True)
class PlainGoal:
    """One objective of a plain function: its name and direction (scores are minimised, as
    :class:`campaigns.objectives.Goal`'s), and its reference-point component in its own units."""

    field: str
    direction: str = "minimize"
    reference: float | None = None

    def score(self, value: float) -> float:
        return float(value) if self.direction == "minimize" else -float(value)


@dataclass(frozen=True)
class PlainObjectives:
    """What ``mobo`` needs of a multi-objective problem on plain variables: goals, how many constraint slacks each
    evaluation returns, and the reference point."""

    goals: tuple[PlainGoal, ...]
    n_constraints: int = 0

    @property
    def constraints(self) -> tuple[str, ...]:
        return tuple(f"c{k}" for k in range(self.n_constraints))

    def reference_scores(self) -> np.ndarray | None:
        if any(g.reference is None for g in self.goals):
            return None
        return np.array([g.score(g.reference) for g in self.goals])  # type: ignore[arg-type]


class AskTell:
    """A strategy minimising a function of plain named variables.

    Parameters
    ----------
    space : SearchSpace, sequence of Dimension, or dict
        The variables (:meth:`campaigns.space.SearchSpace.from_variables`); a space of a campaign (recipe fields
        and extras) works too, its points as dicts of the searched values.
    strategy : str
        ``gp`` (default), ``random`` or ``space-filling``.
    seed : int
        Seeds every random choice of the strategy.
    settings : dict, optional
        The strategy's settings, as in a campaign's ``[strategy]`` table (e.g. ``{"n_initial": 5}`` for ``gp``).
    budget : int
        How many evaluations are planned (``space-filling`` spreads its design over them).
    objectives : sequence of str, optional
        Several objectives: one direction (``"minimize"`` or ``"maximize"``) each; the values told are then
        sequences (see the module docstring). ``gp`` needs one objective, ``mobo`` several.
    reference : sequence of float, optional
        The hypervolume reference point, one component per objective in its own units.
    n_constraints : int
        Constraint slacks (≤ 0 feasible) that follow the objectives' values in each value told.
    """

    def __init__(self, space: SearchSpace | Sequence[Dimension] | Mapping[str, Any], strategy: str = "gp", *,
                 seed: int = 0, settings: Mapping[str, Any] | None = None, budget: int = 30,
                 objectives: Sequence[str] | None = None, reference: Sequence[float] | None = None,
                 n_constraints: int = 0) -> None:
        self.space = space if isinstance(space, SearchSpace) else SearchSpace.from_variables(space)
        if strategy not in PLAIN_STRATEGIES:
            raise CampaignError("strategy", strategy, "not usable on plain variables", " | ".join(PLAIN_STRATEGIES))
        if isinstance(seed, bool) or not isinstance(seed, int) or seed < 0:
            raise CampaignError("seed", seed, "expected a non-negative integer", ">= 0")
        self.objectives = None if objectives is None else _plain_objectives(objectives, reference, n_constraints)
        if self.objectives is None and strategy in MULTI_ONLY:
            raise CampaignError("objectives", None, f"strategy {strategy!r} needs several objectives",
                                "e.g. objectives=['minimize', 'minimize']")
        if self.objectives is not None and strategy in SINGLE_ONLY:
            raise CampaignError("strategy", strategy, "optimises one objective", "mobo | random | space-filling")
        obj: Any = Objective(log=False) if self.objectives is None else self.objectives
        ctx = StrategyContext(self.space, dict(settings or {}), seed, obj, budget=budget)
        self.strategy = make_strategy(strategy, ctx)
        self.points: list[dict[str, Any]] = []
        self.values: list[Any] = []
        self.outcomes: list[MultiOutcome] = []

    def ask(self, n: int = 1) -> list[dict[str, Any]]:
        """``n`` points to evaluate next, as dicts ``name → value`` (the same again until :meth:`tell`)."""
        if isinstance(n, bool) or not isinstance(n, int) or n < 1:
            raise CampaignError("n", n, "expected a positive integer", ">= 1")
        return [self.space.values(p) for p in self.strategy.ask(n)]

    def tell(self, points: Sequence[Mapping[str, Any]], values: Sequence[float | None]) -> None:
        """Learn the function's ``values`` at ``points`` (None or NaN: the evaluation failed)."""
        if len(points) != len(values):
            raise CampaignError("values", len(values), "one value per point", str(len(points)))
        checked = [self._check(p) for p in points]
        if self.objectives is not None:
            multi = [self._multi(v) for v in values]
            self.strategy.tell(checked, multi)
            self.points += checked
            self.values += [o.values for o in multi]
            self.outcomes += multi
            return
        outcomes = []
        for v in values:
            if v is None or (isinstance(v, float) and math.isnan(v)):
                outcomes.append(Outcome(None, None, True, "evaluation failed"))
            elif isinstance(v, bool) or not isinstance(v, int | float) or not math.isfinite(v):
                raise CampaignError("values", v, "expected a finite number, or None for a failed evaluation")
            else:
                outcomes.append(Outcome(float(v), float(v), False))
        self.strategy.tell(checked, outcomes)
        self.points += checked
        self.values += [o.value for o in outcomes]

    def _multi(self, v: Any) -> MultiOutcome:
        obj = self.objectives
        if obj is None:
            raise CampaignError("objectives", None, "values of several objectives told to a single objective")
        m, c = len(obj.goals), obj.n_constraints
        if v is None:
            return MultiOutcome(None, None, None, True, "evaluation failed")
        try:
            row = [float(x) for x in v]
        except (TypeError, ValueError):
            raise CampaignError("values", v, f"expected {m + c} numbers (objectives, then constraint slacks), "
                                "or None for a failed evaluation") from None
        if len(row) != m + c:
            raise CampaignError("values", v, "wrong number of entries", f"{m} objectives + {c} slacks")
        if any(math.isnan(x) for x in row):
            return MultiOutcome(None, None, None, True, "evaluation failed")
        if not all(math.isfinite(x) for x in row):
            raise CampaignError("values", v, "expected finite numbers, or None for a failed evaluation")
        vals = tuple(row[:m])
        return MultiOutcome(vals, tuple(g.score(x) for g, x in zip(obj.goals, vals, strict=True)),
                            tuple(row[m:]), False)

    def front(self) -> list[tuple[dict[str, Any], tuple[float, ...]]]:
        """The measured Pareto front: (point, objective values) of the feasible evaluations no other dominates."""
        if self.objectives is None:
            raise CampaignError("objectives", None, "front() needs several objectives")
        told = [(p, o) for p, o in zip(self.points, self.outcomes, strict=True) if o.feasible]
        if not told:
            return []
        mask = pareto_mask([o.scores for _, o in told])
        return [(p, o.values) for (p, o), keep in zip(told, mask, strict=True) if keep]

    def _check(self, point: Mapping[str, Any]) -> dict[str, Any]:
        if not isinstance(point, Mapping):
            raise CampaignError("points", point, "expected a dict name → value")
        missing = [n for n in self.space.names if n not in point]
        unknown = sorted(set(point) - set(self.space.names) - set(self.space.fixed))
        if missing or unknown:
            raise CampaignError("points", dict(point), f"missing {missing}" if missing else f"unknown {unknown}",
                                ", ".join(self.space.names))
        for d in self.space.dimensions:
            v = point[d.name]
            if d.is_categorical:
                ok = v in d.categories
            else:
                ok = not isinstance(v, bool) and isinstance(v, int | float) and d.low <= v <= d.high
            if not ok:
                allowed = " | ".join(d.categories) if d.is_categorical else f"[{d.low:g}, {d.high:g}] {d.unit}"
                raise CampaignError(f"points.{d.name}", v, "outside the variable's range", allowed.rstrip())
        return dict(point)

    def best(self) -> tuple[dict[str, Any], float] | None:
        """The best point told so far and its value, or None before any successful evaluation."""
        if self.objectives is not None:
            raise CampaignError("objectives", len(self.objectives.goals), "several objectives have a front, not a "
                                "best point: use front()")
        ok = [(v, i) for i, v in enumerate(self.values) if v is not None]
        if not ok:
            return None
        v, i = min(ok)
        return self.points[i], v


def _plain_objectives(directions: Sequence[str], reference: Sequence[float] | None,
                      n_constraints: int) -> PlainObjectives:
    if isinstance(directions, str) or len(directions) < 2:
        raise CampaignError("objectives", directions, "several objectives expected", "a list of >= 2 directions")
    bad = [d for d in directions if d not in ("minimize", "maximize")]
    if bad:
        raise CampaignError("objectives", bad[0], "not a direction", "minimize | maximize")
    if reference is not None and (len(reference) != len(directions)
                                  or not all(math.isfinite(float(r)) for r in reference)):
        raise CampaignError("reference", list(reference), "one finite number per objective", str(len(directions)))
    if isinstance(n_constraints, bool) or not isinstance(n_constraints, int) or n_constraints < 0:
        raise CampaignError("n_constraints", n_constraints, "expected a non-negative integer", ">= 0")
    refs = list(reference) if reference is not None else [None] * len(directions)
    return PlainObjectives(tuple(PlainGoal(f"f{j}", d, None if r is None else float(r))
                                 for j, (d, r) in enumerate(zip(directions, refs, strict=True))), n_constraints)
