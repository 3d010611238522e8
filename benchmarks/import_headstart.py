"""Do a lab's past runs shorten a campaign? Runs to target with and without ``campaign import`` of 50 past runs.

For each seed the lab's past runs are 50 recipes of a Latin hypercube design of the campaign's space
(``examples/past_runs.py``: seeded by ``PAST_SEED + seed``, a random stream apart from the campaign's), run on the
same stochastic tool the campaign runs on, written to a CSV in a lab's units (mTorr, cm, h, %) and imported
through :func:`campaigns.importer.import_past_runs`, the code behind ``campaign import``. Nothing about the past
runs is chosen to suit this benchmark.

Each campaign runs through the campaign store as ``campaign run`` does (propose from the store's trials →
run → record; imported trials are in the store beside the campaign's own), on a stochastic simulated tool that
starts every run in the chamber's initial state (``benchmarks/mismatch.py``'s :class:`RealityTool`; its
recorded ``chamber_state_after`` is that state, since the tool is reset after each run). With and without the
import, a campaign uses the same seed, so its own runs draw the same random numbers.

**What is counted**: the campaign's own runs until the *recommended* recipe (``campaign status``'s:
:func:`campaigns.runner.recommended_trial`, the model's pick among every recipe run, imported ones included) is
within 10 % of the optimum on the deterministic twin; 0 when the past runs alone already give such a
recommendation; ``>B`` when the budget ends first. Strategies: ``gp`` (the campaign file's settings),
``twin-prior`` (its defaults; its twin is the default chamber), and, as an outside reference, Optuna's TPE, given
the same past runs with ``study.add_trial`` (its recommendation is its best measured run).

**How hard**: the optimum and the share of the space within 10 % of it (``mismatch.optimum``: a dense uniform
search polished by Nelder–Mead; the share on 20 000 other uniform points; runs that would fail count as outside).
Random search needs about ``1/share`` runs.

``--reality NAME`` runs the same comparison on a tool unlike the twin (a reality of ``benchmarks/mismatch.py``);
the past runs are then made on that tool too. Default: the twin itself.

    .venv/bin/python benchmarks/import_headstart.py [--seeds 10] [--budget 40] [--strategies gp,twin-prior,tpe]
        [--n-past 50] [--campaign FILE] [--reality NAME] [--jobs 1]
"""

from __future__ import annotations

import argparse
import dataclasses
import math
import re
import statistics
import sys
import tempfile
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))
sys.path.insert(0, str(ROOT / "examples"))

import mismatch  # noqa: E402
import past_runs  # noqa: E402

from campaigns.config import CampaignConfig  # noqa: E402
from campaigns.importer import import_past_runs  # noqa: E402
from campaigns.records import is_imported  # noqa: E402
from campaigns.runner import open_campaign, provenance, rebuild_strategy, recommended_trial  # noqa: E402
from campaigns.store import CampaignStore  # noqa: E402
from twin import Chamber, Recipe  # noqa: E402

CAMPAIGN = ROOT / "examples" / "campaigns" / "lipon_throughput.toml"
PAST_SEED = 10_000
"""The past runs of campaign seed ``s`` are made with seed ``PAST_SEED + s`` (design and tool)."""
TWIN = mismatch.Reality("close", "the twin itself")
STRATEGIES = ("gp", "twin-prior", "tpe")


def campaign_text(path: Path, strategy: str) -> str:
    """The campaign file's text with its ``[strategy]`` table set to ``strategy`` (``gp``: the file's own
    settings; another strategy: its defaults)."""
    text = path.read_text(encoding="utf-8")
    if strategy == "gp":
        return text
    return re.sub(r"\[strategy\].*?(?=\n\[)", f'[strategy]\nname = "{strategy}"\n', text, count=1, flags=re.S)


def make_past_runs(cfg: CampaignConfig, reality: mismatch.Reality, seed: int, n: int, folder: Path) -> Path:
    """The lab's past runs for campaign seed ``seed``, as a CSV in ``folder``."""
    tool = mismatch.RealityTool(reality, PAST_SEED + seed)
    results = [tool.run(r) for r in past_runs.design(cfg, n, PAST_SEED + seed)]
    path = folder / f"past_{seed}.csv"
    state = tool.state_before()
    past_runs.to_frame(cfg, results, [state] * len(results)).to_csv(path, index=False)
    return path


def _judge(tv: mismatch.TrueValue, cfg: CampaignConfig, recipe: Recipe) -> float:
    """The recipe's objective on the deterministic reality (R_int plus the weighted secondary)."""
    u = cfg.space.unit_cube([cfg.space.to_point(recipe)])
    score, p_fail = tv.unit(u)
    if p_fail[0] >= 0.5 or not math.isfinite(score[0]):
        return math.inf
    return float(10 ** score[0]) if cfg.objective.log else float(score[0])


def run_campaign(job: tuple) -> dict[str, Any]:
    """One campaign through the store; stops when the recommended recipe is within 10 % of the optimum."""
    strategy, seed, with_past, budget, optimum_value, campaign, reality_name, n_past, folder = job
    reality = TWIN if reality_name is None else mismatch.REALITIES[reality_name]
    text = campaign_text(campaign, strategy if strategy != "tpe" else "random")
    cfg = CampaignConfig.from_text(text, source=str(campaign))
    tv = mismatch.TrueValue(reality, cfg)
    chamber = Chamber()
    t0 = time.perf_counter()
    path = Path(folder) / f"{strategy}_{seed}_{int(with_past)}.sqlite"
    path.unlink(missing_ok=True)
    reached = budget + 1
    with CampaignStore(path) as store:
        cid = open_campaign(store, cfg, chamber, seed=seed)
        if with_past:
            import_past_runs(store, cid, Path(folder) / f"past_{seed}.csv", actor="benchmark")
        cfg = dataclasses.replace(cfg, seed=seed)
        tool = mismatch.RealityTool(reality, seed)
        tpe = mismatch.OptunaTpe(cfg, seed) if strategy == "tpe" else None
        if tpe is not None:
            _tell_tpe_past(tpe, cfg, store.trials(cid))
        for k in range(budget + 1):
            trials = store.trials(cid)
            model = None if tpe is not None else rebuild_strategy(cfg, chamber, trials)
            rec = _recommended(cfg, chamber, trials, model)
            if rec is not None and _judge(tv, cfg, rec) <= 1.10 * optimum_value:
                reached = k
                break
            if k == budget:
                break
            recipe = tpe.ask() if tpe is not None else model.ask(1)[0]
            prov = {"strategy": strategy} if model is None else provenance(cfg, model, "reality", len(trials))
            (tid,) = store.add_proposals(cid, [recipe], provenance=prov)
            store.approve(tid, "benchmark")
            store.mark_running(tid, k)
            res = tool.run(recipe).to_dict() | {"chamber_state_after": tool.state_before()}
            outcome = cfg.objective.evaluate(res, recipe.to_dict())
            store.record_result(tid, res, "failed" if outcome.failed else "done")
            if tpe is not None:
                tpe.tell(outcome)
    print(f"  {strategy} / seed {seed} / {'with' if with_past else 'without'} past runs: "
          f"{reached if reached <= budget else '>' + str(budget)} runs ({time.perf_counter() - t0:.0f} s)",
          file=sys.stderr, flush=True)
    return {"strategy": strategy, "seed": seed, "past": with_past, "runs": reached,
            "seconds": time.perf_counter() - t0}


def _recommended(cfg: CampaignConfig, chamber: Chamber, trials: list, model: Any) -> Recipe | None:
    """``campaign status``'s recommendation (the model's pick), or the best measured run without a model."""
    if model is not None and hasattr(model, "predict"):
        rec = recommended_trial(cfg, chamber, trials, model)
        if rec is not None:
            return Recipe.from_dict(rec[0].recipe)
    ok = [(t, o) for t in trials if (o := cfg.objective.outcome(t)) is not None and not o.failed
          and o.value is not None]
    return Recipe.from_dict(min(ok, key=lambda to: to[1].value)[0].recipe) if ok else None


def _tell_tpe_past(tpe: Any, cfg: CampaignConfig, trials: list) -> None:
    """Give Optuna's study the imported past runs (its ``add_trial``), as the strategies are told them."""
    import optuna

    for t in trials:
        if not is_imported(t):
            continue
        o = cfg.objective.outcome(t)
        params = {d.name: (t.recipe[d.name] if d.is_categorical else min(max(float(t.recipe[d.name]), d.low),
                                                                            d.high)) for d in cfg.space.dimensions}
        if o is None or o.failed or o.score is None:
            trial = optuna.trial.create_trial(params=params, distributions=tpe.dists,
                                              state=optuna.trial.TrialState.FAIL)
        else:
            trial = optuna.trial.create_trial(params=params, distributions=tpe.dists, value=o.score)
        tpe.study.add_trial(trial)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--seeds", type=int, default=10)
    p.add_argument("--budget", type=int, default=40)
    p.add_argument("--n-past", type=int, default=50)
    p.add_argument("--strategies", default=",".join(STRATEGIES))
    p.add_argument("--campaign", type=Path, default=CAMPAIGN)
    p.add_argument("--reality", default=None, help="a reality of benchmarks/mismatch.py (default: the twin)")
    p.add_argument("--optimum-search", type=int, default=20000)
    p.add_argument("--polish", type=int, default=16, help="Nelder-Mead starts polishing the optimum (benchmarks/"
                   "mismatch.py's; a smoke run takes 1)")
    p.add_argument("--jobs", type=int, default=1)
    a = p.parse_args(argv)
    strategies = [s.strip() for s in a.strategies.split(",") if s.strip()]
    for s in strategies:
        if s not in STRATEGIES:
            p.error(f"--strategies: unknown strategy {s!r} (allowed: {', '.join(STRATEGIES)})")
    if a.reality is not None and a.reality not in mismatch.REALITIES:
        p.error(f"--reality: unknown reality {a.reality!r} (allowed: {', '.join(mismatch.REALITIES)})")
    reality = TWIN if a.reality is None else mismatch.REALITIES[a.reality]
    cfg = CampaignConfig.from_toml(a.campaign)
    t0 = time.perf_counter()
    r_opt, _, share = mismatch.optimum(reality, cfg, a.optimum_search, a.polish)
    print(f"campaign {a.campaign.name} on {a.reality or 'the twin itself'}: optimum {r_opt:.3f} (objective units); "
          f"share of the space within 10 %: {share:.2%} (random search needs ~{1 / max(share, 1e-9):.0f} runs)")
    with tempfile.TemporaryDirectory() as folder:
        n_ok = []
        for seed in range(a.seeds):
            path = make_past_runs(cfg, reality, seed, a.n_past, Path(folder))
            text = path.read_text().splitlines()
            n_ok.append(sum(",yes," not in line for line in text[1:]))
        print(f"past runs: {a.n_past} per seed, Latin hypercube, on the same tool; successful (not shorted): "
              f"median {statistics.median(n_ok):g}")
        jobs = [(s, seed, past, a.budget, r_opt, a.campaign, a.reality, a.n_past, folder)
                for s in strategies for seed in range(a.seeds) for past in (False, True)]
        if a.jobs > 1:
            with ProcessPoolExecutor(a.jobs) as ex:
                rows = list(ex.map(run_campaign, jobs, chunksize=1))
        else:
            rows = [run_campaign(j) for j in jobs]
    print()
    print(f"campaign runs until the recommended recipe is within 10 % of the optimum (median over {a.seeds} seeds; "
          f"budget {a.budget}; '>B' = not reached; 0 = the past runs alone were enough)")
    print(f"{'strategy':12s} {'without':>8s} {'with 50 past':>12s} {'reached w/o':>12s} {'reached with':>13s} "
          f"{'saved (median of pairs)':>24s}")
    for s in strategies:
        wo = [r["runs"] for r in rows if r["strategy"] == s and not r["past"]]
        wi = [r["runs"] for r in rows if r["strategy"] == s and r["past"]]
        saved = [x - y for x, y in zip(sorted_by_seed(rows, s, False), sorted_by_seed(rows, s, True), strict=True)]
        print(f"{s:12s} {mismatch._med(wo, a.budget):>8s} {mismatch._med(wi, a.budget):>12s} "
              f"{sum(v <= a.budget for v in wo):>9d}/{len(wo)} {sum(v <= a.budget for v in wi):>10d}/{len(wi)} "
              f"{statistics.median(saved):>24g}")
    print()
    print("per seed (without → with): " + "; ".join(
        f"{s}: {list(zip(sorted_by_seed(rows, s, False), sorted_by_seed(rows, s, True), strict=True))}"
        for s in strategies))
    secs = sum(r["seconds"] for r in rows)
    print(f"(not-reached counts as budget + 1 in the medians and the savings; total {secs:.0f} s of campaigns, "
          f"wall {time.perf_counter() - t0:.0f} s)")
    return 0


def sorted_by_seed(rows: list[dict[str, Any]], strategy: str, past: bool) -> list[int]:
    """Runs to target of ``strategy`` with or without past runs, in seed order."""
    return [r["runs"] for r in sorted((r for r in rows if r["strategy"] == strategy and r["past"] == past),
                                      key=lambda r: r["seed"])]


if __name__ == "__main__":
    sys.exit(main())
