"""A campaign store filled on the twin, for the dashboard's tests, benchmark and demos.

The campaign is a real ``gp`` campaign (:data:`SAMPLE_TOML`) whose space-filling initial design covers the first
``n_done`` trials, so no GP is fitted while they run: each goes through the store's life cycle (proposed →
approved → running → done) and its result is a real twin run by the campaign runner (one simulated chamber
carrying target erosion from run to run). The ``n_proposed`` proposals at the end are the GP strategy's own,
asked after it was told every outcome, stored with its predicted mean, standard deviation and expected
improvement. :func:`add_awaiting_measurement` then runs some of them as a tool that cannot measure the interface
resistance would, leaving them ``awaiting_measurement``.
"""

from __future__ import annotations

from pathlib import Path

from campaigns.config import CampaignConfig
from campaigns.runner import Runner, load_campaign, open_campaign, propose
from campaigns.store import CampaignStore
from twin import Chamber, Recipe, simulate

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


CANNOT_MEASURE = "the tool cannot measure the interface resistance"
"""The reason the campaign runner records for a run left awaiting its measurement."""


def add_awaiting_measurement(path: str | Path, n: int = 2, *, campaign: int | str = 1,
                             reviewer: str = "sample-builder") -> list[int]:
    """Run ``n`` of the campaign's proposals as a real tool without an impedance analyser would: approved, run
    (the twin's deterministic run in the campaign's chamber) and recorded with no interface resistance, so each
    waits in ``awaiting_measurement``, as the campaign runner leaves such a run.

    Returns
    -------
    list of int
        The trial ids now awaiting a measurement, in trial order.
    """
    with CampaignStore(path, create=False) as store:
        cid, _, chamber = load_campaign(store, campaign)
        trials = store.trials(cid)
        next_run = 1 + max((t.run_index for t in trials if t.run_index is not None), default=-1)
        ids = [t.id for t in trials if t.state == "proposed"][:n]
        if len(ids) < n:
            raise ValueError(f"n={n} must be at most the {len(ids)} proposals of campaign {campaign}")
        for k, tid in enumerate(ids):
            store.approve(tid, reviewer, "sample run awaiting its measurement")
            store.mark_running(tid, next_run + k, tool="sample")
            result = simulate(Recipe.from_dict(store.trial(tid).recipe), chamber, deterministic=True).to_dict()
            result.update(interface_resistance_ohm_cm2=None, total_resistance_ohm_cm2=None)
            store.record_result(tid, result, "awaiting_measurement", reason=CANNOT_MEASURE)
    return ids
