"""The app's access to the store: campaign keys from URLs, decisions, concurrent approvals, the rebuilt surrogate."""

from __future__ import annotations

import shutil
import threading

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from campaigns.errors import TrialStateError
from campaigns.store import CampaignStore
from dashboards.data import ReviewData, history_columns, history_rows, open_store
from dashboards.errors import DashboardError


@pytest.fixture
def data(store_path):
    d = ReviewData(open_store(store_path))
    yield d
    d.store.close()


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.text(max_size=40))
def test_unknown_campaign_keys_are_refused_by_name(data, key):
    if key in ("1", "sample"):
        assert data.resolve(key) == 1
        return
    with pytest.raises(DashboardError) as err:
        data.resolve(key)
    msg = str(err.value)
    assert "no such campaign in this store" in msg and "1 (sample)" in msg


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(decision=st.sampled_from(["approve", "reject", "delete", ""]), reviewer=st.text(max_size=20),
       comment=st.text(max_size=40))
def test_decisions_are_recorded_or_refused_never_half(sample_store_template, tmp_path_factory, decision, reviewer,
                                                      comment):
    path = tmp_path_factory.mktemp("decide") / "s.sqlite"
    shutil.copyfile(sample_store_template, path)
    d = ReviewData(open_store(path))
    try:
        target = [t for t in d.trials(1) if t.state == "proposed"][0]
        try:
            t = d.decide(target.id, decision, reviewer, comment)
        except DashboardError:
            after = d.trial(target.id)
            assert after.state == "proposed" and after.reviewer is None
            assert not [e for e in d.store.events(trial_id=target.id) if e.kind in ("approve", "reject")]
        else:
            assert decision in ("approve", "reject") and reviewer.strip()
            assert t.state == {"approve": "approved", "reject": "rejected"}[decision]
            assert t.reviewer == reviewer.strip() and t.comment == comment.strip()
            if decision == "reject":
                assert comment.strip()
    finally:
        d.store.close()


def test_threads_approving_at_once_leave_one_decision(data, store_path):
    """Eight reviewers (threads of one app and a second process-like connection) approve the same proposal."""
    target = [t for t in data.trials(1) if t.state == "proposed"][0]
    other = CampaignStore(store_path, create=False)  # a second connection, as another server process would hold
    barrier = threading.Barrier(8)
    wins, losses = [], []

    def reviewer(k: int) -> None:
        barrier.wait()
        try:
            if k % 2:
                other.approve(target.id, f"r{k}", "")
            else:
                data.decide(target.id, "approve", f"r{k}", "")
            wins.append(k)
        except TrialStateError:
            losses.append(k)

    threads = [threading.Thread(target=reviewer, args=(k,)) for k in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    other.close()
    assert len(wins) == 1 and len(losses) == 7
    t = data.trial(target.id)
    assert t.state == "approved" and t.reviewer == f"r{wins[0]}"
    assert len([e for e in data.store.events(trial_id=target.id) if e.kind == "approve"]) == 1


def test_rebuilt_surrogate_predicts_what_was_stored(data):
    trials = data.trials(1)
    sur = data.surrogate(1, trials)
    assert sur is not None and sur.log and sur.n_observed == 60
    proposals = [t for t in trials if t.state == "proposed"]
    from dashboards.data import trial_recipe

    mean, std = sur.predict([trial_recipe(t) for t in proposals])
    assert mean.tolist() == pytest.approx([t.predicted_mean for t in proposals], rel=1e-6)
    assert std.tolist() == pytest.approx([t.predicted_std for t in proposals], rel=1e-4)
    assert data.surrogate(1, trials) is sur  # cached while nothing changed
    assert set(data.bounds(1)) == {"rf_power_w", "seed_power_w", "seed_thickness_nm", "pressure_pa",
                                   "target_substrate_distance_mm", "pumpdown_min"}


def test_history_rows_are_json_safe(data):
    import json

    rows, cols = history_rows(data.trials(1))
    assert len(rows) == 64 and cols[0] == "trial_id"
    json.dumps(rows, allow_nan=False)
    done = [r for r in rows if r["state"] == "done"]
    assert all(r["R_int"] is not None and r["R_int"] > 0 for r in done)
    assert all(r["R_int"] is None for r in rows if r["state"] == "proposed")
    assert "P_fail" in cols and all(r["P_fail"] is None or 0 <= r["P_fail"] <= 100 for r in rows)  # in %
    assert any(r["P_fail"] is not None for r in rows if r["state"] == "proposed")  # gp's failure model


def test_history_shows_predictions_in_ohm_cm2_beside_r_int_with_labelled_units(data):
    trials = data.trials(1)
    rows, cols = history_rows(trials, data.objective(1))
    names = {c["id"]: c["name"] for c in history_columns(cols, data.objective(1))}
    assert names["R_int"] == "R_int [Ω·cm²]" and names["predicted"] == "predicted [Ω·cm²]"
    assert names["P_fail"] == "P(fail) [%]" and names["EI"] == "EI [log10 units]"  # the optimiser's units, said so
    assert names["rf_power_w"] == "rf_power_w [W]" and names["trial_id"] == "trial"
    assert "predicted_mean" not in cols  # the log10 value is not shown raw
    t = next(t for t in trials if t.predicted_mean is not None)  # the sample store: proposals carry predictions
    row = next(r for r in rows if r["trial_id"] == t.id)
    assert row["predicted"] == pytest.approx(10 ** t.predicted_mean, rel=5e-3)  # Ω·cm², 3 significant figures
    assert row["predicted_lo"] < row["predicted"] < row["predicted_hi"]
    for r in rows:  # recipe numbers at their precision: whole watts, 0.1 nm
        assert r["rf_power_w"] == round(r["rf_power_w"]) and r["seed_thickness_nm"] == round(r["seed_thickness_nm"], 1)


def test_extra_report_figures_render_offline(data, tmp_path):
    from dashboards.review_report import extra_figures

    figs = extra_figures(data.store, 1)
    titles = [f.layout.title.text for f in figs]
    assert titles[0].startswith("Event timeline of the best run")
    assert titles[1].startswith("Telemetry of the best run")
    assert titles[2] == "Surrogate partial dependence"
    assert sum(t.endswith("margins to the tool's limits") for t in titles) == 4
    html = "".join(f.to_html(full_html=False, include_plotlyjs="inline" if k == 0 else False)
                   for k, f in enumerate(figs))
    assert "<script src=" not in html and "Plotly.newPlot" in html  # plotly.js inline: opens without a network
