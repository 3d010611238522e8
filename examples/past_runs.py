"""Writes ``examples/past_runs.csv``: 50 past runs of a lab, made on the twin, as a lab's spreadsheet holds them.

The runs are a lab's earlier screen of the campaign's space: a Latin hypercube design (seeded, ``--seed``), each
run on the *stochastic* simulated tool (random events, shorts, 5 % measurement noise on R_int) with its own random
stream, every run starting in the chamber's initial state (``[state]``: freshly vented). Nothing is chosen to suit
a benchmark: the design is space-filling and the same for every purpose.

The columns are written in a lab's units, to show the conversions ``campaign import`` makes: pressure in mTorr,
distance in cm, pump-down in hours, N2 as a percentage, process time in hours; the fields the campaign fixes are
left out (they take its ``[fixed]`` values). A shorted cell has an empty R_int and ``shorted = yes``. The chamber
state each run started in is in the context columns, and each run has a date (one a working day from
``--start``).

    .venv/bin/python examples/past_runs.py [--campaign examples/campaigns/lipon_throughput.toml] [--n 50]
        [--seed 2025] [--out examples/past_runs.csv]

``benchmarks/import_headstart.py`` uses :func:`design` and :func:`to_frame` for its past runs, with one seed per
campaign seed.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from datetime import date, timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from campaigns.config import CampaignConfig  # noqa: E402
from twin import Chamber, Recipe, RunResult, SimulatedTool  # noqa: E402
from twin.units import to_tool  # noqa: E402

CAMPAIGN = ROOT / "examples" / "campaigns" / "lipon_throughput.toml"
DIGITS = 6
"""Significant digits written (a spreadsheet's precision; enough that no value leaves the space by rounding)."""

LAB_UNITS = {"pressure_pa": ("pressure_mtorr", "Pa", "mTorr"), "target_substrate_distance_mm":
             ("target_substrate_distance_cm", "mm", "cm"), "pumpdown_min": ("pumpdown_h", "min", "h"),
             "n2_fraction": ("n2_percent", "1", "%")}
"""Recipe fields written in another unit: field → (column, canonical unit, lab unit)."""


def design(config: CampaignConfig, n: int, seed: int) -> list[Recipe]:
    """``n`` recipes of a Latin hypercube design of ``config``'s space (seeded)."""
    from scipy.stats import qmc

    u = qmc.LatinHypercube(len(config.space), seed=seed).random(n)
    return [config.space.to_recipe(p) for p in config.space.from_unit_cube(u)]


def _g(v: float) -> float:
    return float(f"{v:.{DIGITS}g}")


def to_frame(config: CampaignConfig, results: Sequence[RunResult], states: Sequence[dict[str, float]],
             start: date = date(2025, 1, 6)) -> Any:
    """The runs as a lab's table: searched fields (in lab units), results, context and a date per run."""
    import pandas as pd

    rows = []
    day = start
    for res, state in zip(results, states, strict=True):
        rd = res.recipe.to_dict()
        row: dict[str, Any] = {"run_date": day.isoformat()}
        for d in config.space.dimensions:
            if d.name in LAB_UNITS:
                column, unit, lab = LAB_UNITS[d.name]
                row[column] = _g(to_tool(rd[d.name], unit, lab))
            else:
                row[d.name] = rd[d.name] if isinstance(rd[d.name], str) else _g(rd[d.name])
        row["interface_resistance_ohm_cm2"] = None if res.shorted else _g(res.interface_resistance_ohm_cm2)
        row["thickness_nm"] = _g(res.thickness_nm)
        row["process_time_h"] = _g(res.process_time_s / 3600.0)
        row["shorted"] = "yes" if res.shorted else "no"
        row["hours_since_vent"] = _g(state["hours_since_vent"])
        row["target_kwh"] = _g(state["target_kwh"])
        rows.append(row)
        day += timedelta(days=3 if day.weekday() == 4 else 1)
    return pd.DataFrame(rows)


def initial_state(chamber: Chamber) -> dict[str, float]:
    """The chamber state every run here starts in: its ``[state]`` (hours since vent, target and shield kWh)."""
    return {k: float(getattr(chamber.state, k)) for k in ("hours_since_vent", "target_kwh", "shield_kwh")}


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--campaign", type=Path, default=CAMPAIGN)
    p.add_argument("--n", type=int, default=50)
    p.add_argument("--seed", type=int, default=2025)
    p.add_argument("--out", type=Path, default=ROOT / "examples" / "past_runs.csv")
    a = p.parse_args(argv)
    config = CampaignConfig.from_toml(a.campaign)
    chamber = Chamber()
    results = [SimulatedTool(chamber, seed=a.seed, run_index=k).run(r)
               for k, r in enumerate(design(config, a.n, a.seed))]
    to_frame(config, results, [initial_state(chamber)] * len(results)).to_csv(a.out, index=False)
    print(f"wrote {len(results)} past runs to {a.out} ({sum(r.shorted for r in results)} shorted)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
