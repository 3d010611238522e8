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

from campaigns.calibration.errors import CalibrationError
from campaigns.calibration.fit import calibrate
from campaigns.calibration.measurements import (  # noqa: F401  (STATE_FIELDS: re-exported, as before the split)
    STATE_FIELDS,
    Measurement,
    chamber_fingerprint,
    measurements_from_queue,
    measurements_from_store,
)
from campaigns.calibration.parameters import CALIBRATABLE_SECTIONS, DEFAULT_PARAMETERS, parse_parameters
from campaigns.calibration.prediction import held_out_errors, predict
from campaigns.calibration.result import CalibrationResult, ParameterFit

__all__ = [
    "CALIBRATABLE_SECTIONS", "DEFAULT_PARAMETERS", "CalibrationError", "CalibrationResult", "Measurement",
    "ParameterFit", "calibrate", "chamber_fingerprint", "held_out_errors", "measurements_from_queue",
    "measurements_from_store",
    "parse_parameters", "predict",
]
