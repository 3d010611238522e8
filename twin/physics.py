"""Closed-form physics of one run, shared by the discrete-event model and the batch twin.

The discrete-event model (:mod:`twin.model`) steps through a run with simpy and, between events, integrates
every quantity in closed form; the batch twin (:mod:`twin.batch`) evaluates the deterministic run of many
recipes at once on numpy arrays. Both call the functions here, so the physics of a plasma step, of the residual
water, of the film and of the finished run is written once and the two paths cannot drift apart. Every function
takes scalars (the model: Python floats, on the fast ``math`` path of :mod:`process_models._num`) or arrays
(the batch: one value per row, chamber parameters included).

The film's properties are computed in exactly one place, :func:`film_properties`.
"""

from __future__ import annotations

from typing import Any, NamedTuple

import numpy as np

from process_models import _num as nx
from process_models import contamination as pc
from process_models import defects as pd_
from process_models import deposition as pdp
from process_models import energetics as pe
from process_models import film as pf
from process_models import interface as pi
from process_models.constants import LANGMUIR_PA_S


class Step(NamedTuple):
    """Physics of one plasma step at one power, constant while it lasts."""

    rate_nm_s: Any
    """Growth rate [nm/s]."""
    phi_ev_nm3: Any
    """Damaging energy per area per nanometre grown [eV/nm²/nm]."""
    range_nm: Any
    """Range of the damaging particles [nm]."""
    arc_rate_per_s: Any
    """Arc rate with the plasma on [1/s]."""


def step_physics(power_w: Any, pressure_pa: Any, distance_mm: Any, n2_fraction: Any, target_kwh: Any,
                 deposition: Any, energetics: Any, events: Any, target_area_cm2: Any) -> Step:
    """Rate, damaging dose per nanometre and its range, and arc rate of a plasma step at ``power_w`` [W].

    The target's erosion is taken at ``target_kwh`` [kWh], its state when the sample was loaded.
    """
    rate = pdp.deposition_rate_nm_min(power_w, pressure_pa, distance_mm, n2_fraction, target_kwh, deposition) / 60.0
    bias = pdp.self_bias_v(power_w, deposition)
    phi, range_nm = pe.energetic_dose_per_nm(bias, pressure_pa, distance_mm, n2_fraction, energetics)
    arc = pd_.arc_rate_per_s(power_w / target_area_cm2, n2_fraction, events.arc_rate_per_h,
                             events.arc_reference_power_density_w_cm2, events.arc_power_exponent,
                             events.arc_n2_factor)
    return Step(rate, phi, range_nm, arc)


# -- residual water --------------------------------------------------------------------------------------------
def mean_leak_pa(events: Any) -> Any:
    """Mean H2O partial pressure of the virtual-leak bursts [Pa]: rate × mean jump × decay time (the time
    average of a Poisson train of exponential bursts); the deterministic run's stand-in for the bursts."""
    return events.leak_rate_per_h / 3600.0 * events.leak_h2o_pa * events.leak_decay_s


def background_exposure_pa_s(t0: Any, t1: Any, vent_time_s: Any, leak_pa: Any, contamination: Any) -> Any:
    """``∫ p_H2O dt`` from ``t0`` to ``t1`` [Pa·s] of the walls' water (falling as 1/t since ``vent_time_s``)
    and a constant leak pressure ``leak_pa`` [Pa]; zero where ``t1 <= t0``."""
    expo = (pc.h2o_exposure_pa_s(t0 - vent_time_s, t1 - vent_time_s, contamination) + leak_pa * (t1 - t0))
    if isinstance(t1 - t0, float | int):
        return expo if t1 > t0 else 0.0
    return np.where(t1 > t0, expo, 0.0)


def adsorb(coverage_ml: Any, exposure_pa_s: Any, duration_s: Any, temperature_c: Any, contamination: Any) -> Any:
    """Coverage [monolayers] of the bare LiCoO2 after ``duration_s`` [s] of an exposure [Pa·s] at its mean
    pressure (:func:`process_models.contamination.langmuir_coverage`); unchanged where the duration is 0."""
    if isinstance(duration_s, float | int):
        if duration_s <= 0:
            return coverage_ml
        return pc.langmuir_coverage(coverage_ml, exposure_pa_s / duration_s, duration_s, temperature_c,
                                    contamination)
    some = duration_s > 0
    dt = np.where(some, duration_s, 1.0)
    new = pc.langmuir_coverage(coverage_ml, exposure_pa_s / dt, dt, temperature_c, contamination)
    return np.where(some, new, coverage_ml)


# -- growth ----------------------------------------------------------------------------------------------------
def grow(h0_nm: Any, step: Step, elapsed_s: Any) -> tuple[Any, Any]:
    """Thickness after growing for ``elapsed_s`` [s] from ``h0_nm`` [nm], and the damage dose that reached the
    interface meanwhile [eV/nm²]."""
    h1 = h0_nm + step.rate_nm_s * elapsed_s
    return h1, pe.interface_dose_ev_nm2(step.phi_ev_nm3, step.range_nm, h0_nm, h1)


def buried_nm(h0_nm: Any, h1_nm: Any, depth_nm: Any) -> Any:
    """Film grown between ``h0_nm`` and ``h1_nm`` that lies within ``depth_nm`` of the interface [nm]."""
    return nx.maximum(nx.minimum(h1_nm, depth_nm) - h0_nm, 0.0)


def expected_particles(load: Any, flake_per_s: Any, arc_particle_probability: Any, interface_thickness_nm: Any,
                       layers: list[tuple[Step, Any]]) -> tuple[Any, Any]:
    """Expected particles on the substrate, all and those landing before the film is
    ``interface_thickness_nm`` thick: ``load`` before deposition, then flakes and arc debris while the shutter is
    open, layer by layer (``layers``: (step, thickness [nm]) in order; a layer of 0 nm adds nothing)."""
    total, interface, h = load, load, 0.0
    for step, dh in layers:
        per_s = flake_per_s + arc_particle_probability * step.arc_rate_per_s
        covered = nx.minimum(nx.maximum(interface_thickness_nm - h, 0.0), dh)
        if isinstance(dh, float | int):
            total += per_s * dh / step.rate_nm_s
            interface += per_s * covered / step.rate_nm_s
        else:  # rows without the layer have dh = 0 and may have no rate (no seed power)
            some = dh > 0
            rate = np.where(some, step.rate_nm_s, 1.0)
            total = total + np.where(some, per_s * dh / rate, 0.0)
            interface = interface + np.where(some, per_s * covered / rate, 0.0)
        h = h + dh
    return total, interface


# -- the film --------------------------------------------------------------------------------------------------
class FilmProperties(NamedTuple):
    """What the electrolyte film is."""

    li_p_first: Any
    """Li/P of the first layer (the seed layer, or the bulk without one), which forms the interface."""
    li_p_bulk: Any
    """Li/P of the bulk film."""
    nitrogen_content: Any
    """N per P of the bulk film."""
    ionic_conductivity_s_cm: Any
    """Ionic conductivity of the bulk film at the room temperature [S/cm]."""
    bulk_resistance_ohm_cm2: Any
    """Area-specific ionic resistance of the film [Ω·cm²]."""


def film_properties(*, thickness_nm: Any, pressure_pa: Any, distance_mm: Any, n2_fraction: Any, rf_power_w: Any,
                    rate_nm_min: Any, phi_first_ev_nm3: Any, phi_bulk_ev_nm3: Any, anneal_temperature_c: Any,
                    anneal_min: Any, room_temperature_c: Any, target_area_cm2: Any, deposition: Any,
                    film: Any) -> FilmProperties:
    """The film's Li/P, nitrogen content, conductivity and resistance: the one place that calls
    :mod:`process_models.film`.

    ``thickness_nm`` is the film's thickness [nm]; ``rate_nm_min`` the bulk deposition rate [nm/min] (nitrogen
    uptake follows the N-to-P arrival ratio); ``phi_*`` are the damaging energies per nanometre grown of the first
    and the bulk layer [eV/nm²/nm]; the post-deposition anneal (``anneal_temperature_c`` [°C], ``anneal_min`` [min],
    0 min for none) changes the film's conductivity.
    """
    p0d0 = deposition.keller_simmons_p0d0_pa_mm
    li_p_first = pf.li_p_ratio(pressure_pa, distance_mm, phi_first_ev_nm3, p0d0, film)
    li_p_bulk = pf.li_p_ratio(pressure_pa, distance_mm, phi_bulk_ev_nm3, p0d0, film)
    n_content = pf.nitrogen_content(n2_fraction, rf_power_w / target_area_cm2, pressure_pa, distance_mm,
                                    rate_nm_min, film)
    sigma = pf.ionic_conductivity_s_cm(n_content, li_p_bulk, room_temperature_c, anneal_temperature_c, anneal_min,
                                       film)
    return FilmProperties(li_p_first, li_p_bulk, n_content, sigma, pf.bulk_resistance_ohm_cm2(thickness_nm, sigma))


# -- the finished run ------------------------------------------------------------------------------------------
class Interface(NamedTuple):
    """What the run left at the electrolyte/LiCoO2 interface."""

    h2o_dose_langmuir: Any
    proton_uptake: Any
    film_impurity_fraction: Any
    damaged_layer_nm: Any
    interface_resistance_ohm_cm2: Any


def interface_outcome(*, air_transfer: Any, air_exposure_min: Any, chamber_h2o_pa_s: Any, impurity_pa_s: Any,
                      impurity_nm: Any, dose_ev_nm2: Any, dose_range_weight: Any, bulk_range_nm: Any,
                      coverage_ml: Any, li_p_first: Any, anneal_temperature_c: Any, anneal_min: Any,
                      room_temperature_c: Any, contamination: Any, deposition: Any, energetics: Any,
                      interface: Any) -> Interface:
    """The interface of a finished run from what the run accumulated.

    Parameters
    ----------
    air_transfer : bool or ndarray of bool
        The LiCoO2 film reached the chamber through room air.
    air_exposure_min : numeric
        Minutes in room air [min].
    chamber_h2o_pa_s : numeric
        H2O exposure of the bare surface in the chamber [Pa·s].
    impurity_pa_s, impurity_nm : numeric
        H2O exposure while the first ``impurity_depth_nm`` grew [Pa·s], and the film grown within it [nm].
    dose_ev_nm2, dose_range_weight : numeric
        Damage dose at the interface [eV/nm²] and its sum weighted by range [eV/nm² · nm].
    bulk_range_nm : numeric
        Range of the bulk step's damaging particles [nm] (the mean range without a dose).
    coverage_ml : numeric
        Adsorbate capped by the film [monolayers].
    li_p_first : numeric
        Li/P of the layer that forms the interface.
    anneal_temperature_c, anneal_min, room_temperature_c : numeric
        Post-deposition anneal [°C], [min]; measurement temperature [°C].
    """
    cp = contamination
    air_dose_l, irreversible = pc.air_exposure(air_exposure_min, cp)
    if isinstance(air_transfer, bool):
        air_dose_l, irreversible = (air_dose_l, irreversible) if air_transfer else (0.0, 0.0)
        mean_range = dose_range_weight / dose_ev_nm2 if dose_ev_nm2 > 0 else bulk_range_nm
    else:
        air_dose_l, irreversible = np.where(air_transfer, air_dose_l, 0.0), np.where(air_transfer, irreversible, 0.0)
        some = dose_ev_nm2 > 0
        mean_range = np.where(some, dose_range_weight / np.where(some, dose_ev_nm2, 1.0), bulk_range_nm)
    dose_l = air_dose_l + cp.transfer_dose_l + chamber_h2o_pa_s / LANGMUIR_PA_S
    protons = pc.proton_uptake(dose_l, cp)
    atoms = impurity_nm * 1e-7 * pdp.film_atom_density_cm3(deposition)
    impurity = pc.film_impurity_fraction(impurity_pa_s, atoms, cp)
    damaged = pe.damaged_layer_nm(dose_ev_nm2, mean_range, energetics)
    r_int = pi.interface_resistance_ohm_cm2(coverage_ml, protons, impurity, irreversible, damaged, li_p_first,
                                            anneal_temperature_c, anneal_min, room_temperature_c, interface)
    return Interface(dose_l, protons, impurity, damaged, r_int)
