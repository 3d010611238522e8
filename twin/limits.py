"""The tool's limits on a recipe: written once, read by everything that needs them.

:class:`Limits` holds the numbers of a chamber's ``[limits]`` table; :func:`recipe_limits` turns them, with the
target area (power limits are power densities) and the room temperature (the lowest substrate or anneal
temperature), into one :class:`Limit` per limited recipe field, in the order :meth:`twin.Chamber.check`
reports them. Every reader asks :meth:`twin.Chamber.recipe_limits` for that table:

* :meth:`twin.Chamber.check` refuses a recipe with the first limit it breaks (:func:`first_refusal`);
* :func:`check_columns` evaluates the same table on arrays of recipe fields (the batch twin, the what-if
  planner's check of a design) and answers per row which limit is broken first, and the margins;
* the campaign's search space reads each field's range, the review dashboard the margins
  (:func:`margin_fraction`).

Bounds may be numpy arrays (one value per row) when a chamber parameter varies across the rows: a what-if study
that varies ``limits.max_power_density_w_cm2`` or ``geometry.target_diameter_mm`` gets one table of arrays.
A NaN is outside every range.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np

from process_models._params import param
from twin.errors import RecipeError


@dataclass(frozen=True)
class Limits:
    """The tool's limits; a recipe outside them is refused before anything runs."""

    max_power_density_w_cm2: float = param(5.5, "W/cm²", "ceramic target limit (thermal shock)",
                                           "[M] FACTS §2 (Hu 2008 used up to 5.5)", low=0.1, high=50)
    min_power_w: float = param(10.0, "W", "lowest power that sustains the plasma", "[A]", low=0, high=1e4)
    min_pressure_pa: float = param(0.1, "Pa", "lower end of the plasma window", "[M] FACTS §2", low=1e-3,
                                   high=100)
    max_pressure_pa: float = param(5.0, "Pa", "upper end of the plasma window", "[M] FACTS §2", low=1e-3,
                                   high=100)
    min_distance_mm: float = param(40.0, "mm", "shortest target–substrate distance", "[M] FACTS §2", low=1,
                                   high=1000)
    max_distance_mm: float = param(120.0, "mm", "longest target–substrate distance", "[M] FACTS §2", low=1,
                                   high=1000)
    max_substrate_temperature_c: float = param(600.0, "°C", "substrate heater limit", "[A]", low=0, high=2000)
    max_anneal_temperature_c: float = param(600.0, "°C", "anneal heater limit", "[A]", low=0, high=2000)
    max_thickness_nm: float = param(5000.0, "nm", "thickest film the tool will grow in one run", "[A]", low=1,
                                    high=1e6)
    max_presputter_min: float = param(240.0, "min", "longest pre-sputter", "[A]", low=0, high=1e5)
    max_pumpdown_min: float = param(10080.0, "min", "longest wait for pump-down (a week)", "[A]", low=0,
                                    high=1e7)
    max_anneal_min: float = param(1440.0, "min", "longest anneal", "[A]", low=0, high=1e6)
    max_air_exposure_min: float = param(10080.0, "min", "longest air exposure accepted", "[A]", low=0, high=1e7)


LIMIT_PARAMETERS: tuple[str, ...] = (
    *(f"limits.{name}" for name in Limits.__dataclass_fields__),
    "geometry.target_diameter_mm", "vacuum.room_temperature_c")
"""Chamber parameters the limit table is built from (dotted names)."""

_TOOL = "outside the tool's limits"


@dataclass(frozen=True)
class Limit:
    """The range the tool accepts for one recipe field.

    Attributes
    ----------
    field : str
        Recipe field.
    low, high : float or ndarray
        Allowed range, inclusive, in ``unit``.
    unit : str
        Unit of the field.
    problem : str
        Why a value outside is refused (the error's text).
    when : str
        Recipe field that must be positive for the limit to apply ("" always): the seed power counts only with a
        seed layer, the anneal temperature only with an anneal.
    upper_only : bool
        The low end means "none" (0 min, room temperature, the thinnest film): margins count the upper limit only.
    area_cm2 : float or ndarray or None
        Target area [cm²] of a power limit (the tool limits power density; the error names the density).
    """

    field: str
    low: Any
    high: Any
    unit: str
    problem: str = _TOOL
    when: str = ""
    upper_only: bool = False
    area_cm2: Any = None

    def allowed(self, row: int | None = None) -> str:
        """The allowed range as text, ``"[10, 250.8] W"`` (of ``row`` when the bounds are arrays)."""
        lo, hi = _at(self.low, row), _at(self.high, row)
        return f"[{lo:.4g}, {hi:.4g}] {self.unit}"

    def refusal(self, value: float, row: int | None = None) -> RecipeError:
        """The one-line error for ``value`` outside this limit (of ``row`` when the bounds are arrays)."""
        problem = self.problem
        if self.area_cm2 is not None:
            problem = f"power density {value / _at(self.area_cm2, row):.3g} W/cm² outside the target's limits"
        return RecipeError(f"recipe.{self.field}", value, problem, self.allowed(row))


def _at(x: Any, row: int | None) -> float:
    if row is None or np.ndim(x) == 0:
        return float(x)
    return float(np.asarray(x)[row])


def recipe_limits(limits: Limits, target_area_cm2: Any, room_temperature_c: Any) -> tuple[Limit, ...]:
    """The tool's limit table: one :class:`Limit` per limited recipe field, in the order they are checked.

    Parameters
    ----------
    limits : Limits
        The ``[limits]`` numbers (fields may be arrays, one value per row).
    target_area_cm2 : float or ndarray
        Target area [cm²]; the power limits are ``max_power_density_w_cm2`` times it.
    room_temperature_c : float or ndarray
        Room temperature [°C], the lowest substrate and anneal temperature (the tool heats, it does not cool).

    Examples
    --------
    >>> table = {lim.field: lim for lim in recipe_limits(Limits(), 45.6, 25.0)}
    >>> table["rf_power_w"].allowed(), table["anneal_temperature_c"].when
    ('[10, 250.8] W', 'anneal_min')
    """
    lim = limits
    max_w = lim.max_power_density_w_cm2 * target_area_cm2
    return (
        Limit("rf_power_w", lim.min_power_w, max_w, "W", area_cm2=target_area_cm2),
        Limit("seed_power_w", lim.min_power_w, max_w, "W", when="seed_thickness_nm", area_cm2=target_area_cm2),
        Limit("pressure_pa", lim.min_pressure_pa, lim.max_pressure_pa, "Pa", "outside the plasma window"),
        Limit("target_substrate_distance_mm", lim.min_distance_mm, lim.max_distance_mm, "mm"),
        Limit("substrate_temperature_c", room_temperature_c, lim.max_substrate_temperature_c, "°C",
              upper_only=True),
        Limit("target_thickness_nm", 1.0, lim.max_thickness_nm, "nm", upper_only=True),
        Limit("seed_thickness_nm", 0.0, lim.max_thickness_nm, "nm", when="seed_thickness_nm", upper_only=True),
        Limit("presputter_min", 0.0, lim.max_presputter_min, "min", upper_only=True),
        Limit("pumpdown_min", 0.0, lim.max_pumpdown_min, "min", upper_only=True),
        Limit("air_exposure_min", 0.0, lim.max_air_exposure_min, "min", upper_only=True),
        Limit("anneal_min", 0.0, lim.max_anneal_min, "min", upper_only=True),
        Limit("anneal_temperature_c", room_temperature_c, lim.max_anneal_temperature_c, "°C", when="anneal_min",
              upper_only=True),
    )


def first_refusal(table: tuple[Limit, ...], values: Any) -> RecipeError | None:
    """The error for the first limit of ``table`` that one recipe breaks, or None (scalar bounds and values).

    ``values`` is a :class:`twin.Recipe` or any object with the recipe's fields as attributes.
    """
    for lim in table:
        if lim.when and not getattr(values, lim.when) > 0:
            continue
        v = getattr(values, lim.field)
        if not lim.low <= v <= lim.high:  # also refuses NaN
            return lim.refusal(v)
    return None


def margin_fraction(value: Any, low: Any, high: Any, upper_only: bool) -> Any:
    """Distance of ``value`` to the nearer limit over the width of the range [1]: 0 at a limit, 0.5 in the middle
    of a two-sided range, negative outside (NaN stays NaN). With ``upper_only`` the low end means "none", so
    inside the range only the distance to ``high`` counts. An empty range (``high <= low``) gives 0 for a value
    inside it and -1 outside.

    Examples
    --------
    >>> float(margin_fraction(20.0, 0.0, 240.0, True)), float(margin_fraction(6.0, 0.1, 5.0, False))
    (0.9166666666666666, -0.2040816326530612)
    """
    v, lo, hi = (np.asarray(x, dtype=float) for x in (value, low, high))
    width = hi - lo
    with np.errstate(divide="ignore", invalid="ignore"):
        two_sided = np.minimum(v - lo, hi - v) / width
        frac = np.where(v >= lo, (hi - v) / width, (v - lo) / width) if upper_only else two_sided
        inside = (v >= lo) & (v <= hi)
        frac = np.where(width > 0, frac, np.where(inside, 0.0, -1.0))
    return np.where(np.isnan(v), np.nan, frac)


@dataclass(frozen=True)
class LimitCheck:
    """The limit table evaluated on ``n`` rows of recipe fields.

    Attributes
    ----------
    table : tuple of Limit
        The limits, in check order.
    applies : ndarray of bool, shape (k, n)
        Whether limit ``k`` applies to the row (see :attr:`Limit.when`).
    inside : ndarray of bool, shape (k, n)
        Whether the row's value is inside limit ``k`` (True where it does not apply).
    values : ndarray, shape (k, n)
        The row's value of each limited field.
    """

    table: tuple[Limit, ...]
    applies: np.ndarray
    inside: np.ndarray
    values: np.ndarray

    @property
    def ok(self) -> np.ndarray:
        """Rows inside every limit that applies (shape (n,))."""
        return self.inside.all(axis=0)

    @property
    def first(self) -> np.ndarray:
        """Index into :attr:`table` of the first broken limit per row, -1 where none is."""
        broken = ~self.inside
        return np.where(broken.any(axis=0), broken.argmax(axis=0), -1)

    def fields(self) -> np.ndarray:
        """The first broken field per row ("" where none is), an array of str."""
        names = np.array([lim.field for lim in self.table] + [""], dtype=object)
        return names[self.first]

    def error(self, row: int) -> RecipeError | None:
        """The one-line error :meth:`twin.Chamber.check` gives for ``row``, or None if it is inside."""
        k = int(self.first[row])
        return None if k < 0 else self.table[k].refusal(float(self.values[k, row]), row)

    def margins(self) -> np.ndarray:
        """:func:`margin_fraction` of every limit and row (shape (k, n); NaN where a limit does not apply)."""
        out = np.stack([margin_fraction(self.values[k], lim.low, lim.high, lim.upper_only) * np.ones(
            self.values.shape[1]) for k, lim in enumerate(self.table)])
        return np.where(self.applies, out, np.nan)


def check_columns(table: tuple[Limit, ...], columns: Mapping[str, Any], n: int) -> LimitCheck:
    """Evaluate the limit table on ``n`` rows: ``columns`` maps recipe fields to arrays (or scalars) of length n.

    Every limited field and every ``when`` field must be in ``columns``.

    Examples
    --------
    >>> table = recipe_limits(Limits(), 45.6, 25.0)
    >>> cols = {f: 0.0 for f in ("seed_power_w", "seed_thickness_nm", "air_exposure_min", "anneal_min",
    ...                          "anneal_temperature_c", "presputter_min", "pumpdown_min")}
    >>> cols |= {"rf_power_w": [100.0, 300.0], "pressure_pa": [0.5, 0.5], "target_substrate_distance_mm": 70.0,
    ...          "substrate_temperature_c": 25.0, "target_thickness_nm": 100.0}
    >>> check = check_columns(table, cols, 2)
    >>> check.ok.tolist(), check.fields().tolist()
    ([True, False], ['', 'rf_power_w'])
    """
    k = len(table)
    applies = np.ones((k, n), dtype=bool)
    inside = np.ones((k, n), dtype=bool)
    values = np.empty((k, n))
    for i, lim in enumerate(table):
        v = np.broadcast_to(np.asarray(columns[lim.field], dtype=float), (n,))
        values[i] = v
        if lim.when:
            applies[i] = np.greater(columns[lim.when], 0)
        inside[i] = ~applies[i] | (np.greater_equal(v, lim.low) & np.less_equal(v, lim.high))
    return LimitCheck(table, applies, inside, values)
