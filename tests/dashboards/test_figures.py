"""Campaign figures: pure builders, data in, plotly figure out."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import plotly.graph_objects as go

from dashboards import figures


def _frame() -> pd.DataFrame:
    return pd.DataFrame({
        "trial_id": [1, 2, 3, 4, 5],  # as the store's export numbers trials
        "state": ["done", "failed", "done", "rejected", "proposed"],
        "objective": [12.0, None, 9.0, None, None],
        "feasible": [True, False, True, False, None],
        "failure": [None, "shorted cell", None, "rejected by reviewer", None],
        "rf_power_w": [100.0, 200.0, 50.0, 80.0, 60.0],
        "pressure_pa": [0.5, 1.0, 2.0, 0.3, 0.4],
        "transfer": ["vacuum"] * 5,
        "interface_resistance_ohm_cm2": [12.0, 8.0, 9.0, None, None],
        "predicted_mean": [None, None, 0.97, None, 0.9],
        "predicted_std": [None, None, 0.05, None, 0.1],
    })


def test_best_so_far_skips_failed_runs():
    best = figures.best_so_far(_frame())
    np.testing.assert_allclose(best, [12.0, 12.0, 9.0, 9.0, 9.0])
    # a failed run with a low R_int (a shorted cell that measured 8) never counts as best
    empty = figures.best_so_far(_frame().iloc[1:2])
    assert math.isnan(empty[0])


def test_convergence_figure_marks_failures_and_the_paper():
    fig = figures.convergence_figure(_frame())
    assert isinstance(fig, go.Figure)
    names = [t.name for t in fig.data]
    assert names == ["run", "best so far", "failed / rejected"]
    assert list(fig.data[0].y) == [12.0, 9.0]
    assert list(fig.data[2].x) == [2, 4]
    assert any("8.6" in (a.text or "") for a in fig.layout.annotations)
    assert fig.layout.yaxis.type == "log"


def test_parameter_figure_has_one_panel_per_field_and_highlights_the_best():
    fig = figures.parameter_figure(_frame(), ["rf_power_w", "pressure_pa", "not_a_column"], log_fields=["pressure_pa"])
    stars = [t for t in fig.data if t.name == "best"]
    assert len(stars) == 2 and stars[0].x[0] == 50.0 and stars[1].x[0] == 2.0
    assert fig.layout.xaxis2.type == "log"


def test_best_recipe_table_and_empty_campaign():
    fig = figures.best_recipe_table(_frame())
    names, values = fig.data[0].cells.values
    assert dict(zip(names, values, strict=True))["rf_power_w"] == "50 W"  # at its precision, with its unit
    assert dict(zip(names, values, strict=True))["trial"] == "3"  # the trial id, not the row's position
    empty = _frame().iloc[0:0]
    assert "no successful run" in str(figures.best_recipe_table(empty).data[0].cells.values)
    for build in (figures.convergence_figure, figures.state_counts_figure, figures.prediction_figure):
        assert isinstance(build(empty), go.Figure)


def test_state_counts_and_predictions():
    fig = figures.state_counts_figure(_frame())
    assert dict(zip(fig.data[0].x, fig.data[0].y, strict=True)) == {"done": 2, "failed": 1, "proposed": 1,
                                                                    "rejected": 1}
    pred = figures.prediction_figure(_frame())
    assert list(pred.data[0].x) == [0.97] and np.isclose(pred.data[0].y[0], math.log10(9.0))


def test_builders_do_not_modify_their_input():
    df = _frame()
    copy = df.copy()
    for build in (figures.convergence_figure, figures.state_counts_figure, figures.prediction_figure,
                  figures.best_recipe_table):
        build(df)
    figures.parameter_figure(df, ["rf_power_w"])
    pd.testing.assert_frame_equal(df, copy)



def test_convergence_axis_is_not_stretched_by_the_reference_annotation():
    df = pd.DataFrame({"index": [0, 1, 2], "state": ["done"] * 3, "objective": [30.0, 12.0, 9.0],
                       "feasible": [True] * 3})
    fig = figures.convergence_figure(df)
    (note,) = [a for a in fig.layout.annotations if "Haruta" in a.text]
    assert math.isclose(note.y, math.log10(8.6))  # log10 units on a log axis: drawn at 8.6 Ω·cm², not 10^8.6
    linear = figures.convergence_figure(df, log_y=False)
    (note,) = [a for a in linear.layout.annotations if "Haruta" in a.text]
    assert note.y == 8.6
