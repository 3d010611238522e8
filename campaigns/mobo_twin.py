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

**Calibration** (``calibrate = true``, from ``CALIBRATE_FROM`` successful runs): the twin's parameters that the
runs call for are refitted jointly against every goal it predicts (:mod:`campaigns.mobo_calibrate`: the goals'
Gaussian log-likelihoods summed), and the maximum a posteriori parameter set is the twin every goal's prior mean
and P(failure) come from; the discrepancy GPs are fitted to the residuals of that twin. The calibrated twin is kept
only if the goals' surrogates on it predict the runs better, each left out in turn, than those on the default twin
(:meth:`TwinMOBOStrategy._judge`): a twin wrong in structure can be fitted into a shape that suits the runs' worst
goal and spoils the rest. Unlike ``twin-prior``, no ensemble of calibrated twins and no model averaging with a
plain GP: the parameters' uncertainty is not carried into the goals' posteriors. Measured (``benchmarks/pareto.py
--reality``, seeds 0–9, median runs to 90 % of the reality's reference hypervolume, calibrated against
``calibrate = false``; developed on seeds 100–103): walls giving off 30× the water 33.5 against 39, 30× the O⁻
yield 12 against 35.5; on a tool with an effect the twin lacks (plasma heating) calibration cost runs, 17 against
14.5 (on the development seeds 19 against 14, and 23 before the check).

The initial design is shorter than ``mobo``'s (``n_initial`` = 4: the twin supplies the prior, the runs only have
to show the discrepancy; an assumption, not a tuned number).
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
from scipy.stats import qmc

from campaigns import acquisition as acq
from campaigns.errors import CampaignError
from campaigns.mobo import MOBO_SETTINGS, MOBOStrategy, _check_objective
from campaigns.strategies import Strategy, StrategyContext, _seed, register_strategy, settings_from
from campaigns.twin_ensemble import DISCREPANCY_FLOOR
from campaigns.twin_eval import TwinEvaluator
from campaigns.twin_prior import DISCREPANCY_LENGTH_LOW
from twin import Chamber
from twin.batch import OUTCOMES

TWIN_MOBO_SETTINGS: dict[str, tuple[Any, Any]] = {**MOBO_SETTINGS, "n_initial": (int, 4),
                                                   "length_scale_prior": (bool, False), "trust_region": (bool, False),
                                                   "calibrate": (bool, True), "max_parameters": (int, 4),
                                                   "n_samples": (int, 256)}
"""Settings of ``twin-mobo``: those of ``mobo`` (:data:`campaigns.mobo.MOBO_SETTINGS`), a shorter initial design;
``calibrate``: refit the twin's parameters to the runs (:mod:`campaigns.mobo_calibrate`), at most
``max_parameters`` of them, from ``n_samples`` prior samples."""
CALIBRATE_FROM = 3
"""Successful runs from which the twin is calibrated (the fitted discrepancy needs three)."""

TWIN_FIELDS = frozenset(OUTCOMES) | {"total_resistance_ohm_cm2"}
"""Result fields the vectorised twin predicts."""


class _TwinGoals:
    """The deterministic twin's scores of the predicted goals at unit-cube rows, and its P(failure); remembers the
    last rows asked (every goal's surrogate asks for the same candidates in turn)."""

    def __init__(self, evaluator: TwinEvaluator, goals: list[Any], design: np.ndarray,
                 params: dict[str, float] | None = None) -> None:
        self.evaluator, self.goals = evaluator, goals
        self.fields = [g.field for g in goals]
        self.params = dict(params or {})
        self._last: tuple[np.ndarray, np.ndarray, np.ndarray] | None = None
        raw, _ = self._raw(design)
        self.worst = np.array([np.nanmax(c) if np.isfinite(c).any() else 0.0 for c in raw.T])
        scores = np.where(np.isfinite(raw), raw, self.worst)
        self.spread = np.array([max(float(np.std(c)), 1e-9) for c in scores.T])

    def _raw(self, u: np.ndarray, params: dict[str, Any] | None = None) -> tuple[np.ndarray, np.ndarray]:
        """Scores (NaN where the twin cannot run) and P(failure); ``params`` (one value per row, or scalars)
        replace this twin's own parameter values."""
        values, p_fail = self.evaluator.result_fields(u, self.fields, self.params if params is None else params)
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

    def loo_log_density(self) -> float:
        """Leave-one-out log predictive density of the runs' scores [score units], summed (the discrepancy GP's
        closed form, its hyper-parameters and the twin fixed)."""
        return self.gp.loo_log_density() - len(self.y) * math.log(self.scale)

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
        for key, (lo, hi) in {"max_parameters": (0, 20), "n_samples": (16, 100_000)}.items():
            if not lo <= settings[key] <= hi:
                raise CampaignError(f"strategy.{key}", settings[key], "out of range", f"[{lo}, {hi}]")
        self.chamber = ctx.chamber if ctx.chamber is not None else Chamber()
        goals = list(self.objective.goals)
        self.twin_goals = [j for j, g in enumerate(goals) if getattr(g, "field", None) in TWIN_FIELDS
                           and hasattr(g, "log") and self.space.has_recipe]
        self._default: _TwinGoals | None = None
        self._twin: _TwinGoals | None = None
        self._calibration: dict[str, Any] = {}
        self._ready: dict[int, TwinGoalSurrogate] = {}
        self._candidate_parameters: list[Any] | None = None

    def _design_rows(self) -> np.ndarray:
        return qmc.Sobol(len(self.space), scramble=True, seed=1234).random(256)

    def default_twin(self) -> _TwinGoals:
        """The twin with the chamber's own parameter values (built once: a Sobol design fixes the spreads)."""
        if self._default is None:
            evaluator = TwinEvaluator(self.chamber, self.space, self.objective.hard)
            self._default = _TwinGoals(evaluator, [self.objective.goals[j] for j in self.twin_goals],
                                       self._design_rows())
        return self._default

    def twin(self) -> _TwinGoals:
        """The twin the goals' prior means come from: calibrated to the runs at the last fit, else the default."""
        return self._twin if self._twin is not None else self.default_twin()

    def _calibrate(self, u: np.ndarray, y: np.ndarray) -> None:
        """Refit the twin's parameters to the successful runs (rows ``u``, all goals' scores ``y``)."""
        from campaigns.mobo_calibrate import calibrate
        from campaigns.twin_ensemble import candidate_parameters

        s = self.settings
        if not (s["calibrate"] and self.twin_goals and self.space.has_recipe and len(y) >= CALIBRATE_FROM
                and s["max_parameters"] > 0):
            self._twin, self._calibration = None, {}
            return
        base = self.default_twin()
        if self._candidate_parameters is None:
            self._candidate_parameters = candidate_parameters(self.chamber)
        cal = calibrate(lambda rows, par: base._raw(rows, par)[0], self._candidate_parameters, u,
                        y[:, self.twin_goals], base.spread, max_parameters=s["max_parameters"],
                        n_samples=s["n_samples"], seed=_seed(self.seed, len(self.points), 43))
        self._calibration = {**cal.diagnostics, "successful_runs": len(y)}
        self._twin = (_TwinGoals(base.evaluator, base.goals, self._design_rows(), cal.params) if cal.params
                      else None)

    def _fit(self, u: np.ndarray, y: np.ndarray, s: np.ndarray, feas: np.ndarray, uf: np.ndarray) -> Any:
        self._calibrate(u, y)
        self._ready = {}
        if self._twin is not None:
            self._judge(u, y)
        try:
            return super()._fit(u, y, s, feas, uf)
        finally:
            self._ready = {}

    def _judge(self, u: np.ndarray, y: np.ndarray) -> None:
        """Keep the calibrated twin only if the goals' surrogates on it predict the runs better, left out one at a
        time, than those on the default twin (summed leave-one-out log predictive densities, the discrepancy GPs
        refitted for each twin; the calibration itself is not redone per left-out run, which favours it slightly).
        A twin wrong in structure can be "calibrated" into a shape that fits the runs' goal it misses and spoils the
        others or the space between the runs; this is the check."""
        seed = _seed(self.seed, len(self.points), 17)  # the seeds MOBOStrategy._fit gives the goals' GPs
        fits = {}
        twins: tuple[tuple[str, Any], ...] = (("calibrated", self._twin), ("default", self.default_twin()))
        for label, twin in twins:
            fits[label] = {j: TwinGoalSurrogate(twin, k, u, y[:, j], seed=_seed(seed, j),
                                                gp_restarts=self.settings["gp_restarts"])
                           for k, j in enumerate(self.twin_goals)}
        score = {label: sum(g.loo_log_density() for g in f.values()) for label, f in fits.items()}
        keep = score["calibrated"] > score["default"]
        self._calibration.update({"loo_calibrated": round(score["calibrated"], 2),
                                  "loo_default": round(score["default"], 2), "kept": bool(keep)})
        if not keep:
            self._twin = None
        self._ready = fits["calibrated" if keep else "default"]

    def _goal_surrogate(self, j: int, u: np.ndarray, y: np.ndarray, seed: int) -> acq.Surrogate:
        if j in self._ready:  # fitted by _judge for these runs
            return self._ready[j]
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
        kept = self._calibration.get("kept", True)
        out["calibrated"] = list(self._calibration.get("calibrated", [])) if kept else []
        if self._calibration:
            out["calibration"] = {k: v for k, v in self._calibration.items() if k != "calibrated"}
        return out


@register_strategy("twin-mobo")
def _make_twin_mobo(ctx: StrategyContext) -> Strategy:
    return TwinMOBOStrategy(ctx, settings_from(ctx.settings, TWIN_MOBO_SETTINGS))
