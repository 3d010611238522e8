"""Exceptions of the dashboards package (subclasses of the twin's, so the CLI maps them to exit statuses)."""

from __future__ import annotations

from twin.errors import InputError


class DashboardError(InputError):
    """A store, an address or a token the dashboard cannot accept (exit status 2)."""
