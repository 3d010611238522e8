"""Summaries per variation and global sensitivity, checked against the runs they come from."""

from __future__ import annotations

import numpy as np
import pytest

from campaigns.whatif import Plan, Scenario, run_chunk, sensitivity, summarize
from campaigns.whatif.summary import format_sensitivity, format_summary, point_outputs
from tests.conftest import EXAMPLES

SCENARIOS = EXAMPLES / "scenarios"


def _study(doc):
    plan = Plan(Scenario.from_dict(doc, base_dir=SCENARIOS, source="t.toml"))
    df = run_chunk(plan, 0, plan.n_sequences).to_pandas()
    return plan, df[df["design"] == "sweep"], df[df["design"] == "sensitivity"]


@pytest.fixture(scope="module")
def small():
    plan = Plan(Scenario.from_toml(SCENARIOS / "small.toml"))
    df = run_chunk(plan, 0, plan.n_sequences).to_pandas()
    return plan, df[df["design"] == "sweep"], df[df["design"] == "sensitivity"]


def test_summary_matches_the_runs(small):
    plan, sweep, _ = small
    s = summarize(sweep, plan).set_index("variation")
    assert list(s.index) == [0, 1, 2, 3] and (s["runs"] == 12).all()
    for v, d in sweep.groupby("variation"):
        r = d["interface_resistance_ohm_cm2"]
        assert s.loc[v, "r_int_mean_ohm_cm2"] == pytest.approx(r.mean())
        assert s.loc[v, "r_int_p95_ohm_cm2"] == pytest.approx(np.percentile(r, 95))
        ok = (~d["shorted"]) & (r <= plan.scenario.spec_max_interface_resistance_ohm_cm2)
        assert s.loc[v, "yield"] == pytest.approx(ok.mean())
        assert s.loc[v, "runs_per_day"] == pytest.approx(86400.0 / d["process_time_s"].mean())
        assert s.loc[v, "recipe.pumpdown_min"] == d["recipe.pumpdown_min"].iloc[0]
    # physics the study must show: 24 h of pump-down lowers R_int and throughput; a leak raises R_int
    assert s.loc[1, "r_int_mean_ohm_cm2"] < s.loc[0, "r_int_mean_ohm_cm2"]
    assert s.loc[1, "runs_per_day"] < s.loc[0, "runs_per_day"]
    assert s.loc[3, "r_int_mean_ohm_cm2"] > s.loc[1, "r_int_mean_ohm_cm2"]
    text = format_summary(summarize(sweep, plan), plan)
    assert "R_int mean" in text and len(text.splitlines()) == 5


def test_sobol_finds_the_factor_that_sets_throughput():
    doc = {"scenario": {"seed": 5, "samples": 1, "recipe": "../recipes/haruta2015.toml"},
           "vary": {"recipe.pumpdown_min": {"distribution": "uniform", "low": 30.0, "high": 1440.0},
                    "events.arc_particle_probability": {"grid": [0.0, 0.5, 1.0]}},
           "sensitivity": {"method": "sobol", "samples": 64}}
    plan, _, sens_runs = _study(doc)
    assert len(sens_runs) == 64 * 4
    sens = sensitivity(sens_runs, plan).set_index(["output", "parameter"])
    thr = sens.loc["runs_per_day"]
    assert thr.loc["recipe.pumpdown_min", "ST"] > 0.9
    assert thr.loc["events.arc_particle_probability", "ST"] < 0.05  # particles do not change process time
    assert "ST_conf" in format_sensitivity(sens.reset_index())


def test_morris_ranks_pump_down_first_for_throughput():
    doc = {"scenario": {"seed": 9, "runs_per_sequence": 2, "recipe": "../recipes/haruta2015.toml"},
           "vary": {"recipe.pumpdown_min": {"grid": [30.0, 240.0, 720.0, 1440.0]},
                    "events.leak_rate_per_h": {"grid": [0.0, 1.0, 5.0, 10.0]}},
           "sensitivity": {"method": "morris", "samples": 6, "levels": 4}}
    plan, _, sens_runs = _study(doc)
    assert plan.n_sens_points == 6 * 3 and len(sens_runs) == 6 * 3 * 2
    y = point_outputs(sens_runs)
    assert list(y.index) == list(range(plan.n_sweep_points, plan.n_points))
    sens = sensitivity(sens_runs, plan).set_index(["output", "parameter"])
    thr = sens.loc["runs_per_day", "mu_star"]
    assert thr["recipe.pumpdown_min"] > 10 * thr["events.leak_rate_per_h"]


def test_no_sensitivity_without_a_design(small):
    plan = Plan(Scenario.from_dict({"vary": {"recipe.pumpdown_min": {"grid": [60.0, 120.0]}}}))
    assert plan.n_sens_points == 0
    assert sensitivity(run_chunk(plan, 0, plan.n_sequences).to_pandas(), plan).empty
