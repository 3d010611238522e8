"""A campaign store filled on the twin, for the dashboard's tests, benchmark and demos.

Trials go through the store's own life cycle (propose → approve → running → done) and their results are real
twin runs (:class:`twin.SimulatedTool`, one chamber carrying target erosion from run to run). Recipes are drawn
by a seeded Latin-hypercube-like sampler inside :data:`SAMPLE_BOUNDS`, not by an optimiser, so building a
200-trial store takes well under a second of simulation.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from campaigns.store import CampaignStore
from twin import Chamber, Recipe, SimulatedTool

SAMPLE_BOUNDS: dict[str, tuple[float, float]] = {
    "rf_power_w": (30.0, 200.0),
    "seed_power_w": (15.0, 80.0),
    "seed_thickness_nm": (0.0, 10.0),
    "pressure_pa": (0.2, 3.0),
    "target_substrate_distance_mm": (50.0, 100.0),
    "pumpdown_min": (60.0, 600.0),
}
"""Search space of the sample campaign (inside the default chamber's limits)."""

SAMPLE_TOML = """[campaign]
name = "{name}"
# sample campaign written by dashboards.sample_store (random recipes on the twin)
"""


def sample_recipes(n: int, seed: int) -> list[Recipe]:
    """``n`` recipes, one stratum per recipe in each bounded field (shuffled independently), seeded."""
    rng = np.random.default_rng(seed)
    cols = {}
    for name, (lo, hi) in SAMPLE_BOUNDS.items():
        u = (rng.permutation(n) + rng.random(n)) / n
        cols[name] = lo + u * (hi - lo)
    return [Recipe(**{k: float(round(v[i], 4)) for k, v in cols.items()}) for i in range(n)]


def build_sample_store(path: str | Path, n_done: int = 60, n_proposed: int = 3, *, seed: int = 0,
                       name: str = "sample", chamber: Chamber | None = None) -> int:
    """Add a campaign of ``n_done`` finished twin runs and ``n_proposed`` proposals to the store at ``path``.

    Proposals carry a prediction (mean, std, EI) from the nearest finished runs, as a strategy would store.

    Returns
    -------
    int
        The campaign's id.
    """
    chamber = chamber or Chamber()
    recipes = sample_recipes(n_done + n_proposed, seed)
    tool = SimulatedTool(chamber, seed=seed)
    with CampaignStore(path) as store:
        cid = store.create_campaign(name, SAMPLE_TOML.format(name=name))
        provenance = {"strategy": "sample", "seed": seed}
        ids = store.add_proposals(cid, recipes[:n_done], provenance=provenance)
        r_int = []
        for tid, recipe in zip(ids, recipes[:n_done], strict=True):
            store.approve(tid, "sample-builder", "")
            store.mark_running(tid, actor="sample-builder", tool="simulated")
            res = tool.run(recipe)
            store.record_result(tid, res.to_dict(), "done", actor="sample-builder")
            r_int.append(res.interface_resistance_ohm_cm2)
        y = np.log(np.asarray(r_int))
        best = float(np.min(r_int)) if r_int else float("nan")
        preds = []
        for recipe in recipes[n_done:]:
            x = np.array([getattr(recipe, k) for k in SAMPLE_BOUNDS])
            xs = np.array([[getattr(r, k) for k in SAMPLE_BOUNDS] for r in recipes[:n_done]])
            width = np.array([hi - lo for lo, hi in SAMPLE_BOUNDS.values()])
            d = np.sqrt((((xs - x) / width) ** 2).sum(axis=1))
            near = np.argsort(d)[:5]
            mean = float(np.exp(y[near].mean()))
            std = float(mean * y[near].std())
            preds.append((mean, std, max(best - mean, 0.0) + 0.1 * std))
        store.add_proposals(cid, recipes[n_done:], provenance=provenance, predictions=preds)
    return cid
