"""Electrolyte/LiCoO2 interface resistance.

One multiplicative model, each factor tied to FACTS.md:

``R_int(T) = R_clean · [1 + k_θ·θ + k_H·x_H' + k_c·c/c_ref + k_irr·x_irr + k_d·L'] · W(Li/P) · G(anneal)
· I(anneal) · exp(E_a/k_B·(1/T − 1/T_ref))``

* ``R_clean``: a clean, undamaged, vacuum-made interface, 7.6–11 Ω·cm² (Haruta 2015 8.6; Kawasoko 2018 7.6;
  Nakayama 2021 11 — FACTS §1 [C]); the value is [A] within that range.
* ``θ`` adsorbed monolayers capped by the film; ``x_H`` proton uptake from H2O (Kobayashi 2022: >10×, to
  >136 Ω·cm² at saturation [C2]), which an anneal removes (``x_H' = x_H·exp(−t·ν·exp(−E_H/kT))`` [A]);
  ``c`` impurities in the first nanometres; ``x_irr`` anneal-resistant species from air (the ~10.3 Ω·cm² that
  remained after annealing, [C2]).
* ``L`` the delithiated layer from ion damage (Salagre 2023 [C]); an anneal heals a share of it [A].
* ``W``: 1 inside the Li/P window, rising quadratically outside it (2025 Commun. Mater. [C]; bounds [A]).
* ``G``: annealing after forming the interface enlarges the active contact area and lowers R without
  changing its activation energy (Iriyama 2005 [C]); size [A]. ``I``: too hot an anneal interdiffuses [A].
* Arrhenius in the measurement temperature, ``E_a`` ≈ 0.5 eV (Yamada 2009 [C]).
"""

from __future__ import annotations

from dataclasses import dataclass

from process_models import _num as nx
from process_models._params import param
from process_models.constants import K_B_EV_K


@dataclass(frozen=True)
class InterfaceParams:
    """Parameters of the interface-resistance model."""

    clean_resistance_ohm_cm2: float = param(7.8, "Ω·cm²", "R_int of a clean, undamaged interface at 25 °C",
                                            "[A] within FACTS §1 [C] 7.6–11", low=0.1, high=1000)
    coverage_coefficient: float = param(0.5, "1/ML", "relative R_int rise per monolayer of capped adsorbate",
                                        "[A]", low=0, high=100)
    proton_coefficient: float = param(17.0, "1", "relative R_int rise at saturated proton uptake",
                                      "[C2] FACTS §1 Kobayashi: >10×, >136 Ω·cm²", low=0, high=1000)
    impurity_coefficient: float = param(0.1, "1", "relative R_int rise per reference impurity fraction",
                                        "[A]", low=0, high=100)
    impurity_reference: float = param(0.02, "1", "reference impurity fraction of the first nanometres",
                                      "[A]", low=1e-6, high=1)
    irreversible_coefficient: float = param(0.25, "1", "relative R_int rise from saturated anneal-resistant "
                                            "air species", "[C2] FACTS §1 Kobayashi: 10.3 after anneal",
                                            low=0, high=100)
    damage_coefficient: float = param(3.0, "1/nm", "relative R_int rise per nm of delithiated LiCoO2",
                                      "[A] FACTS §3 Salagre 2023", low=0, high=100)
    li_p_window_low: float = param(2.5, "1", "lower bound of the Li/P window of lowest R_int",
                                   "[A] FACTS §1 (2025 Commun. Mater.)", low=0.5, high=6)
    li_p_window_high: float = param(3.3, "1", "upper bound of the Li/P window", "[A]", low=0.5, high=6)
    li_p_penalty: float = param(8.0, "1", "relative R_int rise at a Li/P deviation of 0.3 outside the window",
                                "[A]", low=0, high=1000)
    proton_removal_prefactor_s: float = param(3e9, "1/s", "attempt frequency ν of proton removal on anneal",
                                              "[A]", low=0, high=1e16)
    proton_removal_energy_ev: float = param(1.0, "eV", "activation energy of proton removal",
                                            "[A] FACTS §1 anneal ~150 °C [M]", low=0.1, high=5)
    heal_fraction: float = param(0.5, "1", "share of the damaged layer an anneal can heal", "[A]", low=0,
                                 high=1)
    contact_gain: float = param(0.08, "1", "fractional R_int drop from a full anneal (more active contact "
                                "area)", "[C] FACTS §1 Iriyama 2005 (size [A])", low=0, high=0.9)
    interdiffusion_prefactor_s: float = param(4e11, "1/s", "rate prefactor of interdiffusion on anneal",
                                              "[A]", low=0, high=1e20)
    interdiffusion_energy_ev: float = param(2.0, "eV", "activation energy of interdiffusion", "[A]", low=0.1,
                                            high=10)
    activation_energy_ev: float = param(0.5, "eV", "activation energy of interfacial Li⁺ transfer",
                                        "[C] FACTS §1 Yamada 2009", low=0.05, high=2)
    reference_temperature_c: float = param(25.0, "°C", "temperature at which R_clean is given", "[A]",
                                           low=-100, high=200)


INTERFACE = InterfaceParams()
"""Default interface parameters."""


def _anneal_progress(anneal_temperature_c, anneal_min, prefactor_s, energy_ev):
    """``1 − exp(−t·ν·exp(−E/kT))``: completed share of a thermally activated first-order process."""
    t_k = anneal_temperature_c + 273.15
    rate = prefactor_s * nx.exp(-energy_ev / (K_B_EV_K * t_k))
    return -nx.expm1(-rate * nx.maximum(anneal_min, 0.0) * 60.0)


def anneal_effects(anneal_temperature_c, anneal_min, params: InterfaceParams = INTERFACE):
    """Progress of the anneal's processes [1]: proton removal, healing (same kinetics) and interdiffusion.

    Examples
    --------
    >>> removal, inter = anneal_effects(150.0, 60.0)
    >>> round(removal, 3), f'{inter:.1e}'
    (1.0, '2.2e-09')
    >>> anneal_effects(150.0, 0.0)
    (0.0, 0.0)
    """
    removal = _anneal_progress(anneal_temperature_c, anneal_min, params.proton_removal_prefactor_s,
                               params.proton_removal_energy_ev)
    t_k = anneal_temperature_c + 273.15
    inter_rate = params.interdiffusion_prefactor_s * nx.exp(-params.interdiffusion_energy_ev / (K_B_EV_K * t_k))
    interdiffusion = inter_rate * nx.maximum(anneal_min, 0.0) * 60.0
    return removal, interdiffusion


def li_p_window_factor(li_p, params: InterfaceParams = INTERFACE):
    """``W = 1 + k·(Δ/0.3)²`` with Δ the distance of Li/P outside the window [1].

    Examples
    --------
    >>> li_p_window_factor(3.0)
    1.0
    >>> round(li_p_window_factor(2.3), 2)
    4.56
    """
    below = nx.maximum(params.li_p_window_low - li_p, 0.0)
    above = nx.maximum(li_p - params.li_p_window_high, 0.0)
    delta = below + above
    return 1.0 + params.li_p_penalty * (delta / 0.3) ** 2


def interface_resistance_ohm_cm2(coverage_ml, proton_uptake, impurity_fraction, irreversible_share,
                                 damaged_layer_nm, li_p, anneal_temperature_c=25.0, anneal_min=0.0,
                                 temperature_c=25.0, params: InterfaceParams = INTERFACE):
    """Interface resistance [Ω·cm²] (model in the module docstring).

    Parameters
    ----------
    coverage_ml : numeric
        Adsorbate capped under the film [monolayers].
    proton_uptake : numeric
        Share of saturated proton uptake into LiCoO2 [0–1].
    impurity_fraction : numeric
        Impurity share of the first nanometres of film [1].
    irreversible_share : numeric
        Share of saturated anneal-resistant air species [0–1].
    damaged_layer_nm : numeric
        Delithiated LiCoO2 depth [nm].
    li_p : numeric
        Li/P of the film.
    anneal_temperature_c, anneal_min : numeric
        Post-deposition anneal [°C], [min]; 0 min is none.
    temperature_c : numeric
        Measurement temperature [°C].

    Examples
    --------
    >>> interface_resistance_ohm_cm2(0.0, 0.0, 0.0, 0.0, 0.0, 3.0)
    7.8
    >>> round(interface_resistance_ohm_cm2(0.0, 1.0, 0.0, 0.0, 0.0, 3.0), 1)
    140.4
    >>> round(interface_resistance_ohm_cm2(0.0, 0.0, 0.0, 0.0, 0.0, 3.0, temperature_c=60.0), 2)
    1.01
    """
    removal, interdiffusion = anneal_effects(anneal_temperature_c, anneal_min, params)
    x_h = proton_uptake * (1.0 - removal)
    damage = damaged_layer_nm * (1.0 - params.heal_fraction * removal)
    excess = (params.coverage_coefficient * coverage_ml + params.proton_coefficient * x_h
              + params.impurity_coefficient * impurity_fraction / params.impurity_reference
              + params.irreversible_coefficient * irreversible_share + params.damage_coefficient * damage)
    gain = 1.0 - params.contact_gain * removal
    t_k = temperature_c + 273.15
    t_ref = params.reference_temperature_c + 273.15
    arrhenius = nx.exp(params.activation_energy_ev / K_B_EV_K * (1.0 / t_k - 1.0 / t_ref))
    return (params.clean_resistance_ohm_cm2 * (1.0 + excess) * li_p_window_factor(li_p, params) * gain
            * (1.0 + interdiffusion) * arrhenius)
