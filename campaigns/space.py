"""The search space of a campaign: the ``[space]`` and ``[fixed]`` tables of a campaign file.

A numeric range is ``field = [low, high]`` or ``field = { low = .., high = .., log = true }``; a categorical is a
list of strings (``transfer = ["vacuum", "air"]``). ``[fixed]`` sets recipe fields that do not vary. Every bound is
checked once, when the file is read: against the recipe's own physical range and against the tool's limits
(:func:`tool_limits`), so a campaign never proposes a recipe the tool would refuse.

Two fields depend on others, and :meth:`SearchSpace.to_recipe` repairs them the same way every time:
``air_exposure_min`` is 0 with a vacuum transfer, and the seed layer is never thicker than the film.

**Extra variables** (``[space.extra.NAME]``, :mod:`campaigns.variables`) are tool settings the twin does not model:
they are more dimensions of the same points, after the recipe fields. A point splits into the recipe (what the twin
sees, :meth:`SearchSpace.to_recipe`) and the extras (:meth:`SearchSpace.split`); what a strategy proposes is then
a :class:`~campaigns.variables.Proposal` (recipe + extras) instead of a bare :class:`~twin.Recipe`
(:meth:`SearchSpace.to_proposal`). A space may also hold plain named variables and no recipe at all
(:meth:`SearchSpace.from_variables`), for :class:`campaigns.ask_tell.AskTell`.

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
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from campaigns.errors import CampaignError
from campaigns.variables import LOG_LOW_MIN, Dimension, Proposal, _checked, _number, parse_extra, split
from twin import Chamber, Recipe
from twin.errors import InputError


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
        return Dimension(name, categories=tuple(spec), doc=_doc(name))
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
    return Dimension(name, low, high, log, unit=unit, doc=f.metadata.get("doc", ""))


def _doc(name: str) -> str:
    return next(f.metadata.get("doc", "") for f in dataclasses.fields(Recipe) if f.name == name)


def _parse_extras(table: Any) -> tuple[Dimension, ...]:
    if not isinstance(table, dict) or not table:
        raise CampaignError("space.extra", table, "expected tables of extra variables",
                            "[space.extra.NAME] with low, high, unit")
    return tuple(parse_extra(name, spec) for name, spec in table.items())


@dataclass(frozen=True)
class SearchSpace:
    """The searched dimensions (recipe fields first, then extra variables) and the fixed recipe fields.

    ``has_recipe`` is False for a space of plain variables (:meth:`from_variables`): its points are not recipes.
    """

    dimensions: tuple[Dimension, ...]
    fixed: dict[str, Any] = dataclasses.field(default_factory=dict)
    has_recipe: bool = True

    @classmethod
    def from_tables(cls, space: Any, fixed: Any = None, chamber: Chamber | None = None, *,
                    check_limits: bool = True) -> SearchSpace:
        """Build from the ``[space]`` and ``[fixed]`` tables, checking bounds against ``chamber``'s limits
        (default chamber if None; with ``check_limits=False`` only against the recipe's physical ranges).

        ``[space.extra.NAME]`` tables declare extra variables (:func:`campaigns.variables.parse_extra`): tool
        settings the twin does not model, searched after the recipe fields."""
        if not isinstance(space, dict) or not space or set(space) == {"extra"}:
            raise CampaignError("space", space, "the campaign needs a [space] table with at least one field "
                                "(a recipe field)", ", ".join(Recipe.fields()))
        fixed = {} if fixed is None else fixed
        if not isinstance(fixed, dict):
            raise CampaignError("fixed", fixed, "expected a table")
        limits = tool_limits(chamber if chamber is not None else Chamber()) if check_limits else None
        dims = tuple(_parse_dimension(name, spec, limits) for name, spec in space.items() if name != "extra")
        extras = _parse_extras(space["extra"]) if "extra" in space else ()
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
        return cls(dims + extras, dict(fixed))

    @classmethod
    def from_variables(cls, variables: Sequence[Dimension] | Mapping[str, Any]) -> SearchSpace:
        """A space of plain named variables, no recipe: a sequence of :func:`~campaigns.variables.Real`,
        :func:`~campaigns.variables.Integer` and :func:`~campaigns.variables.Categorical`, or a dict
        ``name → (low, high)`` (real), ``name → [category, ...]`` (strings) or ``name → {low, high, log, type,
        categories, unit, doc}``.

        >>> SearchSpace.from_variables({"x": (0.0, 1.0), "c": ["a", "b"]}).names
        ('x', 'c')
        """
        if isinstance(variables, Mapping):
            dims = []
            for name, spec in variables.items():
                if isinstance(spec, tuple) and len(spec) == 2:
                    spec = {"low": spec[0], "high": spec[1]}
                elif isinstance(spec, list):
                    spec = {"type": "categorical", "categories": spec}
                if not isinstance(spec, dict):
                    raise CampaignError(f"variables.{name}", spec, "expected (low, high), a list of categories or "
                                        "a table")
                dims.append(_checked(str(name), spec, f"variables.{name}"))
        else:
            dims = list(variables)
            if not all(isinstance(d, Dimension) for d in dims):
                raise CampaignError("variables", variables, "expected Real, Integer or Categorical variables")
        if not dims:
            raise CampaignError("variables", variables, "a space needs at least one variable")
        names = [d.name for d in dims]
        if len(set(names)) != len(names):
            raise CampaignError("variables", names, "a name is used twice")
        return cls(tuple(dataclasses.replace(d, extra=True) for d in dims), {}, has_recipe=False)

    @property
    def names(self) -> tuple[str, ...]:
        return tuple(d.name for d in self.dimensions)

    @property
    def extras(self) -> tuple[Dimension, ...]:
        """The dimensions that are not recipe fields (extras of a campaign; every variable of a plain space)."""
        return tuple(d for d in self.dimensions if d.extra)

    def __len__(self) -> int:
        return len(self.dimensions)

    def split(self, point: Sequence[Any]) -> tuple[Recipe | None, dict[str, Any]]:
        """``(recipe, extras)`` at ``point``: the recipe of the recipe dimensions and fixed fields (None in a space
        without a recipe) and the extras' values (rounded as their dimensions hold them)."""
        if len(point) != len(self.dimensions):
            raise ValueError(f"a point of this space has {len(self.dimensions)} values, not {len(point)}")
        extras = {d.name: d.round(v) for d, v in zip(self.dimensions, point, strict=True) if d.extra}
        return (self._recipe(point) if self.has_recipe else None), extras

    def to_recipe(self, point: Sequence[Any]) -> Recipe:
        """The recipe at ``point`` (one value per dimension, in order), with the fixed fields; extra variables
        are left out (the twin does not model them; :meth:`to_proposal` keeps them).

        Repairs, always the same way: a vacuum transfer gets 0 min of air exposure; the seed layer is clipped to
        the film thickness.
        """
        if not self.has_recipe:
            raise CampaignError("space", list(self.names), "a space of plain variables holds no recipe")
        return self._recipe(point)

    def _recipe(self, point: Sequence[Any]) -> Recipe:
        values: dict[str, Any] = dict(self.fixed)
        for d, v in zip(self.dimensions, point, strict=True):
            if not d.extra:
                values[d.name] = str(v) if d.is_categorical else float(v)
        if values.get("transfer", "vacuum") == "vacuum":
            values["air_exposure_min"] = 0.0
        thick = values.get("target_thickness_nm", Recipe().target_thickness_nm)
        if values.get("seed_thickness_nm", 0.0) > thick:
            values["seed_thickness_nm"] = float(thick)
        return Recipe(**values)

    def to_proposal(self, point: Sequence[Any]) -> Recipe | Proposal:
        """What a strategy proposes at ``point``: the :class:`Recipe` when the space has no extra variables (as
        before extras existed), else a :class:`~campaigns.variables.Proposal` (recipe and extras)."""
        recipe, extras = self.split(point)
        if recipe is not None and not extras:
            return recipe
        return Proposal(recipe, extras)

    def to_point(self, item: Recipe | Proposal | Mapping[str, Any]) -> list[Any]:
        """The point of a recipe, a proposal or a dict of values (its searched values, clipped into the bounds).

        A recipe field missing from a dict takes the recipe's default; an extra that is missing (a bare recipe
        given to a surrogate) takes its dimension's centre (:meth:`~campaigns.variables.Dimension.centre`).
        """
        if isinstance(item, Mapping):
            values = dict(item)
        else:
            recipe, extras = split(item)
            values = {**(recipe.to_dict() if recipe is not None else {}), **extras}
        out: list[Any] = []
        default = Recipe()
        for d in self.dimensions:
            if d.name in values:
                out.append(d.round(values[d.name]))
            else:
                out.append(d.centre() if d.extra else d.round(getattr(default, d.name)))
        return out

    def values(self, item: Recipe | Proposal | Mapping[str, Any]) -> dict[str, Any]:
        """``name → value`` of every searched variable of ``item`` (see :meth:`to_point`)."""
        return dict(zip(self.names, self.to_point(item), strict=True))

    def sample(self, n: int, rng: np.random.Generator) -> list[list[Any]]:
        """``n`` points drawn uniformly (log-uniformly on log dimensions; every whole number of an integer range
        equally likely)."""
        pts = []
        for _ in range(n):
            p: list[Any] = []
            for d in self.dimensions:
                if d.is_categorical:
                    p.append(d.categories[int(rng.integers(len(d.categories)))])
                elif d.integer and not d.log:
                    p.append(int(rng.integers(int(d.low), int(d.high) + 1)))
                elif d.log:
                    # round() clips: exp(log) round-off must not leave the range at its ends
                    p.append(d.round(float(np.exp(rng.uniform(np.log(d.low), np.log(d.high))))))
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
                elif d.log:  # round() clips: exp(log) round-off must not leave the range at its ends
                    p.append(d.round(math.exp(math.log(d.low) + x * (math.log(d.high) - math.log(d.low)))))
                else:
                    p.append(d.round(d.low + x * (d.high - d.low)))
            pts.append(p)
        return pts
