"""The Pareto tab in a real headless Chromium, on a small multi-objective campaign run by the real ``mobo``
strategy on the twin: pick a point of the predicted front, approve it, the runner runs it, the front updates.

The campaign (3 goals, an outcome constraint, 6 runs) is built once per module; each test serves its own copy.
"""

from __future__ import annotations

import shutil

import numpy as np
import pytest

from campaigns.config import CampaignConfig
from campaigns.front import hypervolume_history, measured_runs, predicted_front
from campaigns.runner import Runner, load_campaign, open_campaign
from campaigns.store import CampaignStore
from tests.campaigns.mo_helpers import GOALS, mo_text
from twin import Chamber

pytestmark = pytest.mark.timeout(240)

THREE_GOALS = GOALS + '[[objectives]]\nfield = "ionic_conductivity_s_cm"\ndirection = "maximize"\nlog = true\n'
N_RUNS = 6


@pytest.fixture(scope="module")
def mo_template(tmp_path_factory):
    """A store with one 3-goal mobo campaign after 6 runs on the simulated tool (no proposal pending)."""
    path = tmp_path_factory.mktemp("mo") / "template.sqlite"
    text = mo_text(budget=N_RUNS, strategy="mobo", settings="n_initial = 4\nn_points = 300", goals=THREE_GOALS,
                   seed=5)
    config = CampaignConfig.from_text(text)
    with CampaignStore(path) as store:
        cid = open_campaign(store, config, Chamber())
        assert Runner(store, cid).run().status == "budget_spent"
    return path


@pytest.fixture
def mo_served(mo_template, tmp_path):
    from dashboards.app import create_app
    from dashboards.serve import start

    path = tmp_path / "mo.sqlite"
    shutil.copyfile(mo_template, path)
    app = create_app(path, refresh_ms=500)
    running = start(app.server, "127.0.0.1", 0)
    yield running.url, path
    running.stop()


def _plot_data(page, graph_id: str) -> list:
    return page.evaluate(f"document.querySelector('#{graph_id} .js-plotly-plot').data"
                         ".map(t => ({name: t.name, x: t.x, y: t.y, customdata: t.customdata}))")


def test_pick_a_front_point_approve_it_the_runner_runs_it_and_the_front_updates(page, mo_served, screenshot_dir):
    url, path = mo_served
    with CampaignStore(path, create=False) as s:
        _, config, chamber = load_campaign(s, 1)
        trials = s.trials(1)
    front = predicted_front(config, chamber, trials)  # what the page must list, computed here independently
    history = hypervolume_history(config, trials)
    assert front is not None and len(front) >= 2

    page.goto(f"{url}/campaign/1")
    page.click("#tab-front")
    page.wait_for_selector("#front-summary")
    summary = page.inner_text("#front-summary")
    n_on = sum(r.on_front for r in measured_runs(config, trials))
    assert f"{n_on} of {N_RUNS} runs on the measured front" in summary
    assert f"hypervolume {history.hypervolume[-1]:.4g}" in summary and f"{len(front)} points" in summary
    page.wait_for_selector("#front-graph .js-plotly-plot")
    names = [t["name"] for t in _plot_data(page, "front-graph")]
    assert "measured: on the front" in names and "predicted front (model)" in names
    assert len(_plot_data(page, "hypervolume-graph")[0]["y"]) == N_RUNS
    page.wait_for_selector("#front-parallel-graph .js-plotly-plot")  # three goals: parallel coordinates too
    page.screenshot(path=screenshot_dir / "front.png", full_page=True)

    # a click on a predicted point in the graph selects it in the list (plotly's click event, as a mouse sends it)
    traces = _plot_data(page, "front-graph")
    curve = next(i for i, t in enumerate(traces) if t["name"] == "predicted front (model)")
    point = next(i for i, c in enumerate(traces[curve]["customdata"]) if c == ["K", 2])
    page.evaluate("([c, p]) => document.querySelector('#front-graph .js-plotly-plot')"
                  ".emit('plotly_click', {points: [{curveNumber: c, pointNumber: p}]})", [curve, point])
    page.wait_for_function("document.querySelector(\"#front-points input[value='2']\").checked")
    k = 1
    page.click(f"#front-points input[value='{k}']")
    page.click("#front-propose-btn")  # no reviewer yet: refused, nothing added
    page.wait_for_selector("#front-msg .front-invalid")
    assert "reviewer" in page.inner_text("#front-msg")
    with CampaignStore(path, create=False) as s:
        assert len(s.trials(1)) == N_RUNS
    page.fill("#front-reviewer", "Ada")
    page.click("#front-propose-btn")
    page.wait_for_selector("#front-msg .front-ok")
    with CampaignStore(path, create=False) as s:
        (picked,) = [t for t in s.trials(1) if t.state == "proposed"]
    pick = picked.provenance["picked_from_front"]
    assert pick["index"] == k and pick["by"] == "Ada"
    assert picked.recipe == front.recipes[k].to_dict()  # the point the page listed as K 1
    np.testing.assert_allclose(picked.prediction["mean"], front.mean[k])
    assert f"Trial {picked.id} proposed from the predicted front (K {k}) by Ada" in page.inner_text("#front-msg")
    # the proposal shows at its predicted position on the front
    page.wait_for_function("document.querySelector('#front-graph .js-plotly-plot').data"
                           ".some(t => t.name === 'proposals (predicted position)')")

    page.click("#tab-review")
    page.click(f"#proposal-select input[value='{picked.id}']")
    page.wait_for_function("document.querySelector('#proposal-title').innerText"
                           f".startsWith('Proposal: trial {picked.id}')")
    assert page.inner_text("#pred-origin") == f"picked from the predicted front (K {k}) by Ada"
    assert "interface_resistance_ohm_cm2" in page.inner_text("#pred-front")
    page.fill("#reviewer", "Bo")
    page.click("#approve-btn")
    page.wait_for_selector("#decision-msg .decision-ok")

    with CampaignStore(path) as s:  # the runner runs the approved pick (one run past the budget it spent)
        summary_run = Runner(s, 1, budget=N_RUNS + 1).run()
        done = s.trial(picked.id)
    assert summary_run.runs == 1 and done.state in ("done", "failed")

    page.click("#tab-front")
    page.wait_for_function("document.querySelector('#front-summary') && document.querySelector('#front-summary')"
                           f".innerText.includes('of {N_RUNS + 1} runs on the measured front')")
    page.wait_for_function("document.querySelector('#hypervolume-graph .js-plotly-plot').data[0].y.length === "
                           f"{N_RUNS + 1}")
    with CampaignStore(path, create=False) as s:
        after = hypervolume_history(config, s.trials(1))
    assert after.trial_ids[-1] == picked.id
    assert f"hypervolume {after.hypervolume[-1]:.4g}" in page.inner_text("#front-summary")
    assert not any(t["name"] == "proposals (predicted position)" for t in _plot_data(page, "front-graph"))
    page.screenshot(path=screenshot_dir / "front-after-run.png", full_page=True)
