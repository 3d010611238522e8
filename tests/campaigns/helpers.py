"""Helpers of the campaign tests: a small, fast campaign file (6 dimensions)."""

from __future__ import annotations

from pathlib import Path

SMALL = """
[campaign]
name = "small"
budget = {budget}
batch_size = {batch}
seed = {seed}

[constraints]
max_process_time_h = 72.0
thickness_tolerance = 0.10

[strategy]
name = "{strategy}"
{strategy_settings}

[space]
rf_power_w = [30.0, 240.0]
seed_thickness_nm = [0.0, 10.0]
seed_power_w = [15.0, 120.0]
pressure_pa = {{ low = 0.2, high = 3.0, log = true }}
n2_fraction = [0.0, 1.0]
pumpdown_min = {{ low = 30.0, high = 2880.0, log = true }}

[fixed]
target_thickness_nm = 100.0
transfer = "vacuum"

[tool]
type = "simulated"
require_approval = {approval}
"""


def small_campaign(tmp: Path, *, budget: int = 10, batch: int = 1, seed: int = 3, strategy: str = "gp",
                   approval: bool = False, name: str = "small.toml", settings: str | None = None) -> Path:
    """Write a small campaign file (6 dimensions) and return its path."""
    if settings is None:
        settings = 'n_initial = 4\nn_points = 2000\nacq_optimizer = "sampling"' if strategy == "gp" else ""
    path = tmp / name
    path.write_text(SMALL.format(budget=budget, batch=batch, seed=seed, strategy=strategy,
                                 strategy_settings=settings, approval=str(approval).lower()), encoding="utf-8")
    return path
