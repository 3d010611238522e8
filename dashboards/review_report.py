"""The review app's extra figures for the static report (``campaign report --html``).

:func:`extra_figures` returns, for one campaign: the best run's event timeline (Gantt) and telemetry traces, the
surrogate's partial dependence, and the margins to the tool's limits of each proposal awaiting review. The report
appends them with ``fig.to_html(full_html=False, include_plotlyjs=False)`` after its own figures.
"""

from __future__ import annotations

import plotly.graph_objects as go

from campaigns.store import CampaignStore
from dashboards import figures_review as fr
from dashboards.data import AWAITING_REVIEW, ReviewData, best_trial, trial_point, trial_recipe
from dashboards.review import limit_margins
from twin import Chamber, simulate


def extra_figures(store: CampaignStore, campaign_id: int, chamber: Chamber | None = None, *,
                  surrogate: bool = True) -> list[go.Figure]:
    """Figures of the review app for the static report of ``campaign_id`` (see the module docstring).

    Parameters
    ----------
    store : CampaignStore
        An open store.
    campaign_id : int
    chamber : Chamber, optional
        Default: the campaign's own chamber.
    surrogate : bool
        Include the partial dependence (rebuilds the strategy: a GP fit, seconds for a few hundred trials).
    """
    from campaigns.runner import chamber_before

    data = ReviewData(store, chamber)
    trials = data.trials(campaign_id)
    figs: list[go.Figure] = []
    best = best_trial(trials, data.objective(campaign_id))
    if best is not None and best.result:
        tel = data.telemetry(best.id)
        recipe = trial_recipe(best)
        if tel is None and recipe is not None:
            tel = simulate(recipe, chamber_before(data.chamber(campaign_id), trials, best),
                           seed=best.result.get("seed"), deterministic=bool(best.result.get("deterministic")),
                           telemetry=True).telemetry
        figs.append(fr.event_gantt(best.result.get("events") or [], f"Event timeline of the best run, {best.name}"))
        if tel is not None:
            figs.append(fr.telemetry_figure(tel, f"Telemetry of the best run, {best.name}"))
    if surrogate:
        sur = data.surrogate(campaign_id, trials)
        bounds = data.bounds(campaign_id)
        past = [r for t in trials if t.result and (r := trial_point(t)) is not None]
        if sur is not None and bounds and past:
            figs.append(fr.partial_dependence_figure(fr.partial_dependence(sur.predict, past, bounds),
                                                     log10=sur.log, y_label=f"{sur.objective} [Ω·cm²]"))
    for t in trials:
        recipe = trial_recipe(t)
        if t.state == AWAITING_REVIEW and recipe is not None:
            figs.append(fr.margins_figure(limit_margins(recipe, data.chamber(campaign_id)),
                                          f"Proposal {t.name}: margins to the tool's limits"))
    return figs
