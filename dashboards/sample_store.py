"""A campaign store filled on the twin, for the dashboard's tests, benchmark and demos.

The campaign is a real ``gp`` campaign (:data:`SAMPLE_TOML`) whose space-filling initial design covers the first
``n_done`` trials, so no GP is fitted while they run: each goes through the store's life cycle (proposed →
approved → running → done) and its result is a real twin run by the campaign runner (one simulated chamber
carrying target erosion from run to run). The ``n_proposed`` proposals at the end are the GP strategy's own,
asked after it was told every outcome, stored with its predicted mean, standard deviation and expected
improvement.
"""

from __future__ import annotations

from pathlib import Path

from campaigns.config import CampaignConfig
from campaigns.runner import Runner, open_campaign, propose
from campaigns.store import CampaignStore
from twin import Chamber

SAMPLE_TOML = """[campaign]
name = "{name}"
description = "sample campaign written by dashboards.sample_store"
budget = {budget}
seed = {seed}

[objective]
minimize = "interface_resistance_ohm_cm2"
log = true

[strategy]
name = "gp"
n_initial = {n_initial}
n_points = 2000
n_restarts_optimizer = 1

[space]
rf_power_w = [30.0, 200.0]
seed_power_w = [15.0, 80.0]
seed_thickness_nm = [0.0, 10.0]
pressure_pa = {{ low = 0.2, high = 3.0, log = true }}
target_substrate_distance_mm = [50.0, 100.0]
pumpdown_min = [60.0, 600.0]

[fixed]
target_thickness_nm = 100.0

[tool]
type = "simulated"
require_approval = true
"""


def build_sample_store(path: str | Path, n_done: int = 60, n_proposed: int = 3, *, seed: int = 0,
                       name: str = "sample", chamber: Chamber | None = None) -> int:
    """Add a campaign of ``n_done`` finished twin runs and ``n_proposed`` GP proposals to the store at ``path``.

    The campaign's own machinery does the work: :func:`campaigns.runner.propose` proposes the initial design,
    the builder approves it as reviewer ``sample-builder``, :class:`campaigns.runner.Runner` runs it on the
    simulated tool, and :func:`~campaigns.runner.propose` asks the GP for the proposals left awaiting review.

    Returns
    -------
    int
        The campaign's id.
    """
    chamber = chamber or Chamber()
    text = SAMPLE_TOML.format(name=name, budget=n_done + n_proposed, seed=seed, n_initial=max(n_done, 1))
    config = CampaignConfig.from_text(text, chamber=chamber)
    with CampaignStore(path) as store:
        cid = open_campaign(store, config, chamber)
        if n_done:
            for tid in propose(store, cid, config, chamber, n_done):
                store.approve(tid, "sample-builder", "initial design")
            Runner(store, cid, budget=n_done).run()
        if n_proposed:
            propose(store, cid, config, chamber, n_proposed)
    return cid
