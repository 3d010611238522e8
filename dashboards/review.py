"""What a reviewer needs to judge one proposed recipe: margins to the tool's limits, distance to past runs,
the recipe beside another. Pure functions: recipes and a chamber in, plain rows out (the app and figures show them).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np

from twin import Chamber, Recipe
from twin.display import field_unit, rounded
from twin.limits import check_columns

NUMERIC_FIELDS = tuple(f for f in Recipe.fields() if f != "transfer")
"""Recipe fields that are numbers (``transfer`` is a category)."""


@dataclass(frozen=True)
class Margin:
    """How far one recipe field sits from the tool's limits.

    ``fraction`` is the distance to the nearer limit divided by the width of the allowed range: 0 at a limit,
    0.5 in the middle, negative outside (the tool would refuse the recipe). For fields whose lower end is "none"
    (0 min, room temperature, 1 nm) only the upper limit counts: sitting at "none" is no risk.
    """

    field: str
    value: float
    low: float
    high: float
    unit: str
    fraction: float

    @property
    def ok(self) -> bool:
        return self.fraction >= 0.0

    def to_dict(self) -> dict[str, object]:
        return {"field": self.field, "value": self.value, "low": self.low, "high": self.high, "unit": self.unit,
                "margin_pct": round(100.0 * self.fraction, 1), "ok": self.ok}


_SHOWN_WHEN: dict[str, Callable[[Recipe], bool]] = {
    "air_exposure_min": lambda r: r.transfer == "air",
    "anneal_min": lambda r: r.anneal_min > 0,
    "seed_thickness_nm": lambda r: False,
}
"""Limited fields shown only when the recipe uses them (at 0 min they cannot be near the limit); the seed
layer's thickness never (the film's thickness limit, which is shown, bounds it: a seed is never thicker)."""


def limit_margins(recipe: Recipe, chamber: Chamber) -> list[Margin]:
    """Margins of every limited field of ``recipe`` to ``chamber``'s limits: the chamber's limit table
    (:meth:`twin.Chamber.recipe_limits`, what :meth:`twin.Chamber.check` enforces) and its margins
    (:func:`twin.limits.margin_fraction`).

    Parameters
    ----------
    recipe : Recipe
        The proposed recipe.
    chamber : Chamber
        The tool; its ``limits`` and target area set the allowed ranges (power from W/cm² × cm²).

    Returns
    -------
    list of Margin
        One per limited field that applies to the recipe, smallest margin first.

    Examples
    --------
    >>> from twin import Chamber, Recipe
    >>> m = {x.field: x for x in limit_margins(Recipe(pressure_pa=0.1), Chamber())}
    >>> m["pressure_pa"].fraction, m["pressure_pa"].ok
    (0.0, True)
    >>> round(m["presputter_min"].fraction, 3)  # 20 of at most 240 min
    0.917
    """
    table = chamber.recipe_limits()
    check = check_columns(table, recipe.to_dict(), 1)
    fractions = check.margins()[:, 0]
    rows = [Margin(lim.field, float(check.values[k, 0]), float(lim.low), float(lim.high), lim.unit,
                   float(fractions[k]))
            for k, lim in enumerate(table)
            if check.applies[k, 0] and _SHOWN_WHEN.get(lim.field, lambda r: True)(recipe)]
    return sorted(rows, key=lambda m: m.fraction)


def recipe_vector(recipe: Recipe) -> np.ndarray:
    """The recipe as numbers in :data:`NUMERIC_FIELDS` order, then ``transfer`` as 0 (vacuum) or 1 (air)."""
    return np.array([float(getattr(recipe, f)) for f in NUMERIC_FIELDS] + [float(recipe.transfer == "air")])


@dataclass(frozen=True)
class Neighbour:
    """A past run near the proposal: its index in the list given, and the normalised distance."""

    index: int
    distance: float


def distances_to_past(recipe: Recipe, past: Sequence[Recipe],
                      bounds: dict[str, tuple[float, float]] | None = None) -> np.ndarray:
    """Normalised Euclidean distance from ``recipe`` to each past recipe.

    Each field is scaled by the width of its range: ``bounds[field]`` if given (the campaign's search space),
    else the span of the values among ``past`` and ``recipe``; fields that do not vary add nothing. The distance
    is divided by √(number of varying fields), so 0 is a repeat and 1 is across the whole space in every field.

    Examples
    --------
    >>> from twin import Recipe
    >>> past = [Recipe(rf_power_w=50.0), Recipe(rf_power_w=150.0)]
    >>> distances_to_past(Recipe(rf_power_w=50.0), past).round(3).tolist()
    [0.0, 1.0]
    >>> distances_to_past(Recipe(rf_power_w=100.0), past, {"rf_power_w": (0.0, 200.0)}).round(3).tolist()
    [0.25, 0.25]
    """
    if not past:
        return np.zeros(0)
    x = recipe_vector(recipe)
    xs = np.stack([recipe_vector(r) for r in past])
    names = [*NUMERIC_FIELDS, "transfer"]
    allx = np.vstack([xs, x])
    width = allx.max(axis=0) - allx.min(axis=0)
    for i, name in enumerate(names):
        if bounds and name in bounds:
            lo, hi = bounds[name]
            width[i] = max(hi - lo, width[i]) if hi > lo else width[i]
    varying = width > 0
    if not varying.any():
        return np.zeros(len(past))
    d = (xs[:, varying] - x[varying]) / width[varying]
    return np.sqrt((d**2).sum(axis=1) / varying.sum())


def nearest_past(recipe: Recipe, past: Sequence[Recipe], k: int = 3,
                 bounds: dict[str, tuple[float, float]] | None = None) -> list[Neighbour]:
    """The ``k`` past runs nearest to ``recipe`` (see :func:`distances_to_past`), nearest first."""
    d = distances_to_past(recipe, past, bounds)
    order = np.argsort(d, kind="stable")[:k]
    return [Neighbour(int(i), float(d[i])) for i in order]


def compare_recipes(a: Recipe, b: Recipe, label_a: str = "A", label_b: str = "B") -> list[dict[str, object]]:
    """Rows ``{field, label_a, label_b, diff}`` for a side-by-side table; ``diff`` is b − a (blank if equal).

    Numbers are rounded to the precision of the field's unit (:func:`twin.display.rounded`): a proposal's
    ``87.34567891234 W`` shows as 87.

    Examples
    --------
    >>> rows = compare_recipes(Recipe(), Recipe(rf_power_w=60.123456789012), "best", "proposal")
    >>> [r for r in rows if r["field"] == "rf_power_w"][0]
    {'field': 'rf_power_w', 'best': 110.0, 'proposal': 60.0, 'diff': -50.0}
    """
    rows: list[dict[str, object]] = []
    for f in Recipe.fields():
        va, vb = getattr(a, f), getattr(b, f)
        unit = field_unit(f)
        if isinstance(va, str) or isinstance(vb, str):
            diff: object = "" if va == vb else "changed"
        else:
            diff = "" if va == vb else rounded(float(vb) - float(va), unit)
        rows.append({"field": f, label_a: rounded(va, unit), label_b: rounded(vb, unit), "diff": diff})
    return rows


def fmt_ohm(mean: float | None, std: float | None = None) -> str:
    """``"12.3 ± 1.4 Ω·cm²"``; ``"–"`` when unknown (NaN or None).

    >>> fmt_ohm(12.345, 1.43), fmt_ohm(float("nan"))
    ('12.35 ± 1.43 Ω·cm²', '–')
    """
    if mean is None or not math.isfinite(mean):
        return "–"
    if std is None or not math.isfinite(std):
        return f"{mean:.4g} Ω·cm²"
    return f"{mean:.4g} ± {std:.3g} Ω·cm²"


def sig(v, digits: int = 5):
    """Numbers to ``digits`` significant figures for tables (None if not finite); other values unchanged.

    >>> sig(12.345678), sig(True), sig(float("inf")), sig("air")
    (12.346, True, None, 'air')
    """
    if isinstance(v, bool) or not isinstance(v, int | float):
        return v
    return float(f"{v:.{digits}g}") if math.isfinite(v) else None


def model_twin_disagreement(predicted_mean: float | None, predicted_std: float | None, twin_value: float | None,
                            log: bool, k: float = 2.0) -> str | None:
    """A warning when the twin's expected outcome lies outside the model's ±``k``σ interval (the strategy's
    prediction at proposal time, in the optimiser's units: log10 for a log objective), else None.

    A reviewer sees at once when the surrogate and the physics disagree: either the runs have taught the model that
    the twin is wrong here, or the model is extrapolating; both are worth a look before the tool runs.

    Examples
    --------
    >>> model_twin_disagreement(1.0, 0.05, 34.3, log=True)  # 10 Ω·cm² ± 12 % against a twin's 34.3
    "the twin expects 34.3, outside the model's ±2σ interval 7.94 – 12.6: check before running"
    >>> model_twin_disagreement(1.0, 0.05, 10.5, log=True) is None
    True
    """
    if predicted_mean is None or predicted_std is None or twin_value is None:
        return None
    if not (math.isfinite(predicted_mean) and math.isfinite(predicted_std) and math.isfinite(twin_value)):
        return None
    if log and twin_value <= 0:
        return None
    t = math.log10(twin_value) if log else twin_value
    if abs(t - predicted_mean) <= k * predicted_std:
        return None
    lo, hi = predicted_mean - k * predicted_std, predicted_mean + k * predicted_std
    if log:
        lo, hi = 10.0**lo, 10.0**hi
    return (f"the twin expects {twin_value:.3g}, outside the model's ±{k:g}σ interval {lo:.3g} – {hi:.3g}: "
            "check before running")


def model_diagnostics_line(provenance: dict) -> str | None:
    """What a calibrating strategy's model said about itself when it proposed (twin weight, reduced χ², the
    structural-error warning), or None when it said nothing."""
    m = provenance.get("model") if isinstance(provenance, dict) else None
    if not isinstance(m, dict) or not m:
        return None
    chi = m.get("reduced_chi2")
    line = (f"twin weight {m.get('twin_weight', 1.0):.2f}, reduced χ² "
            + (f"{chi:.2f}" if isinstance(chi, float) else "n/a (too few runs)")
            + f", {len(m.get('calibrated') or [])} twin parameters refitted on {m.get('n_runs', '?')} runs")
    if m.get("structural"):
        line = ("STRUCTURAL ERROR: no parameter set of the twin fits the measured runs; the proposal leans on the "
                "plain GP. " + line)
    return line

