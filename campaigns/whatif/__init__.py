"""What-if simulations at scale: scenario files, their design, and runs on a Dask cluster.

>>> from campaigns.whatif import Plan, Scenario
>>> plan = Plan(Scenario.from_toml("examples/scenarios/small.toml"))
>>> plan.sweep_runs, plan.total_runs
(48, 88)
"""

from campaigns.whatif.engine import run_chunk, schema
from campaigns.whatif.errors import ClusterError, ScenarioError
from campaigns.whatif.plan import SENSITIVITY, SWEEP, Plan, sequence_seed
from campaigns.whatif.runner import RunInfo, dask_client, parts_dir, read_partial, run_plan
from campaigns.whatif.scenario import Factor, Scenario, SensitivitySpec, parameter_names
from campaigns.whatif.summary import format_sensitivity, format_summary, read_runs, sensitivity, summarize

__all__ = [
    "SENSITIVITY", "SWEEP", "ClusterError", "Factor", "Plan", "RunInfo", "Scenario", "ScenarioError",
    "SensitivitySpec", "dask_client", "format_sensitivity", "format_summary", "parameter_names", "parts_dir",
    "read_partial", "read_runs", "run_chunk", "run_plan", "schema", "sensitivity", "sequence_seed", "summarize",
]
