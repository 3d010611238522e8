"""The what-if report's figures and HTML, built from a real (small) study run in this process."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from campaigns.whatif import Plan, Scenario, run_chunk, sensitivity, summarize
from dashboards.whatif_report import (
    HEATMAP_BINS,
    ROW_PX,
    distribution_figure,
    factor_figure,
    factor_levels,
    heatmap_figure,
    pair_grid,
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
    sens = pd.DataFrame({"output": ["runs_per_day"] * 2, "parameter": ["a", "b"], "mu_star": [3.0, 1.0],
                         "mu_star_conf": [0.1, 0.1], "sigma": [0.5, 0.2]})
    fig = tornado_figure(sens)
    assert fig.data[0].name == "Morris μ*" and list(fig.data[0].y) == ["b", "a"]


def test_distribution_has_one_row_per_variation_sorted_by_median_and_the_spec(study):
    plan, sweep, summary, _ = study
    fig = distribution_figure(sweep, summary, [f.name for f in plan.scenario.grid_factors], 20.0)
    (box,) = fig.data
    assert box.orientation == "h" and len(box.x) == len(sweep)
    rows = list(fig.layout.yaxis.categoryarray)
    assert len(rows) == plan.scenario.n_variations == len(set(box.y))
    medians = sweep.groupby("variation")["interface_resistance_ohm_cm2"].median()
    label = dict(zip(summary["variation"], ("leak_rate_per_h=0.2, pumpdown_min=60",
                                            "leak_rate_per_h=0.2, pumpdown_min=1440",
                                            "leak_rate_per_h=5, pumpdown_min=60",
                                            "leak_rate_per_h=5, pumpdown_min=1440"), strict=True))
    assert rows == [label[v] for v in medians.sort_values().index]
    # each run sits in its variation's row
    v1 = label[1]
    np.testing.assert_allclose(sorted(x for x, y in zip(box.x, box.y, strict=True) if y == v1),
                               sorted(sweep.loc[sweep["variation"] == 1, "interface_resistance_ohm_cm2"]))
    # the spec line is a shape in data coordinates with its label attached; no annotation placed on the log axis
    (spec,) = fig.layout.shapes
    assert (spec.x0, spec.x1, spec.xref, spec.yref) == (20.0, 20.0, "x", "y domain") and "20" in spec.label.text
    assert fig.layout.xaxis.type == "log" and not fig.layout.annotations


def test_rows_grow_with_the_variations():
    runs = pd.DataFrame({"variation": np.repeat(np.arange(100), 3),
                         "interface_resistance_ohm_cm2": np.arange(300.0) + 1})
    summary = pd.DataFrame({"variation": np.arange(100), "r_int_p50_ohm_cm2": np.arange(100.0)[::-1],
                            "yield": 0.5, "runs_per_day": 4.0})
    dist = distribution_figure(runs, summary, [], 20.0)
    assert list(dist.layout.yaxis.categoryarray)[:2] == ["#99", "#98"]  # lowest median first
    assert dist.layout.height >= 100 * ROW_PX
    yt = yield_throughput_figure(summary, [])
    assert yt.layout.height == dist.layout.height and list(yt.data[0].y) == list(dist.layout.yaxis.categoryarray)


def test_yield_and_throughput_come_from_the_summary(study):
    plan, _, summary, _ = study
    fig = yield_throughput_figure(summary, [f.name for f in plan.scenario.grid_factors])
    order = summary.sort_values("r_int_p50_ohm_cm2")
    np.testing.assert_allclose(fig.data[0].x, order["yield"])
    np.testing.assert_allclose(fig.data[1].x, order["runs_per_day"])


def test_pair_grid_pools_the_other_factors(study):
    _, sweep, _, _ = study
    la, lb, r_med, ok = pair_grid(sweep, "events.leak_rate_per_h", "recipe.pumpdown_min")
    assert (la, lb) == (["0.2", "5"], ["60", "1440"])
    cell = sweep[(sweep["events.leak_rate_per_h"] == 5.0) & (sweep["recipe.pumpdown_min"] == 60.0)]
    assert r_med[0, 1] == pytest.approx(cell["interface_resistance_ohm_cm2"].median())
    assert ok[0, 1] == pytest.approx(cell["in_spec"].mean())


def test_factor_levels_bin_a_continuous_factor():
    x = pd.Series(np.linspace(0.0, 100.0, 600))
    codes, names = factor_levels(x)
    assert len(names) == HEATMAP_BINS and np.bincount(codes).tolist() == [100] * HEATMAP_BINS
    codes, names = factor_levels(pd.Series(["air", "vacuum", "air"]))
    assert codes.tolist() == [0, 1, 0] and names == ["air", "vacuum"]


def test_heat_map_has_a_pair_per_dropdown_entry(study):
    _, sweep, _, _ = study
    factors = ["events.leak_rate_per_h", "recipe.pumpdown_min", "state.target_kwh"]
    fig = heatmap_figure(sweep, factors)
    (menu,) = fig.layout.updatemenus
    assert [b.label for b in menu.buttons] == ["events.leak_rate_per_h × recipe.pumpdown_min",
                                               "events.leak_rate_per_h × state.target_kwh",
                                               "recipe.pumpdown_min × state.target_kwh"]
    assert len(fig.data) == 6 and [t.visible for t in fig.data] == [True, True, False, False, False, False]
    vis, axes = menu.buttons[2].args
    assert vis["visible"] == [False, False, False, False, True, True]
    assert axes["xaxis.title.text"] == "recipe.pumpdown_min" and axes["yaxis2.title.text"] == "state.target_kwh"
    assert heatmap_figure(sweep, factors[:1]) is None
    # a factor that does not vary in these runs has no heat map
    assert heatmap_figure(sweep.assign(c=1.0), ["events.leak_rate_per_h", "c"]) is None


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
    for div in ("whatif-tornado", "whatif-distribution", "whatif-heatmap", "whatif-yield", "whatif-factor-2"):
        assert f'id="{div}"' in page
    for f in plan.scenario.factors:
        assert f"R_int against {f.name}" in page
    no_sens = report_html(title="t", description="", summary=summary, sensitivity=None, runs=sweep, factors=[],
                          grid_factors=[], spec_max_ohm_cm2=20.0)
    assert "Global sensitivity" not in no_sens and "Sensitivity indices" not in no_sens
