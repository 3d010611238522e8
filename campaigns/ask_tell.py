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

A value of ``None`` (or NaN) tells the strategy the evaluation failed; ``gp`` then handles it by its
``failure_penalty`` rule (see :mod:`campaigns.strategies`). Strategies that need the twin (``twin-prior``) need a
recipe and cannot run on a plain space. As in a campaign, proposals depend only on the seed and what was told,
so ``ask`` returns the same points until ``tell``.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

from campaigns.config import Objective, Outcome
from campaigns.errors import CampaignError
from campaigns.space import SearchSpace
from campaigns.strategies import StrategyContext, make_strategy
from campaigns.variables import Dimension

PLAIN_STRATEGIES = ("gp", "random", "space-filling")
"""Strategies that work on plain variables (they treat the space as points; ``twin-prior`` needs the twin)."""


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
    """

    def __init__(self, space: SearchSpace | Sequence[Dimension] | Mapping[str, Any], strategy: str = "gp", *,
                 seed: int = 0, settings: Mapping[str, Any] | None = None, budget: int = 30) -> None:
        self.space = space if isinstance(space, SearchSpace) else SearchSpace.from_variables(space)
        if strategy not in PLAIN_STRATEGIES:
            raise CampaignError("strategy", strategy, "not usable on plain variables", " | ".join(PLAIN_STRATEGIES))
        if isinstance(seed, bool) or not isinstance(seed, int) or seed < 0:
            raise CampaignError("seed", seed, "expected a non-negative integer", ">= 0")
        ctx = StrategyContext(self.space, dict(settings or {}), seed, Objective(log=False), budget=budget)
        self.strategy = make_strategy(strategy, ctx)
        self.points: list[dict[str, Any]] = []
        self.values: list[float | None] = []

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
        ok = [(v, i) for i, v in enumerate(self.values) if v is not None]
        if not ok:
            return None
        v, i = min(ok)
        return self.points[i], v
