"""What a calibration found: one :class:`ParameterFit` per parameter and the :class:`CalibrationResult` with the
calibrated chamber, its report and its provenance."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from datetime import UTC, datetime

import numpy as np

import process_models as pm
from campaigns.calibration.errors import CalibrationError
from campaigns.calibration.measurements import chamber_fingerprint
from twin import Chamber


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
