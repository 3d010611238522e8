"""The strategies on plain named variables through ask/tell on dicts (no recipe, no twin, no store)."""

from __future__ import annotations

import math

import numpy as np
import pytest

from campaigns.ask_tell import AskTell
from campaigns.errors import CampaignError
from campaigns.space import SearchSpace
from campaigns.variables import Categorical, Integer, Real

BRANIN_MIN = 0.397887
"""Global minimum of the Branin–Hoo function (Dixon & Szegő 1978), at (−π, 12.275), (π, 2.275), (9.42478, 2.475)."""


def branin(x1: float, x2: float) -> float:
    """The Branin–Hoo test function on x1 ∈ [−5, 10], x2 ∈ [0, 15] (standard constants)."""
    b, c, t = 5.1 / (4 * math.pi**2), 5 / math.pi, 1 / (8 * math.pi)
    return (x2 - b * x1**2 + c * x1 - 6.0) ** 2 + 10.0 * (1 - t) * math.cos(x1) + 10.0


def _regret(strategy: str, seed: int, budget: int, settings: dict | None = None) -> float:
    opt = AskTell([Real("x1", -5.0, 10.0), Real("x2", 0.0, 15.0)], strategy, seed=seed, settings=settings,
                  budget=budget)
    for _ in range(budget):
        (p,) = opt.ask()
        opt.tell([p], [branin(p["x1"], p["x2"])])
    best = opt.best()
    assert best is not None
    return best[1] - BRANIN_MIN


def test_branin_known_minimum():
    assert branin(-math.pi, 12.275) == pytest.approx(BRANIN_MIN, abs=1e-6)
    assert branin(math.pi, 2.275) == pytest.approx(BRANIN_MIN, abs=1e-6)


def test_gp_finds_the_branin_minimum_ten_times_closer_than_random_search_in_25_evaluations():
    """Budget 25; the tolerance is a tenth of random search's median regret over 20 seeds at the same budget
    (measured here, about 0.8, so about 0.08). gp must reach it on at least 4 of 5 seeds and in the median: a gp
    that searched no better than random would miss it by a factor of ten."""
    budget = 25
    random_median = float(np.median([_regret("random", s, budget) for s in range(20)]))
    tol = random_median / 10
    gp = [_regret("gp", s, budget, {"n_initial": 8}) for s in range(5)]
    assert sum(r <= tol for r in gp) >= 4, (gp, tol)
    assert float(np.median(gp)) <= tol, (gp, tol)


def test_ask_returns_dicts_in_range_and_the_same_points_until_tell():
    opt = AskTell([Real("x", 0.0, 1.0), Integer("k", 1, 4), Categorical("c", ["a", "b"])], "gp", seed=2,
                  settings={"n_initial": 3, "n_points": 500})
    first = opt.ask(2)
    assert first == opt.ask(2)
    for p in first:
        assert set(p) == {"x", "k", "c"} and 0 <= p["x"] <= 1 and p["k"] in (1, 2, 3, 4) and p["c"] in ("a", "b")
    opt.tell(first, [0.5, None])  # None: a failed evaluation
    assert opt.ask(2) != first
    again = AskTell([Real("x", 0.0, 1.0), Integer("k", 1, 4), Categorical("c", ["a", "b"])], "gp", seed=2,
                    settings={"n_initial": 3, "n_points": 500})
    again.tell(first, [0.5, None])
    assert again.ask(2) == opt.ask(2)  # proposals depend only on the seed and what was told
    assert opt.best() == (first[0], 0.5)


def test_a_dict_of_ranges_builds_the_same_space():
    a = SearchSpace.from_variables({"x": (0.0, 1.0), "c": ["a", "b"], "k": {"type": "integer", "low": 1,
                                                                         "high": 4}})
    b = SearchSpace.from_variables([Real("x", 0.0, 1.0), Categorical("c", ["a", "b"]), Integer("k", 1, 4)])
    assert a == b and not a.has_recipe
    with pytest.raises(CampaignError, match="no recipe"):
        a.to_recipe([0.5, "a", 2])


@pytest.mark.parametrize(("call", "field"), [
    (lambda: Real("x", 1.0, 0.0), "variables.x"),
    (lambda: Real("x", 0.0, 1.0, log=True), "variables.x.low"),
    (lambda: Integer("k", 0.5, 3), "variables.k.low"),
    (lambda: Categorical("c", []), "variables.c.categories"),
    (lambda: SearchSpace.from_variables([Real("x", 0, 1), Real("x", 0, 2)]), "variables"),
    (lambda: AskTell([Real("x", 0, 1)], "twin-prior"), "strategy"),
    (lambda: AskTell([Real("x", 0, 1)], "gp").tell([{"x": 2.0}], [1.0]), "points.x"),
    (lambda: AskTell([Real("x", 0, 1)], "gp").tell([{"y": 0.5}], [1.0]), "points"),
    (lambda: AskTell([Real("x", 0, 1)], "gp").tell([{"x": 0.5}], [math.inf]), "values"),
    (lambda: AskTell([Real("x", 0, 1)], "gp", settings={"n_intial": 3}), "strategy.n_intial"),
])
def test_bad_plain_input_is_one_line_naming_the_field(call, field):
    with pytest.raises(CampaignError) as info:
        call()
    assert info.value.field == field and "\n" not in str(info.value)
