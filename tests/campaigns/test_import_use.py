"""Imported past runs at work: every strategy is told them, calibration fits them in their context state, the
recommendation may be one, the budget counts only the campaign's own runs, and status, export, report and the
dashboard mark them as imported."""

from __future__ import annotations

import re

import pandas as pd
import pytest

from campaigns.calibration.measurements import measurements_from_store
from campaigns.importer import import_past_runs
from campaigns.records import is_imported, runs_used
from campaigns.runner import Runner, load_campaign, outcomes, rebuild_strategy, recommended_trial, with_states
from campaigns.store import CampaignStore
from sputter_twin.cli.main import main
from tests.campaigns.import_helpers import GOOD_ROWS, make_store, write_csv
from twin import Chamber


def _imported_store(tmp_path, *, budget=10, strategy="gp", rows=None):
    store, cfile = make_store(tmp_path, budget=budget, strategy=strategy)
    rows = rows or [dict(r) for r in GOOD_ROWS]
    with CampaignStore(store) as s:
        import_past_runs(s, "small", write_csv(tmp_path / "past.csv", rows))
    return store, cfile


def test_imported_runs_do_not_use_the_budget_of_new_runs(tmp_path, capsys):
    store, cfile = _imported_store(tmp_path, budget=3)
    with CampaignStore(store) as s:
        summary = Runner(s, "small").run()
        trials = s.trials(1)
    assert summary.status == "budget_spent" and summary.used == 3
    assert sum(not is_imported(t) for t in trials) == 3 and runs_used(trials) == 3
    assert [t.run_index for t in trials if not is_imported(t)] == [0, 1, 2]  # the tool's own run counter
    assert main(["campaign", "status", "--store", str(store)]) == 0
    out = capsys.readouterr().out
    assert "budget 3, 3 used; 5 imported past runs, not counted" in out.splitlines()[0]
    assert len(re.findall(r"imported \(past\.csv row \d\)", out)) >= 5


@pytest.mark.parametrize("strategy", ["gp", "twin-prior", "random", "space-filling"])
def test_every_strategy_is_told_the_imported_runs(tmp_path, strategy):
    store, _ = _imported_store(tmp_path, strategy=strategy)
    with CampaignStore(store) as s:
        cid, config, chamber = load_campaign(s, "small")
        trials = s.trials(cid)
    told = rebuild_strategy(config, chamber, trials)
    assert len(told.points) == 5 and len(told.outcomes) == 5
    if strategy == "gp":  # 5 runs >= n_initial = 4: the GP models from the first proposal on
        assert told.model() is not None


def test_an_imported_run_starts_in_its_context_state_else_the_chambers(tmp_path):
    rows = [dict(r) for r in GOOD_ROWS]
    rows[0] |= {"hours_since_vent": 30.0, "target_kwh": 12.5}
    store, _ = _imported_store(tmp_path, rows=rows)
    with CampaignStore(store) as s:
        cid, config, chamber = load_campaign(s, "small")
        trials = s.trials(cid)
    states = [o.state for _, o in with_states(chamber, trials, outcomes(config, trials))]
    default = Chamber().state
    assert states[0] == {"hours_since_vent": 30.0, "target_kwh": 12.5, "shield_kwh": float(default.shield_kwh)}
    assert states[1] == {"hours_since_vent": float(default.hours_since_vent),
                         "target_kwh": float(default.target_kwh), "shield_kwh": float(default.shield_kwh)}
    with CampaignStore(store) as s:
        _, measured, _ = measurements_from_store(s, "small")
    assert len(measured) == 5 and all(m.label.endswith("(imported)") for m in measured)
    assert measured[0].state == states[0] and measured[1].state == states[1]


def test_calibration_leaves_out_runs_flagged_failed_or_shorted(tmp_path):
    rows = [dict(r) for r in GOOD_ROWS]
    rows[1] |= {"failed": "yes"}
    rows[2] |= {"shorted": "yes", "interface_resistance_ohm_cm2": None}
    store, _ = _imported_store(tmp_path, rows=rows)
    with CampaignStore(store) as s:
        assert [t.state for t in s.trials(1)] == ["done", "failed", "failed", "done", "done"]
        _, measured, _ = measurements_from_store(s, "small")
    assert [m.label for m in measured] == ["trial 1 (imported)", "trial 4 (imported)", "trial 5 (imported)"]


def test_the_recommendation_may_be_an_imported_run_and_status_says_so(tmp_path, capsys):
    store, _ = _imported_store(tmp_path)
    with CampaignStore(store) as s:
        cid, config, chamber = load_campaign(s, "small")
        rec = recommended_trial(config, chamber, s.trials(cid))
    assert rec is not None and is_imported(rec[0])
    assert main(["campaign", "status", "--store", str(store)]) == 0
    out = capsys.readouterr().out
    assert re.search(r"^best: trial \d, imported \(past\.csv row \d\)", out, re.M)
    assert re.search(r"^recommended by the model: trial \d, imported \(past\.csv row \d\)", out, re.M)


def test_export_and_report_mark_imported_trials(tmp_path, capsys):
    rows = [dict(r) for r in GOOD_ROWS]
    rows[0] |= {"hours_since_vent": 30.0}
    store, _ = _imported_store(tmp_path, budget=2, rows=rows)
    with CampaignStore(store) as s:
        Runner(s, "small").run()
    assert main(["campaign", "export", "--store", str(store), "--format", "csv", "--out", str(tmp_path / "e.csv")]) == 0
    df = pd.read_csv(tmp_path / "e.csv")
    assert list(df["imported"]) == [True] * 5 + [False] * 2
    assert list(df["import_row"][:5]) == [1, 2, 3, 4, 5] and df["import_source"].iloc[6] != df["import_source"].iloc[6]
    assert df["context_hours_since_vent"].iloc[0] == 30.0
    assert main(["campaign", "report", "--store", str(store), "--html", str(tmp_path / "r.html")]) == 0
    capsys.readouterr()
    assert (tmp_path / "r.html").read_text().count("done (imported)") == 5


def test_the_dashboard_marks_imported_trials(tmp_path):
    from dashboards.campaign_view import campaign_state
    from dashboards.data import ReviewData, history_columns, history_rows, shown_name, trial_label

    store, _ = _imported_store(tmp_path)
    with CampaignStore(store) as s:
        data = ReviewData(s)
        trials = data.trials(1)
        rows, cols = history_rows(trials, data.objective(1))
        header, *_ = campaign_state(data, 1)
    assert "source" in [c["id"] for c in history_columns(cols)]
    assert [r["source"] for r in rows] == [f"imported (past.csv row {k})" for k in range(1, 6)]
    assert trial_label(trials[0]).startswith("trial 1 (done, imported, ")
    assert shown_name(trials[0]) == "trial 1 (imported)"
    assert "(imported)" in str(header)  # "best so far: ... (trial N (imported))"


def test_an_import_during_a_run_stops_the_runner_with_one_line_and_it_resumes(tmp_path, capsys, monkeypatch):
    import campaigns.runner as runner

    store, cfile = make_store(tmp_path, budget=2)
    real = runner.rebuild_strategy
    done = []

    def import_meanwhile(config, chamber, trials, *args):  # another process imports while the runner builds its model
        strategy = real(config, chamber, trials, *args)
        if not done:
            done.append(True)
            with CampaignStore(store) as other:
                import_past_runs(other, "small", write_csv(tmp_path / "past.csv", GOOD_ROWS))
        return strategy

    monkeypatch.setattr(runner, "rebuild_strategy", import_meanwhile)
    rc = main(["campaign", "run", str(cfile), "--store", str(store), "--no-progress"])
    err = capsys.readouterr().err
    assert rc == 2 and len(err.splitlines()) == 1 and "someone else proposed meanwhile" in err
    monkeypatch.setattr(runner, "rebuild_strategy", real)
    assert main(["campaign", "run", str(cfile), "--store", str(store), "--no-progress"]) == 0
    with CampaignStore(store) as s:
        trials = s.trials(1)
    assert sum(is_imported(t) for t in trials) == 5 and runs_used(trials) == 2


def test_the_store_refuses_rows_imported_meanwhile_whole(tmp_path):
    store, _ = make_store(tmp_path)
    rows = [{"recipe": {"rf_power_w": 100.0}, "extras": {}, "result": {"interface_resistance_ohm_cm2": 9.0},
             "state": "done", "provenance": {"imported": True, "row": k, "row_key": f"key{k}"}} for k in (1, 2)]
    from campaigns.errors import TrialStateError

    with CampaignStore(store) as s:
        assert s.import_trials(1, rows[:1], source="a.csv") == [1]
        with pytest.raises(TrialStateError, match="imported into the campaign meanwhile"):
            s.import_trials(1, rows, source="b.csv")
        assert len(s.trials(1)) == 1
