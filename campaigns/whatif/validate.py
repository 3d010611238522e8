"""Every planned design point checked against the recipe rules and the tool's limits, before any run starts.

:class:`twin.Recipe` (on construction) and :meth:`twin.Chamber.check` check one recipe at a time: about 70 µs a
design point when a chamber parameter varies, 7 s for 100,000 draws. :func:`check_plan` evaluates the same rules
on numpy arrays, a block of design points at a time (a parameter the scenario does not vary is a scalar), in
the driver, before the cluster starts. The first point the arrays flag is then built and checked by the twin
itself, and the twin's error is the one reported: the arrays only find the point fast, the twin has the last
word. The rules here mirror the twin's; the tests compare both on random recipes and chambers, and
:func:`check_plan` also has the twin check the planned points where each factor is at its lowest and highest,
so that a rule added to the twin and not here is still likely to be caught before the run (the engine checks
every point it runs, in any case).
"""

from __future__ import annotations

import logging
import math
from typing import TYPE_CHECKING, Any

import numpy as np

from campaigns.whatif.errors import ScenarioError
from campaigns.whatif.scenario import apply, refused
from twin import Chamber, Recipe
from twin.errors import InputError

if TYPE_CHECKING:
    from campaigns.whatif.plan import Plan, Point

log = logging.getLogger(__name__)

BLOCK_POINTS = 1 << 16
"""Design points checked at once (bounds the memory of the check: a few MB whatever the study's size)."""

RULE_INPUTS = frozenset(
    [f"recipe.{name}" for name in Recipe.fields()]
    + [f"limits.{name}" for name in ("max_power_density_w_cm2", "min_power_w", "min_pressure_pa", "max_pressure_pa",
                                     "min_distance_mm", "max_distance_mm", "max_substrate_temperature_c",
                                     "max_anneal_temperature_c", "max_thickness_nm", "max_presputter_min",
                                     "max_pumpdown_min", "max_anneal_min", "max_air_exposure_min")]
    + ["geometry.target_diameter_mm", "vacuum.room_temperature_c", "interface.li_p_window_low",
       "interface.li_p_window_high"])
"""Parameters the rules read; a scenario that varies none of them has nothing to combine."""


def violations(values: dict[str, Any], recipe: Recipe, chamber: Chamber, n: int) -> np.ndarray:
    """Which of ``n`` design points break a rule of :class:`twin.Recipe`, :class:`twin.Chamber` or
    :meth:`twin.Chamber.check` (a boolean array).

    ``values`` holds arrays of the varied parameters by scenario name (``recipe.FIELD``, ``SECTION.FIELD``);
    every other parameter takes its value in ``recipe`` and ``chamber``. A NaN breaks every range, as in the twin.

    Examples
    --------
    >>> from twin import Chamber, Recipe
    >>> violations({"recipe.seed_thickness_nm": np.array([5.0, 150.0])}, Recipe(), Chamber(), 2).tolist()
    [False, True]
    """

    def get(name: str) -> Any:
        if name in values:
            return values[name]
        return getattr(recipe, name[7:]) if name.startswith("recipe.") else chamber.get(name)

    def rec(field: str) -> Any:
        return get(f"recipe.{field}")

    def lim(field: str) -> Any:
        return get(f"limits.{field}")

    bad = np.zeros(n, dtype=bool)
    # Recipe.__post_init__: each field in its physical range, then the rules across fields
    for name in values:
        if name.startswith("recipe.") and name != "recipe.transfer":
            meta = Recipe.__dataclass_fields__[name[7:]].metadata
            bad |= _outside(values[name], meta["low"], meta["high"])
    transfer = rec("transfer")
    bad |= ~np.isin(np.asarray(transfer, dtype=object), ["vacuum", "air"])
    seed, target = rec("seed_thickness_nm"), rec("target_thickness_nm")
    bad |= np.greater(seed, target)
    bad |= np.equal(np.asarray(transfer, dtype=object), "vacuum").astype(bool) & np.greater(rec("air_exposure_min"),
                                                                                            0)
    bad |= np.less_equal(rec("rf_power_w"), 0)
    has_seed = np.greater(seed, 0)
    bad |= has_seed & np.less_equal(rec("seed_power_w"), 0)
    # Chamber.__post_init__
    bad |= np.greater(lim("min_pressure_pa"), lim("max_pressure_pa"))
    bad |= np.greater(lim("min_distance_mm"), lim("max_distance_mm"))
    bad |= np.greater(get("interface.li_p_window_low"), get("interface.li_p_window_high"))
    # Chamber.check: the recipe against the tool's limits
    if "geometry.target_diameter_mm" in values:
        area = math.pi * (np.asarray(values["geometry.target_diameter_mm"], dtype=float) / 20.0) ** 2
    else:
        area = chamber.geometry.target_area_cm2
    max_w = np.multiply(lim("max_power_density_w_cm2"), area)
    bad |= _outside(rec("rf_power_w"), lim("min_power_w"), max_w)
    bad |= has_seed & _outside(rec("seed_power_w"), lim("min_power_w"), max_w)
    bad |= _outside(rec("pressure_pa"), lim("min_pressure_pa"), lim("max_pressure_pa"))
    bad |= _outside(rec("target_substrate_distance_mm"), lim("min_distance_mm"), lim("max_distance_mm"))
    room = get("vacuum.room_temperature_c")
    bad |= _outside(rec("substrate_temperature_c"), room, lim("max_substrate_temperature_c"))
    bad |= _outside(target, 1.0, lim("max_thickness_nm"))
    bad |= _outside(rec("presputter_min"), 0.0, lim("max_presputter_min"))
    bad |= _outside(rec("pumpdown_min"), 0.0, lim("max_pumpdown_min"))
    bad |= _outside(rec("air_exposure_min"), 0.0, lim("max_air_exposure_min"))
    bad |= _outside(rec("anneal_min"), 0.0, lim("max_anneal_min"))
    bad |= np.greater(rec("anneal_min"), 0) & _outside(rec("anneal_temperature_c"), room,
                                                       lim("max_anneal_temperature_c"))
    return bad


def _outside(x: Any, lo: Any, hi: Any) -> Any:
    """``not lo <= x <= hi``, elementwise (NaN is outside)."""
    return ~(np.greater_equal(x, lo) & np.less_equal(x, hi))


def check_plan(plan: Plan) -> None:
    """Raise :class:`ScenarioError` for the first planned design point whose recipe or chamber is invalid.

    The sweep's points first (variation by variation, draw by draw), then the sensitivity design's. The error
    is one line: the scenario file, the varied parameter, its value, the variation and draw (or the sensitivity
    point) with the other varied values, the twin's own problem and the allowed range.
    """
    sc = plan.scenario
    if not sc.factors or plan.n_points == 0:
        return
    numeric = [f.name for f in sc.factors if f.dtype in ("float", "int")]
    lowest: dict[str, tuple[float, int]] = {}
    highest: dict[str, tuple[float, int]] = {}
    combine = any(f.name in RULE_INPUTS for f in sc.factors)
    for start in range(0, plan.n_points, BLOCK_POINTS):
        stop = min(start + BLOCK_POINTS, plan.n_points)
        values = plan.values(start, stop)
        if combine:
            for i in np.flatnonzero(violations(values, sc.recipe, sc.chamber, stop - start)):
                if _twin_check(plan, start + int(i)):
                    log.warning("the vectorised check flags design point %d, which the twin accepts; the "
                                "remaining points are checked when they run", start + int(i))
                    combine = False
                break
        for name in numeric:
            col = np.asarray(values[name], dtype=float)
            lo, hi = int(np.argmin(col)), int(np.argmax(col))
            if name not in lowest or col[lo] < lowest[name][0]:
                lowest[name] = (float(col[lo]), start + lo)
            if name not in highest or col[hi] > highest[name][0]:
                highest[name] = (float(col[hi]), start + hi)
    for p in sorted({p for _, p in (*lowest.values(), *highest.values())}):
        _twin_check(plan, p)


def _twin_check(plan: Plan, p: int) -> bool:
    """Build design point ``p`` and check it with the twin: raise its error as a ScenarioError, or return True."""
    sc = plan.scenario
    pt = plan.point(p)
    try:
        recipe, chamber = apply(sc.recipe, sc.chamber, pt.values)
        chamber.check(recipe)
    except InputError as exc:
        raise point_error(plan, pt, exc) from None
    return True


def point_error(plan: Plan, pt: Point, exc: InputError) -> ScenarioError:
    """The one-line error for design point ``pt``, whose recipe or chamber the twin refused with ``exc``.

    It names the varied parameter (the refused field if it is varied, else the first distribution, else the
    first grid), its value, where the point is in the plan (variation and draw, or sensitivity point) with the
    other varied values, the twin's problem and the allowed range.
    """
    sc = plan.scenario
    names = list(pt.values)
    if exc.field in pt.values:
        lead = exc.field
    else:
        lead = next((f.name for f in sc.dist_factors), names[0])
    if pt.variation >= 0:
        where = f"sweep variation {pt.variation}" + (f", draw {pt.draw}" if sc.dist_factors else "")
    else:
        where = f"point {pt.index - plan.n_sweep_points} of the {sc.sensitivity.method} sensitivity design"
    others = ", ".join(f"{k} = {v!r}" for k, v in pt.values.items() if k != lead)
    problem = (f"at {where}" + (f" (with {others})" if others else "")
               + f" gives an invalid run: {refused(exc, lead, pt.values[lead])}")
    return ScenarioError(f"vary.{lead}", pt.values[lead], problem, exc.allowed, sc.source)
