"""The deposition recipe: what the tool is asked to do, validated on construction."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import numpy as np

from process_models._params import param
from twin.config import load_dataclass, read_toml
from twin.errors import InputError, RecipeError

Transfer = Literal["vacuum", "air"]
TRANSFERS: tuple[str, ...] = ("vacuum", "air")


@dataclass(frozen=True)
class CrossRule:
    """A rule of a recipe across fields: ``broken(values)`` on scalars (one recipe) or arrays (many rows)."""

    field: str
    problem: str
    broken: Callable[[Mapping[str, Any]], Any]
    allowed: Callable[[Mapping[str, Any]], str]


CROSS_RULES: tuple[CrossRule, ...] = (
    CrossRule("seed_thickness_nm", "seed layer thicker than the film",
              lambda v: np.greater(v["seed_thickness_nm"], v["target_thickness_nm"]),
              lambda v: f"[0, target_thickness_nm = {v['target_thickness_nm']}] nm"),
    CrossRule("air_exposure_min", "air exposure with a vacuum transfer",
              lambda v: (np.asarray(v["transfer"], dtype=object) == "vacuum") & np.greater(v["air_exposure_min"], 0),
              lambda v: "0 min unless transfer = 'air'"),
    CrossRule("rf_power_w", "must be positive", lambda v: np.less_equal(v["rf_power_w"], 0), lambda v: "> 0 W"),
    CrossRule("seed_power_w", "must be positive with a seed layer",
              lambda v: np.greater(v["seed_thickness_nm"], 0) & np.less_equal(v["seed_power_w"], 0),
              lambda v: "> 0 W"),
)
"""The rules :class:`Recipe` checks across fields after each field's own range, in order; one table for one
recipe (``__post_init__``) and for columns of many (:func:`column_violations`)."""


@dataclass(frozen=True)
class Recipe:
    """One deposition of electrolyte on a LiCoO2 film, from load to unload.

    Defaults are a plain one-step LiPON deposition after a vacuum transfer. Units are in the names.
    Validated on construction (physical sense); :meth:`twin.Chamber.check` validates against a tool's limits.
    """

    target_thickness_nm: float = param(100.0, "nm", "electrolyte thickness to deposit", "", low=1, high=1e5)
    rf_power_w: float = param(110.0, "W", "RF power of the bulk deposition (and the pre-sputter)", "",
                              low=0, high=1e5)
    seed_power_w: float = param(110.0, "W", "RF power of the gentle first (seed) layer", "", low=0, high=1e5)
    seed_thickness_nm: float = param(0.0, "nm", "thickness of the seed layer; 0 means one step", "", low=0,
                                     high=1e5)
    pressure_pa: float = param(0.5, "Pa", "process pressure", "", low=1e-3, high=1e3)
    n2_fraction: float = param(1.0, "1", "N2 share of the process gas: 0 pure Ar, 1 pure N2", "", low=0,
                               high=1)
    target_substrate_distance_mm: float = param(70.0, "mm", "target–substrate distance", "", low=1,
                                                high=1e4)
    substrate_temperature_c: float = param(25.0, "°C", "substrate temperature during deposition", "",
                                           low=-50, high=1500)
    presputter_min: float = param(20.0, "min", "pre-sputter with the shutter closed", "", low=0, high=1e5)
    pumpdown_min: float = param(240.0, "min", "wait from load to process (the chamber pumps)", "", low=0,
                                high=1e6)
    transfer: Transfer = param("vacuum", "", "how the LiCoO2 film reaches the chamber: vacuum or air", "")
    air_exposure_min: float = param(0.0, "min", "minutes in room air during an air transfer", "", low=0,
                                    high=1e6)
    anneal_temperature_c: float = param(150.0, "°C", "post-deposition anneal temperature", "", low=-50,
                                        high=1500)
    anneal_min: float = param(0.0, "min", "post-deposition anneal time; 0 means none", "", low=0, high=1e5)

    def __post_init__(self) -> None:
        for f in dataclasses.fields(self):
            if f.name == "transfer":
                continue
            value = getattr(self, f.name)
            low, high = f.metadata["low"], f.metadata["high"]
            if isinstance(value, bool) or not isinstance(value, int | float):
                raise RecipeError(f"recipe.{f.name}", value, "expected a number")
            if not (low <= value <= high):  # also rejects NaN
                raise RecipeError(f"recipe.{f.name}", value, "out of range",
                                  f"[{low}, {high}] {f.metadata['unit']}".rstrip())
        if self.transfer not in ("vacuum", "air"):
            raise RecipeError("recipe.transfer", self.transfer, "not one of the allowed values", "'vacuum' | 'air'")
        values = self.to_dict()
        for rule in CROSS_RULES:
            if rule.broken(values):
                raise RecipeError(f"recipe.{rule.field}", values[rule.field], rule.problem, rule.allowed(values))

    @classmethod
    def fields(cls) -> tuple[str, ...]:
        """Names of the recipe's fields, in order."""
        return tuple(f.name for f in dataclasses.fields(cls))

    @classmethod
    def from_dict(cls, table: dict[str, Any], source: str = "") -> Recipe:
        """Build from a dict of fields (omitted fields take their defaults); errors name ``source``."""
        try:
            return load_dataclass(cls, table, "recipe", RecipeError)
        except InputError as exc:
            raise exc.with_source(source) if source else exc from None

    @classmethod
    def from_toml(cls, path: str | Path) -> Recipe:
        """Load a recipe file: one ``[recipe]`` table whose keys are the fields."""
        doc = read_toml(path, RecipeError)
        extra = sorted(set(doc) - {"recipe"})
        if extra:
            raise RecipeError(extra[0], doc[extra[0]], "unknown table or key", "[recipe]", source=str(path))
        if "recipe" not in doc:
            raise RecipeError("recipe", None, "missing [recipe] table", "[recipe]", source=str(path))
        return cls.from_dict(doc["recipe"], source=str(path))

    def to_dict(self) -> dict[str, Any]:
        """Fields as a JSON-serialisable dict."""
        return dataclasses.asdict(self)

    def replace(self, **changes: Any) -> Recipe:
        """A copy with some fields changed (validated again)."""
        return dataclasses.replace(self, **changes)


def column_violations(columns: Mapping[str, Any], n: int) -> np.ndarray:
    """The first field that breaks a rule of :class:`Recipe`, per row ("" where the row is a valid recipe).

    The same checks as the constructor, in its order, on ``n`` rows: ``columns`` maps every field to an array of
    length ``n`` or a scalar (``transfer`` to strings). A NaN is outside every range.

    Examples
    --------
    >>> cols = Recipe().to_dict() | {"seed_thickness_nm": [0.0, 150.0], "pressure_pa": [0.5, 0.5]}
    >>> column_violations(cols, 2).tolist()
    ['', 'seed_thickness_nm']
    """
    names = [f.name for f in dataclasses.fields(Recipe) if f.name != "transfer"]
    names += ["transfer"] + [rule.field for rule in CROSS_RULES]
    first = np.full(n, len(names))  # index into names, len(names) where no rule is broken

    def mark(code: int, broken: Any) -> None:
        first[np.broadcast_to(broken, (n,)) & (first == len(names))] = code

    for code, name in enumerate(names[:-1 - len(CROSS_RULES)]):
        meta = Recipe.__dataclass_fields__[name].metadata
        v = np.asarray(columns[name], dtype=float)
        mark(code, ~((v >= meta["low"]) & (v <= meta["high"])))
    code = len(names) - 1 - len(CROSS_RULES)
    mark(code, ~np.isin(np.asarray(columns["transfer"], dtype=object), TRANSFERS))
    for rule in CROSS_RULES:
        code += 1
        mark(code, rule.broken(columns))
    return np.array([*names, ""], dtype=object)[first]
