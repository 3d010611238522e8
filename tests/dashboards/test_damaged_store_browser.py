"""A store that is damaged while the review app serves it: the campaign page says so in one readable line
(in a real headless Chromium), instead of a blank page and tracebacks in the server log."""

from __future__ import annotations

import logging
import sqlite3

import pytest

from tests.campaigns.test_store_failures import _damage

pytestmark = pytest.mark.timeout(180)


def test_campaign_page_of_a_store_damaged_while_served_shows_one_message(store_path, page, caplog):
    from dashboards.app import create_app
    from dashboards.serve import start

    app = create_app(store_path, refresh_ms=500)  # opens (and checks) the store while it is sound
    running = start(app.server, "127.0.0.1", 0)
    try:
        _damage(store_path)
        # another process writes to the store, so the app's connection drops its cached pages and reads the file
        with sqlite3.connect(store_path, isolation_level=None) as other:
            other.execute("INSERT INTO trial_events (campaign_id, trial_id, time, actor, kind, detail_json) "
                          "VALUES (1, NULL, '2026-01-01T00:00:00+00:00', 'other', 'note', '{}')")
        other.close()
        with caplog.at_level(logging.WARNING):
            page.goto(f"{running.url}/campaign/1")
            page.wait_for_selector("#page-error")
        message = page.inner_text("#page-error")
    finally:
        running.stop()
    assert "damaged" in message and str(store_path) in message and len(message.splitlines()) == 1
    assert "Traceback" not in caplog.text
