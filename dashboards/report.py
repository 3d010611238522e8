"""The static HTML report of a campaign: one self-contained file (plotly.js inlined once), readable offline.

It shows the campaign's summary, convergence, each searched field against the objective, the best recipe, the
predictions the optimiser made, and every trial in a table. A multi-objective campaign's report adds its front
(measured and predicted, proposals at their predicted position; parallel coordinates for three goals or more) and
the hypervolume over runs (:mod:`dashboards.figures_front`); its single-objective figures show the first minimised
goal (:func:`dashboards.data.display_objective`).
"""

from __future__ import annotations

import html
from pathlib import Path
from typing import Any

from campaigns.config import CampaignConfig
from campaigns.errors import CampaignError
from campaigns.records import trial_name
from campaigns.store import CampaignStore
from dashboards import figures
from twin.display import field_unit, fmt


def report_html(df: Any, config: CampaignConfig, *, store_name: str = "", extra_figures: list | None = None,
                recommended: tuple[int, float] | None = None, front: Any = None) -> str:
    """The report as HTML text, from the trials DataFrame and the campaign's configuration (pure).

    ``extra_figures`` (plotly figures) are appended after the report's own, e.g. the review app's.
    ``recommended`` is ``(trial id, predicted objective)`` of the run the strategy's model rates best
    (:func:`campaigns.runner.recommended_trial`). ``front`` (:class:`dashboards.front.FrontData`) is a
    multi-objective campaign's front.
    """
    from dashboards.data import display_objective

    obj = display_objective(config.objective)
    if config.is_multi and obj.minimize in df:
        df = df.assign(objective=df[obj.minimize].where(df["state"] == "done"))
    front_figs = []
    if front is not None:
        from dashboards import figures_front

        many = len(front.goals) > 2
        front_figs = [figures_front.front_figure(front, 0, 1, 2 if many else None),
                      *([figures_front.parallel_figure(front)] if many else []),
                      figures_front.hypervolume_figure(front)]
    label = obj.minimize.replace("_ohm_cm2", " [Ω·cm²]").replace("_", " ")
    is_r_int = obj.minimize == "interface_resistance_ohm_cm2" and not obj.secondary_weight
    figs = [
        *front_figs,
        figures.convergence_figure(df, objective_label=label, reference=figures.PAPER_R_INT_OHM_CM2 if is_r_int
                                   else None, log_y=obj.log),
        figures.parameter_figure(df, config.space.names, objective_label=label,
                                 log_fields=[d.name for d in config.space.dimensions if d.log], log_y=obj.log,
                                 units={d.name: d.unit for d in config.space.extras}),
        figures.best_recipe_table(df, extras={d.name: d.unit for d in config.space.extras}),
        figures.prediction_figure(df, log_objective=obj.log),
        figures.state_counts_figure(df),
        *(extra_figures or ()),
    ]
    parts = [fig.to_html(full_html=False, include_plotlyjs="inline" if k == 0 else False)
             for k, fig in enumerate(figs)]
    ok = df[df["feasible"].fillna(False).astype(bool)] if not df.empty else df
    best = ok.loc[ok["objective"].idxmin()] if not ok.empty else None
    summary = [
        f"strategy <b>{html.escape(config.strategy)}</b>, seed {config.seed}, budget {config.budget}, "
        f"batch size {config.batch_size}; {len(df)} trials: "
        + ", ".join(f"{n} {html.escape(str(s))}" for s, n in
                    (df["state"].value_counts().items() if not df.empty else [])),
    ]
    if best is not None:
        r = best.get("interface_resistance_ohm_cm2")
        summary.append(f"best: {trial_name(best['trial_id'])}, objective {fmt(best['objective'])}"
                       + (f"; interface resistance {fmt(r, 'Ω·cm²')} beside Haruta et al. (2015): "
                          f"{figures.PAPER_R_INT_OHM_CM2} Ω·cm²" if r is not None else ""))
    if front is not None:
        on = [m["trial_id"] for m in front.measured if m["on_front"]]
        hv = f"{front.hypervolume[-1]:.4g}" if front.hypervolume else "none"
        summary.append(f"goals: {html.escape('; '.join(g.label for g in front.goals))}; measured Pareto front: "
                       f"{len(on)} of {len(front.measured)} runs ({', '.join(trial_name(t) for t in on) or 'none'}); "
                       f"hypervolume {hv} (score units); predicted front: {len(front.predicted)} points; the "
                       "objective column and the single-objective figures show the first minimised goal")
    if recommended is not None:
        k, predicted = recommended
        summary.append(f"recommended by the model: {trial_name(k)}, predicted objective {fmt(predicted)} (the run "
                       "the surrogate rates best; with noisy measurements the best measured run may be a lucky one)")
    table = _trials_table(df, config) if not df.empty else "<p>no trials</p>"
    title = f"Campaign {html.escape(config.name)}"
    return f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>{title}</title>
<style>body{{font-family:sans-serif;margin:2em;max-width:1300px}}
table.trials{{border-collapse:collapse;font-size:12px}}
table.trials td,table.trials th{{padding:2px 6px;border-bottom:1px solid #ddd;text-align:right}}</style></head>
<body><h1>{title}</h1>
<p>{html.escape(store_name)}</p>
{"".join(f"<p>{s}</p>" for s in summary)}
{"".join(f'<div class="figure">{p}</div>' for p in parts)}
<h2>Trials</h2>
{table}
</body></html>
"""


def _trials_table(df: Any, config: CampaignConfig) -> str:
    """Every trial as an HTML table: its trial id, state, searched fields and outcome, each number at the
    precision of its unit, units in the column names (several goals: each goal and Pareto membership)."""
    from dashboards.data import display_objective

    goals = list(config.objective.fields) if config.is_multi else []  # type: ignore[union-attr]
    cols = [c for c in dict.fromkeys(("trial_id", "state", *config.space.names, "interface_resistance_ohm_cm2",
                                      *goals, *(("feasible", "on_pareto_front") if goals else ("objective",)),
                                      "failure", "reviewer", "finished_at")) if c in df.columns]
    shown = df[cols].copy()
    if "imported" in df.columns and df["imported"].any():  # past runs imported from a file, marked as such
        shown["state"] = [f"{s} (imported)" if imp else s for s, imp in zip(df["state"], df["imported"], strict=True)]
    units = {c: field_unit(c) for c in cols} | {d.name: d.unit for d in config.space.extras}  # extras: the file's
    for c in cols:
        if c in ("trial_id", "state", "failure", "reviewer", "finished_at", "feasible", "on_pareto_front"):
            continue
        unit = units[c] if c != "objective" else field_unit(display_objective(config.objective).minimize)
        shown[c] = [fmt(v, unit, with_unit=False) if v is not None and v == v else "" for v in shown[c]]
    names = {c: (f"{c} [{units[c]}]" if units[c] not in ("", "1") else c) for c in cols}
    names["trial_id"] = "trial"
    return shown.rename(columns=names).to_html(index=False, na_rep="", border=0, classes="trials")


def write_report(store: CampaignStore, campaign_id: int, path: str | Path) -> Path:
    """Write the report of ``campaign_id`` in ``store`` to ``path`` (an HTML file; its folder must exist)."""
    path = Path(path)
    if not path.parent.is_dir():
        raise CampaignError("--html", str(path), "folder does not exist")
    from campaigns.runner import load_campaign, recommended_trial

    _, config, chamber = load_campaign(store, campaign_id)
    rec = recommended_trial(config, chamber, store.trials(campaign_id))
    front = None
    if config.is_multi:
        from dashboards.front import front_data

        front = front_data(config, chamber, store.trials(campaign_id))
    from dashboards.review_report import extra_figures  # the review app's figures: best run's events and traces,
    # partial dependence, limit margins of pending proposals

    text = report_html(store.to_dataframe(campaign_id), config, store_name=f"store: {store.path}",
                       extra_figures=extra_figures(store, campaign_id),
                       recommended=(rec[0].id, rec[1]) if rec is not None else None, front=front)
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(text, encoding="utf-8")
    tmp.replace(path)
    return path
