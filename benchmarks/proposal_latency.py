"""Proposal latency after 100 observations in 8 dimensions: one proposal and a batch of 4.

Ours: the ``gp`` strategy (one GP fit with hyper-parameter search; constant-liar lies told to a GP with the kernel
frozen at that fit). Baseline, in the same process and on the same data: scikit-optimize's own ``Optimizer``
(GP, EI, same acquisition settings), whose ``ask(n_points=4)`` refits the GP with a hyper-parameter search for
every lie; both with BLAS limited to one thread. Ours also fits with one hyper-parameter restart where skopt's
default GP uses two. Targets: one proposal <= 1 s, a batch of 4 <= 3 s.

``twin-prior`` with calibration inside the loop (the parameter selection, the importance-sampled posterior of the
twin's parameters and the ensemble of calibrated twins are all refitted for every proposal, as the runner rebuilds
the strategy): one proposal after ``--twin-observations`` runs (default 40) of the same space, against ``gp`` on
the same 40 runs. Target: <= 2 s.

``mobo`` on ``examples/campaigns/lipon_pareto.toml`` (8-D, 3 goals and 1 outcome constraint: five GP fits, the
failure model, exact EHVI): one proposal and a batch of 4 after ``--pareto-observations`` runs (default 60), the
fits included, and one proposal with the length-scale prior and the trust region off. Target: one proposal <= 2 s.

``twin-mobo`` on the same campaign after the same number of runs of a tool unlike its twin (10x its O- yield, each
run on a freshly vented tool): one proposal with the twin calibrated in the loop (the parameter profile, the joint
posterior, the leave-one-out check against the default twin: :mod:`campaigns.mobo_calibrate`), and without.
Target: <= 4 s (twice ``mobo``'s, an assumption: the calibration is worth a second or two per proposal when a run
takes hours).

    .venv/bin/python benchmarks/proposal_latency.py [--repeats 3]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
import warnings
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from campaigns import _skopt  # noqa: E402
from campaigns.config import CampaignConfig  # noqa: E402
from campaigns.strategies import context, make_strategy  # noqa: E402
from twin import Chamber, SimulatedTool  # noqa: E402


def observations(config: CampaignConfig, n: int, seed: int = 0, chamber: Chamber | None = None,
                 fresh: bool = False):
    """``n`` random recipes of the campaign's space run on the stochastic twin (or a tool of ``chamber``; with
    ``fresh``, each run on a freshly vented one), with their outcomes."""
    rng = np.random.default_rng(seed)
    chamber = Chamber() if chamber is None else chamber
    tool = SimulatedTool(chamber, seed=seed)
    recipes, outs = [], []
    for k, p in enumerate(config.space.sample(n, rng)):
        r = config.space.to_recipe(p)
        recipes.append(r)
        t = SimulatedTool(chamber, seed=seed, run_index=k) if fresh else tool
        outs.append(config.objective.evaluate(t.run(r).to_dict(), r.to_dict()))
    return recipes, outs


def time_ours(config, recipes, outs, n: int) -> float:
    strategy = make_strategy("gp", context(config, Chamber()))
    strategy.tell(recipes, outs)
    t = time.perf_counter()
    got = strategy.ask(n)
    dt = time.perf_counter() - t
    if len(got) != n or len({tuple(sorted(r.to_dict().items())) for r in got}) != n:
        raise RuntimeError("the batch does not hold n distinct recipes")
    return dt


def time_skopt(config, recipes, outs, n: int) -> float:
    s = make_strategy("gp", context(config, Chamber())).settings
    # skopt has no rule for failed runs: they are told at the worst successful score (our "worst" rule)
    worst = max(o.score for o in outs if not o.failed)
    xs = [config.space.to_point(r) for r in recipes]
    ys = [worst if o.failed else o.score for o in outs]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        opt = _skopt.Optimizer(_skopt.dimensions(config.space), base_estimator="GP", n_initial_points=0,
                               acq_func=s["acq_func"], random_state=1,
                               acq_optimizer_kwargs={"n_points": s["n_points"],
                                                     "n_restarts_optimizer": s["n_restarts_optimizer"]})
        # BLAS on one thread as in ours, so that the ratio measures the algorithm, not thread contention
        with _skopt._one_thread():
            t = time.perf_counter()
            opt.tell(xs, ys)  # the fit that any proposal needs, as in ours
            opt.ask() if n == 1 else opt.ask(n_points=n)
            return time.perf_counter() - t


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--campaign", type=Path, default=ROOT / "examples" / "campaigns" / "lipon_interface.toml")
    ap.add_argument("--observations", type=int, default=100)
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--twin-observations", type=int, default=40)
    ap.add_argument("--pareto-observations", type=int, default=60)
    args = ap.parse_args(argv)
    config = CampaignConfig.from_toml(args.campaign)
    recipes, outs = observations(config, args.observations)
    print(f"{args.observations} observations in {len(config.space)} dimensions "
          f"({sum(o.failed for o in outs)} failed); median of {args.repeats} repeats; ours with failure_penalty = "
          f"{make_strategy('gp', context(config, Chamber())).settings['failure_penalty']!r}")
    print(f"{'':<28}{'ours [s]':>10}{'skopt [s]':>11}{'ratio':>8}{'target':>9}")
    ok = True
    for n, target in ((1, 1.0), (4, 3.0)):
        ours = statistics.median(time_ours(config, recipes, outs, n) for _ in range(args.repeats))
        base = statistics.median(time_skopt(config, recipes, outs, n) for _ in range(args.repeats))
        ok &= ours <= target
        print(f"{'one proposal' if n == 1 else f'batch of {n} (constant liar)':<28}{ours:>10.2f}{base:>11.2f}"
              f"{base / ours:>7.1f}x{'<= ' + str(target):>9}  {'met' if ours <= target else 'NOT met'}")
    recipes, outs = observations(config, args.twin_observations)
    tp = statistics.median(time_strategy("twin-prior", config, recipes, outs) for _ in range(args.repeats))
    gp = statistics.median(time_strategy("gp", config, recipes, outs) for _ in range(args.repeats))
    ok &= tp <= 2.0
    print(f"twin-prior, calibration in the loop, after {args.twin_observations} runs: {tp:.2f} s per proposal "
          f"(gp on the same runs {gp:.2f} s, ratio {tp / gp:.1f}x; target <= 2 s: {'met' if tp <= 2.0 else 'NOT met'})")
    pareto = CampaignConfig.from_toml(ROOT / "examples" / "campaigns" / "lipon_pareto.toml")
    recipes, outs = observations(pareto, args.pareto_observations)
    one = statistics.median(time_strategy("mobo", pareto, recipes, outs) for _ in range(args.repeats))
    four = statistics.median(time_strategy("mobo", pareto, recipes, outs, n=4) for _ in range(args.repeats))
    old = statistics.median(time_strategy("mobo", pareto, recipes, outs, settings=MOBO_OLD_DEFAULTS)
                            for _ in range(args.repeats))
    ok &= one <= 2.0
    print(f"mobo, {len(pareto.objective.goals)} goals + {len(pareto.objective.constraints)} constraint, "
          f"{len(pareto.space)}-D, after {args.pareto_observations} runs: {one:.2f} s per proposal, {four:.2f} s per "
          f"batch of 4 (target <= 2 s: {'met' if one <= 2.0 else 'NOT met'}); without the length-scale prior and "
          f"the trust region: {old:.2f} s per proposal")
    base = Chamber()
    unlike = base.replace({O_MINUS: base.get(O_MINUS) * 10.0}, name="10x the twin's O- yield")
    recipes, outs = observations(pareto, args.pareto_observations, chamber=unlike, fresh=True)
    tm = statistics.median(time_strategy("twin-mobo", pareto, recipes, outs) for _ in range(args.repeats))
    tm0 = statistics.median(time_strategy("twin-mobo", pareto, recipes, outs, settings={"calibrate": False})
                            for _ in range(args.repeats))
    ok &= tm <= 4.0
    print(f"twin-mobo after {args.pareto_observations} runs of a tool with 10x the twin's O- yield: {tm:.2f} s per "
          f"proposal with the twin calibrated in the loop, {tm0:.2f} s without (calibrate = false); target <= 4 s "
          f"(twice mobo's): {'met' if tm <= 4.0 else 'NOT met'}")
    return 0 if ok else 1


O_MINUS = "energetics.o_minus_per_sputtered_o"

MOBO_OLD_DEFAULTS = {"length_scale_prior": False, "trust_region": False}
"""``mobo``'s settings before the prior and the trust region were its defaults: what they cost, measured."""


def time_strategy(name: str, config: CampaignConfig, recipes, outs, n: int = 1,
                  settings: dict | None = None) -> float:
    """One proposal of a strategy rebuilt from the observations (the fit included, as the runner does it); the
    twin's own optima and the parameter screening, cached per chamber and space, are warmed once first."""
    import dataclasses

    ctx = context(config, Chamber())
    if name != config.strategy:
        ctx = dataclasses.replace(ctx, settings={})
    if settings:
        ctx = dataclasses.replace(ctx, settings={**ctx.settings, **settings})
    make_strategy(name, ctx).ask(1)  # warm the per-chamber caches (the same for every proposal of a campaign)
    strategy = make_strategy(name, ctx)
    t = time.perf_counter()
    strategy.tell(recipes, outs)
    got = strategy.ask(n)
    dt = time.perf_counter() - t
    if len({tuple(sorted(r.to_dict().items())) for r in got}) != n:
        raise RuntimeError("the batch does not hold n distinct recipes")
    return dt


if __name__ == "__main__":
    sys.exit(main())
