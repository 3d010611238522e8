"""Context per run (issue 16): recorded with every trial, carried across a logged vent, modelled by ``gp`` and
``twin-prior`` for the chamber as it is now."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from campaigns.config import CampaignConfig, Outcome
from campaigns.context import (
    CONTEXT_KEYS,
    VENT_EVENT,
    check_context,
    context_after_run,
    context_now,
    models_context,
    trial_context,
)
from campaigns.context_model import ContextEncoder, check_setting, resolve_keys
from campaigns.errors import CampaignError
from campaigns.runner import Runner, open_campaign, rebuild_strategy
from campaigns.store import CampaignStore
from campaigns.strategies import context, make_strategy
from tests.campaigns.helpers import small_campaign
from twin import Chamber, Recipe, SimulatedTool


def test_the_simulated_tool_reports_the_state_each_run_starts_in_and_a_vent_resets_it():
    tool = SimulatedTool(Chamber().replace({"state.target_kwh": 5.0}), seed=1)
    first = tool.context()
    assert first["hours_since_vent"] == 0 and first["runs_since_vent"] == 0 and first["target_kwh"] == 5.0
    tool.run(Recipe())
    second = tool.context()
    assert second["runs_since_vent"] == 1 and second["hours_since_vent"] > 0
    assert second["target_kwh"] > 5.0 and second["wall_h2o_pa"] < first["wall_h2o_pa"]  # the walls dry out
    tool.vent()
    vented = tool.context()
    assert vented["hours_since_vent"] == 0 and vented["runs_since_vent"] == 0
    assert vented["target_kwh"] == second["target_kwh"] and vented["wall_h2o_pa"] == first["wall_h2o_pa"]
    assert set(vented) <= set(CONTEXT_KEYS)


def _campaign(tmp_path, **kw):
    config = CampaignConfig.from_toml(small_campaign(tmp_path, **kw))
    store = CampaignStore(tmp_path / "s.sqlite")
    return store, open_campaign(store, config, Chamber()), config


def test_the_runner_records_each_runs_context_and_a_logged_vent_starts_the_next_run_from_zero(tmp_path):
    store, cid, config = _campaign(tmp_path, budget=3, strategy="random")
    Runner(store, cid).run()
    trials = store.trials(cid)
    ctxs = [trial_context(t) for t in trials]
    assert [c["runs_since_vent"] for c in ctxs] == [0, 1, 2]
    assert ctxs[0]["hours_since_vent"] == 0 < ctxs[1]["hours_since_vent"] < ctxs[2]["hours_since_vent"]
    # each run starts where the one before left the chamber
    assert ctxs[2] == pytest.approx(context_after_run(Chamber(), trials[1]))
    before_vent = context_now(Chamber(), trials, store.events(cid))
    assert before_vent["runs_since_vent"] == 3 and before_vent["hours_since_vent"] > ctxs[2]["hours_since_vent"]
    store.log_event(None, VENT_EVENT, {"note": "test"}, actor="tester", campaign_id=cid)
    now = context_now(Chamber(), trials, store.events(cid))
    assert now["hours_since_vent"] == 0 and now["runs_since_vent"] == 0
    assert now["target_kwh"] == pytest.approx(before_vent["target_kwh"])  # a vent does not renew the target
    Runner(store, cid, budget=5).run()
    later = [trial_context(t) for t in store.trials(cid)[3:]]
    assert later[0]["hours_since_vent"] == 0 and later[0]["runs_since_vent"] == 0
    assert later[0]["target_kwh"] == pytest.approx(before_vent["target_kwh"])
    assert later[1]["runs_since_vent"] == 1
    # the proposal recorded the context it was made for
    assert store.trials(cid)[3].provenance["context_now"]["hours_since_vent"] == 0
    store.close()


def test_a_resumed_runner_after_a_vent_continues_as_an_uninterrupted_one(tmp_path):
    results = []
    for name, steps in (("a", None), ("b", 1)):
        (tmp_path / name).mkdir()
        store, cid, _ = _campaign(tmp_path / name, budget=4, strategy="random")
        Runner(store, cid, max_runs=2).run()
        store.log_event(None, VENT_EVENT, actor="t", campaign_id=cid)
        for _ in range(4):
            Runner(store, cid, max_runs=steps).run()
        results.append([(t.recipe, trial_context(t), t.result["interface_resistance_ohm_cm2"])
                        for t in store.trials(cid)])
        store.close()
    assert results[0] == results[1]


@pytest.mark.parametrize("value", ["sometimes", ["hours_since_vent", "moon_phase"], 3, ["target_kwh"] * 2])
def test_a_bad_context_setting_is_refused_with_one_line(value):
    with pytest.raises(CampaignError) as err:
        check_setting(value)
    assert "strategy.context" in str(err.value) and "\n" not in str(err.value)


@given(st.text(min_size=1, max_size=20).filter(lambda s: s not in ("none", "auto")))
@settings(max_examples=40, deadline=None)
def test_any_other_word_is_refused_as_a_context_setting(word):
    with pytest.raises(CampaignError):
        check_setting(word)


@given(st.dictionaries(st.sampled_from(CONTEXT_KEYS), st.floats(allow_nan=True, allow_infinity=True), min_size=1))
@settings(max_examples=60, deadline=None)
def test_check_context_accepts_finite_non_negative_values_only(values):
    bad = [k for k, v in values.items() if not (np.isfinite(v) and v >= 0)]
    if bad:
        with pytest.raises(CampaignError):
            check_context(values)
    else:
        assert check_context(values) == values


def test_check_context_names_an_unknown_key():
    with pytest.raises(CampaignError, match="context.moon"):
        check_context({"moon": 1.0})


def test_auto_models_only_keys_that_every_run_has_and_that_vary():
    runs = [{"hours_since_vent": 1.0, "target_kwh": 3.0}, {"hours_since_vent": 5.0, "target_kwh": 3.0}]
    assert resolve_keys("auto", runs, {"hours_since_vent": 0.0, "target_kwh": 3.0}) == ("hours_since_vent",)
    assert resolve_keys("auto", runs + [None], {"hours_since_vent": 0.0}) == ()
    assert resolve_keys(("target_kwh",), runs, {"target_kwh": 3.0}) == ("target_kwh",)
    assert resolve_keys("auto", runs, None) == () and resolve_keys("none", runs, runs[0]) == ()
    enc = ContextEncoder(("hours_since_vent",), runs, {"hours_since_vent": 0.0})
    assert enc.now[0] == 0.0 and enc.encode(runs)[:, 0].max() == pytest.approx(1.0)


# -- contextual gp -----------------------------------------------------------------------------------------------
def _one_dimension(tmp_path, line, file):
    """A campaign on one dimension (its ``[space]`` line), the rest of :func:`small_campaign`."""
    text = small_campaign(tmp_path, settings='n_initial = 3\nn_points = 2000\nacq_optimizer = "sampling"'
                          ).read_text(encoding="utf-8")
    body = text.split("[space]")[0] + f'[space]\n{line}\n' \
        '\n[fixed]\ntarget_thickness_nm = 100.0\ntransfer = "vacuum"\n\n[tool]\ntype = "simulated"\n'
    path = tmp_path / file
    path.write_text(body, encoding="utf-8")
    return CampaignConfig.from_toml(path)


def _pressure_space(tmp_path):
    """A one-dimensional campaign (pressure) whose score optimum moves with the hours since vent."""
    return _one_dimension(tmp_path, "pressure_pa = { low = 0.2, high = 3.0, log = true }", "p.toml")


def _told(config, setting, now_hours, seed=0):
    """gp told 24 synthetic runs whose best log-pressure is 0.2 right after a vent and 0.8 two days on."""
    rng = np.random.default_rng(seed)
    space = config.space
    ctx = dataclasses.replace(context(config, Chamber(), {"hours_since_vent": now_hours}),
                              settings={**config.strategy_settings, "context": setting})
    s = make_strategy("gp", ctx)
    recipes, outs = [], []
    for _ in range(24):
        u, h = rng.random(), float(rng.choice([0.0, 48.0]))
        best = 0.2 if h == 0 else 0.8
        score = (u - best) ** 2 + 0.002 * rng.standard_normal()
        recipes.append(space.to_recipe(space.from_unit_cube(np.array([[u]]))[0]))
        outs.append(Outcome(10**score, score, False, context={"hours_since_vent": h}))
    s.tell(recipes, outs)
    grid = [space.to_recipe(p) for p in space.from_unit_cube(np.linspace(0, 1, 41)[:, None])]
    mean, _ = s.predict(grid)
    return float(np.linspace(0, 1, 41)[int(np.argmin(mean))]), s


def test_contextual_gp_predicts_the_optimum_of_the_state_the_next_run_starts_in(tmp_path):
    config = _pressure_space(tmp_path)
    fresh, s = _told(config, "auto", 0.0)
    dry, _ = _told(config, "auto", 48.0)
    assert s.context_keys == ("hours_since_vent",)
    assert abs(fresh - 0.2) <= 0.1 and abs(dry - 0.8) <= 0.1
    # the context-blind GP answers the same for both states, so it is wrong for at least one of them
    blind_fresh, b = _told(config, "none", 0.0)
    blind_dry, _ = _told(config, "none", 48.0)
    assert b.context_keys == () and blind_fresh == blind_dry
    # and its proposal is for the state now
    (p,) = s.ask(1)
    u = config.space.unit_cube([config.space.to_point(p)])[0, 0]
    assert abs(u - 0.2) < 0.25


def test_twin_prior_scores_proposals_in_the_next_runs_state_unless_told_to_ignore_it(tmp_path):
    config = CampaignConfig.from_toml(small_campaign(tmp_path, strategy="twin-prior",
                                                     settings="n_samples = 32\nn_members = 4\nn_search = 200"))
    recipes = [Recipe(pumpdown_min=30.0)]
    preds = {}
    for setting in ("auto", "none"):
        for h in (0.0, 48.0):
            ctx = dataclasses.replace(context(config, Chamber(), {"hours_since_vent": h, "target_kwh": 1.0,
                                                                 "shield_kwh": 1.0}),
                                      settings={"context": setting, "n_samples": 32, "n_members": 4,
                                                "n_search": 200})
            s = make_strategy("twin-prior", ctx)
            s.tell(recipes * 2, [Outcome(12.0, np.log10(12.0), False, state={"hours_since_vent": 5.0},
                                         context={"hours_since_vent": 5.0})] * 2)
            preds[setting, h] = float(s.predict(recipes)[0][0])
    assert preds["auto", 0.0] > preds["auto", 48.0] + 0.05  # right after a vent the walls still give off water
    assert preds["none", 0.0] == pytest.approx(preds["none", 48.0])


def test_twin_prior_falling_back_to_gp_keeps_the_context(tmp_path, monkeypatch):
    # runs no twin parameter explains (the optimum moves with the hours since the vent, unlike the twin's): the model
    # falls back to gp, and that gp models the context as gp does, so the recommendation is still for the state now
    from campaigns import twin_prior

    monkeypatch.setattr(twin_prior, "twin_weight", lambda p: 0.0)  # all gp, whatever the fit's p-value
    config = _pressure_space(tmp_path)
    rng = np.random.default_rng(0)
    space = config.space
    recipes, outs = [], []
    for _ in range(24):
        u, h = rng.random(), float(rng.choice([0.0, 48.0]))
        score = (u - (0.2 if h == 0 else 0.8)) ** 2 + 0.002 * rng.standard_normal()
        recipes.append(space.to_recipe(space.from_unit_cube(np.array([[u]]))[0]))
        outs.append(Outcome(10**score, score, False, context={"hours_since_vent": h}, state={"hours_since_vent": h}))
    grid_u = np.linspace(0, 1, 41)
    grid = [space.to_recipe(p) for p in space.from_unit_cube(grid_u[:, None])]
    best = {}
    for setting in ("auto", "none"):
        for h in (0.0, 48.0):
            ctx = dataclasses.replace(context(config, Chamber(), {"hours_since_vent": h}),
                                      settings={"context": setting, "n_samples": 32, "n_members": 4, "n_search": 200})
            s = make_strategy("twin-prior", ctx)
            s.tell(recipes, outs)
            assert s.diagnostics()["twin_weight"] == 0.0
            best[setting, h] = float(grid_u[int(np.argmin(s.predict(grid)[0]))])
    assert abs(best["auto", 0.0] - 0.2) <= 0.1 and abs(best["auto", 48.0] - 0.8) <= 0.1
    assert best["none", 0.0] == best["none", 48.0]  # context-blind: one answer, wrong for one of the states


def test_status_says_the_recommendation_is_for_the_chamber_as_it_is_now(tmp_path, capsys):
    from sputter_twin.cli.main import main

    cfile = small_campaign(tmp_path, budget=6, settings='n_initial = 4\nn_points = 2000\nacq_optimizer = '
                                                        '"sampling"\ncontext = "auto"')
    store = tmp_path / "s.sqlite"
    assert main(["campaign", "run", str(cfile), "--store", str(store), "--no-progress"]) == 0
    assert main(["tool", "vent", "--store", str(store), "--note", "new O-ring"]) == 0
    out = capsys.readouterr().out
    assert "the next run starts 0 h and 0 runs after a vent" in out
    assert main(["campaign", "status", "--store", str(store)]) == 0
    out = capsys.readouterr().out
    assert "recommended by the model for the chamber as it is now (0.0 h and 0 runs since the last vent" in out
    with CampaignStore(store) as s:
        cid = s.campaigns()[0].id
        _, config, _ = __import__("campaigns.runner", fromlist=["load_campaign"]).load_campaign(s, cid)
        assert models_context(config)
        assert rebuild_strategy(config, Chamber(), s.trials(cid), s.events(cid)).ctx.context_now[
            "hours_since_vent"] == 0


def test_a_bad_context_in_a_campaign_file_is_one_line_and_exit_2(tmp_path, capsys):
    from sputter_twin.cli.main import main

    cfile = small_campaign(tmp_path, settings='n_initial = 4\ncontext = ["hours_since_vent", "moon_phase"]')
    rc = main(["campaign", "run", str(cfile), "--store", str(tmp_path / "s.sqlite"), "--no-progress"])
    err = capsys.readouterr().err
    assert rc == 2 and "strategy.context" in err and "moon_phase" in err and len(err.strip().splitlines()) == 1
    assert "Traceback" not in err


def test_a_vent_during_a_run_is_refused_and_nothing_is_logged(tmp_path, capsys):
    from sputter_twin.cli.main import main

    store, cid, config = _campaign(tmp_path, budget=3, strategy="random")
    (tid,) = store.add_proposals(cid, [Recipe()], provenance={})
    store.approve(tid, "alice", "")
    store.mark_running(tid, 0, actor="runner", tool="simulated")
    n_events = len(store.events(cid))
    store.close()
    assert main(["tool", "vent", "--store", str(tmp_path / "s.sqlite")]) == 2
    err = capsys.readouterr().err
    assert "is running" in err and len(err.strip().splitlines()) == 1
    with CampaignStore(tmp_path / "s.sqlite") as s:
        assert len(s.events(cid)) == n_events
    assert main(["tool", "vent", "--store", str(tmp_path / "missing.sqlite")]) == 2


def test_export_has_one_column_per_context_key(tmp_path):
    from campaigns.store_export import trials_frame

    store, cid, _ = _campaign(tmp_path, budget=2, strategy="random")
    Runner(store, cid).run()
    df = trials_frame(store, cid)
    assert list(df["context_runs_since_vent"]) == [0, 1] and df["context_hours_since_vent"].iloc[0] == 0
    assert "context" not in df
    store.close()


def test_the_review_apps_history_table_shows_each_runs_context_with_units(tmp_path):
    from dashboards.data import history_columns, history_rows

    store, cid, _ = _campaign(tmp_path, budget=3, strategy="random")
    Runner(store, cid).run()
    trials = store.trials(cid)
    rows, cols = history_rows(trials)
    names = {c["id"]: c["name"] for c in history_columns(cols)}
    assert names["context_hours_since_vent"] == "context_hours_since_vent [h]"
    assert names["context_runs_since_vent"] == "context_runs_since_vent"  # a count: no unit
    assert cols.index("context_hours_since_vent") > cols.index("anneal_min")  # after the recipe
    assert [r["context_runs_since_vent"] for r in rows] == [0, 1, 2]
    assert [r["context_hours_since_vent"] for r in rows] == pytest.approx(
        [trial_context(t)["hours_since_vent"] for t in trials], rel=1e-3, abs=1e-3)
    assert "context_hours_since_vent" not in history_rows([t for t in trials if False])[1]  # none recorded: no column
    store.close()


# -- hours under vacuum at the deposition (gp's vacuum_time) ---------------------------------------------------------
def _pumpdown_space(tmp_path):
    """A one-dimensional campaign: the pump-down [30 min, 48 h], log scale."""
    return _one_dimension(tmp_path, "pumpdown_min = { low = 30.0, high = 2880.0, log = true }", "pd.toml")


def _water_score(hours_at_load, pumpdown_h):
    """log10 of the walls' water at the deposition (~1/t under vacuum, FACTS §4) plus the tool time's price: the
    best pump-down is 10 h right after a vent, the shortest one from 10 h after it on."""
    return -np.log10(hours_at_load + pumpdown_h) + pumpdown_h / (10.0 * np.log(10.0))


def _told_vacuum(config, vacuum_time, now_hours, seed=0, n=24):
    """gp told ``n`` runs, one in eight right after a vent (as a tool vented every eight runs), the others 10–60 h
    after it; returns its best pump-down for the chamber ``now_hours`` after a vent [h]."""
    rng = np.random.default_rng(seed)
    space = config.space
    ctx = dataclasses.replace(context(config, Chamber(), {"hours_since_vent": now_hours}),
                              settings={**config.strategy_settings, "context": ["hours_since_vent"],
                                        "vacuum_time": vacuum_time})
    s = make_strategy("gp", ctx)
    recipes, outs = [], []
    for k in range(n):
        u = rng.random()
        h = 0.0 if k % 8 == 0 else float(rng.uniform(10.0, 60.0))
        recipe = space.to_recipe(space.from_unit_cube(np.array([[u]]))[0])
        score = _water_score(h, recipe.pumpdown_min / 60.0) + 0.005 * rng.standard_normal()
        recipes.append(recipe)
        outs.append(Outcome(10**score, score, False, context={"hours_since_vent": h}))
    s.tell(recipes, outs)
    grid = [space.to_recipe(p) for p in space.from_unit_cube(np.linspace(0, 1, 81)[:, None])]
    mean, _ = s.predict(grid)
    return grid[int(np.argmin(mean))].pumpdown_min / 60.0


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_counting_the_pump_down_as_time_under_vacuum_finds_the_just_vented_optimum(tmp_path, seed):
    config = _pumpdown_space(tmp_path)
    best = {v: _told_vacuum(config, v, 0.0, seed) for v in (True, False)}
    truth = np.exp(np.linspace(np.log(0.5), np.log(48.0), 2001))
    regret = {v: _water_score(0.0, h) - _water_score(0.0, 10.0) for v, h in best.items()}
    assert truth[np.argmin(_water_score(0.0, truth))] == pytest.approx(10.0, rel=0.01)
    # within 0.02 in log10 of the best (the grid's step is 0.7 %); hours counted to the load instead missed it on
    # one of these three seeds (the shortest pump-down, 0.89 worse) when this test was written
    assert regret[True] < 0.02, (best, regret)


def test_vacuum_time_columns_of_a_run_in_its_own_state_are_its_training_columns(tmp_path):
    from campaigns.context_model import VacuumTime

    config = _pumpdown_space(tmp_path)
    u = np.array([[0.0], [0.5], [1.0]])
    ctxs = [{"hours_since_vent": 0.0}, {"hours_since_vent": 5.0}, {"hours_since_vent": 30.0}]
    vt = VacuumTime(config.space, ("hours_since_vent",))
    assert VacuumTime.applies(config.space, ("hours_since_vent",))
    assert not VacuumTime.applies(config.space, ("target_kwh",))
    np.testing.assert_allclose(vt.hours(u), [0.5, np.sqrt(0.5 * 48.0), 48.0])
    runs, bad = vt.encode(ctxs, u, [], np.zeros((0, 1)), {"hours_since_vent": 5.0})
    assert bad.shape == (0, 1) and runs.shape == (3, 1)
    np.testing.assert_allclose(vt.columns(u[1:2]), runs[1:2], atol=1e-12)
    # the same recipe later in the cycle is further under vacuum; a longer pump-down now is too
    assert runs[0, 0] < runs[1, 0] < runs[2, 0] and vt.columns(u[2:3])[0, 0] > vt.columns(u[1:2])[0, 0]
