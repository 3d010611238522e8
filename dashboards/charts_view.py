"""The charts tab: convergence and each parameter against the objective, drawn when the tab is first shown and
then on each change of the campaign, with the same builders as the static report (``campaign report --html``)."""

from __future__ import annotations

import dash
from dash import Input, Output, State, dcc, no_update

from dashboards import figures
from dashboards.data import ReviewData
from dashboards.layout import CAMPAIGN_ID, DATA_VERSION, TABS, guarded
from twin import Recipe

TAB = "tab-charts"
TAB_VALUE = "charts"
CONVERGENCE_GRAPH = "convergence-graph"
PARAMS_GRAPH = "params-graph"


def charts_tab() -> dcc.Tab:
    """The charts tab: the convergence and parameter graphs."""
    return dcc.Tab(label="Convergence & parameters", value=TAB_VALUE, id=TAB, children=[
        dcc.Graph(id=CONVERGENCE_GRAPH),
        dcc.Graph(id=PARAMS_GRAPH),
    ])


def register_charts(app: dash.Dash, data: ReviewData) -> None:
    """Add the charts tab's callback to ``app``."""

    @app.callback(Output(CONVERGENCE_GRAPH, "figure"), Output(PARAMS_GRAPH, "figure"), Input(TABS, "value"),
                  Input(DATA_VERSION, "data"), State(CAMPAIGN_ID, "data"))
    @guarded
    def charts(tab, _version_, cid):
        if tab != TAB_VALUE:  # drawn when first shown, then on each change of the campaign
            return no_update, no_update
        # the same builders as the static report (campaign report --html), on the store's trials table
        df = data.store.to_dataframe(int(cid))
        cfg = data.config(int(cid))
        objective = data.objective(int(cid))  # a multi-objective campaign: its first minimised goal
        if cfg is not None and cfg.is_multi and objective.minimize in df:  # (the Pareto tab shows every goal)
            df = df.assign(objective=df[objective.minimize].where(df["state"] == "done"))
        label = objective.minimize.replace("_ohm_cm2", " [Ω·cm²]").replace("_", " ")
        is_r_int = objective.minimize == "interface_resistance_ohm_cm2" and not objective.secondary_weight
        conv = figures.convergence_figure(df, objective_label=label, log_y=objective.log,
                                          reference=figures.PAPER_R_INT_OHM_CM2 if is_r_int else None)
        names = list(cfg.space.names) if cfg is not None else [f for f in Recipe.fields() if f in df]
        logs = [d.name for d in cfg.space.dimensions if d.log] if cfg is not None else []
        units = {d.name: d.unit for d in cfg.space.extras} if cfg is not None else {}  # extras: unit in the title
        params = figures.parameter_figure(df, names, objective_label=label, log_fields=logs, log_y=objective.log,
                                          units=units)
        return conv, params


__all__ = ["CONVERGENCE_GRAPH", "PARAMS_GRAPH", "charts_tab", "register_charts"]
