"""The review app in a real headless Chromium, on a 60-trial campaign store built on the twin.

Each test starts the app on its own copy of the store (127.0.0.1, a free port), drives it through the page and
checks the store afterwards; screenshots of every view go to ``test-output/dashboards/``.
"""

from __future__ import annotations

import re

import pytest

from campaigns.store import CampaignStore
from dashboards.data import to_objective

pytestmark = pytest.mark.timeout(180)


def _proposals(path):
    with CampaignStore(path, create=False) as s:
        return [t for t in s.trials(1) if t.state == "proposed"]


def _open_campaign(page, url):
    page.goto(f"{url}/campaign/1")
    page.wait_for_selector("#proposal-view")


def test_home_lists_the_campaign(page, served, screenshot_dir):
    url, _ = served
    page.goto(url + "/")
    page.wait_for_selector("#campaign-table")
    text = page.inner_text("#campaign-table")
    assert "1: sample" in text
    assert page.inner_text(".n-proposed") == "4"
    page.screenshot(path=screenshot_dir / "home.png", full_page=True)
    page.click("#campaign-link-1")
    page.wait_for_selector("#proposal-view")
    assert page.url.endswith("/campaign/1")


def test_review_view_shows_what_the_store_predicted(page, served, screenshot_dir):
    url, path = served
    first = _proposals(path)[0]
    _open_campaign(page, url)
    assert page.inner_text("#proposal-title").startswith(f"Proposal: trial {first.id}")
    v, lo, hi = to_objective(first.predicted_mean, first.predicted_std, True)
    shown = page.inner_text("#pred-at-proposal")
    assert f"{v:.4g} Ω·cm²" in shown and f"{lo:.4g}" in shown and f"{hi:.4g}" in shown
    assert f"{first.expected_improvement:.4g}" in page.inner_text("#pred-ei")
    assert first.predicted_failure is not None  # the sample campaign's gp models failures (the default)
    assert page.inner_text("#pred-fail") == f"{first.predicted_failure:.1%}"
    assert "R_int" in page.inner_text("#pred-twin")
    # the twin's expected outcome against the model's ±2σ: the row says which, as review.model_twin_disagreement
    from dashboards.review import model_twin_disagreement
    from twin import Recipe, simulate

    recipe = Recipe.from_dict(first.recipe)
    twin_r = simulate(recipe, deterministic=True).interface_resistance_ohm_cm2
    want = model_twin_disagreement(first.predicted_mean, first.predicted_std, twin_r, True)
    shown = page.inner_text("#pred-disagree")
    assert shown == want if want else "within the model's ±2σ interval" in shown
    assert "does not calibrate the twin" in page.inner_text("#pred-model")  # the sample campaign runs gp
    assert "within the tool's limits" in page.inner_text("#proposal-view")
    page.wait_for_selector("#nearest-table td")  # a DataTable fills its cells after it mounts, a tick later
    assert page.locator("#nearest-table td").count() > 0
    page.wait_for_selector("#margins-table .margin-row")
    assert page.locator("#margins-table .margin-row").count() >= 7
    assert page.locator("#margins-table .margin-outside").count() == 0
    page.screenshot(path=screenshot_dir / "review.png", full_page=True)


def test_approve_in_the_page_changes_the_store(page, served, screenshot_dir):
    url, path = served
    target = _proposals(path)[1]
    _open_campaign(page, url)
    page.click(f"#proposal-select input[value='{target.id}']")
    page.wait_for_function("document.querySelector('#proposal-title').innerText"
                           f".startsWith('Proposal: trial {target.id}')")
    page.click("#approve-btn")  # no reviewer name yet: refused, nothing recorded
    page.wait_for_selector("#decision-msg .error")
    assert "reviewer" in page.inner_text("#decision-msg")
    assert CampaignStore(path, create=False).trial(target.id).state == "proposed"

    page.fill("#reviewer", "Ada")
    page.fill("#comment", "looks safe")
    page.click("#approve-btn")
    page.wait_for_selector("#decision-msg .decision-ok")
    assert f"Trial {target.id} approved by Ada" in page.inner_text("#decision-msg")
    with CampaignStore(path, create=False) as s:
        t = s.trial(target.id)
        assert (t.state, t.reviewer, t.comment) == ("approved", "Ada", "looks safe")
        assert t.approved_at
        approvals = [e for e in s.events(trial_id=target.id) if e.kind == "approve"]
        assert len(approvals) == 1 and approvals[0].actor == "Ada"
    # the approved trial leaves the list of proposals
    page.wait_for_function(f"!document.querySelector(\"#proposal-select input[value='{target.id}']\")")
    assert page.inner_text("#n-awaiting").startswith("3 ")
    page.screenshot(path=screenshot_dir / "approved.png", full_page=True)


def test_reject_needs_a_comment_and_records_it(page, served, screenshot_dir):
    url, path = served
    target = _proposals(path)[0]
    _open_campaign(page, url)
    page.fill("#reviewer", "Bo")
    page.click("#reject-btn")
    page.wait_for_selector("#decision-msg .error")
    assert "comment" in page.inner_text("#decision-msg")
    assert CampaignStore(path, create=False).trial(target.id).state == "proposed"
    page.fill("#comment", "pressure too close to the arcing regime")
    page.click("#reject-btn")
    page.wait_for_selector("#decision-msg .decision-ok")
    with CampaignStore(path, create=False) as s:
        t = s.trial(target.id)
        assert (t.state, t.reviewer, t.comment) == ("rejected", "Bo", "pressure too close to the arcing regime")
    page.screenshot(path=screenshot_dir / "rejected.png", full_page=True)


def test_two_reviewers_clicking_at_once_approve_once(browser, served):
    url, path = served
    target = _proposals(path)[0]
    pages = []
    for name in ("Ann", "Ben"):
        ctx = browser.new_context()
        pg = ctx.new_page()
        _open_campaign(pg, url)
        assert pg.inner_text("#proposal-title").startswith(f"Proposal: trial {target.id}")
        pg.fill("#reviewer", name)
        pages.append(pg)
    # click both buttons before either answer comes back (click() in the page returns once the request is sent)
    for pg in pages:
        pg.evaluate("document.querySelector('#approve-btn').click()")
    msgs = []
    for pg in pages:
        pg.wait_for_selector("#decision-msg .decision-ok, #decision-msg .decision-conflict")
        msgs.append(pg.inner_text("#decision-msg"))
    oks = [m for m in msgs if "approved by" in m and "already" not in m]
    conflicts = [m for m in msgs if "already approved" in m]
    assert len(oks) == 1 and len(conflicts) == 1, msgs
    with CampaignStore(path, create=False) as s:
        t = s.trial(target.id)
        assert t.state == "approved" and t.reviewer in ("Ann", "Ben")
        assert len([e for e in s.events(trial_id=target.id) if e.kind == "approve"]) == 1
        assert t.reviewer in oks[0]
    for pg in pages:
        pg.context.close()


def test_page_updates_while_the_campaign_runs(page, served):
    url, path = served
    _open_campaign(page, url)
    page.click("#tab-history")
    page.wait_for_selector("#history-table td")
    assert page.inner_text("#n-awaiting").startswith("4 ")
    with CampaignStore(path, create=False) as s:  # another process proposes and runs meanwhile
        (tid,) = s.add_proposals(1, [{"rf_power_w": 77.0, "pressure_pa": 0.7}], provenance={"strategy": "manual"})
        first = [t for t in s.trials(1) if t.state == "proposed"][0]
        s.approve(first.id, "runner-test")
    page.wait_for_function("document.querySelector('#campaign-counts').innerText.includes('65 trials')"
                           " && document.querySelector('#campaign-counts').innerText.includes('1 approved')")
    assert page.inner_text("#n-awaiting").startswith("4 ")
    # the history table carries the change without a reload
    page.click("#history-table th.dash-filter[data-dash-column='state']")
    page.keyboard.type("approved")
    page.keyboard.press("Enter")
    page.wait_for_function("document.querySelectorAll('#history-table td[data-dash-column=state]').length === 1")
    assert page.inner_text("#history-table td[data-dash-column='reviewer']").strip() == "runner-test"
    assert page.inner_text("#history-table td[data-dash-column='trial_id']").strip() == str(first.id)
    del tid


def test_history_sorts_and_filters(page, served, screenshot_dir):
    url, _ = served
    _open_campaign(page, url)
    page.click("#tab-history")
    page.wait_for_selector("#history-table td[data-dash-column='state']")
    # filter the state column to proposals
    page.click("#history-table th.dash-filter[data-dash-column='state']")
    page.keyboard.type("proposed")
    page.keyboard.press("Enter")
    page.wait_for_function("[...document.querySelectorAll('#history-table td[data-dash-column=state]')]"
                           ".every(td => td.innerText.trim() === 'proposed')")
    states = page.locator("#history-table td[data-dash-column='state']").all_inner_texts()
    assert len(states) == 4 and set(s.strip() for s in states) == {"proposed"}
    page.screenshot(path=screenshot_dir / "history-filtered.png", full_page=True)
    # clear the filter, sort by R_int ascending: the first row is the best run
    page.click("#history-table th.dash-filter[data-dash-column='state']")
    page.keyboard.press("Control+A")
    page.keyboard.press("Backspace")
    page.keyboard.press("Enter")
    page.wait_for_function("document.querySelectorAll('#history-table td[data-dash-column=state]').length > 4")
    page.click("#history-table th[data-dash-column='R_int'] .column-header--sort")
    page.wait_for_function(  # the table re-renders sorted a tick after the click
        "(() => { const v = [...document.querySelectorAll('#history-table td[data-dash-column=R_int]')]"
        ".map(td => td.innerText.trim()).filter(t => t).map(Number);"
        " return v.length >= 20 && v.every((x, i) => i === 0 || v[i - 1] <= x); })()")
    vals = [v.strip() for v in page.locator("#history-table td[data-dash-column='R_int']").all_inner_texts()]
    nums = [float(v) for v in vals if v]
    assert nums == sorted(nums) and len(nums) >= 20
    page.screenshot(path=screenshot_dir / "history.png", full_page=True)


def test_charts_surrogate_run_and_compare_views(page, served, screenshot_dir):
    url, path = served
    _open_campaign(page, url)

    page.click("#tab-charts")
    page.wait_for_selector("#convergence-graph .scatterlayer .trace")
    page.wait_for_selector("#params-graph .xy")  # the two graphs render independently
    assert page.locator("#params-graph .subplot, #params-graph .xy").count() >= 6
    page.screenshot(path=screenshot_dir / "charts.png", full_page=True)

    page.click("#tab-surrogate")
    page.wait_for_selector("#surrogate-ok", timeout=120_000)
    assert "told 60 outcomes" in page.inner_text("#surrogate-ok")
    # the strategy rebuilt from the store predicts what it stored at proposal time (exact replay)
    rows = page.locator("#surrogate-now tr").all_inner_texts()[1:]
    assert len(rows) == 4
    for row in rows:
        cells = row.split("\t")
        assert cells[1].strip() == cells[4].strip(), row
    page.wait_for_selector("#pd-graph .scatterlayer .trace")
    page.screenshot(path=screenshot_dir / "surrogate.png", full_page=True)

    page.click("#tab-run")
    page.wait_for_selector("#gantt-graph .bars, #gantt-graph .barlayer .trace")
    ytick = " ".join(page.locator("#gantt-graph .ytick text").all_text_contents())
    for phase in ("pump-down", "pre-sputter", "deposition", "unload"):
        assert phase in ytick
    page.wait_for_selector("#telemetry-graph .legendtext")  # traces are WebGL; their legend entries are SVG
    legend = page.locator("#telemetry-graph .legendtext").all_text_contents()
    assert {"pressure_pa", "h2o_pa", "rf_power_w", "thickness_nm", "substrate_temperature_c"} <= set(legend)
    assert "re-simulated" in page.inner_text("#run-note")  # the sample store keeps no telemetry: said so
    page.screenshot(path=screenshot_dir / "run.png", full_page=True)

    page.click("#tab-compare")
    page.wait_for_selector("#compare-table td")
    text = page.inner_text("#compare-table")
    assert "rf_power_w" in text and "R_int" in text and "(twin)" in text
    page.screenshot(path=screenshot_dir / "compare.png", full_page=True)


def test_unknown_campaign_in_the_url_says_so(page, served, screenshot_dir):
    url, _ = served
    for key in ("99", "no-such-campaign", "%3Cscript%3E"):
        page.goto(f"{url}/campaign/{key}")
        page.wait_for_selector("#page-error")
        msg = page.inner_text("#page-error")
        assert "no such campaign in this store" in msg and "1 (sample)" in msg
    page.goto(f"{url}/elsewhere")
    page.wait_for_selector("#page-error")
    assert re.search("No page at", page.inner_text("#page-error"))
    page.screenshot(path=screenshot_dir / "unknown-campaign.png", full_page=True)


def test_token_is_needed_on_every_request(browser, store_path):
    from dashboards.app import create_app
    from dashboards.serve import start

    token = "correct-horse-battery"
    running = start(create_app(store_path, token=token, refresh_ms=500).server)
    try:
        ctx = browser.new_context()
        pg = ctx.new_page()
        resp = pg.goto(running.url + "/campaign/1")
        assert resp.status == 401 and "token" in pg.inner_text("body")
        pg.goto(f"{running.url}/campaign/1?token={token}")
        pg.wait_for_selector("#proposal-view")  # the page's own requests carry the cookie
        pg.fill("#reviewer", "Cy")
        pg.click("#approve-btn")
        pg.wait_for_selector("#decision-msg .decision-ok")
        ctx.close()
        ctx2 = browser.new_context()
        assert ctx2.new_page().goto(f"{running.url}/?token=wrong-token-value").status == 401
        ctx2.close()
    finally:
        running.stop()
    assert len([t for t in _proposals(store_path)]) == 3


def test_approved_in_the_page_then_run_by_the_runner(page, served, screenshot_dir):
    """The loop with a person in it: approve in the page, the campaign runner runs it, the page shows the result."""
    from campaigns.runner import Runner

    url, path = served
    target = _proposals(path)[0]
    _open_campaign(page, url)
    page.fill("#reviewer", "Dee")
    page.click("#approve-btn")
    page.wait_for_selector("#decision-msg .decision-ok")
    with CampaignStore(path, create=False) as s:
        summary = Runner(s, 1, budget=61).run()
        assert summary.runs == 1 and summary.status == "awaiting_approval"
        done = s.trial(target.id)
        n_state = sum(t.state == done.state for t in s.trials(1))
    # a run the twin shorted counts as failed: either way it ran, with a result, on the reviewer's approval
    assert done.state in ("done", "failed") and done.result and done.reviewer == "Dee"
    expect = f"{n_state} {done.state}"
    page.wait_for_function(f"document.querySelector('#campaign-counts').innerText.includes('{expect}')")
    page.click("#tab-run")
    page.wait_for_selector("#gantt-graph .gtitle")  # the default run is drawn first
    page.locator("#run-select").click()
    page.get_by_text(f"trial {done.id} ({done.state}", exact=False).last.click()
    page.wait_for_function("document.querySelector('#gantt-graph .gtitle') && document.querySelector("
                           f"'#gantt-graph .gtitle').textContent.includes('trial {done.id}')")
    # the re-simulation from the recorded chamber state and seed reproduces the run's recorded events
    assert "match the recorded ones" in page.inner_text("#run-note")
    page.screenshot(path=screenshot_dir / "run-after-approval.png", full_page=True)
