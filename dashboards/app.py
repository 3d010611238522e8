"""The review app (Dash): campaigns, proposals awaiting review, history, charts, a run's telemetry and events.

``create_app(store_path)`` returns a :class:`dash.Dash` app; serve its ``.server`` with
:func:`dashboards.serve.start` (tests) or :func:`dashboards.serve.serve_forever` (``sputter-twin dashboard``).
Pages: ``/`` lists the campaigns, ``/campaign/<id or name>`` is one campaign (review, measurement entry, history,
charts...). A ``dcc.Interval`` refreshes the page while a campaign runs; a figure is rebuilt only when the
campaign's trials changed.

This module only assembles: each view is a module with its layout, its component ids as named constants and
its ``register_*(app, data)`` (the router, the home page, the campaign page and its tabs, listed in ``VIEWS``).
"""

from __future__ import annotations

from pathlib import Path

import dash

from dashboards.campaign_view import register_campaign
from dashboards.charts_view import register_charts
from dashboards.compare_view import register_compare
from dashboards.data import ReviewData, open_store
from dashboards.errors import DashboardError
from dashboards.front_view import register_front
from dashboards.history_view import register_history
from dashboards.home_view import register_home
from dashboards.layout import CAMPAIGN_PREFIX, shell
from dashboards.measure_view import register_measure
from dashboards.review_view import register_review
from dashboards.router import register_router
from dashboards.run_view import register_run
from dashboards.serve import require_token
from dashboards.surrogate_view import register_surrogate
from twin import Chamber

DEFAULT_REFRESH_MS = 2000
VIEWS = (register_home, register_campaign, register_review, register_measure, register_history, register_charts,
         register_front, register_surrogate, register_run, register_compare)
"""Every view's ``register_*(app, data)``, registered in this order after the router."""


def create_app(store_path: str | Path, *, token: str | None = None, chamber: Chamber | None = None,
               refresh_ms: int = DEFAULT_REFRESH_MS) -> dash.Dash:
    """Build the review app on an existing campaign store.

    Parameters
    ----------
    store_path : str or Path
        The campaign store (SQLite). It must exist; the app never creates one.
    token : str, optional
        If given, every request must carry it (see :mod:`dashboards.serve`).
    chamber : Chamber, optional
        The tool for the twin's predictions and the limit margins (default: the built-in chamber).
    refresh_ms : int
        How often the page polls the store [ms].

    Raises
    ------
    DashboardError, campaigns.errors.StoreError
        The store is missing or is not a campaign store.
    """
    data = ReviewData(open_store(store_path), chamber)
    app = dash.Dash(__name__, title="sputter-twin review", suppress_callback_exceptions=True,
                    update_title=None, serve_locally=True)
    if token:
        require_token(app.server, token)
    app.layout = shell(refresh_ms)
    register_router(app, data, Path(store_path).name)
    for register in VIEWS:
        register(app, data)
    app._sputter_twin_data = data  # for tests and the CLI: the store the app reads
    return app


__all__ = ["CAMPAIGN_PREFIX", "DEFAULT_REFRESH_MS", "VIEWS", "DashboardError", "create_app"]
