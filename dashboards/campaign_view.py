"""A campaign's page: its header (counts, best so far) over the tabs of the views, and the refresh that keeps the
header, the proposal list and the data version current while the campaign runs.

The tabs come from their view modules (:mod:`dashboards.review_view`, :mod:`dashboards.measure_view`,
:mod:`dashboards.history_view`, :mod:`dashboards.charts_view`, :mod:`dashboards.surrogate_view`,
:mod:`dashboards.run_view`, :mod:`dashboards.compare_view`). A view redraws when ``DATA_VERSION`` changes, a
digest of the campaign's trials, so an unchanged campaign is not redrawn on every tick.
"""

from __future__ import annotations

import hashlib
import logging

import dash
from dash import Input, Output, State, dcc, html, no_update

from dashboards.charts_view import charts_tab
from dashboards.compare_view import compare_tab
from dashboards.data import AWAITING_REVIEW, ReviewData, best_trial, shown_name
from dashboards.front_view import front_tab
from dashboards.history_view import history_tab
from dashboards.layout import CAMPAIGN_ID, DATA_VERSION, REFRESH, TABS, error_box, log_failure
from dashboards.measure_view import MEASURE_MSG, measure_tab
from dashboards.review import fmt_ohm
from dashboards.review_view import DECISION_MSG, PROPOSAL_SELECT, review_tab
from dashboards.run_view import run_tab
from dashboards.surrogate_view import surrogate_tab

log = logging.getLogger(__name__)

HEADER = "campaign-header"
COUNTED_STATES = ("proposed", "approved", "running", "done", "failed", "rejected", "awaiting_measurement")
"""Trial states counted in the header, in this order."""


def campaign_page(campaign_id: str, header=None, options: list | None = None, selected=None,
                  version: str | None = None) -> html.Div:
    """A campaign's page: header, then review, measurement entry, history, charts, Pareto front, surrogate, run and
    compare tabs.

    ``header``, ``options`` (of the proposal list), ``selected`` and ``version`` are the campaign's state when
    the page is drawn; the refresh callback keeps them current.
    """
    return html.Div([
        dcc.Store(id=CAMPAIGN_ID, data=campaign_id),
        dcc.Store(id=DATA_VERSION, data=version),
        html.P(dcc.Link("← all campaigns", href="/")),
        html.Div(header, id=HEADER),
        dcc.Tabs(id=TABS, value="review", children=[
            review_tab(options, selected), measure_tab(), history_tab(), charts_tab(), front_tab(), surrogate_tab(),
            run_tab(), compare_tab(),
        ]),
    ])


def data_version(trials) -> str:
    """A digest of what the views show, so an unchanged campaign is not redrawn on every tick."""
    h = hashlib.sha1(usedforsecurity=False)
    for t in trials:
        h.update(f"{t.id}:{t.state}:{t.interface_resistance_ohm_cm2}|".encode())
    return h.hexdigest()


def proposal_label(t) -> str:
    """How a proposal is listed: its name and EI, or for a multi-objective one its acquisition value and, when a
    reviewer picked it, that it came from the predicted front."""
    if t.prediction:
        acq = t.prediction.get("acquisition")
        picked = "  (picked from the front)" if "picked_from_front" in t.provenance else ""
        return f"{t.name}  acq {acq:.3g}{picked}" if acq is not None else f"{t.name}{picked}"
    return f"{t.name}  EI {t.expected_improvement or 0:.3g}"


def campaign_state(data: ReviewData, cid: int):
    """Header, proposal options, proposal ids and data version of a campaign, as the page shows them."""
    trials = data.trials(cid)
    name = data.name(cid)
    proposals = [t for t in trials if t.state == AWAITING_REVIEW]
    objective = data.objective(cid)
    options = [{"label": proposal_label(t), "value": t.id} for t in proposals]
    best = best_trial(trials, objective)
    counts = {s: sum(t.state == s for t in trials) for s in COUNTED_STATES}
    header = html.Div([
        html.H2(f"Campaign {cid}: {name}", id="campaign-title"),
        html.P([f"{len(trials)} trials · ", html.Span(f"{counts['proposed']} awaiting review", id="n-awaiting"),
                " · " + " · ".join(f"{v} {k.replace('_', ' ')}" for k, v in counts.items() if v and k != "proposed"),
                f" · best so far: {fmt_ohm(best.interface_resistance_ohm_cm2)} ({shown_name(best)})" if best
                else " · no result yet"], id="campaign-counts"),
    ])
    return header, options, [t.id for t in proposals], data_version(trials)


def register_campaign(app: dash.Dash, data: ReviewData) -> None:
    """Add the campaign page's refresh to ``app``: on every tick, and after a decision or a measurement."""

    @app.callback(Output(HEADER, "children"), Output(PROPOSAL_SELECT, "options"),
                  Output(PROPOSAL_SELECT, "value"), Output(DATA_VERSION, "data"),
                  Input(REFRESH, "n_intervals"), Input(DECISION_MSG, "children"),
                  Input(MEASURE_MSG, "children"), State(PROPOSAL_SELECT, "value"),
                  State(PROPOSAL_SELECT, "options"), State(CAMPAIGN_ID, "data"),
                  State(DATA_VERSION, "data"), prevent_initial_call=True)
    def refresh(_n, _msg, _measured, selected, old_options, cid, version):
        try:
            header, options, ids, new_version = campaign_state(data, int(cid))
        except Exception as exc:
            log_failure("reading the store", exc)
            return error_box(exc), [], None, no_update
        # keep the reviewer's choice: write the selection only when the selected proposal is gone (a tick that
        # started before a click must not undo the click), and the options only when they changed
        value = no_update if selected in ids else (ids[0] if ids else None)
        if options == old_options:
            options = no_update
        return header, options, value, (new_version if new_version != version else no_update)


__all__ = ["HEADER", "campaign_page", "campaign_state", "data_version", "proposal_label", "register_campaign"]
