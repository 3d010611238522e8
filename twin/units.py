"""Unit conversion at the edges: the recipe speaks Pa, W, nm, min and an N2 fraction; a tool may speak mTorr, kW,
Å, s and sccm (:mod:`hardware.mapping`), and a lab's spreadsheet of past runs may name its columns
``pressure_mtorr`` or ``rf_power_kw`` (:mod:`campaigns.importer`). One table, :data:`CONVERSIONS`; conversion
happens at those edges and nowhere else.

A conversion is linear: ``tool = recipe * scale + offset``. The N2 fraction to a gas flow in sccm is not a
unit but a split of a total flow; it is handled by :class:`hardware.mapping.Setpoint` (``gas``,
``total_flow_sccm``).

Examples
--------
>>> to_tool(0.5, "Pa", "mTorr")
3.75031
>>> round(from_tool(3.7503084, "Pa", "mTorr"), 6)
0.5
>>> to_tool(25.0, "°C", "K")
298.15
"""

from __future__ import annotations

MTORR_PA = 0.133322368
"""One mTorr in Pa."""

CONVERSIONS: dict[str, dict[str, tuple[float, float]]] = {
    "Pa": {"Pa": (1.0, 0.0), "mTorr": (1.0 / MTORR_PA, 0.0), "Torr": (1.0 / (1000 * MTORR_PA), 0.0),
           "mbar": (0.01, 0.0), "hPa": (0.01, 0.0)},
    "W": {"W": (1.0, 0.0), "kW": (1e-3, 0.0)},
    "nm": {"nm": (1.0, 0.0), "A": (10.0, 0.0), "um": (1e-3, 0.0)},
    "mm": {"mm": (1.0, 0.0), "cm": (0.1, 0.0)},
    "°C": {"°C": (1.0, 0.0), "C": (1.0, 0.0), "K": (1.0, 273.15)},
    "min": {"min": (1.0, 0.0), "s": (60.0, 0.0), "h": (1.0 / 60.0, 0.0)},
    "s": {"s": (1.0, 0.0), "min": (1.0 / 60.0, 0.0), "h": (1.0 / 3600.0, 0.0)},
    "1": {"1": (1.0, 0.0), "%": (100.0, 0.0)},
    "nm/min": {"nm/min": (1.0, 0.0), "A/s": (10.0 / 60.0, 0.0), "nm/s": (1.0 / 60.0, 0.0)},
    "Ω·cm²": {"Ω·cm²": (1.0, 0.0), "ohm_cm2": (1.0, 0.0)},
    "sccm": {"sccm": (1.0, 0.0), "slm": (1e-3, 0.0)},
    "bool": {"bool": (1.0, 0.0)},
    "h": {"h": (1.0, 0.0), "min": (60.0, 0.0), "s": (3600.0, 0.0), "d": (1.0 / 24.0, 0.0)},
    "kWh": {"kWh": (1.0, 0.0), "Wh": (1000.0, 0.0), "MJ": (3.6, 0.0)},
}
"""Canonical unit → tool unit → (scale, offset)."""

_SUFFIX_UNITS = (("_nm_min", "nm/min"), ("_ohm_cm2", "Ω·cm²"), ("_pa", "Pa"), ("_w", "W"), ("_nm", "nm"),
                 ("_mm", "mm"), ("_c", "°C"), ("_min", "min"), ("_s", "s"), ("_fraction", "1"), ("_open", "bool"),
                 ("_sccm", "sccm"))


def canonical_unit(name: str) -> str | None:
    """The unit a name carries in its suffix (``pressure_pa`` → ``Pa``); None if it carries none.

    >>> canonical_unit("substrate_temperature_c"), canonical_unit("n2_flow_sccm"), canonical_unit("phase")
    ('°C', 'sccm', None)
    """
    for suffix, unit in _SUFFIX_UNITS:
        if name.endswith(suffix):
            return unit
    return None


def tool_units(canonical: str) -> list[str]:
    """Tool units a canonical unit converts to."""
    return sorted(CONVERSIONS.get(canonical, {}))


def factors(canonical: str, tool_unit: str) -> tuple[float, float]:
    """``(scale, offset)`` with ``tool = value * scale + offset``; KeyError if there is no conversion."""
    return CONVERSIONS[canonical][tool_unit]


def to_tool(value: float, canonical: str, tool_unit: str) -> float:
    """A value in the canonical unit, expressed in the tool's unit."""
    scale, offset = factors(canonical, tool_unit)
    return value * scale + offset


def from_tool(value: float, canonical: str, tool_unit: str) -> float:
    """A value in the tool's unit, expressed in the canonical unit."""
    scale, offset = factors(canonical, tool_unit)
    return (value - offset) / scale


_SUFFIX_SPELLING = {"°C": "c", "C": "c", "A": "angstrom", "%": "percent", "1": "fraction", "Ω·cm²": "ohm_cm2",
                    "nm/min": "nm_min", "A/s": "angstrom_s", "nm/s": "nm_s"}
"""How a unit is spelled as the suffix of a column name, where its plain lower-case name would not do."""


def suffix_spelling(unit: str) -> str:
    """The unit as the suffix of a column name (``mTorr`` → ``mtorr``, ``°C`` → ``c``, ``%`` → ``percent``).

    >>> suffix_spelling("mTorr"), suffix_spelling("K"), suffix_spelling("%")
    ('mtorr', 'k', 'percent')
    """
    return _SUFFIX_SPELLING.get(unit, unit.lower())


def name_variants(name: str) -> dict[str, str]:
    """Every spelling of a unit-suffixed name in another unit of :data:`CONVERSIONS`: column name → its unit.

    The name's own spelling comes first. A name without a unit suffix has only itself (unit "").

    >>> list(name_variants("pressure_pa"))
    ['pressure_pa', 'pressure_torr', 'pressure_hpa', 'pressure_mtorr', 'pressure_mbar']
    >>> name_variants("substrate_temperature_c")
    {'substrate_temperature_c': '°C', 'substrate_temperature_k': 'K'}
    >>> name_variants("hours_since_vent")
    {'hours_since_vent': ''}
    """
    canonical = canonical_unit(name)
    if canonical is None or canonical not in CONVERSIONS:
        return {name: ""}
    base = name[: -len(_suffix_of(name))]
    out = {name: canonical}
    for unit in tool_units(canonical):
        out.setdefault(f"{base}_{suffix_spelling(unit)}", unit)
    return out


def _suffix_of(name: str) -> str:
    return next(suffix for suffix, _ in _SUFFIX_UNITS if name.endswith(suffix))
