"""What ``sputter-twin campaign`` prints for a multi-objective campaign: the runs with each goal in its units,
feasibility and Pareto membership, the hypervolume, the model's predicted front (whose indices
``campaign propose --front-point K`` takes) and the predicted position of proposals on the front."""

from __future__ import annotations

import math
from collections.abc import Sequence

from campaigns.config import CampaignConfig
from campaigns.front import hypervolume_history, measured_runs, predicted_front, value_band
from campaigns.objectives import Goal
from campaigns.records import Trial
from sputter_twin.cli.tables import Column, render
from twin import Chamber
from twin.display import fmt


def _label(g: Goal) -> str:
    return f"{g.field} ({'max' if g.direction == 'maximize' else 'min'})"


def _num(v: float | None, unit: str) -> str:
    if v is None or not math.isfinite(v):
        return "-"
    return f"{v:.3g}" if unit in ("S/cm", "1") or abs(v) < 1e-2 else fmt(v, unit, with_unit=False)


def runs_table(config: CampaignConfig, trials: Sequence[Trial]) -> str:
    """One row per run: trial, state, each goal in its units, feasible, on the measured front, why it failed."""
    goals = config.objective.goals  # type: ignore[union-attr]
    columns = [Column("trial"), Column("state", left=True), *(Column(_label(g), g.unit) for g in goals),
               Column("feasible", left=True), Column("on front", left=True), Column("note", left=True)]
    rows = []
    for r in measured_runs(config, trials):
        o = r.outcome
        values = o.values or (None,) * len(goals)
        note = o.reason if o.failed else ("" if o.feasible else "breaks " + ", ".join(
            str(c) for c, s in zip(config.objective.constraints, o.slacks or (), strict=True)  # type: ignore[union-attr]
            if s > 0))
        rows.append([str(r.trial.id), r.trial.state, *(_num(v, g.unit) for g, v in zip(goals, values, strict=True)),
                     "yes" if o.feasible else "no", "yes" if r.on_front else "", note])
    return render(columns, rows)


def prediction_table(config: CampaignConfig, trials: Sequence[Trial]) -> str:
    """Proposed trials with their predicted position on the front: each goal's predicted value and ±1 σ band,
    P(feasible) and the acquisition value at proposal."""
    goals = config.objective.goals  # type: ignore[union-attr]
    columns = [Column("trial"), Column("state", left=True)]
    for g in goals:
        columns += [Column(f"predicted {g.field}", g.unit), Column("±1σ", g.unit)]
    columns += [Column("P(feasible)", "%"), Column("acquisition"), Column("origin", left=True)]
    rows = []
    for t in trials:
        p = t.prediction or {}
        cells = [str(t.id), t.state]
        means, stds = p.get("mean") or [None] * len(goals), p.get("std") or [None] * len(goals)
        for g, m, s in zip(goals, means, stds, strict=True):
            v, lo, hi = value_band(g, m, s)
            cells += [_num(v, g.unit), "-" if not math.isfinite(lo) else f"{_num(lo, g.unit)}–{_num(hi, g.unit)}"]
        pf, acq = p.get("p_feasible"), p.get("acquisition")
        cells += ["-" if pf is None else f"{100 * pf:.0f}", "-" if acq is None else f"{acq:.3g}",
                  "picked from the front" if "picked_from_front" in t.provenance else t.provenance.get("strategy", "")]
        rows.append(cells)
    return render(columns, rows)


def front_table(config: CampaignConfig, chamber: Chamber, trials: Sequence[Trial]) -> str | None:
    """The model's predicted front: index K (for ``--front-point K``), each goal's predicted value and ±1 σ
    band; None when the strategy has no model of the goals."""
    front = predicted_front(config, chamber, trials)
    if front is None:
        return None
    goals = config.objective.goals  # type: ignore[union-attr]
    columns = [Column("K")]
    for g in goals:
        columns += [Column(f"predicted {g.field}", g.unit), Column("±1σ", g.unit)]
    rows = []
    for k in range(len(front)):
        cells = [str(k)]
        for j, g in enumerate(goals):
            v, lo, hi = value_band(g, front.mean[k, j], front.std[k, j])
            cells += [_num(v, g.unit), "-" if not math.isfinite(lo) else f"{_num(lo, g.unit)}–{_num(hi, g.unit)}"]
        rows.append(cells)
    return render(columns, rows)


def hypervolume_line(config: CampaignConfig, trials: Sequence[Trial]) -> str:
    """The measured front's hypervolume now, after how many runs, and its reference point (in the goals' units)."""
    h = hypervolume_history(config, trials)
    if not h.hypervolume or h.reference is None:
        return "hypervolume: no feasible run yet"
    goals = config.objective.goals  # type: ignore[union-attr]
    ref = ", ".join(f"{g.field} {_num(g.value(r), g.unit)} {g.unit}" for g, r in zip(goals, h.reference, strict=True))
    where = "from the campaign file" if h.reference_source == "file" else \
        "default: worst feasible run + 10 % of the range, moves as runs arrive"
    return (f"hypervolume of the measured front: {h.hypervolume[-1]:.4g} (score units) after {len(h.hypervolume)} "
            f"runs; reference point {ref} ({where})")


def print_status(config: CampaignConfig, chamber: Chamber, trials: Sequence[Trial]) -> None:
    """``campaign status`` of a multi-objective campaign."""
    mo = config.objective
    print("goals: " + "; ".join(f"{g.direction} {g.field}{' (log10)' if g.log else ''}" for g in mo.goals)  # type: ignore[union-attr]
          + ("; outcome constraints: " + ", ".join(map(str, mo.constraints)) if mo.constraints else ""))  # type: ignore[union-attr]
    print(runs_table(config, trials))
    print(hypervolume_line(config, trials))
    pending = [t for t in trials if t.state in ("proposed", "approved", "running", "awaiting_measurement")]
    if pending:
        print("proposals and their predicted position on the front (at proposal):")
        print(prediction_table(config, pending))
    table = front_table(config, chamber, trials)
    if table is None:
        print(f"predicted front: none (strategy {config.strategy} has no model of the goals)")
    else:
        print("the model's predicted front (propose point K for review: campaign propose --front-point K):")
        print(table)


__all__ = ["front_table", "hypervolume_line", "prediction_table", "print_status", "runs_table"]
