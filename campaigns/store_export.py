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
    names.
    """
    import pandas as pd

    from campaigns.config import CampaignConfig

    config = CampaignConfig.from_text(store.campaign(campaign_id).config_toml, check_limits=False)
    rows = []
    for t in store.trials(campaign_id):
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
        for k, v in (res.get("context") or {}).items():  # the state the run started in (campaigns.context)
            row[f"context_{k}"] = v
        outcome = config.objective.outcome(t)
        row["objective"] = outcome.value if outcome is not None else None
        row["feasible"] = None if outcome is None else not outcome.failed
        row["failure"] = None if outcome is None else outcome.reason or None
        row.update(predicted_mean=t.predicted_mean, predicted_std=t.predicted_std,
                   expected_improvement=t.expected_improvement, predicted_failure=t.predicted_failure,
                   proposed_at=t.proposed_at,
                   approved_at=t.approved_at, started_at=t.started_at, finished_at=t.finished_at,
                   reviewer=t.reviewer, comment=t.comment, strategy=t.provenance.get("strategy"))
        rows.append(row)
    df = pd.DataFrame(rows)
    for d in config.space.extras:
        if d.name not in df:
            df[d.name] = None
    df.attrs["units"] = {d.name: d.unit for d in config.space.dimensions}
    df.attrs["extras"] = [d.name for d in config.space.extras]
    for col in ("proposed_at", "approved_at", "started_at", "finished_at"):
        if col in df:
            df[col] = pd.to_datetime(df[col], utc=True, format="ISO8601")
    return df
