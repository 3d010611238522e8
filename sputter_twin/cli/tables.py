"""Plain-text tables for the terminal: full column names, a row of units under them, numbers at their precision.

A column is as wide as its longest cell, name or unit, so no name is cut (``seed_thickness_nm``, not
``seed_thickne``). Numbers go through :func:`twin.display.fmt`, so each is rounded to the precision of its unit.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from campaigns.records import Trial
from twin.display import field_unit, fmt


@dataclass(frozen=True)
class Column:
    """A table column: its name, the unit shown under it, and whether its cells align left (text)."""

    name: str
    unit: str = ""
    left: bool = False


def render(columns: Sequence[Column], rows: Sequence[Sequence[str]]) -> str:
    """The table as text: a header line, a units line (if any column has a unit) and one line per row."""
    widths = [max([len(c.name), len(c.unit), *(len(r[k]) for r in rows)]) for k, c in enumerate(columns)]

    def line(cells: Sequence[str]) -> str:
        out = [cell.ljust(w) if c.left else cell.rjust(w) for cell, c, w in zip(cells, columns, widths, strict=True)]
        return "  ".join(out).rstrip()

    lines = [line([c.name for c in columns])]
    if any(c.unit for c in columns):
        lines.append(line([c.unit for c in columns]))
    lines.extend(line(r) for r in rows)
    return "\n".join(lines)


def prediction_cells(trial: Trial, log: bool, unit: str) -> list[str]:
    """The strategy's prediction at proposal time in the objective's units: mean, the ±1 σ range, P(fail) [%].

    The strategy models log10 of the objective when ``log``; its σ is then a factor, shown as the range it spans.
    """
    m, s = trial.predicted_mean, trial.predicted_std
    if m is None or not math.isfinite(m):
        mean = band = "-"
    elif log:
        mean = fmt(10.0**m, unit, with_unit=False)
        band = "-" if s is None else (f"{fmt(10.0 ** (m - s), unit, with_unit=False)}–"
                                      f"{fmt(10.0 ** (m + s), unit, with_unit=False)}")
    else:
        mean = fmt(m, unit, with_unit=False)
        band = "-" if s is None else f"{fmt(m - s, unit, with_unit=False)}–{fmt(m + s, unit, with_unit=False)}"
    p = trial.predicted_failure
    return [mean, band, "-" if p is None else fmt(100.0 * p, "%", with_unit=False)]


def trials_table(trials: Sequence[Trial], fields: Sequence[str], objective: Any, notes: Sequence[str]) -> str:
    """One row per trial: id, state, the searched fields, R_int, the prediction at proposal (±1 σ, P(fail))."""
    unit = field_unit(objective.minimize) or "objective units"
    columns = [Column("trial"), Column("state", left=True),
               *(Column(f, field_unit(f) if field_unit(f) != "1" else "") for f in fields),
               Column("R_int", "Ω·cm²"), Column("predicted", unit), Column("predicted ±1σ", unit),
               Column("P(fail)", "%"), Column("note", left=True)]
    rows = []
    for t, note in zip(trials, notes, strict=True):
        rows.append([str(t.id), t.state,
                     *(fmt(t.recipe.get(f), field_unit(f), with_unit=False) for f in fields),
                     fmt(t.interface_resistance_ohm_cm2, "Ω·cm²", with_unit=False),
                     *prediction_cells(t, objective.log, unit), note])
    return render(columns, rows)


def recipe_line(recipe: dict[str, Any]) -> str:
    """``rf_power_w = 110 W, pressure_pa = 0.499 Pa, ...``: a recipe at its fields' precision, with units, wrapped
    to lines of at most 118 characters."""
    lines: list[str] = []
    for item in (f"{k} = {fmt(v, field_unit(k))}" for k, v in recipe.items()):
        if lines and len(lines[-1]) + 2 + len(item) <= 118:
            lines[-1] += ", " + item
        else:
            lines.append(item)
    return ",\n".join(lines)
