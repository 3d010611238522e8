"""The run tab: one trial's event timeline and telemetry traces.

A run stored without telemetry is re-simulated on the twin from its recipe, its seed and the chamber state
recorded before it, and the page says so.
"""

from __future__ import annotations

import dash
import pandas as pd
from dash import Input, Output, State, dcc, html

from campaigns.runner import chamber_before
from dashboards import figures_review as fr
from dashboards.data import ReviewData, trial_recipe
from dashboards.layout import CAMPAIGN_ID, guarded
from twin import simulate

TAB = "tab-run"
RUN_SELECT = "run-select"
"""The trial shown (a dropdown); the history view sets its options and first choice."""
RUN_NOTE = "run-note"
GANTT_GRAPH = "gantt-graph"
TELEMETRY_GRAPH = "telemetry-graph"


def run_tab() -> dcc.Tab:
    """The run tab: a trial to choose, a note on where its traces come from, its timeline and telemetry."""
    return dcc.Tab(label="Run: telemetry & events", value="run", id=TAB, children=[
        dcc.Dropdown(id=RUN_SELECT, options=[], placeholder="choose a trial"),
        html.Div(id=RUN_NOTE),
        dcc.Graph(id=GANTT_GRAPH),
        dcc.Graph(id=TELEMETRY_GRAPH),
    ])


def register_run(app: dash.Dash, data: ReviewData) -> None:
    """Add the run tab's callback to ``app``."""

    @app.callback(Output(GANTT_GRAPH, "figure"), Output(TELEMETRY_GRAPH, "figure"), Output(RUN_NOTE, "children"),
                  Input(RUN_SELECT, "value"), State(CAMPAIGN_ID, "data"))
    @guarded
    def run_view(trial_id, cid):
        if trial_id is None:
            return fr.event_gantt([]), fr.telemetry_figure(_empty_telemetry()), html.P("Choose a trial.")
        return run_figures(data, int(cid), int(trial_id))


def _empty_telemetry() -> pd.DataFrame:
    return pd.DataFrame({"time_s": []})


def run_figures(data: ReviewData, cid: int, trial_id: int):
    """The event timeline, the telemetry figure and the note on their source, for one trial."""
    t = data.trial(trial_id)
    events = (t.result or {}).get("events") or []
    recipe = trial_recipe(t)
    tel = data.telemetry(trial_id)
    note = "Telemetry as recorded by the run."
    if tel is None and recipe is not None:
        seed = (t.result or {}).get("seed")
        deterministic = bool((t.result or {}).get("deterministic"))
        chamber = chamber_before(data.chamber(cid), data.trials(cid), t)  # the chamber state the run started in
        res = simulate(recipe, chamber, seed=seed, deterministic=deterministic, telemetry=True)
        tel = res.telemetry
        same = [e.to_dict() for e in res.events] == [dict(e) for e in events] if events else False
        note = (f"No telemetry stored for {t.name}: traces re-simulated on the twin from its recipe, seed {seed} and "
                "the chamber state recorded before it" + (" (the re-simulated events match the recorded ones)."
                                                          if same else "; events as recorded."))
        if not events:
            events = [e.to_dict() for e in res.events]
    if tel is None:
        tel = _empty_telemetry()
    title = t.name
    return (fr.event_gantt(events, f"Event timeline of {title}"), fr.telemetry_figure(tel, f"Telemetry of {title}"),
            html.P(note, id="run-note-text"))


__all__ = ["GANTT_GRAPH", "RUN_NOTE", "RUN_SELECT", "TELEMETRY_GRAPH", "register_run", "run_figures", "run_tab"]
