"""Page layouts of the review app (Dash components, no callbacks): the campaigns list and a campaign's page."""

from __future__ import annotations

import warnings

from dash import dash_table, dcc, html

from dashboards.measure import MEASURED_COLUMNS

STYLE = {
    "page": {"fontFamily": "system-ui, sans-serif", "margin": "0 auto", "maxWidth": "1400px", "padding": "8px 16px"},
    "error": {"color": "#a00", "background": "#fee", "border": "1px solid #d99", "padding": "10px",
              "borderRadius": "4px"},
    "ok": {"color": "#064", "background": "#efe", "border": "1px solid #9c9", "padding": "6px",
           "borderRadius": "4px"},
    "card": {"border": "1px solid #ddd", "borderRadius": "6px", "padding": "8px 12px", "margin": "6px 0"},
    "row": {"display": "flex", "gap": "16px", "alignItems": "flex-start", "flexWrap": "wrap"},
}


def datatable(**props) -> dash_table.DataTable:
    """A ``DataTable``, without the DeprecationWarning Dash 4 issues on each one: DataTable is still the core
    sortable, filterable table of Dash (its successor, dash-ag-grid, is a separate package)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        return dash_table.DataTable(**props)


def shell(refresh_ms: int) -> html.Div:
    """The fixed frame: URL, the refresh tick and the page container."""
    return html.Div(style=STYLE["page"], children=[
        dcc.Location(id="url", refresh=False),
        dcc.Interval(id="refresh", interval=refresh_ms, n_intervals=0),
        html.Div(id="page"),
    ])


def error_page(message: str) -> html.Div:
    """A page that only says what is wrong, and links home."""
    return html.Div([
        html.H2("sputter-twin review"),
        html.Div(message, id="page-error", className="error", style=STYLE["error"]),
        html.P(dcc.Link("← all campaigns", href="/")),
    ])


def home_page(store_name: str) -> html.Div:
    return html.Div([
        html.H2("sputter-twin review: campaigns"),
        html.P(f"store: {store_name}", className="store-name"),
        html.Div(id="campaign-list"),
    ])


def campaign_page(campaign_id: str, header=None, options: list | None = None, selected=None,
                  version: str | None = None) -> html.Div:
    """A campaign's page: header, then review, measurement entry, history, charts, surrogate, run and compare tabs.

    ``header``, ``options`` (of the proposal list), ``selected`` and ``version`` are the campaign's state when
    the page is drawn; the refresh callback keeps them current.
    """
    return html.Div([
        dcc.Store(id="campaign-id", data=campaign_id),
        dcc.Store(id="data-version", data=version),
        html.P(dcc.Link("← all campaigns", href="/")),
        html.Div(header, id="campaign-header"),
        dcc.Tabs(id="tabs", value="review", children=[
            dcc.Tab(label="Review proposals", value="review", id="tab-review", children=[
                html.Div(style=STYLE["row"], children=[
                    html.Div(style={"minWidth": "230px"}, children=[
                        html.H4("Awaiting review"),
                        dcc.RadioItems(id="proposal-select", options=options or [], value=selected,
                                       labelStyle={"display": "block", "padding": "2px 0"}),
                        html.Hr(),
                        html.Label("Reviewer", htmlFor="reviewer"),
                        dcc.Input(id="reviewer", type="text", placeholder="your name", debounce=False,
                                  style={"width": "100%"}),
                        html.Label("Comment", htmlFor="comment"),
                        dcc.Textarea(id="comment", placeholder="why (required to reject)",
                                     style={"width": "100%", "height": "70px"}),
                        html.Div(style={"display": "flex", "gap": "8px", "marginTop": "6px"}, children=[
                            html.Button("Approve", id="approve-btn", n_clicks=0,
                                        style={"background": "#2ca02c", "color": "white"}),
                            html.Button("Reject", id="reject-btn", n_clicks=0,
                                        style={"background": "#d62728", "color": "white"}),
                        ]),
                        html.Div(id="decision-msg", style={"marginTop": "8px"}),
                    ]),
                    html.Div(id="proposal-detail", style={"flex": "1", "minWidth": "600px"}),
                ]),
            ]),
            dcc.Tab(label="Enter measurements", value="measure", id="tab-measure", children=[measure_tab()]),
            dcc.Tab(label="History", value="history", id="tab-history", children=[
                datatable(
                    id="history-table", data=[], columns=[], sort_action="native", filter_action="native",
                    page_action="native", page_size=25, sort_mode="multi",
                    style_table={"overflowX": "auto"}, style_cell={"fontSize": "12px", "padding": "2px 6px"},
                    style_data_conditional=[
                        {"if": {"filter_query": '{state} = "proposed"'}, "backgroundColor": "#fff7d6"},
                        {"if": {"filter_query": '{state} = "rejected"'}, "color": "#999"},
                    ],
                ),
            ]),
            dcc.Tab(label="Convergence & parameters", value="charts", id="tab-charts", children=[
                dcc.Graph(id="convergence-graph"),
                dcc.Graph(id="params-graph"),
            ]),
            dcc.Tab(label="Surrogate", value="surrogate", id="tab-surrogate", children=[
                dcc.Loading(type="default", children=[html.Div(id="surrogate-note"), dcc.Graph(id="pd-graph")]),
            ]),
            dcc.Tab(label="Run: telemetry & events", value="run", id="tab-run", children=[
                dcc.Dropdown(id="run-select", options=[], placeholder="choose a trial"),
                html.Div(id="run-note"),
                dcc.Graph(id="gantt-graph"),
                dcc.Graph(id="telemetry-graph"),
            ]),
            dcc.Tab(label="Compare two recipes", value="compare", id="tab-compare", children=[
                html.Div(style=STYLE["row"], children=[
                    dcc.Dropdown(id="compare-a", options=[], placeholder="trial A", style={"width": "300px"}),
                    dcc.Dropdown(id="compare-b", options=[], placeholder="trial B", style={"width": "300px"}),
                ]),
                datatable(id="compare-table", data=[],
                                     columns=[{"name": c, "id": c} for c in ("field", "A", "B", "diff")],
                                     style_cell={"fontSize": "12px", "padding": "2px 6px"},
                                     style_data_conditional=[{"if": {"filter_query": '{diff} != ""'},
                                                              "fontWeight": "bold"}]),
            ]),
        ]),
    ])


def measure_tab() -> html.Div:
    """The form that enters a measured interface resistance (as ``campaign measure`` does), and the values entered.

    The value is a text field, not a number field: the browser would silently drop text it cannot read as a
    number, and the page must say what was wrong with what was typed.
    """
    return html.Div(style=STYLE["row"], children=[
        html.Div(style={"minWidth": "280px", "maxWidth": "380px"}, children=[
            html.H4("Awaiting measurement"),
            html.P("A run on a tool that cannot measure the interface resistance waits here until it is measured "
                   "offline (impedance spectroscopy) and entered.", style={"fontSize": "13px", "color": "#555"}),
            dcc.RadioItems(id="measure-select", options=[], value=None,
                           labelStyle={"display": "block", "padding": "2px 0"}),
            html.Div(id="measure-none"),
            html.Hr(),
            html.Label("Interface resistance R_int [Ω·cm²]", htmlFor="measure-r-int"),
            dcc.Input(id="measure-r-int", type="text", placeholder="> 0, e.g. 9.5", debounce=False,
                      autoComplete="off", style={"width": "100%"}),
            html.Label("Measured by", htmlFor="measure-actor"),
            dcc.Input(id="measure-actor", type="text", placeholder="your name", debounce=False,
                      style={"width": "100%"}),
            html.Button("Record measurement", id="measure-btn", n_clicks=0,
                        style={"marginTop": "6px", "background": "#1f77b4", "color": "white"}),
            html.Div(id="measure-msg", style={"marginTop": "8px"}),
        ]),
        html.Div(style={"flex": "1", "minWidth": "500px"}, children=[
            html.H4("Measurements entered (event log)"),
            datatable(id="measured-table", data=[], columns=[{"name": c, "id": c} for c in MEASURED_COLUMNS],
                      page_action="native", page_size=15, style_cell={"fontSize": "12px", "padding": "2px 6px"}),
        ]),
    ])


def table(rows: list[dict], columns: list[str], table_id: str | None = None) -> dash_table.DataTable:
    """A small read-only table of ``rows`` (dicts) showing ``columns``."""
    kw = {"id": table_id} if table_id else {}
    return datatable(data=rows, columns=[{"name": c, "id": c} for c in columns],
                                style_cell={"fontSize": "12px", "padding": "2px 6px"}, **kw)
