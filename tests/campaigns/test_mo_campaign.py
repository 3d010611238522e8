"""Multi-objective campaigns end to end: the runner, the store's per-trial vector prediction, ``campaign status``,
``export`` (Pareto membership, scores, hypervolume), ``propose --front-point``, approve, run, and the report —
first with ``random``, then with the real ``mobo`` strategy on a small budget."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from campaigns.front import hypervolume_history, measured_runs, pareto_set, predicted_front, reference_point
from campaigns.pareto import hypervolume, pareto_mask
from campaigns.runner import best_trial, load_campaign, recommended_trial
from campaigns.store import CampaignStore
from sputter_twin.cli.main import main
from tests.campaigns.mo_helpers import mo_campaign

pytestmark = pytest.mark.timeout(120)

GOAL_FIELDS = ("interface_resistance_ohm_cm2", "process_time_s")


@pytest.fixture(scope="module")
def random_store(tmp_path_factory):
    """A 10-run random campaign with two goals and the constraint R_int <= 12 Ω·cm² (which some runs break)."""
    tmp = tmp_path_factory.mktemp("mo_random")
    camp = mo_campaign(tmp, budget=10, outcomes='outcomes = ["interface_resistance_ohm_cm2 <= 12"]')
    store = tmp / "s.sqlite"
    assert main(["campaign", "run", str(camp), "--store", str(store), "--no-progress"]) == 0
    return store


def test_export_marks_the_pareto_front_of_feasible_runs_and_the_hypervolume_after_each_run(random_store, tmp_path):
    out = tmp_path / "x.csv"
    assert main(["campaign", "export", "--store", str(random_store), "--format", "csv", "--out", str(out)]) == 0
    df = pd.read_csv(out)
    runs = df[df["state"].isin(["done", "failed"])]
    assert len(runs) == 10
    done = runs[runs["state"] == "done"]
    # scores recomputed from the raw columns: log10 R_int, process time as is
    np.testing.assert_allclose(done["score_interface_resistance_ohm_cm2"],
                               np.log10(done["interface_resistance_ohm_cm2"]))
    np.testing.assert_allclose(done["score_process_time_s"], done["process_time_s"])
    feasible = done["interface_resistance_ohm_cm2"] <= 12
    assert (done["feasible"] == feasible).all() and 0 < feasible.sum() < len(done)  # the constraint bites
    scores = done[[f"score_{f}" for f in GOAL_FIELDS]].to_numpy()
    want = np.zeros(len(done), bool)
    want[feasible.to_numpy()] = pareto_mask(scores[feasible.to_numpy()])
    assert (done["on_pareto_front"].astype(bool).to_numpy() == want).all() and want.any()
    assert not runs[runs["state"] == "failed"]["on_pareto_front"].astype(bool).any()
    # hypervolume after each run, with the reference of the whole campaign (default: no reference in the file)
    with CampaignStore(random_store, create=False) as s:
        _, config, _ = load_campaign(s, 1)
        ref, source = reference_point(config, s.trials(1))
    assert source == "default"
    ordered = runs.sort_values("trial_id")  # one run after another, in proposal order
    ok = ordered["feasible"].fillna(False).astype(bool).to_numpy()
    sc = ordered[[f"score_{f}" for f in GOAL_FIELDS]].to_numpy()
    expect = [hypervolume(sc[: k + 1][ok[: k + 1]], ref) if ok[: k + 1].any() else 0.0 for k in range(len(ordered))]
    np.testing.assert_allclose(ordered["hypervolume"], expect)
    with CampaignStore(random_store, create=False) as s:  # the same history from the store
        np.testing.assert_allclose(s.hypervolume_history(1).hypervolume, expect)
    assert np.all(np.diff(expect) >= 0) and expect[-1] > 0
    pq = tmp_path / "x.parquet"
    assert main(["campaign", "export", "--store", str(random_store), "--format", "parquet", "--out", str(pq)]) == 0
    assert pd.read_parquet(pq)["on_pareto_front"].tolist() == df["on_pareto_front"].tolist()


def test_status_shows_each_goal_feasibility_front_and_hypervolume(random_store, capsys):
    assert main(["campaign", "status", "--store", str(random_store)]) == 0
    out = capsys.readouterr().out
    with CampaignStore(random_store, create=False) as s:
        _, config, _ = load_campaign(s, 1)
        trials = s.trials(1)
    assert "interface_resistance_ohm_cm2 (min)" in out and "process_time_s (min)" in out and "on front" in out
    h = hypervolume_history(config, trials)
    assert f"hypervolume of the measured front: {h.hypervolume[-1]:.4g}" in out and "after 10 runs" in out
    front_ids = {r.trial.id for r in pareto_set(config, trials)}
    lines = {int(line.split()[0]): line for line in out.splitlines() if line.strip()[:1].isdigit()
             and line.split()[1] in ("done", "failed")}
    for r in measured_runs(config, trials):  # each run's row says feasible and on-front as computed
        cells = lines[r.trial.id].split()
        assert ("yes" if r.outcome.feasible else "no") in cells
        assert (cells.count("yes") == 2) == (r.trial.id in front_ids)
    assert "predicted front: none (strategy random has no model of the goals)" in out
    assert best_trial(config, trials) is None and recommended_trial(config, None, trials) is None


def test_front_point_is_refused_without_a_model_or_out_of_range(random_store, capsys):
    assert main(["campaign", "propose", "--store", str(random_store), "--front-point", "0"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "--front-point = 0" in err and "has no predicted front" in err


def test_the_html_report_shows_the_front_and_the_hypervolume(random_store, tmp_path):
    out = tmp_path / "r.html"
    assert main(["campaign", "report", "--store", str(random_store), "--html", str(out)]) == 0
    text = out.read_text()
    assert "Pareto front: process_time_s against interface_resistance_ohm_cm2" in text
    assert "Hypervolume of the measured front" in text and "measured Pareto front:" in text


# -- the real mobo strategy ------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def mobo_store(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("mo_mobo")
    camp = mo_campaign(tmp, budget=6, strategy="mobo", settings="n_initial = 4\nn_points = 300")
    store = tmp / "s.sqlite"
    assert main(["campaign", "run", str(camp), "--store", str(store), "--no-progress"]) == 0
    return store


def test_mobo_proposals_keep_their_predicted_position_on_the_front(mobo_store):
    with CampaignStore(mobo_store, create=False) as s:
        trials = s.trials(1)
    assert [t.state in ("done", "failed") for t in trials] == [True] * 6
    design, model_based = trials[:4], trials[4:]
    assert all(t.prediction == {} for t in design[:2])  # no model yet: nothing predicted
    for t in model_based:
        p = t.prediction
        assert p["goals"] == list(GOAL_FIELDS) and len(p["mean"]) == len(p["std"]) == 2
        assert all(math.isfinite(x) for x in p["mean"]) and all(x > 0 for x in p["std"])
        assert 0.0 <= p["p_feasible"] <= 1.0 and math.isfinite(p["acquisition"])
        assert t.provenance["strategy"] == "mobo" and "reference" in t.provenance["model"]


def test_pick_a_front_point_approve_and_run_it_with_mobo(mobo_store, tmp_path, capsys):
    import shutil

    store = tmp_path / "s.sqlite"
    shutil.copyfile(mobo_store, store)
    with CampaignStore(store, create=False) as s:
        _, config, chamber = load_campaign(s, 1)
        front = predicted_front(config, chamber, s.trials(1))
        again = predicted_front(config, chamber, s.trials(1))
    assert front is not None and len(front) >= 1  # after 6 runs in 8-D the MAP GPs may predict a single point
    np.testing.assert_array_equal(front.mean, again.mean)  # rebuilt from the store: the same front every time
    assert main(["campaign", "status", "--store", str(store)]) == 0
    out = capsys.readouterr().out
    assert "the model's predicted front (propose point K for review: campaign propose --front-point K)" in out
    assert main(["campaign", "propose", "--store", str(store), "--front-point", str(len(front))]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and f"0–{len(front) - 1}" in err
    k = len(front) // 2
    assert main(["campaign", "propose", "--store", str(store), "--front-point", str(k), "--reviewer", "ada"]) == 0
    out = capsys.readouterr().out
    with CampaignStore(store, create=False) as s:
        (t,) = [t for t in s.trials(1) if t.state == "proposed"]
        assert [e.kind for e in s.events(trial_id=t.id)] == ["proposed", "picked_from_front"]
    assert f"proposed trial {t.id}: point {k} of the predicted front, picked by ada" in out
    assert t.recipe == front.recipes[k].to_dict() and t.provenance["picked_from_front"]["index"] == k
    np.testing.assert_allclose(t.prediction["mean"], front.mean[k])
    assert main(["campaign", "approve", str(t.id), "--store", str(store), "--reviewer", "bo"]) == 0
    camp = mo_campaign(tmp_path, budget=6, strategy="mobo", settings="n_initial = 4\nn_points = 300")
    assert main(["campaign", "run", str(camp), "--store", str(store), "--budget", "7", "--no-progress"]) == 0
    with CampaignStore(store, create=False) as s:
        assert s.trial(t.id).state in ("done", "failed")
        assert hypervolume_history(config, s.trials(1)).trial_ids[-1] == t.id


def test_a_mobo_campaign_stopped_and_resumed_is_the_uninterrupted_one(mobo_store, tmp_path):
    """Resume replays ``tell`` from the store: the same proposals, results and vector predictions."""
    from campaigns.store import trial_history

    camp = mo_campaign(tmp_path, budget=6, strategy="mobo", settings="n_initial = 4\nn_points = 300")
    store = tmp_path / "s.sqlite"
    for max_runs in ("5", "3"):  # stop after the first model-based run, then resume to the end
        assert main(["campaign", "run", str(camp), "--store", str(store), "--no-progress", "--max-runs",
                     max_runs]) == 0
    with CampaignStore(store, create=False) as s, CampaignStore(mobo_store, create=False) as ref:
        resumed, whole = trial_history(s.trials(1)), trial_history(ref.trials(1))
    assert len(resumed) == len(whole) == 6
    for a, b in zip(resumed, whole, strict=True):
        assert a["recipe"] == b["recipe"] and a["result"] == b["result"] and a["prediction"] == b["prediction"]
