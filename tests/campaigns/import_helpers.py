"""Helpers of the import tests: a store holding the small campaign, files of past runs, the store's digest."""

from __future__ import annotations

import csv
import hashlib
from pathlib import Path
from typing import Any

from campaigns.config import CampaignConfig
from campaigns.runner import open_campaign
from campaigns.store import CampaignStore
from tests.campaigns.helpers import small_campaign
from twin import Chamber

GOOD_ROWS: list[dict[str, Any]] = [
    {"rf_power_w": 110, "seed_thickness_nm": 5, "seed_power_w": 30, "pressure_pa": 0.5, "n2_fraction": 1,
     "pumpdown_min": 1440, "interface_resistance_ohm_cm2": 9.4},
    {"rf_power_w": 200, "seed_thickness_nm": 0, "seed_power_w": 30, "pressure_pa": 1.5, "n2_fraction": 0.5,
     "pumpdown_min": 60, "interface_resistance_ohm_cm2": 31.0},
    {"rf_power_w": 60, "seed_thickness_nm": 2, "seed_power_w": 20, "pressure_pa": 0.3, "n2_fraction": 0,
     "pumpdown_min": 300, "interface_resistance_ohm_cm2": 14.2},
    {"rf_power_w": 150, "seed_thickness_nm": 8, "seed_power_w": 50, "pressure_pa": 2.0, "n2_fraction": 0.8,
     "pumpdown_min": 100, "interface_resistance_ohm_cm2": 18.9},
    {"rf_power_w": 90, "seed_thickness_nm": 3, "seed_power_w": 40, "pressure_pa": 0.8, "n2_fraction": 0.9,
     "pumpdown_min": 2000, "interface_resistance_ohm_cm2": 10.8},
]
"""Five past runs of the small campaign (its six searched fields and R_int), every value inside its space."""


def write_csv(path: Path, rows: list[dict[str, Any]], header: list[str] | None = None) -> Path:
    """Write ``rows`` as CSV (``header``: the columns, default every row's keys in order; a missing cell is
    empty)."""
    header = header or list(dict.fromkeys(k for r in rows for k in r))
    with path.open("w", newline="", encoding="utf-8") as fh:
        w = csv.writer(fh)
        w.writerow(header)
        for r in rows:
            w.writerow(["" if r.get(h) is None else r.get(h) for h in header])
    return path


def make_store(tmp: Path, *, budget: int = 10, strategy: str = "gp", name: str = "s.sqlite") -> tuple[Path, Path]:
    """A store holding the small campaign (no trials yet): (store path, campaign file)."""
    cfile = small_campaign(tmp, budget=budget, strategy=strategy)
    store = tmp / name
    with CampaignStore(store) as s:
        open_campaign(s, CampaignConfig.from_toml(cfile), Chamber())
    return store, cfile


def digest(path: Path) -> str:
    """sha256 over the store file and its -wal / -shm siblings (names and bytes)."""
    h = hashlib.sha256()
    for p in sorted(path.parent.glob(path.name + "*")):
        h.update(p.name.encode() + p.read_bytes())
    return h.hexdigest()
