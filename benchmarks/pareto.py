"""Multi-objective sample efficiency: hypervolume of the measured front after 20/40/60 runs, and runs to 90 % of
the reference front's hypervolume, on the example campaign and two outside problems with known fronts.

Problems (:mod:`benchmarks._pareto_problems`):

* ``lipon_pareto``: ``examples/campaigns/lipon_pareto.toml`` (R_int, process time, ionic conductivity; R_int ≤ 30
  Ω·cm² as outcome constraint; 8-D), run on the stochastic twin (random events, shorts, measurement noise), every
  run starting in the chamber's initial state (a freshly vented chamber: a new tool per run, seeded by the seed and
  the run), as ``benchmarks/mismatch.py`` runs its tools. Reference front: the deterministic twin in that state on
  2^17 Sobol points plus Gaussian polishing around the front (the line printed says how much the polishing moved
  it). The reference point is the campaign's. So the truth is what the measurements scatter around. With
  ``--carry-over`` one tool per seed carries its chamber state from run to run (the walls dry out as pump-down time
  adds up), as the campaign runs on a real tool; then measured R_int drifts away from any one state's truth (rank
  correlation with it 0.15 after the initial design against 0.96 without carry-over: ``benchmarks/
  pareto_drift.py``), which no recipe-only model can follow: that is the context problem of ``benchmarks/drift.py``,
  not a test of the multi-objective acquisition. Until 2026-12-02 the example ran with carry-over by default.
* ``BraninCurrin`` (2 goals, 2-D) and ``DTLZ2`` (3 goals, 6-D): noise-free, known maximum hypervolumes.

What is counted: after ``n`` runs, the *measured front* (measured-feasible runs, measured scores) and its
hypervolume (``HV meas``); and, honestly, the true scores of the measured front's recipes (the deterministic twin's
on the example: a lucky noisy measurement gets no credit), counting only those truly feasible (``HV true``). Runs
to 90 % use the true hypervolume (``meas`` in brackets: by measured values). ``feasible`` is the share of the
model-driven proposals (runs 11 on) that are truly feasible. Medians over seeds; ``>cap`` when a seed never got
there (counted as cap + 1 in the median). For ours on the example, also the runs *the model recommends* after 20,
40, 60 runs (:func:`model_front`: the non-dominated posterior means among the successful runs it rates feasible),
valued at the truth the same way (``--no-model-front`` skips it).

Strategies: ours (``mobo``; ``twin-mobo`` on the example), ``random`` (our uniform strategy), Optuna's NSGA-II
(population 10, a small-budget setting: the default 50 would leave it one generation in 60 runs) and its
multi-objective TPE (defaults), both told the outcome constraints through ``constraints_func`` and failed runs as
failed trials; BoTorch's qNEHVI when installed (:mod:`benchmarks._botorch_pareto`, skipped with the reason
otherwise). Every strategy gets the same seeds, the same tools and the same evaluation.

**A tool unlike the twin** (``--reality NAME``, the example only): the tool's chamber is a reality of
``benchmarks/mismatch.py`` (a parameter of the chamber changed, or an effect on R_int the twin lacks), the truth
and the reference front are that reality's deterministic twin, and ``twin-mobo``'s twin stays the default chamber:
the twin is wrong and must learn the tool. The line printed says how far off it is in this benchmark's measure:
the share of the reality's reference hypervolume that the default twin's own front holds (its recipes, run on the
reality). ``--twin-mobo-set KEY=VALUE`` measures ``twin-mobo`` with other settings (``calibrate=false``).

``--carry-over`` runs the example on one tool per seed whose state carries over (above);
``--mobo-set KEY=VALUE`` measures ``mobo`` with other settings (ablations); ``--first-seed`` moves the
seeds, so that development and the reported figures need not share them.

    .venv/bin/python benchmarks/pareto.py --seeds 10 --jobs 2
    .venv/bin/python benchmarks/pareto.py --problems BraninCurrin --strategies mobo,random --seeds 3 --cap 30
    .venv/bin/python benchmarks/pareto.py --problems DTLZ2 --strategies mobo --mobo-set trust_region=false
    .venv/bin/python benchmarks/pareto.py --problems lipon_pareto --strategies twin-mobo,mobo,random \
        --reality "wall water x30" --cap 40 --jobs 2
"""

from __future__ import annotations

import argparse
import pickle
import statistics
import sys
import time
import warnings
from multiprocessing import Pool
from pathlib import Path
from typing import Any

import numpy as np
from scipy.stats import qmc

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))

import _botorch_pareto  # noqa: E402
import _pareto_problems as pp  # noqa: E402

from campaigns.ask_tell import AskTell  # noqa: E402
from campaigns.mobo import MOBO_SETTINGS  # noqa: E402
from campaigns.mobo_twin import TWIN_MOBO_SETTINGS  # noqa: E402
from campaigns.pareto import hypervolume, pareto_mask  # noqa: E402
from campaigns.strategies import StrategyContext, make_strategy  # noqa: E402
from twin import Chamber  # noqa: E402

OURS = ("mobo", "twin-mobo", "random")
ALL = ("mobo", "twin-mobo", "random", "nsga2", "tpe", "qnehvi")
N_MODEL_FROM = 10
"""Runs from which the feasibility share of proposals is counted (after every strategy's initial design)."""

_PROBLEMS: dict[str, pp.Problem] = {}
OPTIONS: dict[str, Any] = {}
"""Benchmark options set before the worker processes fork (``fresh_chamber``)."""
MOBO_EXTRA: dict[str, Any] = {}
TWIN_MOBO_EXTRA: dict[str, Any] = {}
"""Settings added to ``mobo``'s (``--mobo-set``); set before the worker processes fork."""


def problem(name: str, reference: bool = True) -> pp.Problem:
    """The problem by name (built once per process; the example's reference front only when asked)."""
    key = f"{name}:{reference}"
    if key not in _PROBLEMS:
        if name == "lipon_pareto":
            _PROBLEMS[key] = pp.example_problem(n_sobol=2**17 if reference else 2, polish_rounds=5 if reference
                                                else 0, carry_over=not OPTIONS.get("fresh_chamber"),
                                                reality=_reality())[0]
        else:
            _PROBLEMS[key] = {p.name: p for p in pp.outside_problems()}[name]
    return _PROBLEMS[key]


def _reality() -> Any:
    """The example's tool unlike the twin (``--reality``), or None."""
    from mismatch import REALITIES

    return REALITIES[OPTIONS["reality"]] if OPTIONS.get("reality") else None


# -- the strategies ---------------------------------------------------------------------------------------------------
def our_strategy(p: pp.Problem, name: str, seed: int, cap: int) -> Any:
    """Our strategy ``name`` on the example, with the campaign file's settings and those of ``--mobo-set`` /
    ``--twin-mobo-set``."""
    config = pp.CampaignConfig.from_toml(pp.EXAMPLE)
    settings = dict(config.strategy_settings) if name == config.strategy else {}
    if name == "mobo":
        settings.update(MOBO_EXTRA)
    if name == "twin-mobo":
        settings.update(TWIN_MOBO_EXTRA)
    return make_strategy(name, StrategyContext(p.space, settings, seed, p.objective, Chamber(), cap))


def run_ours(p: pp.Problem, name: str, seed: int, cap: int) -> list[tuple[np.ndarray, Any]]:
    f = p.evaluator(seed)
    out = []
    if p.space.has_recipe:
        s = our_strategy(p, name, seed, cap)
        for k in range(cap):
            r = s.ask(1)[0]
            u = p.space.unit_cube([p.space.to_point(r)])[0]
            o = f(u, k)
            s.tell([r], [o])
            out.append((u, o))
        return out
    opt = AskTell(p.space, name, seed=seed, objectives=[g.direction for g in p.objective.goals],
                  reference=[g.reference for g in p.objective.goals], budget=cap,
                  settings=dict(MOBO_EXTRA) if name == "mobo" and MOBO_EXTRA else None)
    for k in range(cap):
        pt = opt.ask(1)[0]
        u = np.array([pt[n] for n in p.space.names], float)
        o = f(u, k)
        opt.tell([pt], [None if o.failed else list(o.values) + list(o.slacks or ())])
        out.append((u, o))
    return out


def run_optuna(p: pp.Problem, name: str, seed: int, cap: int) -> list[tuple[np.ndarray, Any]]:
    import optuna
    from optuna.distributions import FloatDistribution
    from optuna.trial import TrialState

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    c = len(p.objective.constraints)
    cons = (lambda t: t.user_attrs["c"]) if c else None
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # experimental-feature warnings
        sampler = (optuna.samplers.NSGAIISampler(population_size=10, seed=seed, constraints_func=cons)
                   if name == "nsga2" else optuna.samplers.TPESampler(seed=seed, constraints_func=cons))
    study = optuna.create_study(directions=["minimize"] * len(p.objective.goals), sampler=sampler)
    d = len(p.space)
    dists = {f"x{j}": FloatDistribution(0.0, 1.0) for j in range(d)}
    f = p.evaluator(seed)
    out = []
    for k in range(cap):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            t = study.ask(dists)
        u = np.array([t.params[f"x{j}"] for j in range(d)], float)
        o = f(u, k)
        if o.failed:
            t.set_user_attr("c", [1.0] * max(c, 1))
            study.tell(t, state=TrialState.FAIL)
        else:
            t.set_user_attr("c", list(o.slacks or ()))
            study.tell(t, list(o.scores))
        out.append((u, o))
    return out


def run_one(task: tuple[str, str, int, int, str]) -> tuple[str, str, int, list[tuple[np.ndarray, Any]], float]:
    """One seed of one strategy on one problem; kept in ``cache`` (a directory, "" for none) as a pickle, so that
    an interrupted measurement resumes where it stopped."""
    name, strategy, seed, cap, cache = task
    extra = {"mobo": MOBO_EXTRA, "twin-mobo": TWIN_MOBO_EXTRA}.get(strategy, {})
    tag = "".join(f"-{k}={v}" for k, v in sorted(extra.items()))
    tag += "-fresh" if OPTIONS.get("fresh_chamber") else ""
    tag += f"-{OPTIONS['reality']}".replace(" ", "_") if OPTIONS.get("reality") and name == "lipon_pareto" else ""
    path = Path(cache) / f"{name}-{strategy}{tag}-{seed}-{cap}.pkl" if cache else None
    if path is not None and path.exists():
        with path.open("rb") as fh:
            return pickle.load(fh)
    out = _run_one(name, strategy, seed, cap)
    if path is not None:
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(".tmp")
        with tmp.open("wb") as fh:
            pickle.dump(out, fh)
        tmp.replace(path)
    return out


def _run_one(name: str, strategy: str, seed: int, cap: int) -> tuple[str, str, int, list[tuple[np.ndarray, Any]],
                                                                     float]:
    p = problem(name, reference=False)
    t = time.perf_counter()
    if strategy in OURS:
        runs = run_ours(p, strategy, seed, cap)
    elif strategy in ("nsga2", "tpe"):
        runs = run_optuna(p, strategy, seed, cap)
    else:
        runs = _botorch_pareto.run_qnehvi(len(p.space), len(p.objective.goals), len(p.objective.constraints), p.ref,
                                          p.evaluator(seed), seed, cap)
    return name, strategy, seed, runs, time.perf_counter() - t


# -- what is counted ---------------------------------------------------------------------------------------------------
def curves(p: pp.Problem, runs: list[tuple[np.ndarray, Any]]) -> dict[str, Any]:
    """Measured and true hypervolume after each run, and the true feasibility of each run."""
    U = np.array([u for u, _ in runs])
    true_scores, true_ok = p.truth(U)
    meas_ok = np.array([o.feasible for _, o in runs])
    m = len(p.ref)
    S = np.array([o.scores if o.scores is not None else [np.nan] * m for _, o in runs], float)
    hv_meas, hv_true = [], []
    for n in range(1, len(runs) + 1):
        idx = np.flatnonzero(meas_ok[:n])
        if not len(idx):
            hv_meas.append(0.0)
            hv_true.append(0.0)
            continue
        hv_meas.append(hypervolume(S[idx], p.ref))
        front = idx[pareto_mask(S[idx])]
        front = front[true_ok[front]]
        hv_true.append(hypervolume(true_scores[front], p.ref) if len(front) else 0.0)
    return {"meas": np.array(hv_meas) / p.reference_hv, "true": np.array(hv_true) / p.reference_hv,
            "feasible": true_ok}


def model_front(task: tuple[str, str, int, int, list[tuple[np.ndarray, Any]], list[int]]) -> dict[int, np.ndarray]:
    """The runs *the model recommends* after ``n`` runs, for each ``n`` of the marks, as unit-cube rows: the
    strategy rebuilt from the first ``n`` runs (as the runner rebuilds it: proposals depend only on the seed and what
    was told), its posterior means of the successful runs, the non-dominated ones among those it rates feasible with
    probability > 0.5. The measured front (:func:`curves`) picks runs by their noisy measurements; this is the set a
    reviewer would be told to use. Valued at the truth by :func:`front_share`."""
    q, name, seed, cap, runs, marks = task
    p = problem(q, reference=False)
    out: dict[int, np.ndarray] = {}
    for n in marks:
        if n > len(runs):
            continue
        s = our_strategy(p, name, seed, cap)
        recipes = [p.space.to_recipe(p.space.from_unit_cube(u[None, :])[0]) for u, _ in runs[:n]]
        s.tell(recipes, [o for _, o in runs[:n]])
        ok = [i for i, (_, o) in enumerate(runs[:n]) if not o.failed]
        out[n] = np.zeros((0, len(p.space)))
        if not ok:
            continue
        mean, _ = s.predict([recipes[i] for i in ok])
        feas = np.asarray(s.feasibility([recipes[i] for i in ok]), float)
        keep = np.flatnonzero(np.isfinite(mean).all(axis=1) & (feas > 0.5))
        if len(keep):
            out[n] = np.array([runs[ok[i]][0] for i in keep[pareto_mask(mean[keep])]])
    return out


def front_share(p: pp.Problem, U: np.ndarray) -> float:
    """True hypervolume of the recipes ``U`` (the truly feasible ones), as a share of the reference."""
    if not len(U):
        return 0.0
    T, ok = p.truth(U)
    return hypervolume(T[ok], p.ref) / p.reference_hv if ok.any() else 0.0


def twin_front_share(p: pp.Problem, n_sobol: int = 2**14) -> float:
    """How far the twin is from the tool, in the benchmark's own measure: the default twin's front (non-dominated
    recipes of ``n_sobol`` Sobol points on the deterministic twin), evaluated on the tool's truth, as % of the tool's
    reference hypervolume."""
    twin = pp.ExampleTruth(pp.CampaignConfig.from_toml(pp.EXAMPLE), Chamber())
    U = qmc.Sobol(len(p.space), scramble=True, seed=3).random(n_sobol)
    Y, ok = twin(U)
    keep = np.flatnonzero(ok & np.all(Y < p.ref, axis=1))
    front = keep[pp.nondominated(Y[keep])]
    T, okt = p.truth(U[front])
    return 100 * hypervolume(T[okt], p.ref) / p.reference_hv if okt.any() else 0.0


def runs_to(frac: np.ndarray, level: float = 0.9) -> int | None:
    hit = np.flatnonzero(frac >= level)
    return int(hit[0]) + 1 if len(hit) else None


def median_runs(values: list[int | None], cap: int) -> tuple[float, str]:
    med = statistics.median([cap + 1 if v is None else v for v in values])
    return med, (f">{cap}" if med > cap else f"{med:g}")


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--problems", default="lipon_pareto,BraninCurrin,DTLZ2")
    ap.add_argument("--strategies", default=",".join(ALL))
    ap.add_argument("--seeds", type=int, default=10)
    ap.add_argument("--first-seed", type=int, default=0,
                    help="seeds are first-seed .. first-seed + seeds - 1 (develop on other seeds than you report)")
    ap.add_argument("--cap", type=int, default=60)
    ap.add_argument("--jobs", type=int, default=1)
    ap.add_argument("--qnehvi-seeds", type=int, default=None,
                    help="seeds for qNEHVI (default: --seeds; it costs ~100x ours per proposal)")
    ap.add_argument("--sobol", type=int, default=17, help="log2 of the reference search's Sobol points")
    ap.add_argument("--cache", default="", help="directory keeping each finished seed (resume after a stop); "
                    "not a file to commit: delete it to measure again")
    ap.add_argument("--mobo-set", action="append", default=[], metavar="KEY=VALUE",
                    help="a setting of mobo for this measurement (repeatable), e.g. trust_region=false or "
                         "length_scale_prior=false: ablations of the defaults")
    ap.add_argument("--twin-mobo-set", action="append", default=[], metavar="KEY=VALUE",
                    help="a setting of twin-mobo for this measurement (repeatable), e.g. calibrate=false")
    ap.add_argument("--carry-over", action="store_true",
                    help="lipon_pareto: one tool per seed whose chamber state carries over from run to run (measured "
                         "R_int drifts away from the truth, the initial state's); default: every run starts in the "
                         "initial state")
    ap.add_argument("--reality", default="",
                    help="lipon_pareto on a tool unlike the twin: a reality of benchmarks/mismatch.py (its chamber, "
                         "its structural effect on R_int); the truth and reference front are the reality's, "
                         "twin-mobo's twin stays the default chamber")
    ap.add_argument("--no-model-front", action="store_true",
                    help="skip the true hypervolume of the runs the model recommends (mobo, twin-mobo on the "
                         "example; each mark rebuilds the strategy from the runs)")
    args = ap.parse_args(argv)
    OPTIONS["fresh_chamber"] = not args.carry_over
    if args.reality:
        from mismatch import REALITIES

        if args.reality not in REALITIES:
            print(f"pareto.py: --reality {args.reality!r} unknown; allowed: {', '.join(REALITIES)}", file=sys.stderr)
            return 2
        OPTIONS["reality"] = args.reality
    for flag, items, known, extra in (("--mobo-set", args.mobo_set, MOBO_SETTINGS, MOBO_EXTRA),
                                      ("--twin-mobo-set", args.twin_mobo_set, TWIN_MOBO_SETTINGS, TWIN_MOBO_EXTRA)):
        for item in items:
            key, sep, value = item.partition("=")
            if not sep or key not in known:
                print(f"pareto.py: {flag} {item!r} must be KEY=VALUE with KEY one of {', '.join(known)}",
                      file=sys.stderr)
                return 2
            kind = known[key][0]
            try:
                extra[key] = {"true": True, "false": False}[value.lower()] if kind is bool else kind(value)
            except (KeyError, ValueError):
                print(f"pareto.py: {flag} {item!r}: {key} takes a {kind.__name__}", file=sys.stderr)
                return 2
    problems = [s for s in args.problems.split(",") if s]
    strategies = [s for s in args.strategies.split(",") if s]
    bad = [s for s in strategies if s not in ALL] + [q for q in problems
                                                     if q not in ("lipon_pareto", "BraninCurrin", "DTLZ2")]
    if bad:
        print(f"pareto.py: unknown strategy or problem {bad[0]!r}; strategies: {', '.join(ALL)}; problems: "
              "lipon_pareto, BraninCurrin, DTLZ2", file=sys.stderr)
        return 2
    if "qnehvi" in strategies and (why := _botorch_pareto.missing()):
        print(f"qnehvi: skipped, {why}")
        strategies.remove("qnehvi")
    n_q = args.seeds if args.qnehvi_seeds is None else args.qnehvi_seeds
    if args.first_seed < 0:
        print(f"pareto.py: --first-seed {args.first_seed} must be >= 0", file=sys.stderr)
        return 2
    tasks = [(q, s, args.first_seed + k, args.cap, args.cache) for k in range(max(args.seeds, n_q)) for q in problems
             for s in strategies if k < (n_q if s == "qnehvi" else args.seeds)
             and not (s == "twin-mobo" and q != "lipon_pareto")]
    t0 = time.perf_counter()
    if args.jobs > 1:
        with Pool(args.jobs) as pool:
            results = pool.map(run_one, tasks, chunksize=1)
    else:
        results = [run_one(t) for t in tasks]
    marks = [n for n in (20, 40, 60) if n <= args.cap] or [args.cap]
    fronts_tasks = [(q, s, seed, args.cap, runs, marks) for q, s, seed, runs, _ in results
                    if q == "lipon_pareto" and s in ("mobo", "twin-mobo") and not args.no_model_front]
    if args.jobs > 1 and fronts_tasks:
        with Pool(args.jobs) as pool:
            fronts = pool.map(model_front, fronts_tasks, chunksize=1)
    else:
        fronts = [model_front(t) for t in fronts_tasks]
    model_fronts = {(t[0], t[1], t[2]): f for t, f in zip(fronts_tasks, fronts, strict=True)}
    ok_all = True
    for q in problems:
        if q == "lipon_pareto":
            p = pp.example_problem(n_sobol=2**args.sobol, polish_rounds=5, carry_over=args.carry_over,
                                   reality=_reality())[0]
        else:
            p = problem(q)
        d, m = len(p.space), len(p.ref)
        print(f"\n== {q}: {m} goals, {d}-D, {'noisy (stochastic twin)' if p.noisy else 'noise-free'}; "
              f"{args.seeds} seeds from {args.first_seed}, {args.cap} runs")
        if q == "lipon_pareto" and args.reality:
            print(f"tool unlike the twin: reality {args.reality!r} of mismatch.py ({_reality().mechanism}); "
                  f"{twin_front_share(p):.1f} % of its reference hypervolume is what the twin's own front "
                  "(its recipes, run on this tool, true values) holds")
        print(f"reference hypervolume {p.reference_hv:.6g}: {p.reference_how}")
        share = p.truth(qmc.Sobol(d, scramble=True, seed=5).random(4096))[1].mean()
        rows: dict[str, dict[str, Any]] = {}
        for name, strategy, _seed, runs, secs in results:
            if name != q:
                continue
            r = rows.setdefault(strategy, {"true": [], "meas": [], "feas": [], "secs": []})
            c = curves(p, runs)
            r["true"].append(c["true"])
            r["meas"].append(c["meas"])
            r["feas"].append(c["feasible"][N_MODEL_FROM:].mean() if len(runs) > N_MODEL_FROM else np.nan)
            r["secs"].append(secs)
        if "random" in rows and 40 <= args.cap:
            rnd40 = statistics.median(float(t[39]) for t in rows["random"]["true"])
            print(f"how hard: random's 40 runs reach {100 * rnd40:.1f} % of the reference hypervolume (median); "
                  f"{100 * share:.1f} % of the space is feasible")
        else:
            print(f"how hard: {100 * share:.1f} % of the space is feasible")
        head = "".join(f"{'@' + str(n):>7}" for n in marks)
        print(f"{'strategy':<11}{'HV true %':>10}{head}{'HV meas %':>12}{head}   runs to 90 % true (meas)"
              f"   vs random   feasible   s/seed")
        med_runs = {s: median_runs([runs_to(t) for t in r["true"]], args.cap)[0] for s, r in rows.items()}
        for s in strategies:
            if s not in rows:
                continue
            r = rows[s]
            tr = [statistics.median(float(t[n - 1]) for t in r["true"]) * 100 for n in marks]
            ms = [statistics.median(float(t[n - 1]) for t in r["meas"]) * 100 for n in marks]
            med, txt = median_runs([runs_to(t) for t in r["true"]], args.cap)
            _, txt_m = median_runs([runs_to(t) for t in r["meas"]], args.cap)
            rnd = med_runs.get("random", float("nan"))
            rel = med / rnd if s != "random" and not (med > args.cap and rnd > args.cap) else float("nan")
            # random never there: the ratio is at most ours / (cap + 1)
            rel_txt = f"<{rel:.2f}" if rnd > args.cap and np.isfinite(rel) else f"{rel:.2f}"
            feas = np.nanmean(r["feas"]) * 100 if np.isfinite(r["feas"]).any() else float("nan")
            print(f"{s:<11}{'':>10}" + "".join(f"{v:>7.1f}" for v in tr) + f"{'':>12}" +
                  "".join(f"{v:>7.1f}" for v in ms) + f"   {txt:>17} ({txt_m:>4})"
                  f"{rel_txt:>12}{feas:>10.0f}%{statistics.median(r['secs']):>9.0f}")
        recommended = [s for s in strategies if (q, s, args.first_seed) in model_fronts]
        if recommended:
            print("the runs the model recommends (its posterior means of the successful runs: the non-dominated ones "
                  "it rates feasible), true HV % (median); beside it the measured front's, same seeds:")
            for s in recommended:
                fr = [f for (qq, ss, _seed), f in model_fronts.items() if qq == q and ss == s]
                cells = []
                for n in marks:
                    rec = statistics.median(100 * front_share(p, f[n]) for f in fr if n in f)
                    meas = statistics.median(float(t[n - 1]) * 100 for t in rows[s]["true"])
                    size = statistics.median(len(f[n]) for f in fr if n in f)
                    cells.append(f"@{n} {rec:.1f} (measured front {meas:.1f}; {size:g} runs)")
                print(f"  {s:<10} " + ", ".join(cells))
        for ours in ("mobo", "twin-mobo"):
            if ours not in med_runs or "random" not in med_runs:
                continue
            met = med_runs[ours] <= 40 and med_runs[ours] <= 0.5 * med_runs["random"]
            if q == "lipon_pareto" and ours == "mobo":
                ok_all &= met
            ref_txt = f"; qNEHVI median {med_runs['qnehvi']:g}" if "qnehvi" in med_runs else ""
            print(f"{q}: {ours} median {med_runs[ours]:g} runs to 90 % (target <= 40 and <= half of random's "
                  f"{med_runs['random']:g}): {'met' if met else 'NOT met'}{ref_txt}")
    print(f"\nwall time {time.perf_counter() - t0:.0f} s")
    return 0 if ok_all else 1


if __name__ == "__main__":
    sys.exit(main())
