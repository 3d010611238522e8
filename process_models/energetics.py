"""Energetic particles at the substrate and the ion damage they leave at the LiCoO2 interface.

Two populations hit the growing film with far more than thermal energy:

* negative oxygen ions formed at the oxide target and accelerated across the target sheath to about the
  target voltage (Welzel & Ellmer 2013; FACTS §3 [C]); their number scales with the sputtered oxygen
  (Mahieu & Depla: O⁻ yield tied to the target's secondary-electron coefficient [C]; the share is [A]);
* process-gas neutrals reflected from the target's heavier atoms (P); a head-on elastic collision returns
  ``((M2 − M1)/(M1 + M2))²`` of the ion energy, zero for Ar on this target (M1 > M_P), ~14 % for N (FACTS §3:
  reflected neutrals add at low pressure).

On the way to the substrate both lose energy in gas collisions: the unscattered share is ``exp(−d/λ)``
(FACTS §3 [M]), with a fast particle's mean free path longer than the gas-kinetic one by a named factor [A];
a scattered particle has undergone about ``d/λ`` collisions, each keeping ``1 − x`` of its
energy, ``x = 2·M1·M2/(M1 + M2)²`` (FACTS §3 [M]). Only energy above a displacement threshold damages.

The damage dose at the interface is the damaging energy that reaches it through the film grown so far:
particles of range ``R`` deposit at the interface a share ``exp(−h/R)`` of their energy when the film is
``h`` thick (an assumption [A], FACTS §3: damage matters until the film is thicker than the range). Per
nanometre of growth the damaging energy is constant in a step, so the dose integrates in closed form:
``D = φ·R·(exp(−h0/R) − exp(−h1/R))``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from process_models import _num as nx
from process_models._params import param
from process_models.constants import (
    AR_DIAMETER_M,
    AR_MASS_AMU,
    K_B_J_K,
    LI3PO4_OXYGEN_FRACTION,
    N2_DIAMETER_M,
    N_MASS_AMU,
    P_MASS_AMU,
)

O_MASS_AMU = 15.999


@dataclass(frozen=True)
class EnergeticsParams:
    """Parameters of the energetic-particle and damage model."""

    o_minus_per_sputtered_o: float = param(0.02, "1", "negative oxygen ions per sputtered oxygen atom",
                                           "[A] FACTS §3 (Mahieu & Depla: scales with the target)",
                                           low=0, high=1)
    plasma_potential_v: float = param(10.0, "V", "plasma potential added to the O⁻ energy", "[M]",
                                      low=0, high=100)
    reflection_coefficient: float = param(0.03, "1", "gas neutrals reflected from P atoms per incident ion "
                                          "(only where M_ion < M_P)", "[A]", low=0, high=1)
    displacement_threshold_ev: float = param(25.0, "eV", "energy a particle needs to displace atoms of "
                                             "LiCoO2 (Li removal)", "[A]", low=1, high=200)
    range_at_100ev_nm: float = param(1.2, "nm", "projected range of a 100 eV particle in the film",
                                     "[A] FACTS §3: a few nm at 100–300 eV", low=0.1, high=20)
    range_exponent: float = param(0.6, "1", "exponent k of R ∝ E^k", "[A]", low=0.1, high=1.5)
    fast_cross_section_factor: float = param(0.35, "1", "scattering cross-section of a fast (100–300 eV) "
                                             "particle relative to the gas-kinetic one; sets λ_fast = λ/factor",
                                             "[A] cross-sections fall with energy", low=0.01, high=1)
    scattered_arrival_fraction: float = param(0.3, "1", "share of scattered energetic particles that still "
                                              "reach the substrate (the rest are deflected away)", "[A]",
                                              low=0, high=1)
    gas_temperature_k: float = param(300.0, "K", "gas temperature for the mean free path", "[C] FACTS §3",
                                     low=200, high=1500)
    damage_saturation_ev_nm2: float = param(1000.0, "eV/nm²", "dose at which the delithiated layer reaches "
                                            "1 − 1/e of its full depth", "[A] FACTS §3 (Salagre 2023)",
                                            low=1, high=1e7)
    damage_dose_exponent: float = param(2.0, "1", "exponent n of the onset (D/D_sat)^n: removing Li takes "
                                        "repeated hits, so a small dose leaves almost no delithiated layer",
                                        "[A]", low=1, high=4)


ENERGETICS = EnergeticsParams()
"""Default energetic-particle parameters."""


def mean_free_path_mm(pressure_pa, n2_fraction=0.0, temperature_k=300.0):
    """Gas-kinetic mean free path in an Ar/N2 mixture [mm].

    ``λ = k_B·T/(√2·π·d²·p)`` (FACTS §3 [C]); for a mixture the collision rates add:
    ``1/λ = (1 − f)/λ_Ar + f/λ_N2``. Infinite at zero pressure.

    Examples
    --------
    >>> round(mean_free_path_mm(1.0), 1)
    8.1
    >>> round(mean_free_path_mm(1.0, 1.0), 1)
    6.8
    """
    inv_ar = math.sqrt(2) * math.pi * AR_DIAMETER_M ** 2 / (K_B_J_K * temperature_k)
    inv_n2 = math.sqrt(2) * math.pi * N2_DIAMETER_M ** 2 / (K_B_J_K * temperature_k)
    inv_per_pa = (1 - n2_fraction) * inv_ar + n2_fraction * inv_n2  # [1/(m·Pa)]
    return 1e3 / nx.maximum(inv_per_pa * pressure_pa, 1e-300)


def energy_transfer_fraction(m1_amu, m2_amu):
    """Mean fractional energy loss per elastic collision, ``x = 2·M1·M2/(M1+M2)²`` (FACTS §3 [M]).

    Examples
    --------
    >>> round(energy_transfer_fraction(16.0, 39.948), 3)
    0.408
    """
    return 2 * m1_amu * m2_amu / (m1_amu + m2_amu) ** 2


def thermalisation_collisions(energy_ev, thermal_energy_ev, m1_amu, m2_amu):
    """Collisions needed to slow a particle from ``E0`` to ``E_th``: ``N = ln(E_th/E0)/ln(1 − x)`` (FACTS §3).

    Examples
    --------
    >>> round(thermalisation_collisions(250.0, 0.04, 16.0, 39.948), 1)
    16.7
    """
    x = energy_transfer_fraction(m1_amu, m2_amu)
    return nx.log(thermal_energy_ev / energy_ev) / math.log(1 - x)


def damaging_energy_at_substrate_ev(energy_ev, distance_mm, mfp_mm, m1_amu, gas_mass_amu, threshold_ev,
                                    scattered_arrival=1.0):
    """Mean damaging energy per emitted particle on arrival [eV]: energy above the displacement threshold.

    Unscattered share ``exp(−d/λ)`` keeps ``E0``; the rest has lost ``(1 − x)^(d/λ)`` of it, and only
    ``scattered_arrival`` of those still reach the substrate.

    Examples
    --------
    >>> round(damaging_energy_at_substrate_ev(260.0, 70.0, 13.5, 16.0, 39.948, 25.0), 2)
    1.32
    >>> round(damaging_energy_at_substrate_ev(260.0, 70.0, 1e9, 16.0, 39.948, 25.0), 6)
    235.0
    """
    n_coll = distance_mm / mfp_mm
    unscattered = nx.exp(-n_coll)
    x = energy_transfer_fraction(m1_amu, gas_mass_amu)
    e_scattered = energy_ev * (1 - x) ** n_coll
    return (unscattered * nx.maximum(energy_ev - threshold_ev, 0.0)
            + scattered_arrival * (1 - unscattered) * nx.maximum(e_scattered - threshold_ev, 0.0))


def o_minus_energy_ev(self_bias_v, params: EnergeticsParams = ENERGETICS):
    """Energy of negative oxygen ions leaving the target [eV]: ``e·(|V_dc| + V_p)``.

    O⁻ formed at the target surface are accelerated away by the full sheath, so they arrive with about the
    target voltage (Welzel & Ellmer 2013, FACTS §3 [C]).

    Examples
    --------
    >>> o_minus_energy_ev(250.0)
    260.0
    """
    return self_bias_v + params.plasma_potential_v


def reflected_neutral_energy_ev(self_bias_v, ion_mass_amu, target_mass_amu=P_MASS_AMU):
    """Energy of a process-gas neutral reflected head-on from a target atom [eV].

    Elastic backscattering returns ``((M2 − M1)/(M1 + M2))²`` of the ion energy, and none when the ion is the
    heavier (FACTS §3: reflected neutrals add at low pressure; Drüsedau 1999).

    Examples
    --------
    >>> round(reflected_neutral_energy_ev(250.0, 14.007), 1)
    35.6
    >>> reflected_neutral_energy_ev(250.0, 39.948)
    0.0
    """
    if ion_mass_amu >= target_mass_amu:
        return 0.0 * self_bias_v
    return ((target_mass_amu - ion_mass_amu) / (target_mass_amu + ion_mass_amu)) ** 2 * self_bias_v


def projected_range_nm(energy_ev, params: EnergeticsParams = ENERGETICS):
    """Projected range of an energetic particle in the film [nm], ``R = R_100·(E/100 eV)^k`` [A].

    Examples
    --------
    >>> round(projected_range_nm(300.0), 2)
    2.32
    """
    return params.range_at_100ev_nm * (nx.maximum(energy_ev, 0.0) / 100.0) ** params.range_exponent


def energetic_dose_per_nm(self_bias_v, pressure_pa, distance_mm, n2_fraction,
                          params: EnergeticsParams = ENERGETICS):
    """Damaging energy delivered per nanometre of film grown [eV/nm² per nm], and its mean range [nm].

    O⁻ ions: ``x_O·η·n_film`` per deposited volume (one O⁻ per ``1/η`` sputtered O, of energy
    ``e·(V_dc + V_p)``); reflected N neutrals: ``R_N·f_N2`` per sputtered atom over the yield, of energy
    ``((M_P − M_N)/(M_P + M_N))²·e·V_dc``. Both thinned by :func:`damaging_energy_at_substrate_ev`.
    The flux per deposited atom is used so that the function needs no deposition rate: the O⁻ flux scales
    with the sputtered flux, so the dose per nanometre is set by the energies and the transport only.

    Returns
    -------
    (phi, range_nm) : tuple of numeric
        ``phi`` damaging energy per area per nanometre of growth [eV/nm²/nm]; ``range_nm`` the range of the
        O⁻ ions, which dominate [nm].

    Examples
    --------
    >>> phi, r = energetic_dose_per_nm(250.0, 0.5, 70.0, 1.0)
    >>> round(phi, 1), round(r, 2)
    (59.2, 2.13)
    """
    mfp = mean_free_path_mm(pressure_pa, n2_fraction, params.gas_temperature_k) / params.fast_cross_section_factor
    gas_mass = (1 - n2_fraction) * AR_MASS_AMU + n2_fraction * 2 * N_MASS_AMU
    e_o = o_minus_energy_ev(self_bias_v, params)
    o_dmg = damaging_energy_at_substrate_ev(e_o, distance_mm, mfp, O_MASS_AMU, gas_mass,
                                            params.displacement_threshold_ev, params.scattered_arrival_fraction)
    # Atoms per nm³ of film ~ 100; O⁻ per nm² per nm of growth = x_O · η · n_film[1/nm³]
    n_film_nm3 = 100.0
    o_per_nm = LI3PO4_OXYGEN_FRACTION * params.o_minus_per_sputtered_o * n_film_nm3
    e_n = reflected_neutral_energy_ev(self_bias_v, N_MASS_AMU)
    n_dmg = damaging_energy_at_substrate_ev(e_n, distance_mm, mfp, N_MASS_AMU, gas_mass,
                                            params.displacement_threshold_ev, params.scattered_arrival_fraction)
    n_per_nm = params.reflection_coefficient * n2_fraction * n_film_nm3
    phi = o_per_nm * o_dmg + n_per_nm * n_dmg
    return phi, projected_range_nm(e_o, params)


def interface_dose_ev_nm2(phi_ev_nm3, range_nm, h_start_nm, h_end_nm):
    """Damage dose reaching the interface while the film grows from ``h_start`` to ``h_end`` [eV/nm²].

    ``D = φ·R·(exp(−h0/R) − exp(−h1/R))`` — closed form of ``∫ φ·exp(−h/R) dh`` (see module docstring).
    Zero once the film is many ranges thick.

    Examples
    --------
    >>> round(interface_dose_ev_nm2(10.0, 2.0, 0.0, 100.0), 3)
    20.0
    >>> round(interface_dose_ev_nm2(10.0, 2.0, 5.0, 100.0), 3)
    1.642
    """
    r = nx.maximum(range_nm, 1e-12)
    return phi_ev_nm3 * r * (nx.exp(-h_start_nm / r) - nx.exp(-h_end_nm / r))


def damaged_layer_nm(dose_ev_nm2, range_nm, params: EnergeticsParams = ENERGETICS):
    """Depth of the delithiated (Co⁴⁺-rich) LiCoO2 layer left by the dose [nm].

    ``L = R·(1 − exp(−(D/D_sat)^n))``: bombardment removes Li preferentially (Salagre et al. 2023,
    FACTS §3 [C]); the saturating form, ``D_sat`` and ``n`` are [A].

    Examples
    --------
    >>> round(damaged_layer_nm(1000.0, 2.0), 3)
    1.264
    >>> round(damaged_layer_nm(100.0, 2.0), 4)
    0.02
    >>> damaged_layer_nm(0.0, 2.0)
    0.0
    """
    x = nx.maximum(dose_ev_nm2, 0.0) / params.damage_saturation_ev_nm2
    return range_nm * -nx.expm1(-(x ** params.damage_dose_exponent))
