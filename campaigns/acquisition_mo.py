"""Several objectives on the shared acquisition layer: expected hypervolume improvement, weighted by feasibility.

Everything is in *scores* (every goal minimised, see :mod:`campaigns.objectives`) and in the campaign's unit cube,
as in :mod:`campaigns.acquisition`, whose optimiser (:func:`campaigns.acquisition.maximise`) and constant liar
(:func:`campaigns.acquisition.propose_batch`) serve here unchanged:

* a :class:`MultiSurrogate` bundles one surrogate per goal (any :class:`campaigns.acquisition.Surrogate`: skopt's
  GP, or a twin prior plus a GP on its discrepancy), one per outcome constraint's slack (≤ 0 feasible), an optional
  model of failed runs, the *incumbent* front and the reference point;
* **EHVI** (:func:`expected_hypervolume_improvement`) is exact for independent Gaussian posteriors in any number of
  goals: the region the incumbent front does not dominate is cut into disjoint boxes
  (:func:`campaigns.pareto.nondominated_boxes`), the improvement of a point ``y`` is
  ``Σ_b Π_j max(0, u_bj − max(l_bj, y_j))``, and because the goals' posteriors are independent the expectation of
  each product is the product of one-dimensional closed forms (Emmerich, Giannakoglou & Naujoks, *IEEE Trans. Evol.
  Comput.* 10, 421 (2006); the box form as in Yang et al., *J. Global Optim.* 75, 3 (2019)). Vectorised over
  candidates × boxes × goals: no Monte Carlo, no sampling noise between proposals;
* **feasibility**: ``P(feasible) = Π_c Φ(−μ_c/σ_c) · P(success)``, each constraint's slack from its own GP (the
  predictive distribution of a *measured* slack, noise included) and P(success) from the failure model. The
  acquisition is EHVI × P(feasible) (constrained EI of Gelbart, Snoek & Adams, UAI 2014, applied to EHVI) — and a
  point the model rates at most :data:`FEASIBILITY_THRESHOLD` likely to be feasible is never proposed: its gain is
  ``P(feasible) − 1 < 0`` while every acceptable point's is ≥ 0, so the optimiser leaves it unless nothing it found
  is acceptable (then it proposes the most feasible point it saw);
* **batches**: the kriging believer: each chosen (or pending) point is told to every GP at its own posterior mean,
  and, if the constraint means hold there, joins the incumbent front — so EHVI next to it falls to ~0 and the next
  point of the batch goes elsewhere.

The incumbent front is the posterior mean of the goals at the measured feasible runs (not their noisy measured
scores: a lucky measurement would otherwise shadow its neighbourhood), reduced to its non-dominated rows.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from scipy.special import ndtr

from campaigns.acquisition import FailureModel, Surrogate
from campaigns.pareto import nondominated_boxes, pareto_mask

FEASIBILITY_THRESHOLD = 0.5
"""A proposal must be feasible (every outcome constraint met and the run not failed) with probability above this."""

_SQRT_2PI = float(np.sqrt(2.0 * np.pi))
_CHUNK = 2_000_000
"""Candidates × boxes × goals evaluated at once (memory: 8 bytes each, a few arrays of it)."""


def expected_hypervolume_improvement(mean: np.ndarray, std: np.ndarray, lower: np.ndarray,
                                     upper: np.ndarray) -> np.ndarray:
    """Exact EHVI [score units^m] of independent Gaussians ``N(mean, std²)`` (N, m) over the disjoint boxes
    ``[lower, upper]`` (B, m) of the not-yet-dominated region (lower bounds may be ``-inf``).

    Per box and goal, ``E[max(0, u − max(l, Y))] = (u − l) Φ(β_l) + (u − μ)(Φ(β_u) − Φ(β_l)) + σ(φ(β_u) − φ(β_l))``
    with ``β = (· − μ)/σ``; the box's term is the product over goals, the EHVI the sum over boxes.

    Examples
    --------
    >>> lo, hi = np.array([[-np.inf, -np.inf]]), np.array([[1.0, 1.0]])   # empty front, reference (1, 1)
    >>> round(float(expected_hypervolume_improvement(np.zeros((1, 2)), np.full((1, 2), 1e-9), lo, hi)[0]), 6)
    1.0
    """
    mean = np.atleast_2d(np.asarray(mean, float))
    std = np.maximum(np.atleast_2d(np.asarray(std, float)), 1e-12)
    lower, upper = np.atleast_2d(lower), np.atleast_2d(upper)
    n, m = mean.shape
    out = np.zeros(n)
    if len(lower) == 0 or n == 0:
        return out
    finite_lo = np.isfinite(lower)
    lo = np.where(finite_lo, lower, 0.0)
    step = max(1, _CHUNK // (len(lower) * m))
    for a in range(0, n, step):
        mu, s = mean[a:a + step, None, :], std[a:a + step, None, :]
        bu = (upper - mu) / s
        bl = np.where(finite_lo, (lo - mu) / s, -np.inf)
        cu, cl = ndtr(bu), ndtr(bl)
        pu = np.exp(-0.5 * bu**2) / _SQRT_2PI
        pl = np.where(finite_lo, np.exp(-0.5 * np.where(finite_lo, bl, 0.0) ** 2) / _SQRT_2PI, 0.0)
        below = np.where(finite_lo, (upper - lo) * cl, 0.0)
        g = np.maximum(below + (upper - mu) * (cu - cl) + s * (pu - pl), 0.0)
        out[a:a + step] = np.prod(g, axis=2).sum(axis=1)
    return out


def _moments(surrogate: Surrogate, u: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    post = surrogate.posterior(u)
    return post.mean, post.std, post.predictive_std


class MultiSurrogate:
    """One surrogate per goal and per outcome constraint, a failure model, the incumbent front and the reference
    point: what :class:`HypervolumeImprovement` needs; told fantasies through :meth:`condition` (a
    :class:`campaigns.acquisition.Surrogate` in that sense, with one column per output)."""

    def __init__(self, goals: Sequence[Surrogate], constraints: Sequence[Surrogate], failure: FailureModel | None,
                 incumbent: np.ndarray, ref: np.ndarray) -> None:
        self.goals, self.constraints, self.failure = list(goals), list(constraints), failure
        self.ref = np.asarray(ref, float)
        inc = np.asarray(incumbent, float).reshape(-1, len(self.ref))
        self.incumbent = inc[pareto_mask(inc)] if len(inc) else inc
        self.boxes = nondominated_boxes(self.incumbent, self.ref)

    def goal_posterior(self, u: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Mean and standard deviation of each goal's latent score (N, m) [score units]."""
        parts = [_moments(g, u) for g in self.goals]
        return np.column_stack([p[0] for p in parts]), np.column_stack([p[1] for p in parts])

    def goal_predictive(self, u: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Mean and standard deviation of a new *measurement* of each goal (N, m) [score units]."""
        parts = [_moments(g, u) for g in self.goals]
        return np.column_stack([p[0] for p in parts]), np.column_stack([p[2] for p in parts])

    def p_constraints(self, u: np.ndarray) -> np.ndarray:
        """Probability that every outcome constraint's measured slack is ≤ 0 (independent GPs)."""
        u = np.atleast_2d(u)
        p = np.ones(len(u))
        for c in self.constraints:
            mean, _, sd = _moments(c, u)
            p *= ndtr(-mean / np.maximum(sd, 1e-12))
        return p

    def p_success(self, u: np.ndarray) -> np.ndarray:
        """1 − P(failure) of the failure model (1 without one)."""
        u = np.atleast_2d(u)
        return np.ones(len(u)) if self.failure is None else 1.0 - self.failure.probability(u)

    def feasibility(self, u: np.ndarray) -> np.ndarray:
        """P(every outcome constraint holds and the run does not fail) [0–1]."""
        return self.p_constraints(u) * self.p_success(u)

    def believe(self, u: np.ndarray) -> np.ndarray:
        """The kriging believer's lies at ``u``: each output's posterior mean, goals then constraints (N, m + c)."""
        cols = [_moments(s, u)[0] for s in (*self.goals, *self.constraints)]
        return np.column_stack(cols)

    def condition(self, u: np.ndarray, y: np.ndarray) -> MultiSurrogate:
        """Every output told its column of ``y`` (N, m + c) at ``u`` (hyper-parameters frozen); rows whose
        constraint values are all ≤ 0 join the incumbent front."""
        u = np.atleast_2d(np.asarray(u, float))
        y = np.asarray(y, float).reshape(len(u), -1)
        m = len(self.goals)
        goals = [g.condition(u, y[:, j]) for j, g in enumerate(self.goals)]
        cons = [c.condition(u, y[:, m + k]) for k, c in enumerate(self.constraints)]
        ok = np.all(y[:, m:] <= 0.0, axis=1) if self.constraints else np.ones(len(u), bool)
        return MultiSurrogate(goals, cons, self.failure, np.vstack([self.incumbent, y[ok, :m]]), self.ref)


@dataclass(frozen=True)
class HypervolumeImprovement:
    """EHVI × P(feasible) where P(feasible) > ``threshold``; ``P(feasible) − 1`` (< 0) elsewhere. Called as the
    shared layer calls an acquisition: ``(model, u, y_best)`` (``y_best`` is not used: the front is the model's)."""

    threshold: float = FEASIBILITY_THRESHOLD

    def __call__(self, model: MultiSurrogate, u: np.ndarray, y_best: float = float("nan")) -> np.ndarray:
        u = np.atleast_2d(u)
        pf = model.feasibility(u)
        ok = pf > self.threshold
        gain = pf - 1.0
        if ok.any():
            mean, std = model.goal_posterior(u[ok])
            gain[ok] = expected_hypervolume_improvement(mean, std, *model.boxes) * pf[ok]
        return gain


def believer(model: MultiSurrogate, u: np.ndarray) -> np.ndarray:
    """The ``lie`` of :func:`campaigns.acquisition.propose_batch` for a :class:`MultiSurrogate`."""
    return model.believe(u)
