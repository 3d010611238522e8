"""Pinholes and particles: the probability that a cell is shorted through the electrolyte.

Shorts come from pinholes, whose density falls exponentially with film thickness [A], and from particles
(flakes from the shields, arc debris, handling; FACTS §4 [A], the seed's "internal short circuits") that reach
the bare or barely covered LiCoO2. Only particles that land before the film is ``h_i`` thick count (a particle on a
continuous insulating film cannot bridge to the cathode) [A]; the rest of the film must cover them, and one
shorts the cell with probability ``exp(−h/h_p)`` [A]. Both are Poisson, so
``P_short = 1 − exp(−A·D0·exp(−h/h_pin) − n_cell·exp(−h/h_p))``, with ``n_cell`` the interface particles on the
cell's area.
"""

from __future__ import annotations

from dataclasses import dataclass

from process_models import _num as nx
from process_models._params import param


@dataclass(frozen=True)
class DefectParams:
    """Parameters of the short-circuit model."""

    pinhole_density_cm2: float = param(30.0, "1/cm²", "pinhole density extrapolated to zero thickness", "[A]",
                                       low=0, high=1e6)
    pinhole_thickness_nm: float = param(25.0, "nm", "thickness over which the pinhole density falls by e",
                                        "[A]", low=0.1, high=1e4)
    particle_cover_thickness_nm: float = param(150.0, "nm", "thickness over which a particle's chance to "
                                               "short falls by e", "[A]", low=0.1, high=1e5)
    cell_area_cm2: float = param(0.1, "cm²", "area of one cell (top electrode)", "[A]", low=1e-4, high=100)
    substrate_area_cm2: float = param(1.0, "cm²", "substrate area on which particles land", "[A]", low=1e-3,
                                      high=1e4)
    load_particles: float = param(0.5, "1", "expected particles on the substrate from load, transfer and "
                                  "pump-down, before deposition", "[A]", low=0, high=1e4)
    interface_thickness_nm: float = param(5.0, "nm", "film thickness after which a landing particle sits on a "
                                          "continuous insulator and can no longer short the cell", "[A]",
                                          low=0, high=1e4)


DEFECTS = DefectParams()
"""Default defect parameters."""


def short_probability(thickness_nm, particles_on_substrate, params: DefectParams = DEFECTS):
    """Probability that a cell is shorted [0–1].

    Parameters
    ----------
    thickness_nm : numeric
        Electrolyte thickness [nm].
    particles_on_substrate : numeric
        Expected (or counted) particles on the substrate that landed before the film was
        ``interface_thickness_nm`` thick.

    Examples
    --------
    >>> round(short_probability(100.0, 0.0), 4)
    0.0535
    >>> round(short_probability(100.0, 2.0), 4)
    0.1458
    >>> short_probability(0.0, 0.0) > 0.95
    True
    """
    pinholes = params.cell_area_cm2 * params.pinhole_density_cm2 * nx.exp(-thickness_nm / params.pinhole_thickness_nm)
    n_cell = particles_on_substrate * params.cell_area_cm2 / params.substrate_area_cm2
    particles = n_cell * nx.exp(-thickness_nm / params.particle_cover_thickness_nm)
    return -nx.expm1(-(pinholes + particles))


def arc_rate_per_s(power_density_w_cm2, n2_fraction, rate_per_h, reference_power_density_w_cm2, power_exponent,
                   n2_factor):
    """Arc rate with the plasma on [1/s] (FACTS §4 [A]: arcs on a poisoned target).

    ``λ = λ_ref·(P_d/P_ref)^k·(1 + (k_N2 − 1)·f_N2)``: more arcs at high power density and in N2, which poisons
    the target surface. Every number is an [A] parameter of the chamber's ``[events]``.

    Parameters
    ----------
    power_density_w_cm2 : numeric
        RF power over the target area [W/cm²].
    n2_fraction : numeric
        N2 share of the process gas [0–1].
    rate_per_h : numeric
        Arc rate at the reference power density in pure Ar [1/h].
    reference_power_density_w_cm2, power_exponent, n2_factor : numeric
        ``P_ref`` [W/cm²], ``k`` [1] and the pure-N2 factor ``k_N2`` [1].

    Examples
    --------
    >>> round(arc_rate_per_s(2.5, 1.0, 1.0, 2.5, 2.0, 3.0) * 3600, 6)
    3.0
    """
    ratio = power_density_w_cm2 / reference_power_density_w_cm2
    return rate_per_h / 3600.0 * ratio ** power_exponent * (1 + (n2_factor - 1) * n2_fraction)


def flake_rate_per_s(shield_kwh, rate_per_h, shield_kwh_scale):
    """Flakes falling from the shields with the plasma on [1/s]: ``λ_0·(1 + E/E_½)``, growing with the energy
    ``E`` [kWh] since the shields were cleaned (FACTS §4 [A]).

    Examples
    --------
    >>> round(flake_rate_per_s(10.0, 0.5, 10.0) * 3600, 6)
    1.0
    """
    return rate_per_h / 3600.0 * (1 + shield_kwh / shield_kwh_scale)
