"""The home page of the review app: the campaigns in the store, refreshed on every tick."""

from __future__ import annotations

import logging

import dash
from dash import Input, Output, dcc, html

from dashboards.data import ReviewData
from dashboards.layout import CAMPAIGN_PREFIX, REFRESH, error_box, log_failure
from dashboards.review import fmt_ohm

log = logging.getLogger(__name__)

CAMPAIGN_LIST = "campaign-list"
CAMPAIGN_TABLE = "campaign-table"
CAMPAIGN_LINK = "campaign-link-{}"
"""Id of the link to a campaign's page, by campaign id."""


def home_page(store_name: str) -> html.Div:
    """The home page's layout: the store's name and the campaign list (filled by :func:`register_home`)."""
    return html.Div([
        html.H2("sputter-twin review: campaigns"),
        html.P(f"store: {store_name}", className="store-name"),
        html.Div(id=CAMPAIGN_LIST),
    ])


def register_home(app: dash.Dash, data: ReviewData) -> None:
    """Add the campaign list's callback to ``app``."""

    @app.callback(Output(CAMPAIGN_LIST, "children"), Input(REFRESH, "n_intervals"))
    def campaign_list(_n):
        try:
            rows = data.campaign_summaries()
        except Exception as exc:  # the store went away while the page was open: say so in the page
            log_failure("reading the store", exc)
            return error_box(exc)
        if not rows:
            return html.P("This store holds no campaigns yet.")
        head = html.Tr([html.Th(c) for c in ("campaign", "trials", "awaiting review", "done", "best R_int")])
        body = [html.Tr([
            html.Td(dcc.Link(f"{s.id}: {s.name}", href=f"{CAMPAIGN_PREFIX}{s.id}", id=CAMPAIGN_LINK.format(s.id))),
            html.Td(s.n_trials), html.Td(s.n_proposed, className="n-proposed"), html.Td(s.n_done),
            html.Td(fmt_ohm(s.best_r_int)),
        ]) for s in rows]
        return html.Table([html.Thead(head), html.Tbody(body)], id=CAMPAIGN_TABLE,
                          style={"borderSpacing": "12px 4px"})


__all__ = ["CAMPAIGN_LINK", "CAMPAIGN_LIST", "CAMPAIGN_TABLE", "home_page", "register_home"]
