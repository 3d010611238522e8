"""A multi-objective campaign's front as plain values, for the review app's Pareto tab and the HTML report.

Everything comes from :mod:`campaigns.front` (the measured Pareto set, the hypervolume history, the model's
predicted front) and the trials' stored predictions, converted to each goal's own units, so the figures
(:mod:`dashboards.figures_front`) are pure builders of these values.
"""

from __future__ import annotations

import math
import threading
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from campaigns.config import CampaignConfig
from campaigns.front import (
    hypervolume_history,
    measured_runs,
    observed_count,
    predicted_front,
    propose_front_point,
    value_band,
)
from campaigns.records import Trial
from twin import Chamber

PENDING = ("proposed", "approved", "running", "awaiting_measurement")


@dataclass(frozen=True)
class GoalInfo:
    """A goal as the figures label it."""

    field: str
    unit: str
    direction: str
    log: bool

    @property
    def label(self) -> str:
        """``"interface_resistance_ohm_cm2 [Ω·cm²] (min)"``."""
        unit = f" [{self.unit}]" if self.unit not in ("", "1") else ""
        return f"{self.field}{unit} ({'max' if self.direction == 'maximize' else 'min'})"


@dataclass(frozen=True)
class FrontData:
    """The front of a campaign: goals; measured runs (``trial_id``, ``state``, ``values``, ``feasible``,
    ``on_front``, ``reason``); the predicted front (``k``, ``values``, ``lo``, ``hi``: ±1 σ), empty without a
    model; pending proposals with their predicted position (``trial_id``, ``state``, ``values``, ``lo``, ``hi``,
    ``p_feasible``, ``acquisition``, ``picked``); the hypervolume after each run and its reference's source."""

    goals: list[GoalInfo]
    measured: list[dict[str, Any]] = field(default_factory=list)
    predicted: list[dict[str, Any]] = field(default_factory=list)
    proposals: list[dict[str, Any]] = field(default_factory=list)
    hv_trials: list[int] = field(default_factory=list)
    hypervolume: list[float] = field(default_factory=list)
    reference_source: str = "none"
    has_model: bool = False


def _bands(goals: Sequence[Any], mean: Sequence[float | None], std: Sequence[float | None]) -> tuple[list, list, list]:
    v, lo, hi = zip(*(value_band(g, m, s) for g, m, s in zip(goals, mean, std, strict=True)), strict=True)
    return list(v), list(lo), list(hi)


def front_data(config: CampaignConfig, chamber: Chamber, trials: Sequence[Trial], *,
               with_model: bool = True) -> FrontData:
    """The front of a multi-objective campaign (``with_model=False`` skips the strategy's predicted front)."""
    goals = config.objective.goals  # type: ignore[union-attr]
    info = [GoalInfo(g.field, g.unit, g.direction, g.log) for g in goals]
    measured = [{"trial_id": r.trial.id, "state": r.trial.state,
                 "values": list(r.outcome.values) if r.outcome.values else [math.nan] * len(goals),
                 "feasible": r.outcome.feasible, "on_front": r.on_front, "reason": r.outcome.reason}
                for r in measured_runs(config, trials)]
    predicted = []
    front = predicted_front(config, chamber, trials) if with_model else None
    if front is not None:
        for k in range(len(front)):
            v, lo, hi = _bands(goals, front.mean[k], front.std[k])
            predicted.append({"k": k, "values": v, "lo": lo, "hi": hi})
    proposals = []
    for t in trials:
        p = t.prediction or {}
        if t.state not in PENDING or not p.get("mean"):
            continue
        v, lo, hi = _bands(goals, p["mean"], p.get("std") or [None] * len(goals))
        proposals.append({"trial_id": t.id, "state": t.state, "values": v, "lo": lo, "hi": hi,
                          "p_feasible": p.get("p_feasible"), "acquisition": p.get("acquisition"),
                          "picked": "picked_from_front" in t.provenance})
    h = hypervolume_history(config, trials)
    return FrontData(info, measured, predicted, proposals, h.trial_ids, h.hypervolume, h.reference_source,
                     front is not None)


class FrontCache:
    """The front of each campaign, rebuilt only when its trials change (the predicted front refits the strategy's
    models, seconds per campaign); one fit per campaign at a time."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._fit_locks: dict[int, threading.Lock] = {}
        self._cache: dict[int, tuple[Any, tuple[FrontData, int]]] = {}

    def get(self, campaign_id: int, config: CampaignConfig, chamber: Chamber,
            trials: Sequence[Trial]) -> tuple[FrontData, int]:
        """``(front, observed)``: the campaign's :class:`FrontData` and how many outcomes it was computed from."""
        key = tuple((t.id, t.state, t.run_index) for t in trials)
        with self._lock:
            lock = self._fit_locks.setdefault(campaign_id, threading.Lock())
        with lock:
            hit = self._cache.get(campaign_id)
            if hit is not None and hit[0] == key:
                return hit[1]
            value = (front_data(config, chamber, trials), observed_count(config, trials))
            self._cache[campaign_id] = (key, value)
            return value


def pick_front_point(store: Any, campaign_id: int, config: CampaignConfig, chamber: Chamber, k: int,
                     reviewer: str | None, observed: int | None) -> Trial:
    """Propose point ``k`` of the predicted front for review (:func:`campaigns.front.propose_front_point`), as
    ``reviewer``; ``observed`` is how many outcomes the front the reviewer saw was computed from."""
    tid = propose_front_point(store, campaign_id, config, chamber, k, actor=(reviewer or "").strip(),
                              expect_observed=observed)
    return store.trial(tid)


def point_label(fd: FrontData, point: dict[str, Any]) -> str:
    """``"K 3: interface_resistance_ohm_cm2 7.68 Ω·cm², process_time_s 4679 s"``: a predicted-front point in a
    list."""
    parts = [f"{g.field} {_num(v)}{' ' + g.unit if g.unit not in ('', '1') else ''}"
             for g, v in zip(fd.goals, point["values"], strict=True)]
    return f"K {point['k']}: " + ", ".join(parts)


def _num(v: float) -> str:
    return "–" if v is None or not math.isfinite(v) else f"{v:.4g}"


__all__ = ["FrontCache", "FrontData", "GoalInfo", "front_data", "pick_front_point", "point_label"]
