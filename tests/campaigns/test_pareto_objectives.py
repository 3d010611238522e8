"""Pareto sets, exact hypervolume, and the multi-objective outcome of a run."""

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from campaigns.errors import CampaignError
from campaigns.objectives import Goal, MultiObjective, OutcomeConstraint
from campaigns.pareto import default_reference, hypervolume, hypervolume_history, pareto_mask


@pytest.mark.parametrize("m", [2, 3, 4])
def test_hypervolume_matches_monte_carlo(m):
    rng = np.random.default_rng(m)
    Y = rng.random((20, m))
    ref = np.full(m, 1.1)
    P = rng.random((200_000, m)) * 1.1
    dominated = np.zeros(len(P), bool)
    for y in Y:
        dominated |= np.all(P >= y, axis=1)
    mc = dominated.mean() * 1.1**m
    se = math.sqrt(dominated.mean() * (1 - dominated.mean()) / len(P)) * 1.1**m
    assert abs(hypervolume(Y, ref) - mc) < 5 * se


def test_hypervolume_of_boxes_and_points_outside_reference():
    assert hypervolume([[0.0, 0.0, 0.0]], [1.0, 2.0, 3.0]) == pytest.approx(6.0)
    assert hypervolume([[2.0, 0.0]], [1.0, 1.0]) == 0.0  # does not dominate the reference
    assert hypervolume([[0.5, 0.5], [np.nan, 0.0]], [1.0, 1.0]) == pytest.approx(0.25)
    with pytest.raises(ValueError, match="components"):
        hypervolume([[0.0, 0.0]], [1.0, 1.0, 1.0])


@settings(max_examples=60, deadline=None)
@given(st.lists(st.tuples(*[st.floats(0, 1)] * 3), min_size=1, max_size=12))
def test_hypervolume_is_monotone_and_ignores_dominated_rows(rows):
    Y = np.array(rows)
    ref = np.full(3, 1.5)
    hv = hypervolume(Y, ref)
    assert hypervolume(Y[pareto_mask(Y)], ref) == pytest.approx(hv)
    assert hypervolume(np.vstack([Y, [[0.25, 0.25, 0.25]]]), ref) >= hv - 1e-12
    hist = hypervolume_history(Y, ref)
    assert np.all(np.diff(hist) >= -1e-12) and hist[-1] == pytest.approx(hv)


def test_pareto_mask_keeps_ties_and_drops_dominated():
    Y = [[1, 1], [1, 1], [0, 2], [2, 2], [np.nan, 0]]
    assert pareto_mask(Y).tolist() == [True, True, True, False, False]
    ref = default_reference([[0, 0], [1, 2]])
    assert ref.tolist() == pytest.approx([1.1, 2.2])


def test_multi_outcome_scores_slacks_and_failures():
    mo = MultiObjective(
        (Goal("interface_resistance_ohm_cm2", log=True, reference=100.0), Goal("ionic_conductivity_s_cm", "maximize",
                                                                                log=True, reference=1e-7)),
        (OutcomeConstraint.parse("process_time_s <= 7200"),))
    ok = mo.evaluate({"interface_resistance_ohm_cm2": 10.0, "ionic_conductivity_s_cm": 1e-6, "process_time_s": 3600})
    assert ok.scores == pytest.approx((1.0, 6.0)) and ok.feasible
    assert ok.slacks[0] == pytest.approx(math.log10(0.5))
    late = mo.evaluate({"interface_resistance_ohm_cm2": 10.0, "ionic_conductivity_s_cm": 1e-6, "process_time_s": 9e3})
    assert not late.failed and not late.feasible
    assert mo.evaluate({"shorted": True}).failed
    assert mo.reference_scores().tolist() == pytest.approx([2.0, 7.0])
    assert mo.scores_to_values([[1.0, 6.0]]).tolist()[0] == pytest.approx([10.0, 1e-6])


@pytest.mark.parametrize("make, field", [
    (lambda: Goal("no_such_field"), "objectives.field"),
    (lambda: Goal("damaged_layer_nm", log=True), "objectives.log"),
    (lambda: OutcomeConstraint.parse("interface_resistance_ohm_cm2 < 15"), "constraints.outcomes"),
    (lambda: OutcomeConstraint.parse("foo <= 1"), "constraints.outcomes"),
    (lambda: MultiObjective((Goal("process_time_s"),)), "objectives"),
])
def test_bad_goals_and_constraints_name_the_field(make, field):
    with pytest.raises(CampaignError) as exc:
        make()
    assert exc.value.field == field
