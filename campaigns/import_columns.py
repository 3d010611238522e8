"""The columns a file of past runs may have (:mod:`campaigns.importer`), their units and their ranges.

A column is one of:

* a **recipe field** of :class:`twin.Recipe` (``rf_power_w``, ``pressure_pa``, ..., ``transfer``);
* a **measured result** of :class:`twin.RunResult` a lab measures (:data:`RESULT_COLUMNS`), and the flags
  ``shorted`` and ``failed`` (a run that failed for another reason: the tool faulted, the cell broke);
* a **context** value, the chamber state the run started in (:data:`CONTEXT_COLUMNS`); it is kept in the trial's
  ``result["context"]`` as named floats with units in the names;
* a **date** (``run_date``, ``started_at``, ``finished_at``: ISO 8601; a time without a zone is taken as UTC);
* ``note``, free text kept as the trial's comment;
* an **extra variable** of the campaign (``[space.extra.NAME]``), under its own name and in its own unit.

A name ending in a unit (``pressure_pa``) may be written in another unit of :data:`twin.units.CONVERSIONS`
(``pressure_mtorr``, ``pressure_torr``, ``rf_power_kw``, ``target_substrate_distance_cm``,
``substrate_temperature_k``, ``pumpdown_h``, ``n2_percent``, ...); the value is converted to the canonical unit
when the file is read, and nowhere else. A column in a unit that has no conversion is refused naming the spellings
allowed; a column that is none of the above is refused naming the columns allowed.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Sequence
from dataclasses import dataclass

from campaigns.config import CampaignConfig
from campaigns.variables import Dimension
from twin import Recipe
from twin.chamber import State
from twin.units import from_tool, name_variants

RESULT_COLUMNS: dict[str, tuple[float, float, str, bool]] = {
    "interface_resistance_ohm_cm2": (0.0, math.inf, "Ω·cm²", True),
    "bulk_resistance_ohm_cm2": (0.0, math.inf, "Ω·cm²", True),
    "total_resistance_ohm_cm2": (0.0, math.inf, "Ω·cm²", True),
    "thickness_nm": (0.0, math.inf, "nm", True),
    "deposition_rate_nm_min": (0.0, math.inf, "nm/min", True),
    "deposition_time_s": (0.0, math.inf, "s", False),
    "process_time_s": (0.0, math.inf, "s", False),
    "plasma_time_s": (0.0, math.inf, "s", False),
    "li_p_ratio": (0.0, math.inf, "1", True),
    "nitrogen_content": (0.0, 1.0, "1", False),
    "ionic_conductivity_s_cm": (0.0, math.inf, "S/cm", True),
}
"""Measured results a file may give: name → (low, high, unit, low excluded). The names and units are those of
:class:`twin.RunResult`, so an imported run's result reads like a run of the tool's."""

BASE_PRESSURE_MAX_PA = 1.2e5
"""Highest base pressure accepted [Pa]: a little above one atmosphere (an assumption: a vented chamber, not a
pressure vessel); anything higher is a unit slip."""

CONTEXT_COLUMNS: dict[str, tuple[float, float, str]] = {
    **{name: (State.__dataclass_fields__[name].metadata["low"], State.__dataclass_fields__[name].metadata["high"],
              State.__dataclass_fields__[name].metadata["unit"])
       for name in ("hours_since_vent", "target_kwh", "shield_kwh")},
    "runs_since_vent": (0.0, 1e6, "runs"),
    "base_pressure_pa": (0.0, BASE_PRESSURE_MAX_PA, "Pa"),
}
"""Chamber state a run started in: name → (low, high, unit). The first three are the chamber's ``[state]`` fields
(their ranges come from :class:`twin.chamber.State`), so the twin can predict the run in the state it started in;
``runs_since_vent`` is a whole number and ``base_pressure_pa`` is above 0. The names are those the trials of a
tool record in ``result["context"]``."""

FLAG_COLUMNS = ("shorted", "failed")
DATE_COLUMNS = ("run_date", "started_at", "finished_at")
TEXT_COLUMNS = ("note",)

TRUE_WORDS = frozenset({"1", "true", "yes", "y"})
FALSE_WORDS = frozenset({"0", "false", "no", "n", ""})


@dataclass(frozen=True)
class Column:
    """One column of a file, resolved: what it is (``kind``), the canonical name it fills, the unit it is written
    in and the canonical unit (equal when no conversion is needed)."""

    header: str
    kind: str
    """recipe | result | context | flag | date | text | extra"""
    name: str
    unit: str = ""
    canonical_unit: str = ""

    def to_canonical(self, value: float) -> float:
        """``value`` (in the column's unit) in the canonical unit."""
        if self.unit == self.canonical_unit or not self.canonical_unit:
            return value
        return from_tool(value, self.canonical_unit, self.unit)


def _recipe_unit(name: str) -> str:
    return next(f.metadata.get("unit", "") for f in dataclasses.fields(Recipe) if f.name == name)


def known_columns(extras: Sequence[Dimension] = ()) -> dict[str, Column]:
    """Every header a file may use (unit variants included) → its :class:`Column`."""
    out: dict[str, Column] = {}

    def add(name: str, kind: str) -> None:
        variants = name_variants(name)
        canonical = variants[name]
        for header, unit in variants.items():
            out.setdefault(header, Column(header, kind, name, unit, canonical))

    for name in Recipe.fields():
        add(name, "recipe")
    for name in RESULT_COLUMNS:
        add(name, "result")
    for name in CONTEXT_COLUMNS:
        add(name, "context")
    for name in FLAG_COLUMNS:
        out[name] = Column(name, "flag", name)
    for name in DATE_COLUMNS:
        out[name] = Column(name, "date", name)
    for name in TEXT_COLUMNS:
        out[name] = Column(name, "text", name)
    for d in extras:
        out[d.name] = Column(d.name, "extra", d.name, d.unit, d.unit)
    return out


def canonical_names(extras: Sequence[Dimension] = ()) -> list[str]:
    """The canonical column names (no unit variants), in the order the help lists them."""
    return [*Recipe.fields(), *RESULT_COLUMNS, *CONTEXT_COLUMNS, *FLAG_COLUMNS, *DATE_COLUMNS, *TEXT_COLUMNS,
            *(d.name for d in extras)]


def wrong_unit(header: str, known: dict[str, Column]) -> tuple[str, str, list[str]] | None:
    """``(canonical name, the unit written, allowed headers)`` when ``header`` is a known name in a unit without a
    conversion (``pressure_psi`` → ``("pressure_pa", "psi", [...])``); None otherwise. The longest matching stem
    wins (``base_pressure_psi`` is about the base pressure, not the process pressure)."""
    best: tuple[int, str] | None = None
    for col in known.values():
        if col.canonical_unit and col.header == col.name:
            suffix = _suffix(col.name)
            stem = col.name[: -len(suffix) - 1] if suffix else ""
            if stem and header.startswith(stem + "_") and (best is None or len(stem) > best[0]):
                best = (len(stem), col.name)
    if best is None:
        return None
    stem_len, name = best
    return name, header[stem_len + 1:], [c.header for c in known.values() if c.name == name]


def _suffix(name: str) -> str:
    """The unit suffix of a canonical name, without the underscore (``pressure_pa`` → ``pa``)."""
    from twin.units import _SUFFIX_UNITS

    return next((s[1:] for s, _ in _SUFFIX_UNITS if name.endswith(s)), "")


def required_columns(config: CampaignConfig) -> dict[str, str]:
    """Canonical names a file must give for ``config``'s campaign → why: every searched recipe field and extra
    (a run cannot be placed in the space without it), the interface resistance, and what the objective reads."""
    out = {d.name: "a searched variable of the campaign" for d in config.space.dimensions}
    out["interface_resistance_ohm_cm2"] = "the measured interface resistance"
    obj = config.objective
    if obj.minimize != "total_resistance_ohm_cm2":  # total: given, or the sum of interface and bulk
        out.setdefault(obj.minimize, "the campaign's objective")
    if obj.secondary and obj.secondary_weight:
        out.setdefault(obj.secondary, "the campaign's secondary objective")
    return out
