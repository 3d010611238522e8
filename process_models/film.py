"""Electrolyte film: nitrogen content, Li/P ratio and ionic conductivity.

* Nitrogen: sputtering Li3PO4 in N2 makes LiPON; N content rises with RF power (Hu et al. 2008 [C]) and with
  the N2 supply (LiBPON: conductivity rises with N2 pressure [C]); low pressure and moderate power dissociate
  more N2 (Christiansen et al. 2015 [C]). Model [A]:
  ``z = z_max·f/(f + f_½)·(1 − exp(−P_d/P_N))·exp(−p/p_N)`` with ``P_d`` the power density.
* Activation energy falls linearly with N: 0.63 eV without N to 0.53 eV at the reference content
  (Put et al. 2016 [C]); ``σ(T) = (A/T)·exp(−E_a/k_B·T)·(Li/P)/3``, ``A`` calibrated so that standard LiPON is
  2e-6 S/cm at 25 °C (Bates & Dudney, ORNL [C]).
* Li/P: the target's 3.0 times the relative Keller–Simmons transport of light Li against heavier P-bearing
  species (Li scatters more, [A]) and a preferential Li re-sputtering by the damaging energetic flux [A].
"""

from __future__ import annotations

from dataclasses import dataclass

from process_models import _num as nx
from process_models._params import param
from process_models.constants import K_B_EV_K
from process_models.deposition import keller_simmons_transport


@dataclass(frozen=True)
class FilmParams:
    """Parameters of the film-property model."""

    n_max: float = param(0.62, "N/P", "nitrogen content z of Li_xPO_yN_z at full N2 supply, high power and "
                         "low pressure", "[A] typical LiPON z ≈ 0.46", low=0, high=2)
    n2_half_fraction: float = param(0.1, "1", "N2 fraction at which the N supply is half saturated", "[A]",
                                    low=1e-4, high=10)
    n_power_density_w_cm2: float = param(1.2, "W/cm²", "power density scale of N incorporation", "[A] FACTS §2 "
                                         "Hu 2008: N rises with power", low=0.01, high=100)
    n_pressure_scale_pa: float = param(6.0, "Pa", "pressure scale over which N2 dissociation falls",
                                       "[A] FACTS §2 Christiansen 2015", low=0.01, high=1000)
    activation_energy_no_n_ev: float = param(0.63, "eV", "conduction activation energy without N",
                                             "[C] FACTS §2 Put 2016", low=0.2, high=1.5)
    activation_energy_ref_n_ev: float = param(0.53, "eV", "activation energy at the reference N content",
                                              "[C] FACTS §2 Put 2016", low=0.2, high=1.5)
    reference_n: float = param(0.46, "N/P", "N content of standard LiPON, at which E_a is the reference value",
                               "[M]", low=0.01, high=2)
    conductivity_prefactor_s_k_cm: float = param(5.45e5, "S·K/cm", "prefactor A of σ = (A/T)·exp(−E_a/kT); "
                                                 "gives 2e-6 S/cm at 25 °C for standard LiPON",
                                                 "[C] FACTS §2 Bates/Dudney 2e-6 S/cm", low=1, high=1e12)
    target_li_p: float = param(3.0, "1", "Li/P of the target", "[C] Li3PO4", low=0.5, high=6)
    li_p0d0_ratio: float = param(0.6, "1", "Keller–Simmons p0·d0 of Li relative to the P-bearing flux "
                                 "(Li is lighter and scatters more)", "[A]", low=0.05, high=5)
    li_transport_exponent: float = param(0.5, "1", "exponent on the Li/P transport ratio (partial "
                                         "re-thermalised arrival of scattered Li)", "[A]", low=0, high=2)
    li_resputter_per_ev_nm3: float = param(0.0005, "nm³/eV", "fractional Li loss per unit damaging energy per "
                                           "deposited volume", "[A] FACTS §3 (preferential Li removal)",
                                           low=0, high=1)


FILM = FilmParams()
"""Default film parameters."""


def nitrogen_content(n2_fraction, power_density_w_cm2, pressure_pa, params: FilmParams = FILM):
    """Nitrogen content ``z`` (N per P) of the film [1].

    Examples
    --------
    >>> round(nitrogen_content(1.0, 2.5, 0.5), 3)
    0.454
    >>> nitrogen_content(0.0, 2.5, 0.5)
    0.0
    """
    supply = n2_fraction / (n2_fraction + params.n2_half_fraction)
    power = -nx.expm1(-nx.maximum(power_density_w_cm2, 0.0) / params.n_power_density_w_cm2)
    dissociation = nx.exp(-pressure_pa / params.n_pressure_scale_pa)
    return params.n_max * supply * power * dissociation


def activation_energy_ev(n_content, params: FilmParams = FILM):
    """Activation energy of Li⁺ conduction [eV], linear in N content (Put et al. 2016, FACTS §2 [C]).

    Examples
    --------
    >>> activation_energy_ev(0.0)
    0.63
    >>> round(activation_energy_ev(0.46), 3)
    0.53
    """
    slope = (params.activation_energy_ref_n_ev - params.activation_energy_no_n_ev) / params.reference_n
    return params.activation_energy_no_n_ev + slope * n_content


def li_p_ratio(pressure_pa, distance_mm, dose_per_nm_ev_nm3, p0d0_pa_mm, params: FilmParams = FILM):
    """Li/P ratio of the film [1].

    ``Li/P = Li/P_target·(T_Li/T_P)^β·exp(−k_r·φ)`` with Keller–Simmons transports of Li and of the P-bearing
    flux, and ``φ`` the damaging energy per deposited volume [eV/nm³].

    Examples
    --------
    >>> round(li_p_ratio(0.5, 70.0, 2.0, 60.0), 3)
    2.753
    """
    t_p = keller_simmons_transport(pressure_pa, distance_mm, p0d0_pa_mm)
    t_li = keller_simmons_transport(pressure_pa, distance_mm, p0d0_pa_mm * params.li_p0d0_ratio)
    return (params.target_li_p * (t_li / t_p) ** params.li_transport_exponent
            * nx.exp(-params.li_resputter_per_ev_nm3 * dose_per_nm_ev_nm3))


def ionic_conductivity_s_cm(n_content, li_p, temperature_c=25.0, params: FilmParams = FILM):
    """Ionic conductivity of the film [S/cm]: ``σ = (A/T)·exp(−E_a(z)/k_B·T)·(Li/P)/3``.

    Examples
    --------
    >>> f'{ionic_conductivity_s_cm(0.46, 3.0):.3g}'
    '2.01e-06'
    >>> f'{ionic_conductivity_s_cm(0.0, 3.0):.2g}'
    '4.1e-08'
    """
    t_k = temperature_c + 273.15
    ea = activation_energy_ev(n_content, params)
    return (params.conductivity_prefactor_s_k_cm / t_k * nx.exp(-ea / (K_B_EV_K * t_k))
            * li_p / params.target_li_p)


def bulk_resistance_ohm_cm2(thickness_nm, conductivity_s_cm):
    """Area-specific ionic resistance of the film [Ω·cm²]: thickness/σ.

    Examples
    --------
    >>> round(bulk_resistance_ohm_cm2(100.0, 2e-6), 2)
    5.0
    """
    return thickness_nm * 1e-7 / conductivity_s_cm
