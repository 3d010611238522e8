"""Calibration of a chamber's uncertain model parameters against measured runs.

The twin's [A] and [M] parameters (``physics/FACTS.md``) are guesses. :func:`calibrate` moves a chosen set of
them so that the deterministic twin reproduces measured runs, by penalised maximum likelihood in log space:

* model: ``log R_meas,i = log R_twin(recipe_i; p) + ε_i``, ``ε_i ~ N(0, σ²)`` (the tool's measurement noise is
  log-normal, ``chamber.noise.resistance_rel_sigma``), plus, where a run reports its deposition rate,
  ``log rate_meas,i = log rate_twin(recipe_i; p) + ε'_i`` with ``σ_rate``;
* parameters enter as ``θ_j = log(p_j / p_j,0)`` with a weak Gaussian prior ``θ_j ~ N(0, σ_prior²)`` around the
  chamber's current value (default ``σ_prior = ln 10``: a factor of ten is one standard deviation). The prior only
  keeps parameters that the data cannot see from wandering to their bounds; with informative data the estimate
  is the maximum-likelihood one;
* ``scipy.optimize.least_squares`` (trust-region reflective, bounded by each parameter's documented range and
  by a factor of 1000 either way) minimises the sum of squared whitened residuals and prior terms;
* uncertainty: 68 % and 95 % intervals from the profile likelihood (each parameter stepped away from the optimum
  with the others re-fitted, until ``2·Δcost`` reaches 1 and 1.96²; Raue et al. 2009), which stays honest when
  one parameter can slide into a region where the twin no longer depends on it; with ``profile=False`` the
  Laplace approximation ``Cov(θ) = (JᵀJ + I/σ_prior²)⁻¹`` with secant Jacobians over the posterior width.
  Both are inflated by the reduced χ² when the fit is worse than the assumed noise. Since ``θ = log p``,
  ``std(θ_j)`` (half the 68 % interval) is the relative standard deviation of ``p_j``;
* ``least_squares`` loss: plain least squares by default (maximum likelihood); ``soft_l1`` resists a run spoiled
  by a random event (a leak burst during deposition);
* identifiability: a parameter is *not identified* when the data shrink its prior standard deviation by less than
  half; the eigen-decomposition of the data's information matrix ``JᵀJ`` names near-singular directions
  (combinations of parameters that the runs cannot tell apart), and a parameter on which the deterministic twin
  does not depend at all (e.g. ``events.leak_rate_per_h``: random leak bursts are absent from the expected
  outcome) is reported as such.

Runs are compared to the twin in the chamber state they were made in (target kWh, shield kWh, hours since the
last vent), because the chamber's water falls as ~1/t after a vent and changes R_int from run to run.

Examples
--------
>>> from twin import Chamber, Recipe, simulate
>>> truth = Chamber().replace({"interface.clean_resistance_ohm_cm2": 9.5})
>>> recipes = [Recipe(rf_power_w=p, pumpdown_min=m) for p in (60.0, 120.0, 200.0) for m in (60.0, 600.0)]
>>> runs = [Measurement(r, simulate(r, truth, deterministic=True).interface_resistance_ohm_cm2) for r in recipes]
>>> fit = calibrate(runs, Chamber(), ["interface.clean_resistance_ohm_cm2"])
>>> round(fit.value("interface.clean_resistance_ohm_cm2"), 2)
9.5
"""

from __future__ import annotations

import hashlib
import json
import logging
import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import numpy as np
from scipy.optimize import least_squares

import process_models as pm
from campaigns.errors import CampaignError
from twin import Chamber, Recipe, RunResult, simulate_queue
from twin.errors import InputError

log = logging.getLogger(__name__)

DEFAULT_PARAMETERS: tuple[str, ...] = (
    "contamination.sticking_coefficient",
    "interface.damage_coefficient",
    "interface.clean_resistance_ohm_cm2",
    "events.leak_rate_per_h",
    "deposition.yield_q",
)
"""Parameters fitted when none are named: the [A]/[M]/[C-range] ones that drive R_int and the rate most."""

CALIBRATABLE_SECTIONS: tuple[str, ...] = ("deposition", "energetics", "contamination", "film", "interface",
                                          "defects", "events")
"""Chamber sections that hold model parameters; geometry, limits, vacuum, state, noise and telemetry describe the
tool or its use and are not fitted."""

STATE_FIELDS: tuple[str, ...] = ("target_kwh", "shield_kwh", "hours_since_vent")

_FAILED_LOG_R = math.log(1e6)
"""log R_int [Ω·cm²] used for a run the twin cannot simulate with trial parameters (keeps the fit finite)."""


class CalibrationError(CampaignError):
    """Calibration refused: unknown parameters, too few runs, runs from another chamber, bad options."""


# -- measurements -----------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Measurement:
    """One measured run: the recipe as sent and what was measured.

    Parameters
    ----------
    recipe : Recipe
        The recipe as the tool ran it.
    interface_resistance_ohm_cm2 : float
        Measured interface resistance [Ω·cm²] (NaN if not measured yet: the run is then skipped).
    deposition_rate_nm_min : float
        Measured deposition rate [nm/min] of the bulk layer; NaN if the tool does not report it.
    state : dict, optional
        Chamber state at the start of the run (``target_kwh``, ``shield_kwh``, ``hours_since_vent``); omitted keys
        keep the chamber's own ``[state]`` values.
    chamber_name : str, optional
        Name of the chamber (twin) the run was recorded against, for the "runs from another chamber" check.
    label : str
        Free text naming the run in reports (e.g. the trial id).
    """

    recipe: Recipe
    interface_resistance_ohm_cm2: float
    deposition_rate_nm_min: float = math.nan
    state: dict[str, float] | None = None
    chamber_name: str | None = None
    label: str = ""

    @classmethod
    def from_result(cls, result: RunResult, *, state: dict[str, float] | None = None,
                    chamber_name: str | None = None, label: str = "", use_rate: bool = True) -> Measurement:
        """A measurement from a tool's :class:`twin.RunResult` (``state`` is the chamber state before the run)."""
        st = dict(state) if state is not None else {"target_kwh": float(result.target_kwh_start)}
        rate = float(result.deposition_rate_nm_min) if use_rate else math.nan
        return cls(result.recipe, float(result.interface_resistance_ohm_cm2), rate, st, chamber_name, label)

    @property
    def usable(self) -> bool:
        """True if the interface resistance was measured (finite and positive)."""
        r = self.interface_resistance_ohm_cm2
        return isinstance(r, int | float) and math.isfinite(r) and r > 0


def measurements_from_queue(results: Sequence[RunResult], chamber: Chamber, *, chamber_name: str | None = None,
                            skip_shorted: bool = True, use_rate: bool = True) -> list[Measurement]:
    """Measurements from results of consecutive runs on one tool, the state before each run reconstructed.

    Run ``k`` starts in the state run ``k − 1`` left (``RunResult.chamber_state_after``); the first run starts in
    ``chamber``'s ``[state]``. Shorted cells give no interface resistance and are skipped by default.
    """
    out: list[Measurement] = []
    state = {k: float(getattr(chamber.state, k)) for k in STATE_FIELDS}
    for i, res in enumerate(results):
        if not (skip_shorted and res.shorted):
            out.append(Measurement.from_result(res, state=dict(state), chamber_name=chamber_name, label=f"run {i}",
                                               use_rate=use_rate))
        state.update({k: float(v) for k, v in res.chamber_state_after.items() if k in STATE_FIELDS})
    return out


def measurements_from_store(store: Any, campaign: int | str | None = None, *,
                            use_rate: bool = True) -> tuple[Chamber, list[Measurement], str]:
    """The campaign's chamber, its measured runs and its name, read from a :class:`campaigns.store.CampaignStore`.

    Runs are the trials that reached the tool and have a measured interface resistance (``done``, and ``failed``
    for a constraint such as the thickness tolerance; shorted cells and tool failures carry none). The chamber
    state before each run is the state the previous run (by run index) left; the first starts in the campaign
    chamber's ``[state]``. Every run is recorded against the campaign's chamber name.
    """
    from campaigns.runner import load_campaign

    if campaign is None:
        camps = store.campaigns()
        if len(camps) != 1:
            raise CalibrationError("--campaign", None, f"the store holds {len(camps)} campaigns; name one",
                                   ", ".join(c.name for c in camps) or "none", source=str(store.path))
        campaign = camps[0].id
    cid, config, chamber = load_campaign(store, campaign)
    trials = [t for t in store.trials(cid) if t.result is not None and t.run_index is not None]
    trials.sort(key=lambda t: t.run_index)
    state = {k: float(getattr(chamber.state, k)) for k in STATE_FIELDS}
    out: list[Measurement] = []
    for t in trials:
        res = t.result
        r_int = res.get("interface_resistance_ohm_cm2")
        if t.state in ("done", "failed") and not res.get("shorted") and r_int is not None:
            rate = res.get("deposition_rate_nm_min") if use_rate else None
            out.append(Measurement(Recipe.from_dict(t.recipe), float(r_int),
                                   float(rate) if rate is not None else math.nan, dict(state), chamber.name,
                                   f"trial {t.id}"))
        after = res.get("chamber_state_after") or {}
        state.update({k: float(v) for k, v in after.items() if k in STATE_FIELDS and v is not None})
    return chamber, out, config.name


def chamber_fingerprint(chamber: Chamber) -> str:
    """Short hash of every model parameter of ``chamber`` (not its name or state), to record with runs."""
    doc = {k: v for k, v in chamber.to_dict().items() if k not in ("name", "state", "telemetry")}
    return hashlib.sha256(json.dumps(doc, sort_keys=True).encode()).hexdigest()[:16]


# -- the twin's prediction ---------------------------------------------------------------------------------------
def _with_state(chamber: Chamber, state: dict[str, float] | None) -> Chamber:
    if not state:
        return chamber
    return chamber.replace({f"state.{k}": float(v) for k, v in state.items() if k in STATE_FIELDS})


def predict(chamber: Chamber, recipe: Recipe, state: dict[str, float] | None = None) -> RunResult:
    """The deterministic twin's expected outcome of ``recipe`` in ``chamber`` started in ``state``."""
    return simulate_queue([recipe], _with_state(chamber, state), deterministic=True, check=False)[0]


# -- the fit -----------------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class ParameterFit:
    """Result for one parameter. ``std_log`` is the standard deviation of ``log(value)`` ≈ relative std
    (half the width of the 68 % interval in log)."""

    name: str
    initial: float
    value: float
    std_log: float
    prior_std_log: float
    sensitivity: float
    """RMS of ∂ log R_twin / ∂ log p over the runs [1]; 0 means the deterministic twin ignores the parameter."""
    identified: bool
    at_bound: bool
    interval68: tuple[float, float]
    """68 % interval (profile likelihood, or Laplace ± 1 std)."""
    interval95: tuple[float, float]
    """95 % interval (profile likelihood, or Laplace ± 1.96 std); may be asymmetric."""

    @property
    def rel_std(self) -> float:
        """Relative standard deviation of the value [1] (half the 68 % interval in log)."""
        return self.std_log


@dataclass(frozen=True)
class CalibrationResult:
    """Everything :func:`calibrate` found: the calibrated chamber, the fit, its uncertainty and its residuals."""

    chamber: Chamber
    base_chamber: Chamber
    parameters: tuple[ParameterFit, ...]
    covariance_log: np.ndarray = field(repr=False)
    residuals_log: np.ndarray = field(repr=False)
    """log(measured R_int) − log(calibrated twin R_int), one per run used."""
    residuals_before_log: np.ndarray = field(repr=False)
    """The same residuals for the chamber before calibration."""
    rate_residuals_log: np.ndarray = field(repr=False)
    labels: tuple[str, ...]
    weak_directions: tuple[str, ...]
    sigma_log: float
    reduced_chi2: float
    n_runs: int
    success: bool
    message: str
    method: str = ""
    """How the fit and its uncertainty were computed (for the provenance)."""

    @property
    def names(self) -> tuple[str, ...]:
        return tuple(p.name for p in self.parameters)

    @property
    def unidentified(self) -> tuple[str, ...]:
        """Parameters the data could not identify."""
        return tuple(p.name for p in self.parameters if not p.identified)

    def value(self, name: str) -> float:
        """Fitted value of one parameter."""
        for p in self.parameters:
            if p.name == name:
                return p.value
        raise CalibrationError("parameter", name, "not among the fitted parameters", ", ".join(self.names))

    @property
    def poor_fit(self) -> bool:
        """True when the residuals are far larger than the measurement noise (reduced χ² > 4)."""
        return bool(math.isfinite(self.reduced_chi2) and self.reduced_chi2 > 4.0)

    def rms_error(self, before: bool = False) -> float:
        """RMS of the log residuals [1] (≈ relative error), after (default) or before calibration."""
        r = self.residuals_before_log if before else self.residuals_log
        return float(np.sqrt(np.mean(r**2))) if r.size else math.nan

    def report(self) -> str:
        """A plain-text report: parameters, uncertainty, identifiability, residuals."""
        lines = [f"calibration of chamber {self.chamber.name!r} on {self.n_runs} runs "
                 f"({'converged' if self.success else 'NOT converged'}: {self.message})",
                 f"{'parameter':42s} {'before':>11s} {'after':>11s} {'±rel':>7s}  95% interval            note"]
        for p in self.parameters:
            lo, hi = p.interval95
            if p.sensitivity == 0.0:
                note = "no effect on the deterministic twin: not identifiable"
            elif not p.identified:
                note = "NOT identified by these runs (prior dominates)"
            else:
                note = "at its bound" if p.at_bound else ""
            lines.append(f"{p.name:42s} {p.initial:11.4g} {p.value:11.4g} {p.std_log:7.1%}  "
                         f"[{lo:9.3g}, {hi:9.3g}]  {note}")
        for w in self.weak_directions:
            lines.append(f"poorly determined combination: {w}")
        lines.append(f"log R_int residuals: RMS {self.rms_error(True):.3f} before -> {self.rms_error():.3f} after "
                     f"(assumed noise σ = {self.sigma_log:.3f}, reduced χ² = {self.reduced_chi2:.2f})")
        if self.poor_fit:
            lines.append(f"WARNING: the fitted parameters cannot explain these runs (reduced χ² = "
                         f"{self.reduced_chi2:.1f} > 4): the twin misses something they show; do not trust its "
                         "predictions away from them, and consider other parameters")
        worst = np.argsort(-np.abs(self.residuals_log))[:5]
        if self.residuals_log.size:
            lines.append("largest residuals: " + ", ".join(
                f"{self.labels[i] or i}: {self.residuals_log[i]:+.3f}" for i in worst))
        return "\n".join(lines)

    def provenance(self, source: str = "") -> str:
        """Header lines for the calibrated chamber file."""
        now = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")  # provenance stamp only, not a simulation input
        lines = [f"Calibrated chamber {self.chamber.name!r}: {self.n_runs} measured runs"
                 + (f" from {source}" if source else "") + f", {now}",
                 f"sputter-twin model {pm.MODEL_VERSION}; method: {self.method}",
                 f"base chamber fingerprint {chamber_fingerprint(self.base_chamber)} -> "
                 f"calibrated {chamber_fingerprint(self.chamber)}"]
        for p in self.parameters:
            lines.append(f"  {p.name} = {p.value:.6g} (was {p.initial:.6g}, ±{p.std_log:.1%}"
                         + ("" if p.identified else ", not identified") + ")")
        lines.append(f"log R_int residual RMS {self.rms_error(True):.3f} -> {self.rms_error():.3f}")
        return "\n".join(lines)

    def to_toml(self, source: str = "") -> str:
        """The calibrated chamber as TOML, with the provenance as a header comment."""
        return self.chamber.to_toml(header=self.provenance(source))


def _check_parameters(chamber: Chamber, parameters: Sequence[str]) -> list[tuple[str, float, float, float]]:
    """(name, value, low, high) per parameter; unknown, duplicate or unfittable names are errors."""
    docs = {f"{d['section']}.{d['name']}": d for d in Chamber.parameter_docs()}
    fittable = sorted(k for k, d in docs.items() if d["section"] in CALIBRATABLE_SECTIONS
                      and isinstance(d["default"], float))
    out = []
    if not parameters:
        raise CalibrationError("parameters", list(parameters), "no parameters to fit", "one or more of: "
                               + ", ".join(DEFAULT_PARAMETERS) + ", ...")
    for name in parameters:
        if name not in docs:
            raise CalibrationError("parameters", name, "no such chamber parameter",
                                   "section.field, e.g. " + ", ".join(DEFAULT_PARAMETERS))
        d = docs[name]
        if d["section"] not in CALIBRATABLE_SECTIONS:
            raise CalibrationError("parameters", name, f"section [{d['section']}] describes the tool, not the "
                                   "model; it is not calibrated", "sections " + ", ".join(CALIBRATABLE_SECTIONS))
        if name not in fittable:
            raise CalibrationError("parameters", name, "not a numeric model parameter", "numeric parameters")
        if any(name == o[0] for o in out):
            raise CalibrationError("parameters", name, "named twice", "each parameter once")
        value = float(chamber.get(name))
        if not value > 0:
            raise CalibrationError("parameters", name, f"current value {value} is not positive; parameters are "
                                   "fitted on a log scale", "parameters with a positive value")
        low = d["low"] if d["low"] is not None else 0.0
        high = d["high"] if d["high"] is not None else math.inf
        out.append((name, value, float(low), float(high)))
    return out


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
    specs = _check_parameters(chamber, names)
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
    chambers_state = [_with_state(chamber, m.state) for m in used]

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
    weights = _robust_weights(data_res, loss, f_scale)[:, None]
    # tangent Jacobian of the raw whitened data residuals (least_squares' own is scaled by the loss)
    tangent = _secant_jacobian(lambda t: residuals(t)[:n_data], theta, lb, ub, np.ones((n_data, k)),
                               np.ones((n_data, 1)), prior_prec, rounds=0, step=1e-4)
    jac = _secant_jacobian(lambda t: residuals(t)[:n_data], theta, lb, ub, tangent, weights, prior_prec)
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
        intervals = [_profile_interval(residuals, sol, j, lb, ub, std[j], threshold, loss, f_scale)
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
    weak = _weak_directions(info_data, names)
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


def _profile_interval(residuals, sol, j: int, lb: np.ndarray, ub: np.ndarray, std0: float, threshold: float,
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


def _robust_weights(res: np.ndarray, loss: str, f_scale: float) -> np.ndarray:
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


def _secant_jacobian(fun, theta: np.ndarray, lb: np.ndarray, ub: np.ndarray, jac: np.ndarray,
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


def _weak_directions(info: np.ndarray, names: Sequence[str], threshold_std: float = 0.5) -> list[str]:
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


def held_out_errors(chamber: Chamber, runs: Iterable[Measurement]) -> np.ndarray:
    """Relative prediction errors ``|R_twin − R_meas| / R_meas`` of ``chamber`` on measured ``runs`` [1]."""
    errs = []
    for m in runs:
        if not m.usable:
            continue
        r = predict(chamber, m.recipe, m.state).interface_resistance_ohm_cm2
        errs.append(abs(r - m.interface_resistance_ohm_cm2) / m.interface_resistance_ohm_cm2)
    return np.asarray(errs)


def parse_parameters(text: str) -> list[str]:
    """Comma-separated dotted names → list (for the command line)."""
    return [s.strip() for s in text.split(",") if s.strip()]


__all__ = [
    "CALIBRATABLE_SECTIONS", "DEFAULT_PARAMETERS", "CalibrationError", "CalibrationResult", "Measurement",
    "ParameterFit", "calibrate", "chamber_fingerprint", "held_out_errors", "measurements_from_queue",
    "measurements_from_store",
    "parse_parameters", "predict",
]
