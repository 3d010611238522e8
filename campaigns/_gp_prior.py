"""A prior on a GP's length scales: maximum a posteriori hyper-parameters instead of maximum likelihood.

With few runs in several dimensions, maximum likelihood often sends a length scale to its upper bound (100 on the
unit cube in skopt's kernel): the GP then treats that variable as irrelevant, is confidently wrong wherever the
variable matters, and its near-flat posterior lets the acquisition drift to the faces and corners of the cube. A
Gamma(3, 6) prior on each length scale [unit-cube lengths] (mode 1/3, mean 1/2; BoTorch's ``SingleTaskGP`` default
on inputs scaled to the unit cube and standardised outputs, Balandat et al., NeurIPS 2020) keeps a variable relevant
until the data say otherwise. It is a named assumption, not fitted to any problem.

:func:`map_optimizer` is an ``optimizer`` callable for scikit-learn's ``GaussianProcessRegressor``: it adds the
negative log prior (in the log-length-scale coordinates the regressor optimises, Jacobian included) to the negative
log marginal likelihood and minimises the sum with L-BFGS-B.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
from scipy.optimize import minimize

GAMMA_SHAPE = 3.0
"""Shape of the Gamma prior on each length scale [1]."""
GAMMA_RATE = 6.0
"""Rate of the Gamma prior on each length scale [1/unit-cube length]."""


def length_scale_indices(kernel: Any) -> np.ndarray:
    """Indices, in ``kernel.theta``, of the (log) length scales of a scikit-learn kernel that are free: a length
    scale pinned by equal bounds (a term of :func:`campaigns._skopt.context_kernel` that ignores a column) is left
    out, as its prior would only add a constant."""
    idx, at = [], 0
    for h in kernel.hyperparameters:
        if h.fixed:
            continue
        n = int(h.n_elements)
        if h.name.endswith("length_scale"):
            idx.extend(range(at, at + n))
        at += n
    bounds = np.asarray(kernel.bounds, float).reshape(-1, 2)
    return np.asarray([i for i in idx if bounds[i, 1] > bounds[i, 0]], int)


def neg_log_prior(theta: np.ndarray, idx: np.ndarray) -> tuple[float, np.ndarray]:
    """Negative log density of the Gamma prior in ``θ = log ℓ`` (up to a constant) and its gradient in ``θ``.

    ``log p(θ) = a θ − b e^θ`` (the Gamma density of ``ℓ = e^θ`` times the Jacobian ``ℓ``).

    Examples
    --------
    >>> v, g = neg_log_prior(np.log([0.5]), np.array([0]))   # a/b = 0.5 is where the θ-density peaks
    >>> round(float(g[0]), 12)
    0.0
    """
    grad = np.zeros_like(theta, dtype=float)
    if not len(idx):
        return 0.0, grad
    t = theta[idx]
    grad[idx] = -(GAMMA_SHAPE - GAMMA_RATE * np.exp(t))
    return float(-np.sum(GAMMA_SHAPE * t - GAMMA_RATE * np.exp(t))), grad


def map_optimizer(get_kernel: Callable[[], Any]) -> Callable[..., tuple[np.ndarray, float]]:
    """An ``optimizer`` for ``GaussianProcessRegressor`` that maximises likelihood × prior; ``get_kernel`` returns
    the kernel being fitted (read at call time, after the regressor has added its noise term)."""

    def optimizer(obj_func: Callable[..., Any], initial_theta: np.ndarray,
                  bounds: np.ndarray) -> tuple[np.ndarray, float]:
        idx = length_scale_indices(get_kernel())

        def f(theta: np.ndarray) -> tuple[float, np.ndarray]:
            nll, grad = obj_func(theta, eval_gradient=True)
            p, gp = neg_log_prior(theta, idx)
            return float(nll) + p, np.asarray(grad, float) + gp

        res = minimize(f, initial_theta, method="L-BFGS-B", jac=True, bounds=bounds)
        return res.x, float(res.fun)

    return optimizer
