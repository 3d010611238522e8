"""Pure builders of the review app: margins to limits, distances, recipe comparison and the figures' data."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from dashboards import figures_review as fr
from dashboards.review import compare_recipes, distances_to_past, limit_margins, nearest_past
from twin import Chamber, Event, Recipe, RecipeError, simulate

CHAMBER = Chamber()


@st.composite
def recipes(draw):
    """Recipes that validate physically, some outside the default tool's limits."""
    thick = draw(st.floats(1, 6000))
    transfer = draw(st.sampled_from(["vacuum", "air"]))
    anneal = draw(st.sampled_from([0.0, draw(st.floats(0, 2000))]))
    return Recipe(
        target_thickness_nm=thick,
        rf_power_w=draw(st.floats(1, 400)),
        seed_power_w=draw(st.floats(1, 400)),
        seed_thickness_nm=draw(st.floats(0, 1)) * thick,
        pressure_pa=draw(st.floats(0.01, 8)),
        target_substrate_distance_mm=draw(st.floats(20, 150)),
        substrate_temperature_c=draw(st.floats(0, 700)),
        presputter_min=draw(st.floats(0, 300)),
        pumpdown_min=draw(st.floats(0, 12000)),
        transfer=transfer,
        air_exposure_min=draw(st.floats(0, 12000)) if transfer == "air" else 0.0,
        anneal_temperature_c=draw(st.floats(0, 700)),
        anneal_min=anneal,
    )


@settings(max_examples=300, deadline=None)
@given(recipes())
def test_margins_agree_with_the_tools_check(recipe):
    """Every margin is non-negative exactly when the tool accepts the recipe (same ranges as Chamber.check)."""
    margins = limit_margins(recipe, CHAMBER)
    try:
        CHAMBER.check(recipe)
        accepted = True
    except RecipeError:
        accepted = False
    assert all(m.ok for m in margins) == accepted
    assert [m.fraction for m in margins] == sorted(m.fraction for m in margins)
    assert all(m.fraction <= 0.5 + 1e-12 or m.field in {"substrate_temperature_c", "target_thickness_nm",
                                                         "presputter_min", "pumpdown_min", "air_exposure_min",
                                                         "anneal_min", "anneal_temperature_c"} for m in margins)


def test_margin_values():
    m = {x.field: x for x in limit_margins(Recipe(rf_power_w=100.0, pressure_pa=5.0), CHAMBER)}
    max_w = 5.5 * CHAMBER.geometry.target_area_cm2
    assert m["rf_power_w"].high == pytest.approx(max_w)
    assert m["rf_power_w"].fraction == pytest.approx(min(90.0, max_w - 100.0) / (max_w - 10.0))
    assert m["pressure_pa"].fraction == 0.0 and m["pressure_pa"].ok
    assert "seed_power_w" not in m and "anneal_min" not in m and "air_exposure_min" not in m
    over = {x.field: x for x in limit_margins(Recipe(pressure_pa=6.0), CHAMBER)}
    assert over["pressure_pa"].fraction == pytest.approx(-1.0 / 4.9) and not over["pressure_pa"].ok


@settings(max_examples=100, deadline=None)
@given(st.lists(recipes(), min_size=1, max_size=8), recipes())
def test_distances_are_normalised(past, recipe):
    d = distances_to_past(recipe, past)
    assert d.shape == (len(past),)
    assert np.all(d >= 0) and np.all(d <= 1 + 1e-9)
    assert distances_to_past(past[0], past)[0] == pytest.approx(0.0)
    near = nearest_past(recipe, past, k=3)
    assert [n.distance for n in near] == sorted(n.distance for n in near)
    assert len(near) == min(3, len(past))


def test_distance_uses_the_search_space_bounds():
    past = [Recipe(pressure_pa=0.5), Recipe(pressure_pa=1.0)]
    wide = distances_to_past(Recipe(pressure_pa=0.75), past, {"pressure_pa": (0.0, 5.0)})
    assert wide.tolist() == pytest.approx([0.05, 0.05])
    assert distances_to_past(Recipe(), []).shape == (0,)


def test_compare_recipes_marks_every_difference():
    a, b = Recipe(), Recipe(transfer="air", air_exposure_min=30.0, rf_power_w=50.0)
    rows = {r["field"]: r for r in compare_recipes(a, b)}
    assert set(rows) == set(Recipe.fields())
    assert rows["transfer"]["diff"] == "changed"
    assert rows["air_exposure_min"]["diff"] == 30.0
    assert rows["rf_power_w"]["diff"] == -60.0
    assert rows["pressure_pa"]["diff"] == ""


def test_timeline_of_a_real_run_covers_every_phase_in_order():
    res = simulate(Recipe(seed_thickness_nm=5.0, seed_power_w=30.0, anneal_min=30.0), CHAMBER, seed=3)
    rows = fr.timeline_rows(res.events)
    phases = [r for r in rows if r["kind"] == "phase"]
    assert [r["row"] for r in phases] == ["pump-down", "transfer", "pre-sputter", "seed layer", "deposition",
                                          "anneal", "unload"]
    for a, b in zip(phases, phases[1:], strict=False):
        assert a["end_s"] <= b["start_s"] + 1e-9
    assert phases[-1]["end_s"] == pytest.approx(res.events[-1].time_s)
    # every random event of the run is on the chart, each at its time
    randoms = [e for e in res.events if e.kind in fr.POINT_EVENTS]
    points = [r for r in rows if r["kind"] == "point"]
    assert sorted((p["row"], p["start_s"]) for p in points) == sorted((e.kind, e.time_s) for e in randoms)
    fig = fr.event_gantt(res.events)
    bars = fig.data[0]
    assert list(bars.y[:len(phases)]) == [r["row"] for r in phases]
    assert np.allclose(np.asarray(bars.base[:len(phases)]) * 3600, [r["start_s"] for r in phases])
    assert np.allclose(np.asarray(bars.x[:len(phases)]) * 3600, [r["end_s"] - r["start_s"] for r in phases])


def test_rf_trip_is_an_interval_and_dicts_work_like_events():
    ev = [Event(0, "load"), Event(10, "rf_trip"), Event(25, "rf_restored"), Event(40, "rf_trip")]
    rows = fr.timeline_rows([e.to_dict() for e in ev])
    trips = [(r["start_s"], r["end_s"]) for r in rows if r["row"] == "rf_trip"]
    assert trips == [(10.0, 25.0), (40.0, 40.0)]
    assert fr.timeline_rows([]) == []
    assert len(fr.event_gantt([]).data) == 0


def test_telemetry_figure_carries_the_traces():
    res = simulate(Recipe(), CHAMBER, seed=1, telemetry=True)
    fig = fr.telemetry_figure(res.telemetry)
    by_name = {t.name: t for t in fig.data}
    assert set(by_name) == {"pressure_pa", "h2o_pa", "rf_power_w", "rate_nm_min", "thickness_nm",
                            "substrate_temperature_c"}
    assert np.allclose(by_name["thickness_nm"].y, res.telemetry["thickness_nm"])
    assert np.allclose(np.asarray(by_name["rf_power_w"].x) * 3600, res.telemetry["time_s"])
    assert fig.layout.yaxis.type == "log"


def test_margins_figure_matches_the_margins():
    margins = limit_margins(Recipe(pressure_pa=6.0, rf_power_w=12.0), CHAMBER)
    fig = fr.margins_figure(margins)
    assert list(fig.data[0].y) == [m.field for m in margins]
    assert np.allclose(fig.data[0].x, [100 * m.fraction for m in margins])
    colours = dict(zip(fig.data[0].y, fig.data[0].marker.color, strict=True))
    assert colours["pressure_pa"] == "#7f7f7f" and colours["rf_power_w"] == "#d62728"


def test_partial_dependence_averages_over_the_past_recipes():
    def predict(rs):
        x = np.array([r.rf_power_w for r in rs])
        p = np.array([r.pressure_pa for r in rs])
        return x / 100 + p, np.full(len(rs), 0.1)

    past = [Recipe(pressure_pa=0.5), Recipe(pressure_pa=1.5)]
    out = fr.partial_dependence(predict, past, {"rf_power_w": (50.0, 150.0)}, n_points=3)
    grid, mean, std = out["rf_power_w"]
    assert grid.tolist() == [50.0, 100.0, 150.0]
    assert mean.tolist() == pytest.approx([1.5, 2.0, 2.5])
    assert std.tolist() == pytest.approx([0.1] * 3)
    fig = fr.partial_dependence_figure(out, log10=True)
    assert np.allclose(fig.data[1].y, 10 ** mean)
