"""Strategy ``twin-prior``: Bayesian optimisation whose surrogate is the twin's prediction plus a GP on the discrepancy.

Surrogate of the campaign's score ``y`` (``log10 R_int`` with the default objective)::

    y(x) = ρ·m(x) + δ(x),   m(x) = score of the deterministic twin (the campaign's chamber) at recipe x,
                            δ ~ GP fitted to the residuals y_i − ρ·m(x_i)  (scikit-optimize's GP, as ``gp`` uses)

so the posterior mean is ``ρ·m(x) + E[δ(x)]`` and the posterior standard deviation that of ``δ``. Before any run
the surrogate *is* the twin, so the first proposals are the twin's optima; every measurement then corrects the
twin where it disagrees, and far from the measurements the surrogate falls back to the twin, not to a constant.
The twin's weight ``ρ`` (Kennedy & O'Hagan 2001) starts at 1 and is fitted from the third successful run on
(generalised least squares with the GP's covariance, prior ``N(1, 0.5²)``, clipped to [0, 1.5]): a twin whose
differences from recipe to recipe the measurements do not bear out fades towards plain ``gp``, so a wrong twin
cannot pin the search to its own optimum.

**Beside scikit-optimize, not inside it.** skopt's ``Optimizer`` with a custom base estimator would maximise the
acquisition only over random samples (its L-BFGS path needs the estimator's gradient, which the twin has not), its
first ``n_initial_points`` proposals are random, and it cannot ask before the first ``tell``. The twin, in contrast,
is cheap (a deterministic run takes ~0.1 ms) and has its own optima worth starting from. So the GP on the
residuals is skopt's (:class:`campaigns._skopt.GPModel`, the same kernel, noise model and seeding as ``gp``) and the
acquisition is maximised here over candidates that the twin makes good: the twin's local optima (found once per
chamber and space by a dense random search polished by Nelder–Mead, and cached), fresh random points, and
perturbations of the best measured recipes and of the current acquisition leaders.

**Reduces to ``gp`` when the twin is uninformative.** With a constant twin ``m(x) = c`` the centred twin is zero,
so ``ρ`` stays 1 and the residuals are the scores shifted by ``c``; skopt's GP normalises its targets, so it fits
exactly the same hyper-parameters and its posterior, shifted back by ``c``, equals ``gp``'s posterior (mean,
standard deviation and expected improvement) for the same observations and seed.
``tests/campaigns/test_twin_prior.py`` checks that equality; proposals can still differ because the acquisition
is maximised over different candidates.

**Known limitation.** The discrepancy GP, like ``gp``, normalises its targets to their mean: far from the runs the
surrogate is the twin shifted by the *average* discrepancy seen so far. When the twin's optimum is wrong (a tool
whose Li/P window is shifted, see ``benchmarks/mismatch.py --realities extra``), the first runs all land in the
twin's optimum region, the discrepancy looks like a uniform offset, and twin-prior keeps refining that region for
a dozen runs before it moves; there it needs more runs than ``gp``. Fitting the twin's weight ``ρ`` shortens this
a little; a discrepancy prior of mean zero did not help (tried: the twin's other optima then look better still).

Failed runs are told to the GP at the worst successful score, as ``gp`` does with ``failure_penalty = "worst"``
(``gp``'s default, ``model``, is left to the twin here);
recipes the deterministic twin predicts to fail (a shorted cell, a film off target, too long a process) get
``twin_failure_penalty`` added to their twin score, so early proposals avoid them. Batches use a constant liar:
the chosen points are told to the GP at the best score so far before the next point is chosen.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from scipy.optimize import minimize
from scipy.stats import norm

from campaigns.config import Objective
from campaigns.errors import CampaignError
from campaigns.space import SearchSpace
from campaigns.strategies import Strategy, StrategyContext, _Observed, _seed, register_strategy, settings_from
from twin import Chamber, Recipe, simulate_queue
from twin.errors import InputError

log = logging.getLogger(__name__)

TWIN_PRIOR_SETTINGS: dict[str, tuple[Any, Any]] = {
    "n_initial": (int, 2), "xi": (float, 0.01), "n_candidates": (int, 500), "n_search": (int, 2000),
    "n_local": (int, 8), "twin_failure_penalty": (float, 0.5), "failure_penalty": (str, "worst"),
    "twin_weight": (str, "fit"), "twin_weight_prior_std": (float, 0.5),
}
"""Settings of ``twin-prior``: name → (type, default).

``n_initial``: twin optima proposed before the GP takes over (the GP needs two successful runs);
``xi``: EI exploration margin [score units]; ``n_candidates``: random candidates per proposal;
``n_search``: random points of the twin's own dense search; ``n_local``: twin local optima kept;
``twin_failure_penalty``: added to the twin's score where it predicts a failed run [score units];
``failure_penalty``: ``worst`` or ``drop``, as for ``gp`` (not ``model``); ``twin_weight``: ``fit`` (the twin enters as
``ρ·m(x)`` with ``ρ`` fitted, prior ``N(1, twin_weight_prior_std²)``, from three successful runs on) or ``fixed``
(``ρ = 1``).
"""


# -- the twin's score ----------------------------------------------------------------------------------------------
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
    rd = {k: getattr(res, k) for k in keys}  # what Objective.evaluate reads (to_dict() is slower)
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
    """The twin's score on points of a space, with its own optima (built once per chamber/space/objective)."""

    def __init__(self, chamber: Chamber, space: SearchSpace, objective: Objective, penalty: float) -> None:
        self.chamber, self.space, self.objective, self.penalty = chamber, space, objective, penalty

    def scores(self, points: Sequence[Sequence[Any]]) -> np.ndarray:
        out = np.empty(len(points))
        for i, p in enumerate(points):
            try:
                recipe = self.space.to_recipe(p)
            except InputError:
                out[i] = math.inf
                continue
            out[i] = twin_score(self.chamber, self.objective, recipe, self.penalty)
        return out

    def optima(self, n_search: int, n_local: int, seed: int) -> list[tuple[list[Any], float]]:
        """Distinct local optima of the twin's score, best first: ``n_search`` random points, the best few
        polished by Nelder–Mead in the unit cube, kept if farther than 0.1 (unit-cube distance) from a better one."""
        rng = np.random.default_rng(_seed(seed, 0, 7))
        pts = self.space.sample(n_search, rng)
        s = self.scores(pts)
        order = np.argsort(s)
        starts = [pts[i] for i in order[: max(3 * n_local, n_local)]]
        polished: list[tuple[list[Any], float]] = []
        d = len(self.space.dimensions)

        def f(u: np.ndarray) -> float:
            val = self.scores(self.space.from_unit_cube(np.clip(u, 0.0, 1.0)))[0]
            return val if math.isfinite(val) else 1e6

        for p in starts[: n_local * 2]:
            u0 = self.space.unit_cube([p])[0]
            res = minimize(f, u0, method="Nelder-Mead",
                           options={"maxfev": 40 * d, "xatol": 1e-3, "fatol": 1e-5, "initial_simplex": _simplex(u0)})
            best = self.space.from_unit_cube(np.clip(res.x, 0.0, 1.0))[0]
            polished.append((best, float(f(res.x))))
        for i in order[: 3 * n_local]:
            polished.append((pts[i], float(s[i])))
        polished.sort(key=lambda t: t[1])
        kept: list[tuple[list[Any], float]] = []
        for p, v in polished:
            u = self.space.unit_cube([p])[0]
            if all(np.linalg.norm(u - self.space.unit_cube([q])[0]) > 0.1 for q, _ in kept):
                kept.append((p, v))
            if len(kept) >= n_local:
                break
        return kept


def _simplex(u0: np.ndarray, step: float = 0.08) -> np.ndarray:
    d = u0.size
    sim = np.repeat(u0[None, :], d + 1, axis=0)
    for j in range(d):
        sim[j + 1, j] = u0[j] - step if u0[j] + step > 1.0 else u0[j] + step
    return sim


_OPTIMA_CACHE: dict[tuple, tuple] = {}
"""The twin's optima per (chamber, space, objective, settings, seed): the runner rebuilds the strategy before every
proposal, and the dense search is the same every time (deterministic twin, seeded search)."""


def _cached_optima(twin: _Twin, n_search: int, n_local: int, seed: int) -> tuple:
    key = (twin.chamber.to_toml(), _space_key(twin.space), repr(twin.objective), twin.penalty, n_search, n_local,
           seed)
    if key not in _OPTIMA_CACHE:
        if len(_OPTIMA_CACHE) >= 16:
            _OPTIMA_CACHE.pop(next(iter(_OPTIMA_CACHE)))
        _OPTIMA_CACHE[key] = tuple((tuple(p), v) for p, v in twin.optima(n_search, n_local, seed))
    return _OPTIMA_CACHE[key]


# -- the strategy ------------------------------------------------------------------------------------------------------
class TwinPriorStrategy(_Observed):
    """Twin prediction + GP on the discrepancy; see the module docstring."""

    name = "twin-prior"

    def __init__(self, ctx: StrategyContext, settings: dict[str, Any]) -> None:
        super().__init__(ctx, settings)
        if settings["n_initial"] < 1:
            raise CampaignError("strategy.n_initial", settings["n_initial"], "must be positive", ">= 1")
        if not 10 <= settings["n_candidates"] <= 100_000:
            raise CampaignError("strategy.n_candidates", settings["n_candidates"], "out of range", "[10, 100000]")
        if not 10 <= settings["n_search"] <= 1_000_000:
            raise CampaignError("strategy.n_search", settings["n_search"], "out of range", "[10, 1000000]")
        if not 1 <= settings["n_local"] <= 100:
            raise CampaignError("strategy.n_local", settings["n_local"], "out of range", "[1, 100]")
        if settings["twin_weight"] not in ("fit", "fixed"):
            raise CampaignError("strategy.twin_weight", settings["twin_weight"], "not one of the allowed values",
                                "fit | fixed")
        if not settings["twin_weight_prior_std"] > 0:
            raise CampaignError("strategy.twin_weight_prior_std", settings["twin_weight_prior_std"],
                                "must be positive", "> 0")
        if settings["failure_penalty"] not in ("worst", "drop"):
            raise CampaignError("strategy.failure_penalty", settings["failure_penalty"],
                                "not one of the allowed values", "worst | drop")
        if settings["xi"] < 0 or settings["twin_failure_penalty"] < 0:
            key = "xi" if settings["xi"] < 0 else "twin_failure_penalty"
            raise CampaignError(f"strategy.{key}", settings[key], "must not be negative", ">= 0")
        self.chamber = ctx.chamber if ctx.chamber is not None else Chamber()
        self.twin = _Twin(self.chamber, self.space, ctx.objective, settings["twin_failure_penalty"])
        self._optima: list[tuple[list[Any], float]] | None = None
        self._model: Any = None
        self._model_n = -1

    # -- the twin ----------------------------------------------------------------------------------------------
    def twin_optima(self) -> list[tuple[list[Any], float]]:
        """The twin's distinct local optima (point, score), best first; computed once per chamber and space."""
        if self._optima is None:
            s = self.settings
            found = _cached_optima(self.twin, s["n_search"], s["n_local"], self.seed)
            self._optima = [(list(p), v) for p, v in found]
        return self._optima

    # -- the GP on the discrepancy ---------------------------------------------------------------------------------
    def _residual_model(self, xs: list[list[Any]], ys: list[float], seed: int) -> _Fit:
        from campaigns import _skopt

        m = self.twin.scores(xs)
        y = np.asarray(ys, float)
        m = np.where(np.isfinite(m), m, np.max(y) if y.size else 0.0)
        # the GP fit is gp's; only the eager acquisition search skopt runs on tell is made cheap, since the
        # acquisition is maximised here (the fitted GP does not depend on these settings)
        gp = _skopt.GPModel(self.space, xs, list(y - m), seed=seed, acq_optimizer="sampling", n_points=10)
        if self.settings["twin_weight"] != "fit" or len(xs) < 3:
            return _Fit(gp, 1.0)
        rho = _twin_weight(gp, xs, y, m, self.settings["twin_weight_prior_std"])
        if abs(rho - 1.0) < 0.02:
            return _Fit(gp, 1.0)
        return _Fit(_skopt.GPModel(self.space, xs, list(y - rho * m), seed=seed, acq_optimizer="sampling",
                                   n_points=10), rho)

    def model(self) -> Any:
        """The fit (GP on the residuals ``y − ρ·m(x)`` and the twin weight ``ρ``), or None while fewer than two
        runs succeeded."""
        if self._model_n != len(self.points):
            xs, ys = self._training_set()
            n_ok = sum(1 for o in self.outcomes if not o.failed)
            self._model = None if n_ok < 2 else self._residual_model(xs, ys, _seed(self.seed, len(self.points)))
            self._model_n = len(self.points)
        return self._model

    def _posterior(self, model: Any, points: Sequence[Sequence[Any]],
                   twin: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
        m = self.twin.scores(points) if twin is None else twin
        if model is None:
            return m, np.zeros(len(points))
        mean, std = model.predict(points)
        return model.rho * m + mean, std

    def predict(self, recipes: Sequence[Recipe]) -> tuple[np.ndarray, np.ndarray]:
        """Posterior mean and standard deviation of the score at ``recipes`` (the twin alone, std 0, before the
        GP exists)."""
        return self._posterior(self.model(), [self.space.to_point(r) for r in recipes])

    def expected_improvement(self, recipes: Sequence[Recipe]) -> np.ndarray:
        """Expected improvement over the best score told so far (NaN before the GP exists)."""
        model = self.model()
        if model is None:
            return np.full(len(recipes), np.nan)
        _, ys = self._training_set()
        mean, std = self._posterior(model, [self.space.to_point(r) for r in recipes])
        return _ei(mean, std, min(ys), self.settings["xi"])

    # -- proposals -----------------------------------------------------------------------------------------------
    def ask(self, n: int) -> list[Recipe]:
        k = len(self.points)
        n_ok = sum(1 for o in self.outcomes if not o.failed)
        pts: list[list[Any]] = []
        optima = self.twin_optima()
        if k < self.settings["n_initial"] or n_ok < 2:
            # the twin's own optima, best first, skipping those already run
            for p, _ in optima:
                if len(pts) >= n:
                    break
                if not self._near_any(p, self.points + pts):
                    pts.append(p)
            if len(pts) < n and n_ok < 2:
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
        k = len(self.points)
        rng = np.random.default_rng(_seed(self.seed, k, 5))
        xs, ys = self._training_set()
        model = self.model()
        lie = min(ys)
        out: list[list[Any]] = []
        told_x, told_y = list(xs), list(ys)
        for i in range(n):
            if pending or out:
                told_x = list(xs) + [list(p) for p in pending] + out
                told_y = list(ys) + [lie] * (len(pending) + len(out))
                model = self._residual_model(told_x, told_y, _seed(self.seed, k, 11 + i))
            out.append(self._best_candidate(model, told_x, told_y, rng))
        return out

    def _best_candidate(self, model: Any, xs: list[list[Any]], ys: list[float],
                        rng: np.random.Generator) -> list[Any]:
        s = self.settings
        xi, y_opt = s["xi"], min(ys)
        cands = [p for p, _ in self.twin_optima()] + self.space.sample(s["n_candidates"], rng)
        best_seen = [xs[i] for i in np.argsort(ys)[:3]]
        cands += self._perturb(best_seen, 100, 0.05, rng)
        twin = self.twin.scores(cands)
        mean, std = self._posterior(model, cands, twin)
        ei = _ei(mean, std, y_opt, xi)
        # refine: perturb the five best candidates twice, shrinking the step
        for scale in (0.03, 0.01):
            top = [cands[i] for i in np.argsort(-ei)[:5]]
            extra = self._perturb(top, 40, scale, rng)
            te = self.twin.scores(extra)
            me, se = self._posterior(model, extra, te)
            cands += extra
            ei = np.concatenate([ei, _ei(me, se, y_opt, xi)])
        i = int(np.argmax(ei))
        return [v.item() if isinstance(v, np.generic) else v for v in cands[i]]

    def _perturb(self, points: Sequence[Sequence[Any]], n_each: int, scale: float,
                 rng: np.random.Generator) -> list[list[Any]]:
        if not points:
            return []
        u = self.space.unit_cube(points)
        out: list[list[Any]] = []
        for row in u:
            noisy = np.clip(row + scale * rng.standard_normal((n_each, row.size)), 0.0, 1.0)
            out += self.space.from_unit_cube(noisy)
        return out


@dataclass(frozen=True)
class _Fit:
    """The GP on the discrepancy and the weight ``rho`` of the twin in the surrogate ``rho·m(x) + δ(x)``."""

    gp: Any
    rho: float

    def predict(self, points: Sequence[Sequence[Any]]) -> tuple[np.ndarray, np.ndarray]:
        return self.gp.predict(points)


def _twin_weight(model: Any, xs: list[list[Any]], y: np.ndarray, m: np.ndarray, prior_std: float) -> float:
    """Posterior mean of the twin's weight ``ρ`` in ``y = ρ·m(x) + δ(x)`` (Kennedy & O'Hagan, *J. R. Stat. Soc. B*
    63, 425 (2001): the simulator enters the surrogate through a regression coefficient), with ``δ``'s covariance
    fixed at the GP fitted for ``ρ = 1`` and a prior ``ρ ~ N(1, prior_std²)``. Generalised least squares on the
    centred data (the GP's target normalisation takes the constant), so a constant twin leaves ``ρ = 1``.
    Clipped to [0, 1.5]: a twin whose differences run against the measurements is switched off, not inverted.
    """
    gp = model.model
    x = model.sk_space.transform([list(p) for p in xs])
    scale = float(getattr(gp, "_y_train_std", 1.0)) or 1.0
    noise = float(getattr(gp, "noise_", 0.0) or 0.0)
    k = (np.asarray(gp.kernel_(x)) + (noise + 1e-8) * np.eye(len(xs))) * scale**2
    mc, yc = m - m.mean(), y - y.mean()
    try:
        kinv_m = np.linalg.solve(k, mc)
    except np.linalg.LinAlgError:
        return 1.0
    prec = 1.0 / prior_std**2
    rho = (float(kinv_m @ yc) + prec) / (float(kinv_m @ mc) + prec)
    return float(min(max(rho, 0.0), 1.5))


def _ei(mean: np.ndarray, std: np.ndarray, y_opt: float, xi: float) -> np.ndarray:
    """Expected improvement for minimisation [score units] (the formula of skopt's ``gaussian_ei``)."""
    mean = np.asarray(mean, float)
    std = np.asarray(std, float)
    imp = y_opt - xi - mean
    out = np.where(imp > 0, imp, 0.0)
    pos = std > 0
    z = np.where(pos, imp / np.where(pos, std, 1.0), 0.0)
    out = np.where(pos, imp * norm.cdf(z) + std * norm.pdf(z), out)
    return np.where(np.isfinite(out), out, 0.0)


@register_strategy("twin-prior")
def _make_twin_prior(ctx: StrategyContext) -> Strategy:
    return TwinPriorStrategy(ctx, settings_from(ctx.settings, TWIN_PRIOR_SETTINGS))


__all__ = ["TWIN_PRIOR_SETTINGS", "TwinPriorStrategy", "twin_score"]

