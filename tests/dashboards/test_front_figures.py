"""The Pareto tab's data and pure figure builders, the review view's front rows, and the single-objective views
of a multi-objective campaign (no browser: the builders on a small random campaign and on hand-made values)."""

from __future__ import annotations

import math

import pytest

from campaigns.config import CampaignConfig, Objective
from campaigns.errors import CampaignError
from campaigns.front import observed_count, propose_front_point
from campaigns.runner import Runner, load_campaign, open_campaign
from campaigns.store import CampaignStore
from dashboards.data import ReviewData, display_objective
from dashboards.figures_front import front_figure, hypervolume_figure, parallel_figure
from dashboards.front import FrontData, GoalInfo, front_data, point_label
from tests.campaigns.mo_helpers import GOALS, mo_text
from twin import Chamber

THREE = GOALS + '[[objectives]]\nfield = "ionic_conductivity_s_cm"\ndirection = "maximize"\nlog = true\n'


@pytest.fixture(scope="module")
def random_mo(tmp_path_factory):
    path = tmp_path_factory.mktemp("fr") / "s.sqlite"
    config = CampaignConfig.from_text(mo_text(budget=8, goals=THREE, seed=11))
    with CampaignStore(path) as s:
        cid = open_campaign(s, config, Chamber())
        Runner(s, cid).run()
    return path


def test_front_data_holds_every_run_in_goal_units_and_no_predicted_front_without_a_model(random_mo):
    with CampaignStore(random_mo, create=False) as s:
        _, config, chamber = load_campaign(s, 1)
        trials = s.trials(1)
    fd = front_data(config, chamber, trials)
    assert [g.field for g in fd.goals] == ["interface_resistance_ohm_cm2", "process_time_s", "ionic_conductivity_s_cm"]
    assert len(fd.measured) == 8 and not fd.has_model and fd.predicted == [] and fd.proposals == []
    for m in fd.measured:
        t = next(t for t in trials if t.id == m["trial_id"])
        if m["feasible"]:  # the values are the measured ones, in the goals' own units (not scores)
            assert m["values"] == [t.result[f] for f in config.objective.fields]
    assert len(fd.hypervolume) == 8 and fd.hypervolume == sorted(fd.hypervolume)


def _fd(n_goals: int) -> FrontData:
    goals = [GoalInfo("interface_resistance_ohm_cm2", "Ω·cm²", "minimize", True),
             GoalInfo("process_time_s", "s", "minimize", False),
             GoalInfo("ionic_conductivity_s_cm", "S/cm", "maximize", True)][:n_goals]
    vals = [[9.0, 3600.0, 1e-6], [12.0, 1800.0, 2e-6], [15.0, 4000.0, 1e-7]]
    measured = [{"trial_id": i + 1, "state": "done", "values": v[:n_goals], "feasible": i < 2, "on_front": i < 2,
                 "reason": ""} for i, v in enumerate(vals)]
    predicted = [{"k": k, "values": v[:n_goals], "lo": [x * 0.9 for x in v[:n_goals]],
                  "hi": [x * 1.1 for x in v[:n_goals]]} for k, v in enumerate(([8.0, 3000.0, 1.5e-6],
                                                                               [11.0, 1500.0, 2.5e-6]))]
    proposals = [{"trial_id": 4, "state": "proposed", "values": predicted[1]["values"], "lo": predicted[1]["lo"],
                  "hi": predicted[1]["hi"], "p_feasible": 0.8, "acquisition": 1.0, "picked": True}]
    return FrontData(goals, measured, predicted, proposals, [1, 2, 3], [1.0, 2.0, 2.0], "file", True)


def test_front_figure_draws_runs_predicted_front_with_bars_and_proposals():
    fig = front_figure(_fd(2), 0, 1, selected=1)
    traces = {t.name: t for t in fig.data}
    assert set(traces) == {"measured: on the front", "measured: breaks an outcome constraint",
                           "predicted front (model)", "picked: K 1", "proposals (predicted position)"}
    pred = traces["predicted front (model)"]
    assert [list(c) for c in pred.customdata] == [["K", 0], ["K", 1]] and pred.mode == "markers+lines"
    assert list(pred.error_y.array) == pytest.approx([300.0, 150.0])  # +1σ: hi − value, in the goal's units
    assert list(traces["picked: K 1"].x) == [11.0]
    assert fig.layout.xaxis.type == "log" and fig.layout.yaxis.type == "linear"  # R_int logged, time not
    three = front_figure(_fd(3), 0, 1, color=2)
    assert next(t for t in three.data if t.name == "predicted front (model)").mode == "markers"  # no zigzag line
    assert list(next(t for t in three.data if t.name == "measured: on the front").marker.color) == [1e-6, 2e-6]


def test_parallel_coordinates_and_hypervolume_figures():
    par = parallel_figure(_fd(3)).data[0]
    dims = par.dimensions
    assert [d.label.startswith("log10") for d in dims] == [True, False, True]
    assert list(dims[0]["values"]) == pytest.approx([math.log10(9.0), math.log10(12.0), math.log10(8.0),
                                                     math.log10(11.0)])  # feasible runs, then the predicted front
    assert list(par.line.color) == [2.0, 2.0, 0.0, 0.0]
    hv = hypervolume_figure(_fd(2))
    assert list(hv.data[0].y) == [1.0, 2.0, 2.0] and "campaign file" in hv.layout.title.text
    fd = _fd(2)
    assert point_label(fd, fd.predicted[0]) == "K 0: interface_resistance_ohm_cm2 8 Ω·cm², process_time_s 3000 s"


def test_display_objective_shows_the_first_minimised_goal_with_the_hard_rules(random_mo):
    with CampaignStore(random_mo, create=False) as s:
        _, config, _ = load_campaign(s, 1)
        data = ReviewData(s)
        shown = data.objective(1)
        assert shown == Objective("interface_resistance_ohm_cm2", True, max_process_time_h=72.0,
                                  thickness_tolerance=0.10)
        assert display_objective(shown) is shown
        assert data.surrogate(1) is None  # several goals: the surrogate tab has no single model to show
        fd, observed = data.front(1)
        assert fd is not None and observed == observed_count(config, s.trials(1)) == 8
        assert data.front(1)[0] is fd  # cached until the trials change


def test_a_pick_from_a_front_that_moved_is_refused(random_mo, tmp_path):
    import shutil

    path = tmp_path / "s.sqlite"
    shutil.copyfile(random_mo, path)
    with CampaignStore(path) as s:
        _, config, chamber = load_campaign(s, 1)
        with pytest.raises(CampaignError, match="changed since it was shown"):
            propose_front_point(s, 1, config, chamber, 0, actor="ada", expect_observed=7)
        with pytest.raises(CampaignError, match="reviewer"):
            propose_front_point(s, 1, config, chamber, 0, actor="")
        assert len(s.trials(1)) == 8  # nothing added
