"""Warnings, not errors, for recipe values that are legal but look like a unit slip.

``pressure_pa = 5`` is inside the plasma window (0.1–5 Pa) and runs, but at its very edge; the person most likely
meant 5 mTorr (0.67 Pa). Such a value is not refused (someone may mean it), but every recipe check names it:
``sputter-twin simulate``, campaign files (fixed values, and search ranges whose every value looks slipped) and
``sputter-twin tool check --recipe``.

Each rule is a documented assumption ([A]): a range that is unusual for RF sputtering of LiPON in the unit the
field uses, and the unit a person likely had in mind. Ranges follow ``physics/FACTS.md`` §2 where it has one
(process pressure 0.03–1 Pa in Ribeiro et al. 2012; Drüsedau et al. 1999 go to 7 Pa for Ar); the others are ours.

Examples
--------
>>> from twin.recipe import Recipe
>>> [w.field for w in unit_slips(Recipe(pressure_pa=5.0))]
['pressure_pa']
>>> print(unit_slips(Recipe(pressure_pa=5.0))[0])
recipe.pressure_pa = 5 Pa: high for sputtering (usual: below 2.5 Pa); if it was meant in mTorr, that is 0.667 Pa
>>> unit_slips(Recipe())
[]
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

MTORR_PA = 0.133322
"""1 mTorr in Pa."""


@dataclass(frozen=True)
class SlipRule:
    """A legal value of ``field`` that looks slipped: ``low <= value <= high`` (in the field's ``unit``) is unusual,
    and the value read in ``meant`` converts by ``convert`` to the field's unit. ``applies`` restricts the rule to
    recipes where the field matters (an anneal temperature without an anneal is not read)."""

    field: str
    unit: str
    low: float
    high: float
    why: str
    meant: str
    convert: Callable[[float], float]
    applies: Callable[[dict[str, Any]], bool] = lambda recipe: True

    def matches(self, value: Any, recipe: dict[str, Any] | None = None) -> bool:
        if isinstance(value, bool) or not isinstance(value, int | float):
            return False
        return self.low <= value <= self.high and self.applies(recipe or {})


RULES: tuple[SlipRule, ...] = (
    SlipRule("pressure_pa", "Pa", 2.5, float("inf"), "high for sputtering (usual: below 2.5 Pa)",
             "mTorr", lambda v: v * MTORR_PA),
    SlipRule("substrate_temperature_c", "°C", 250.0, 400.0, "hot for a LiPON deposition on LiCoO2 (usual: room "
             "temperature to 200 °C)", "K", lambda v: v - 273.15),
    SlipRule("anneal_temperature_c", "°C", 300.0, 600.0, "hot for a LiPON/LiCoO2 anneal (usual: 150–250 °C)", "K",
             lambda v: v - 273.15, lambda r: float(r.get("anneal_min", 0) or 0) > 0),
    SlipRule("target_thickness_nm", "nm", 0.0, 10.0, "too thin for an electrolyte film (usual: 100 nm to a few "
             "µm)", "µm", lambda v: v * 1000.0),
    SlipRule("air_exposure_min", "min", 600.0, float("inf"), "a long air exposure (10 h or more)", "s",
             lambda v: v / 60.0, lambda r: r.get("transfer") == "air"),
    SlipRule("pumpdown_min", "min", 0.0, 5.0, "a very short pump-down (usual: 30 min to days)", "h",
             lambda v: v * 60.0, lambda r: float(r.get("pumpdown_min", 0) or 0) > 0),
)
"""The unit-slip rules, one per field ([A] assumptions, see the module docstring)."""


@dataclass(frozen=True)
class UnitSlip:
    """One suspicious value: the field, its value and unit, and what it likely meant."""

    field: str
    value: float
    unit: str
    problem: str

    def __str__(self) -> str:
        return f"recipe.{self.field} = {self.value:g} {self.unit}: {self.problem}"


def _slip(rule: SlipRule, value: float) -> UnitSlip:
    meant = rule.convert(float(value))
    return UnitSlip(rule.field, float(value), rule.unit,
                    f"{rule.why}; if it was meant in {rule.meant}, that is {meant:.3g} {rule.unit}")


def slips_in(values: dict[str, Any]) -> list[UnitSlip]:
    """The suspicious values among a recipe's fields given as a dict (omitted fields are not checked)."""
    out = []
    for rule in RULES:
        value = values.get(rule.field)
        if rule.field in values and rule.matches(value, values):
            out.append(_slip(rule, value))
    return out


def unit_slips(recipe: Any) -> list[UnitSlip]:
    """The suspicious values of a :class:`twin.Recipe` (or anything with ``to_dict()``)."""
    return slips_in(recipe.to_dict())


def range_slips(field: str, low: float, high: float, context: dict[str, Any] | None = None) -> list[UnitSlip]:
    """A search range whose every value looks slipped (both ends match a rule): e.g. ``pressure_pa = [3, 8]``.

    ``context`` are the other fields (fixed ones, or a searched field's upper bound), for rules that apply only to
    some recipes.
    """
    return [UnitSlip(field, float(high), rule.unit,
                     f"the whole range [{low:g}, {high:g}] {rule.unit} is {rule.why}; if it was meant in "
                     f"{rule.meant}, that is [{rule.convert(low):.3g}, {rule.convert(high):.3g}] {rule.unit}")
            for rule in RULES if rule.field == field and rule.matches(low, context) and rule.matches(high, context)]
