"""The runner: closes the loop, resumes exactly, respects approval, waits for measurements, survives Ctrl-C."""

from __future__ import annotations

import dataclasses
import math

import pytest

import campaigns.runner as runner_mod
from campaigns.config import CampaignConfig
from campaigns.errors import CampaignError, RunnerBusyError
from campaigns.runner import Runner, best_trial, open_campaign, propose, rebuild_strategy
from campaigns.store import CampaignStore, trial_history
from campaigns.strategies import StrategyContext, register_strategy, strategy_names
from tests.campaigns.helpers import small_campaign
from twin import Chamber, RecipeError, SimulatedTool, ToolStatus


def _setup(tmp_path, name="s.sqlite", **kw):
    cfile = small_campaign(tmp_path, **kw)
    config = CampaignConfig.from_toml(cfile)
    store = CampaignStore(tmp_path / name)
    return store, open_campaign(store, config, Chamber()), config


def test_runs_until_the_budget_is_spent_and_records_provenance(tmp_path):
    store, cid, config = _setup(tmp_path, budget=7)
    summary = Runner(store, cid).run()
    trials = store.trials(cid)
    assert summary.status == "budget_spent" and summary.used == 7 and summary.runs == 7
    assert [t.state in ("done", "failed") for t in trials] == [True] * 7
    assert [t.run_index for t in trials] == list(range(7))
    prov = trials[-1].provenance
    assert prov["strategy"] == "gp" and prov["seed"] == 3 and prov["tool"] == "simulated"
    assert prov["versions"]["model"] and prov["settings"]["n_initial"] == 4 and prov["observations"] == 6
    # proposals after the initial design carry the GP's prediction at proposal time
    assert trials[0].predicted_mean is None and trials[-1].predicted_mean is not None
    assert summary.best is not None and summary.best[1].value == min(
        t.interface_resistance_ohm_cm2 for t in trials if t.state == "done")
    # the chamber state carries over from run to run (the campaign's tool is one chamber)
    assert trials[1].result["target_kwh_start"] == pytest.approx(trials[0].result["chamber_state_after"]["target_kwh"])
    assert Runner(store, cid).run().runs == 0  # nothing left to do
    store.close()


def test_stepwise_resumed_campaign_equals_uninterrupted_one(tmp_path):
    ref_store, ref_cid, _ = _setup(tmp_path, "ref.sqlite", budget=9, batch=2)
    Runner(ref_store, ref_cid).run()
    store, cid, _ = _setup(tmp_path, "steps.sqlite", budget=9, batch=2)
    for _ in range(20):
        if Runner(store, cid, max_runs=2).run().status == "budget_spent":
            break
    assert trial_history(store.trials(cid)) == trial_history(ref_store.trials(ref_cid))
    # and the same seed gives the same campaign in a fresh store
    assert len({t.batch for t in store.trials(cid)}) == 5


def test_replayed_strategy_proposes_what_the_live_one_would(tmp_path):
    store, cid, config = _setup(tmp_path, budget=6)
    Runner(store, cid).run()
    trials = store.trials(cid)
    a = rebuild_strategy(config, Chamber(), trials).ask(3)
    b = rebuild_strategy(config, Chamber(), trials).ask(3)
    assert a == b and len({tuple(r.to_dict().items()) for r in a}) == 3


def test_approval_required_runs_only_approved_trials(tmp_path):
    store, cid, _ = _setup(tmp_path, budget=4, batch=2, approval=True)
    s = Runner(store, cid).run()
    assert s.status == "awaiting_approval" and s.runs == 0
    first, second = store.trials(cid)
    store.approve(first.id, "alice")
    store.reject(second.id, "bob", "seed layer too thin for this target")
    s = Runner(store, cid).run()
    assert s.runs == 1 and s.status == "awaiting_approval"
    states = [t.state for t in store.trials(cid)]
    assert states[0] in ("done", "failed") and states[1:] == ["rejected", "proposed", "proposed"]
    # a rejected recipe is not proposed again
    rejected = store.trial(second.id).recipe
    assert all(t.recipe != rejected for t in store.trials(cid)[2:])


class FakeRealTool:
    """A stand-in for hardware: the twin's run, but the interface resistance is unknown until measured."""

    name = "fake-real"
    is_real = True
    interrupt_on: int | None = None
    refuse: bool = False

    def __init__(self, chamber, seed):
        self._sim = SimulatedTool(chamber, seed=seed)
        self.runs = 0
        self.aborted = False

    @classmethod
    def from_config(cls, config, chamber):
        return cls(chamber, config.get("seed", 0))

    def check(self, recipe):
        if FakeRealTool.refuse:
            raise RecipeError("recipe.rf_power_w", recipe.rf_power_w, "interlock: shield door open")
        self._sim.check(recipe)

    def run(self, recipe):
        self.runs += 1
        if FakeRealTool.interrupt_on == self.runs:
            raise KeyboardInterrupt
        res = self._sim.run(recipe)
        return dataclasses.replace(res, interface_resistance_ohm_cm2=math.nan)

    def abort(self):
        self.aborted = True

    @property
    def status(self):
        return ToolStatus.IDLE


@pytest.fixture
def fake_real_tool(monkeypatch):
    real_load = runner_mod.load_tool
    monkeypatch.setattr(runner_mod, "load_tool", lambda kind: FakeRealTool if kind == "fake-real" else real_load(kind))
    FakeRealTool.interrupt_on = None
    FakeRealTool.refuse = False
    yield FakeRealTool


def _real_campaign(tmp_path, budget=3):
    cfile = small_campaign(tmp_path, budget=budget)
    cfile.write_text(cfile.read_text().replace('type = "simulated"', 'type = "fake-real"'))
    config = CampaignConfig.from_toml(cfile)
    store = CampaignStore(tmp_path / "real.sqlite")
    return store, open_campaign(store, config, Chamber())


def test_real_tool_needs_approval_and_waits_for_the_measurement(tmp_path, fake_real_tool):
    store, cid = _real_campaign(tmp_path)
    assert Runner(store, cid).run().status == "awaiting_approval"  # require_approval = false, but the tool is real
    (t,) = store.trials(cid)
    store.approve(t.id, "alice")
    s = Runner(store, cid).run()
    assert s.status == "awaiting_measurement" and store.trial(t.id).state == "awaiting_measurement"
    with pytest.raises(CampaignError, match="pending"):
        propose(store, cid, *runner_mod.load_campaign(store, cid)[1:])
    store.record_measurement(t.id, 9.1, "carol")
    assert store.trial(t.id).state == "done"
    assert Runner(store, cid).run().status == "awaiting_approval"  # learnt from the measurement, proposed again
    assert len(store.trials(cid)) == 2


def test_ctrl_c_during_a_run_leaves_a_consistent_store(tmp_path, fake_real_tool):
    store, cid = _real_campaign(tmp_path)
    Runner(store, cid).run()
    (t,) = store.trials(cid)
    store.approve(t.id, "alice")
    FakeRealTool.interrupt_on = 1
    r = Runner(store, cid)
    with pytest.raises(KeyboardInterrupt):
        r.run()
    assert r.tool.aborted and store.trial(t.id).state == "interrupted"
    assert store.integrity_check() == "ok"
    with store.runner_lock(cid):  # the interrupted runner released its lock
        pass


def test_a_real_run_left_running_by_a_dead_runner_is_marked_interrupted(tmp_path, fake_real_tool):
    store, cid = _real_campaign(tmp_path)
    Runner(store, cid).run()
    (t,) = store.trials(cid)
    store.approve(t.id, "alice")
    store.mark_running(t.id, 0)  # as a runner killed during the run would leave it
    Runner(store, cid).run()
    assert store.trial(t.id).state == "interrupted"


def test_second_runner_on_a_busy_campaign_is_refused(tmp_path):
    store, cid, _ = _setup(tmp_path, budget=3)
    other = CampaignStore(store.path)
    with other.runner_lock(cid), pytest.raises(RunnerBusyError, match="another runner"):
        Runner(store, cid).run()
    assert store.trials(cid) == []
    other.close()


def test_a_different_file_under_the_same_name_is_refused(tmp_path):
    store, cid, config = _setup(tmp_path)
    changed = dataclasses.replace(config, text=config.text.replace("seed = 3", "seed = 4"))
    with pytest.raises(CampaignError, match="different campaign file"):
        open_campaign(store, changed, Chamber())
    with pytest.raises(CampaignError, match="different chamber"):
        open_campaign(store, config, Chamber().replace({"interface.damage_coefficient": 2.0}))
    budget_only = dataclasses.replace(config, text=config.text.replace("budget = 10", "budget = 20"))
    assert open_campaign(store, budget_only, Chamber()) == cid


def test_a_registered_strategy_plugs_in_by_name(tmp_path):
    calls = []

    @register_strategy("test-fixed")
    def make(ctx: StrategyContext):
        from campaigns.strategies import RandomStrategy

        calls.append(ctx.seed)
        return RandomStrategy(ctx, {})

    try:
        assert "test-fixed" in strategy_names()
        store, cid, _ = _setup(tmp_path, budget=2, strategy="test-fixed", settings="")
        assert Runner(store, cid).run().status == "budget_spent" and calls
        assert store.trials(cid)[0].provenance["strategy"] == "test-fixed"
    finally:
        from campaigns import strategies

        strategies._REGISTRY.pop("test-fixed", None)


def test_telemetry_is_stored_when_the_tool_records_it(tmp_path):
    cfile = small_campaign(tmp_path, budget=2)
    cfile.write_text(cfile.read_text().replace('type = "simulated"', 'type = "simulated"\ntelemetry = true'))
    config = CampaignConfig.from_toml(cfile)
    with CampaignStore(tmp_path / "t.sqlite") as store:
        cid = open_campaign(store, config, Chamber())
        Runner(store, cid).run()
        for t in store.trials(cid):
            tel = store.telemetry(t.id)
            assert tel is not None and len(tel) > 10 and "pressure_pa" in tel.columns


def test_a_recipe_the_tool_refuses_at_its_dry_check_fails_without_running(tmp_path, fake_real_tool):
    store, cid = _real_campaign(tmp_path)
    Runner(store, cid).run()
    (t,) = store.trials(cid)
    store.approve(t.id, "alice")
    FakeRealTool.refuse = True
    r = Runner(store, cid)
    r.run()
    trial = store.trial(t.id)
    assert trial.state == "failed" and trial.started_at is None and r.tool.runs == 0
    assert "shield door open" in store.events(trial_id=t.id)[-1].detail["reason"]


def test_a_simulated_run_left_running_by_a_dead_runner_is_repeated_in_place(tmp_path):
    ref_store, ref_cid, _ = _setup(tmp_path, "ref.sqlite", budget=4)
    Runner(ref_store, ref_cid).run()
    store, cid, config = _setup(tmp_path, "crashed.sqlite", budget=4)
    Runner(store, cid, max_runs=1).run()
    (tid,) = propose(store, cid, config, Chamber(), tool_name="simulated")
    store.approve(tid, "runner", "auto-approved: simulated tool, require_approval = false")
    store.mark_running(tid, 1, tool="simulated")  # the runner died here, before the result was recorded
    assert Runner(store, cid).run().status == "budget_spent"
    assert trial_history(store.trials(cid)) == trial_history(ref_store.trials(ref_cid))
    (rerun,) = [e for e in store.events(campaign_id=cid) if e.kind == "rerun_after_crash"]
    assert rerun.trial_id == tid and rerun.detail["run_index"] == 1


@pytest.mark.parametrize("moment", ["after mark_running", "while recording the result"])
def test_ctrl_c_outside_the_tool_run_leaves_no_trial_running(tmp_path, monkeypatch, moment):
    """Ctrl-C can land just after the trial is marked running or while a finished run is recorded, not only
    inside tool.run; the trial must end interrupted, and the resumed campaign equal the uninterrupted one."""
    ref_store, ref_cid, _ = _setup(tmp_path, name="ref.sqlite", budget=3)
    Runner(ref_store, ref_cid).run()
    reference = trial_history(ref_store.trials(ref_cid))

    store, cid, _ = _setup(tmp_path, budget=3)
    name = "mark_running" if moment == "after mark_running" else "record_result"
    original = getattr(CampaignStore, name)
    calls = []

    def interrupted(self, *args, **kwargs):
        calls.append(1)
        if len(calls) == 2:  # the second trial; the first one ran normally
            if name == "mark_running":
                original(self, *args, **kwargs)  # the transition committed, then Ctrl-C
            raise KeyboardInterrupt
        return original(self, *args, **kwargs)

    monkeypatch.setattr(CampaignStore, name, interrupted)
    with pytest.raises(KeyboardInterrupt):
        Runner(store, cid).run()
    states = [t.state for t in store.trials(cid)]
    assert "running" not in states and "interrupted" in states, states
    monkeypatch.setattr(CampaignStore, name, original)
    Runner(store, cid).run()
    assert [(t.recipe, t.result) for t in store.trials(cid) if t.state in ("done", "failed")] == \
        [(t.recipe, t.result) for t in ref_store.trials(ref_cid) if t.state in ("done", "failed")]
    assert len(reference) >= 3


def test_a_resumed_campaign_keeps_the_settings_it_started_with_when_a_default_changes(tmp_path):
    """A campaign begun under an older version, whose ``gp`` defaulted to ``failure_penalty = "worst"``, goes on
    with "worst" after the default became "model", as its first proposal's provenance records."""
    import json
    import sqlite3

    store, cid, config = _setup(tmp_path, budget=8)
    assert "failure_penalty" not in config.strategy_settings  # the file leaves it to the default
    Runner(store, cid, max_runs=5).run()
    assert store.trials(cid)[0].provenance["settings"]["failure_penalty"] == "model"
    store.close()
    # what the older version would have recorded
    db = sqlite3.connect(tmp_path / "s.sqlite")
    for tid, prov in db.execute("SELECT id, provenance_json FROM trials").fetchall():
        p = json.loads(prov)
        p["settings"]["failure_penalty"] = "worst"
        db.execute("UPDATE trials SET provenance_json = ? WHERE id = ?", (json.dumps(p), tid))
    db.commit()
    db.close()

    store = CampaignStore(tmp_path / "s.sqlite")
    assert rebuild_strategy(config, Chamber(), store.trials(cid)).settings["failure_penalty"] == "worst"
    Runner(store, cid).run()
    assert [t.provenance["settings"]["failure_penalty"] for t in store.trials(cid)] == ["worst"] * 8
    # a campaign with no strategy proposal yet (nothing, or a manual trial first) takes today's defaults
    assert rebuild_strategy(config, Chamber(), []).settings["failure_penalty"] == "model"
    store.close()


def test_recommended_trial_is_the_run_the_model_rates_best_not_the_luckiest_measurement(tmp_path):
    """A model that reads the best measured run as partly luck recommends another run, in the objective's units."""
    import numpy as np

    from campaigns.runner import recommended_trial
    from campaigns.strategies import RandomStrategy

    class Smoothing(RandomStrategy):
        """Rates every recipe by a fixed function of its power, whatever was measured (a stand-in for a GP that
        pools neighbouring runs): lowest at 120 W."""

        name = "test-smoothing"

        def predict(self, recipes):
            mean = np.array([1.0 + abs(r.rf_power_w - 120.0) / 1000.0 for r in recipes])  # log10 units
            return mean, np.full(len(recipes), 0.01)

    @register_strategy("test-smoothing")
    def make(ctx: StrategyContext):
        return Smoothing(ctx, {})

    try:
        store, cid, config = _setup(tmp_path, budget=8, strategy="test-smoothing", settings="")
        assert recommended_trial(config, Chamber(), []) is None  # nothing run yet
        Runner(store, cid).run()
        trials = store.trials(cid)
        done = [t for t in trials if t.state == "done"]
        assert len(done) >= 3
        best_measured = best_trial(config, trials)[0]
        want = min(done, key=lambda t: abs(t.recipe["rf_power_w"] - 120.0))
        got, predicted = recommended_trial(config, Chamber(), trials)
        assert got.id == want.id and want.id != best_measured.id  # (seed 3: the two differ)
        assert predicted == pytest.approx(10 ** (1.0 + abs(want.recipe["rf_power_w"] - 120.0) / 1000.0))
        store.close()
    finally:
        from campaigns import strategies

        strategies._REGISTRY.pop("test-smoothing", None)


def test_recommended_trial_needs_a_model_and_two_successful_runs(tmp_path):
    from campaigns.runner import recommended_trial

    store, cid, config = _setup(tmp_path, budget=6, strategy="random", settings="")
    Runner(store, cid).run()
    assert recommended_trial(config, Chamber(), store.trials(cid)) is None  # random search has no model
    store.close()
    store, cid, config = _setup(tmp_path, "gp.sqlite", budget=6)
    Runner(store, cid).run()
    trials = store.trials(cid)
    t, predicted = recommended_trial(config, Chamber(), trials)
    assert t.state == "done" and math.isfinite(predicted) and predicted > 0
    # the GP's rating of a run lies near what was measured there (5 % noise, log10 objective)
    assert 0.5 < predicted / t.interface_resistance_ohm_cm2 < 2.0
    store.close()


def test_proposals_record_the_models_chance_of_failure(tmp_path):
    store, cid, _ = _setup(tmp_path, budget=7)  # failure_penalty: the default, "model"
    Runner(store, cid).run()
    trials = store.trials(cid)
    assert trials[0].predicted_failure is None  # the initial design: no model yet
    later = [t.predicted_failure for t in trials if t.predicted_mean is not None]
    assert later and all(0.0 < p < 1.0 for p in later)
    assert "predicted_failure" in store.to_dataframe(cid).columns
    store.close()
    store, cid, _ = _setup(tmp_path, "worst.sqlite", budget=7,
                           settings='n_initial = 4\nn_points = 2000\nacq_optimizer = "sampling"\n'
                                    'failure_penalty = "worst"')
    Runner(store, cid).run()
    assert all(t.predicted_failure is None for t in store.trials(cid))  # "worst" does not model failure
    store.close()
