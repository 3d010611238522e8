"""The compare tab: two trials' recipes side by side, with their outcomes (the twin's, for a proposal)."""

from __future__ import annotations

import dash
from dash import Input, Output, State, dcc, html

from dashboards.data import ReviewData, extra_rows, trial_recipe
from dashboards.layout import CAMPAIGN_ID, STYLE, datatable, guarded
from dashboards.review import compare_recipes
from twin import simulate
from twin.display import rounded

TAB = "tab-compare"
COMPARE_A = "compare-a"
"""Trial A (a dropdown); the history view sets its options and first choice, as for ``COMPARE_B``."""
COMPARE_B = "compare-b"
COMPARE_TABLE = "compare-table"
EMPTY_COLUMNS = ("field", "A", "B", "diff")
OUTCOMES = (("interface_resistance_ohm_cm2", "R_int [Ω·cm²]", 1.0, "Ω·cm²"),
            ("total_resistance_ohm_cm2", "total R [Ω·cm²]", 1.0, "Ω·cm²"),
            ("process_time_s", "process time [h]", 1 / 3600, "h"),
            ("short_probability", "short probability", 1.0, ""), ("shorted", "shorted", 1.0, ""))
"""The outcomes shown below the recipes: result key, row label, scale to the shown unit, unit (whose precision
the numbers are rounded to, :func:`twin.display.rounded`)."""


def _columns(names) -> list[dict[str, str]]:
    return [{"name": c, "id": c} for c in names]


def compare_tab() -> dcc.Tab:
    """The compare tab: two trials to choose and the table of their differences."""
    return dcc.Tab(label="Compare two recipes", value="compare", id=TAB, children=[
        html.Div(style=STYLE["row"], children=[
            dcc.Dropdown(id=COMPARE_A, options=[], placeholder="trial A", style={"width": "300px"}),
            dcc.Dropdown(id=COMPARE_B, options=[], placeholder="trial B", style={"width": "300px"}),
        ]),
        datatable(id=COMPARE_TABLE, data=[], columns=_columns(EMPTY_COLUMNS),
                  style_cell={"fontSize": "12px", "padding": "2px 6px"},
                  style_data_conditional=[{"if": {"filter_query": '{diff} != ""'}, "fontWeight": "bold"}]),
    ])


def register_compare(app: dash.Dash, data: ReviewData) -> None:
    """Add the compare tab's callback to ``app``."""

    @app.callback(Output(COMPARE_TABLE, "data"), Output(COMPARE_TABLE, "columns"),
                  Input(COMPARE_A, "value"), Input(COMPARE_B, "value"), State(CAMPAIGN_ID, "data"))
    @guarded
    def compare(a, b, cid):
        if a is None or b is None:
            return [], _columns(EMPTY_COLUMNS)
        ta, tb = data.trial(int(a)), data.trial(int(b))
        la, lb = ta.name, tb.name if tb.id != ta.id else f"{tb.name} (same)"
        ra, rb = trial_recipe(ta), trial_recipe(tb)
        if ra is None or rb is None:
            return [], _columns(["field"])
        rows = compare_recipes(ra, rb, la, lb) + extra_rows(ta, tb, la, lb, data.extra_units(int(cid)))
        # a trial without a result (a proposal) shows the twin's expected outcome instead, marked "twin"
        outcome = {}
        for label, t, r in ((la, ta, ra), (lb, tb, rb)):
            if t.result:
                outcome[label] = (t.result, "")
            else:
                outcome[label] = (simulate(r, data.chamber(int(cid)), deterministic=True).to_dict(), " (twin)")
        for key, label, scale, unit in OUTCOMES:
            (da, sa), (db, sb) = outcome[la], outcome[lb]
            va, vb = da.get(key), db.get(key)
            num = all(isinstance(v, int | float) and not isinstance(v, bool) for v in (va, vb))
            if num:
                va, vb = float(va) * scale, float(vb) * scale
            rows.append({"field": label + (sa or sb), la: rounded(va, unit), lb: rounded(vb, unit),
                         "diff": rounded(vb - va, unit) if num and va != vb else ""})
        return rows, _columns(["field", la, lb, "diff"])


__all__ = ["COMPARE_A", "COMPARE_B", "COMPARE_TABLE", "compare_tab", "register_compare"]
