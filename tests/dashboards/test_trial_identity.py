"""One trial number everywhere: the CLI, the HTML report, the dashboard (in Chromium), the export and the event log
name the same trial by the same number, and the commands take that number (issue 14, item 1).

The campaign's trial ids start at 1 and its positions at 0, so a surface that showed a position instead of the
id would name a different number and fail here.
"""

from __future__ import annotations

import re

import pandas as pd
import pytest

from campaigns.store import CampaignStore
from sputter_twin.cli.main import main
from tests.campaigns.helpers import small_campaign

pytestmark = pytest.mark.timeout(240)


def _cli(capsys, *argv) -> str:
    rc = main([str(a) for a in argv])
    out, err = capsys.readouterr()
    assert rc == 0, err
    return out


def test_the_same_trial_has_the_same_number_in_every_surface(tmp_path, capsys, page):
    from dashboards.app import create_app
    from dashboards.serve import start

    cfile = small_campaign(tmp_path, budget=5, batch=1, seed=5)
    store = tmp_path / "c.sqlite"
    _cli(capsys, "campaign", "run", cfile, "--store", store, "--no-progress")
    proposed_out = _cli(capsys, "campaign", "propose", "--store", store)

    # the CLI
    status = _cli(capsys, "campaign", "status", "--store", store)
    best = int(re.search(r"^best: trial (\d+),", status, re.M).group(1))
    proposal = int(re.search(r"^proposed trial (\d+);", proposed_out, re.M).group(1))
    with CampaignStore(store, create=False) as s:
        trials = s.trials(1)
        assert [t.id for t in trials] != [t.index for t in trials]  # ids and positions differ: the test can fail
        events = s.events(campaign_id=1)
    # the export
    _cli(capsys, "campaign", "export", "--store", store, "--format", "csv", "--out", tmp_path / "t.csv")
    df = pd.read_csv(tmp_path / "t.csv")
    ok = df[df["feasible"] == True]  # noqa: E712
    assert int(ok.loc[ok["objective"].idxmin(), "trial_id"]) == best
    assert "index" not in df.columns  # no second number beside trial_id
    assert int(df.loc[df["state"] == "proposed", "trial_id"].iloc[0]) == proposal
    # the event log
    finished = [e for e in events if e.kind == "finish" and e.trial_id == best]
    assert len(finished) == 1 and "index" not in finished[0].detail
    assert [e.trial_id for e in events if e.kind == "proposed"][-1] == proposal
    # the HTML report
    _cli(capsys, "campaign", "report", "--store", store, "--html", tmp_path / "r.html")
    report = (tmp_path / "r.html").read_text(encoding="utf-8")
    assert int(re.search(r"<p>best: trial (\d+),", report).group(1)) == best
    # the dashboard
    app = create_app(store, refresh_ms=500)
    running = start(app.server, "127.0.0.1", 0)
    try:
        page.goto(f"{running.url}/campaign/1")
        page.wait_for_selector("#proposal-view")
        assert "best so far: " in page.inner_text("#campaign-counts")
        assert int(re.search(r"\(trial (\d+)\)", page.inner_text("#campaign-counts")).group(1)) == best
        shown = int(re.search(r"^Proposal: trial (\d+)$", page.inner_text("#proposal-title")).group(1))
        assert shown == proposal
        # the number read off the page is the one the command takes
        assert "approved by ann" in _cli(capsys, "campaign", "approve", shown, "--store", store, "--reviewer", "ann")
        page.wait_for_function("document.querySelector('#n-awaiting').innerText.startsWith('0 ')")
    finally:
        running.stop()
    with CampaignStore(store, create=False) as s:
        assert s.trial(proposal).state == "approved" and s.trial(proposal).reviewer == "ann"
