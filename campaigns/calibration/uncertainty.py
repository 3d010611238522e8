"""Uncertainty and identifiability of a fit: profile-likelihood intervals, secant Jacobians over the posterior
width, robust-loss weights, and the parameter combinations the runs cannot tell apart."""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
from scipy.optimize import least_squares


def profile_interval(residuals, sol, j: int, lb: np.ndarray, ub: np.ndarray, std0: float, threshold: float,
                     loss: str, f_scale: float) -> tuple[float, float, float, float]:
    """68 % and 95 % profile-likelihood intervals of ``θ_j`` (``lo68, hi68, lo95, hi95``): where ``2·Δcost`` with
    the other parameters re-fitted reaches 1 and 1.96² times ``threshold`` (1, or the reduced χ² when the fit is
    worse than the noise).

    The Laplace approximation is exact only for a model linear in its parameters; when one parameter can slide into
    a region where the twin no longer depends on it, its partners' uncertainty is understated at the optimum.
    The profile sees that (Raue et al., *Bioinformatics* 25, 1923 (2009), who also use it to tell practically
    non-identifiable parameters: an interval that runs into the bounds). Offsets are tried at 1, 2, 4 and 8
    Laplace standard deviations on each side and the crossings interpolated in ``√(2·Δcost)``.
    """
    theta = sol.x
    k = theta.size
    others = [i for i in range(k) if i != j]
    base_cost = float(sol.cost)
    step0 = max(std0, 0.02) if math.isfinite(std0) else 1.0

    def prof(tj: float, start: np.ndarray) -> tuple[float, np.ndarray]:
        def sub(t_others: np.ndarray) -> np.ndarray:
            full = theta.copy()
            full[j] = tj
            full[others] = t_others
            return residuals(full)
        if not others:
            r = sub(np.zeros(0))
            z = (r / f_scale) ** 2
            rho = {"linear": z, "soft_l1": 2 * (np.sqrt(1 + z) - 1), "huber": np.where(z <= 1, z, 2 * np.sqrt(z) - 1),
                   "cauchy": np.log1p(z), "arctan": np.arctan(z)}[loss]
            return 0.5 * f_scale**2 * float(np.sum(rho)), start
        x0 = np.clip(start, lb[others], ub[others])
        res = least_squares(sub, x0, bounds=(lb[others], ub[others]), method="trf", diff_step=1e-4, loss=loss,
                            f_scale=f_scale, ftol=1e-6, xtol=1e-6, max_nfev=30)
        return float(res.cost), res.x

    ends: dict[float, list[float]] = {1.0: [], 1.96: []}
    for sign in (-1.0, 1.0):
        bound = lb[j] if sign < 0 else ub[j]
        prev_d, prev_q = 0.0, 0.0
        start = theta[others].copy()
        found: dict[float, float] = {}
        for mult in (1.0, 2.0, 4.0, 8.0):
            d = min(mult * step0, abs(bound - theta[j]))
            if d <= prev_d:
                break
            cost, start = prof(theta[j] + sign * d, start)
            q = math.sqrt(max(2.0 * (cost - base_cost), 0.0) / threshold)
            for level in (1.0, 1.96):
                if level not in found and q >= level:
                    frac = (level - prev_q) / (q - prev_q) if q > prev_q else 1.0
                    found[level] = theta[j] + sign * (prev_d + frac * (d - prev_d))
            if 1.96 in found:
                break
            prev_d, prev_q = d, q
        for level in (1.0, 1.96):
            # not reached: the bound, or (beyond the last offset) a linear extrapolation in √Δχ²
            if level not in found:
                if prev_q > 0 and prev_d < abs(bound - theta[j]):
                    found[level] = theta[j] + sign * min(level * prev_d / prev_q, abs(bound - theta[j]))
                else:
                    found[level] = bound
            ends[level].append(float(found[level]))
    return ends[1.0][0], ends[1.0][1], ends[1.96][0], ends[1.96][1]


def robust_weights(res: np.ndarray, loss: str, f_scale: float) -> np.ndarray:
    """Row weights ``√ρ'(z)`` of a robust loss at whitened residuals ``res`` (``z = (res/f_scale)²``)."""
    z = (res / f_scale) ** 2
    if loss == "soft_l1":
        d = 1.0 / np.sqrt(1.0 + z)
    elif loss == "huber":
        d = np.where(z <= 1.0, 1.0, 1.0 / np.sqrt(np.maximum(z, 1.0)))
    elif loss == "cauchy":
        d = 1.0 / (1.0 + z)
    elif loss == "arctan":
        d = 1.0 / (1.0 + z**2)
    else:
        d = np.ones_like(z)
    return np.sqrt(d)


def secant_jacobian(fun, theta: np.ndarray, lb: np.ndarray, ub: np.ndarray, jac: np.ndarray,
                    weights: np.ndarray, prior_prec: np.ndarray, rounds: int = 2,
                    step: float | None = None) -> np.ndarray:
    """Jacobian of the whitened data residuals by central secants over ± one posterior standard deviation.

    The tangent Jacobian at the optimum understates the uncertainty when a parameter sits where the twin is flat
    in it (e.g. a sticking coefficient driven so low that contamination no longer matters): its partner then looks
    well determined. Secants over the width of the posterior see the curvature that matters; the step starts
    from the Laplace standard deviation and is refined ``rounds`` times.
    """
    jac = weights * jac
    for _ in range(max(rounds, 1)):
        if step is None:
            cov = np.linalg.pinv(jac.T @ jac + prior_prec)
            h = np.clip(np.sqrt(np.clip(np.diag(cov), 0.0, None)), 1e-3, 2.5)
        else:
            h = np.full(theta.size, step)
        new = np.empty_like(jac)
        for j in range(theta.size):
            up = theta.copy()
            dn = theta.copy()
            up[j] = min(theta[j] + h[j], ub[j])
            dn[j] = max(theta[j] - h[j], lb[j])
            if up[j] - dn[j] <= 0:
                new[:, j] = 0.0
                continue
            new[:, j] = weights[:, 0] * (fun(up) - fun(dn)) / (up[j] - dn[j])
        jac = new
    return jac


def weak_directions(info: np.ndarray, names: Sequence[str], threshold_std: float = 0.5) -> list[str]:
    """Combinations of log-parameters whose data-only standard deviation exceeds ``threshold_std``.

    Only directions mixing two or more parameters are listed (a single weak parameter is reported on its own
    line). Eigenvectors of ``JᵀJ`` with eigenvalue λ have data-only std ``1/√λ``.
    """
    if info.size == 0:
        return []
    vals, vecs = np.linalg.eigh(info)
    out = []
    for lam, v in zip(vals, vecs.T, strict=True):
        std = 1.0 / math.sqrt(lam) if lam > 0 else math.inf
        if std <= threshold_std:
            continue
        big = [(names[i], v[i]) for i in np.argsort(-np.abs(v)) if abs(v[i]) >= 0.3]
        if len(big) < 2:
            continue
        combo = " ".join(f"{c:+.2f}·log {n}" for n, c in big)
        out.append(f"{combo} (data-only std {std:.2g})" if math.isfinite(std) else f"{combo} (not constrained)")
    return out
