"""Strategy ``twin-prior``: Bayesian optimisation on a twin that is calibrated inside the loop and stays humble.

Surrogate (:mod:`campaigns.twin_ensemble` for the details)::

    y(x) = m_θ(x) + c + δ(x) + ε      θ: the twin's identifiable parameters, refitted to every measured run
                                       (each in the chamber state it started in); c: an offset; δ: a GP

* **Before any run** the surrogate is the twin with the chamber's own values: the first proposal is the twin's
  optimum (found once per chamber and space by a dense search polished by Nelder–Mead, and cached).
* **As runs arrive** the parameters whose changes move the twin's landscape over this campaign's space are
  refitted globally (importance sampling over their prior; no local optimiser to get stuck at the default), and
  their uncertainty is carried as an ensemble of calibrated twins: the surrogate is a mixture, wide where the
  calibrated twins disagree, so EI explores there.
* **The discrepancy stays humble**: its amplitude is bounded below by a share of the twin's spread over the space,
  not normalised by the spread of a few clustered runs; EI stays alive where no run has looked.
* **Structural error and the fall-back to gp**: the best parameter set's χ² against the twin's own scatter (how
  well the twin predicts runs of its own stochastic tool, measured once per chamber and space) says whether any
  parameter set explains the runs. While it does, the surrogate is the twin ensemble; as the p-value falls below
  1e-2 the surrogate becomes a mixture with plain ``gp`` (skopt's GP on the scores; with the runs' context beside the
  recipe where ``gp`` would model it: :meth:`TwinPriorStrategy._fallback_gp`), all ``gp`` at 1e-6
  (:func:`twin_weight`). The reduced χ², the twin's weight and ``structural = true`` (no parameter set fits) are
  reported (:meth:`TwinPriorStrategy.diagnostics`, kept with every proposal in the store and shown by
  ``campaign status`` and the dashboard). (Tried first: weights from leave-one-out predictive densities, pseudo-BMA;
  they favoured plain gp even on a tool that matched the twin, because the discrepancy's floored amplitude, kept for
  humility far from the runs, widens the twin's intervals near them too.)
* **Failure**: EI is weighted by P(success) = (1 − P_twin)(1 − P_runs): the calibrated twins' chance of a short or
  a broken constraint (weighted by the twin's share of the model average) and the kernel model of the failed runs
  (as ``gp``'s ``failure_penalty = "model"``).
* **Acquisition**: the shared layer (:mod:`campaigns.acquisition`): EI of the mixture (exact), one optimiser seeded
  with the twin's optima and the best runs, one constant liar.

With ``calibrate = false`` no parameter is refitted (the twin keeps the chamber's values, plus offset and
discrepancy); with ``model_averaging = false`` the twin ensemble alone is the surrogate.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Sequence
from typing import Any

import numpy as np
from scipy.optimize import minimize
from scipy.stats import qmc

from campaigns import acquisition as acq
from campaigns.config import Objective
from campaigns.errors import CampaignError
from campaigns.space import SearchSpace
from campaigns.strategies import (
    Strategy,
    StrategyContext,
    _Calibrated,
    _Observed,
    _seed,
    context_setting,
    register_strategy,
    settings_from,
)
from campaigns.twin_ensemble import (
    DISCREPANCY_FLOOR,
    OFFSET_STD_FACTOR,
    Discrepancy,
    EnsembleSurrogate,
    ParameterPrior,
    TwinPosterior,
    candidate_parameters,
    fit_posterior,
    profile_gain,
    select_parameters,
    shape_sensitivity,
)
from campaigns.twin_eval import STATE_KEYS, TwinEvaluator
from twin import Chamber, Recipe, simulate_queue
from twin.errors import InputError

log = logging.getLogger(__name__)

DISCREPANCY_LENGTH_LOW = 0.2
"""Shortest length scale of the discrepancy [unit cube]: with its amplitude floored, a shorter one would let it act
as extra noise near the runs instead of a smooth correction between them (an assumption)."""

TWIN_PRIOR_SETTINGS: dict[str, tuple[Any, Any]] = {
    "n_initial": (int, 1), "xi": (float, 0.01), "n_candidates": (int, 1000), "n_search": (int, 2000),
    "n_local": (int, 8), "twin_failure_penalty": (float, 0.5), "failure_penalty": (str, "model"),
    "calibrate": (bool, True), "max_parameters": (int, 6), "n_samples": (int, 384), "n_members": (int, 16),
    "model_averaging": (bool, True),
    "twin_weight": (str, "fit"), "twin_weight_prior_std": (float, 0.5),
}
"""Settings of ``twin-prior``: name → (type, default).

``n_initial``: the twin's optima proposed before the model takes over; ``xi``: EI margin [score units];
``n_candidates``: random candidates per acquisition search (besides the twin's optima and the best runs);
``n_search``/``n_local``: the twin's own dense search and the local optima kept; ``twin_failure_penalty``: added to
the twin's score where it predicts a failed run, in that search [score units]; ``failure_penalty``: ``model``
(failed runs modelled apart, as ``gp``), ``worst`` or ``drop``; ``calibrate``: refit the twin's parameters inside
the loop; ``max_parameters``: most parameters refitted; ``n_samples``: prior samples of the importance sampler;
``n_members``: calibrated twins in the ensemble; ``model_averaging``: fall back towards plain ``gp`` as the χ²
p-value falls (:func:`twin_weight`); ``context`` (checked apart, as ``gp``'s): ``"auto"`` (the default) hands the
twin each run's start state (hours since vent, target and shield kWh) and scores proposals in the state the next run
will start in, a list hands it those of the listed keys that are chamber state, ``"none"`` predicts every run and
proposal in the chamber's own ``[state]``. ``twin_weight``/``twin_weight_prior_std`` are kept so that campaigns
stored before calibration moved inside the loop still load; they have no effect (the model averaging replaced the
twin's fitted weight).
"""


def twin_score(chamber: Chamber, objective: Objective, recipe: Recipe, failure_penalty: float = 0.5) -> float:
    """The campaign score the deterministic twin predicts for ``recipe`` in ``chamber`` [score units].

    The objective's primary (and weighted secondary) value of the expected run, ``log10`` of it for a log
    objective; ``failure_penalty`` is added where the run would count as failed (shorted, off-target thickness,
    too long). A recipe the twin cannot run scores ``+inf``.

    Examples
    --------
    >>> from campaigns.config import Objective
    >>> round(twin_score(Chamber(), Objective(), Recipe()), 3)  # log10 of the default recipe's R_int
    1.048
    """
    try:
        res = simulate_queue([recipe], chamber, deterministic=True, check=False)[0]
    except (InputError, ValueError, ZeroDivisionError, OverflowError):
        return math.inf
    keys = {"shorted", "process_time_s", "thickness_nm", objective.minimize, objective.secondary} - {""}
    rd = {k: getattr(res, k) for k in keys}
    value = rd.get(objective.minimize)
    if value is None or not math.isfinite(value):
        return math.inf
    if objective.secondary and objective.secondary_weight:
        sec = rd.get(objective.secondary)
        value += objective.secondary_weight * float(sec if sec is not None else 0.0)
    if objective.log:
        if value <= 0:
            return math.inf
        score = math.log10(value)
    else:
        score = float(value)
    if objective.evaluate(rd, {"target_thickness_nm": recipe.target_thickness_nm}).failed:
        score += failure_penalty
    return score


def _space_key(space: SearchSpace) -> tuple:
    return (space.dimensions, tuple(sorted((k, repr(v)) for k, v in space.fixed.items())))


class _Twin:
    """The twin's penalised score on points of a space, with its own optima (built once per chamber/space)."""

    def __init__(self, chamber: Chamber, space: SearchSpace, objective: Objective, penalty: float) -> None:
        self.chamber, self.space, self.objective, self.penalty = chamber, space, objective, penalty
        self.evaluator = TwinEvaluator(chamber, space, objective)

    def scores_unit(self, u: np.ndarray) -> np.ndarray:
        t = self.evaluator.evaluate(u)
        return np.where(t.p_fail >= 0.5, t.score + self.penalty, t.score)

    def scores(self, points: Sequence[Sequence[Any]]) -> np.ndarray:
        if not len(points):
            return np.zeros(0)
        return self.scores_unit(self.space.unit_cube([list(p) for p in points]))

    def optima(self, n_search: int, n_local: int, seed: int) -> list[tuple[list[Any], float]]:
        """Distinct local optima of the twin's score, best first: ``n_search`` random points, the best few
        polished by Nelder–Mead in the unit cube, kept if farther than 0.1 (unit-cube distance) from a better one."""
        rng = np.random.default_rng(_seed(seed, 0, 7))
        d = len(self.space)
        u = rng.random((n_search, d))
        s = self.scores_unit(u)
        order = np.argsort(s)

        def f(x: np.ndarray) -> float:
            val = float(self.scores_unit(np.clip(x, 0.0, 1.0)[None, :])[0])
            return val if math.isfinite(val) else 1e6

        found: list[tuple[np.ndarray, float]] = []
        for i in order[: n_local * 2]:
            res = minimize(f, u[i], method="Nelder-Mead",
                           options={"maxfev": 40 * d, "xatol": 1e-3, "fatol": 1e-5, "initial_simplex": _simplex(u[i])})
            found.append((np.clip(res.x, 0.0, 1.0), float(f(res.x))))
        found += [(u[i], float(s[i])) for i in order[: 3 * n_local]]
        found.sort(key=lambda t: t[1])
        kept: list[tuple[np.ndarray, float]] = []
        for x, v in found:
            if all(np.linalg.norm(x - y) > 0.1 for y, _ in kept):
                kept.append((x, v))
            if len(kept) >= n_local:
                break
        pts = self.space.from_unit_cube(np.array([x for x, _ in kept]))
        return [(p, v) for p, (_, v) in zip(pts, kept, strict=True)]


def _simplex(u0: np.ndarray, step: float = 0.08) -> np.ndarray:
    d = u0.size
    sim = np.repeat(u0[None, :], d + 1, axis=0)
    for j in range(d):
        sim[j + 1, j] = u0[j] - step if u0[j] + step > 1.0 else u0[j] + step
    return sim


SCATTER_SEED = 0
"""The seed of the twin's scatter (:meth:`TwinPriorStrategy._scatter`): fixed, as the Sobol design of the landscape
is, so that what is cached per chamber, space and objective does not depend on a campaign's seed."""

_CACHE: dict[tuple, Any] = {}
"""Per (chamber, space, objective, settings): the twin's optima, the parameter selection and the twin's spread. The
runner rebuilds the strategy before every proposal, and these do not depend on the runs."""


def _cached(key: tuple, make: Any) -> Any:
    if key not in _CACHE:
        if len(_CACHE) >= 32:
            _CACHE.pop(next(iter(_CACHE)))
        _CACHE[key] = make()
    return _CACHE[key]


def twin_weight(p_value: float) -> float:
    """The calibrated twin's share of the surrogate, from the goodness of its best fit: 1 while the runs are
    consistent with some parameter set (χ² p-value ≥ 1e-2, or too few runs to judge), falling linearly in
    log10 p to 0 at p = 1e-6, where plain ``gp`` takes over (a rule of ours: the p-value answers "can any parameter
    set explain these runs?", the question the fall-back is about)."""
    if not math.isfinite(p_value):
        return 1.0
    return float(min(max((math.log10(max(p_value, 1e-300)) + 6.0) / 4.0, 0.0), 1.0))


def _noise_std(chamber: Chamber, objective: Objective) -> float:
    """Measurement noise of the score [score units] the chamber declares: its log-normal R_int noise, in log10 for
    a log objective (floored at 0.005)."""
    rel = float(chamber.noise.resistance_rel_sigma)
    return max(rel / math.log(10.0) if objective.log else rel, 0.005)


class _Averaged:
    """Pseudo-BMA of surrogates: the mixture of their posteriors with fixed weights (a Surrogate)."""

    def __init__(self, parts: list[tuple[float, Any]]) -> None:
        self.parts = [(w, s) for w, s in parts if w > 1e-6]

    def posterior(self, u: np.ndarray) -> acq.Posterior:
        if len(self.parts) == 1:
            return self.parts[0][1].posterior(u)
        return acq.Posterior.mix([(w, s.posterior(u)) for w, s in self.parts])

    def condition(self, u: np.ndarray, y: np.ndarray) -> _Averaged:
        return _Averaged([(w, s.condition(u, y)) for w, s in self.parts])


class _Failure:
    """P(failure) = 1 − (1 − w·P_twin)(1 − P_runs)."""

    def __init__(self, ensemble: EnsembleSurrogate, twin_share: float, runs: Any) -> None:
        self.ensemble, self.twin_share, self.runs = ensemble, twin_share, runs

    def probability(self, u: np.ndarray) -> np.ndarray:
        p = self.twin_share * self.ensemble.failure(u)
        if self.runs is not None:
            p = 1.0 - (1.0 - p) * (1.0 - self.runs.probability(u))
        return p


class _Model:
    """One fit: the surrogate, its failure model and what it says about itself."""

    def __init__(self, surrogate: Any, failure: Any, ensemble: EnsembleSurrogate, diagnostics: dict[str, Any],
                 y_best: float, noise_std: float) -> None:
        self.surrogate, self.failure, self.ensemble = surrogate, failure, ensemble
        self.diagnostics, self.y_best, self.noise_std = diagnostics, y_best, noise_std


class TwinPriorStrategy(_Calibrated, _Observed):
    """Calibrated twin ensemble + humble discrepancy, averaged with gp; see the module docstring."""

    name = "twin-prior"

    def __init__(self, ctx: StrategyContext, settings: dict[str, Any]) -> None:
        super().__init__(ctx, settings)
        checks = {"n_initial": (1, 100), "n_candidates": (10, 100_000), "n_search": (10, 1_000_000),
                  "n_local": (1, 100), "max_parameters": (0, 20), "n_samples": (16, 100_000), "n_members": (1, 256)}
        for key, (lo, hi) in checks.items():
            if not lo <= settings[key] <= hi:
                raise CampaignError(f"strategy.{key}", settings[key], "out of range", f"[{lo}, {hi}]")
        if settings["failure_penalty"] not in ("model", "worst", "drop"):
            raise CampaignError("strategy.failure_penalty", settings["failure_penalty"],
                                "not one of the allowed values", "model | worst | drop")
        if settings["twin_weight"] not in ("fit", "fixed"):
            raise CampaignError("strategy.twin_weight", settings["twin_weight"], "not one of the allowed values",
                                "fit | fixed")
        if settings["xi"] < 0 or settings["twin_failure_penalty"] < 0:
            key = "xi" if settings["xi"] < 0 else "twin_failure_penalty"
            raise CampaignError(f"strategy.{key}", settings[key], "must not be negative", ">= 0")
        self.chamber = ctx.chamber if ctx.chamber is not None else Chamber()
        self.twin = _Twin(self.chamber, self.space, ctx.objective, settings["twin_failure_penalty"])
        self.evaluator = self.twin.evaluator
        self._key = (self.chamber.to_toml(), _space_key(self.space), repr(ctx.objective))
        self.noise_std = _cached(self._key + ("scatter",), self._scatter)
        self._model: _Model | None = None
        self._model_n = -1

    # -- what does not depend on the runs (cached) --------------------------------------------------------------------
    def _scatter(self) -> float:
        """How well the twin predicts a run of its own stochastic tool [score units]: the RMS difference between 48
        runs of random recipes in one stochastic queue (random events, carried-over state, measurement noise) and
        the deterministic twin in each run's start state; at least the chamber's declared measurement noise. This
        is the noise against which a fit is judged (reduced χ²) and that the discrepancy's likelihood assumes.

        A property of the chamber, space and objective, cached per them: drawn with :data:`SCATTER_SEED`, not the
        campaign's seed (drawn with the campaign's seed but cached without it, a process's later campaigns took the
        first one's figure, so a campaign's proposals depended on what the process had run before)."""
        nominal = _noise_std(self.chamber, self.ctx.objective)
        rng = np.random.default_rng(_seed(SCATTER_SEED, 0, 29))
        pts = self.space.sample(48, rng)
        recipes = [self.space.to_recipe(p) for p in pts]
        try:
            runs = simulate_queue(recipes, self.chamber, seed=_seed(SCATTER_SEED, 0, 31), check=False)
        except (InputError, ValueError):
            return nominal
        states = {k: [] for k in STATE_KEYS}
        prev = {k: float(getattr(self.chamber.state, k)) for k in STATE_KEYS}
        for res in runs:
            for k in STATE_KEYS:
                states[k].append(prev[k])
            prev = {k: float(res.chamber_state_after[k]) for k in STATE_KEYS}
        det = self.evaluator.evaluate(self.space.unit_cube(pts), None, {k: np.array(v) for k, v in states.items()})
        meas = np.array([self.ctx.objective.evaluate(r.to_dict(), q.to_dict()).score or np.nan
                         for r, q in zip(runs, recipes, strict=True)], float)
        ok = np.isfinite(meas) & np.isfinite(det.score) & (det.p_fail < 0.5)
        if ok.sum() < 8:
            return nominal
        return float(max(np.sqrt(np.mean((meas[ok] - det.score[ok]) ** 2)), nominal))

    def twin_optima(self) -> list[tuple[list[Any], float]]:
        """The twin's distinct local optima (point, score), best first; computed once per chamber and space."""
        s = self.settings
        found = _cached(self._key + ("optima", self.twin.penalty, s["n_search"], s["n_local"], self.seed),
                        lambda: tuple((tuple(p), v) for p, v in self.twin.optima(s["n_search"], s["n_local"],
                                                                                  self.seed)))
        return [(list(p), v) for p, v in found]

    def _design(self) -> np.ndarray:
        return qmc.Sobol(len(self.space), scramble=True, seed=1234).random(64)

    def _landscape(self) -> tuple[list[ParameterPrior], dict[str, float], dict[str, np.ndarray], float]:
        """(candidate parameters, their shape sensitivities and changes over the space, the twin's spread of
        scores over the space); the same for every proposal of a campaign."""
        s = self.settings

        def make() -> tuple[list[ParameterPrior], dict[str, float], dict[str, np.ndarray], float]:
            design = self._design()
            base = self.evaluator.evaluate(design).score
            spread = float(np.std(base[np.isfinite(base)])) if np.isfinite(base).sum() > 1 else 1.0
            if not s["calibrate"] or s["max_parameters"] == 0:
                return [], {}, {}, spread
            priors = candidate_parameters(self.chamber)
            sens, shapes = shape_sensitivity(self.evaluator, priors, design)
            return priors, sens, shapes, spread

        return _cached(self._key + ("landscape", s["calibrate"], s["max_parameters"]), make)

    # -- the model ---------------------------------------------------------------------------------------------------
    def _runs(self) -> tuple[np.ndarray, np.ndarray, dict[str, np.ndarray], np.ndarray]:
        """Unit-cube rows, scores and start states of the successful runs, and rows of the failed ones."""
        xs, ys, states, failed = [], [], [], []
        for p, o in zip(self.points, self.outcomes, strict=True):
            if not o.failed and o.score is not None:
                xs.append(p)
                ys.append(float(o.score))
                states.append(getattr(o, "state", None) or {})
            else:
                failed.append(p)
        d = len(self.space)
        u = self.space.unit_cube(xs) if xs else np.zeros((0, d))
        uf = self.space.unit_cube(failed) if failed else np.zeros((0, d))
        st = {k: np.array([float(s.get(k, self.chamber.get(f"state.{k}"))) for s in states])
              for k in self.state_keys if any(k in s for s in states)}
        return u, np.asarray(ys, float), st, uf

    @property
    def state_keys(self) -> tuple[str, ...]:
        """The chamber-state keys the twin is handed (``context`` setting): every run is predicted in the state it
        started in and proposals in the state the next run will start in; none with ``context = "none"`` (every
        run and proposal in the chamber's own ``[state]``)."""
        setting = self.settings.get("context", "auto")
        if setting == "none":
            return ()
        return tuple(k for k in STATE_KEYS if setting == "auto" or k in setting)

    def _state_now(self) -> dict[str, float]:
        """The chamber state the next run starts in: the runner's current context (vents included,
        :func:`campaigns.context.context_now`), else the last run's state after, as far as the outcomes tell it."""
        now = self.ctx.context_now
        if now and any(k in now for k in self.state_keys):
            return {k: float(now[k]) for k in self.state_keys if k in now}
        for o in reversed(self.outcomes):
            after = getattr(o, "state_after", None)
            if after:
                return {k: float(after[k]) for k in self.state_keys if k in after}
        return {}

    def model(self) -> _Model | None:
        """The fit for the runs told so far (None before a successful run)."""
        if self._model_n == len(self.points):
            return self._model
        self._model_n = len(self.points)
        u, y, state, uf = self._runs()
        self._model = None if len(y) == 0 else self._fit(u, y, state, uf)
        return self._model

    def _fit(self, u: np.ndarray, y: np.ndarray, state: dict[str, np.ndarray], uf: np.ndarray) -> _Model:
        from campaigns import _skopt

        s = self.settings
        seed = _seed(self.seed, len(self.points), 13)
        candidates, sens, shapes, spread = self._landscape()
        gains = profile_gain(self.evaluator, candidates, u, y, state, self.noise_std) if candidates else {}
        priors = select_parameters(candidates, sens, shapes, gains, max_parameters=s["max_parameters"],
                                   noise_std=self.noise_std)
        floor = max(DISCREPANCY_FLOOR * spread, self.noise_std)
        post = self.calibrate(priors, u, y, state, seed)
        ensemble = EnsembleSurrogate(self.evaluator, post, u, y, n_members=s["n_members"], seed=seed,
                                     state_now=self._state_now())
        twin_share, parts = 1.0, [(1.0, ensemble)]
        if s["model_averaging"]:
            twin_share = twin_weight(post.diagnostics.get("chi2_p", math.nan))
            if twin_share < 1.0 and len(y) >= 2:
                parts = [(twin_share, ensemble), (1.0 - twin_share, self._fallback_gp(u, y, seed))]
            else:
                twin_share = 1.0
        runs_failure = None
        if s["failure_penalty"] == "model" and len(uf):
            runs_failure = _skopt.KernelFailureModel(u, uf, seed=seed)
        diag = dict(post.diagnostics)
        diag.update({"twin_weight": twin_share, "noise_std": self.noise_std, "discrepancy_floor": floor,
                     "twin_spread": spread, "calibrated": [p.name for p in priors],
                     "profile_gain": {k: round(v, 2) for k, v in sorted(gains.items(), key=lambda kv: -kv[1])[:8]},
                     "sensitivity": {k: round(v, 4) for k, v in sorted(sens.items(), key=lambda kv: -kv[1])[:8]}})
        model = _Model(_Averaged(parts), _Failure(ensemble, twin_share, runs_failure), ensemble, diag,
                       float(np.min(y)), self.noise_std)
        return model

    def _fallback_gp(self, u: np.ndarray, y: np.ndarray, seed: int) -> Any:
        """The plain GP the model falls back to when no parameter set explains the runs: ``gp``'s, with the context
        as ``gp`` models it (``context`` setting: the same keys beside the recipe, its contextual kernel with
        the length-scale prior, answered for the state the next run starts in), so that a structural error in the
        twin does not also throw away what the runs say about the chamber's state; context-blind with
        ``context = "none"`` or without the runs' and the next run's context."""
        from campaigns import _skopt
        from campaigns.context_model import ContextEncoder, ContextSlice, resolve_keys

        now = self.ctx.context_now
        contexts = [getattr(o, "context", None) for o in self.outcomes if not o.failed and o.score is not None]
        setting = self.settings.get("context", "auto")
        keys = resolve_keys(setting, contexts, now) if setting != "none" else ()
        if not keys or not now:
            return _skopt.fit_gp(u, y, seed=seed)
        enc = ContextEncoder(keys, contexts, now)
        gp = _skopt.fit_gp(np.hstack([u, enc.encode(contexts)]), y, seed=seed, context_dims=len(keys),
                           length_scale_prior=True)
        return ContextSlice(gp, enc.now)

    def calibrate(self, priors: list[ParameterPrior], u: np.ndarray, y: np.ndarray, state: dict[str, np.ndarray],
                  seed: int) -> TwinPosterior:
        """The posterior of ``priors`` given successful runs at unit-cube rows ``u`` with scores ``y``, each in its
        start ``state``: sampled under the default discrepancy, then (from three runs on) again under the
        discrepancy fitted to the best sample's residuals (modular Bayes: the discrepancy's hyper-parameters are
        estimated, not integrated)."""
        spread = self._landscape()[3]
        floor = max(DISCREPANCY_FLOOR * spread, self.noise_std)
        n = self.settings["n_samples"]
        post = fit_posterior(self.evaluator, priors, u, y, state, self._default_discrepancy(floor, spread),
                             n_samples=n, seed=seed, noise_std=self.noise_std)
        if len(y) >= 3:
            disc = self._fitted_discrepancy(u, post.residuals[:, post.best], floor, spread, seed)
            post = fit_posterior(self.evaluator, priors, u, y, state, disc, n_samples=n, seed=seed,
                                 noise_std=self.noise_std)
        return post

    def _default_discrepancy(self, floor: float, spread: float) -> Discrepancy:
        from sklearn.gaussian_process.kernels import ConstantKernel, Matern

        kernel = ConstantKernel((2.0 * floor) ** 2, "fixed") * Matern(np.full(len(self.space), 0.3), "fixed", nu=2.5)
        return Discrepancy(kernel, self.noise_std**2, (OFFSET_STD_FACTOR * spread) ** 2)

    def _fitted_discrepancy(self, u: np.ndarray, resid: np.ndarray, floor: float, spread: float,
                            seed: int) -> Discrepancy:
        from campaigns import _skopt

        hi = max((4.0 * spread) ** 2, (2.0 * float(np.ptp(resid))) ** 2, 4.0 * floor**2)
        gp = _skopt.fit_gp(u, resid, seed=seed, amplitude_bounds=(floor**2, hi),
                           noise_bounds=(0.1 * self.noise_std**2, max(1.0, 4.0 * self.noise_std**2)),
                           length_scale_low=DISCREPANCY_LENGTH_LOW)
        kernel = gp.model.kernel_.k1  # ConstantKernel × Matérn; the WhiteKernel (k2) is the noise
        # the noise is fitted (as gp's is, so that their leave-one-out densities compare fairly), never below the
        # measurement noise the chamber declares
        nominal = _noise_std(self.chamber, self.ctx.objective)
        return Discrepancy(kernel, max(float(gp.model.noise_ or 0.0), nominal**2), (OFFSET_STD_FACTOR * spread) ** 2)

    def diagnostics(self) -> dict[str, Any]:
        """What the model says about itself: refitted parameters (value, 95 % interval), reduced χ², the
        ``structural`` flag, the twin's weight in the model average (empty before a successful run)."""
        m = self.model()
        return {} if m is None else m.diagnostics

    # -- predictions ------------------------------------------------------------------------------------------------
    def _posterior(self, recipes: Sequence[Recipe]) -> acq.Posterior | None:
        m = self.model()
        u = self.space.unit_cube([self.space.to_point(r) for r in recipes])
        if m is None:
            return None
        return m.surrogate.posterior(u)

    def model_predictive(self, recipes: Sequence[Recipe]) -> tuple[np.ndarray, np.ndarray]:
        """Mean of the score at ``recipes`` and the standard deviation of a new *measurement* there (the
        mixture's latent spread and the measurement noise: the model's own word, which ``predict`` calibrates);
        before any run, the twin and the noise alone."""
        post = self._posterior(recipes)
        if post is None:
            t = self.twin.scores([self.space.to_point(r) for r in recipes])
            return t, np.full(len(recipes), self.noise_std)
        return post.mean, post.predictive_std

    def expected_improvement(self, recipes: Sequence[Recipe]) -> np.ndarray:
        """Expected improvement over the best score told so far (NaN before a successful run)."""
        post = self._posterior(recipes)
        if post is None:
            return np.full(len(recipes), np.nan)
        return acq.expected_improvement(post, self.model().y_best, self.settings["xi"])

    def failure_probability(self, recipes: Sequence[Recipe]) -> np.ndarray:
        """Chance [0–1] that a run of each recipe fails, as the acquisition weighs it (NaN before a run)."""
        m = self.model()
        if m is None:
            return np.full(len(recipes), np.nan)
        return m.failure.probability(self.space.unit_cube([self.space.to_point(r) for r in recipes]))

    def twin_prediction(self, recipes: Sequence[Recipe]) -> np.ndarray:
        """The uncalibrated twin's score (the chamber's own values) at ``recipes``, for the review."""
        return self.twin.scores([self.space.to_point(r) for r in recipes])

    # -- proposals -------------------------------------------------------------------------------------------------
    def ask(self, n: int) -> list[Recipe]:
        k = len(self.points)
        n_ok = sum(1 for o in self.outcomes if not o.failed and o.score is not None)
        pts: list[list[Any]] = []
        if k < self.settings["n_initial"] or n_ok == 0:
            for p, _ in self.twin_optima():  # the twin's own optima, best first, skipping those already run
                if len(pts) >= n:
                    break
                if not self._near_any(p, self.points + pts):
                    pts.append(p)
            if len(pts) < n and n_ok == 0:
                rng = np.random.default_rng(_seed(self.seed, k, 3))
                pts += self.space.sample(n - len(pts), rng)
        if len(pts) < n:
            pts += self._acquire(n - len(pts), pending=pts)
        return self._recipes(pts)

    def _near_any(self, p: Sequence[Any], others: Sequence[Sequence[Any]], tol: float = 1e-3) -> bool:
        if not others:
            return False
        u = self.space.unit_cube([p])[0]
        return bool(np.min(np.linalg.norm(self.space.unit_cube(others) - u, axis=1)) < tol)

    def _acquire(self, n: int, pending: Sequence[Sequence[Any]]) -> list[list[Any]]:
        from campaigns import _skopt

        m = self.model()
        rng = np.random.default_rng(_seed(self.seed, len(self.points), 5))
        s = self.settings
        seeds = [self.space.unit_cube([p])[0] for p, _ in self.twin_optima()]
        u_ok, y, _, _ = self._runs()
        for i in np.argsort(y)[:3]:
            seeds += list(np.clip(u_ok[i] + 0.05 * rng.standard_normal((30, len(self.space))), 0.0, 1.0))
        cands = np.array(seeds)
        cats = _skopt.categories_of(self.space)

        def choose(gain: Any) -> np.ndarray:
            return acq.maximise(gain, len(self.space), rng, n_points=s["n_candidates"], n_restarts=5,
                                candidates=cands, n_categories=cats, polish=True)

        acqf = acq.Acquisition("EI", s["xi"], failure=m.failure)
        pend = self.space.unit_cube(list(pending)) if len(pending) else None
        u = acq.propose_batch(m.surrogate, n, acqf, m.y_best, choose, pending=pend)
        return self.space.from_unit_cube(u)


@register_strategy("twin-prior")
def _make_twin_prior(ctx: StrategyContext) -> Strategy:
    table, ctx_setting = context_setting(ctx.settings, default="auto")
    settings = settings_from(table, TWIN_PRIOR_SETTINGS)
    settings["context"] = ctx_setting
    return TwinPriorStrategy(ctx, settings)


__all__ = ["TWIN_PRIOR_SETTINGS", "TwinPriorStrategy", "twin_score"]
