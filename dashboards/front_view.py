"""The Pareto tab of a multi-objective campaign: the front (two goals against each other; for three or more a
chosen pair coloured by a third, and parallel coordinates), measured against predicted, the hypervolume over runs,
proposals at their predicted position, and the reviewer's pick of a predicted-front point as a proposal.

A pick goes through :meth:`dashboards.data.ReviewData.propose_front_point`, which adds a ``proposed`` trial whose
provenance says a reviewer picked it from the front (:func:`campaigns.front.propose_front_point`): it then waits
in the review tab for approval like any proposal. The page sends the number of outcomes the front it shows was
computed from, so a pick made while a run finished (and moved the front) is refused and the page says so.
The figures are the same pure builders as the static report's (:mod:`dashboards.figures_front`).
"""

from __future__ import annotations

import logging

import dash
from dash import Input, Output, State, ctx, dcc, html, no_update

from campaigns.errors import StoreUnavailableError
from dashboards import figures_front
from dashboards.data import ReviewData
from dashboards.front import point_label
from dashboards.layout import CAMPAIGN_ID, DATA_VERSION, STYLE, TABS, error_box, guarded, log_failure
from twin.errors import InputError

log = logging.getLogger(__name__)

TAB = "tab-front"
TAB_VALUE = "front"
FRONT_NOTE = "front-note"
"""What the tab shows: the hypervolume now, or why there is no front (a single-objective campaign)."""
FRONT_X = "front-x"
FRONT_Y = "front-y"
FRONT_COLOR = "front-color"
"""Goal indices of the scatter's axes and colour (colour only for three goals or more)."""
FRONT_GRAPH = "front-graph"
PARALLEL_GRAPH = "front-parallel-graph"
HV_GRAPH = "hypervolume-graph"
FRONT_POINTS = "front-points"
"""The predicted front's points (radio items, value K); a click on a predicted point in the graph selects it."""
FRONT_OBSERVED = "front-observed"
"""How many outcomes the shown front was computed from (``dcc.Store``), sent with a pick."""
FRONT_REVIEWER = "front-reviewer"
FRONT_PROPOSE_BTN = "front-propose-btn"
FRONT_MSG = "front-msg"


def front_tab() -> dcc.Tab:
    """The Pareto tab: goal choices, the front, parallel coordinates, hypervolume; the predicted-front pick."""
    dropdown = {"clearable": False, "style": {"width": "330px"}}
    return dcc.Tab(label="Pareto front", value=TAB_VALUE, id=TAB, children=[
        dcc.Store(id=FRONT_OBSERVED),
        html.Div(id=FRONT_NOTE, style={"margin": "6px 0"}),
        html.Div(style=STYLE["row"], children=[
            html.Div(style={"flex": "1", "minWidth": "640px"}, children=[
                html.Div(style=STYLE["row"], children=[
                    html.Div([html.Label("x axis", htmlFor=FRONT_X), dcc.Dropdown(id=FRONT_X, **dropdown)]),
                    html.Div([html.Label("y axis", htmlFor=FRONT_Y), dcc.Dropdown(id=FRONT_Y, **dropdown)]),
                    html.Div([html.Label("colour (3+ goals)", htmlFor=FRONT_COLOR),
                              dcc.Dropdown(id=FRONT_COLOR, clearable=True, style={"width": "330px"})]),
                ]),
                dcc.Graph(id=FRONT_GRAPH),
                dcc.Graph(id=PARALLEL_GRAPH),
                dcc.Graph(id=HV_GRAPH),
            ]),
            html.Div(style={"minWidth": "320px", "maxWidth": "420px"}, children=[
                html.H4("Pick a point of the predicted front"),
                html.P("The model's predicted front (non-dominated predicted means, feasible with probability "
                       "> 0.5). Pick one here or click it in the graph, then propose it: it waits in the review "
                       "tab for approval like any proposal.", style={"fontSize": "13px", "color": "#555"}),
                html.Label("Reviewer", htmlFor=FRONT_REVIEWER),
                dcc.Input(id=FRONT_REVIEWER, type="text", placeholder="your name", style={"width": "100%"}),
                html.Button("Propose this point for approval", id=FRONT_PROPOSE_BTN, n_clicks=0,
                            style={"margin": "6px 0", "background": "#9467bd", "color": "white"}),
                html.Div(id=FRONT_MSG, style={"marginBottom": "8px"}),
                dcc.RadioItems(id=FRONT_POINTS, options=[], value=None,
                               labelStyle={"display": "block", "padding": "2px 0", "fontSize": "12px"},
                               style={"maxHeight": "640px", "overflowY": "auto"}),
            ]),
        ]),
    ])


def _goal_options(fd) -> list[dict]:
    return [{"label": g.label, "value": j} for j, g in enumerate(fd.goals)]


def register_front(app: dash.Dash, data: ReviewData) -> None:
    """Add the Pareto tab's callbacks to ``app``."""

    @app.callback(Output(FRONT_NOTE, "children"), Output(FRONT_X, "options"), Output(FRONT_Y, "options"),
                  Output(FRONT_COLOR, "options"), Output(FRONT_X, "value"), Output(FRONT_Y, "value"),
                  Output(FRONT_COLOR, "value"), Output(FRONT_POINTS, "options"), Output(FRONT_OBSERVED, "data"),
                  Input(TABS, "value"), Input(DATA_VERSION, "data"), State(CAMPAIGN_ID, "data"),
                  State(FRONT_X, "value"), State(FRONT_Y, "value"), State(FRONT_COLOR, "value"))
    @guarded
    def front_state(tab, _version_, cid, x, y, color):
        if tab != TAB_VALUE:  # drawn when first shown, then on each change of the campaign
            return (no_update,) * 9
        fd, observed = data.front(int(cid))
        if fd is None:
            return (html.P("Not a multi-objective campaign: it has one [objective]; the convergence tab shows it.",
                           id="front-none"), [], [], [], None, None, None, [], None)
        n = len(fd.goals)
        x = x if x is not None and x < n else 0
        y = y if y is not None and y < n and y != x else (1 if x != 1 else 0)
        color = color if color is not None and color < n else (2 if n > 2 else None)
        hv = fd.hypervolume[-1] if fd.hypervolume else None
        note = html.P([f"{sum(m['on_front'] for m in fd.measured)} of {len(fd.measured)} runs on the measured "
                       "front · ", html.Span(f"hypervolume {hv:.4g}" if hv is not None else "no feasible run yet",
                                             id="front-hv"),
                       f" after {len(fd.hypervolume)} runs · "
                       + (f"predicted front: {len(fd.predicted)} points" if fd.has_model
                          else "no predicted front (the strategy has no model of the goals yet)")],
                      id="front-summary")
        points = [{"label": point_label(fd, p), "value": p["k"]} for p in fd.predicted]
        opts = _goal_options(fd)
        return note, opts, opts, opts if n > 2 else [], x, y, color, points, observed

    @app.callback(Output(FRONT_GRAPH, "figure"), Output(PARALLEL_GRAPH, "figure"), Output(HV_GRAPH, "figure"),
                  Output(PARALLEL_GRAPH, "style"),
                  Input(FRONT_X, "value"), Input(FRONT_Y, "value"), Input(FRONT_COLOR, "value"),
                  Input(FRONT_POINTS, "value"), Input(FRONT_OBSERVED, "data"), State(CAMPAIGN_ID, "data"))
    @guarded
    def draw(x, y, color, selected, _observed, cid):
        fd, _ = data.front(int(cid))
        if fd is None or x is None or y is None:
            return no_update, no_update, no_update, {"display": "none"}
        many = len(fd.goals) > 2
        return (figures_front.front_figure(fd, x, y, color if many else None, selected),
                figures_front.parallel_figure(fd) if many else no_update,
                figures_front.hypervolume_figure(fd), {} if many else {"display": "none"})

    @app.callback(Output(FRONT_POINTS, "value"), Input(FRONT_GRAPH, "clickData"), prevent_initial_call=True)
    def click(click_data):
        point = (click_data or {}).get("points", [{}])[0]
        custom = point.get("customdata")
        if isinstance(custom, list) and len(custom) == 2 and custom[0] == "K":
            return int(custom[1])
        return no_update

    @app.callback(Output(FRONT_MSG, "children"), Input(FRONT_PROPOSE_BTN, "n_clicks"),
                  State(FRONT_POINTS, "value"), State(FRONT_REVIEWER, "value"), State(FRONT_OBSERVED, "data"),
                  State(CAMPAIGN_ID, "data"), prevent_initial_call=True)
    def propose(_n, k, reviewer, observed, cid):
        if ctx.triggered_id != FRONT_PROPOSE_BTN:
            return no_update
        if k is None:
            return error_box("Pick a point of the predicted front first.", "front-invalid")
        try:
            t = data.propose_front_point(int(cid), int(k), reviewer, observed)
        except (InputError, StoreUnavailableError) as exc:  # no name, front moved, read-only or locked store
            log_failure("front pick", exc)
            return error_box(exc, "front-invalid")
        return html.Div(f"Trial {t.id} proposed from the predicted front (K {k}) by {t.reviewer or reviewer}; it "
                        "awaits approval in the review tab.", className="front-ok", style=STYLE["ok"])


__all__ = ["FRONT_GRAPH", "FRONT_MSG", "FRONT_POINTS", "FRONT_PROPOSE_BTN", "FRONT_REVIEWER", "HV_GRAPH",
           "PARALLEL_GRAPH", "front_tab", "register_front"]
