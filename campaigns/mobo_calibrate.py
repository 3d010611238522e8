"""Calibrating the twin against several goals at once, for ``twin-mobo``.

One parameter set θ of the twin predicts every goal it computes (interface resistance, process time, ionic
conductivity…), so the runs of a multi-objective campaign calibrate it jointly: given θ, each goal's residuals
``y_j − t_j(x; θ)`` are the goal's discrepancy (an offset plus a GP, as ``twin-prior`` models it) and measurement
noise, independent between goals, so the log-likelihood of θ is the sum of the goals' Gaussian log-likelihoods.

* **Which parameters**: every numeric parameter of the chamber with its prior
  (:func:`campaigns.twin_ensemble.candidate_parameters`) is profiled alone over its prior's range (``N_GRID``
  values; the others at the chamber's values; a free offset per goal) against the runs; those whose best value
  gains at least ``MIN_GAIN`` log-likelihood units (summed over the goals, each goal's residuals on the scale of its
  discrepancy floor) are refitted, largest gain first, skipping one whose change of the predictions is nearly
  collinear with a parameter already taken (:func:`campaigns.twin_ensemble.select_parameters`), at most
  ``max_parameters``. A parameter the runs do not call for stays at the chamber's value.
* **The fit**: a scrambled Sobol sample of the chosen parameters' truncated log-normal prior (the chamber's values
  as its first row) scored by log prior + joint log-likelihood under each goal's default discrepancy (amplitude twice
  the floor, length scale 0.3, as ``twin-prior``'s), then again under the discrepancy fitted to the best sample's
  residuals (modular Bayes, as ``twin-prior``); the best sample is polished by Nelder–Mead inside the prior's
  truncation box. The result is the *maximum a posteriori* parameter set: ``twin-mobo`` uses one calibrated twin as
  every goal's prior mean, with its discrepancy GPs on top (no ensemble over θ, unlike ``twin-prior``: the spread
  of the calibrated twins is not carried into the goals' uncertainty; said in :mod:`campaigns.mobo_twin`).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from scipy.linalg import cho_factor, cho_solve
from scipy.optimize import minimize

from campaigns.twin_ensemble import (
    DISCREPANCY_FLOOR,
    OFFSET_STD_FACTOR,
    ParameterPrior,
    _prior_logpdf,
    _sample_prior,
    profile_rows,
    select_parameters,
)

N_GRID = 9
"""Values of each parameter's profile over its prior's truncation range."""
MIN_GAIN = 2.0
"""Profile log-likelihood gain [nats] from which a parameter is refitted (as ``twin-prior``'s selection)."""
NOISE_SHARE = 0.1
"""Measurement noise of a goal in the default discrepancy, as a share of its discrepancy floor (an assumption: the
fitted discrepancy of the second pass replaces it)."""

ScoresFn = Callable[[np.ndarray, dict[str, np.ndarray] | None], np.ndarray]
"""``scores(u, params) -> (N, m)``: the twin's goal scores at unit-cube rows (NaN where it cannot run), with
``params`` one value per row of each dotted parameter name (None: the chamber's values)."""


@dataclass
class Calibration:
    """The maximum a posteriori parameter set (dotted name → value) and what led to it."""

    params: dict[str, float]
    diagnostics: dict[str, Any] = field(default_factory=dict)


def _default_cov(u: np.ndarray, floor: float, spread: float) -> np.ndarray:
    from sklearn.gaussian_process.kernels import Matern

    k = (2.0 * floor) ** 2 * Matern(np.full(u.shape[1], 0.3), "fixed", nu=2.5)(u)
    return k + (OFFSET_STD_FACTOR * spread) ** 2 + (NOISE_SHARE * floor) ** 2 * np.eye(len(u))


def _fitted_cov(u: np.ndarray, resid: np.ndarray, floor: float, spread: float, seed: int) -> np.ndarray:
    from campaigns import _skopt
    from campaigns.twin_prior import DISCREPANCY_LENGTH_LOW

    ok = np.isfinite(resid)
    if ok.sum() < 3:
        return _default_cov(u, floor, spread)
    hi = max((4.0 * spread) ** 2, (2.0 * float(np.ptp(resid[ok]))) ** 2, 4.0 * floor**2)
    gp = _skopt.fit_gp(u[ok], resid[ok], seed=seed, amplitude_bounds=(floor**2, hi),
                       noise_bounds=((0.01 * floor) ** 2, max(hi, 1e-6)), length_scale_low=DISCREPANCY_LENGTH_LOW)
    k = gp.model.kernel_.k1(u)
    return k + (OFFSET_STD_FACTOR * spread) ** 2 + max(float(gp.model.noise_ or 0.0), (0.01 * floor) ** 2) * np.eye(
        len(u))


def _loglik(resid: np.ndarray, factors: Sequence[Any]) -> np.ndarray:
    """Joint log-likelihood (up to a constant) of residuals (n, S, m): the goals' Gaussian terms summed; a sample
    the twin cannot run at some run gets −inf."""
    out = np.zeros(resid.shape[1])
    for j, fac in enumerate(factors):
        r = resid[:, :, j]
        bad = ~np.all(np.isfinite(r), axis=0)
        r = np.where(np.isfinite(r), r, 0.0)
        out += -0.5 * np.sum(r * cho_solve(fac, r), axis=0)
        out[bad] = -np.inf
    return out


def profile_gains(scores: ScoresFn, priors: Sequence[ParameterPrior], u: np.ndarray, y: np.ndarray,
                  floors: np.ndarray) -> tuple[dict[str, float], dict[str, np.ndarray]]:
    """Each parameter's profile gain [nats] (best of ``N_GRID`` values against the chamber's value, a free offset
    per goal, each goal's residuals on the scale of its floor) and its change of the predictions at that value
    (runs × goals, flattened, on the floors' scale: the collinearity check of the selection)."""
    n, k = len(y), len(priors)
    if n < 2 or k == 0:
        return {p.name: 0.0 for p in priors}, {}
    rows, params = profile_rows(priors, u, N_GRID)
    pred = scores(rows, params).reshape(k, N_GRID, n, -1)
    base = scores(u, None)

    def sse(m: np.ndarray) -> np.ndarray:  # (..., n, goals) -> (...)
        finite = np.all(np.isfinite(m), axis=(-2, -1))
        r = (y - np.where(np.isfinite(m), m, 0.0)) / floors
        r = r - r.mean(axis=-2, keepdims=True)
        return np.where(finite, np.sum(r**2, axis=(-2, -1)), np.inf)

    s0 = float(sse(base))
    s = sse(pred)  # (k, grid)
    best = np.argmin(s, axis=1)
    gains, shapes = {}, {}
    for j, p in enumerate(priors):
        gains[p.name] = float(max(0.5 * (s0 - s[j, best[j]]), 0.0)) if np.isfinite(s0) else 0.0
        change = np.where(np.isfinite(pred[j, best[j]]) & np.isfinite(base), (pred[j, best[j]] - base) / floors, 0.0)
        shapes[p.name] = (change - change.mean(axis=0)).ravel()
    return gains, shapes


def calibrate(scores: ScoresFn, candidates: Sequence[ParameterPrior], u: np.ndarray, y: np.ndarray,
              spreads: np.ndarray, *, max_parameters: int, n_samples: int, seed: int) -> Calibration:
    """The MAP parameter set of the twin given successful runs at unit-cube rows ``u`` with goal scores ``y``
    (n, m); see the module docstring."""
    floors = DISCREPANCY_FLOOR * np.asarray(spreads, float)
    gains, shapes = profile_gains(scores, candidates, u, y, floors)
    priors = select_parameters(candidates, {}, shapes, {k: v for k, v in gains.items() if v >= MIN_GAIN},
                               max_parameters=max_parameters, noise_std=math.inf, min_gain=MIN_GAIN)
    top = {k: round(v, 1) for k, v in sorted(gains.items(), key=lambda kv: -kv[1])[:6]}
    if not priors:
        return Calibration({}, {"calibrated": [], "profile_gain": top})
    n, m = y.shape
    z = _sample_prior(priors, n_samples, seed)

    def residuals(zs: np.ndarray) -> np.ndarray:  # (n, S, m)
        rows = np.repeat(u, len(zs), axis=0)
        par = {p.name: np.tile(np.exp(zs[:, k]), n) for k, p in enumerate(priors)}
        return y[:, None, :] - scores(rows, par).reshape(n, len(zs), m)

    def factors(covs: list[np.ndarray]) -> list[Any]:
        return [cho_factor(c + 1e-10 * np.eye(n), lower=True) for c in covs]

    r = residuals(z)
    lp = _prior_logpdf(priors, z)
    facs = factors([_default_cov(u, floors[j], spreads[j]) for j in range(m)])
    post = _loglik(r, facs) + lp
    best = int(np.argmax(post))
    if n >= 3 and np.isfinite(post[best]):
        facs = factors([_fitted_cov(u, r[:, best, j], floors[j], spreads[j], seed + j) for j in range(m)])
        post = _loglik(r, facs) + lp
        best = int(np.argmax(post))
    lows = np.array([p.log_low for p in priors])
    highs = np.array([p.log_high for p in priors])

    def neg(x: np.ndarray) -> float:
        x = np.clip(x, lows, highs)[None, :]
        v = float((_loglik(residuals(x), facs) + _prior_logpdf(priors, x))[0])
        return -v if np.isfinite(v) else 1e300

    x0 = z[best]
    if np.isfinite(post[best]):
        res = minimize(neg, x0, method="Nelder-Mead",
                       options={"maxfev": 60 * len(priors), "xatol": 1e-3, "fatol": 1e-2,
                                "initial_simplex": np.vstack([x0] + [x0 + np.eye(len(priors))[k] * 0.25
                                                                     * priors[k].log_std
                                                                     for k in range(len(priors))])})
        if res.fun < -post[best]:
            x0 = np.clip(res.x, lows, highs)
    values = {p.name: float(np.exp(x0[k])) for k, p in enumerate(priors)}
    w = np.exp(post - post[np.isfinite(post)].max()) if np.isfinite(post).any() else np.zeros(len(post))
    ess = float(w.sum() ** 2 / max(float((w**2).sum()), 1e-300))
    return Calibration(values, {"calibrated": [p.name for p in priors], "profile_gain": top,
                                "calibrated_factor": {p.name: round(values[p.name] / p.value, 4) for p in priors},
                                "effective_samples": round(ess, 1)})
