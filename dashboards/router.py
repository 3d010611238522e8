"""The review app's router: the page for each address (``/``, ``/campaign/<id or name>``, else an error page)."""

from __future__ import annotations

from urllib.parse import unquote

import dash
from dash import Input, Output

from campaigns.errors import StoreUnavailableError
from dashboards.campaign_view import campaign_page, campaign_state
from dashboards.data import ReviewData
from dashboards.home_view import home_page
from dashboards.layout import CAMPAIGN_PREFIX, PAGE, URL, error_page, log_failure
from twin.errors import InputError


def campaign_key(pathname: str | None) -> str | None:
    """The campaign id or name in a campaign page's path, else None.

    >>> campaign_key("/campaign/lipon%20A/"), campaign_key("/"), campaign_key(None)
    ('lipon A', None, None)
    """
    if pathname and pathname.startswith(CAMPAIGN_PREFIX):
        return unquote(pathname[len(CAMPAIGN_PREFIX):].strip("/"))
    return None


def register_router(app: dash.Dash, data: ReviewData, store_name: str) -> None:
    """Add the callback that draws the page for the address to ``app``."""

    @app.callback(Output(PAGE, "children"), Input(URL, "pathname"))
    def render(pathname):
        key = campaign_key(pathname)
        if pathname in (None, "", "/"):
            return home_page(store_name)
        if key is None:
            return error_page(f"No page at {pathname!r}: open / for the campaigns or /campaign/<id>.")
        try:
            cid = data.resolve(key)
            header, options, ids, version = campaign_state(data, cid)
        except (InputError, StoreUnavailableError) as exc:  # no such campaign; a damaged, locked or failing store
            log_failure(f"campaign page {key}", exc)
            return error_page(str(exc))
        # the first state is drawn with the page itself: one round trip fewer before the proposal view
        return campaign_page(str(cid), header, options, ids[0] if ids else None, version)


__all__ = ["campaign_key", "register_router"]
