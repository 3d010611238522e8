"""A campaign's extra variables in the report and the review app's data: columns titled with their units, the
surrogate asked with each trial's extras, and partial dependence along an extra."""

from __future__ import annotations

import numpy as np
import pytest

from campaigns.config import CampaignConfig
from campaigns.runner import Runner, open_campaign, rebuild_strategy
from campaigns.store import CampaignStore
from campaigns.variables import Proposal
from dashboards import figures_review as fr
from dashboards.data import ReviewData, history_columns, history_rows, trial_point
from dashboards.report import report_html
from tests.campaigns.test_extras_runner import _campaign
from twin import Chamber


@pytest.fixture(scope="module")
def store(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("extras")
    config = CampaignConfig.from_toml(_campaign(tmp, budget=6))
    s = CampaignStore(tmp / "s.sqlite")
    cid = open_campaign(s, config, Chamber())
    Runner(s, cid).run()
    yield s, cid, config
    s.close()


def test_history_rows_show_each_extra_with_its_unit(store):
    s, cid, _ = store
    trials = s.trials(cid)
    units = {"substrate_bias_v": "V", "magnet_mode": ""}
    rows, cols = history_rows(trials, None, units)
    names = {c["id"]: c["name"] for c in history_columns(cols, None, units)}
    assert names["substrate_bias_v"] == "substrate_bias_v [V]" and names["magnet_mode"] == "magnet_mode"
    assert cols.index("substrate_bias_v") > cols.index("anneal_min")  # after the recipe fields
    assert [r["substrate_bias_v"] for r in rows] == pytest.approx([t.extras["substrate_bias_v"] for t in trials],
                                                                  rel=1e-3)
    assert all(-100.0 <= r["substrate_bias_v"] <= 0.0 for r in rows)
    assert [r["magnet_mode"] for r in rows] == [t.extras["magnet_mode"] for t in trials]


def test_the_report_names_the_extras_with_units(store):
    s, cid, config = store
    html = report_html(s.to_dataframe(cid), config)
    assert html.count("substrate_bias_v [V]") >= 2  # the field's panel and the trials table's column
    assert "magnet_mode" in html


def test_the_surrogate_is_asked_with_each_trials_extras(store):
    s, cid, config = store
    trials = s.trials(cid)
    point = trial_point(trials[0])
    assert isinstance(point, Proposal) and point.extras == trials[0].extras
    strategy = rebuild_strategy(config, Chamber(), trials)
    with_extras, _ = strategy.predict([trial_point(t) for t in trials])
    centred, _ = strategy.predict([t_.recipe for t_ in (trial_point(t) for t in trials)])
    assert not np.allclose(with_extras, centred)  # a bare recipe would put every extra at its centre


def test_partial_dependence_moves_along_an_extra(store):
    s, cid, _ = store
    data = ReviewData(s)
    sur = data.surrogate(cid)
    assert sur is not None
    bounds = data.bounds(cid)
    assert bounds["substrate_bias_v"] == (-100.0, 0.0)
    past = [trial_point(t) for t in s.trials(cid) if t.result]
    grid, mean, _ = fr.partial_dependence(sur.predict, past, {"substrate_bias_v": bounds["substrate_bias_v"]},
                                          5)["substrate_bias_v"]
    assert grid[0] == -100.0 and grid[-1] == 0.0 and np.ptp(mean) > 0  # the extra set on every past point
    moved = past[0].replace(substrate_bias_v=-20.0, rf_power_w=90.0)
    assert moved.extras["substrate_bias_v"] == -20.0 and moved.recipe.rf_power_w == 90.0
    with pytest.raises(TypeError):
        past[0].replace(no_such_field=1.0)


def test_a_comparison_table_gets_a_row_per_extra_with_its_unit_and_difference(store):
    from dashboards.data import extra_rows

    s, cid, _ = store
    a, b = s.trials(cid)[:2]
    rows = extra_rows(a, b, "A", "B", {"substrate_bias_v": "V", "magnet_mode": ""})
    bias, mode = rows
    assert bias["field"] == "substrate_bias_v [V]"
    assert bias["A"] == pytest.approx(a.extras["substrate_bias_v"], rel=1e-3)  # 4 significant figures
    assert bias["diff"] == pytest.approx(b.extras["substrate_bias_v"] - a.extras["substrate_bias_v"], rel=1e-3)
    assert mode["field"] == "magnet_mode" and mode["B"] == b.extras["magnet_mode"] and mode["diff"] == ""
    (alone,) = extra_rows(None, b, "A", "B", {"substrate_bias_v": "V"})  # no best run yet
    assert alone["A"] is None and alone["diff"] == ""
