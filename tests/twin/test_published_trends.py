"""The deterministic twin's film against published LiPON trends it was not calibrated on.

Each test names its source and why its tolerance is what it is; the tolerances were set from the sources'
precision before the twin was run against them. Sources and tags: ``process_models/FACTS_film.md``.
Where a source gives a direction only (an abstract read here, no table), the test checks the direction and the
published range of the quantity, not a magnitude the source does not give.
"""

from __future__ import annotations

import itertools

import numpy as np
import pytest

from process_models import film as pf
from twin import Chamber, Recipe, simulate

CHAMBER = Chamber()
AREA = CHAMBER.geometry.target_area_cm2


def film(power_density_w_cm2: float = 2.5, pressure_pa: float = 0.5, distance_mm: float = 70.0,
         n2_fraction: float = 1.0, **kw):
    """Deterministic run of a one-step deposition; the film's properties are what the tests read."""
    recipe = Recipe(rf_power_w=power_density_w_cm2 * AREA, pressure_pa=pressure_pa,
                    target_substrate_distance_mm=distance_mm, n2_fraction=n2_fraction, **kw)
    return simulate(recipe, CHAMBER, deterministic=True)


STANDARD_LIPON = list(itertools.product((2.0, 2.5, 3.0), (0.3, 0.5, 0.7, 1.0), (50.0, 70.0, 80.0)))
"""Standard LiPON recipes: pure N2, 2–3 W/cm² (Hu 2008's mid range; FACTS §2 rate window), 0.3–1 Pa (Ribeiro
2012: 0.03–1 Pa), 50–80 mm (FACTS §2 [M]: 50–100 mm)."""


@pytest.mark.parametrize("pd,p,d", STANDARD_LIPON)
def test_li_p_of_standard_lipon_is_in_the_reported_range(pd, p, d):
    """Sputtered LiPON is reported at Li/P 2.9–3.3 (e.g. Li2.9PO3.3N0.46, Bates/Dudney) [M], FACTS_film F5/F9.

    Tolerance: the reported range itself; a standard recipe outside it is a miss.
    """
    assert 2.9 <= film(pd, p, d).li_p_ratio <= 3.3


def test_li_p_depends_weakly_on_sputter_parameters():
    """The Li content of films sputtered from Li3PO4-based targets depends more on the target than on the
    sputtering parameters (MRS Proc., FACTS_film F9 [C], abstract). Over the issue's 54 settings (40–240 W,
    0.2–5 Pa, 40–120 mm, Ar or N2) Li/P must stay within ±15 % of the target's 3.0. The abstract gives no
    number, so the tolerance is ours [A], set before running: twice the half-width of the 2.9–3.3 reported for
    standard recipes, for the grid's extreme settings."""
    li_p = [simulate(Recipe(rf_power_w=w, pressure_pa=p, target_substrate_distance_mm=d, n2_fraction=f),
                     CHAMBER, deterministic=True).li_p_ratio
            for w, p, d, f in itertools.product((40.0, 140.0, 240.0), (0.2, 1.0, 5.0), (40.0, 80.0, 120.0),
                                                (0.0, 1.0))]
    assert 0.85 * 3.0 <= min(li_p) and max(li_p) <= 1.15 * 3.0
    assert max(li_p) > 3.0  # the target's 3.0 is reached: the twin is no longer Li-poor everywhere


def test_nitrogen_and_conductivity_rise_with_power():
    """Hu, Li & Xie, Bull. Mater. Sci. 31, 681 (2008) [C] (abstract): N content and ionic conductivity of
    LiPON both rise as RF power goes from 1.5 to 5.5 W/cm². Direction over that range, strictly; the abstract
    gives no magnitude, so σ is held to the range reported for sputtered LiPON, 1e-7–3e-6 S/cm (Ribeiro 2012
    [C], Bates/Dudney 2(±1)e-6 [C])."""
    runs = [film(pd) for pd in (1.5, 2.5, 3.5, 4.5, 5.5)]
    z = [r.nitrogen_content for r in runs]
    sigma = [r.ionic_conductivity_s_cm for r in runs]
    assert np.all(np.diff(z) > 0) and np.all(np.diff(sigma) > 0)
    assert 1e-7 <= min(sigma) and max(sigma) <= 3e-6


def test_nitrogen_and_conductivity_fall_with_pressure():
    """Christiansen et al., J. Power Sources 273, 863 (2015) [C] (abstract): low pressure favours atomic N, which
    correlates with the best conductivity. Direction from 0.2 to 3 Pa, strictly; at 1 Pa and below σ stays in
    the range Ribeiro 2012 [C] measured over 0.03–1 Pa N2, 1e-7–1e-6 S/cm, widened to Bates' 3e-6 above."""
    runs = [film(pressure_pa=p) for p in (0.2, 0.5, 1.0, 2.0, 3.0)]
    z = [r.nitrogen_content for r in runs]
    sigma = [r.ionic_conductivity_s_cm for r in runs]
    assert np.all(np.diff(z) < 0) and np.all(np.diff(sigma) < 0)
    assert all(1e-7 <= s <= 3e-6 for s in sigma[:3])


def test_nitrogen_follows_the_arrival_ratio_with_distance():
    """N uptake follows what arrives: the rate falls several-fold from 40 to 120 mm while the atomic-N arrival
    falls less, so N/P rises with distance (FACTS_film F2 [A]); the highest conductivity of one RF-sputtered LiPON
    study came from its largest target–substrate distance (ephys.kz 2020, FACTS_film F12 [C], abstract).
    Direction of N/P and σ, strictly, and the rate falls by more than 3× (FACTS §3 geometry and scattering)."""
    runs = [film(distance_mm=d) for d in (40.0, 60.0, 80.0, 100.0, 120.0)]
    z = [r.nitrogen_content for r in runs]
    sigma = [r.ionic_conductivity_s_cm for r in runs]
    assert np.all(np.diff(z) > 0) and np.all(np.diff(sigma) > 0)
    assert runs[0].deposition_rate_nm_min > 3 * runs[-1].deposition_rate_nm_min


def test_nitrogen_saturates_near_six_atomic_percent():
    """Sputtered LiPON's N content saturates near 6 at.% (N/P ≈ 0.47) (ion-implantation study, FACTS_film F1
    [C2]). No recipe of the issue's grid, and no recipe at the tool's extremes, exceeds N/P 0.5 (6.5 at.%)."""
    z = [film(pd, p, d).nitrogen_content
         for pd, p, d in itertools.product((0.5, 2.5, 5.5), (0.1, 0.5, 5.0), (40.0, 120.0))]
    assert max(z) <= 0.5
    assert max(z) > 0.45  # and the saturation is reached: standard LiPON's 0.46 is within reach


@pytest.mark.parametrize("power_density", [1.3, 2.5])
def test_lipon_conducts_about_a_hundred_times_better_than_li3po4(power_density):
    """The classic figure: nitrogen raises the conductivity of sputtered Li3PO4 about a hundredfold [M]
    (FACTS_film F4, quoted in issue 17, not read here). An order-of-magnitude figure, so the tolerance is half a
    decade either side: 100/√10 ≤ σ(N2)/σ(Ar) ≤ 100·√10, at low power (1.3 W/cm², where the old twin gave 15)
    and at 2.5 W/cm²."""
    ratio = film(power_density).ionic_conductivity_s_cm / film(power_density, n2_fraction=0.0).ionic_conductivity_s_cm
    assert 100 / 10 ** 0.5 <= ratio <= 100 * 10 ** 0.5


def test_over_nitrided_film_conducts_worse():
    """A film of Li3.2PO3.1N0.7 measured ~5e-7 S/cm [M] (FACTS_film F6; the slope of E_a past N/P 0.5 was set
    from this number, so this is its anchor, within a factor 2 for "~"), and N implanted beyond the sputtering
    saturation "enhances or retards" σ [C2]: past z_opt more N no longer helps."""
    over = pf.ionic_conductivity_s_cm(0.7, 3.2)
    assert 2.5e-7 <= over <= 1e-6
    assert over < pf.ionic_conductivity_s_cm(0.46, 2.9)  # Li2.9PO3.3N0.46 conducts better
    z = np.linspace(0.0, 1.0, 101)
    assert 0.45 <= z[np.argmax(pf.ionic_conductivity_s_cm(z, 3.0))] <= 0.55


def test_anneal_raises_the_film_conductivity_by_its_named_size():
    """Annealing the finished film changes its bonding and raises its conductivity (Iriyama 2005; Carrillo
    Solano et al., Ionics 22, 471 (2016): as cited in issue 17, not read here, FACTS_film F7 [M]). Direction
    strictly; the size is the named assumption ``film.anneal_gain`` (a complete relaxation at most): an anneal
    of 60 min at 150 °C raises σ by more than half of it and never by more than all of it; 60 min at 60 °C
    does next to nothing (< 1 %)."""
    gain = CHAMBER.film.anneal_gain
    base = film().ionic_conductivity_s_cm
    annealed = film(anneal_temperature_c=150.0, anneal_min=60.0).ionic_conductivity_s_cm
    assert 1 + 0.5 * gain < annealed / base <= 1 + gain
    warm = film(anneal_temperature_c=60.0, anneal_min=60.0).ionic_conductivity_s_cm
    assert warm / base < 1.01


def test_too_hot_an_anneal_crystallises_and_lowers_the_conductivity():
    """Crystalline Li3PO4 conducts orders of magnitude worse than the glass (Wang, Bates et al. 1995: 4.2e-18
    S/cm, FACTS_film F8 [C2]); an anneal hot enough to crystallise the film (onset ~400 °C, [A]) lowers σ below
    the as-deposited film's. Direction only (the onset and size are assumptions)."""
    base = film().ionic_conductivity_s_cm
    assert film(anneal_temperature_c=500.0, anneal_min=60.0).ionic_conductivity_s_cm < base


def test_anneal_changes_the_conductivity_not_the_composition():
    """The film anneal acts on σ (bonding), not on the film's N/P or Li/P as grown; the bulk resistance falls."""
    plain = film(anneal_temperature_c=150.0, anneal_min=0.0)
    annealed = film(anneal_temperature_c=150.0, anneal_min=60.0)
    assert annealed.bulk_resistance_ohm_cm2 < plain.bulk_resistance_ohm_cm2
    assert annealed.nitrogen_content == plain.nitrogen_content and annealed.li_p_ratio == plain.li_p_ratio
