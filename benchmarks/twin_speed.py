"""Speed of the twin on one core, against a bare simpy process of the same shape run in the same process.

Targets (issue 2): simulate() without telemetry ≥ 1,000 runs/s stochastic and ≥ 3,000 runs/s deterministic;
a queue of 1,000 runs in ≤ 1.5 s; a one-hour run's telemetry within a few MB. Twin-informed optimisation: the
vectorised deterministic twin (``twin.expected_outcomes``) ≥ 100,000 evaluations/s, against the per-run loop of
``simulate(deterministic=True)`` on the same random recipes in the same process (and M parameter sets × N recipes
in one call, as calibration evaluates them).

    .venv/bin/python benchmarks/twin_speed.py [--repeat 3] [-n 3000] [--batch 100000] [--sets 20]
"""

from __future__ import annotations

import argparse
import os
import time

import numpy as np
import simpy

from twin import Chamber, Recipe, expected_outcomes, simulate, simulate_queue
from twin.batch import OUTCOMES

RECIPE = Recipe(seed_power_w=30.0, seed_thickness_nm=5.0)


def bare_simpy_run(seed: int) -> float:
    """The DES skeleton alone: a dozen steps and three Poisson event sources, no physics."""
    rng = np.random.default_rng(seed)
    env = simpy.Environment()
    counts = [0, 0, 0]

    def run():
        for dt in (14400.0, 300.0, 60.0, 1200.0, 120.0, 300.0, 2400.0, 600.0, 60.0, 60.0, 300.0, 300.0):
            yield env.timeout(dt)

    def source(i, rate):
        while True:
            yield env.timeout(rng.exponential(1.0 / rate))
            counts[i] += 1

    proc = env.process(run())
    for i, rate in enumerate((1.0 / 3600, 0.3 / 3600, 0.5 / 3600)):
        env.process(source(i, rate))
    env.run(until=proc)
    return env.now


def random_columns(n: int, seed: int = 0) -> dict[str, np.ndarray]:
    """``n`` random recipes inside the default tool's limits, as columns: seed layer or none, anneal or none,
    vacuum or air."""
    rng = np.random.default_rng(seed)
    lim, area = Chamber().limits, Chamber().geometry.target_area_cm2
    thick = rng.uniform(20.0, 500.0, n)
    air = rng.random(n) < 0.3
    return {
        "target_thickness_nm": thick, "rf_power_w": rng.uniform(lim.min_power_w, lim.max_power_density_w_cm2 * area, n),
        "seed_power_w": rng.uniform(lim.min_power_w, 100.0, n),
        "seed_thickness_nm": np.where(rng.random(n) < 0.5, 0.0, rng.uniform(0.0, 10.0, n)),
        "pressure_pa": rng.uniform(lim.min_pressure_pa, lim.max_pressure_pa, n), "n2_fraction": rng.random(n),
        "target_substrate_distance_mm": rng.uniform(lim.min_distance_mm, lim.max_distance_mm, n),
        "substrate_temperature_c": rng.uniform(25.0, 300.0, n), "presputter_min": rng.uniform(0.0, 30.0, n),
        "pumpdown_min": rng.uniform(10.0, 600.0, n), "transfer": np.where(air, "air", "vacuum").astype(object),
        "air_exposure_min": np.where(air, rng.uniform(0.0, 60.0, n), 0.0),
        "anneal_temperature_c": rng.uniform(100.0, 300.0, n),
        "anneal_min": np.where(rng.random(n) < 0.5, 0.0, rng.uniform(1.0, 120.0, n)),
    }


def batch_rows(n_loop: int, n_batch: int, n_sets: int, repeat: int) -> list[tuple[str, str, str, str]]:
    """The vectorised deterministic twin against the per-run loop, on the same random recipes."""
    cols = random_columns(n_batch)
    recipes = [Recipe(**{k: (str(v[i]) if k == "transfer" else float(v[i])) for k, v in cols.items()})
               for i in range(n_loop)]
    loop = rate(lambda i: simulate(recipes[i], deterministic=True), n_loop, repeat)
    vec = max(n_batch / _timed(lambda: expected_outcomes(cols)) for _ in range(repeat))
    vec_recipes = max(n_loop / _timed(lambda: expected_outcomes(recipes)) for _ in range(repeat))
    per_set = max(n_batch // n_sets, 1)
    sub = {k: np.tile(v[:per_set], n_sets) for k, v in cols.items()}
    draws = np.random.default_rng(1).uniform(0.5, 2.0, (3, n_sets))
    params = {name: np.repeat(draws[j] * Chamber().get(name), per_set)
              for j, name in enumerate(("interface.damage_coefficient", "deposition.yield_q",
                                        "contamination.sticking_coefficient"))}
    sets = max(per_set * n_sets / _timed(lambda: expected_outcomes(sub, params=params)) for _ in range(repeat))
    # the same numbers: every outcome of the loop's runs against the batch
    res = expected_outcomes(recipes)
    worst = 0.0
    for i, r in enumerate(recipes):
        des = simulate(r, deterministic=True)
        for name in OUTCOMES:
            if hasattr(des, name):
                a, b = getattr(des, name), res.outcomes[name][i]
                worst = max(worst, abs(a - b) / max(abs(a), 1e-300))
    return [
        ("deterministic, per-run loop (baseline)", f"{loop:,.0f} runs/s", "1.00×", f"{n_loop:,} recipes"),
        ("deterministic, vectorised columns", f"{vec:,.0f} runs/s", f"{vec / loop:.1f}×",
         f"{n_batch:,} recipes; target ≥ 100,000 runs/s"),
        ("deterministic, vectorised Recipe list", f"{vec_recipes:,.0f} runs/s", f"{vec_recipes / loop:.1f}×",
         f"{n_loop:,} Recipe objects"),
        (f"{n_sets} parameter sets × {per_set:,} recipes", f"{sets:,.0f} runs/s", f"{sets / loop:.1f}×",
         "3 parameters varied per set"),
        ("max relative difference, batch vs loop", f"{worst:.1e}", "", "every float outcome"),
    ], vec


def rate(fn, n: int, repeat: int) -> float:
    best = 0.0
    for _ in range(repeat):
        t0 = time.perf_counter()
        for i in range(n):
            fn(i)
        best = max(best, n / (time.perf_counter() - t0))
    return best


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("-n", type=int, default=3000)
    ap.add_argument("--batch", type=int, default=100_000, help="recipes in one vectorised call")
    ap.add_argument("--sets", type=int, default=20, help="parameter sets in the M × N call")
    args = ap.parse_args()
    if hasattr(os, "sched_setaffinity"):
        os.sched_setaffinity(0, {sorted(os.sched_getaffinity(0))[0]})  # one core
    n = args.n
    base = rate(bare_simpy_run, n, args.repeat)
    sto = rate(lambda i: simulate(RECIPE, seed=i), n, args.repeat)
    det = rate(lambda i: simulate(RECIPE, deterministic=True), n, args.repeat)
    queue_s = min(_timed(lambda: simulate_queue([RECIPE] * 1000, seed=1)) for _ in range(args.repeat))
    tel = simulate(Recipe(pumpdown_min=60.0), seed=1, telemetry=True)
    mb = tel.telemetry.memory_usage(deep=True).sum() / 1e6
    rows = [
        ("bare simpy, same shape (baseline)", f"{base:,.0f} runs/s", "1.00×", ""),
        ("simulate() stochastic", f"{sto:,.0f} runs/s", f"{sto / base:.2f}×", "target ≥ 1,000 runs/s"),
        ("simulate() deterministic", f"{det:,.0f} runs/s", f"{det / base:.2f}×", "target ≥ 3,000 runs/s"),
        ("queue of 1,000 runs", f"{queue_s:.3f} s", f"{(1000 / queue_s) / base:.2f}×", "target ≤ 1.5 s"),
        ("telemetry, 1 h deposition + 1 h pump-down", f"{mb:.2f} MB, {len(tel.telemetry):,} rows", "",
         "target: a few MB"),
    ]
    print(f"twin speed on one core, best of {args.repeat} × {n} runs (ratios against the bare simpy baseline)")
    for r in rows:
        print(f"  {r[0]:<44}{r[1]:>26}{r[2]:>8}   {r[3]}")
    brows, vec = batch_rows(n, args.batch, args.sets, args.repeat)
    print("vectorised deterministic twin (ratios against the per-run loop)")
    for r in brows:
        print(f"  {r[0]:<44}{r[1]:>26}{r[2]:>8}   {r[3]}")
    ok = sto >= 1000 and det >= 3000 and queue_s <= 1.5 and mb < 5 and vec >= 100_000
    print("all targets met" if ok else "TARGET MISSED")


def _timed(fn) -> float:
    t0 = time.perf_counter()
    fn()
    return time.perf_counter() - t0


if __name__ == "__main__":
    main()
