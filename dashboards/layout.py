"""What every view of the review app shares: the page frame and its component ids, styles, tables, error boxes.

Each view is one module with its tab's layout, its component ids as named constants and ``register_*(app, data)``
(:mod:`dashboards.measure_view` and its siblings); :mod:`dashboards.campaign_view` assembles the campaign page
from them and :mod:`dashboards.app` registers them all. The ids here belong to the frame that holds the views.
"""

from __future__ import annotations

import functools
import logging
import warnings

from dash import dash_table, dcc, html
from dash.exceptions import PreventUpdate

from campaigns.errors import StoreError, StoreUnavailableError

log = logging.getLogger(__name__)

URL = "url"
"""The page's address (``dcc.Location``): the router draws the page for it."""
REFRESH = "refresh"
"""The refresh tick (``dcc.Interval``): views that follow a running campaign listen to it."""
PAGE = "page"
"""The container the router fills."""
PAGE_ERROR = "page-error"
CAMPAIGN_ID = "campaign-id"
"""The campaign page's campaign (``dcc.Store``): every view of the page reads it as ``State``."""
DATA_VERSION = "data-version"
"""A digest of the campaign's trials (``dcc.Store``); changes when they do, and the views redraw then."""
TABS = "tabs"
"""The campaign page's tabs; a view drawn on demand reads which one is shown."""
CAMPAIGN_PREFIX = "/campaign/"
"""Path of a campaign's page: ``/campaign/<id or name>``."""

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
        dcc.Location(id=URL, refresh=False),
        dcc.Interval(id=REFRESH, interval=refresh_ms, n_intervals=0),
        html.Div(id=PAGE),
    ])


def error_page(message: str) -> html.Div:
    """A page that only says what is wrong, and links home."""
    return html.Div([
        html.H2("sputter-twin review"),
        html.Div(message, id=PAGE_ERROR, className="error", style=STYLE["error"]),
        html.P(dcc.Link("← all campaigns", href="/")),
    ])


def error_box(message: object, kind: str = "") -> html.Div:
    """A message in the error style; ``kind`` adds a class the tests and the page's CSS can find."""
    return html.Div(str(message), className=f"error {kind}".strip(), style=STYLE["error"])


def log_failure(what: str, exc: Exception) -> None:
    """A store that is damaged, locked or failing is logged as its one-line message; anything else with its
    traceback (a bug to report)."""
    if isinstance(exc, StoreError | StoreUnavailableError):
        log.warning("%s: %s", what, exc)
    else:
        log.exception("%s: %s", what, exc)


def guarded(func):
    """Keep a view as it is if reading the store fails (logged); the header, refreshed on every tick, shows the
    error in the page."""

    @functools.wraps(func)
    def wrapper(*args):
        try:
            return func(*args)
        except Exception as exc:
            log_failure(func.__name__, exc)
            raise PreventUpdate from None

    return wrapper


def table(rows: list[dict], columns: list[str], table_id: str | None = None) -> dash_table.DataTable:
    """A small read-only table of ``rows`` (dicts) showing ``columns``."""
    kw = {"id": table_id} if table_id else {}
    return datatable(data=rows, columns=[{"name": c, "id": c} for c in columns],
                                style_cell={"fontSize": "12px", "padding": "2px 6px"}, **kw)
