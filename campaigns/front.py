"""The Pareto front of a multi-objective campaign: the measured Pareto set, the model's predicted front, the
hypervolume history, and a reviewer's pick of a predicted-front point as a proposal.

Everything is read from the store's trials (and, for the predicted front, from the strategy rebuilt by replaying
``tell``, exactly as the runner proposes), so the CLI, the export, the dashboard and the HTML report show the same
numbers. Scores follow :mod:`campaigns.objectives`: every goal minimised (log10 where logged, negated where
maximised); values are in the goals' own units.

**Reference point** of the hypervolume: the campaign file's (``reference`` per goal or ``reference_point``), else
:func:`campaigns.pareto.default_reference` of every feasible measured run's scores (worst + 10 % of the range). The
latter moves as runs arrive, so each history is computed with one reference (the one from all runs so far) and
says which: hypervolumes from different moments of a campaign without a file reference are not comparable.

**Runs** are the trials that reached the tool and have an outcome (done or failed; not rejected, not awaiting a
measurement), in the order the tool ran them (``run_index``, else proposal order). Only feasible runs (no failure,
every outcome constraint met) can be on the measured front.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from campaigns.config import CampaignConfig
from campaigns.errors import CampaignError
from campaigns.objectives import Goal, MultiObjective, MultiOutcome
from campaigns.pareto import default_reference, hypervolume, pareto_mask
from campaigns.records import Trial
from twin import Chamber


def _multi(config: CampaignConfig) -> MultiObjective:
    if not config.is_multi:
        raise CampaignError("objectives", config.name, "not a multi-objective campaign (it has one [objective])",
                            "a campaign with [[objectives]]")
    return config.objective  # type: ignore[return-value]


@dataclass(frozen=True)
class MeasuredRun:
    """One run of a multi-objective campaign: its trial, outcome, and whether it is on the measured front."""

    trial: Trial
    outcome: MultiOutcome
    on_front: bool


def measured_runs(config: CampaignConfig, trials: Sequence[Trial]) -> list[MeasuredRun]:
    """Every run with an outcome, in run order, marked on the measured Pareto front or not (see the module)."""
    mo = _multi(config)
    runs = [(t, o) for t in trials if t.state in ("done", "failed") and (o := mo.outcome(t)) is not None]
    runs.sort(key=lambda to: (to[0].run_index if to[0].run_index is not None else math.inf, to[0].index))
    feasible = [k for k, (_, o) in enumerate(runs) if o.feasible]
    on = np.zeros(len(runs), bool)
    if feasible:
        on[feasible] = pareto_mask([runs[k][1].scores for k in feasible])
    return [MeasuredRun(t, o, bool(f)) for (t, o), f in zip(runs, on, strict=True)]


def pareto_set(config: CampaignConfig, trials: Sequence[Trial]) -> list[MeasuredRun]:
    """The measured Pareto set: feasible runs that no other feasible run dominates, in run order."""
    return [r for r in measured_runs(config, trials) if r.on_front]


def reference_point(config: CampaignConfig, trials: Sequence[Trial]) -> tuple[np.ndarray | None, str]:
    """The hypervolume's reference point in score units and where it comes from (``"file"`` or ``"default"``);
    ``(None, "none")`` while no run is feasible and the file gives none."""
    mo = _multi(config)
    ref = mo.reference_scores()
    if ref is not None:
        return ref, "file"
    scores = [r.outcome.scores for r in measured_runs(config, trials) if r.outcome.feasible]
    if not scores:
        return None, "none"
    return default_reference(scores), "default"


@dataclass(frozen=True)
class HypervolumeHistory:
    """Hypervolume of the measured front after each run (score units), with the reference point it used."""

    trial_ids: list[int]
    hypervolume: list[float]
    reference: list[float] | None
    reference_source: str


def hypervolume_history(config: CampaignConfig, trials: Sequence[Trial]) -> HypervolumeHistory:
    """The hypervolume of the feasible runs so far, after each run (one reference point for the whole history)."""
    runs = measured_runs(config, trials)
    ref, source = reference_point(config, trials)
    if ref is None:
        return HypervolumeHistory([r.trial.id for r in runs], [0.0] * len(runs), None, source)
    hv, front = [], []
    for r in runs:
        if r.outcome.feasible:
            front.append(r.outcome.scores)
        hv.append(hypervolume(front, ref) if front else 0.0)
    return HypervolumeHistory([r.trial.id for r in runs], hv, [float(x) for x in ref], source)


def value_band(goal: Goal, mean: float | None, std: float | None) -> tuple[float, float, float]:
    """A predicted score (mean, std) as ``(value, low, high)`` in the goal's units: the mean and its ±1 σ band
    (a factor for a logged goal), low ≤ high; NaN where unknown.

    >>> [round(x, 2) for x in value_band(Goal("interface_resistance_ohm_cm2", log=True), 1.0, 0.1)]
    [10.0, 7.94, 12.59]
    """
    if mean is None or not math.isfinite(float(mean)):
        return math.nan, math.nan, math.nan
    v = goal.value(float(mean))
    if std is None or not math.isfinite(float(std)):
        return v, math.nan, math.nan
    a, b = goal.value(float(mean) - float(std)), goal.value(float(mean) + float(std))
    return v, min(a, b), max(a, b)


@dataclass(frozen=True)
class PredictedFront:
    """The strategy's predicted Pareto front: recipes (recipes or proposals with extras), their predicted scores
    (mean and std, k × goals), sorted by the first goal's score; index ``k`` is what ``--front-point K`` picks."""

    recipes: list[Any]
    mean: np.ndarray
    std: np.ndarray

    def __len__(self) -> int:
        return len(self.recipes)


def predicted_front(config: CampaignConfig, chamber: Chamber, trials: Sequence[Trial], k: int = 50,
                    strategy: Any = None) -> PredictedFront | None:
    """The strategy's predicted front (``predicted_front(k)`` of the rebuilt strategy), or None when the strategy
    has no model of the goals (``random``, ``space-filling``) or is not fitted yet."""
    from campaigns.runner import rebuild_strategy

    _multi(config)
    strategy = strategy if strategy is not None else rebuild_strategy(config, chamber, list(trials))
    if not hasattr(strategy, "predicted_front"):
        return None
    recipes, mean, std = strategy.predicted_front(k)
    mean, std = np.atleast_2d(np.asarray(mean, float)), np.atleast_2d(np.asarray(std, float))
    if len(recipes) == 0 or not np.isfinite(mean).all():
        return None
    order = np.argsort(mean[:, 0], kind="stable")
    return PredictedFront([recipes[i] for i in order], mean[order], std[order])


def vector_predictions(strategy: Any, recipes: Sequence[Any], config: CampaignConfig) -> list[dict[str, Any]]:
    """A multi-objective strategy's prediction of each recipe, as the store keeps it (:attr:`Trial.prediction`):
    ``goals``, ``mean``, ``std`` (score units), ``p_feasible``, ``acquisition``; ``{}`` without a model."""
    if not hasattr(strategy, "predict") or not recipes:
        return [{} for _ in recipes]
    mean, std = strategy.predict(list(recipes))
    mean, std = np.atleast_2d(np.asarray(mean, float)), np.atleast_2d(np.asarray(std, float))
    n = len(recipes)
    feas = np.asarray(strategy.feasibility(list(recipes)), float) if hasattr(strategy, "feasibility") \
        else np.full(n, np.nan)
    acq = np.asarray(strategy.acquisition(list(recipes)), float) if hasattr(strategy, "acquisition") \
        else np.full(n, np.nan)
    goals = list(_multi(config).fields)
    out = [{"goals": goals, "mean": [_f(x) for x in mean[i]], "std": [_f(x) for x in std[i]],
            "p_feasible": _f(feas[i]), "acquisition": _f(acq[i])} for i in range(n)]
    # before the model exists (the initial design) there is nothing to keep
    return [p if any(v is not None for v in (*p["mean"], p["p_feasible"], p["acquisition"])) else {} for p in out]


def _f(x: Any) -> float | None:
    x = float(x)
    return x if math.isfinite(x) else None


def observed_count(config: CampaignConfig, trials: Sequence[Trial]) -> int:
    """How many outcomes the strategy is told (what its predicted front was computed from)."""
    return sum(config.objective.outcome(t) is not None for t in trials)


def propose_front_point(store: Any, campaign_id: int, config: CampaignConfig, chamber: Chamber, index: int, *,
                        actor: str, tool_name: str = "", expect_observed: int | None = None) -> int:
    """Add point ``index`` of the predicted front (:func:`predicted_front`, as status and the dashboard list it)
    as a ``proposed`` trial, whose provenance says a reviewer (``actor``) picked it from the front.

    It waits for approval like any proposal. Refused (:class:`CampaignError`) when the strategy has no predicted
    front, or ``index`` is outside it, or (``expect_observed``: the :func:`observed_count` the front was shown
    for) when a run finished since, which moved the front; refused (:class:`~campaigns.errors.TrialStateError`)
    when someone added a trial meanwhile.
    """
    from campaigns.runner import provenance, rebuild_strategy

    if not actor:
        raise CampaignError("reviewer", actor, "picking a point of the front needs the reviewer's name")
    trials = store.trials(campaign_id)
    n_told = observed_count(config, trials)
    if expect_observed is not None and expect_observed != n_told:
        raise CampaignError("front point", index, f"the predicted front changed since it was shown (it was "
                            f"computed from {expect_observed} outcomes, the campaign now has {n_told}); pick again",
                            source=str(store.path))
    strategy = rebuild_strategy(config, chamber, trials)
    front = predicted_front(config, chamber, trials, strategy=strategy)
    if front is None:
        raise CampaignError("--front-point", index, f"strategy {config.strategy!r} has no predicted front (it has "
                            "no model of the goals, or too few runs succeeded)", "a model-based strategy: mobo, "
                            "twin-mobo", source=str(store.path))
    if isinstance(index, bool) or not isinstance(index, int) or not 0 <= index < len(front):
        raise CampaignError("--front-point", index, "no such point of the predicted front",
                            f"0–{len(front) - 1}", source=str(store.path))
    recipe = front.recipes[index]
    pred = vector_predictions(strategy, [recipe], config)[0]
    pred.update(mean=[_f(x) for x in front.mean[index]], std=[_f(x) for x in front.std[index]])
    prov = provenance(config, strategy, tool_name or config.tool.get("type", "simulated"), n_told)
    prov["picked_from_front"] = {"index": index, "front_size": len(front), "by": actor,
                                 "predicted_mean": pred["mean"], "predicted_std": pred["std"]}
    (tid,) = store.add_proposals(campaign_id, [recipe], provenance=prov, vector_predictions=[pred], actor=actor,
                                 expect_count=len(trials))
    store.log_event(tid, "picked_from_front", {"index": index, "front_size": len(front)}, actor=actor)
    return tid


__all__ = ["HypervolumeHistory", "MeasuredRun", "PredictedFront", "hypervolume_history", "measured_runs",
           "observed_count",
           "pareto_set", "predicted_front", "propose_front_point", "reference_point", "value_band",
           "vector_predictions"]
