"""The what-if report's figures and HTML, built from a real (small) study run in this process."""

from __future__ import annotations

import numpy as np
import pytest

from campaigns.whatif import Plan, Scenario, run_chunk, sensitivity, summarize
from dashboards.whatif_report import (
    distribution_figure,
    factor_figure,
    report_html,
    tornado_figure,
    write_report,
    yield_throughput_figure,
)
from tests.conftest import EXAMPLES


@pytest.fixture(scope="module")
def study():
    plan = Plan(Scenario.from_toml(EXAMPLES / "scenarios" / "small.toml"))
    df = run_chunk(plan, 0, plan.n_sequences).to_pandas()
    sweep, sens = df[df["design"] == "sweep"], df[df["design"] == "sensitivity"]
    return plan, sweep, summarize(sweep, plan), sensitivity(sens, plan)


def test_tornado_sorts_parameters_by_total_order_index(study):
    _, _, _, sens = study
    fig = tornado_figure(sens)
    st_traces = [t for t in fig.data if t.name == "total order ST"]
    assert len(st_traces) == 2  # one panel per output: R_int and throughput
    for t in st_traces:
        assert list(t.x) == sorted(t.x)  # largest bar on top
        assert set(t.y) == {"events.leak_rate_per_h", "recipe.pumpdown_min", "state.target_kwh"}
    r_int = sens[sens["output"] == "interface_resistance_ohm_cm2"].set_index("parameter")["ST"]
    np.testing.assert_allclose(sorted(st_traces[0].x), sorted(r_int))


def test_morris_tornado_uses_mu_star():
    import pandas as pd

    sens = pd.DataFrame({"output": ["runs_per_day"] * 2, "parameter": ["a", "b"], "mu_star": [3.0, 1.0],
                         "mu_star_conf": [0.1, 0.1], "sigma": [0.5, 0.2]})
    fig = tornado_figure(sens)
    assert fig.data[0].name == "Morris μ*" and list(fig.data[0].y) == ["b", "a"]


def test_distribution_has_one_box_per_variation_and_the_spec(study):
    plan, sweep, summary, _ = study
    fig = distribution_figure(sweep, summary, [f.name for f in plan.scenario.grid_factors], 20.0)
    assert len(fig.data) == plan.scenario.n_variations
    assert fig.data[1].name == "leak_rate_per_h=0.2, pumpdown_min=1440"
    assert len(fig.data[1].y) == (sweep["variation"] == 1).sum()
    assert any(s.y0 == 20.0 for s in fig.layout.shapes)


def test_yield_and_throughput_come_from_the_summary(study):
    plan, _, summary, _ = study
    fig = yield_throughput_figure(summary, [f.name for f in plan.scenario.grid_factors])
    np.testing.assert_allclose(fig.data[0].y, summary["yield"])
    np.testing.assert_allclose(fig.data[1].y, summary["runs_per_day"])


def test_factor_figures_box_for_levels_scatter_for_continuous(study):
    _, sweep, _, _ = study
    grid = factor_figure(sweep, "recipe.pumpdown_min")
    assert [t.type for t in grid.data] == ["box", "box"]
    # the continuous factor has only 3 draws in this study: boxes as well; many values -> scatter
    many = sweep.assign(**{"state.target_kwh": np.linspace(0.0, 100.0, len(sweep))})
    assert factor_figure(many, "state.target_kwh").data[0].type == "scattergl"


def test_report_html_is_self_contained(study, tmp_path):
    plan, sweep, summary, sens = study
    path = tmp_path / "r.html"
    write_report(path, title="leak <x> pump-down", description="line one\nline two", summary=summary,
                 sensitivity=sens, runs=sweep, factors=[f.name for f in plan.scenario.factors],
                 grid_factors=[f.name for f in plan.scenario.grid_factors], spec_max_ohm_cm2=20.0)
    page = path.read_text(encoding="utf-8")
    assert page.startswith("<!DOCTYPE html>") and "leak &lt;x&gt; pump-down" in page
    assert page.count("plotly.js v") == 1  # plotly inlined once: the page works offline
    assert "line one<br>line two" in page and "Sensitivity indices" in page
    for f in plan.scenario.factors:
        assert f"R_int against {f.name}" in page
    no_sens = report_html(title="t", description="", summary=summary, sensitivity=None, runs=sweep, factors=[],
                          grid_factors=[], spec_max_ohm_cm2=20.0)
    assert "Global sensitivity" not in no_sens and "Sensitivity indices" not in no_sens
