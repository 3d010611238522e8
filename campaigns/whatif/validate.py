"""Validation of a what-if study before any run: one :class:`ScenarioError` (exit status 2), never a worker's failure.

Two steps:

1. Reading the file (:func:`check_levels`): each grid level, and each distribution over the whole range it can
   be drawn from, must give a valid recipe and chamber (:class:`twin.Recipe`, :meth:`twin.Chamber.check`) with
   the other parameters at their base values. A uniform reaches ``low`` and ``high``; a normal or lognormal
   reaches its truncation bounds where given, and otherwise its quantiles :data:`TAIL_QUANTILE` = 1e-12 and
   1 - 1e-12 (mean ± 7.03 sd for a normal): the inverse CDF clips there, and a Morris design samples exactly
   there, so these are the most extreme values the plan can produce, whatever the seed. A tail that crosses
   a limit of the tool (the power the target takes, the plasma window, ...) is an error asking for ``low``/
   ``high`` inside the allowed range, rather than a study in which rare draws fail (a check at a milder
   quantile such as 1e-6 would pass scenarios whose Morris designs, and one draw in 500,000, then fail). Every
   distribution is also truncated, silently, to its parameter's physical range (the field's ``low``/``high``).
2. Building the plan (:func:`check_plan`): every planned design point — the combination of its grid levels
   and draws, and every point of the sensitivity design — against the cross-field rules of the recipe (a seed
   layer no thicker than the film, no air exposure with a vacuum transfer, ...) and the tool's limits (which
   may be varied too). The error names the variation and draw (or the sensitivity point) and their values.

:class:`twin.Recipe` (on construction) and :meth:`twin.Chamber.check` check one recipe at a time: about 70 µs a
design point when a chamber parameter varies, 7 s for 100,000 draws. :func:`check_plan` evaluates the same rules
on numpy arrays (:func:`violations`), a block of design points at a time (a parameter the scenario does not vary
is a scalar), in the driver, before the cluster starts. The first point the arrays flag is then built and
checked by the twin itself, and the twin's error is the one reported: the arrays only find the point fast, the
twin has the last word. The arrays read the twin's own tables: the recipe's rules
(:func:`twin.recipe.column_violations`), the chamber's limit table (:meth:`twin.Chamber.recipe_limits`) and its
consistency rules (:data:`twin.chamber.ORDERED_PARAMETERS`), so a limit changed there is changed here. The tests
compare both on random recipes and chambers, and :func:`check_plan` also has the twin check the planned points
where each factor is at its lowest and highest (the engine checks every point it runs, in any case).
"""

from __future__ import annotations

import logging
import math
from typing import TYPE_CHECKING, Any

import numpy as np

from campaigns.whatif.errors import ScenarioError
from twin import Chamber, Recipe
from twin.chamber import ORDERED_PARAMETERS
from twin.errors import InputError
from twin.limits import LIMIT_PARAMETERS, check_columns
from twin.recipe import column_violations

if TYPE_CHECKING:
    from campaigns.whatif.plan import Plan, Point
    from campaigns.whatif.scenario import Factor, Scenario

log = logging.getLogger(__name__)

TAIL_QUANTILE = 1e-12
"""Where :meth:`Factor.from_unit` clips the inverse CDF of a normal or lognormal: its draws lie between the
quantiles ``TAIL_QUANTILE`` and ``1 - TAIL_QUANTILE`` (mean ± 7.03 sd), and the scenario is checked over that."""

BLOCK_POINTS = 1 << 16
"""Design points checked at once (bounds the memory of the check: a few MB whatever the study's size)."""

RULE_INPUTS = frozenset(
    [f"recipe.{name}" for name in Recipe.fields()] + list(LIMIT_PARAMETERS)
    + [name for pair in ORDERED_PARAMETERS for name in pair])
"""Parameters the rules read; a scenario that varies none of them has nothing to combine."""


def apply(recipe: Recipe, chamber: Chamber, values: dict[str, Any]) -> tuple[Recipe, Chamber]:
    """The base recipe and chamber with parameters changed by scenario name (no range checks)."""
    rec = {k[7:]: v for k, v in values.items() if k.startswith("recipe.")}
    cha = {k: v for k, v in values.items() if not k.startswith("recipe.")}
    return (recipe.replace(**rec) if rec else recipe), (chamber.replace(cha) if cha else chamber)


# -- step 1: each parameter alone -------------------------------------------------------------------------------
def check_levels(sc: Scenario) -> None:
    """Each grid level and each distribution's reachable extremes, with every other parameter at its base value,
    must give a valid recipe and chamber (step 1 above)."""
    for f in sc.factors:
        if f.is_grid:
            for v in f.levels:
                _check_point(sc, {f.name: v}, f"vary.{f.name}.grid", v)
            continue
        low, high = (float(v) for v in f.from_unit(np.array([0.0, 1.0])))
        for v, end in ((low, "low"), (high, "high")):
            _check_point(sc, {f.name: v}, f"vary.{f.name}", v, f"{f.describe_dist()} reaches this at its "
                         f"{_reach(f, end, v)} (give low/high inside the allowed range) and ")
    # combinations (grid levels with each other and with the draws) are checked with the plan: check_plan


def _reach(f: Factor, end: str, value: float) -> str:
    """Where a distribution reaches ``value``, its low or high end: at a bound, or at a tail quantile."""
    bound = dict(f.args).get(end)
    if f.kind == "uniform" or bound is not None and math.isclose(value, bound, rel_tol=1e-6, abs_tol=1e-12):
        return f"{end} end ({end} = {bound:g})"
    q = f"{TAIL_QUANTILE:g}"
    return f"low end (quantile {q})" if end == "low" else f"high end (quantile 1 - {q})"


def _check_point(sc: Scenario, values: dict[str, Any], where: str, shown: Any, why: str = "") -> None:
    try:
        recipe, chamber = apply(sc.recipe, sc.chamber, values)
        chamber.check(recipe)
    except InputError as exc:
        name = where.removeprefix("vary.").removesuffix(".grid")
        raise ScenarioError(where, shown, f"{why}gives an invalid run: {refused(exc, name, shown)}",
                            exc.allowed) from None


def refused(exc: InputError, name: str, value: Any) -> str:
    """The twin's reason for refusing a run, naming the field and value unless they are ``name`` and ``value``."""
    if exc.field == name and exc.value == value:
        return exc.problem
    return f"{exc.field} = {exc.value!r}: {exc.problem}"


# -- step 2: every planned design point -------------------------------------------------------------------------
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

    bad = np.zeros(n, dtype=bool)
    # Recipe.__post_init__: each field in its physical range, then the rules across fields
    columns = {name: rec(name) for name in Recipe.fields()}
    bad |= column_violations(columns, n) != ""
    # Chamber.__post_init__
    for lo, hi in ORDERED_PARAMETERS:
        bad |= np.greater(get(lo), get(hi))
    # Chamber.check: the recipe against the tool's limits, from the chamber's one limit table
    overrides = {name: np.asarray(values[name], dtype=float) for name in LIMIT_PARAMETERS if name in values}
    bad |= ~check_columns(chamber.recipe_limits(overrides), columns, n).ok
    return bad


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
