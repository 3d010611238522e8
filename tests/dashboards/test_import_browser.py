"""Imported past runs in the review app, in a real headless Chromium: the history's ``source`` column names the
file and row, and the campaign header and the review name a best run that was imported as such."""

from __future__ import annotations

import pytest

from campaigns.importer import import_past_runs
from campaigns.runner import load_campaign, propose
from campaigns.store import CampaignStore
from tests.campaigns.import_helpers import GOOD_ROWS, make_store, write_csv

pytestmark = pytest.mark.timeout(180)


@pytest.fixture
def imported_served(tmp_path):
    """The app on a store of the small campaign: 5 imported past runs and one proposal awaiting review."""
    from dashboards.app import create_app
    from dashboards.serve import start

    store, _ = make_store(tmp_path)
    with CampaignStore(store) as s:
        import_past_runs(s, "small", write_csv(tmp_path / "past.csv", GOOD_ROWS))
        cid, config, chamber = load_campaign(s, "small")
        propose(s, cid, config, chamber)
    app = create_app(store, refresh_ms=500)
    running = start(app.server, "127.0.0.1", 0)
    yield running.url
    running.stop()


def test_imported_runs_are_marked_in_the_header_the_review_and_the_history(page, imported_served, screenshot_dir):
    page.goto(f"{imported_served}/campaign/1")
    page.wait_for_selector("#proposal-view")
    best = min(GOOD_ROWS, key=lambda r: r["interface_resistance_ohm_cm2"])
    row = GOOD_ROWS.index(best) + 1  # trial ids follow the file's rows: trial k is row k
    assert f"(trial {row} (imported))" in page.inner_text("#campaign-counts")
    assert f"trial {row} (imported)" in page.inner_text("#pred-best")
    page.click("#tab-history")
    page.wait_for_selector("#history-table td[data-dash-column='source']")
    sources = page.locator("#history-table td[data-dash-column='source']").all_inner_texts()
    assert [s.strip() for s in sources] == [f"imported (past.csv row {k})" for k in range(1, 6)] + ["campaign"]
    page.screenshot(path=screenshot_dir / "history-imported.png", full_page=True)
