"""The review app's measurement tab: its callbacks (the form's layout is :func:`dashboards.layout.measure_tab`).

The form posts through Dash's ``/_dash-update-component`` like approve and reject, so the same guards apply: the
token (:func:`dashboards.serve.require_token`) and the refusal of cross-site POSTs and foreign Host names
(:func:`dashboards.serve.guard_origin`). The write is :meth:`dashboards.data.ReviewData.measure`, which hands the
value to the store method ``sputter-twin campaign measure`` uses.
"""

from __future__ import annotations

import logging

import dash
from dash import Input, Output, State, ctx, html, no_update
from dash.exceptions import PreventUpdate

from campaigns.errors import TrialStateError
from dashboards.data import ReviewData
from dashboards.layout import STYLE
from dashboards.measure import awaiting_options, conflict_message, measurement_rows, parse_measurement, success_message
from twin.errors import InputError

log = logging.getLogger(__name__)

SUBMITTERS = ("measure-btn", "measure-r-int")
"""What submits the form: the button, or Enter in the value field."""


def register_measure(app: dash.Dash, data: ReviewData) -> None:
    """Add the measurement tab's callbacks to ``app`` (the campaign page's refresh reads ``measure-msg``)."""

    @app.callback(Output("measure-msg", "children"), Output("measure-r-int", "value"),
                  Input("measure-btn", "n_clicks"), Input("measure-r-int", "n_submit"),
                  State("measure-select", "value"), State("measure-r-int", "value"), State("measure-actor", "value"),
                  prevent_initial_call=True)
    def measure(_clicks, _submit, trial_id, value, actor):
        if ctx.triggered_id not in SUBMITTERS:
            return no_update, no_update
        if trial_id is None:
            return _error("Choose the trial the measurement belongs to.", "measure-invalid"), no_update
        try:
            t = data.measure(int(trial_id), value, actor)
        except TrialStateError:
            now = data.trial(int(trial_id))
            return _error(conflict_message(now, parse_measurement(value)), "measure-conflict"), no_update
        except InputError as exc:  # bad value or no name (DashboardError), or no such trial (StoreError)
            return _error(str(exc), "measure-invalid"), no_update
        return html.Div(success_message(t), className="measure-ok", style=STYLE["ok"]), ""

    @app.callback(Output("measure-select", "options"), Output("measure-select", "value"),
                  Output("measure-none", "children"), Output("measured-table", "data"),
                  Input("data-version", "data"), State("campaign-id", "data"), State("measure-select", "value"))
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


def _error(message: str, kind: str) -> html.Div:
    return html.Div(message, className=f"error {kind}", style=STYLE["error"])


__all__ = ["register_measure"]
