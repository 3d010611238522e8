"""The surrogate tab: the campaign's strategy rebuilt from the store, its partial dependence on each parameter and
what it predicts now for each proposal (beside what it predicted when it proposed it)."""

from __future__ import annotations

import logging

import dash
from dash import Input, Output, State, dcc, html, no_update

from dashboards import figures_review as fr
from dashboards.data import AWAITING_REVIEW, ReviewData, to_objective, trial_point
from dashboards.layout import CAMPAIGN_ID, DATA_VERSION, TABS, error_box, log_failure, table
from dashboards.review import sig

log = logging.getLogger(__name__)

TAB = "tab-surrogate"
TAB_VALUE = "surrogate"
PD_GRAPH = "pd-graph"
SURROGATE_NOTE = "surrogate-note"


def surrogate_tab() -> dcc.Tab:
    """The surrogate tab: a note (or the reason there is no surrogate) and the partial-dependence graph."""
    return dcc.Tab(label="Surrogate", value=TAB_VALUE, id=TAB, children=[
        dcc.Loading(type="default", children=[html.Div(id=SURROGATE_NOTE), dcc.Graph(id=PD_GRAPH)]),
    ])


def register_surrogate(app: dash.Dash, data: ReviewData) -> None:
    """Add the surrogate tab's callback to ``app``: drawn when the tab is shown, and on each change after."""

    @app.callback(Output(PD_GRAPH, "figure"), Output(SURROGATE_NOTE, "children"), Input(TABS, "value"),
                  Input(DATA_VERSION, "data"), State(CAMPAIGN_ID, "data"))
    def surrogate(tab, _version_, cid):
        if tab != TAB_VALUE:
            return no_update, no_update
        try:
            return surrogate_view(data, int(cid))
        except Exception as exc:
            log_failure("surrogate view", exc)
            return fr.partial_dependence_figure({}), error_box(exc)


def surrogate_view(data: ReviewData, cid: int):
    """The partial-dependence figure and the note with the proposals' predictions now and at proposal."""
    trials = data.trials(cid)
    sur = data.surrogate(cid, trials)
    bounds = data.bounds(cid)
    past = [r for t in trials if t.result and (r := trial_point(t)) is not None]
    if sur is None or not bounds or not past:
        return fr.partial_dependence_figure({}), html.P(
            "No surrogate for this campaign yet (its strategy has no model, or fewer than two runs succeeded).",
            id="surrogate-missing")
    pdep = fr.partial_dependence(sur.predict, past, bounds)
    label = f"{sur.objective} [Ω·cm²]"
    fig = fr.partial_dependence_figure(pdep, log10=sur.log, y_label=label)
    proposals = [(t, r) for t in trials if t.state == AWAITING_REVIEW and (r := trial_point(t)) is not None]
    rows = []
    if proposals:
        mean, std = sur.predict([r for _, r in proposals])
        for (t, _), m, s in zip(proposals, mean, std, strict=True):
            v, lo, hi = sur.to_objective(m, s)
            v0, lo0, hi0 = to_objective(t.predicted_mean, t.predicted_std, sur.log)
            rows.append({"proposal": t.name, "now": sig(v, 4), "now −1σ": sig(lo, 4), "now +1σ": sig(hi, 4),
                         "at proposal": sig(v0, 4)})
    note = html.Div([
        html.P(f"The campaign's strategy rebuilt from the store, told {sur.n_observed} outcomes. Partial dependence: "
               f"the surrogate's mean (±1 σ band) for each parameter, averaged over the {len(past)} past recipes.",
               id="surrogate-ok"),
        table(rows, ["proposal", "now", "now −1σ", "now +1σ", "at proposal"], "surrogate-now") if rows else "",
    ])
    return fig, note


__all__ = ["PD_GRAPH", "SURROGATE_NOTE", "register_surrogate", "surrogate_tab", "surrogate_view"]
