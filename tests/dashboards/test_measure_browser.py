"""Entering a measured interface resistance in the review app, in a real headless Chromium.

Each test starts the app on its own copy of the 60-trial sample store (a real SQLite file) in which two runs await
their measurement, as a tool without an impedance analyser leaves them; it drives the form in the page and checks
the store afterwards. Screenshots go to ``test-output/dashboards/`` with the other views.
"""

from __future__ import annotations

import hashlib
import json
import urllib.error
import urllib.request
from pathlib import Path

import pytest

from campaigns.store import CampaignStore
from dashboards.measure import MEASURE_ALLOWED, MEASURE_FIELD
from dashboards.sample_store import add_awaiting_measurement
from dashboards.serve import TOKEN_HEADER

pytestmark = pytest.mark.timeout(180)

MSG_TEXT = "document.querySelector('#measure-msg').innerText"


@pytest.fixture
def measure_served(store_path):
    """The app on a store copy with two trials awaiting measurement: ``(url, store path, [trial ids])``."""
    from dashboards.app import create_app
    from dashboards.serve import start

    ids = add_awaiting_measurement(store_path, 2)
    running = start(create_app(store_path, refresh_ms=500).server, "127.0.0.1", 0)
    yield running.url, store_path, ids
    running.stop()


def _trial(path: Path, tid: int):
    with CampaignStore(path, create=False) as s:
        return s.trial(tid), [e for e in s.events(trial_id=tid) if e.kind == "measure"]


def _files_digest(path: Path) -> dict[str, str]:
    """The store's bytes on disk: the database file and its write-ahead log (reading writes to neither)."""
    out = {}
    for p in (path, path.with_name(path.name + "-wal")):
        if p.exists():
            out[p.name] = hashlib.sha256(p.read_bytes()).hexdigest()
    return out


def _open_measure_tab(page, url, tid):
    page.goto(f"{url}/campaign/1")
    page.wait_for_selector("#proposal-view")
    page.click("#tab-measure")
    page.wait_for_selector(f"#measure-select input[value='{tid}']")
    page.click(f"#measure-select input[value='{tid}']")


def _convergence_points(page) -> dict[int, float]:
    """Trial id → objective of the convergence figure's 'run' trace, as plotly drew it."""
    pts = page.evaluate("""() => {
        const t = document.querySelector('#convergence-graph .js-plotly-plot')._fullData
            .find(d => d.name === 'run');
        return [Array.from(t.x), Array.from(t.y)];
    }""")
    return dict(zip(pts[0], pts[1], strict=True))


def test_measurement_entered_in_the_page_is_recorded_and_shown(page, measure_served, screenshot_dir):
    url, path, (tid, other) = measure_served
    before, _ = _trial(path, tid)
    assert before.state == "awaiting_measurement"
    page.goto(f"{url}/campaign/1")
    page.wait_for_selector("#proposal-view")
    assert "2 awaiting measurement" in page.inner_text("#campaign-counts")
    # the convergence chart has no point for the trial yet
    page.click("#tab-charts")
    page.wait_for_selector("#convergence-graph .scatterlayer .trace")
    assert before.id not in _convergence_points(page)

    page.click("#tab-measure")
    page.wait_for_selector(f"#measure-select input[value='{tid}']")
    assert page.locator("#measure-select input").count() == 2
    page.click(f"#measure-select input[value='{tid}']")
    page.fill("#measure-r-int", "9.5")
    page.fill("#measure-actor", "Ann")
    page.screenshot(path=screenshot_dir / "measure-form.png", full_page=True)
    page.click("#measure-btn")
    page.wait_for_selector("#measure-msg .measure-ok")
    assert page.inner_text("#measure-msg") == (f"Trial {before.id}: interface resistance 9.5 Ω·cm² recorded by "
                                               "Ann; the trial is done.")
    assert page.input_value("#measure-r-int") == ""  # cleared, so the value is not entered twice by mistake

    after, events = _trial(path, tid)
    assert (after.state, after.interface_resistance_ohm_cm2, after.result["measured_by"]) == ("done", 9.5, "Ann")
    assert {k: v for k, v in after.result.items() if k not in (MEASURE_FIELD, "measured_by")} == \
        {k: v for k, v in before.result.items() if k != MEASURE_FIELD}  # the run's record is kept as it was
    assert len(events) == 1
    e = events[0]
    assert (e.actor, e.from_state, e.to_state, e.detail) == ("Ann", "awaiting_measurement", "done",
                                                             {MEASURE_FIELD: 9.5})
    assert _trial(path, other)[0].state == "awaiting_measurement"

    # the page follows: the trial leaves the list, the entry is listed, the header counts it
    page.wait_for_function(f"!document.querySelector(\"#measure-select input[value='{tid}']\")")
    assert page.locator("#measure-select input:checked").count() == 0  # the next trial is chosen by hand
    page.wait_for_selector("#measured-table td")
    row = page.inner_text("#measured-table tbody tr:nth-child(2)")  # row 1 is the header
    assert f"trial {before.id}" in row and "9.5" in row and "Ann" in row
    page.wait_for_function("document.querySelector('#campaign-counts').innerText.includes('1 awaiting measurement')")
    page.screenshot(path=screenshot_dir / "measured.png", full_page=True)

    # the history table shows the measured value and who measured it
    page.click("#tab-history")
    page.wait_for_selector("#history-table td[data-dash-column='state']")
    page.click("#history-table th.dash-filter[data-dash-column='measured_by']")
    page.keyboard.type("Ann")
    page.keyboard.press("Enter")
    page.wait_for_function("document.querySelectorAll('#history-table td[data-dash-column=state]').length === 1")
    assert page.inner_text("#history-table td[data-dash-column='trial_id']").strip() == str(tid)
    assert page.inner_text("#history-table td[data-dash-column='state']").strip() == "done"
    assert page.inner_text("#history-table td[data-dash-column='R_int']").strip() == "9.5"

    # and the convergence chart now has its point
    page.click("#tab-charts")
    page.wait_for_function("(() => { const g = document.querySelector('#convergence-graph .js-plotly-plot');"
                           " const t = g && g._fullData && g._fullData.find(d => d.name === 'run');"
                           f" return t && Array.from(t.x).includes({before.id}); }})()")
    assert _convergence_points(page)[before.id] == pytest.approx(9.5)
    page.screenshot(path=screenshot_dir / "measured-convergence.png", full_page=True)


def test_bad_values_say_what_is_wrong_and_write_nothing(page, measure_served, screenshot_dir):
    url, path, (tid, _) = measure_served
    _open_measure_tab(page, url, tid)
    page.fill("#measure-actor", "Ann")
    digest = _files_digest(path)
    for text in ("-3", "nan", "NaN", "abc", "1e999", "0", "9,5", ""):
        page.fill("#measure-r-int", text)
        page.click("#measure-btn")
        page.wait_for_function(f"s => {MSG_TEXT}.startsWith(s)", arg=f"{MEASURE_FIELD} = {text!r}: ")
        assert page.locator("#measure-msg .error").count() == 1
        assert page.locator("#measure-msg .measure-ok").count() == 0
        msg = page.inner_text("#measure-msg")
        assert msg.endswith(f"(allowed: {MEASURE_ALLOWED})") and "\n" not in msg, msg
        assert page.input_value("#measure-r-int") == text  # kept, so it can be corrected
        if text == "-3":
            page.screenshot(path=screenshot_dir / "measure-invalid.png", full_page=True)
    # a value without the name of who measured it
    page.fill("#measure-r-int", "9.5")
    page.fill("#measure-actor", "  ")
    page.click("#measure-btn")
    page.wait_for_function(f"{MSG_TEXT}.startsWith(\"measured by = ''\")")
    assert _files_digest(path) == digest
    t, events = _trial(path, tid)
    assert t.state == "awaiting_measurement" and t.result[MEASURE_FIELD] is None and events == []
    assert page.locator(f"#measure-select input[value='{tid}']").count() == 1


def test_two_browsers_measuring_one_trial_keep_the_first(browser, measure_served, screenshot_dir):
    url, path, (tid, _) = measure_served
    pages = []
    for name, value in (("Ann", "9.5"), ("Ben", "12")):
        pg = browser.new_context(viewport={"width": 1400, "height": 900}).new_page()
        _open_measure_tab(pg, url, tid)
        pg.fill("#measure-r-int", value)
        pg.fill("#measure-actor", name)
        pages.append(pg)
    for pg in pages:  # both submit before either answer is back
        pg.evaluate("document.querySelector('#measure-btn').click()")
    msgs = []
    for pg in pages:
        pg.wait_for_selector("#measure-msg .measure-ok, #measure-msg .measure-conflict")
        msgs.append(pg.inner_text("#measure-msg"))
    oks = [m for m in msgs if "recorded by" in m]
    conflicts = [m for m in msgs if "was already measured by" in m]
    assert len(oks) == 1 and len(conflicts) == 1, msgs
    t, events = _trial(path, tid)
    winner = t.result["measured_by"]
    assert t.state == "done" and len(events) == 1 and events[0].actor == winner
    assert t.interface_resistance_ohm_cm2 == {"Ann": 9.5, "Ben": 12.0}[winner]
    assert f"recorded by {winner}" in oks[0]
    loser_value = {"Ann": "9.5", "Ben": "12"}[{"Ann": "Ben", "Ben": "Ann"}[winner]]
    assert conflicts[0] == (f"Trial {t.id} was already measured by {winner}: {t.interface_resistance_ohm_cm2:g} "
                            f"Ω·cm² stays recorded; your value {loser_value} Ω·cm² was not recorded.")
    loser = pages[msgs.index(conflicts[0])]
    loser.screenshot(path=screenshot_dir / "measure-conflict.png", full_page=True)
    # the loser's choice is cleared, not moved to the other trial awaiting its value (the typed value stays)
    loser.wait_for_function(f"!document.querySelector(\"#measure-select input[value='{tid}']\")")
    assert loser.locator("#measure-select input").count() == 1
    assert loser.locator("#measure-select input:checked").count() == 0
    loser.click("#measure-btn")
    loser.wait_for_function(f"{MSG_TEXT}.startsWith('Choose the trial')")
    assert _trial(path, tid)[0].interface_resistance_ohm_cm2 == t.interface_resistance_ohm_cm2
    for pg in pages:
        pg.context.close()


def test_measuring_with_the_token_in_the_page(browser, store_path):
    from dashboards.app import create_app
    from dashboards.serve import start

    (tid,) = add_awaiting_measurement(store_path, 1)
    token = "correct-horse-battery"
    running = start(create_app(store_path, token=token, refresh_ms=500).server)
    try:
        pg = browser.new_context().new_page()
        assert pg.goto(running.url + "/campaign/1").status == 401
        pg.goto(f"{running.url}/campaign/1?token={token}")  # the page's own requests then carry the cookie
        pg.wait_for_selector("#proposal-view")
        pg.click("#tab-measure")
        pg.wait_for_selector(f"#measure-select input[value='{tid}']")
        pg.click(f"#measure-select input[value='{tid}']")
        pg.fill("#measure-actor", "Cy")
        pg.fill("#measure-r-int", "20")
        pg.press("#measure-r-int", "Enter")  # Enter in the value field submits like the button
        pg.wait_for_selector("#measure-msg .measure-ok")
        pg.context.close()
    finally:
        running.stop()
    t, _ = _trial(store_path, tid)
    assert (t.state, t.interface_resistance_ohm_cm2) == ("done", 20.0)


# -- the same guards as approve and reject, on the raw callback endpoint (no browser needed) ----------------------
def _measure_request(tid: int, value: str, actor: str) -> bytes:
    """The POST the page sends when the button is clicked (Dash's callback protocol)."""
    return json.dumps({
        "output": "..measure-msg.children...measure-r-int.value..",
        "outputs": [{"id": "measure-msg", "property": "children"}, {"id": "measure-r-int", "property": "value"}],
        "inputs": [{"id": "measure-btn", "property": "n_clicks", "value": 1},
                   {"id": "measure-r-int", "property": "n_submit", "value": None}],
        "changedPropIds": ["measure-btn.n_clicks"],
        "state": [{"id": "measure-select", "property": "value", "value": tid},
                  {"id": "measure-r-int", "property": "value", "value": value},
                  {"id": "measure-actor", "property": "value", "value": actor}],
    }).encode()


def _post(url: str, body: bytes, headers: dict[str, str]) -> tuple[int, str]:
    req = urllib.request.Request(url + "/_dash-update-component", data=body, method="POST",
                                 headers={"Content-Type": "application/json", **headers})
    try:
        with urllib.request.urlopen(req, timeout=30) as resp:  # noqa: S310 - loopback test server
            return resp.status, resp.read().decode()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read().decode()


def test_measure_posts_are_refused_cross_site_and_without_the_token(store_path):
    """A page elsewhere cannot make a browser enter a measurement (CSRF, DNS rebinding), nor can anyone without
    the token: the same guards as approve and reject, and the same request from the page's own origin goes
    through (so it is the guard that refuses)."""
    from dashboards.app import create_app
    from dashboards.serve import start

    tid, tid2 = add_awaiting_measurement(store_path, 2)
    body = _measure_request(tid, "9.5", "Mallory")
    running = start(create_app(store_path).server)
    try:
        digest = _files_digest(store_path)
        assert _post(running.url, body, {"Origin": "http://evil.example"})[0] == 403
        assert _post(running.url, body, {"Origin": running.url.replace("127.0.0.1", "localhost")})[0] == 403
        assert _post(running.url, body, {"Host": "rebound.example", "Origin": "http://rebound.example"})[0] == 403
        assert _files_digest(store_path) == digest and _trial(store_path, tid)[1] == []
        status, text = _post(running.url, body, {"Origin": running.url})
        assert status == 200 and "recorded by Mallory" in text
    finally:
        running.stop()
    assert _trial(store_path, tid)[0].state == "done"

    token = "s3cret-token-for-tests"
    running = start(create_app(store_path, token=token).server)
    body = _measure_request(tid2, "9.5", "Mallory")
    try:
        digest = _files_digest(store_path)
        for headers in ({}, {TOKEN_HEADER: "wrong-token-wrong"}, {"Cookie": "sputter_twin_token=nope-nope-nope"}):
            assert _post(running.url, body, {"Origin": running.url, **headers})[0] == 401
        assert _files_digest(store_path) == digest and _trial(store_path, tid2)[1] == []
        status, text = _post(running.url, body, {"Origin": running.url, TOKEN_HEADER: token})
        assert status == 200 and "recorded by Mallory" in text
    finally:
        running.stop()
