"""Helpers of the multi-objective campaign tests: a small campaign file with ``[[objectives]]`` (5 dimensions)."""

from __future__ import annotations

from pathlib import Path

GOALS = """
[[objectives]]
field = "interface_resistance_ohm_cm2"
log = true
[[objectives]]
field = "process_time_s"
"""

MO_SMALL = """{top}
[campaign]
name = "{name}"
budget = {budget}
batch_size = {batch}
seed = {seed}
{goals}
[constraints]
max_process_time_h = 72.0
thickness_tolerance = 0.10
{outcomes}

[strategy]
name = "{strategy}"
{settings}

[space]
rf_power_w = [30.0, 240.0]
seed_thickness_nm = [0.0, 10.0]
pressure_pa = {{ low = 0.2, high = 3.0, log = true }}
n2_fraction = [0.0, 1.0]
pumpdown_min = {{ low = 30.0, high = 2880.0, log = true }}

[fixed]
target_thickness_nm = 100.0
transfer = "vacuum"

[tool]
{tool}
"""


def mo_text(*, budget: int = 8, batch: int = 1, seed: int = 3, strategy: str = "random", settings: str = "",
            goals: str = GOALS, outcomes: str = 'outcomes = ["interface_resistance_ohm_cm2 <= 30"]', top: str = "",
            approval: bool = False, tool: str | None = None, name: str = "mo") -> str:
    """The text of a small multi-objective campaign file."""
    tool = tool if tool is not None else f'type = "simulated"\nrequire_approval = {str(approval).lower()}'
    return MO_SMALL.format(top=top, name=name, budget=budget, batch=batch, seed=seed, goals=goals,
                           outcomes=outcomes, strategy=strategy, settings=settings, tool=tool)


def mo_campaign(tmp: Path, file: str = "mo.toml", **kw) -> Path:
    """Write :func:`mo_text` to ``tmp / file`` and return its path."""
    path = tmp / file
    path.write_text(mo_text(**kw), encoding="utf-8")
    return path
