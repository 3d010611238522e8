"""Speed of the twin on one core, against a bare simpy process of the same shape run in the same process.

Targets (issue 2): simulate() without telemetry ≥ 1,000 runs/s stochastic and ≥ 3,000 runs/s deterministic;
a queue of 1,000 runs in ≤ 1.5 s; a one-hour run's telemetry within a few MB.

    .venv/bin/python benchmarks/twin_speed.py [--repeat 3]
"""

from __future__ import annotations

import argparse
import os
import time

import numpy as np
import simpy

from twin import Recipe, simulate, simulate_queue

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
    ok = sto >= 1000 and det >= 3000 and queue_s <= 1.5 and mb < 5
    print("all targets met" if ok else "TARGET MISSED")


def _timed(fn) -> float:
    t0 = time.perf_counter()
    fn()
    return time.perf_counter() - t0


if __name__ == "__main__":
    main()
