"""A queue of runs shares the chamber: erosion, shield load and wall water carry over; a vent resets water."""

from __future__ import annotations

import pytest

from twin import VENT, Chamber, Recipe, simulate, simulate_queue

R = Recipe(pumpdown_min=60.0)


def test_wall_water_keeps_falling_through_a_day_of_runs():
    day = simulate_queue([R] * 6, deterministic=True)
    doses = [r.h2o_dose_langmuir for r in day]
    assert all(a > b for a, b in zip(doses, doses[1:], strict=False))
    hours = [r.chamber_state_after["hours_since_vent"] for r in day]
    assert all(a < b for a, b in zip(hours, hours[1:], strict=False))


def test_vent_resets_wall_water():
    runs = simulate_queue([R, R, R, VENT, R], deterministic=True)
    assert runs[3].h2o_dose_langmuir > runs[2].h2o_dose_langmuir
    assert runs[3].h2o_dose_langmuir == pytest.approx(runs[0].h2o_dose_langmuir, rel=0.05)


def test_target_erosion_lowers_rate_and_is_recorded():
    worn = Chamber().replace({"state.target_kwh": 60.0})
    fresh_rate = simulate(R, deterministic=True).deposition_rate_nm_min
    worn_res = simulate(R, worn, deterministic=True)
    assert worn_res.deposition_rate_nm_min < 0.8 * fresh_rate
    assert worn_res.target_kwh_start == 60.0
    assert worn_res.chamber_state_after["target_kwh"] > 60.0


def test_end_of_target_life_is_an_event():
    near_end = Chamber().replace({"state.target_kwh": 119.9})
    res = simulate(R, near_end, deterministic=True)
    assert any(e.kind == "target_end_of_life" for e in res.events)


def test_no_load_lock_vents_every_run():
    ch = Chamber().replace({"vacuum.load_lock": False})
    runs = simulate_queue([R] * 3, ch, deterministic=True)
    assert runs[0].h2o_dose_langmuir == pytest.approx(runs[2].h2o_dose_langmuir)
    assert all(any(e.kind == "vent" for e in r.events) for r in runs)


def test_queue_of_1000_runs_completes():
    runs = simulate_queue([R] * 1000, seed=3)
    assert len(runs) == 1000
    assert runs[-1].chamber_state_after["target_kwh"] > runs[0].chamber_state_after["target_kwh"]


def test_telemetry_of_each_run_in_a_queue_sees_its_own_vent():
    runs = simulate_queue([R, R, VENT, R], seed=5, telemetry=True)
    first_h2o = runs[0].telemetry["h2o_pa"].iloc[-1]
    second_h2o = runs[1].telemetry["h2o_pa"].iloc[-1]
    after_vent = runs[2].telemetry["h2o_pa"].iloc[-1]
    assert second_h2o < first_h2o  # the walls kept drying between the first two runs
    assert after_vent > second_h2o  # the vent before the third run wetted them again
    for r in runs:  # the water the telemetry shows is the water the model integrated
        assert r.telemetry["h2o_pa"].min() > 0
