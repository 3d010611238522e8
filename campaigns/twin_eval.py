"""The twin's campaign score on many points of a space and many parameter sets at once.

A strategy that calibrates the twin inside the loop evaluates the deterministic twin tens of thousands of times per
proposal: every candidate parameter set at every measured run, every ensemble member at every candidate recipe.
:class:`TwinEvaluator` does that in one call of the vectorised twin (:func:`twin.expected_outcomes`) where it is
available, and run by run through :func:`twin.simulate_queue` otherwise (the same numbers, slower); each row may
carry its own parameter values and its own chamber state (hours since vent, target and shield kWh), so that a run
is predicted in the state it started in.

The score is the campaign objective's (``log10`` of the primary value plus the weighted secondary, or the value
itself), computed from the twin's expected outcome; :meth:`TwinEvaluator.evaluate` also returns the chance that the
run fails by the campaign's rules: the twin's short probability, and 1 where the expected run breaks the process
time or thickness constraint.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from campaigns.config import Objective
from campaigns.space import SearchSpace
from twin import Chamber, Recipe, simulate_queue
from twin.errors import InputError

try:  # the vectorised deterministic twin
    from twin import expected_outcomes as _batch
except ImportError:  # pragma: no cover - an older twin without it
    _batch = None

STATE_KEYS = ("hours_since_vent", "target_kwh", "shield_kwh")
"""Chamber state fields a row may set (``state.<key>`` of the chamber)."""

_FIELDS = ("shorted", "short_probability", "process_time_s", "thickness_nm", "interface_resistance_ohm_cm2",
           "bulk_resistance_ohm_cm2", "deposition_time_s", "plasma_time_s", "damaged_layer_nm",
           "interface_contamination_ml")


@dataclass(frozen=True)
class TwinScores:
    """Scores [score units] (``inf`` where the twin cannot run the recipe) and P(failure) [0–1] per row."""

    score: np.ndarray
    p_fail: np.ndarray


class TwinEvaluator:
    """The deterministic twin's campaign score at unit-cube rows of ``space``, vectorised over rows."""

    def __init__(self, chamber: Chamber, space: SearchSpace, objective: Objective) -> None:
        self.chamber, self.space, self.objective = chamber, space, objective
        self.vectorised = _batch is not None

    def evaluate(self, u: np.ndarray, params: Mapping[str, np.ndarray] | None = None,
                 state: Mapping[str, np.ndarray] | None = None,
                 r_int_factor: Callable[[dict[str, np.ndarray]], np.ndarray] | None = None) -> TwinScores:
        """Scores of rows ``u`` (N, d); ``params`` maps dotted chamber parameter names to arrays of N values (or
        scalars); ``state`` maps :data:`STATE_KEYS` to arrays of N values. ``r_int_factor(columns)`` (N factors)
        multiplies the interface resistance before the objective is computed from it: an effect the twin lacks, as a
        tool unlike it shows it (``benchmarks/mismatch.py``'s structural realities)."""
        u = np.atleast_2d(np.asarray(u, float))
        return self._run(self.columns(u), len(u), params, state, r_int_factor)

    def evaluate_points(self, points: Sequence[Sequence[Any]], params: Mapping[str, np.ndarray] | None = None,
                        state: Mapping[str, np.ndarray] | None = None) -> TwinScores:
        """As :meth:`evaluate`, at points of the space (one value per dimension)."""
        return self.evaluate(self.space.unit_cube([list(p) for p in points]), params, state)

    def result_fields(self, u: np.ndarray, names: Sequence[str],
                      params: Mapping[str, float | np.ndarray] | None = None) -> tuple[dict[str, np.ndarray],
                                                                                      np.ndarray]:
        """The deterministic twin's values of result fields ``names`` at rows ``u`` (NaN where it cannot run the
        recipe), and P(failure) by the objective's hard rules (as :meth:`evaluate`), in one vectorised call;
        ``params`` maps dotted chamber parameter names to a value or one value per row."""
        if not self.vectorised:
            raise RuntimeError("result_fields needs the vectorised twin (twin.expected_outcomes)")
        u = np.atleast_2d(np.asarray(u, float))
        cols, n = self.columns(u), len(u)
        par = {k: np.broadcast_to(np.asarray(v, float), (n,)) for k, v in (params or {}).items()}
        res = _batch(cols, self.chamber, params=par or None, check_limits=False)
        out = {f: np.broadcast_to(np.asarray(getattr(res, f), float), (n,)) for f in _FIELDS if f != "shorted"}
        out["shorted"] = np.asarray(res.shorted, float)
        values = {f: np.asarray(getattr(res, f), float).reshape(n) for f in names}
        return values, self._score(out, cols["target_thickness_nm"]).p_fail

    def columns(self, u: np.ndarray) -> dict[str, np.ndarray]:
        """Recipe fields as columns at unit-cube rows, with the space's fixed fields and its two repairs
        (:meth:`campaigns.space.SearchSpace.to_recipe`), vectorised."""
        n = len(u)
        cols: dict[str, np.ndarray] = {}
        defaults = Recipe()
        for name in Recipe.fields():
            v = self.space.fixed.get(name, getattr(defaults, name))
            cols[name] = np.full(n, v, dtype=object if isinstance(v, str) else float)
        for j, d in enumerate(self.space.dimensions):
            if d.extra:  # an extra variable of the campaign: the twin does not model it (campaigns.variables)
                continue
            x = np.clip(u[:, j], 0.0, 1.0)
            if d.is_categorical:
                k = len(d.categories)
                idx = np.minimum((x * k).astype(int), k - 1)
                cols[d.name] = np.array(d.categories, dtype=object)[idx]
            elif d.log:
                cols[d.name] = np.clip(np.exp(np.log(d.low) + x * (np.log(d.high) - np.log(d.low))), d.low, d.high)
            else:
                cols[d.name] = np.clip(d.low + x * (d.high - d.low), d.low, d.high)
        cols["air_exposure_min"] = np.where(cols["transfer"] == "vacuum", 0.0, cols["air_exposure_min"])
        cols["seed_thickness_nm"] = np.minimum(cols["seed_thickness_nm"], cols["target_thickness_nm"])
        return cols

    def _run(self, cols: dict[str, np.ndarray], n: int, params: Mapping[str, np.ndarray] | None,
             state: Mapping[str, np.ndarray] | None,
             r_int_factor: Callable[[dict[str, np.ndarray]], np.ndarray] | None = None) -> TwinScores:
        params = {k: np.broadcast_to(np.asarray(v, float), (n,)) for k, v in (params or {}).items()}
        state = {k: np.broadcast_to(np.asarray(v, float), (n,)) for k, v in (state or {}).items()}
        out = self._batch(cols, n, params, state) if self.vectorised else self._loop(cols, n, params, state)
        if r_int_factor is not None:
            out = {**out, "interface_resistance_ohm_cm2": out["interface_resistance_ohm_cm2"] * r_int_factor(cols)}
        return self._score(out, cols["target_thickness_nm"])

    def _batch(self, cols: dict[str, np.ndarray], n: int, params: dict[str, np.ndarray],
               state: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        res = _batch(cols, self.chamber, params=params or None, state=state or None, check_limits=False)
        out = {f: np.broadcast_to(np.asarray(getattr(res, f), float), (n,)) for f in _FIELDS if f != "shorted"}
        out["shorted"] = np.asarray(res.shorted, float)
        return out

    def _loop(self, cols: dict[str, np.ndarray], n: int, params: dict[str, np.ndarray],
              state: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        out = {f: np.full(n, np.nan) for f in _FIELDS}
        cache: dict[tuple, Chamber] = {}
        for i in range(n):
            try:
                r = Recipe(**{k: (v[i] if v.dtype == object else float(v[i])) for k, v in cols.items()})
            except (InputError, ValueError):
                continue
            changes = {k: float(v[i]) for k, v in params.items()}
            changes.update({f"state.{k}": float(v[i]) for k, v in state.items()})
            key = tuple(sorted(changes.items()))
            if key not in cache:
                if len(cache) > 4096:
                    cache.clear()
                try:  # a parameter set can break a cross-check (a window's low above its high): no prediction
                    cache[key] = self.chamber.replace(changes) if changes else self.chamber
                except (InputError, ValueError):
                    cache[key] = None
            if cache[key] is None:
                continue
            try:
                res = simulate_queue([r], cache[key], deterministic=True, check=False)[0]
            except (InputError, ValueError, ZeroDivisionError, OverflowError):
                continue
            for f in _FIELDS:
                out[f][i] = float(getattr(res, f))
        return out

    def _score(self, out: dict[str, np.ndarray], target: np.ndarray) -> TwinScores:
        obj = self.objective
        value = np.array(out[obj.minimize] if obj.minimize in out else
                         out["interface_resistance_ohm_cm2"] + out["bulk_resistance_ohm_cm2"], float)
        if obj.secondary and obj.secondary_weight:
            value = value + obj.secondary_weight * out[obj.secondary]
        with np.errstate(divide="ignore", invalid="ignore"):
            score = np.log10(value) if obj.log else value
        score = np.where(np.isfinite(score), score, math.inf)
        broken = (out["process_time_s"] > obj.max_process_time_h * 3600.0) | (
            np.abs(out["thickness_nm"] - target) / target > obj.thickness_tolerance)
        p_fail = np.where(broken | ~np.isfinite(score), 1.0, np.nan_to_num(out["short_probability"], nan=1.0))
        return TwinScores(score, np.clip(p_fail, 0.0, 1.0))
