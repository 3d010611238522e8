"""Electrolyte film: nitrogen content, Li/P ratio, ionic conductivity and what an anneal does to it.

Every number is a field of :class:`FilmParams`; ``process_models/FACTS_film.md`` lists each with its source and
tag ([C] read in the source, [C2] read in a citing or secondary source, [M] widely quoted, [A] our assumption).

* **Nitrogen uptake follows what arrives at the substrate.** Atomic N is made in the discharge (dissociation of
  N2 rises with power and falls with pressure: Christiansen et al. 2015 [C]) and reaches the growing film
  whatever its rate; the film takes N per deposited P in proportion to the N-to-P arrival ratio until it
  saturates, near 6 at.% N (N/P ≈ 0.5) for sputtered LiPON [C2]. Model [A]:
  ``z = z_max·(1 − exp(−Γ))`` with the arrival ratio
  ``Γ = F_N·s(f)·P_d^k·exp(−p/p_N − d/L_N) / rate``, ``s(f) = f/(f + f_½)``. The film's own rate enters, so
  N/P rises with distance (the rate falls 7.6× from 40 to 120 mm at 2.5 W/cm² and 0.5 Pa, the atomic-N arrival
  3.8×) and with power as long as ``k`` exceeds the rate's own power exponent (≈1.25 in this twin): Hu et al.
  2008 [C] found N and σ rising with power from 1.5 to 5.5 W/cm².
* **Conductivity.** The activation energy falls linearly with N, from ``E_0`` without N to 0.53 eV at the
  reference content (Put et al. 2016 [C]: 0.63 → 0.53 eV over their N series, all sputtered in N2, so the
  N-free value is at least 0.63 eV), down to a minimum at ``z_opt`` ≈ 0.5, past which it rises again (a film of
  Li3.2PO3.1N0.7 measured ~5e-7 S/cm [M]; N implanted past the sputtering saturation "enhances or retards" σ
  [C2]). ``σ(T) = (A/T)·exp(−E_a/k_B·T)·(Li/P)/3·G(anneal)``, ``A`` calibrated so that standard LiPON is
  2e-6 S/cm at 25 °C (Bates & Dudney, ORNL [C]).
* **Anneal.** Annealing the finished film changes its bonding and raises its conductivity (Iriyama et al.
  2005; Carrillo Solano et al., Ionics 22, 471 (2016); as cited in issue 17, not read here [M]; size [A]): a
  first-order thermally activated relaxation ``r = 1 − exp(−t·ν_r·exp(−E_r/k_B·T))`` multiplies σ by
  ``1 + g·r``. Too hot an anneal crystallises the glass towards a Li3PO4-like phase that conducts orders of
  magnitude worse (crystalline Li3PO4 4.2e-18 S/cm, Wang, Bates et al. 1995 [C2]); its progress ``c`` (same
  form, ``ν_c``, ``E_c`` [A]) multiplies σ by ``1 − h·c``.
* **Li/P.** The target's 3.0, raised by the share of arriving P lost from the growing film as volatile P-O/P-N
  species [A] (P-N species are present in the plasma: Christiansen 2015 [C]), times the relative Keller–Simmons
  transport of light Li against the heavier P-bearing flux (Li scatters more, [A]; weakly: the Li content of
  sputtered Li3PO4-based films depends more on the target than on the sputtering parameters [C]), and a
  preferential Li re-sputtering by the damaging energetic flux [A]. Sputtered LiPON is reported at Li/P
  2.9–3.3 [M] (e.g. Li2.9PO3.3N0.46, Bates/Dudney [M]).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from process_models import _num as nx
from process_models._params import param
from process_models.constants import K_B_EV_K, ZERO_C_K
from process_models.deposition import keller_simmons_transport


@dataclass(frozen=True)
class FilmParams:
    """Parameters of the film-property model (sources: ``process_models/FACTS_film.md``)."""

    n_max: float = param(0.5, "N/P", "saturation nitrogen content z of Li_xPO_yN_z for sputtered LiPON",
                         "[C2] FACTS_film F1: N saturates near 6 at.% (N/P ≈ 0.47)", low=0.01, high=2)
    n2_half_fraction: float = param(0.1, "1", "N2 fraction at which the N supply is half saturated", "[A]",
                                    low=1e-4, high=10)
    n_flux_nm_min: float = param(4.9, "nm/min", "atomic-N arrival F_N at 1 W/cm², zero pressure and distance, "
                                 "as the film growth rate at which the N-to-P arrival ratio Γ is 1",
                                 "[A] FACTS_film F2; sets standard LiPON at N/P ≈ 0.45", low=1e-3, high=1e4)
    n_power_exponent: float = param(1.75, "1", "exponent k of the atomic-N arrival ∝ P_d^k (plasma density and "
                                    "dissociation both rise with power)", "[A] FACTS_film F2: above the rate's "
                                    "own ≈1.25, so N rises with power as Hu 2008 [C]", low=0, high=4)
    n_pressure_scale_pa: float = param(1.0, "Pa", "pressure p_N over which the atomic-N arrival falls "
                                       "(less dissociation, more recombination)", "[A] FACTS_film F3 "
                                       "Christiansen 2015 [C]: low pressure, more atomic N", low=0.01, high=1000)
    n_decay_length_mm: float = param(60.0, "mm", "distance L_N over which the atomic-N arrival falls (made "
                                     "near the target, lost on the way)", "[A] FACTS_film F2", low=1, high=1e5)
    activation_energy_no_n_ev: float = param(0.65, "eV", "conduction activation energy of an N-free film",
                                             "[A] FACTS_film F4: ≥ 0.63 eV of Put 2016's least-N film [C]; "
                                             "0.65 gives σ(LiPON)/σ(Li3PO4) ≈ 100 [M]", low=0.2, high=1.5)
    activation_energy_ref_n_ev: float = param(0.53, "eV", "activation energy at the reference N content",
                                              "[C] FACTS §2 Put 2016", low=0.2, high=1.5)
    reference_n: float = param(0.46, "N/P", "N content of standard LiPON, at which E_a is the reference value",
                               "[M] FACTS_film F5 Li2.9PO3.3N0.46", low=0.01, high=2)
    optimum_n: float = param(0.5, "N/P", "N content z_opt of the lowest activation energy; beyond it E_a rises",
                             "[A] FACTS_film F6: the linear law is unsupported past N/P ≈ 0.5", low=0.01,
                             high=2)
    excess_n_slope_ev: float = param(0.24, "eV per N/P", "rise of E_a per unit N/P beyond z_opt",
                                     "[M] FACTS_film F6: Li3.2PO3.1N0.7 ≈ 5e-7 S/cm", low=0, high=5)
    conductivity_prefactor_s_k_cm: float = param(5.45e5, "S·K/cm", "prefactor A of σ = (A/T)·exp(−E_a/kT); "
                                                 "gives 2e-6 S/cm at 25 °C for standard LiPON",
                                                 "[C] FACTS §2 Bates/Dudney 2e-6 S/cm", low=1, high=1e12)
    anneal_gain: float = param(0.3, "1", "fractional σ rise g of a completed relaxation anneal",
                               "[M] FACTS_film F7 direction (Iriyama 2005, Carrillo Solano 2016, not read "
                               "here); size [A]", low=0, high=10)
    anneal_relax_prefactor_s: float = param(1.6e11, "1/s", "attempt frequency ν_r of the film's relaxation",
                                            "[A] FACTS_film F7: ~complete in 60 min at 150 °C", low=0, high=1e20)
    anneal_relax_energy_ev: float = param(1.2, "eV", "activation energy E_r of the film's relaxation",
                                          "[A] FACTS_film F7", low=0.1, high=10)
    crystallisation_loss: float = param(0.9, "1", "fractional σ loss h of a fully crystallised film",
                                        "[A] FACTS_film F8 (crystalline Li3PO4 conducts far worse [C2])",
                                        low=0, high=1)
    crystallisation_prefactor_s: float = param(8e13, "1/s", "attempt frequency ν_c of crystallisation",
                                               "[A] FACTS_film F8: onset ~400 °C", low=0, high=1e25)
    crystallisation_energy_ev: float = param(2.5, "eV", "activation energy E_c of crystallisation",
                                             "[A] FACTS_film F8", low=0.1, high=20)
    target_li_p: float = param(3.0, "1", "Li/P of the target", "[C] Li3PO4", low=0.5, high=6)
    p_loss_fraction: float = param(0.1, "1", "share of the arriving P lost from the growing film as "
                                   "volatile P-O/P-N species", "[A] FACTS_film F9: puts standard LiPON at "
                                   "Li/P 2.9–3.3 [M]", low=0, high=0.9)
    li_p0d0_ratio: float = param(0.6, "1", "Keller–Simmons p0·d0 of Li relative to the P-bearing flux "
                                 "(Li is lighter and scatters more)", "[A]", low=0.05, high=5)
    li_transport_exponent: float = param(0.25, "1", "exponent on the Li/P transport ratio (partial "
                                         "re-thermalised arrival of scattered Li)", "[A] FACTS_film F9: Li "
                                         "content depends weakly on sputter parameters [C]", low=0, high=2)
    li_resputter_per_ev_nm3: float = param(0.0005, "nm³/eV", "fractional Li loss per unit damaging energy per "
                                           "deposited volume", "[A] FACTS §3 (preferential Li removal)",
                                           low=0, high=1)

    RETIRED: ClassVar[dict[str, str]] = {
        "n_power_density_w_cm2": "retired in model 1.1.0: N uptake follows the N-to-P arrival ratio "
                                 "(n_flux_nm_min, n_power_exponent); n_max, n_pressure_scale_pa, "
                                 "activation_energy_no_n_ev and li_transport_exponent changed meaning or default",
    }
    """Parameters of older models that chamber files and campaign stores may still hold (dropped on load)."""


FILM = FilmParams()
"""Default film parameters."""


def nitrogen_arrival_ratio(n2_fraction, power_density_w_cm2, pressure_pa, distance_mm, rate_nm_min,
                           params: FilmParams = FILM):
    """N-to-P arrival ratio ``Γ`` at the growing film, relative to the one that fills the film with N [1].

    ``Γ = F_N·s(f)·P_d^k·exp(−p/p_N − d/L_N) / rate`` (module docstring; [A]). Zero without N2 or power;
    a vanishing rate with N2 present gives a very large ratio (the film saturates).

    Parameters
    ----------
    n2_fraction : numeric
        N2 share of the process gas [0–1].
    power_density_w_cm2 : numeric
        RF power density on the target [W/cm²].
    pressure_pa : numeric
        Process pressure [Pa].
    distance_mm : numeric
        Target–substrate distance [mm].
    rate_nm_min : numeric
        Growth rate of the film [nm/min].

    Examples
    --------
    >>> round(nitrogen_arrival_ratio(1.0, 2.5, 0.5, 70.0, 1.79), 2)
    2.34
    """
    supply = n2_fraction / (n2_fraction + params.n2_half_fraction)
    arrival = (params.n_flux_nm_min * supply * nx.maximum(power_density_w_cm2, 0.0) ** params.n_power_exponent
               * nx.exp(-pressure_pa / params.n_pressure_scale_pa - distance_mm / params.n_decay_length_mm))
    return arrival / nx.maximum(rate_nm_min, 1e-12)


def nitrogen_content(n2_fraction, power_density_w_cm2, pressure_pa, distance_mm, rate_nm_min,
                     params: FilmParams = FILM):
    """Nitrogen content ``z`` (N per P) of the film: ``z = z_max·(1 − exp(−Γ))`` [1].

    ``Γ`` from :func:`nitrogen_arrival_ratio`; saturation near 6 at.% N (FACTS_film F1 [C2]).

    Parameters
    ----------
    n2_fraction, power_density_w_cm2, pressure_pa, distance_mm, rate_nm_min : numeric
        As in :func:`nitrogen_arrival_ratio` [1], [W/cm²], [Pa], [mm], [nm/min].

    Examples
    --------
    >>> round(nitrogen_content(1.0, 2.5, 0.5, 70.0, 1.79), 3)
    0.452
    >>> nitrogen_content(0.0, 2.5, 0.5, 70.0, 1.79)
    0.0
    """
    ratio = nitrogen_arrival_ratio(n2_fraction, power_density_w_cm2, pressure_pa, distance_mm, rate_nm_min,
                                   params)
    return -params.n_max * nx.expm1(-ratio)


def activation_energy_ev(n_content, params: FilmParams = FILM):
    """Activation energy of Li⁺ conduction [eV]: linear in N up to ``z_opt``, rising again beyond it.

    ``E_a = E_0 + s·min(z, z_opt) + s_x·max(z − z_opt, 0)``, ``s = (E_ref − E_0)/z_ref`` (Put et al. 2016,
    FACTS §2 [C]; the rise beyond ``z_opt``: FACTS_film F6).

    Examples
    --------
    >>> activation_energy_ev(0.0)
    0.65
    >>> round(activation_energy_ev(0.46), 3)
    0.53
    >>> round(activation_energy_ev(0.7), 3)
    0.568
    """
    slope = (params.activation_energy_ref_n_ev - params.activation_energy_no_n_ev) / params.reference_n
    return (params.activation_energy_no_n_ev + slope * nx.minimum(n_content, params.optimum_n)
            + params.excess_n_slope_ev * nx.maximum(n_content - params.optimum_n, 0.0))


def li_p_ratio(pressure_pa, distance_mm, dose_per_nm_ev_nm3, p0d0_pa_mm, params: FilmParams = FILM):
    """Li/P ratio of the film [1].

    ``Li/P = Li/P_target/(1 − ℓ_P)·(T_Li/T_P)^β·exp(−k_r·φ)`` with ``ℓ_P`` the share of arriving P lost from
    the film, Keller–Simmons transports of Li and of the P-bearing flux, and ``φ`` the damaging energy per
    deposited volume [eV/nm³].

    Examples
    --------
    >>> round(li_p_ratio(0.5, 70.0, 2.0, 60.0), 3)
    3.192
    """
    t_p = keller_simmons_transport(pressure_pa, distance_mm, p0d0_pa_mm)
    t_li = keller_simmons_transport(pressure_pa, distance_mm, p0d0_pa_mm * params.li_p0d0_ratio)
    return (params.target_li_p / (1.0 - params.p_loss_fraction) * (t_li / t_p) ** params.li_transport_exponent
            * nx.exp(-params.li_resputter_per_ev_nm3 * dose_per_nm_ev_nm3))


def _first_order_progress(temperature_c, minutes, prefactor_s, energy_ev):
    """``1 − exp(−t·ν·exp(−E/k_B·T))``: completed share of a thermally activated first-order process [1]."""
    rate = prefactor_s * nx.exp(-energy_ev / (K_B_EV_K * (temperature_c + ZERO_C_K)))
    return -nx.expm1(-rate * nx.maximum(minutes, 0.0) * 60.0)


def anneal_conductivity_factor(anneal_temperature_c, anneal_min, params: FilmParams = FILM):
    """Factor by which a post-deposition anneal multiplies the film's conductivity [1].

    ``G = (1 + g·r)·(1 − h·c)`` with ``r`` the progress of the film's relaxation and ``c`` that of its
    crystallisation, both first-order and thermally activated (module docstring; FACTS_film F7, F8).
    No anneal (0 min) gives 1.

    Parameters
    ----------
    anneal_temperature_c : numeric
        Anneal temperature [°C].
    anneal_min : numeric
        Anneal time [min]; 0 is none.

    Examples
    --------
    >>> anneal_conductivity_factor(150.0, 0.0)
    1.0
    >>> round(anneal_conductivity_factor(150.0, 60.0), 3)
    1.285
    >>> round(anneal_conductivity_factor(500.0, 60.0), 3)
    0.13
    """
    relax = _first_order_progress(anneal_temperature_c, anneal_min, params.anneal_relax_prefactor_s,
                                  params.anneal_relax_energy_ev)
    cryst = _first_order_progress(anneal_temperature_c, anneal_min, params.crystallisation_prefactor_s,
                                  params.crystallisation_energy_ev)
    return (1.0 + params.anneal_gain * relax) * (1.0 - params.crystallisation_loss * cryst)


def ionic_conductivity_s_cm(n_content, li_p, temperature_c=25.0, anneal_temperature_c=25.0, anneal_min=0.0,
                            params: FilmParams = FILM):
    """Ionic conductivity of the film [S/cm]: ``σ = (A/T)·exp(−E_a(z)/k_B·T)·(Li/P)/3·G(anneal)``.

    Parameters
    ----------
    n_content : numeric
        N per P of the film [1].
    li_p : numeric
        Li/P of the film [1].
    temperature_c : numeric
        Measurement temperature [°C].
    anneal_temperature_c, anneal_min : numeric
        Post-deposition anneal [°C], [min]; 0 min is none (:func:`anneal_conductivity_factor`).

    Examples
    --------
    >>> f'{ionic_conductivity_s_cm(0.46, 3.0):.3g}'
    '2.01e-06'
    >>> f'{ionic_conductivity_s_cm(0.0, 3.0):.2g}'
    '1.9e-08'
    >>> f'{ionic_conductivity_s_cm(0.7, 3.2):.2g}'
    '5e-07'
    """
    t_k = temperature_c + ZERO_C_K
    ea = activation_energy_ev(n_content, params)
    return (params.conductivity_prefactor_s_k_cm / t_k * nx.exp(-ea / (K_B_EV_K * t_k))
            * li_p / params.target_li_p * anneal_conductivity_factor(anneal_temperature_c, anneal_min, params))


def bulk_resistance_ohm_cm2(thickness_nm, conductivity_s_cm):
    """Area-specific ionic resistance of the film [Ω·cm²]: thickness/σ.

    Examples
    --------
    >>> round(bulk_resistance_ohm_cm2(100.0, 2e-6), 2)
    5.0
    """
    return thickness_nm * 1e-7 / conductivity_s_cm
