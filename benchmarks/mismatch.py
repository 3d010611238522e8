"""Twin-reality mismatch: how fast each strategy finds a *different* tool's optimum, and how well calibration
on the runs made so far predicts that tool.

Realities are the default chamber with perturbed parameters (sticking coefficient ×3, damage coefficient ×0.5,
clean resistance ×1.3, leak rate ×5, deposition rate ×0.8 through the sputter yield, and a mix). Each campaign
runs on a stochastic :class:`twin.SimulatedTool` built on the reality (random events and 5 % log-normal
measurement noise on R_int), over the space and objective of ``examples/campaigns/lipon_interface.toml``, with:

* ``twin-prior``: its prior is the *default* chamber, i.e. the twin that does not match the tool;
* ``gp``: the settings of the example campaign (10 Latin-hypercube points, then EI);
* ``random``; and Optuna's TPE (seeded ``TPESampler``, the benchmark dependency).

A campaign counts the runs until its best recipe — the successful run with the lowest *measured* R_int, as the
campaign itself would report it — evaluated on the reality's deterministic twin is within 10 % of the reality's
own optimum. That optimum comes from a dense search of the reality's deterministic twin: ``--optimum-search``
random points (default 20 000), the best 16 polished by Nelder–Mead in the unit cube (best of all kept). A campaign
that does not get there within ``--budget`` runs is counted as ``budget + 1`` (shown as ">B").

Calibration check: after 15 runs of a campaign (``gp``'s and ``twin-prior``'s), the default chamber is calibrated
(:func:`campaigns.calibration.calibrate`, default parameter set) on the successful runs; it then predicts 20
held-out runs of the reality (random recipes of the same space on a fresh stochastic tool, in the chamber state
each was run in); the table gives the median relative error against the measured R_int, before and after.

Run: ``.venv/bin/python benchmarks/mismatch.py --jobs 2`` (defaults ``--seeds 10 --budget 40``; ``--jobs 2`` uses
two processes; ``--quick`` for a smoke run). ``--realities "Li/P window +0.65"`` (or ``extra``) runs the realities
whose optimum moves away from the twin's; ``--calib-parameters A,B`` calibrates other parameters (e.g. the Li/P
window, which the default set cannot mimic); ``--tolerances 0.10,0.02`` adds stricter tables.
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

from campaigns import CampaignConfig  # noqa: E402
from campaigns.calibration import calibrate, held_out_errors, measurements_from_queue  # noqa: E402
from campaigns.strategies import context, make_strategy  # noqa: E402
from campaigns.twin_prior import _Twin  # noqa: E402
from twin import Chamber, SimulatedTool, simulate_queue  # noqa: E402

CAMPAIGN = ROOT / "examples" / "campaigns" / "lipon_interface.toml"
BASE = Chamber()
REALITIES: dict[str, dict[str, float]] = {
    "sticking x3": {"contamination.sticking_coefficient": 3.0},
    "damage x0.5": {"interface.damage_coefficient": 0.5},
    "clean R x1.3": {"interface.clean_resistance_ohm_cm2": 1.3},
    "leak x5": {"events.leak_rate_per_h": 5.0},
    "rate x0.8": {"deposition.yield_q": 0.8},
    "mix": {"contamination.sticking_coefficient": 2.0, "interface.damage_coefficient": 0.7,
            "interface.clean_resistance_ohm_cm2": 1.15, "events.leak_rate_per_h": 3.0, "deposition.yield_q": 0.9},
}
"""Reality name → multipliers of default-chamber parameters (the issue's list)."""
EXTRA_REALITIES: dict[str, dict[str, float]] = {
    "Li/P window +0.65": {"interface.li_p_window_low": 3.15 / 2.5, "interface.li_p_window_high": 3.95 / 3.3},
    "Li/P window +0.85": {"interface.li_p_window_low": 3.35 / 2.5, "interface.li_p_window_high": 4.15 / 3.3},
}
"""Beyond the issue's list: realities whose optimum lies elsewhere (the default twin's optimum is 2.7x and 11x
worse there), to show what the GP on the discrepancy must do when the twin points the wrong way. Run with
``--realities extra``; not part of the "all" row of the issue's realities. The shifts follow the film model:
model 1.0.0's Li-poor films (Li/P 2.3-2.8) needed +0.15 and +0.4 for the same effect; since 1.1.0 the films
sit at 2.8-3.2 (``process_models/FACTS_film.md``)."""
STRATEGIES = ("twin-prior", "gp", "random", "tpe")


def reality(name: str) -> Chamber:
    factors = REALITIES.get(name) or EXTRA_REALITIES[name]
    return BASE.replace({k: BASE.get(k) * f for k, f in factors.items()}, name="reality")


def true_r(chamber: Chamber, recipe) -> float:
    """R_int of ``recipe`` on the deterministic twin of ``chamber`` (initial state) [Ω·cm²]."""
    return simulate_queue([recipe], chamber, deterministic=True, check=False)[0].interface_resistance_ohm_cm2


def optimum(name: str, cfg: CampaignConfig, n_search: int, also: Any = None) -> tuple[float, Any]:
    """Dense search of the reality's deterministic twin: (R_int at the optimum, its recipe); ``also`` (the default
    twin's optimum recipe) is kept if it is better on the reality than what the search found."""
    ch = reality(name)
    twin = _Twin(ch, cfg.space, cfg.objective, penalty=10.0)  # predicted failures are never the optimum
    (point, score), *_ = twin.optima(n_search, 16, seed=12345)
    recipe = cfg.space.to_recipe(point)
    if also is not None and true_r(ch, also) < true_r(ch, recipe) and not cfg.objective.evaluate(
            simulate_queue([also], ch, deterministic=True, check=False)[0].to_dict(), also.to_dict()).failed:
        recipe = also
    return true_r(ch, recipe), recipe


# -- one campaign ---------------------------------------------------------------------------------------------
class _Tpe:
    """Optuna TPE behind the same ask/tell as our strategies (benchmark only)."""

    def __init__(self, cfg: CampaignConfig, seed: int) -> None:
        import optuna

        optuna.logging.set_verbosity(optuna.logging.WARNING)
        self.cfg = cfg
        self.study = optuna.create_study(sampler=optuna.samplers.TPESampler(seed=seed))
        self.dists = {}
        for d in cfg.space.dimensions:
            if d.is_categorical:
                self.dists[d.name] = optuna.distributions.CategoricalDistribution(list(d.categories))
            else:
                self.dists[d.name] = optuna.distributions.FloatDistribution(d.low, d.high, log=d.log)
        self.trial = None

    def ask(self) -> Any:
        self.trial = self.study.ask(self.dists)
        return self.cfg.space.to_recipe([self.trial.params[d.name] for d in self.cfg.space.dimensions])

    def tell(self, outcome) -> None:
        import optuna

        if outcome.failed or outcome.score is None:
            self.study.tell(self.trial, state=optuna.trial.TrialState.FAIL)
        else:
            self.study.tell(self.trial, outcome.score)


def run_campaign(args: tuple) -> dict[str, Any]:
    """One campaign of ``strategy`` on reality ``name`` with ``seed``; stops once within every tolerance (after 15
    runs if the calibration check needs them). ``runs`` maps each tolerance to the runs it took."""
    name, strategy, seed, budget, r_opt, calib_after, tols, calib_params = args
    cfg = CampaignConfig.from_toml(CAMPAIGN)
    ch = reality(name)
    tool = SimulatedTool(ch, seed=seed)
    ctx = context(dataclasses.replace(cfg, seed=seed), BASE)
    if strategy == "gp":
        ctx = dataclasses.replace(ctx, settings=dict(cfg.strategy_settings))
    else:
        ctx = dataclasses.replace(ctx, settings={})
    tpe = _Tpe(cfg, seed) if strategy == "tpe" else None
    recipes, outcomes, results = [], [], []
    reached = dict.fromkeys(tols, budget + 1)
    best_value, best_recipe = math.inf, None
    t0 = time.perf_counter()
    for k in range(budget):
        if tpe is not None:
            recipe = tpe.ask()
        else:
            s = make_strategy(strategy, ctx)  # rebuilt from the observations, as the runner does
            if recipes:
                s.tell(recipes, outcomes)
            (recipe,) = s.ask(1)
        res = tool.run(recipe)
        out = cfg.objective.evaluate(res.to_dict(), recipe.to_dict())
        recipes.append(recipe)
        outcomes.append(out)
        results.append(res)
        if tpe is not None:
            tpe.tell(out)
        if not out.failed and out.value < best_value:
            best_value, best_recipe = out.value, recipe
        if best_recipe is not None:
            r_best = true_r(ch, best_recipe)
            for tol in tols:
                if reached[tol] > budget and r_best <= (1.0 + tol) * r_opt:
                    reached[tol] = k + 1
        if max(reached.values()) <= budget and k + 1 >= calib_after:
            break
    calib, after = None, None
    if calib_after and len(results) >= calib_after:
        *calib, calibrated = calibration_check(ch, results[:calib_after], seed, calib_params)
        if strategy == "gp":
            after = continue_with(calibrated, ch, seed, r_opt, tols[0], budget=15)
    return {"reality": name, "strategy": strategy, "seed": seed, "runs": reached, "n": len(recipes),
            "seconds": time.perf_counter() - t0, "calib": calib, "after": after}


def continue_with(prior: Chamber, ch: Chamber, seed: int, r_opt: float, tol: float, budget: int) -> int:
    """Runs a new ``twin-prior`` campaign whose prior is the calibrated chamber needs to get within ``tol`` of the
    reality's optimum (``budget + 1`` if it does not)."""
    cfg = CampaignConfig.from_toml(CAMPAIGN)
    tool = SimulatedTool(ch, seed=seed + 20_000)
    ctx = dataclasses.replace(context(dataclasses.replace(cfg, seed=seed), prior), settings={})
    recipes, outcomes = [], []
    best_value, best_recipe = math.inf, None
    for k in range(budget):
        s = make_strategy("twin-prior", ctx)
        if recipes:
            s.tell(recipes, outcomes)
        (recipe,) = s.ask(1)
        out = cfg.objective.evaluate(tool.run(recipe).to_dict(), recipe.to_dict())
        recipes.append(recipe)
        outcomes.append(out)
        if not out.failed and out.value < best_value:
            best_value, best_recipe = out.value, recipe
        if best_recipe is not None and true_r(ch, best_recipe) <= (1.0 + tol) * r_opt:
            return k + 1
    return budget + 1


def calibration_check(ch: Chamber, results, seed: int, params: tuple[str, ...] | None) -> tuple:
    """(median error before, after, runs used, calibrated chamber) of the default chamber calibrated on
    ``results``."""
    cfg = CampaignConfig.from_toml(CAMPAIGN)
    runs = measurements_from_queue(results, BASE)
    fit = calibrate(runs, BASE, params, profile=False)
    rng = np.random.default_rng([seed, 77])
    held_tool = SimulatedTool(ch, seed=seed + 10_000)
    held_res = [held_tool.run(cfg.space.to_recipe(p)) for p in cfg.space.sample(20, rng)]
    held = measurements_from_queue(held_res, BASE)
    return (float(np.median(held_out_errors(BASE, held))), float(np.median(held_out_errors(fit.chamber, held))),
            len(runs), fit.chamber)


# -- tables ---------------------------------------------------------------------------------------------------
def _med(values: list[int], budget: int) -> str:
    m = statistics.median(values)
    return f">{budget}" if m > budget else f"{m:g}"


def _runs_table(rows: list[dict[str, Any]], names: list[str], strategies: list[str], tol: float, seeds: int,
               budget: int) -> None:
    print()
    print(f"runs until the campaign's best recipe is within {tol:.0%} of the reality's optimum "
          f"(median over {seeds} seeds; budget {budget}, '>B' = not reached)")
    print(f"{'reality':16s} " + " ".join(f"{s:>11s}" for s in strategies) + "   twin-prior/gp")
    all_runs: dict[str, list[int]] = {s: [] for s in strategies}
    for n in names:
        meds = {}
        for s in strategies:
            vals = [r["runs"][tol] for r in rows if r["reality"] == n and r["strategy"] == s]
            if n in REALITIES:
                all_runs[s] += vals
            meds[s] = statistics.median(vals)
        ratio = (f"{meds['twin-prior'] / meds['gp']:.2f}" if "gp" in meds and "twin-prior" in meds else "")
        print(f"{n:16s} " + " ".join(f"{_med([meds[s]], budget):>11s}" for s in strategies) + f"   {ratio}")
    if any(n in REALITIES for n in names):
        print(f"{'all':16s} " + " ".join(f"{_med(all_runs[s], budget):>11s}" for s in strategies)
              + "   (the issue's realities above)")
    per_seed = {s: sorted(all_runs[s] or [r["runs"][tol] for r in rows if r["strategy"] == s]) for s in strategies}
    print("per-seed runs: " + "; ".join(f"{s}: {v}" for s, v in per_seed.items()))


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--seeds", type=int, default=10)
    p.add_argument("--budget", type=int, default=40)
    p.add_argument("--jobs", type=int, default=1)
    p.add_argument("--optimum-search", type=int, default=20000)
    p.add_argument("--realities", default=",".join(REALITIES), help="comma-separated names, or 'extra'")
    p.add_argument("--tolerances", default="0.10", help="comma-separated relative distances to the optimum "
                                                         "(default 0.10: within 10 %%)")
    p.add_argument("--strategies", default=",".join(STRATEGIES))
    p.add_argument("--calib-parameters", default="", help="comma-separated parameters to calibrate (default: "
                                                          "campaigns.calibration.DEFAULT_PARAMETERS)")
    p.add_argument("--quick", action="store_true", help="3 seeds, budget 20, small optimum search")
    a = p.parse_args(argv)
    if a.quick:
        a.seeds, a.budget, a.optimum_search = 3, 20, 4000
    names = [n.strip() for n in a.realities.split(",") if n.strip()]
    if names == ["extra"]:
        names = list(EXTRA_REALITIES)
    for n in names:
        if n not in REALITIES and n not in EXTRA_REALITIES:
            p.error(f"--realities: unknown reality {n!r} (allowed: {', '.join([*REALITIES, *EXTRA_REALITIES])})")
    strategies = [s.strip() for s in a.strategies.split(",") if s.strip()]
    tols = tuple(float(t) for t in a.tolerances.split(","))
    calib_params = tuple(x.strip() for x in a.calib_parameters.split(",") if x.strip()) or None
    cfg = CampaignConfig.from_toml(CAMPAIGN)
    t0 = time.perf_counter()
    optima = {}
    print(f"realities: default chamber with perturbed parameters; space and objective of {CAMPAIGN.name}")
    print(f"{'reality':16s} {'R* [Ω·cm²]':>11s} {'default twin at its own optimum':>32s}  reality optimum recipe")
    base_r, base_recipe = optimum_base(cfg, a.optimum_search)
    for n in names:
        r_opt, rec = optimum(n, cfg, a.optimum_search, also=base_recipe)
        optima[n] = r_opt
        twin_guess = true_r(reality(n), base_recipe)
        print(f"{n:16s} {r_opt:11.3f} {twin_guess:22.3f} ({twin_guess / r_opt - 1:+.1%})  "
              f"P={rec.rf_power_w:.0f} W, seed {rec.seed_thickness_nm:.1f} nm @ {rec.seed_power_w:.0f} W, "
              f"p={rec.pressure_pa:.2f} Pa, N2={rec.n2_fraction:.2f}, d={rec.target_substrate_distance_mm:.0f} mm, "
              f"pump {rec.pumpdown_min:.0f} min, anneal {rec.anneal_min:.0f} min")
    print(f"(default chamber's own optimum {base_r:.3f} Ω·cm²; search took {time.perf_counter() - t0:.0f} s)")
    jobs = []
    for n in names:
        for s in strategies:
            for seed in range(a.seeds):
                calib_after = 15 if s in ("gp", "twin-prior") else 0
                jobs.append((n, s, seed, a.budget, optima[n], calib_after, tols, calib_params))
    if a.jobs > 1:
        with ProcessPoolExecutor(a.jobs) as ex:
            rows = list(ex.map(run_campaign, jobs))
    else:
        rows = [run_campaign(j) for j in jobs]
    for tol in tols:
        _runs_table(rows, names, strategies, tol, a.seeds, a.budget)
    calib_rows = [r for r in rows if r["calib"] is not None]
    if calib_rows:
        print()
        print("calibrated twin (default chamber fitted on a campaign's first 15 runs) predicting 20 held-out runs "
              "of the reality: median relative error of R_int")
        print(f"{'reality':16s} {'runs of':>10s} {'before':>8s} {'after':>8s}   (median over seeds)")
        for n in names:
            for s in ("twin-prior", "gp"):
                c = [r["calib"] for r in calib_rows if r["reality"] == n and r["strategy"] == s]
                if c:
                    print(f"{n:16s} {s:>10s} {statistics.median(x[0] for x in c):8.1%} "
                          f"{statistics.median(x[1] for x in c):8.1%}")
        for s in ("twin-prior", "gp"):
            c = [r["calib"][1] for r in calib_rows if r["strategy"] == s and r["reality"] in REALITIES]
            if c:
                print(f"{'all':16s} {s:>10s} {'':8s} {statistics.median(c):8.1%}")
    after_rows = [r for r in rows if r.get("after") is not None]
    if after_rows:
        print()
        print(f"a new twin-prior campaign whose prior is the chamber calibrated on gp's first 15 runs: runs until "
              f"within {tols[0]:.0%} of the reality's optimum (median over seeds; budget 15)")
        for n in names:
            vals = [r["after"] for r in after_rows if r["reality"] == n]
            if vals:
                print(f"{n:16s} {_med(vals, 15):>6s}   per seed {sorted(vals)}")
    secs = {s: sum(r["seconds"] for r in rows if r["strategy"] == s) for s in strategies}
    print()
    print("CPU seconds per strategy: " + ", ".join(f"{s} {v:.0f}" for s, v in secs.items())
          + f"; total wall {time.perf_counter() - t0:.0f} s")
    return 0


def optimum_base(cfg: CampaignConfig, n_search: int) -> tuple[float, Any]:
    twin = _Twin(BASE, cfg.space, cfg.objective, penalty=10.0)
    (point, _), *_ = twin.optima(n_search, 16, seed=12345)
    recipe = cfg.space.to_recipe(point)
    return true_r(BASE, recipe), recipe


if __name__ == "__main__":
    sys.exit(main())
