"""Sputter yield, ion current, transport and deposition rate for an RF magnetron with a Li3PO4 target.

Chain of the model (each step a function below):

1. RF self-bias of the target against power, ``V_dc = V_ref·(P/P_ref)^a`` (FACTS §3 [C] negative, a few
   hundred volts; [M] rises roughly as √P).
2. Ion current ``I = f_ion·P/V_dc``: the share ``f_ion`` of RF power carried by ions across the sheath [A].
3. Sputter yield per ion from Yamamura & Tawara (1996) with effective Li3PO4 parameters (FACTS §5).
4. Atoms leaving the erosion groove reach the substrate centre by line of sight from a ring source, and
   gas scattering thins that flux as Keller–Simmons transport (FACTS §3 [M]).
5. Rate per watt falls as the erosion groove deepens (Gurvitch, FACTS §5 [C]).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from process_models import _num as nx
from process_models._params import param
from process_models.constants import (
    AR_MASS_AMU,
    AR_Z,
    AVOGADRO,
    E_CHARGE_C,
    LI3PO4_ATOMS_PER_FORMULA,
    LI3PO4_MEAN_ATOMIC_MASS_AMU,
    LI3PO4_MEAN_Z,
    LI3PO4_MOLAR_MASS_G,
    N_MASS_AMU,
    N_Z,
)


@dataclass(frozen=True)
class DepositionParams:
    """Parameters of the deposition-rate model."""

    self_bias_ref_v: float = param(250.0, "V", "magnitude of the RF self-bias at the reference power",
                                   "[M] FACTS §3: a few hundred volts", low=20, high=2000)
    self_bias_ref_power_w: float = param(100.0, "W", "reference RF power for the self-bias", "[A]",
                                         low=1, high=10000)
    self_bias_exponent: float = param(0.5, "1", "exponent a of V_dc ∝ P^a", "[M] FACTS §3: roughly √P",
                                      low=0.1, high=1.0)
    ion_power_fraction: float = param(0.6, "1", "share of RF power carried by ions across the target sheath",
                                      "[A]", low=0.05, high=1.0)
    surface_binding_energy_ev: float = param(5.0, "eV", "effective surface binding energy U_s of Li3PO4",
                                             "[A] FACTS §5: Li3PO4 not tabulated", low=1, high=20)
    yield_q: float = param(0.51, "1", "effective Yamamura–Tawara Q of Li3PO4; calibrated so that 2–3 W/cm² in "
                           "N2 gives 1–3 nm/min", "[A] FACTS §5 (Q) and §2 [M] (rate)", low=0.005, high=3)
    yield_s: float = param(2.5, "1", "Yamamura–Tawara threshold exponent s", "[C] FACTS §5 default",
                           low=1, high=4)
    yield_w: float = param(1.5, "1", "Yamamura–Tawara W(Z2) of the electronic-stopping correction", "[A]",
                           low=0.0, high=10)
    erosion_ring_radius_mm: float = param(22.0, "mm", "radius of the erosion groove (ring source)", "[A]",
                                          low=1, high=300)
    keller_simmons_p0d0_pa_mm: float = param(60.0, "Pa·mm", "characteristic p0·d0 of Keller–Simmons transport "
                                             "for the sputtered flux", "[M] FACTS §3", low=1, high=5000)
    n2_poisoning_rate_loss: float = param(0.35, "1", "fractional rate loss of a fully nitrided (poisoned) "
                                          "target surface in pure N2", "[A] FACTS §2 LiBPON: rate falls with N2",
                                          low=0, high=0.95)
    erosion_rate_loss_per_kwh: float = param(0.004, "1/kWh", "fractional loss of rate per watt for each kWh "
                                             "on the target", "[C] FACTS §5 Gurvitch (magnitude [A])",
                                             low=0, high=0.1)
    erosion_min_factor: float = param(0.5, "1", "floor of the erosion rate factor at end of target life", "[A]",
                                      low=0.05, high=1)
    film_density_g_cm3: float = param(2.4, "g/cm³", "density of the sputtered electrolyte film", "[M]",
                                      low=1, high=4)


DEPOSITION = DepositionParams()
"""Default deposition parameters."""


def self_bias_v(rf_power_w, params: DepositionParams = DEPOSITION):
    """Magnitude of the RF self-bias of the target [V].

    ``V_dc = V_ref·(P/P_ref)^a`` (FACTS §3: negative, a few hundred volts [C]; rises roughly as √P [M]).

    Parameters
    ----------
    rf_power_w : numeric
        RF power delivered to the target [W].

    Examples
    --------
    >>> round(self_bias_v(100.0), 1)
    250.0
    >>> round(self_bias_v(25.0), 1)
    125.0
    """
    p = nx.maximum(rf_power_w, 0.0)
    return params.self_bias_ref_v * (p / params.self_bias_ref_power_w) ** params.self_bias_exponent


def ion_current_a(rf_power_w, params: DepositionParams = DEPOSITION):
    """Ion current to the target [A]: ``I = f_ion·P/V_dc`` (the ion share ``f_ion`` is [A]).

    Zero power gives zero current.

    Examples
    --------
    >>> round(ion_current_a(100.0), 3)
    0.24
    """
    v = self_bias_v(rf_power_w, params)
    return params.ion_power_fraction * rf_power_w / nx.maximum(v, 1e-9)


def _reduced_energy(energy_ev, m1, z1, m2, z2):
    """Lindhard reduced energy ε (Yamamura & Tawara 1996, Eq. 6)."""
    return 0.03255 / (z1 * z2 * math.sqrt(z1 ** (2 / 3) + z2 ** (2 / 3))) * m2 / (m1 + m2) * energy_ev


def _krc_nuclear_stopping(eps):
    """Reduced nuclear stopping of the Kr–C potential (Yamamura & Tawara 1996, Eq. 5)."""
    return 0.5 * nx.log1p(1.2288 * eps) / (eps + 0.1728 * nx.sqrt(eps) + 0.008 * eps ** 0.1504)


def sputter_yield(energy_ev, m1_amu, z1, m2_amu=LI3PO4_MEAN_ATOMIC_MASS_AMU, z2=LI3PO4_MEAN_Z,
                  params: DepositionParams = DEPOSITION):
    """Sputter yield at normal incidence [atoms/ion], Yamamura–Tawara empirical formula.

    ``Y = 0.042·Q·α*(M2/M1)/U_s · S_n(E)/(1 + Γ·k_e·ε^0.3) · (1 − √(E_th/E))^s``
    with ``E_th = U_s·(1 + 5.7·M1/M2)/γ`` for ``M1 ≤ M2`` and ``E_th = 6.7·U_s/γ`` otherwise,
    ``γ = 4·M1·M2/(M1+M2)²`` (Yamamura & Tawara, At. Data Nucl. Data Tables 62, 149 (1996), Eqs. 5–13;
    FACTS §5 [C]). Li3PO4 is not tabulated: the target is an effective atom of mean mass and charge,
    with effective ``U_s`` and ``Q`` ([A], named parameters).

    Parameters
    ----------
    energy_ev : numeric
        Ion energy [eV].
    m1_amu, z1 : float
        Projectile mass [amu] and atomic number.
    m2_amu, z2 : float
        Target (effective) mass [amu] and atomic number.

    Returns
    -------
    numeric
        Atoms sputtered per ion; zero at and below threshold.

    Examples
    --------
    >>> round(sputter_yield(250.0, 39.948, 18), 4)
    0.0663
    >>> sputter_yield(20.0, 39.948, 18)
    0.0
    """
    m1, m2 = m1_amu, m2_amu
    u_s = params.surface_binding_energy_ev
    gamma = 4 * m1 * m2 / (m1 + m2) ** 2
    if m1 <= m2:
        e_th = u_s * (1 + 5.7 * m1 / m2) / gamma
        alpha = 0.249 * (m2 / m1) ** 0.56 + 0.0035 * (m2 / m1) ** 1.5
    else:
        e_th = 6.7 * u_s / gamma
        alpha = 0.0875 * (m2 / m1) ** -0.15 + 0.165 * (m2 / m1)
    k_e = (0.079 * (m1 + m2) ** 1.5 / (m1 ** 1.5 * m2 ** 0.5)
           * z1 ** (2 / 3) * z2 ** 0.5 / (z1 ** (2 / 3) + z2 ** (2 / 3)) ** 0.75)
    big_gamma = params.yield_w / (1 + (m1 / 7) ** 3)
    e = nx.maximum(energy_ev, 1e-12)
    eps = _reduced_energy(e, m1, z1, m2, z2)
    s_n = (84.78 * z1 * z2 / math.sqrt(z1 ** (2 / 3) + z2 ** (2 / 3)) * m1 / (m1 + m2)
           * _krc_nuclear_stopping(eps))  # [eV·1e-15 cm²]
    threshold = nx.maximum(1 - nx.sqrt(e_th / e), 0.0) ** params.yield_s
    return (0.042 * params.yield_q * alpha / u_s * s_n / (1 + big_gamma * k_e * eps ** 0.3) * threshold)


def mixed_gas_yield(energy_ev, n2_fraction, params: DepositionParams = DEPOSITION):
    """Yield per ion in an Ar/N2 plasma [atoms/ion].

    The ion flux is assumed to have the gas composition [A]; an N2⁺ ion splits on impact into two N atoms
    sharing its energy, so it contributes ``2·Y_N(E/2)``.

    Examples
    --------
    >>> round(mixed_gas_yield(250.0, 0.0), 4)
    0.0663
    >>> round(mixed_gas_yield(250.0, 1.0), 4)
    0.0635
    """
    y_ar = sputter_yield(energy_ev, AR_MASS_AMU, AR_Z, params=params)
    y_n2 = 2.0 * sputter_yield(0.5 * energy_ev, N_MASS_AMU, N_Z, params=params)
    return (1 - n2_fraction) * y_ar + n2_fraction * y_n2


def keller_simmons_transport(pressure_pa, distance_mm, p0d0_pa_mm):
    """Share of the sputtered flux that reaches the substrate through the gas [1].

    ``F/F0 = (p0·d0)/(p·d) · [1 − exp(−p·d/(p0·d0))]`` (Keller & Simmons; FACTS §3 [M]); 1 at zero pressure.

    Examples
    --------
    >>> round(keller_simmons_transport(0.5, 70.0, 60.0), 3)
    0.758
    >>> keller_simmons_transport(0.0, 70.0, 60.0)
    1.0
    """
    x = pressure_pa * distance_mm / p0d0_pa_mm
    return nx.one_minus_exp_over(x)


def erosion_rate_factor(target_kwh, params: DepositionParams = DEPOSITION):
    """Rate per watt relative to a fresh target [1], falling linearly with the energy put into the target.

    Gurvitch (JVST A): rate per watt falls as the erosion groove deepens, reproducibly per target (FACTS §5 [C]);
    the slope is [A].

    Examples
    --------
    >>> erosion_rate_factor(0.0)
    1.0
    >>> round(erosion_rate_factor(50.0), 3)
    0.8
    """
    return nx.maximum(1.0 - params.erosion_rate_loss_per_kwh * target_kwh, params.erosion_min_factor)


def atom_flux_to_substrate(rf_power_w, distance_mm, n2_fraction, target_kwh=0.0,
                           params: DepositionParams = DEPOSITION):
    """Line-of-sight flux of sputtered atoms at the substrate centre, before gas scattering [atoms/(cm²·s)].

    Ring source of radius ``r`` (the erosion groove) emitting ``N = Y·I/e`` atoms/s with a cosine distribution,
    on axis at distance ``d``: ``Φ = N·d²/(π·(d² + r²)²)``.

    Examples
    --------
    >>> f'{atom_flux_to_substrate(120.0, 70.0, 1.0):.3g}'
    '4.21e+14'
    """
    ions_per_s = ion_current_a(rf_power_w, params) / E_CHARGE_C
    y = mixed_gas_yield(self_bias_v(rf_power_w, params), n2_fraction, params)
    y = y * (1.0 - params.n2_poisoning_rate_loss * n2_fraction)
    d_cm = distance_mm / 10.0
    r_cm = params.erosion_ring_radius_mm / 10.0
    geometry = d_cm ** 2 / (math.pi * (d_cm ** 2 + r_cm ** 2) ** 2)
    return ions_per_s * y * geometry * erosion_rate_factor(target_kwh, params)


def film_atom_density_cm3(params: DepositionParams = DEPOSITION) -> float:
    """Atoms per cm³ of the film: ``ρ·N_A·8/M(Li3PO4)``.

    Examples
    --------
    >>> f'{film_atom_density_cm3():.3g}'
    '9.99e+22'
    """
    return params.film_density_g_cm3 * AVOGADRO * LI3PO4_ATOMS_PER_FORMULA / LI3PO4_MOLAR_MASS_G


def deposition_rate_nm_min(rf_power_w, pressure_pa, distance_mm, n2_fraction, target_kwh=0.0,
                           params: DepositionParams = DEPOSITION):
    """Film growth rate at the substrate centre [nm/min].

    ``rate = Φ_atoms·T_KS(p·d) / n_film`` with the line-of-sight flux of :func:`atom_flux_to_substrate`,
    Keller–Simmons transport and the film's atom density. Calibrated through the effective Q so that
    2–3 W/cm² in N2 gives 1–3 nm/min (FACTS §2 [M]).

    Parameters
    ----------
    rf_power_w : numeric
        RF power [W].
    pressure_pa : numeric
        Total process pressure [Pa].
    distance_mm : numeric
        Target–substrate distance [mm].
    n2_fraction : numeric
        N2 share of the process gas [0–1].
    target_kwh : numeric
        Energy already put into the target [kWh].

    Examples
    --------
    >>> round(deposition_rate_nm_min(120.0, 0.5, 70.0, 1.0), 2)
    1.92
    >>> deposition_rate_nm_min(0.0, 0.5, 70.0, 1.0)
    0.0
    """
    flux = atom_flux_to_substrate(rf_power_w, distance_mm, n2_fraction, target_kwh, params)
    transport = keller_simmons_transport(pressure_pa, distance_mm, params.keller_simmons_p0d0_pa_mm)
    return flux * transport / film_atom_density_cm3(params) * 1e7 * 60.0
