"""Variables of a search space that are not recipe fields, and what a strategy proposes when a space has them.

Two uses, one type (:class:`Dimension`):

* **Extra variables of a campaign** — tool settings the twin does not model (substrate bias, magnetron rotation),
  declared in the campaign file with their range and unit, sent to the tool beside the recipe and learnt by the
  optimiser like any other dimension::

      [space.extra.substrate_bias_v]
      low = -100.0
      high = 0.0
      unit = "V"
      doc = "substrate bias (the twin does not model it)"

  ``type`` is ``"real"`` (the default), ``"integer"`` (whole-number ``low`` and ``high``) or ``"categorical"``
  (``categories = ["a", "b"]``, strings); ``log = true`` searches a real or integer range on a log scale.
  :func:`parse_extra` checks a table and raises :class:`~campaigns.errors.CampaignError` naming the key.
* **Plain named variables** from Python (no recipe at all), built with :func:`Real`, :func:`Integer` and
  :func:`Categorical`, for :meth:`campaigns.space.SearchSpace.from_variables` and :class:`campaigns.ask_tell.AskTell`.

An integer variable is searched as a real range and rounded when a point becomes a proposal (the GP path sees a
continuous dimension, as scikit-optimize's own ``Integer`` does after its transform), so the two end values get
half the weight of the others in uniform sampling.

Examples
--------
>>> d = parse_extra("substrate_bias_v", {"low": -100.0, "high": 0.0, "unit": "V"})
>>> (d.low, d.high, d.unit, d.extra)
(-100.0, 0.0, 'V', True)
>>> Integer("layers", 1, 5).round(2.6)
3
"""

from __future__ import annotations

import dataclasses
import math
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from campaigns.errors import CampaignError
from twin import Recipe

KINDS = ("real", "integer", "categorical")
NAME_RE = re.compile(r"^[a-z][a-z0-9_]*$")
"""What an extra variable's name looks like: lower-case snake case (it becomes a column and an OPC UA mapping key)."""

RESERVED_NAMES = frozenset({
    "trial_id", "index", "batch", "state", "objective", "feasible", "failure", "predicted_mean", "predicted_std",
    "expected_improvement", "predicted_failure", "proposed_at", "approved_at", "started_at", "finished_at",
    "reviewer", "comment", "strategy", "run_seed", "extra", "extras", "recipe", "measured_by",
})
"""Columns of a campaign's table (:meth:`campaigns.store.CampaignStore.to_dataframe`) that an extra must not
shadow; the fields of :class:`twin.RunResult` are refused as well (:func:`check_name`)."""

LOG_LOW_MIN = 1e-100
"""Smallest low bound of a log range. Below it the log transform's arithmetic underflows (scikit-optimize refuses
``low * high <= 0``, which a subnormal bound gives); no variable needs such a value."""


@dataclass(frozen=True)
class Dimension:
    """One searched variable: a real or integer range (``low``, ``high``, ``log``) or a set of ``categories``.

    ``extra`` marks a variable that is not a :class:`twin.Recipe` field (an extra of a campaign, or a plain
    variable); ``unit`` and ``doc`` describe it (a recipe field's unit comes from the recipe).
    """

    name: str
    low: float = math.nan
    high: float = math.nan
    log: bool = False
    categories: tuple[str, ...] = ()
    integer: bool = False
    extra: bool = False
    unit: str = ""
    doc: str = ""

    @property
    def is_categorical(self) -> bool:
        return bool(self.categories)

    @property
    def kind(self) -> str:
        """``"real"``, ``"integer"`` or ``"categorical"``."""
        return "categorical" if self.categories else "integer" if self.integer else "real"

    def round(self, value: Any) -> Any:
        """``value`` as this dimension holds it: a category string, a whole number (integers, clipped into the
        range) or a float clipped into the range."""
        if self.is_categorical:
            return str(value)
        v = min(max(float(value), self.low), self.high)
        return int(round(v)) if self.integer else v

    def centre(self) -> Any:
        """The middle of the range (geometric on a log range) or the first category: the value a point takes for
        an extra the caller did not give (e.g. a surrogate asked about a bare recipe)."""
        if self.is_categorical:
            return self.categories[0]
        mid = math.sqrt(self.low * self.high) if self.log else 0.5 * (self.low + self.high)
        return self.round(mid)


def Real(name: str, low: float, high: float, *, log: bool = False, unit: str = "", doc: str = "") -> Dimension:
    """A plain real variable in ``[low, high]`` (``log=True``: searched on a log scale, ``low > 0``)."""
    return _checked(name, {"type": "real", "low": low, "high": high, "log": log, "unit": unit, "doc": doc},
                    f"variables.{name}")


def Integer(name: str, low: int, high: int, *, log: bool = False, unit: str = "", doc: str = "") -> Dimension:
    """A plain integer variable in ``[low, high]`` (both included)."""
    return _checked(name, {"type": "integer", "low": low, "high": high, "log": log, "unit": unit, "doc": doc},
                    f"variables.{name}")


def Categorical(name: str, categories: Sequence[str], *, doc: str = "") -> Dimension:
    """A plain categorical variable taking one of ``categories`` (strings)."""
    return _checked(name, {"type": "categorical", "categories": list(categories), "doc": doc},
                    f"variables.{name}")


def _number(value: Any, field: str) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise CampaignError(field, value, "expected a finite number")
    return float(value)


def check_name(name: Any, where: str) -> str:
    """``name`` if it can name an extra variable of a campaign, else a :class:`CampaignError`."""
    from twin.result import RunResult

    if not isinstance(name, str) or not NAME_RE.match(name):
        raise CampaignError(where, name, "an extra's name must be lower-case snake case", "e.g. substrate_bias_v")
    if name in Recipe.fields():
        raise CampaignError(where, name, "is a recipe field; search it in [space] itself, not as an extra")
    if name in RESERVED_NAMES or name in {f.name for f in dataclasses.fields(RunResult)} or name.startswith("n_"):
        raise CampaignError(where, name, "name taken by a column of the campaign's table (a result or a trial "
                            "field)", "another name, e.g. with a unit suffix")
    return name


def parse_extra(name: str, spec: Any) -> Dimension:
    """The :class:`Dimension` of a campaign's ``[space.extra.NAME]`` table (see the module docstring)."""
    where = f"space.extra.{name}"
    check_name(name, where)
    if not isinstance(spec, dict):
        raise CampaignError(where, spec, "expected a table", "{ low = .., high = .., unit = \"..\" }")
    if "unit" not in spec and spec.get("type") != "categorical" and "categories" not in spec:
        raise CampaignError(f"{where}.unit", None, "an extra needs its unit (\"1\" for a pure number)",
                            "e.g. \"V\", \"rpm\", \"1\"")
    return _checked(name, spec, where, extra_rules=True)


def _checked(name: str, spec: dict[str, Any], where: str, *, extra_rules: bool = False) -> Dimension:
    if not extra_rules and (not isinstance(name, str) or not name.strip()):
        raise CampaignError("variables", name, "a variable needs a non-empty name")
    allowed = ("type", "low", "high", "log", "categories", "unit", "doc")
    unknown = sorted(set(spec) - set(allowed))
    if unknown:
        raise CampaignError(f"{where}.{unknown[0]}", spec[unknown[0]], "unknown key", ", ".join(allowed))
    kind = spec.get("type", "categorical" if "categories" in spec else "real")
    if kind not in KINDS:
        raise CampaignError(f"{where}.type", kind, "unknown kind of variable", " | ".join(KINDS))
    unit, doc = spec.get("unit", ""), spec.get("doc", "")
    for key, v in (("unit", unit), ("doc", doc)):
        if not isinstance(v, str):
            raise CampaignError(f"{where}.{key}", v, "expected a string")
    if kind == "categorical":
        cats = spec.get("categories")
        for key in ("low", "high", "log"):
            if key in spec:
                raise CampaignError(f"{where}.{key}", spec[key], "a categorical variable has categories, not a range")
        if not isinstance(cats, list | tuple) or not cats or not all(isinstance(c, str) and c for c in cats):
            raise CampaignError(f"{where}.categories", cats, "expected a non-empty list of strings",
                                "e.g. [\"off\", \"on\"]")
        if len(set(cats)) != len(cats):
            raise CampaignError(f"{where}.categories", list(cats), "repeated category")
        return Dimension(name, categories=tuple(cats), extra=True, unit=unit, doc=doc)
    if "categories" in spec:
        raise CampaignError(f"{where}.categories", spec["categories"], f"a {kind} variable has a range",
                            "type = \"categorical\"")
    for key in ("low", "high"):
        if key not in spec:
            raise CampaignError(f"{where}.{key}", None, "missing key", "a finite number")
    low, high = _number(spec["low"], f"{where}.low"), _number(spec["high"], f"{where}.high")
    log = spec.get("log", False)
    if not isinstance(log, bool):
        raise CampaignError(f"{where}.log", log, "expected true or false")
    if kind == "integer":
        for key, v in (("low", low), ("high", high)):
            if v != int(v):
                raise CampaignError(f"{where}.{key}", spec[key], "an integer variable needs whole-number bounds")
    if not low < high:
        raise CampaignError(where, [spec["low"], spec["high"]], "low must be below high (reversed or empty range)")
    if log and not low >= LOG_LOW_MIN:
        raise CampaignError(f"{where}.low", spec["low"], "a log range must start above 0", f">= {LOG_LOW_MIN:g}")
    return Dimension(name, low, high, log, integer=kind == "integer", extra=True, unit=unit, doc=doc)


@dataclass(frozen=True)
class Proposal:
    """What a strategy proposes in a space with extra variables: a recipe and the extras sent with it.

    ``recipe`` is None in a space of plain variables (no recipe at all). :meth:`to_dict` gives the recipe's
    fields only (what the store keeps as the trial's recipe); the extras are kept beside it.
    """

    recipe: Recipe | None
    extras: Mapping[str, Any] = dataclasses.field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        """The recipe's fields (empty without a recipe)."""
        return self.recipe.to_dict() if self.recipe is not None else {}

    def values(self) -> dict[str, Any]:
        """Every value: the recipe's fields and the extras."""
        return {**self.to_dict(), **self.extras}

    def replace(self, **changes: Any) -> Proposal:
        """A copy with recipe fields and extras changed (recipe fields validated again, as
        :meth:`twin.Recipe.replace`); a name that is neither is a ``TypeError``."""
        fields = set(Recipe.fields())
        unknown = sorted(set(changes) - fields - set(self.extras))
        if unknown:
            raise TypeError(f"{unknown[0]!r} is neither a recipe field nor an extra of this proposal")
        recipe_changes = {k: v for k, v in changes.items() if k in fields}
        recipe = self.recipe.replace(**recipe_changes) if recipe_changes and self.recipe is not None else self.recipe
        return Proposal(recipe, {**self.extras, **{k: v for k, v in changes.items() if k not in fields}})


def split(item: Any) -> tuple[Recipe | None, dict[str, Any]]:
    """``(recipe, extras)`` of what a strategy proposed or was told: a :class:`Proposal`, a bare
    :class:`twin.Recipe` (no extras) or anything with ``recipe`` and ``extras`` attributes."""
    if isinstance(item, Recipe):
        return item, {}
    return getattr(item, "recipe", None), dict(getattr(item, "extras", None) or {})
