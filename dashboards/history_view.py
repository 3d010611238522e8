"""The history tab: every trial of the campaign in a sortable, filterable table.

Its callback also fills the trial choices of the run and compare tabs, with their first choices: the best run
(else the latest) against the newest proposal (else the latest trial).
"""

from __future__ import annotations

import dash
from dash import Input, Output, State, dcc

from dashboards.compare_view import COMPARE_A, COMPARE_B
from dashboards.data import AWAITING_REVIEW, ReviewData, best_trial, history_columns, history_rows, trial_label
from dashboards.layout import CAMPAIGN_ID, DATA_VERSION, datatable, guarded
from dashboards.run_view import RUN_SELECT

TAB = "tab-history"
HISTORY_TABLE = "history-table"


def history_tab() -> dcc.Tab:
    """The history tab: the trials table, proposals highlighted, rejected trials greyed, imported past runs tinted
    blue (their ``source`` column names the file and row)."""
    return dcc.Tab(label="History", value="history", id=TAB, children=[
        datatable(
            id=HISTORY_TABLE, data=[], columns=[], sort_action="native", filter_action="native",
            page_action="native", page_size=25, sort_mode="multi",
            style_table={"overflowX": "auto"}, style_cell={"fontSize": "12px", "padding": "2px 6px"},
            style_data_conditional=[
                {"if": {"filter_query": '{state} = "proposed"'}, "backgroundColor": "#fff7d6"},
                {"if": {"filter_query": '{state} = "rejected"'}, "color": "#999"},
                {"if": {"filter_query": '{source} contains "imported"'}, "backgroundColor": "#eef4fb"},
            ],
        ),
    ])


def register_history(app: dash.Dash, data: ReviewData) -> None:
    """Add the history tab's callback to ``app`` (it also sets the run and compare tabs' choices)."""

    @app.callback(Output(HISTORY_TABLE, "data"), Output(HISTORY_TABLE, "columns"),
                  Output(RUN_SELECT, "options"), Output(COMPARE_A, "options"), Output(COMPARE_B, "options"),
                  Output(RUN_SELECT, "value"), Output(COMPARE_A, "value"), Output(COMPARE_B, "value"),
                  Input(DATA_VERSION, "data"), State(CAMPAIGN_ID, "data"), State(RUN_SELECT, "value"),
                  State(COMPARE_A, "value"), State(COMPARE_B, "value"))
    @guarded
    def history(_version_, cid, run_value, cmp_a, cmp_b):
        trials = data.trials(int(cid))
        objective = data.objective(int(cid))
        extras = data.extra_units(int(cid))  # the campaign's extra variables: a column each, with its unit
        rows, cols = history_rows(trials, objective, extras)
        options = [{"label": trial_label(t), "value": t.id} for t in trials]
        run_options = [o for o, t in zip(options, trials, strict=True) if t.result or t.state == "running"]
        done = [t for t in trials if t.result]
        # default selections: the best run (else the latest one) against the newest proposal (else the latest)
        best = best_trial(trials, objective)
        anchor = best or (done[-1] if done else None)
        latest = next((t for t in reversed(trials) if t.state == AWAITING_REVIEW), trials[-1] if trials else None)
        if run_value is None and anchor is not None:
            run_value = anchor.id
        if cmp_a is None and anchor is not None:
            cmp_a = anchor.id
        if cmp_b is None and latest is not None:
            cmp_b = latest.id
        return (rows, history_columns(cols, objective, extras), run_options, options, options, run_value, cmp_a, cmp_b)


__all__ = ["HISTORY_TABLE", "history_tab", "register_history"]
