"""The problems of ``benchmarks/pareto.py``: two outside test functions with known fronts, and the example campaign
with a reference front from a dense global search on the deterministic twin.

Every problem is seen through the unit cube ``[0, 1]^d`` (the campaign space's, log dimensions on a log scale) and
gives, for a row ``u``, the outcome a strategy is told (:class:`campaigns.objectives.MultiOutcome`, measured: noisy
on the example) and the *true* scores and feasibility (the deterministic twin on the example; the function itself
on the outside problems, which are noise-free).
"""

from __future__ import annotations

import bisect
import dataclasses
import math
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from scipy.stats import qmc

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from campaigns.ask_tell import PlainGoal, PlainObjectives  # noqa: E402
from campaigns.config import CampaignConfig  # noqa: E402
from campaigns.objectives import MultiOutcome  # noqa: E402
from campaigns.space import SearchSpace  # noqa: E402
from campaigns.twin_eval import TwinEvaluator  # noqa: E402
from campaigns.variables import Real  # noqa: E402
from twin import Chamber, SimulatedTool  # noqa: E402

EXAMPLE = ROOT / "examples" / "campaigns" / "lipon_pareto.toml"
R_INT = "interface_resistance_ohm_cm2"


@dataclass
class Problem:
    """``evaluator(seed)`` gives ``f(u, run_index) -> MultiOutcome`` (what a strategy is told); ``truth(U)`` gives
    true scores (n, m) and true feasibility (n,) of rows ``U``."""

    name: str
    space: SearchSpace
    objective: Any
    ref: np.ndarray
    reference_hv: float
    reference_how: str
    evaluator: Callable[[int], Callable[[np.ndarray, int], MultiOutcome]]
    truth: Callable[[np.ndarray], tuple[np.ndarray, np.ndarray]]
    noisy: bool = False


def _outcome(scores: np.ndarray, slacks: tuple[float, ...] = ()) -> MultiOutcome:
    s = tuple(float(x) for x in scores)
    return MultiOutcome(s, s, tuple(float(x) for x in slacks), False)


# -- BraninCurrin (2 goals, 2-D) -------------------------------------------------------------------------------------
def branin_currin(U: np.ndarray) -> np.ndarray:
    """Belakhdar et al.'s Branin and Currin functions on [0, 1]² (minimised), as BoTorch's ``BraninCurrin``."""
    U = np.atleast_2d(U)
    a, b = 15.0 * U[:, 0] - 5.0, 15.0 * U[:, 1]
    f1 = (b - 5.1 / (4 * math.pi**2) * a**2 + 5.0 / math.pi * a - 6.0) ** 2 + 10.0 * (1 - 1 / (8 * math.pi)) * np.cos(
        a) + 10.0
    x0, x1 = U[:, 0], U[:, 1]
    with np.errstate(divide="ignore", over="ignore"):
        factor = 1.0 - np.exp(-1.0 / (2.0 * x1))  # x1 = 0: exp(-inf) = 0, factor 1
    f2 = factor * (2300 * x0**3 + 1900 * x0**2 + 2092 * x0 + 60) / (100 * x0**3 + 500 * x0**2 + 4 * x0 + 20)
    return np.column_stack([f1, f2])


def dtlz2(U: np.ndarray, m: int = 3) -> np.ndarray:
    """DTLZ2 (Deb et al. 2002) with ``m`` goals on [0, 1]^d (minimised); its front is the unit sphere's octant."""
    U = np.atleast_2d(U)
    g = np.sum((U[:, m - 1:] - 0.5) ** 2, axis=1)
    ang = U[:, : m - 1] * math.pi / 2
    out = np.empty((len(U), m))
    for i in range(m):
        f = 1.0 + g
        for j in range(m - 1 - i):
            f = f * np.cos(ang[:, j])
        if i > 0:
            f = f * np.sin(ang[:, m - 1 - i])
        out[:, i] = f
    return out


def _plain(name: str, d: int, m: int, f: Callable[[np.ndarray], np.ndarray], ref: list[float], hv: float,
           how: str) -> Problem:
    space = SearchSpace.from_variables([Real(f"x{j}", 0.0, 1.0) for j in range(d)])
    obj = PlainObjectives(tuple(PlainGoal(f"f{j}", "minimize", r) for j, r in enumerate(ref)))

    def evaluator(seed: int) -> Callable[[np.ndarray, int], MultiOutcome]:
        return lambda u, k: _outcome(f(u[None, :])[0])

    def truth(U: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        return f(U), np.ones(len(U), bool)

    return Problem(name, space, obj, np.array(ref, float), hv, how, evaluator, truth)


def outside_problems() -> list[Problem]:
    return [
        _plain("BraninCurrin", 2, 2, branin_currin, [18.0, 6.0], 59.36011874867746,
               "published maximum hypervolume (BoTorch's BraninCurrin, reference (18, 6))"),
        _plain("DTLZ2", 6, 3, dtlz2, [1.1, 1.1, 1.1], 1.1**3 - math.pi / 6,
               "exact: 1.1^3 minus the unit ball's octant (pi/6), reference (1.1, 1.1, 1.1)"),
    ]


# -- the example campaign ------------------------------------------------------------------------------------------
class ExampleTruth:
    """The deterministic twin's scores and feasibility (P(failure) < 0.5 by the hard rules, every outcome
    constraint met) at unit-cube rows of the campaign's space, vectorised; ``r_int_factor(columns)`` multiplies the
    interface resistance (a structural effect the twin lacks: ``benchmarks/mismatch.py``'s realities)."""

    def __init__(self, config: CampaignConfig, chamber: Chamber,
                 r_int_factor: Callable[[dict[str, np.ndarray]], np.ndarray] | None = None) -> None:
        self.config, self.mo = config, config.objective
        self.evaluator = TwinEvaluator(chamber, config.space, self.mo.hard)
        self.fields = list(dict.fromkeys([g.field for g in self.mo.goals] + [c.field for c in self.mo.constraints]))
        self.r_int_factor = r_int_factor

    def __call__(self, U: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        U = np.atleast_2d(U)
        vals, p_fail = self.evaluator.result_fields(U, self.fields)
        if self.r_int_factor is not None and R_INT in vals:
            vals[R_INT] = vals[R_INT] * self.r_int_factor(self.evaluator.columns(U))
        scores = np.column_stack([[g.score(v) if np.isfinite(v) and (not g.log or v > 0) else np.nan
                                   for v in vals[g.field]] for g in self.mo.goals])
        ok = (p_fail < 0.5) & np.isfinite(scores).all(axis=1)
        for c in self.mo.constraints:
            ok &= np.array([np.isfinite(v) and c.slack(v) <= 0 for v in vals[c.field]])
        return scores, ok


def example_problem(n_sobol: int = 2**17, polish_rounds: int = 5, seed: int = 0,
                    carry_over: bool = True, reality: Any = None) -> tuple[Problem, str]:
    """The example and its reference front; returns the problem and a line saying how the front was found.

    ``carry_over`` (the campaign as it runs): one tool per seed whose chamber state (walls' water, time since vent,
    target) carries over from run to run, so that measured R_int drifts down over a campaign while the truth is the
    deterministic twin in the chamber's initial state. ``carry_over=False``: every run starts in that initial state
    (a new tool per run, seeded by ``(seed, run)``), so the truth is what the measurements scatter around; a
    diagnostic that separates the models' and acquisition's faults from the drift's.

    ``reality`` (a :class:`mismatch.Reality`): the tool is unlike the twin: its chamber is the reality's, with the
    reality's structural effect on every measured R_int; the truth and the reference front are the reality's too
    (``twin-mobo``'s twin stays the default chamber)."""
    config = CampaignConfig.from_toml(EXAMPLE)
    chamber = Chamber() if reality is None else reality.chamber()
    effect = reality.factor if reality is not None and reality.effect else None
    truth = ExampleTruth(config, chamber, effect)
    ref = np.asarray(config.objective.reference_scores(), float)
    front, how = reference_front(truth, len(config.space), ref, n_sobol, polish_rounds, seed)
    hv = hypervolume_3d(front, ref) if len(ref) == 3 else _hv_any(front, ref)
    mo = config.objective

    def evaluator(seed: int) -> Callable[[np.ndarray, int], MultiOutcome]:
        tool = SimulatedTool(chamber, seed=seed)

        def run(u: np.ndarray, k: int) -> MultiOutcome:
            recipe = config.space.to_recipe(config.space.from_unit_cube(u[None, :])[0])
            t = tool if carry_over else SimulatedTool(chamber, seed=int(np.random.SeedSequence([seed, k])
                                                                         .generate_state(1)[0]))
            res = t.run(recipe)
            if effect is not None and res.interface_resistance_ohm_cm2 is not None:  # as mismatch.RealityTool
                cols = {k: np.array([v]) for k, v in recipe.to_dict().items() if not isinstance(v, str)}
                res = dataclasses.replace(res, interface_resistance_ohm_cm2=res.interface_resistance_ohm_cm2
                                          * float(effect(cols)[0]))
            return mo.evaluate(res.to_dict(), recipe.to_dict())

        return run

    return Problem("lipon_pareto", config.space, mo, ref, hv, how, evaluator, truth, noisy=True), how


def reference_front(truth: Callable[[np.ndarray], tuple[np.ndarray, np.ndarray]], d: int, ref: np.ndarray,
                    n_sobol: int, polish_rounds: int, seed: int) -> tuple[np.ndarray, str]:
    """Non-dominated true scores of a scrambled Sobol sample of ``n_sobol`` rows, then ``polish_rounds`` rounds of
    local polishing: 8 Gaussian steps (σ = 0.03 / 3^round of the unit cube) around each front point (at most
    2000 of them, chosen at random), keeping the non-dominated union."""
    rng = np.random.default_rng(seed)
    U = qmc.Sobol(d, scramble=True, seed=seed).random(n_sobol)
    Y, ok = truth(U)
    keep = ok & np.all(Y < ref, axis=1)
    U, Y = U[keep], Y[keep]
    idx = nondominated(Y)
    U, Y = U[idx], Y[idx]
    hv_of = hypervolume_3d if len(ref) == 3 else _hv_any
    hvs = [hv_of(Y, ref)]
    n_eval = n_sobol
    for r in range(polish_rounds):
        sigma = 0.03 / 3**r
        pick = rng.choice(len(U), min(len(U), 2000), replace=False)
        V = np.clip(np.repeat(U[pick], 8, axis=0) + rng.normal(0, sigma, (len(pick) * 8, d)), 0, 1)
        Z, okz = truth(V)
        n_eval += len(V)
        keep = okz & np.all(Z < ref, axis=1)
        U, Y = np.vstack([U, V[keep]]), np.vstack([Y, Z[keep]])
        idx = nondominated(Y)
        U, Y = U[idx], Y[idx]
        hvs.append(hv_of(Y, ref))
    def moved(a: float, b: float) -> float:
        return 100 * (b / a - 1) if a > 0 else float("nan")

    how = (f"deterministic twin on {n_sobol:,} scrambled Sobol points, then {polish_rounds} rounds of Gaussian "
           f"polishing around the front ({n_eval:,} evaluations in all); front of {len(Y)} points; polishing moved "
           f"its hypervolume by {moved(hvs[0], hvs[-1]):+.2f} % in all, the last round by "
           f"{moved(hvs[-2], hvs[-1]) if len(hvs) > 1 else 0.0:+.3f} %")
    return Y, how


def nondominated(Y: np.ndarray) -> np.ndarray:
    """Indices of the non-dominated rows (minimised): rows in order of their sum, each kept unless a kept row
    weakly dominates it (a dominating row has a smaller sum, so it comes first)."""
    order = np.argsort(Y.sum(axis=1), kind="stable")
    kept = np.empty((len(Y), Y.shape[1]))
    idx = []
    for i in order:
        if idx and np.any(np.all(kept[: len(idx)] <= Y[i], axis=1)):
            continue
        kept[len(idx)] = Y[i]
        idx.append(i)
    return np.array(idx, int)


def _hv2_sorted(P: np.ndarray, ref: np.ndarray) -> float:
    P = P[np.argsort(P[:, 0], kind="stable")]
    best = np.minimum.accumulate(P[:, 1])
    xs = np.append(P[:, 0], ref[0])
    return float(np.sum((xs[1:] - xs[:-1]) * np.maximum(ref[1] - best, 0.0)))


def hypervolume_3d(Y: np.ndarray, ref: np.ndarray) -> float:
    """Exact 3-D hypervolume of tens of thousands of points in O(n log n + n·k): a sweep along the third score
    that keeps the 2-D staircase of the points below and its area, updated locally at each insertion
    (Beume et al., *IEEE Trans. Evol. Comput.* 13, 1075 (2009), in spirit)."""
    Y = np.asarray(Y, float)
    Y = Y[np.all(Y < ref, axis=1)]
    if not len(Y):
        return 0.0
    Y = Y[np.argsort(Y[:, 2], kind="stable")]
    r0, r1 = float(ref[0]), float(ref[1])
    xs: list[float] = []
    ys: list[float] = []
    area = vol = 0.0
    for k in range(len(Y)):
        x, y = float(Y[k, 0]), float(Y[k, 1])
        i = bisect.bisect_right(xs, x)
        if not (i > 0 and ys[i - 1] <= y):  # not dominated by the staircase
            j = i
            while j < len(xs) and ys[j] >= y:
                j += 1
            nxt = xs[j] if j < len(xs) else r0
            before = sum(((xs[t + 1] if t + 1 < len(xs) else r0) - xs[t]) * (r1 - ys[t]) for t in range(i, j))
            after = (nxt - x) * (r1 - y)
            if i > 0:
                old_next = xs[i] if i < len(xs) else r0
                before += (old_next - xs[i - 1]) * (r1 - ys[i - 1])
                after += (x - xs[i - 1]) * (r1 - ys[i - 1])
            area += after - before
            xs[i:j] = [x]
            ys[i:j] = [y]
        top = float(Y[k + 1, 2]) if k + 1 < len(Y) else float(ref[2])
        vol += area * (top - float(Y[k, 2]))
    return vol


def _hv_any(Y: np.ndarray, ref: np.ndarray) -> float:
    from campaigns.pareto import hypervolume

    return hypervolume(Y, ref) if Y.shape[1] != 2 else _hv2_sorted(Y[np.all(Y < ref, axis=1)], ref)
