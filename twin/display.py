"""How numbers are shown to people: each quantity rounded to the precision it is set or measured to, with its unit.

Tables in the CLI, the HTML report and the dashboard print recipe fields and results through :func:`fmt` (text)
or :func:`rounded` (a number, for sortable tables), so a recipe prints ``rf_power_w = 110 W``, never
``110.00000000000001``. The precision is a property of the unit: a generator is set to 1 W, a thickness to 0.1 nm,
a pressure gauge reads three significant figures. These are display rules, not physics: a stored value keeps
every digit.

Examples
--------
>>> fmt(110.00000000000001, "W")
'110 W'
>>> fmt(0.49871, "Pa")
'0.499 Pa'
>>> rounded(8.93456, "Ω·cm²")
8.93
>>> field_unit("pumpdown_min")
'min'
"""

from __future__ import annotations

import dataclasses
import math
from typing import Any

from twin.recipe import Recipe

DECIMALS: dict[str, int] = {"W": 0, "nm": 1, "mm": 0, "°C": 0, "min": 0, "1": 2, "h": 2, "s": 0, "%": 1}
"""Units shown with a fixed number of decimals (the resolution a tool sets or reads them to)."""

SIGNIFICANT: dict[str, int] = {"Pa": 3, "Ω·cm²": 3, "mTorr": 3}
"""Units shown to a number of significant figures (gauges and resistances span decades)."""

DEFAULT_SIGNIFICANT = 4
"""Significant figures of any other quantity."""

_SUFFIX_UNITS = (("_ohm_cm2", "Ω·cm²"), ("_w", "W"), ("_nm", "nm"), ("_mm", "mm"), ("_pa", "Pa"), ("_c", "°C"),
                 ("_min", "min"), ("_h", "h"), ("_s", "s"), ("_fraction", "1"))


def field_unit(name: str) -> str:
    """The unit of a recipe field or result column, from :class:`twin.Recipe`'s metadata or the name's suffix.

    ``""`` where the name carries no unit.
    """
    for f in dataclasses.fields(Recipe):
        if f.name == name:
            return str(f.metadata.get("unit", ""))
    for suffix, unit in _SUFFIX_UNITS:
        if name.endswith(suffix):
            return unit
    return ""


def rounded(value: Any, unit: str = "") -> Any:
    """``value`` rounded to the precision of ``unit`` (a float); non-numbers unchanged, NaN and ±inf as None."""
    if value is None or isinstance(value, bool) or not isinstance(value, int | float):
        return value
    x = float(value)
    if not math.isfinite(x):
        return None
    if unit in DECIMALS:
        return round(x, DECIMALS[unit]) + 0.0  # + 0.0: no "-0"
    digits = SIGNIFICANT.get(unit, DEFAULT_SIGNIFICANT)
    return float(f"{x:.{digits}g}") + 0.0


def fmt(value: Any, unit: str = "", *, with_unit: bool = True) -> str:
    """``value`` as text at the precision of ``unit``, followed by the unit; ``"-"`` for a missing number.

    >>> fmt(240.0, "min"), fmt(None, "W"), fmt("vacuum"), fmt(0.25, "1"), fmt(1234.5, "Ω·cm²"), fmt(0.05, "Pa")
    ('240 min', '-', 'vacuum', '0.25', '1230 Ω·cm²', '0.0500 Pa')
    """
    if value is None or (isinstance(value, float) and not math.isfinite(value)):
        return "-"
    if isinstance(value, bool) or not isinstance(value, int | float):
        return str(value)
    x = rounded(value, unit)
    if unit in DECIMALS:
        text = f"{x:.{DECIMALS[unit]}f}"
    else:
        digits = SIGNIFICANT.get(unit, DEFAULT_SIGNIFICANT)
        if x == 0 or 1e-4 <= abs(x) < 1e9:  # plain digits: 1230 Ω·cm², not 1.23e+03
            text = f"{x:.{max(0, digits - 1 - math.floor(math.log10(abs(x or 1.0))))}f}"
        else:
            text = f"{x:.{digits}g}"
    show = with_unit and unit not in ("", "1")
    return f"{text} {unit}" if show else text
