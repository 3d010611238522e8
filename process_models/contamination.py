"""Residual-gas contamination of the LiCoO2 surface before the electrolyte caps it.

* Impingement: ``Z = 3.513e22·p[Torr]/√(M·T)`` [1/(cm²·s)] (FACTS §4 [C]).
* Water partial pressure after a vent falls as ``1/t`` (Dayton; FACTS §4 [M]): ``p = p_floor + K/t``, so the
  exposure over an interval has the closed form ``p_floor·Δt + K·ln(t1/t0)``; a virtual-leak burst adds
  ``Δp·exp(−(t − t_b)/τ)`` whose integral is closed form too.
* Adsorption with occupancy-dependent sticking ``s = s0·(1 − θ)`` and first-order desorption ``θ/τ_d``
  (COMSOL water-on-metal reference model, FACTS §4 [C]): ``dθ/dt = a·(1 − θ) − θ/τ_d``, ``a = s0·Z/N_sites``.
  With ``a`` constant over a segment: ``θ(t) = θ_eq + (θ0 − θ_eq)·exp(−(a + 1/τ_d)·t)``, ``θ_eq = a/(a + 1/τ_d)``.
  The twin takes ``a`` from the segment's mean pressure (exact for constant pressure, the usual case).
* Protons: H2O adsorbs dissociatively on LiCoO2 (FACTS §4 [C]) and the protons go into the oxide (Kobayashi
  2022, FACTS §1 [C2]); the share of the saturated uptake grows with the dose ``L`` [langmuir] as
  ``1 − exp(−L/L_sat)`` [A].
* Air also forms surface species that a 150 °C anneal does not remove (Li2CO3 from CO2, [A]), growing as
  ``1 − exp(−t/τ_air)``; Kobayashi's annealed interface came back to ~10.3, not 8.6 Ω·cm².
* Impurities taken into the first nanometres of the film: the ratio of sticking water molecules to all
  arriving atoms, ``c = s_i·Z/(s_i·Z + F_dep)`` — more at high H2O pressure and low rate.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from process_models import _num as nx
from process_models._params import param
from process_models.constants import H2O_MASS_AMU, K_B_EV_K, LANGMUIR_PA_S, PA_PER_TORR


@dataclass(frozen=True)
class ContaminationParams:
    """Parameters of the contamination model."""

    h2o_outgassing_pa_s: float = param(0.25, "Pa·s", "K in p_H2O = p_floor + K/t after a vent (unbaked, "
                                       "water-dominated walls)", "[M] FACTS §4 Dayton ~1/t", low=0, high=100)
    h2o_floor_pa: float = param(2e-7, "Pa", "H2O partial pressure reached after long pumping", "[M] FACTS §4 "
                                "base pressures 1e-5–1e-7 Pa", low=0, high=1e-2)
    sticking_coefficient: float = param(0.1, "1", "initial sticking coefficient s0 of H2O", "[C] FACTS §4 "
                                        "(≤ 0.1, COMSOL reference model)", low=0, high=1)
    site_density_cm2: float = param(6e15, "1/cm²", "adsorption sites per cm²", "[C] FACTS §4", low=1e13,
                                    high=1e17)
    desorption_time_s: float = param(200.0, "s", "first-order desorption time τ_d at 25 °C", "[C] FACTS §4",
                                     low=1e-3, high=1e7)
    desorption_energy_ev: float = param(0.6, "eV", "activation energy of τ_d(T) = τ_d(25 °C)·exp(E/k·(1/T − "
                                        "1/298 K))", "[A]", low=0, high=3)
    proton_saturation_dose_l: float = param(2e4, "L", "H2O dose [langmuir] at which proton uptake into LiCoO2 "
                                            "reaches 1 − 1/e of saturation", "[A] FACTS §1 (Kobayashi 2022)",
                                            low=1, high=1e12)
    air_h2o_pa: float = param(1600.0, "Pa", "H2O partial pressure of room air (≈ 50 % RH at 25 °C)", "[M]",
                              low=0, high=1e4)
    air_irreversible_time_min: float = param(10.0, "min", "time constant of anneal-resistant surface species "
                                             "(carbonate) forming in air", "[A]", low=1e-3, high=1e6)
    impurity_sticking: float = param(0.1, "1", "share of impinging H2O taken into the growing film",
                                     "[A]", low=0, high=1)
    impurity_depth_nm: float = param(2.0, "nm", "depth of the film that counts as interface for impurities",
                                     "[C] FACTS §4: OH and defects within 2 nm", low=0.1, high=50)
    transfer_dose_l: float = param(0.5, "L", "H2O dose picked up by a vacuum transfer (load-lock and arm)",
                                   "[A]", low=0, high=1e6)


CONTAMINATION = ContaminationParams()
"""Default contamination parameters."""


def impingement_rate_cm2_s(pressure_pa, mass_amu=H2O_MASS_AMU, temperature_k=300.0):
    """Molecules striking a surface per cm² per second: ``Z = 3.513e22·p[Torr]/√(M·T)`` (FACTS §4 [C]).

    Examples
    --------
    >>> f'{impingement_rate_cm2_s(1e-4):.3g}'
    '3.58e+14'
    """
    return 3.513e22 * (pressure_pa / PA_PER_TORR) / math.sqrt(mass_amu * temperature_k)


def monolayer_time_s(pressure_pa, sticking=1.0, site_density_cm2=1e15, mass_amu=H2O_MASS_AMU,
                     temperature_k=300.0):
    """Time to adsorb one monolayer at constant sticking [s] (FACTS §4: 1e-4 Pa → ~3 s at s = 1).

    Examples
    --------
    >>> round(monolayer_time_s(1e-4), 1)
    2.8
    >>> round(monolayer_time_s(1e-6) / 60, 1)
    4.6
    """
    return site_density_cm2 / (sticking * impingement_rate_cm2_s(pressure_pa, mass_amu, temperature_k))


def h2o_partial_pressure_pa(time_since_vent_s, params: ContaminationParams = CONTAMINATION):
    """Water partial pressure ``t`` seconds after a vent [Pa]: ``p_floor + K/t`` (FACTS §4 [M]).

    Examples
    --------
    >>> f'{h2o_partial_pressure_pa(3600.0):.3g}'
    '6.96e-05'
    >>> f'{h2o_partial_pressure_pa(12 * 3600.0):.3g}'
    '5.99e-06'
    """
    t = nx.maximum(time_since_vent_s, 1.0)
    return params.h2o_floor_pa + params.h2o_outgassing_pa_s / t


def h2o_exposure_pa_s(t0_since_vent_s, t1_since_vent_s, params: ContaminationParams = CONTAMINATION):
    """``∫ p_H2O dt`` between two times after a vent [Pa·s]: ``p_floor·Δt + K·ln(t1/t0)``.

    Examples
    --------
    >>> round(h2o_exposure_pa_s(3600.0, 7200.0), 4)
    0.174
    """
    t0 = nx.maximum(t0_since_vent_s, 1.0)
    t1 = nx.maximum(t1_since_vent_s, t0)
    return params.h2o_floor_pa * (t1 - t0) + params.h2o_outgassing_pa_s * nx.log(t1 / t0)


def burst_exposure_pa_s(delta_p_pa, tau_s, t0_since_burst_s, t1_since_burst_s):
    """``∫ Δp·exp(−t/τ) dt`` of a leak burst between two times after it [Pa·s]; zero before the burst.

    Examples
    --------
    >>> round(burst_exposure_pa_s(1e-3, 60.0, 0.0, 1e9), 4)
    0.06
    """
    a = nx.maximum(t0_since_burst_s, 0.0)
    b = nx.maximum(t1_since_burst_s, 0.0)
    return delta_p_pa * tau_s * (nx.exp(-a / tau_s) - nx.exp(-b / tau_s))


def desorption_time_s(temperature_c, params: ContaminationParams = CONTAMINATION):
    """Desorption time at a surface temperature [s], Arrhenius around τ_d(25 °C) [A].

    Examples
    --------
    >>> round(desorption_time_s(25.0), 1)
    200.0
    >>> round(desorption_time_s(150.0), 2)
    0.2
    """
    t_k = temperature_c + 273.15
    return params.desorption_time_s * nx.exp(params.desorption_energy_ev / K_B_EV_K * (1 / t_k - 1 / 298.15))


def langmuir_coverage(theta0, mean_pressure_pa, duration_s, temperature_c=25.0,
                      params: ContaminationParams = CONTAMINATION):
    """Coverage [monolayers] after ``duration_s`` at constant impingement, from ``theta0``.

    ``θ(t) = θ_eq + (θ0 − θ_eq)·exp(−(a + 1/τ_d)·t)``, ``a = s0·Z/N``, ``θ_eq = a/(a + 1/τ_d)``
    (occupancy-dependent sticking and first-order desorption; FACTS §4 [C]).

    Examples
    --------
    >>> round(langmuir_coverage(0.0, 1e-5, 1e6), 4)
    0.1067
    >>> round(langmuir_coverage(0.0, 1e-5, 0.0), 4)
    0.0
    >>> round(langmuir_coverage(0.5, 0.0, 200.0), 4)
    0.1839
    """
    a = params.sticking_coefficient * impingement_rate_cm2_s(mean_pressure_pa) / params.site_density_cm2
    b = 1.0 / desorption_time_s(temperature_c, params)
    theta_eq = a / (a + b)
    return theta_eq + (theta0 - theta_eq) * nx.exp(-(a + b) * duration_s)


def proton_uptake(h2o_dose_l, params: ContaminationParams = CONTAMINATION):
    """Share of saturated proton uptake into LiCoO2 after an H2O dose [1]: ``1 − exp(−L/L_sat)`` [A].

    Examples
    --------
    >>> round(proton_uptake(5e3), 3)
    0.221
    >>> proton_uptake(0.0)
    0.0
    """
    return -nx.expm1(-nx.maximum(h2o_dose_l, 0.0) / params.proton_saturation_dose_l)


def air_exposure(minutes, params: ContaminationParams = CONTAMINATION):
    """H2O dose [L] and anneal-resistant surface share [1] from ``minutes`` in room air.

    Examples
    --------
    >>> dose, irr = air_exposure(10.0)
    >>> f'{dose:.3g}', round(irr, 3)
    ('7.2e+09', 0.632)
    """
    m = nx.maximum(minutes, 0.0)
    dose_l = params.air_h2o_pa * m * 60.0 / LANGMUIR_PA_S
    irreversible = -nx.expm1(-m / params.air_irreversible_time_min)
    return dose_l, irreversible


def film_impurity_fraction(h2o_pa, deposited_atoms_cm2, params: ContaminationParams = CONTAMINATION):
    """Atomic share of water-derived impurities in the film grown while the surface saw water [1].

    ``c = s_i·Z(p)/(s_i·Z(p) + F_dep)``: more at high H2O pressure and at low deposition rate. ``Z`` is linear
    in ``p``, so the same form holds for rates (``p`` [Pa] and the deposition flux ``F_dep`` [1/(cm²·s)]) and
    for a whole layer (the exposure ``∫p dt`` [Pa·s] while it grew and the atoms ``N_dep`` [1/cm²] in it),
    which is how the twin uses it, since the pressure and the rate change while the first nanometres grow.
    Zero when neither water nor atoms arrive.

    Parameters
    ----------
    h2o_pa : numeric
        H2O partial pressure [Pa], or the exposure ``∫p dt`` during the layer's growth [Pa·s].
    deposited_atoms_cm2 : numeric
        Deposition flux [1/(cm²·s)], or the atoms deposited in the layer [1/cm²] (the same time base as
        ``h2o_pa``).

    Examples
    --------
    >>> f'{film_impurity_fraction(1e-5, 3e14):.3g}'
    '0.0118'
    >>> film_impurity_fraction(0.0, 0.0)
    0.0
    """
    z = params.impurity_sticking * impingement_rate_cm2_s(h2o_pa)
    total = z + deposited_atoms_cm2
    return z / nx.maximum(total, 1e-300) if isinstance(total, float | int) else np.divide(
        z, total, out=np.zeros(np.shape(total)), where=total > 0)
