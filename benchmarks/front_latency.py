"""What showing a multi-objective campaign's front costs: ``campaign status``, the report and the dashboard's
Pareto tab rebuild the strategy from the store and compute the measured front, the hypervolume after each run and
the model's predicted front.

For ``--runs`` N (default 20, 40, 60) runs of the example's space (random recipes on the stochastic twin, the
example's goals and constraint), it times, on one BLAS thread:

- ``front``: :func:`dashboards.front.front_data`, everything the Pareto tab and the report draw (the ``mobo``
  strategy rebuilt by replaying ``tell``, its models fitted, the predicted front over 4096 Sobol points, the
  hypervolume history, the measured front);
- ``history``: :func:`campaigns.front.hypervolume_history` alone (exact hypervolume after each run), against the
  same history from Optuna's ``compute_hypervolume`` (WFG) as the outside reference, which must agree to 1e-9
  relative.

    .venv/bin/python benchmarks/front_latency.py [--runs 20 40 60] [--repeats 3] [--campaign FILE]

Target: the Pareto tab draws in under 5 s after 60 runs (it is cached until the trials change).
"""

from __future__ import annotations

import argparse
import dataclasses
import statistics
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from campaigns import _skopt  # noqa: E402
from campaigns.config import CampaignConfig  # noqa: E402
from campaigns.front import hypervolume_history, measured_runs  # noqa: E402
from campaigns.records import Trial  # noqa: E402
from dashboards.front import front_data  # noqa: E402
from twin import Chamber, SimulatedTool  # noqa: E402

EXAMPLE = ROOT / "examples" / "campaigns" / "lipon_pareto.toml"


def trials(config: CampaignConfig, n: int, seed: int = 0) -> list[Trial]:
    """``n`` random recipes of the campaign's space run on the stochastic twin, as stored trials (done)."""
    rng = np.random.default_rng(seed)
    tool = SimulatedTool(Chamber(), seed=seed)
    out = []
    for k, p in enumerate(config.space.sample(n, rng)):
        r = config.space.to_recipe(p)
        res = tool.run(r).to_dict()
        out.append(Trial(k + 1, 1, k, k, "done", r.to_dict(), res, k, None, None, None, "", None, None, None, None,
                         None, {"strategy": "random"}))
    return out


def optuna_history(config: CampaignConfig, ts: list[Trial], ref: np.ndarray) -> list[float]:
    """The hypervolume after each run from Optuna's WFG (the outside reference)."""
    from optuna._hypervolume import compute_hypervolume

    out, front = [], []
    for r in measured_runs(config, ts):
        if r.outcome.feasible and np.all(np.asarray(r.outcome.scores) < ref):
            front.append(r.outcome.scores)
        out.append(compute_hypervolume(np.array(front), ref) if front else 0.0)
    return out


def _time(fn, repeats: int) -> tuple[float, object]:
    times, value = [], None
    for _ in range(repeats):
        t = time.perf_counter()
        value = fn()
        times.append(time.perf_counter() - t)
    return statistics.median(times), value


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--runs", type=int, nargs="+", default=[20, 40, 60])
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--campaign", type=Path, default=EXAMPLE)
    args = ap.parse_args(argv)
    config = CampaignConfig.from_toml(args.campaign)
    if not config.is_multi:
        print(f"{args.campaign}: not a multi-objective campaign", file=sys.stderr)
        return 2
    if config.strategy not in ("mobo", "twin-mobo"):  # the cost of interest is that of a model's front
        config = dataclasses.replace(config, strategy="mobo", strategy_settings={})
    print(f"campaign {config.name}: goals {', '.join(config.objective.fields)}; strategy {config.strategy}; "
          f"median of {args.repeats}")
    print(f"{'runs':>5} {'on front':>9} {'predicted':>10} {'front [s]':>10} {'history [s]':>12} "
          f"{'optuna WFG [s]':>15} {'max rel. diff':>14}")
    worst = 0.0
    with _skopt._one_thread():
        for n in args.runs:
            ts = trials(config, n)
            t_front, fd = _time(lambda ts=ts: front_data(config, Chamber(), ts), args.repeats)
            t_hist, hist = _time(lambda ts=ts: hypervolume_history(config, ts), args.repeats)
            ref = np.asarray(hist.reference, float)
            t_opt, theirs = _time(lambda ts=ts, ref=ref: optuna_history(config, ts, ref), args.repeats)
            ours = np.asarray(hist.hypervolume, float)
            diff = float(np.max(np.abs(ours - np.asarray(theirs)) / np.maximum(np.abs(theirs), 1e-300)))
            worst = max(worst, diff)
            print(f"{n:>5} {sum(m['on_front'] for m in fd.measured):>9} {len(fd.predicted):>10} {t_front:>10.2f} "
                  f"{t_hist:>12.3f} {t_opt:>15.3f} {diff:>14.1e}")
    if worst > 1e-9:
        print(f"our hypervolume history differs from Optuna's WFG by {worst:.1e} (relative)", file=sys.stderr)
        return 1
    print("hypervolume histories agree with Optuna's WFG to 1e-9 relative")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
