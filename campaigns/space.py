"""The search space of a campaign: the ``[space]`` and ``[fixed]`` tables of a campaign file.

A numeric range is ``field = [low, high]`` or ``field = { low = .., high = .., log = true }``; a categorical is a
list of strings (``transfer = ["vacuum", "air"]``). ``[fixed]`` sets recipe fields that do not vary. Every bound is
checked once, when the file is read: against the recipe's own physical range and against the tool's limits
(:func:`tool_limits`), so a campaign never proposes a recipe the tool would refuse.

Two fields depend on others, and :meth:`SearchSpace.to_recipe` repairs them the same way every time:
``air_exposure_min`` is 0 with a vacuum transfer, and the seed layer is never thicker than the film.

Examples
--------
>>> space = SearchSpace.from_tables({"rf_power_w": [30, 250], "pressure_pa": {"low": 0.2, "high": 2, "log": True}},
...                                 {"target_thickness_nm": 100})
>>> space.names
('rf_power_w', 'pressure_pa')
>>> space.to_recipe([100.0, 0.5]).rf_power_w
100.0
"""

from __future__ import annotations

import dataclasses
import math
import typing
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from campaigns.errors import CampaignError
from twin import Chamber, Recipe
from twin.errors import InputError


@dataclass(frozen=True)
class Dimension:
    """One searched recipe field: a real range (``low``, ``high``, ``log``) or a set of ``categories``."""

    name: str
    low: float = math.nan
    high: float = math.nan
    log: bool = False
    categories: tuple[str, ...] = ()

    @property
    def is_categorical(self) -> bool:
        return bool(self.categories)


def tool_limits(chamber: Chamber) -> dict[str, tuple[float, float, str]]:
    """The range ``(low, high, unit)`` the tool accepts for each numeric recipe field: the chamber's limit table
    (:meth:`twin.Chamber.recipe_limits`, what :meth:`twin.Chamber.check` enforces), and the recipe's own
    physical range for the fields the tool does not limit."""
    out = {lim.field: (float(lim.low), float(lim.high), lim.unit) for lim in chamber.recipe_limits()}
    for f in dataclasses.fields(Recipe):
        if f.name != "transfer" and f.name not in out:
            out[f.name] = (f.metadata["low"], f.metadata["high"], f.metadata["unit"])
    return out


def _categorical_values(name: str) -> tuple[str, ...] | None:
    tp = typing.get_type_hints(Recipe)[name]
    return typing.get_args(tp) if typing.get_origin(tp) is typing.Literal else None


def _number(value: Any, field: str) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise CampaignError(field, value, "expected a finite number")
    return float(value)


LOG_LOW_MIN = 1e-100
"""Smallest low bound of a log range. Below it the log transform's arithmetic underflows (scikit-optimize refuses
``low * high <= 0``, which a subnormal bound gives); no recipe field needs such a value."""


def _parse_dimension(name: str, spec: Any, limits: dict[str, tuple[float, float, str]] | None) -> Dimension:
    field = f"space.{name}"
    if name not in Recipe.fields():
        raise CampaignError(field, spec, "unknown recipe field", ", ".join(Recipe.fields()))
    cats = _categorical_values(name)
    if cats is not None:
        if not isinstance(spec, list) or not spec or not all(isinstance(c, str) for c in spec):
            raise CampaignError(field, spec, "a categorical field needs a list of strings", " | ".join(cats))
        for c in spec:
            if c not in cats:
                raise CampaignError(field, c, "not an allowed value", " | ".join(cats))
        if len(set(spec)) != len(spec):
            raise CampaignError(field, spec, "repeated category")
        return Dimension(name, categories=tuple(spec))
    log = False
    if isinstance(spec, list):
        if len(spec) != 2:
            raise CampaignError(field, spec, "a numeric range is [low, high]")
        low, high = (_number(v, field) for v in spec)
    elif isinstance(spec, dict):
        unknown = sorted(set(spec) - {"low", "high", "log"})
        if unknown:
            raise CampaignError(f"{field}.{unknown[0]}", spec[unknown[0]], "unknown key", "low, high, log")
        if "low" not in spec or "high" not in spec:
            raise CampaignError(field, spec, "a numeric range needs low and high")
        low, high = _number(spec["low"], f"{field}.low"), _number(spec["high"], f"{field}.high")
        log = spec.get("log", False)
        if not isinstance(log, bool):
            raise CampaignError(f"{field}.log", log, "expected true or false")
    else:
        raise CampaignError(field, spec, "expected [low, high] or { low = .., high = .., log = true }")
    if not low < high:
        raise CampaignError(field, [low, high], "low must be below high (reversed or empty range)")
    if log and not low >= LOG_LOW_MIN:
        raise CampaignError(f"{field}.low", low, "a log range must start well above 0", f">= {LOG_LOW_MIN:g}")
    f = next(f for f in dataclasses.fields(Recipe) if f.name == name)
    if limits is None:
        rlo, rhi = f.metadata["low"], f.metadata["high"]
    else:
        rlo, rhi = limits[name][:2]
    unit = f.metadata["unit"]
    for which, v in (("low", low), ("high", high)):
        if not rlo <= v <= rhi:
            raise CampaignError(f"{field}.{which}" if isinstance(spec, dict) else field, v,
                                "bound outside the tool's limits" if limits is not None else "bound out of range",
                                f"[{rlo:.4g}, {rhi:.4g}] {unit}".rstrip())
    return Dimension(name, low, high, log)


@dataclass(frozen=True)
class SearchSpace:
    """The searched dimensions and the fixed recipe fields."""

    dimensions: tuple[Dimension, ...]
    fixed: dict[str, Any] = dataclasses.field(default_factory=dict)

    @classmethod
    def from_tables(cls, space: Any, fixed: Any = None, chamber: Chamber | None = None, *,
                    check_limits: bool = True) -> SearchSpace:
        """Build from the ``[space]`` and ``[fixed]`` tables, checking bounds against ``chamber``'s limits
        (default chamber if None; with ``check_limits=False`` only against the recipe's physical ranges)."""
        if not isinstance(space, dict) or not space:
            raise CampaignError("space", space, "the campaign needs a [space] table with at least one field",
                                ", ".join(Recipe.fields()))
        fixed = {} if fixed is None else fixed
        if not isinstance(fixed, dict):
            raise CampaignError("fixed", fixed, "expected a table")
        limits = tool_limits(chamber if chamber is not None else Chamber()) if check_limits else None
        dims = tuple(_parse_dimension(name, spec, limits) for name, spec in space.items())
        both = sorted(set(space) & set(fixed))
        if both:
            raise CampaignError(f"fixed.{both[0]}", fixed[both[0]], "field is both searched and fixed")
        try:
            Recipe.from_dict(fixed)
        except InputError as exc:
            raise CampaignError(exc.field.replace("recipe.", "fixed.", 1), exc.value, exc.problem,
                                exc.allowed) from None
        if limits is not None:
            applies_when = {lim.field: lim.when for lim in (chamber or Chamber()).recipe_limits() if lim.when}
            for name, value in fixed.items():
                if name in limits and not isinstance(value, str):
                    lo, hi, unit = limits[name]
                    when = applies_when.get(name)  # the seed power without a seed layer, ... : not used
                    unused = when is not None and when in fixed and not fixed[when] > 0
                    if not lo <= value <= hi and not unused:
                        raise CampaignError(f"fixed.{name}", value, "outside the tool's limits",
                                            f"[{lo:.4g}, {hi:.4g}] {unit}")
        return cls(dims, dict(fixed))

    @property
    def names(self) -> tuple[str, ...]:
        return tuple(d.name for d in self.dimensions)

    def __len__(self) -> int:
        return len(self.dimensions)

    def to_recipe(self, point: Sequence[Any]) -> Recipe:
        """The recipe at ``point`` (one value per dimension, in order), with the fixed fields.

        Repairs, always the same way: a vacuum transfer gets 0 min of air exposure; the seed layer is clipped to
        the film thickness.
        """
        values: dict[str, Any] = dict(self.fixed)
        for d, v in zip(self.dimensions, point, strict=True):
            values[d.name] = str(v) if d.is_categorical else float(v)
        if values.get("transfer", "vacuum") == "vacuum":
            values["air_exposure_min"] = 0.0
        thick = values.get("target_thickness_nm", Recipe().target_thickness_nm)
        if values.get("seed_thickness_nm", 0.0) > thick:
            values["seed_thickness_nm"] = float(thick)
        return Recipe(**values)

    def to_point(self, recipe: Recipe | dict[str, Any]) -> list[Any]:
        """The point of a recipe (its searched fields, clipped into the bounds)."""
        rd = recipe.to_dict() if isinstance(recipe, Recipe) else recipe
        out: list[Any] = []
        for d in self.dimensions:
            v = rd.get(d.name, getattr(Recipe(), d.name))
            out.append(str(v) if d.is_categorical else float(min(max(float(v), d.low), d.high)))
        return out

    def sample(self, n: int, rng: np.random.Generator) -> list[list[Any]]:
        """``n`` points drawn uniformly (log-uniformly on log dimensions)."""
        pts = []
        for _ in range(n):
            p: list[Any] = []
            for d in self.dimensions:
                if d.is_categorical:
                    p.append(d.categories[int(rng.integers(len(d.categories)))])
                elif d.log:
                    p.append(float(min(max(np.exp(rng.uniform(np.log(d.low), np.log(d.high))), d.low), d.high)))
                else:
                    p.append(float(rng.uniform(d.low, d.high)))
            pts.append(p)
        return pts

    def unit_cube(self, points: Sequence[Sequence[Any]]) -> np.ndarray:
        """Points mapped to [0, 1]^d (log dimensions in log space, categoricals to their index spread on [0, 1])."""
        out = np.empty((len(points), len(self.dimensions)))
        for j, d in enumerate(self.dimensions):
            for i, p in enumerate(points):
                v = p[j]
                if d.is_categorical:
                    k = len(d.categories)
                    out[i, j] = d.categories.index(v) / (k - 1) if k > 1 else 0.0
                elif d.log:
                    out[i, j] = (math.log(v) - math.log(d.low)) / (math.log(d.high) - math.log(d.low))
                else:
                    out[i, j] = (v - d.low) / (d.high - d.low)
        return out

    def from_unit_cube(self, u: np.ndarray) -> list[list[Any]]:
        """Inverse of :meth:`unit_cube` (categoricals: nearest category)."""
        pts = []
        for row in np.atleast_2d(u):
            p: list[Any] = []
            for j, d in enumerate(self.dimensions):
                x = float(min(max(row[j], 0.0), 1.0))
                if d.is_categorical:
                    p.append(d.categories[min(int(x * len(d.categories)), len(d.categories) - 1)])
                elif d.log:  # clipped: exp(log) round-off must not leave the range at its ends
                    v = math.exp(math.log(d.low) + x * (math.log(d.high) - math.log(d.low)))
                    p.append(float(min(max(v, d.low), d.high)))
                else:
                    p.append(float(min(max(d.low + x * (d.high - d.low), d.low), d.high)))
            pts.append(p)
        return pts
