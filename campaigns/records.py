"""Records of the campaign store: campaigns, trials and event-log rows as frozen dataclasses, and trial states."""

from __future__ import annotations

import dataclasses
import json
import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

STATES = ("proposed", "approved", "running", "done", "failed", "awaiting_measurement", "rejected", "interrupted")
PENDING_STATES = ("proposed", "approved", "running")
"""States of a trial that has not produced an outcome yet."""
FINISHED_STATES = ("done", "failed", "awaiting_measurement")
"""States of a trial whose run has happened on the tool."""


def _json(value: Any) -> str:
    """JSON with NaN and infinity written as null (strict JSON)."""

    def clean(v: Any) -> Any:
        if isinstance(v, float) and not math.isfinite(v):
            return None
        if isinstance(v, dict):
            return {str(k): clean(x) for k, x in v.items()}
        if isinstance(v, list | tuple):
            return [clean(x) for x in v]
        return v

    return json.dumps(clean(value), sort_keys=True, allow_nan=False)


def trial_name(trial_id: int) -> str:
    """How every surface names a trial: ``"trial 5"``, with the store's trial id.

    The CLI, the HTML report, the dashboard, the export (its ``trial_id`` column) and the event log all show this
    one number, and it is the number that ``campaign approve``, ``reject`` and ``measure`` take. A trial's
    position in its campaign (``Trial.index``) orders proposals internally and is never shown as a trial number.

    >>> trial_name(5)
    'trial 5'
    """
    return f"trial {int(trial_id)}"


@dataclass(frozen=True)
class Campaign:
    """A campaign as stored: its id, name, the campaign TOML text, when it was created (UTC ISO 8601), the
    chamber it runs on (TOML text, None if not recorded) and command-line overrides of the file (e.g. the seed)."""

    id: int
    name: str
    config_toml: str
    created: str
    chamber_toml: str | None = None
    overrides: dict[str, Any] = dataclasses.field(default_factory=dict)


@dataclass(frozen=True)
class Trial:
    """One proposed recipe and everything that happened to it. Times are UTC ISO 8601 strings."""

    id: int
    campaign_id: int
    index: int
    """Position in the campaign from 0: orders the proposals; never shown as the trial's number (that is ``id``)."""
    batch: int
    state: str
    recipe: dict[str, Any]
    result: dict[str, Any] | None
    run_index: int | None
    predicted_mean: float | None
    predicted_std: float | None
    expected_improvement: float | None
    proposed_at: str
    approved_at: str | None
    started_at: str | None
    finished_at: str | None
    reviewer: str | None
    comment: str | None
    provenance: dict[str, Any]
    predicted_failure: float | None = None
    """The strategy's chance [0–1] that this recipe's run fails, at proposal time (``gp`` with
    ``failure_penalty = "model"``; None where failure is not modelled, or the store predates schema 2)."""
    extras: dict[str, Any] = dataclasses.field(default_factory=dict)
    """Extra variables sent to the tool with the recipe (``[space.extra.NAME]`` of the campaign); empty for a
    campaign without extras, or a store that predates schema 3."""
    prediction: dict[str, Any] = dataclasses.field(default_factory=dict)
    """A multi-objective strategy's prediction at proposal time, in score units (every goal minimised: log10 where
    the goal is logged, negated where it is maximised; :mod:`campaigns.objectives`): ``mean`` and ``std`` (one per
    goal, in the order of ``goals``), ``p_feasible`` (the chance that the run succeeds and meets every outcome
    constraint) and ``acquisition`` (the acquisition value the strategy ranked it by), each None where the strategy
    has no such model. Empty for a single-objective campaign, a strategy without a model, or a store that predates
    schema 4. A trial a reviewer picked from the predicted front carries the same prediction."""

    @property
    def name(self) -> str:
        """``"trial 5"``: the trial as every surface names it (:func:`trial_name`)."""
        return trial_name(self.id)

    @property
    def interface_resistance_ohm_cm2(self) -> float:
        """Measured interface resistance [Ω·cm²]; NaN while unknown."""
        if not self.result or self.result.get("interface_resistance_ohm_cm2") is None:
            return math.nan
        return float(self.result["interface_resistance_ohm_cm2"])


@dataclass(frozen=True)
class TrialEvent:
    """One row of the event log: a state change, a command or a note."""

    id: int
    campaign_id: int
    trial_id: int | None
    time: str
    actor: str
    kind: str
    from_state: str | None
    to_state: str | None
    detail: dict[str, Any]


def is_imported(trial: Trial) -> bool:
    """Whether ``trial`` is a past run imported from a file (``campaign import``), not a run of the campaign's
    tool: provenance ``{"imported": true, ...}``. Such a trial teaches the strategy and calibration like a run, has
    no run index, and does not count against the campaign's budget of new runs."""
    return bool(trial.provenance.get("imported"))


def runs_used(trials: Sequence[Trial]) -> int:
    """Runs of the campaign's budget used: trials that reached the tool (done, failed, awaiting measurement),
    imported past runs not counted."""
    return sum(t.state in FINISHED_STATES and not is_imported(t) for t in trials)


def trial_history(trials: Sequence[Trial]) -> list[dict[str, Any]]:
    """What happened, without wall-clock times: index, state, recipe, result, run index (for comparisons)."""
    return [dataclasses.asdict(t) | {k: None for k in ("proposed_at", "approved_at", "started_at", "finished_at",
                                                       "id", "campaign_id")} for t in trials]
