"""How far the example's measurements drift from ``benchmarks/pareto.py``'s truth over a campaign.

``benchmarks/pareto.py`` scores the recipes of the example's measured front by the deterministic twin with the
chamber vented for the run (``Chamber()``'s initial state). With ``--carry-over`` (its default until 2026-12-02) it
runs ``examples/campaigns/lipon_pareto.toml`` on one stochastic tool per seed, whose chamber state carries over from
run to run (the walls dry out as the pump-downs add up): the measurements then drift away from that truth.
This script runs uniformly random recipes of the campaign's space on both kinds of tool (carried over, and a fresh
tool per run as ``pareto.py`` does by default) and prints, for the first goal (log10 R_int), the mean of
measured minus true by run number, and the rank correlation of measured and true over the runs after the initial
design: what a model fitted to the measurements can learn about the truth.

    .venv/bin/python benchmarks/pareto_drift.py --seeds 5 --runs 40
"""

from __future__ import annotations

import argparse
import sys
import warnings
from pathlib import Path

import numpy as np
from scipy.stats import spearmanr

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))

SPANS = ((0, 5), (5, 10), (10, 20), (20, 40), (40, 60))
"""Runs (from, to) over which the mean gap is printed; those past ``--runs`` are left out."""
AFTER = 10
"""Runs of the strategies' initial design: the correlation is over the runs after it."""


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seeds", type=int, default=5)
    ap.add_argument("--runs", type=int, default=40)
    args = ap.parse_args(argv)
    for flag, value, low in (("--seeds", args.seeds, 1), ("--runs", args.runs, AFTER + 3)):
        if value < low:
            print(f"pareto_drift.py: {flag} {value} must be >= {low}", file=sys.stderr)
            return 2
    warnings.simplefilter("ignore")
    import _pareto_problems as pp  # after the arguments are checked: it loads the twin

    spans = [(a, min(b, args.runs)) for a, b in SPANS if a < args.runs]
    for carry in (True, False):
        p = pp.example_problem(n_sobol=2, polish_rounds=0, carry_over=carry)[0]
        gaps: list[list[float]] = [[] for _ in spans]
        rho = []
        for seed in range(args.seeds):
            f = p.evaluator(seed)
            U = np.random.default_rng(seed).random((args.runs, len(p.space)))
            true = p.truth(U)[0][:, 0]
            meas = np.array([o.scores[0] if o.scores is not None else np.nan
                             for o in (f(u, k) for k, u in enumerate(U))])
            for g, (a, b) in zip(gaps, spans, strict=True):
                g.append(float(np.nanmean(meas[a:b] - true[a:b])))
            ok = np.isfinite(meas[AFTER:])
            rho.append(spearmanr(meas[AFTER:][ok], true[AFTER:][ok]).correlation)
        how = "one tool, chamber carried over" if carry else "a fresh tool per run (pareto.py's default)"
        print(f"{how}: measured - true log10 R_int, mean by run: "
              + ", ".join(f"{a + 1}-{b}: {np.mean(g):+.3f}" for g, (a, b) in zip(gaps, spans, strict=True))
              + f"; rank correlation of measured and true, runs {AFTER + 1}-{args.runs}: {np.mean(rho):.2f}"
              f" ({args.seeds} seeds of random recipes)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
