"""The campaign store as a table: one row per trial, for ``campaign export``, the report and the dashboard's charts."""

from __future__ import annotations

from typing import Any


def trials_frame(store: Any, campaign_id: int) -> Any:
    """One row per trial: trial_id, batch, state, recipe fields, result fields, objective, times, reviewer.

    ``trial_id`` is the one number every surface shows for a trial (:func:`campaigns.records.trial_name`);
    rows are in proposal order, which is also ``trial_id`` order.

    Result columns keep the :class:`twin.RunResult` names (``seed`` becomes ``run_seed``); event counts
    become ``n_arc``, ``n_rf_trip``...; ``objective`` and ``feasible`` follow the campaign's objective. Each
    extra variable of the campaign is a column of its name (NaN where a trial has none); ``df.attrs["units"]``
    gives the unit of every searched column (recipe fields and extras) and ``df.attrs["extras"]`` the extras'
    names. ``imported`` marks past runs imported from a file (``campaign import``), with ``import_source`` and
    ``import_row``; ``context_NAME`` columns hold the chamber state a run started in where it was recorded.

    A multi-objective campaign (``[[objectives]]``) adds, per goal, ``score_<field>`` (the score the optimiser
    minimises: log10 where logged, negated where maximised), ``predicted_score_<field>`` and
    ``predicted_std_<field>`` (the strategy's prediction at proposal, score units), and ``on_pareto_front`` (the
    run is on the measured Pareto front of feasible runs; None without an outcome), ``hypervolume`` (of the
    measured front after this run, :func:`campaigns.front.hypervolume_history`), ``p_feasible``, ``acquisition``
    and ``picked_from_front`` (a reviewer picked the recipe from the predicted front). There ``feasible`` means
    the run succeeded and met every outcome constraint, and ``objective`` is None; ``df.attrs["goals"]`` lists
    the goals' fields and ``df.attrs["reference_point"]`` the hypervolume's reference (score units).
    """
    import pandas as pd

    from campaigns.config import CampaignConfig
    from campaigns.records import is_imported

    config = CampaignConfig.from_text(store.campaign(campaign_id).config_toml, check_limits=False)
    trials = store.trials(campaign_id)
    multi = _multi_columns(config, trials) if config.is_multi else {}
    rows = []
    for t in trials:
        row: dict[str, Any] = {"trial_id": t.id, "batch": t.batch, "state": t.state}
        row.update(t.recipe)
        row.update(t.extras)
        res = t.result or {}
        for k, v in res.items():
            if k in ("recipe", "events", "chamber_state_after", "event_counts", "context"):
                continue
            row["run_seed" if k == "seed" else k] = v
        for k, v in (res.get("event_counts") or {}).items():
            row[f"n_{k}"] = v
        for k, v in (res.get("context") or {}).items():  # the chamber state the run started in, units in names
            row[f"context_{k}"] = v
        row["imported"] = is_imported(t)
        row["import_source"] = t.provenance.get("source") if row["imported"] else None
        row["import_row"] = t.provenance.get("row") if row["imported"] else None
        outcome = config.objective.outcome(t)
        row["objective"] = getattr(outcome, "value", None)
        row["feasible"] = None if outcome is None else (outcome.feasible if config.is_multi else not outcome.failed)
        row["failure"] = None if outcome is None else outcome.reason or None
        row.update(predicted_mean=t.predicted_mean, predicted_std=t.predicted_std,
                   expected_improvement=t.expected_improvement, predicted_failure=t.predicted_failure,
                   proposed_at=t.proposed_at,
                   approved_at=t.approved_at, started_at=t.started_at, finished_at=t.finished_at,
                   reviewer=t.reviewer, comment=t.comment, strategy=t.provenance.get("strategy"))
        row.update(multi.get(t.id, {}))
        rows.append(row)
    df = pd.DataFrame(rows)
    for d in config.space.extras:
        if d.name not in df:
            df[d.name] = None
    df.attrs["units"] = {d.name: d.unit for d in config.space.dimensions}
    df.attrs["extras"] = [d.name for d in config.space.extras]
    if config.is_multi:
        from campaigns.front import hypervolume_history

        df.attrs["goals"] = list(config.objective.fields)  # type: ignore[union-attr]
        df.attrs["reference_point"] = hypervolume_history(config, trials).reference
    for col in ("proposed_at", "approved_at", "started_at", "finished_at"):
        if col in df:
            df[col] = pd.to_datetime(df[col], utc=True, format="ISO8601")
    return df


def _multi_columns(config: Any, trials: list[Any]) -> dict[int, dict[str, Any]]:
    """The multi-objective columns of each trial (see :func:`trials_frame`), by trial id."""
    from campaigns.front import hypervolume_history, measured_runs

    goals = config.objective.goals
    runs = {r.trial.id: r for r in measured_runs(config, trials)}
    history = hypervolume_history(config, trials)
    hv = dict(zip(history.trial_ids, history.hypervolume, strict=True))
    out = {}
    for t in trials:
        run = runs.get(t.id)
        scores = run.outcome.scores if run is not None and run.outcome.scores is not None else [None] * len(goals)
        pred = t.prediction or {}
        means, stds = pred.get("mean") or [None] * len(goals), pred.get("std") or [None] * len(goals)
        row: dict[str, Any] = {"on_pareto_front": run.on_front if run is not None else None,
                               "hypervolume": hv.get(t.id), "p_feasible": pred.get("p_feasible"),
                               "acquisition": pred.get("acquisition"),
                               "picked_from_front": "picked_from_front" in t.provenance}
        for g, s, m, sd in zip(goals, scores, means, stds, strict=True):
            row[f"score_{g.field}"] = s
            row[f"predicted_score_{g.field}"] = m
            row[f"predicted_std_{g.field}"] = sd
        out[t.id] = row
    return out
