"""Sample efficiency of campaign strategies: runs until the campaign's best recipe is within a tolerance of the
twin's optimum.

For each seed and strategy a campaign runs on the *stochastic* twin (the simulated tool seeded with the campaign
seed, as ``campaign run`` does, but every run starting from the chamber's initial state: see :func:`fresh_tool`).
After every run the best recipe so far — the one with the best *measured* objective, as a person would pick it — is
evaluated on the *deterministic* twin; the count is the first run at
which that value is within ``--tolerance`` (default 10 %) of the twin's optimum over the same space. For ``gp`` a
second row, ``gp:rec``, counts the same for the run its model recommends (the lowest posterior mean among the runs
made, as ``campaign status`` shows it beside the best measured run).

The optimum comes from a dense global search on the deterministic twin: scipy's ``differential_evolution``
(popsize 20 per dimension, up to 150 generations, L-BFGS polish, ``--de-restarts`` seeds) over the unit cube of
the campaign's space, together with a 2^13-point Sobol screen; the best of all is the optimum.

Campaigns (``--campaign``, repeatable): by default both examples, ``lipon_interface.toml`` (R_int alone) and
``lipon_throughput.toml`` (R_int + 0.25 Ω·cm² per hour of process time). For each the benchmark prints the share
of the space within the target, and what that share allows: the first ``n_initial`` runs of ``gp`` are a
space-filling design, each about as likely to land within the target as a random run, so where random search
needs only a few runs no strategy that starts with such a design can need a third as many.

Strategies: ``gp`` and ``random`` (this package, through the same Strategy protocol the runner uses), Optuna's
TPE (``TPESampler``; failed runs are told as FAIL, Optuna's own handling; Optuna is a benchmark dependency only),
and, when PyTorch and BoTorch are installed by hand, BoTorch's standard GP loop as an outside reference
(``botorch``: see ``benchmarks/_botorch_reference.py``; skipped with a note otherwise).

    .venv/bin/python benchmarks/campaign_efficiency.py [--seeds 10] [--tolerance 0.1] [--campaign FILE ...]
        [--strategies gp,random,tpe,botorch] [--set failure_penalty=worst]
"""

from __future__ import annotations

import argparse
import math
import statistics
import sys
import time
from pathlib import Path

import numpy as np
from scipy.optimize import differential_evolution
from scipy.stats import qmc

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import _botorch_reference  # noqa: E402

from campaigns.config import CampaignConfig  # noqa: E402
from campaigns.strategies import context, make_strategy  # noqa: E402
from twin import Chamber, Recipe, SimulatedTool, simulate  # noqa: E402


class Twin:
    """The deterministic twin's objective over the campaign's space (failed runs → +inf), cached."""

    def __init__(self, config: CampaignConfig, chamber: Chamber) -> None:
        self.config, self.chamber = config, chamber
        self.cache: dict[tuple, float] = {}
        self.evaluations = 0

    def recipe_value(self, recipe: Recipe) -> float:
        key = tuple(sorted(recipe.to_dict().items()))
        if key not in self.cache:
            self.evaluations += 1
            res = simulate(recipe, self.chamber, deterministic=True)
            o = self.config.objective.evaluate(res.to_dict(), recipe.to_dict())
            self.cache[key] = math.inf if o.failed else float(o.value)
        return self.cache[key]

    def unit_value(self, u: np.ndarray) -> float:
        v = self.recipe_value(self.config.space.to_recipe(self.config.space.from_unit_cube(u)[0]))
        return v if math.isfinite(v) else 1e6


def twin_optimum(twin: Twin, restarts: int) -> tuple[float, Recipe]:
    space = twin.config.space
    d = len(space)
    sob = qmc.Sobol(d, seed=0).random_base2(13)
    vals = [twin.unit_value(u) for u in sob]
    best_u, best_v = sob[int(np.argmin(vals))], float(min(vals))
    for s in range(restarts):
        res = differential_evolution(twin.unit_value, [(0.0, 1.0)] * d, seed=s, popsize=20, maxiter=150, tol=1e-8,
                                     polish=True)
        if res.fun < best_v:
            best_u, best_v = res.x, float(res.fun)
    return best_v, space.to_recipe(space.from_unit_cube(best_u)[0])


def fresh_tool(chamber: Chamber, seed: int, run_index: int) -> SimulatedTool:
    """Run ``run_index`` of the seed's random stream, on the chamber's initial state.

    A campaign's tool normally carries the chamber state over (the walls dry out for hours after a vent, the
    target erodes), so its objective drifts from run to run; here every run starts from the same state so that a
    measured value is the deterministic twin's plus noise and random events, and the optimum is a fixed target.
    """
    return SimulatedTool(chamber, seed=seed, run_index=run_index)


def run_ours(name: str, config: CampaignConfig, chamber: Chamber, seed: int, twin: Twin, target: float,
             cap: int, overrides: dict | None = None) -> tuple[int | None, int | None]:
    """Runs until the best measured recipe is within target on the deterministic twin, and runs until the
    recommended one is (the run the strategy's model rates best, as ``campaign status`` shows it:
    :func:`campaigns.runner.recommended_trial`; None for a strategy without a model). None: not within cap."""
    settings = {**config.strategy_settings, **(overrides or {})} if name == config.strategy else {}
    cfg = config.__class__(**{**config.__dict__, "seed": seed, "strategy": name, "strategy_settings": settings})
    strategy = make_strategy(name, context(cfg, chamber))
    has_model = hasattr(strategy, "predict")
    best_meas, best_recipe = math.inf, None
    ran: list[Recipe] = []
    n_meas = n_rec = None
    for n in range(1, cap + 1):
        (recipe,) = strategy.ask(1)
        res = fresh_tool(chamber, seed, n - 1).run(recipe)
        o = cfg.objective.evaluate(res.to_dict(), recipe.to_dict())
        strategy.tell([recipe], [o])
        if not o.failed:
            ran.append(recipe)
            if o.value < best_meas:
                best_meas, best_recipe = o.value, recipe
        if n_meas is None and best_recipe is not None and twin.recipe_value(best_recipe) <= target:
            n_meas = n
        if has_model and n_rec is None and len(ran) >= 2:
            mean, _ = strategy.predict(ran)
            if np.isfinite(mean).all() and twin.recipe_value(ran[int(np.argmin(mean))]) <= target:
                n_rec = n
        if n_meas is not None and (n_rec is not None or not has_model):
            break
    return n_meas, n_rec


def run_tpe(config: CampaignConfig, chamber: Chamber, seed: int, twin: Twin, target: float, cap: int) -> int | None:
    import optuna
    from optuna.trial import TrialState

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    study = optuna.create_study(sampler=optuna.samplers.TPESampler(seed=seed), direction="minimize")
    space = config.space
    best_meas, best_recipe = math.inf, None
    for n in range(1, cap + 1):
        trial = study.ask()
        point = [trial.suggest_categorical(d.name, list(d.categories)) if d.is_categorical
                 else trial.suggest_float(d.name, d.low, d.high, log=d.log) for d in space.dimensions]
        recipe = space.to_recipe(point)
        res = fresh_tool(chamber, seed, n - 1).run(recipe)
        o = config.objective.evaluate(res.to_dict(), recipe.to_dict())
        if o.failed:
            study.tell(trial, state=TrialState.FAIL)
        else:
            study.tell(trial, o.score)
            if o.value < best_meas:
                best_meas, best_recipe = o.value, recipe
        if best_recipe is not None and twin.recipe_value(best_recipe) <= target:
            return n
    return None


def design_bound(share: float, n_initial: int) -> tuple[float, float]:
    """Median runs of random search for a target that covers ``share`` of the space, and the probability that a
    strategy whose first ``n_initial`` runs are a space-filling design has reached it by a third of that median
    (NaN when a third of the median lies beyond the design, where the model decides).

    Each design point lands in the target with probability about ``share``, so by run ``k <= n_initial`` the
    design has reached it with probability ``1 - (1 - share)^k``; a median at ``k`` needs that to be >= 0.5.
    """
    if share <= 0:
        return math.inf, 0.0
    random_median = math.log(0.5) / math.log1p(-share) if share < 1 else 1.0
    k = max(1, math.floor(random_median / 3))
    if k > n_initial:
        return random_median, math.nan
    return random_median, 1 - (1 - share) ** k


def bench_campaign(path: Path, args: argparse.Namespace) -> None:
    chamber = Chamber()
    config = CampaignConfig.from_toml(path, chamber)
    twin = Twin(config, chamber)
    t0 = time.perf_counter()
    opt, opt_recipe = twin_optimum(twin, args.de_restarts)
    target = opt * (1 + args.tolerance)
    print(f"\n=== campaign {path.name}: {len(config.space)} dimensions; twin optimum {opt:.4f} "
          f"({twin.evaluations} deterministic evaluations, {time.perf_counter() - t0:.0f} s; Sobol 2^13 + "
          f"differential_evolution x{args.de_restarts}); target <= {target:.4f} ({args.tolerance:.0%})")
    print("optimum recipe: " + ", ".join(f"{k} = {v:.4g}" if isinstance(v, float) else f"{k} = {v}"
                                         for k, v in opt_recipe.to_dict().items() if k in config.space.names))
    rng = np.random.default_rng(0)
    u = rng.random((4000, len(config.space)))
    share = float(np.mean([twin.unit_value(x) <= target for x in u]))
    n_init = int(config.strategy_settings.get("n_initial", 10))
    r_med, p_by = design_bound(share, n_init)
    print(f"share of the space (4000 uniform points) within target: {share:.4f}; random search's median "
          f"~{r_med:.1f} runs")
    if math.isfinite(p_by):
        print(f"  a third of that is {max(1, math.floor(r_med / 3))} run(s), all inside gp's {n_init}-point "
              f"initial design, which reaches the target by then with probability ~{p_by:.2f} (< 0.5: no strategy "
              "starting with that design can have a median a third of random's here)" if p_by < 0.5 else
              f"  a third of that is {max(1, math.floor(r_med / 3))} run(s); by then the initial design alone "
              f"reaches the target with probability ~{p_by:.2f}")

    rows: dict[str, tuple[list[int | None], float]] = {}
    recommended: list[int | None] = []
    for name in args.strategies.split(","):
        if name == "botorch" and (why := _botorch_reference.missing()):
            print(f"botorch: skipped, {why}")
            continue
        counts, t1 = [], time.perf_counter()
        for seed in range(args.seeds):
            if name == "tpe":
                n = run_tpe(config, chamber, seed, twin, target, args.cap)
            elif name == "botorch":
                n = _botorch_reference.run_botorch(config, chamber, seed, twin.recipe_value, target, args.gp_cap,
                                                   fresh_tool, n_init)
            else:
                n, n_rec = run_ours(name, config, chamber, seed, twin, target,
                                    args.gp_cap if name == "gp" else args.cap, args.set)
                if name == "gp":
                    recommended.append(n_rec)
            counts.append(n)
            print(f"  {path.stem} {name:<7} seed {seed:>2}: {n if n is not None else '>cap'}", file=sys.stderr)
        rows[name] = (counts, time.perf_counter() - t1)
        if recommended:
            rows["gp:rec"] = (recommended, 0.0)

    print(f"\n{'strategy':<9}{'median':>8}{'mean':>8}{'min':>6}{'max':>6}{'reached':>9}  runs per seed "
          "(censored at the cap: counted as the cap)")
    for name, (counts, dt) in rows.items():
        cap = args.gp_cap if name in ("gp", "gp:rec", "botorch") else args.cap
        vals = [c if c is not None else cap for c in counts]
        reached = sum(c is not None for c in counts)
        print(f"{name:<9}{statistics.median(vals):>8.1f}{statistics.mean(vals):>8.1f}{min(vals):>6}{max(vals):>6}"
              f"{reached:>6}/{len(vals):<3}  {vals}  ({dt:.0f} s)")
    if "gp" in rows and "random" in rows:
        g = statistics.median([c or args.gp_cap for c in rows["gp"][0]])
        r = statistics.median([c or args.cap for c in rows["random"][0]])
        print(f"\n{path.name}: gp median {g:.1f} runs (target <= 25): {'met' if g <= 25 else 'NOT met'}; "
              f"gp/random = {g / r:.2f} (target <= 0.33): {'met' if g <= r / 3 else 'NOT met'}")
        print("  (gp:rec counts runs until the recommended run, the one gp's model rates best, is within the target; "
              "the others, and the targets, use the best measured run)")


def _setting(text: str) -> tuple[str, object]:
    key, sep, value = text.partition("=")
    if not sep:
        raise SystemExit(f"--set {text!r}: expected KEY=VALUE")
    for kind in (int, float):
        try:
            return key, kind(value)
        except ValueError:
            pass
    return key, value


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--campaign", type=Path, action="append",
                    help="campaign file (repeatable; default: both example campaigns)")
    ap.add_argument("--seeds", type=int, default=10)
    ap.add_argument("--tolerance", type=float, default=0.10)
    ap.add_argument("--strategies", default="gp,random,tpe,botorch")
    ap.add_argument("--cap", type=int, default=150, help="most runs per campaign (random and TPE)")
    ap.add_argument("--gp-cap", type=int, default=60, help="most runs per gp (and botorch) campaign")
    ap.add_argument("--de-restarts", type=int, default=2)
    ap.add_argument("--set", action="append", default=[], metavar="KEY=VALUE",
                    help="override a setting of the campaign's own strategy (repeatable), e.g. failure_penalty=worst")
    args = ap.parse_args(argv)
    args.set = dict(_setting(kv) for kv in args.set)
    campaigns = args.campaign or [ROOT / "examples" / "campaigns" / "lipon_interface.toml",
                                  ROOT / "examples" / "campaigns" / "lipon_throughput.toml"]
    for path in campaigns:
        bench_campaign(path, args)
    return 0


if __name__ == "__main__":
    sys.exit(main())
