"""Strategy ``twin-mobo``: ``mobo`` with the deterministic twin as the prior mean of every goal it predicts.

For each goal whose result field the twin computes (:data:`twin.batch.OUTCOMES`, e.g. interface resistance,
process time, ionic conductivity), the surrogate is::

    score(x) = t(x) + s · (c + δ(x)) + ε       t: the deterministic twin's score of that field (vectorised,
                                                :meth:`campaigns.twin_eval.TwinEvaluator.result_fields`);
                                                s: the twin's spread of that score over the space;
                                                c + δ: skopt's GP on the scaled residuals (its mean is c)

The discrepancy stays humble as in ``twin-prior`` (:mod:`campaigns.twin_ensemble`): its amplitude is bounded
below by ``DISCREPANCY_FLOOR`` × the twin's spread (never normalised by the spread of a few clustered runs, so the
acquisition stays alive where no run has looked) and its length scales by ``DISCREPANCY_LENGTH_LOW``. Goals the
twin does not predict get ``mobo``'s plain GP. Outcome constraints keep plain GPs on their slacks.

P(success) is ``(1 − P_twin)(1 − P_runs)``: the twin's chance of a short or of a broken hard rule (process time,
thickness), as ``twin-prior`` weighs it, times the kernel model of the failed runs.

**Not done here**: ``twin-prior``'s calibration of the twin's parameters inside the loop (the importance-sampled
posterior over parameters, the ensemble of calibrated twins and the model averaging with a plain GP). Calibrating
one parameter set against several goals at once needs a joint likelihood over the goals; that was left out, so a
twin that is wrong in shape is corrected only by the discrepancy GPs.

The initial design is shorter than ``mobo``'s (``n_initial`` = 4: the twin supplies the prior, the runs only have
to show the discrepancy; an assumption, not a tuned number).
"""

from __future__ import annotations

from typing import Any

import numpy as np
from scipy.stats import qmc

from campaigns import acquisition as acq
from campaigns.mobo import MOBO_SETTINGS, MOBOStrategy, _check_objective
from campaigns.strategies import Strategy, StrategyContext, _seed, register_strategy, settings_from
from campaigns.twin_ensemble import DISCREPANCY_FLOOR
from campaigns.twin_eval import TwinEvaluator
from campaigns.twin_prior import DISCREPANCY_LENGTH_LOW
from twin import Chamber
from twin.batch import OUTCOMES

TWIN_MOBO_SETTINGS: dict[str, tuple[Any, Any]] = {**MOBO_SETTINGS, "n_initial": (int, 4),
                                                   "length_scale_prior": (bool, False), "trust_region": (bool, False)}
"""Settings of ``twin-mobo``: those of ``mobo`` (:data:`campaigns.mobo.MOBO_SETTINGS`), a shorter initial design."""

TWIN_FIELDS = frozenset(OUTCOMES) | {"total_resistance_ohm_cm2"}
"""Result fields the vectorised twin predicts."""


class _TwinGoals:
    """The deterministic twin's scores of the predicted goals at unit-cube rows, and its P(failure); remembers the
    last rows asked (every goal's surrogate asks for the same candidates in turn)."""

    def __init__(self, evaluator: TwinEvaluator, goals: list[Any], design: np.ndarray) -> None:
        self.evaluator, self.goals = evaluator, goals
        self.fields = [g.field for g in goals]
        self._last: tuple[np.ndarray, np.ndarray, np.ndarray] | None = None
        raw, _ = self._raw(design)
        self.worst = np.array([np.nanmax(c) if np.isfinite(c).any() else 0.0 for c in raw.T])
        scores = np.where(np.isfinite(raw), raw, self.worst)
        self.spread = np.array([max(float(np.std(c)), 1e-9) for c in scores.T])

    def _raw(self, u: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        values, p_fail = self.evaluator.result_fields(u, self.fields)
        cols = []
        for g in self.goals:
            v = values[g.field]
            with np.errstate(divide="ignore", invalid="ignore"):
                s = np.log10(v) if g.log else v
            s = s if g.direction == "minimize" else -s
            cols.append(np.where(np.isfinite(s), s, np.nan))
        return np.column_stack(cols), p_fail

    def __call__(self, u: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Scores (N, goals) [score units] (the worst over the space where the twin cannot run a recipe) and
        P(failure) (N,)."""
        u = np.atleast_2d(np.asarray(u, float))
        if self._last is not None and self._last[0].shape == u.shape and np.array_equal(self._last[0], u):
            return self._last[1], self._last[2]
        raw, p_fail = self._raw(u)
        scores = np.where(np.isfinite(raw), raw, self.worst)
        self._last = (u.copy(), scores, p_fail)
        return scores, p_fail


class TwinGoalSurrogate:
    """Twin prior mean plus a humble GP discrepancy for one goal (see the module docstring); a
    :class:`campaigns.acquisition.Surrogate`."""

    def __init__(self, twin: _TwinGoals, j: int, u: np.ndarray, y: np.ndarray, *, seed: int, gp_restarts: int = 1,
                 frozen: Any = None) -> None:
        from campaigns import _skopt

        self.twin, self.j, self.scale = twin, j, float(twin.spread[j])
        resid = (np.asarray(y, float) - twin(u)[0][:, j]) / self.scale
        if frozen is not None:
            self.gp = _skopt.GPSurrogate(u, resid, seed=seed, frozen=frozen)
        else:
            self.gp = _skopt.fit_gp(u, resid, seed=seed, gp_restarts=gp_restarts,
                                    amplitude_bounds=(DISCREPANCY_FLOOR**2, 16.0),
                                    length_scale_low=DISCREPANCY_LENGTH_LOW)
        self.u, self.y, self.seed = np.asarray(u, float), np.asarray(y, float), seed

    def posterior(self, u: np.ndarray) -> acq.Posterior:
        u = np.atleast_2d(np.asarray(u, float))
        mean, std = self.gp.predict_unit(u)
        prior = self.twin(u)[0][:, self.j]
        return acq.Posterior.gaussian(prior + self.scale * mean, self.scale * std, self.scale * self.gp.noise_std)

    def condition(self, u: np.ndarray, y: np.ndarray) -> TwinGoalSurrogate:
        u = np.asarray(u, float).reshape(-1, self.u.shape[1])
        return TwinGoalSurrogate(self.twin, self.j, np.vstack([self.u, u]), np.concatenate([self.y, y]),
                                 seed=self.seed, frozen=self.gp)


class _TwinFailure:
    """P(failure) = 1 − (1 − P_twin)(1 − P_runs)."""

    def __init__(self, twin: _TwinGoals, runs: acq.FailureModel | None) -> None:
        self.twin, self.runs = twin, runs

    def probability(self, u: np.ndarray) -> np.ndarray:
        p = np.clip(self.twin(u)[1], 0.0, 1.0)
        if self.runs is not None:
            p = 1.0 - (1.0 - p) * (1.0 - self.runs.probability(u))
        return p


class TwinMOBOStrategy(MOBOStrategy):
    """``mobo`` whose goals the twin predicts have the twin as prior mean; see the module docstring."""

    name = "twin-mobo"

    def __init__(self, ctx: StrategyContext, settings: dict[str, Any]) -> None:
        _check_objective(ctx, self.name)
        super().__init__(ctx, settings)
        self.chamber = ctx.chamber if ctx.chamber is not None else Chamber()
        goals = list(self.objective.goals)
        self.twin_goals = [j for j, g in enumerate(goals) if getattr(g, "field", None) in TWIN_FIELDS
                           and hasattr(g, "log") and self.space.has_recipe]
        self._twin: _TwinGoals | None = None

    def twin(self) -> _TwinGoals:
        """The twin's scores of the goals it predicts (built once: a Sobol design fixes the spreads)."""
        if self._twin is None:
            evaluator = TwinEvaluator(self.chamber, self.space, self.objective.hard)
            design = qmc.Sobol(len(self.space), scramble=True, seed=1234).random(256)
            self._twin = _TwinGoals(evaluator, [self.objective.goals[j] for j in self.twin_goals], design)
        return self._twin

    def _goal_surrogate(self, j: int, u: np.ndarray, y: np.ndarray, seed: int) -> acq.Surrogate:
        if j not in self.twin_goals:
            return super()._goal_surrogate(j, u, y, seed)
        return TwinGoalSurrogate(self.twin(), self.twin_goals.index(j), u, y, seed=seed,
                                 gp_restarts=self.settings["gp_restarts"])

    def _failure_model(self, u: np.ndarray, uf: np.ndarray, seed: int) -> acq.FailureModel | None:
        runs = super()._failure_model(u, uf, seed)
        if not self.twin_goals or not self.space.has_recipe:
            return runs
        return _TwinFailure(self.twin(), runs)

    def _candidates(self) -> np.ndarray | None:
        """Besides the measured runs, the twin's own best points of each predicted goal on a Sobol design."""
        base = super()._candidates()
        if not self.twin_goals:
            return base
        u = qmc.Sobol(len(self.space), scramble=True, seed=_seed(self.seed, 0, 41)).random(1024)
        scores, p_fail = self.twin()(u)
        ok = p_fail < 0.5
        if not ok.any():
            return base
        best = np.vstack([u[ok][np.argsort(scores[ok, k])[:4]] for k in range(scores.shape[1])])
        return best if base is None else np.vstack([base, best])

    def diagnostics(self) -> dict[str, Any]:
        out = super().diagnostics()
        out["twin_goals"] = [self.objective.goals[j].field for j in self.twin_goals]
        out["calibrated"] = False
        return out


@register_strategy("twin-mobo")
def _make_twin_mobo(ctx: StrategyContext) -> Strategy:
    return TwinMOBOStrategy(ctx, settings_from(ctx.settings, TWIN_MOBO_SETTINGS))
