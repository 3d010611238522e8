"""The fit itself: :func:`calibrate`, penalised maximum likelihood in log space (the method is described in the
package docstring, :mod:`campaigns.calibration`)."""

from __future__ import annotations

import logging
import math
from collections.abc import Iterable, Sequence

import numpy as np
from scipy.optimize import least_squares

from campaigns.calibration.errors import CalibrationError
from campaigns.calibration.measurements import Measurement
from campaigns.calibration.parameters import DEFAULT_PARAMETERS, check_parameters
from campaigns.calibration.prediction import with_state
from campaigns.calibration.result import CalibrationResult, ParameterFit
from campaigns.calibration.uncertainty import profile_interval, robust_weights, secant_jacobian, weak_directions
from twin import Chamber, simulate_queue
from twin.errors import InputError

log = logging.getLogger("campaigns.calibration")  # the package's logger, named as before the split

_FAILED_LOG_R = math.log(1e6)
"""log R_int [Ω·cm²] used for a run the twin cannot simulate with trial parameters (keeps the fit finite)."""


def _check_runs(runs: Iterable[Measurement], chamber: Chamber, n_params: int,
                expected_chamber: str | None) -> list[Measurement]:
    runs = list(runs)
    for m in runs:
        if not isinstance(m, Measurement):
            raise CalibrationError("runs", type(m).__name__, "expected Measurement objects", "Measurement")
    names = {m.chamber_name for m in runs if m.chamber_name is not None}
    want = expected_chamber if expected_chamber is not None else chamber.name
    foreign = sorted(n for n in names if n != want)
    if foreign:
        raise CalibrationError("chamber", foreign[0], f"runs were made on another chamber than {want!r}",
                               f"runs recorded against chamber {want!r}")
    used = [m for m in runs if m.usable]
    if not used:
        raise CalibrationError("runs", len(runs), "no finished runs with a measured interface resistance",
                               f">= {n_params + 1} finished runs")
    if len(used) < n_params + 1:
        raise CalibrationError("runs", len(used), f"too few finished runs to fit {n_params} parameters",
                               f">= {n_params + 1} finished runs (one more than the parameters)")
    return used


def calibrate(runs: Iterable[Measurement], chamber: Chamber, parameters: Sequence[str] | None = None, *,
              sigma_log: float | None = None, sigma_rate_log: float = 0.02, prior_std_log: float = math.log(10.0),
              expected_chamber: str | None = None, loss: str = "linear", f_scale: float = 3.0,
              profile: bool = True, max_nfev: int = 200) -> CalibrationResult:
    """Fit ``parameters`` of ``chamber`` to measured ``runs`` (see the module docstring for the method).

    Parameters
    ----------
    runs : iterable of Measurement
        Measured runs; runs without a finite positive R_int are skipped.
    chamber : Chamber
        The twin to calibrate; its values are the starting point and the centre of the prior.
    parameters : sequence of str, optional
        Dotted names (``section.field``); default :data:`DEFAULT_PARAMETERS`.
    sigma_log : float, optional
        Measurement noise of log R_int [1]; default ``chamber.noise.resistance_rel_sigma`` (floored at 0.01).
    sigma_rate_log : float
        Measurement noise of log rate [1] for runs that report a rate.
    prior_std_log : float
        Standard deviation of the prior on ``log(p/p0)`` [1]; ``inf`` gives plain maximum likelihood.
    expected_chamber : str, optional
        Name of the chamber the runs must have been recorded against; default ``chamber.name``.
    loss, f_scale : str, float
        ``least_squares`` loss and its scale in units of σ. ``"linear"`` (default) is plain maximum likelihood;
        ``soft_l1`` with ``f_scale = 3`` is quadratic for ordinary noise and linear beyond ~3σ, so a run spoiled by
        a random event (a leak burst during deposition, an arc) does not drag the fit.
    profile : bool
        Uncertainty from the profile likelihood (default) rather than the Laplace approximation alone.
    max_nfev : int
        Budget of least-squares iterations' function evaluations.

    Raises
    ------
    CalibrationError
        Unknown or unfittable parameter names, too few finished runs (fewer than parameters + 1), runs recorded
        against another chamber, bad options.
    """
    names = list(DEFAULT_PARAMETERS if parameters is None else parameters)
    specs = check_parameters(chamber, names)
    k = len(specs)
    used = _check_runs(runs, chamber, k, expected_chamber)
    if sigma_log is None:
        sigma_log = max(float(chamber.noise.resistance_rel_sigma), 0.01)
    for opt, val in (("sigma_log", sigma_log), ("sigma_rate_log", sigma_rate_log), ("prior_std_log", prior_std_log)):
        if not (isinstance(val, int | float) and val > 0 and not math.isnan(val)):
            raise CalibrationError(opt, val, "must be a positive number", "> 0")

    p0 = np.array([s[1] for s in specs])
    lb = np.array([math.log(max(s[2], s[1] * 1e-3) / s[1]) for s in specs])
    ub = np.array([math.log(min(s[3], s[1] * 1e3) / s[1]) for s in specs])
    ub = np.maximum(ub, lb + 1e-9)
    y = np.log([m.interface_resistance_ohm_cm2 for m in used])
    rate_idx = [i for i, m in enumerate(used) if math.isfinite(m.deposition_rate_nm_min)
                and m.deposition_rate_nm_min > 0]
    y_rate = np.log([used[i].deposition_rate_nm_min for i in rate_idx]) if rate_idx else np.zeros(0)
    chambers_state = [with_state(chamber, m.state) for m in used]

    def twin_logs(theta: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        changes = {name: float(v) for name, v in zip(names, p0 * np.exp(theta), strict=True)}
        out_r = np.empty(len(used))
        out_rate = np.empty(len(rate_idx))
        rates = {}
        for i, (m, ch) in enumerate(zip(used, chambers_state, strict=True)):
            try:
                res = simulate_queue([m.recipe], ch.replace(changes), deterministic=True, check=False)[0]
                r = res.interface_resistance_ohm_cm2
                out_r[i] = math.log(r) if r > 0 and math.isfinite(r) else _FAILED_LOG_R
                rates[i] = res.deposition_rate_nm_min
            except (InputError, ValueError, ZeroDivisionError, OverflowError, FloatingPointError):
                out_r[i] = _FAILED_LOG_R
                rates[i] = math.nan
        for j, i in enumerate(rate_idx):
            rt = rates[i]
            out_rate[j] = math.log(rt) if rt > 0 and math.isfinite(rt) else 0.0
        return out_r, out_rate

    finite_prior = math.isfinite(prior_std_log)

    def residuals(theta: np.ndarray) -> np.ndarray:
        lr, lrate = twin_logs(theta)
        parts = [(y - lr) / sigma_log, (y_rate - lrate) / sigma_rate_log]
        if finite_prior:
            parts.append(theta / prior_std_log)
        return np.concatenate(parts)

    theta0 = np.clip(np.zeros(k), lb, ub)
    if loss not in ("linear", "soft_l1", "huber", "cauchy", "arctan"):
        raise CalibrationError("loss", loss, "unknown loss", "linear | soft_l1 | huber | cauchy | arctan")
    sol = least_squares(residuals, theta0, bounds=(lb, ub), method="trf", x_scale=1.0, diff_step=1e-4,
                        loss=loss, f_scale=f_scale, max_nfev=max_nfev)
    theta = sol.x
    n_data = len(used) + len(rate_idx)
    prior_prec = np.eye(k) / prior_std_log**2 if finite_prior else np.zeros((k, k))
    data_res = sol.fun[:n_data]
    weights = robust_weights(data_res, loss, f_scale)[:, None]
    # tangent Jacobian of the raw whitened data residuals (least_squares' own is scaled by the loss)
    tangent = secant_jacobian(lambda t: residuals(t)[:n_data], theta, lb, ub, np.ones((n_data, k)),
                              np.ones((n_data, 1)), prior_prec, rounds=0, step=1e-4)
    jac = secant_jacobian(lambda t: residuals(t)[:n_data], theta, lb, ub, tangent, weights, prior_prec)
    info_data = jac.T @ jac
    dof = n_data - k
    if dof <= 0:
        chi2_red = math.nan
    elif loss == "linear":
        chi2_red = float(data_res @ data_res / dof)
    else:  # robust scale (MAD), so that one spoiled run does not inflate every uncertainty
        chi2_red = float((1.4826 * np.median(np.abs(data_res[: len(used)]))) ** 2 * n_data / dof)
    cov = np.linalg.pinv(info_data + prior_prec)
    if dof > 0 and chi2_red > 1.0:
        cov = cov * chi2_red
    std = np.sqrt(np.clip(np.diag(cov), 0.0, None))
    threshold = max(1.0, chi2_red) if dof > 0 else 1.0
    intervals = [(theta[j] - std[j], theta[j] + std[j], theta[j] - 1.96 * std[j], theta[j] + 1.96 * std[j])
                 for j in range(k)]
    if profile:
        intervals = [profile_interval(residuals, sol, j, lb, ub, std[j], threshold, loss, f_scale)
                     for j in range(k)]
        std = np.array([0.5 * (iv[1] - iv[0]) for iv in intervals])
    # sensitivity of log R_int to log p (whitened Jacobian back to log units)
    sens = np.sqrt(np.mean((jac[: len(used)] * sigma_log) ** 2, axis=0)) if len(used) else np.zeros(k)
    sens = np.where(sens < 1e-9, 0.0, sens)
    fits = []
    for j, (name, value0, _, _) in enumerate(specs):
        shrink = std[j] / prior_std_log if finite_prior else (0.0 if math.isfinite(std[j]) else 1.0)
        identified = bool(sens[j] > 0 and shrink < 0.5 and std[j] < 1.0)
        at_bound = bool(theta[j] - lb[j] < 1e-6 or ub[j] - theta[j] < 1e-6)
        lo68, hi68, lo95, hi95 = (value0 * math.exp(v) for v in intervals[j])
        fits.append(ParameterFit(name, value0, float(value0 * math.exp(theta[j])), float(std[j]),
                                 float(prior_std_log), float(sens[j]), identified, at_bound,
                                 (float(lo68), float(hi68)), (float(lo95), float(hi95))))
    weak = weak_directions(info_data, names)
    changes = {f.name: f.value for f in fits}
    calibrated = chamber.replace(changes)
    lr_after, lrate_after = twin_logs(theta)
    lr_before, _ = twin_logs(np.zeros(k))
    log.info("calibrated %s on %d runs: %s", chamber.name, len(used),
             ", ".join(f"{f.name}={f.value:.4g}" for f in fits))
    return CalibrationResult(
        chamber=calibrated, base_chamber=chamber, parameters=tuple(fits), covariance_log=cov,
        residuals_log=y - lr_after, residuals_before_log=y - lr_before, rate_residuals_log=y_rate - lrate_after,
        labels=tuple(m.label for m in used), weak_directions=tuple(weak), sigma_log=float(sigma_log),
        reduced_chi2=chi2_red, n_runs=len(used), success=bool(sol.success), message=str(sol.message),
        method=(f"maximum likelihood in log R_int{' and log rate' if rate_idx else ''} (scipy least_squares, "
                f"{loss} loss, σ = {sigma_log:.3g}, prior σ_log = {prior_std_log:.3g}), "
                + ("profile-likelihood intervals" if profile else "Laplace intervals")),
    )
