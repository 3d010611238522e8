"""The review app's measurement tab: its layout, component ids and callbacks.

The form posts through Dash's ``/_dash-update-component`` like approve and reject, so the same guards apply: the
token (:func:`dashboards.serve.require_token`) and the refusal of cross-site POSTs and foreign Host names
(:func:`dashboards.serve.guard_origin`). The write is :meth:`dashboards.data.ReviewData.measure`, which hands the
value to the store method ``sputter-twin campaign measure`` uses.
"""

from __future__ import annotations

import logging

import dash
from dash import Input, Output, State, ctx, dcc, html, no_update
from dash.exceptions import PreventUpdate

from campaigns.errors import TrialStateError
from dashboards.data import ReviewData
from dashboards.layout import CAMPAIGN_ID, DATA_VERSION, STYLE, datatable, error_box
from dashboards.measure import (
    MEASURED_COLUMNS,
    awaiting_options,
    conflict_message,
    measurement_rows,
    parse_measurement,
    success_message,
)
from twin.errors import InputError

log = logging.getLogger(__name__)

TAB = "tab-measure"
MEASURE_SELECT = "measure-select"
"""The trials awaiting a measurement (radio items)."""
MEASURE_NONE = "measure-none"
MEASURE_R_INT = "measure-r-int"
MEASURE_ACTOR = "measure-actor"
MEASURE_BTN = "measure-btn"
MEASURE_MSG = "measure-msg"
"""What became of the last measurement; the campaign page's refresh listens to it."""
MEASURED_TABLE = "measured-table"

SUBMITTERS = (MEASURE_BTN, MEASURE_R_INT)
"""What submits the form: the button, or Enter in the value field."""


def measure_tab() -> dcc.Tab:
    """The form that enters a measured interface resistance (as ``campaign measure`` does), and the values entered.

    The value is a text field, not a number field: the browser would silently drop text it cannot read as a
    number, and the page must say what was wrong with what was typed.
    """
    form = html.Div(style=STYLE["row"], children=[
        html.Div(style={"minWidth": "280px", "maxWidth": "380px"}, children=[
            html.H4("Awaiting measurement"),
            html.P("A run on a tool that cannot measure the interface resistance waits here until it is measured "
                   "offline (impedance spectroscopy) and entered.", style={"fontSize": "13px", "color": "#555"}),
            dcc.RadioItems(id=MEASURE_SELECT, options=[], value=None,
                           labelStyle={"display": "block", "padding": "2px 0"}),
            html.Div(id=MEASURE_NONE),
            html.Hr(),
            html.Label("Interface resistance R_int [Ω·cm²]", htmlFor=MEASURE_R_INT),
            dcc.Input(id=MEASURE_R_INT, type="text", placeholder="> 0, e.g. 9.5", debounce=False,
                      autoComplete="off", style={"width": "100%"}),
            html.Label("Measured by", htmlFor=MEASURE_ACTOR),
            dcc.Input(id=MEASURE_ACTOR, type="text", placeholder="your name", debounce=False,
                      style={"width": "100%"}),
            html.Button("Record measurement", id=MEASURE_BTN, n_clicks=0,
                        style={"marginTop": "6px", "background": "#1f77b4", "color": "white"}),
            html.Div(id=MEASURE_MSG, style={"marginTop": "8px"}),
        ]),
        html.Div(style={"flex": "1", "minWidth": "500px"}, children=[
            html.H4("Measurements entered (event log)"),
            datatable(id=MEASURED_TABLE, data=[], columns=[{"name": c, "id": c} for c in MEASURED_COLUMNS],
                      page_action="native", page_size=15, style_cell={"fontSize": "12px", "padding": "2px 6px"}),
        ]),
    ])
    return dcc.Tab(label="Enter measurements", value="measure", id=TAB, children=[form])


def register_measure(app: dash.Dash, data: ReviewData) -> None:
    """Add the measurement tab's callbacks to ``app`` (the campaign page's refresh reads ``MEASURE_MSG``)."""

    @app.callback(Output(MEASURE_MSG, "children"), Output(MEASURE_R_INT, "value"),
                  Input(MEASURE_BTN, "n_clicks"), Input(MEASURE_R_INT, "n_submit"),
                  State(MEASURE_SELECT, "value"), State(MEASURE_R_INT, "value"), State(MEASURE_ACTOR, "value"),
                  prevent_initial_call=True)
    def measure(_clicks, _submit, trial_id, value, actor):
        if ctx.triggered_id not in SUBMITTERS:
            return no_update, no_update
        if trial_id is None:
            return error_box("Choose the trial the measurement belongs to.", "measure-invalid"), no_update
        try:
            t = data.measure(int(trial_id), value, actor)
        except TrialStateError:
            now = data.trial(int(trial_id))
            return error_box(conflict_message(now, parse_measurement(value)), "measure-conflict"), no_update
        except InputError as exc:  # bad value or no name (DashboardError), or no such trial (StoreError)
            return error_box(exc, "measure-invalid"), no_update
        return html.Div(success_message(t), className="measure-ok", style=STYLE["ok"]), ""

    @app.callback(Output(MEASURE_SELECT, "options"), Output(MEASURE_SELECT, "value"),
                  Output(MEASURE_NONE, "children"), Output(MEASURED_TABLE, "data"),
                  Input(DATA_VERSION, "data"), State(CAMPAIGN_ID, "data"), State(MEASURE_SELECT, "value"))
    def awaiting(_version_, cid, selected):
        try:
            trials = data.trials(int(cid))
            events = data.store.events(campaign_id=int(cid))
        except Exception as exc:  # keep the view; the header, refreshed on every tick, shows the error
            log.exception("measurement view: %s", exc)
            raise PreventUpdate from None
        options = awaiting_options(trials)
        ids = [o["value"] for o in options]
        # keep the person's choice while that trial still awaits its value; never choose for them: a value typed
        # for a trial someone else just measured must not slide onto the next one
        value = selected if selected in ids else None
        none = "" if options else html.P("No trial awaits a measurement.", id="no-measurement")
        return options, value, none, measurement_rows(events, trials)


__all__ = ["MEASURE_BTN", "MEASURE_MSG", "MEASURE_R_INT", "MEASURE_SELECT", "SUBMITTERS", "measure_tab",
           "register_measure"]
