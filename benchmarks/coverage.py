"""Honest uncertainty: how often a strategy's predictive interval holds the run it proposed, before it is told.

For each campaign (the default example's space and objective, on a stochastic simulated tool), every proposal's
predicted mean and standard deviation of the *measurement* (the strategy's ``predict``, what the store keeps and the
review shows) is compared with the score the run then measured: a held-out run, since the strategy had not seen it.
Failed runs have no score and are skipped. Targets (the issue): ±1σ holds 60–76 % of the runs, ±2σ 90–98 %
(a Gaussian holds 68 % and 95 %).

Tools: ``matched`` (the default chamber: the twin is right) and the mismatched realities of
``benchmarks/mismatch.py`` named with ``--realities``. Baseline in the same run: the model's own predictive
standard deviation before :mod:`campaigns.intervals` calibrates it on the campaign's track record. As the runner
does, each told outcome carries the model's own prediction from before it ran (``Outcome.predicted``).

The calibration's two constants (:data:`campaigns.intervals.PRIOR_RUNS`, ``HALF_LIFE_RUNS``) and its form were
chosen on seeds 0–7 of ``matched``, ``Li/P window +0.6`` and ``self-bias x3``; its robust model-free spread after a
defect seen on seeds 100–109 (``O- yield x30``). Judge it on seeds it has not seen (``--first-seed 200``) and other
``--realities``.

Run: ``.venv/bin/python benchmarks/coverage.py --seeds 10 --runs 30 --jobs 2 --first-seed 200``.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
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

from mismatch import CAMPAIGN, REALITIES, Reality, RealityTool  # noqa: E402

from campaigns import CampaignConfig  # noqa: E402
from campaigns.strategies import context, make_strategy  # noqa: E402
from twin import Chamber  # noqa: E402

MATCHED = Reality("close", "the default chamber itself")


def run(args: tuple) -> dict[str, Any]:
    reality_name, strategy, seed, n_runs = args
    reality = MATCHED if reality_name == "matched" else REALITIES[reality_name]
    cfg = CampaignConfig.from_toml(CAMPAIGN)
    tool = RealityTool(reality, seed)
    ctx = context(dataclasses.replace(cfg, seed=seed), Chamber())
    ctx = dataclasses.replace(ctx, settings=dict(cfg.strategy_settings) if strategy == "gp" else {})
    recipes, outcomes, z, z_own, record = [], [], [], [], []
    t0 = time.perf_counter()
    for _ in range(n_runs):
        s = make_strategy(strategy, ctx)
        if recipes:
            s.tell(recipes, outcomes)
        (recipe,) = s.ask(1)
        mean, std = s.predict([recipe])  # calibrated on the track record: what the store keeps
        own_mean, own_std = s.model_predictive([recipe])  # the model's own word
        out = tool.measure(recipe, cfg.objective)
        if np.isfinite(own_mean[0]) and own_std[0] > 0:  # the runner keeps this with the proposal
            out = dataclasses.replace(out, predicted=(float(own_mean[0]), float(own_std[0])))
        recipes.append(recipe)
        outcomes.append(out)
        record.append([None if out.failed else out.score, float(own_mean[0]), float(own_std[0])])
        if out.failed or out.score is None or not np.isfinite(mean[0]) or not std[0] > 0:
            continue
        n_ok_before = sum(1 for o in outcomes[:-1] if not o.failed)
        if n_ok_before < 2:  # no model yet (gp: its initial design)
            continue
        z.append((out.score - float(mean[0])) / float(std[0]))
        z_own.append((out.score - float(own_mean[0])) / float(own_std[0]))
    return {"reality": reality_name, "strategy": strategy, "seed": seed, "z": z, "z_own": z_own, "record": record,
            "seconds": time.perf_counter() - t0}


def _cover(z: list[float]) -> tuple[float, float, int]:
    a = np.abs(np.asarray(z, float))
    return (float(np.mean(a <= 1.0)), float(np.mean(a <= 2.0)), len(a)) if len(a) else (np.nan, np.nan, 0)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--seeds", type=int, default=10)
    p.add_argument("--first-seed", type=int, default=200, help="seeds first-seed … first-seed + seeds − 1")
    p.add_argument("--dump", default="", help="write every campaign's standardised errors to this JSON file")
    p.add_argument("--runs", type=int, default=30)
    p.add_argument("--jobs", type=int, default=1)
    p.add_argument("--realities", default="matched,Li/P window +0.6")
    p.add_argument("--strategies", default="gp,twin-prior")
    a = p.parse_args(argv)
    names = [n.strip() for n in a.realities.split(",") if n.strip()]
    for n in names:
        if n != "matched" and n not in REALITIES:
            p.error(f"--realities: unknown reality {n!r} (allowed: matched, {', '.join(REALITIES)})")
    strategies = [s.strip() for s in a.strategies.split(",") if s.strip()]
    seeds = range(a.first_seed, a.first_seed + a.seeds)
    jobs = [(n, s, seed, a.runs) for n in names for s in strategies for seed in seeds]
    t0 = time.perf_counter()
    if a.jobs > 1:
        with ProcessPoolExecutor(a.jobs) as ex:
            rows = list(ex.map(run, jobs, chunksize=1))
    else:
        rows = [run(j) for j in jobs]
    if a.dump:
        Path(a.dump).write_text(json.dumps(rows))
    print(f"coverage of held-out runs by the proposal's predictive interval ({a.seeds} seeds × {a.runs} runs; "
          f"space and objective of {Path(CAMPAIGN).name}); target ±1σ 60–76 %, ±2σ 90–98 %")
    print(f"{'tool':18s} {'strategy':11s} {'runs':>5s} {'±1σ':>7s} {'±2σ':>7s}   model's own σ: ±1σ  ±2σ")
    for n in names:
        for s in strategies:
            rr = [r for r in rows if r["reality"] == n and r["strategy"] == s]
            z = [v for r in rr for v in r["z"]]
            zl = [v for r in rr for v in r["z_own"]]
            c1, c2, k = _cover(z)
            b1, b2, _ = _cover(zl)
            base = f"{b1:19.0%} {b2:5.0%}"
            print(f"{n:18s} {s:11s} {k:5d} {c1:7.0%} {c2:7.0%}   {base}")
    all_z = {s: [v for r in rows if r["strategy"] == s for v in r["z"]] for s in strategies}
    for s, z in all_z.items():
        c1, c2, k = _cover(z)
        med = statistics.median(np.abs(z)) if z else float("nan")
        print(f"{'all':18s} {s:11s} {k:5d} {c1:7.0%} {c2:7.0%}   median |z| {med:.2f} (Gaussian: 0.67)")
    print(f"wall {time.perf_counter() - t0:.0f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
