"""A chamber that drifts under the campaign: do context-aware strategies find the optimum *for the chamber as it is*?

**The tool** (:class:`DriftTool`): the default chamber as a stochastic :class:`twin.SimulatedTool` whose state
carries over from run to run (the walls dry out after a vent, the target erodes, the shields load up), vented every
``--vent-every`` runs, and whose target also wears by ``--wear-kwh`` per run from the other jobs of a shared tool
(an assumption of this benchmark: 3 kWh per campaign run, from 10 kWh, so the target goes from new to about
two-thirds worn over 30 runs; a campaign's own runs put only ~0.1 kWh each into it).

**Campaign**: the space and objective of ``examples/campaigns/lipon_throughput.toml`` (R_int plus tool time): right
after a vent the best recipe waits longer (more pump-down), late in a cycle it does not; a recipe that looked good
late in a cycle is worse after the next vent.

**Strategies**, each rebuilt from its observations before every proposal as the runner does, and told each run's
context (the chamber state it started in, as the runner records it): ``gp+ctx`` (``gp`` with ``context = "auto"``:
hours since vent and target kWh beside the recipe; its length scales maximum a posteriori, the default with a
context), ``gp+hours`` (``context = ["hours_since_vent"]``), ``gp+ctx-ml`` (``gp+ctx`` with maximum-likelihood
length scales, ``length_scale_prior = false``: as before that default), ``gp+ctx-vac`` (``gp+ctx`` with the hours
since the vent counted to the deposition, the run's pump-down included: ``vacuum_time = true``; by default they are
counted to the load), ``gp`` (context-blind, the example's
settings), ``gp+prior`` (context-blind with the length-scale prior: whether the prior alone does what the context
does),
``twin-prior`` (its twin handed each run's start state and the next run's, ``context = "auto"``), ``twin-prior-blind``
(``context = "none"``: every run predicted in a freshly vented, new-target chamber), ``random`` (best measured run),
``tpe`` (Optuna's TPE sampler with its defaults, context-blind, failed runs told as failed trials: the outside
reference; best measured run).

**What is counted**, at every step ``k`` (after ``k`` runs), in the state the chamber is in at that moment (the
next run's start state): the *recommended* recipe (the model's lowest posterior mean among the successful runs, for
the current context where the model has one; the best measured run for random) is scored on the deterministic twin
in that state, against that state's optimum (a dense vectorised search of :func:`twin.expected_outcomes`:
:func:`optimum`). Reported per strategy, medians over seeds:

* *runs to 10 %*: the first ``k`` at which the recommendation is within 10 % of the current state's optimum
  (``>B``: never within the budget);
* *final regret*: the recommendation's excess over the optimum at the last step, and averaged over the last vent
  cycle (so that where the budget ends in the cycle does not decide it);
* *held*: the share of the last cycle's steps at which the recommendation is within 10 %;
* *best run*: the excess of the best recipe already run (scored on the truth in the current state, the strategy
  does not know which it is), averaged over the last cycle: the floor of any recommendation among the runs. The gap
  from the recommendation down to it is what the model's pick costs; the floor itself is what the search found.

**How hard**: the share of the space within 10 % of the optimum, in three typical states (just vented; 10 h after;
48 h after), on 20 000 uniform points; and how much worse the late-cycle optimum is right after a vent.

**A tool unlike the twin** (``--reality NAME``): the tool's chamber is a reality of ``benchmarks/mismatch.py``
(``"water sensitivity x15"``, ``"O- yield x30"``, a structural effect such as ``"plasma heating"``...), drifting the
same way, while ``twin-prior``'s twin stays the default chamber; the optimum is that reality's, state by state.

Run: ``.venv/bin/python benchmarks/drift.py --jobs 2`` (``--seeds 10 --first-seed 0 --budget 30 --vent-every 8``;
``--quick`` for a smoke run; ``--strategies gp+ctx,gp``; ``--reality "water sensitivity x15"``). Develop on other
seeds than the ones reported (``--first-seed 100``).
"""

from __future__ import annotations

import argparse
import dataclasses
import math
import statistics
import sys
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))

from mismatch import REALITIES, OptunaTpe, Reality, recommended  # noqa: E402  (the model's pick, as mismatch.py counts it)

from campaigns import CampaignConfig  # noqa: E402
from campaigns import acquisition as acq  # noqa: E402
from campaigns.strategies import context, make_strategy  # noqa: E402
from campaigns.twin_eval import STATE_KEYS, TwinEvaluator  # noqa: E402
from twin import Chamber, Recipe, SimulatedTool  # noqa: E402

CAMPAIGN = ROOT / "examples" / "campaigns" / "lipon_throughput.toml"
BASE = Chamber()
START_KWH = 10.0
"""Target and shield load when the campaign starts [kWh] (an assumption: a target already in use)."""

STRATEGIES: dict[str, tuple[str, dict[str, Any]]] = {
    "gp+ctx": ("gp", {"context": "auto"}),
    "gp+hours": ("gp", {"context": ["hours_since_vent"]}),
    "gp+ctx-ml": ("gp", {"context": "auto", "length_scale_prior": False}),
    "gp+ctx-vac": ("gp", {"context": "auto", "vacuum_time": True}),
    "gp": ("gp", {}),
    "gp+prior": ("gp", {"length_scale_prior": True}),
    "twin-prior": ("twin-prior", {"context": "auto"}),
    "twin-prior-blind": ("twin-prior", {"context": "none"}),
    "random": ("random", {}),
    "tpe": ("tpe", {}),
}
"""Benchmark name → (strategy, settings beside the campaign file's own for gp); ``tpe`` is Optuna's TPE (an outside
reference, context-blind: Optuna has no contextual sampler), driven as in ``benchmarks/mismatch.py``."""


def tool_chamber(reality: Reality | None) -> Chamber:
    """The tool's chamber: the default one, or a reality of :mod:`mismatch` (the twin's chamber stays the default)."""
    return BASE if reality is None else reality.chamber()


class DriftTool:
    """A stochastic simulated tool whose state carries over, vented every ``vent_every`` runs, whose target and
    shields gain ``wear_kwh`` per run from other jobs; on ``reality``'s chamber, with its structural effect on R_int
    (:class:`mismatch.Reality`), or on the default one."""

    def __init__(self, seed: int, vent_every: int, wear_kwh: float, reality: Reality | None = None) -> None:
        chamber = tool_chamber(reality).replace({"state.target_kwh": START_KWH, "state.shield_kwh": START_KWH})
        self.tool = SimulatedTool(chamber, seed=seed)
        self.vent_every, self.wear_kwh, self.reality = vent_every, wear_kwh, reality

    def context(self) -> dict[str, float]:
        return self.tool.context()

    def measure(self, recipe: Recipe, objective: Any) -> Any:
        """Run ``recipe``; its outcome with the context and state it started in and the state it left (as the runner
        tells a strategy). Then the other jobs' wear and, every ``vent_every`` runs, a vent."""
        ctx = self.context()
        res = self.tool.run(recipe)
        if self.reality is not None and self.reality.effect:
            cols = {k: np.array([v]) for k, v in recipe.to_dict().items() if not isinstance(v, str)}
            res = dataclasses.replace(res, interface_resistance_ohm_cm2=res.interface_resistance_ohm_cm2
                                      * float(self.reality.factor(cols)[0]))
        out = dataclasses.replace(objective.evaluate(res.to_dict(), recipe.to_dict()), context=ctx,
                                  state={k: ctx[k] for k in STATE_KEYS},
                                  state_after=dict(res.chamber_state_after))
        st = self.tool.chamber.state
        self.tool.chamber = self.tool.chamber.replace({"state.target_kwh": st.target_kwh + self.wear_kwh,
                                                       "state.shield_kwh": st.shield_kwh + self.wear_kwh})
        if self.tool.run_index % self.vent_every == 0:
            self.tool.vent()
        return out


class Truth:
    """The tool's deterministic score of unit-cube rows in a given chamber state (the deterministic twin of its
    chamber, and a reality's structural effect on R_int), and that state's optimum."""

    def __init__(self, cfg: CampaignConfig, reality: Reality | None = None) -> None:
        self.ev = TwinEvaluator(tool_chamber(reality), cfg.space, cfg.objective)
        self.d = len(cfg.space)
        self.reality = reality

    def score(self, u: np.ndarray, state: dict[str, float]) -> np.ndarray:
        """Scores (inf where a run would fail: P(fail) >= 0.5) at rows ``u`` in ``state``."""
        u = np.atleast_2d(u)
        st = {k: np.float64(state[k]) for k in STATE_KEYS}
        # a structural effect multiplies R_int before the objective adds tool time and takes the log
        effect = self.reality.factor if self.reality is not None and self.reality.effect else None
        t = self.ev.evaluate(u, None, st, r_int_factor=effect)
        return np.where(t.p_fail < 0.5, t.score, np.inf)

    def optimum(self, state: dict[str, float], n_points: int = 8000, seed: int = 12345) -> float:
        """The best score in ``state`` (the shared optimiser of :mod:`campaigns.acquisition` on the negated
        deterministic twin: random points, Gaussian steps around the leaders, compass polish)."""
        rng = np.random.default_rng(seed)
        best = acq.maximise(lambda u: -self.score(u, state), self.d, rng, n_points=n_points, n_restarts=8)
        return float(self.score(best, state)[0])

    def share_within(self, state: dict[str, float], n: int = 20000) -> float:
        """Share of the space within 10 % of the optimum in ``state`` (uniform points)."""
        best = self.optimum(state)
        s = self.score(np.random.default_rng(999).random((n, self.d)), state)
        return float(np.mean(s <= best + math.log10(1.1)))


def run_campaign(args: tuple) -> dict[str, Any]:
    """One campaign of ``budget`` runs; the recommendation's excess over the current state's optimum at each step."""
    name, seed, budget, vent_every, wear, campaign, reality_name = args
    reality = REALITIES[reality_name] if reality_name else None
    cfg = CampaignConfig.from_toml(campaign)
    strategy_name, extra = STRATEGIES[name]
    settings = {**(dict(cfg.strategy_settings) if strategy_name == "gp" else {}), **extra}
    tool = DriftTool(seed, vent_every, wear, reality)
    truth = Truth(cfg, reality)
    base_ctx = dataclasses.replace(context(dataclasses.replace(cfg, seed=seed), BASE), settings=settings)
    recipes: list[Recipe] = []
    outcomes: list[Any] = []
    excess: list[float] = []
    floor: list[float] = []  # the best recipe already run, judged in the current state (see *best run*)
    t0 = time.perf_counter()
    tpe = OptunaTpe(cfg, seed) if strategy_name == "tpe" else None
    for _ in range(budget + 1):
        now = tool.context()
        s = None if tpe is not None else make_strategy(strategy_name, dataclasses.replace(base_ctx, context_now=now))
        if recipes:
            if s is not None:
                s.tell(recipes, outcomes)  # rebuilt from the observations, as the runner does
            rec = recommended(s, recipes, outcomes)
            opt = truth.optimum(now)
            if rec is not None:
                u = cfg.space.unit_cube([cfg.space.to_point(rec)])
                excess.append(float(10 ** (truth.score(u, now)[0] - opt) - 1.0))
            else:
                excess.append(math.inf)
            ok = [cfg.space.to_point(r) for r, o in zip(recipes, outcomes, strict=True)
                  if not o.failed and o.score is not None]
            floor.append(float(10 ** (np.min(truth.score(cfg.space.unit_cube(ok), now)) - opt) - 1.0) if ok
                         else math.inf)
        if len(recipes) == budget:
            break
        recipe = tpe.ask() if tpe is not None else s.ask(1)[0]
        outcomes.append(tool.measure(recipe, cfg.objective))
        recipes.append(recipe)
        if tpe is not None:
            tpe.tell(outcomes[-1])
    reached = next((k + 1 for k, e in enumerate(excess) if e <= 0.10), budget + 1)
    cycle = excess[-vent_every:]
    print(f"  {name} / seed {seed}: {reached if reached <= budget else '>' + str(budget)} runs, final excess "
          f"{excess[-1]:+.1%} ({time.perf_counter() - t0:.0f} s)", file=sys.stderr, flush=True)
    return {"strategy": name, "seed": seed, "runs": reached, "final": excess[-1],
            "cycle": float(np.mean(cycle)), "best_run": float(np.mean(floor[-vent_every:])),
            "held": float(np.mean([e <= 0.10 for e in cycle])),
            "seconds": time.perf_counter() - t0, "n": len(recipes)}


def _med(values: list[float], budget: int) -> str:
    m = statistics.median(values)
    return f">{budget}" if m > budget else f"{m:g}"


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--seeds", type=int, default=10)
    p.add_argument("--first-seed", type=int, default=0, help="seeds first-seed .. first-seed + seeds - 1")
    p.add_argument("--reality", default="", help="a tool unlike the twin: a reality of mismatch.py "
                   f"({', '.join(REALITIES)}); default: the twin's own chamber")
    p.add_argument("--budget", type=int, default=30)
    p.add_argument("--vent-every", type=int, default=8)
    p.add_argument("--wear-kwh", type=float, default=3.0, help="target and shield kWh per run from other jobs")
    p.add_argument("--jobs", type=int, default=1)
    p.add_argument("--strategies", default=",".join(STRATEGIES))
    p.add_argument("--quick", action="store_true", help="2 seeds, budget 6, vent every 3")
    p.add_argument("--campaign", type=Path, default=CAMPAIGN)
    a = p.parse_args(argv)
    if a.quick:
        a.seeds, a.budget, a.vent_every = 2, 6, 3
    names = [n.strip() for n in a.strategies.split(",") if n.strip()]
    for n in names:
        if n not in STRATEGIES:
            p.error(f"--strategies: unknown strategy {n!r} (allowed: {', '.join(STRATEGIES)})")
    if a.vent_every < 1 or a.budget < 1 or a.seeds < 1 or a.wear_kwh < 0 or a.first_seed < 0:
        p.error("--vent-every, --budget and --seeds must be >= 1, --wear-kwh and --first-seed >= 0")
    if a.reality and a.reality not in REALITIES:
        p.error(f"--reality: unknown reality {a.reality!r} (allowed: {', '.join(REALITIES)})")
    reality = REALITIES[a.reality] if a.reality else None
    cfg = CampaignConfig.from_toml(a.campaign)
    truth = Truth(cfg, reality)
    t0 = time.perf_counter()
    tool_name = f"the reality {a.reality!r} of mismatch.py ({reality.mechanism}; the twin's chamber is the default)" \
        if reality else "default chamber (the twin's own)"
    print(f"space and objective of {a.campaign.name}; {tool_name}, target and shields from {START_KWH:g} kWh "
          f"+ {a.wear_kwh:g} kWh per run, vented every {a.vent_every} runs")
    states = {"just vented": 0.0, "10 h after a vent": 10.0, "48 h after a vent": 48.0}
    print(f"{'state':22s} {'optimum':>9s} {'share<=10%':>10s}")
    for label, h in states.items():
        st = {"hours_since_vent": h, "target_kwh": START_KWH + 15 * a.wear_kwh,
              "shield_kwh": START_KWH + 15 * a.wear_kwh}
        print(f"{label:22s} {10 ** truth.optimum(st):9.3f} {truth.share_within(st):10.2%}")
    late = {"hours_since_vent": 48.0, "target_kwh": 50.0, "shield_kwh": 50.0}
    fresh = dict(late, hours_since_vent=0.0)
    rng = np.random.default_rng(12345)
    u_late = acq.maximise(lambda u: -truth.score(u, late), truth.d, rng, n_points=4000, n_restarts=8)
    moved = 10 ** (truth.score(u_late, fresh)[0] - truth.optimum(fresh)) - 1
    print(f"the 48-h optimum run right after a vent: {moved:+.1%} over that state's optimum")
    seeds = range(a.first_seed, a.first_seed + a.seeds)
    jobs = [(n, seed, a.budget, a.vent_every, a.wear_kwh, a.campaign, a.reality) for n in names for seed in seeds]
    if a.jobs > 1:
        with ProcessPoolExecutor(a.jobs) as ex:
            rows = list(ex.map(run_campaign, jobs, chunksize=1))
    else:
        rows = [run_campaign(j) for j in jobs]
    print()
    print(f"recommended recipe against the optimum of the chamber's state at that moment (median over {a.seeds} "
          f"seeds, {seeds.start}..{seeds.stop - 1}; budget {a.budget}, '>B' = never within 10 %)")
    print(f"{'strategy':18s} {'runs to 10%':>11s} {'final excess':>12s} {'last cycle':>10s} {'held':>6s} "
          f"{'reached':>8s} {'best run':>9s}")
    med: dict[str, dict[str, float]] = {}
    for n in names:
        rr = [r for r in rows if r["strategy"] == n]
        med[n] = {k: statistics.median(r[k] for r in rr) for k in ("runs", "final", "cycle", "held", "best_run")}
        print(f"{n:18s} {_med([r['runs'] for r in rr], a.budget):>11s} {med[n]['final']:12.1%} "
              f"{med[n]['cycle']:10.1%} {med[n]['held']:6.0%} {sum(r['runs'] <= a.budget for r in rr):>4d}/{len(rr)}"
              f"{med[n]['best_run']:>10.1%}")
    print()
    print("per seed, runs to 10 %: " + "; ".join(f"{n}: {[r['runs'] for r in rows if r['strategy'] == n]}"
                                                for n in names))
    print("per seed, last-cycle excess [%]: " + "; ".join(
        f"{n}: {[round(100 * r['cycle'], 1) for r in rows if r['strategy'] == n]}" for n in names))
    if "gp" in med:
        for n in ("gp+ctx", "gp+hours", "gp+ctx-ml", "gp+ctx-vac", "gp+prior", "twin-prior"):
            if n in med:
                fewer = 1 - med[n]["runs"] / med["gp"]["runs"]
                ratio = med[n]["cycle"] / med["gp"]["cycle"] if med["gp"]["cycle"] > 0 else math.nan
                print(f"{n} against gp: {fewer:+.0%} fewer runs (target >= 30 %: "
                      f"{'met' if fewer >= 0.30 else 'NOT met'}); last-cycle excess ratio {ratio:.2f} "
                      f"(target <= 0.5: {'met' if ratio <= 0.5 else 'NOT met'})")
    secs = {n: sum(r["seconds"] for r in rows if r["strategy"] == n) for n in names}
    props = {n: sum(r["n"] for r in rows if r["strategy"] == n) for n in names}
    print("CPU seconds per strategy (per proposal): " + ", ".join(
        f"{n} {v:.0f} ({v / max(props[n], 1):.2f})" for n, v in secs.items())
        + f"; total wall {time.perf_counter() - t0:.0f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
