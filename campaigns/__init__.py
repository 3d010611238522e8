"""Campaigns: optimisation of recipes (store, space, strategies, runner) and what-if simulations.

>>> from campaigns import CampaignConfig
>>> cfg = CampaignConfig.from_text('[campaign]\\nname = "x"\\n[space]\\nrf_power_w = [30.0, 200.0]\\n')
>>> cfg.space.names, cfg.strategy, cfg.budget
(('rf_power_w',), 'gp', 30)
"""

from campaigns.config import CampaignConfig, Objective, Outcome
from campaigns.errors import CampaignError, RunnerBusyError, StoreError, TrialStateError
from campaigns.space import Dimension, SearchSpace
from campaigns.store import Campaign, CampaignStore, Trial, TrialEvent

__all__ = [
    "Campaign", "CampaignConfig", "CampaignError", "CampaignStore", "Dimension", "Objective", "Outcome",
    "RunnerBusyError", "SearchSpace", "StoreError", "Trial", "TrialEvent", "TrialStateError",
]
