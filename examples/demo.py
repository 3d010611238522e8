"""`make demo`: the twin reproduces Haruta et al. (2015), shows what air exposure and annealing do, then runs the
default optimisation campaign (30 runs on the stochastic twin) into a SQLite store and writes its HTML report."""

from __future__ import annotations

import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(ROOT))

from campaigns.config import CampaignConfig  # noqa: E402
from campaigns.runner import Runner, chamber_before, open_campaign, recommended_trial  # noqa: E402
from campaigns.store import CampaignStore  # noqa: E402
from dashboards.report import write_report  # noqa: E402
from twin import Chamber, Recipe, simulate  # noqa: E402

PAPER_OHM_CM2 = 8.6
OUT = ROOT / "out"


def haruta_comparison(chamber: Chamber) -> None:
    print("sputter-twin demo: deterministic twin, default chamber\n")
    print(f"{'recipe':<24}{'R_int [Ω·cm²]':>14}{'vs paper':>10}{'damage [nm]':>13}{'protons':>9}")
    for name in ("haruta2015", "air_exposed", "air_exposed_annealed", "harsh"):
        recipe = Recipe.from_toml(HERE / "recipes" / f"{name}.toml")
        res = simulate(recipe, chamber, deterministic=True)
        r = res.interface_resistance_ohm_cm2
        print(f"{name:<24}{r:>14.2f}{r / PAPER_OHM_CM2:>9.2f}×{res.damaged_layer_nm:>13.3f}"
              f"{res.proton_uptake:>9.3f}")
    print(f"\nHaruta et al., Nano Lett. 15, 1498 (2015): {PAPER_OHM_CM2} Ω·cm² for the clean interface.")


def campaign(chamber: Chamber, budget: int = 30, out: Path = OUT) -> tuple[Path, Path]:
    """Run the default campaign into ``out/demo.sqlite`` and write its report; returns (store, report)."""
    out.mkdir(exist_ok=True)
    store_path, report_path = out / "demo.sqlite", out / "demo_report.html"
    for p in (store_path, store_path.with_name(store_path.name + "-wal"),
              store_path.with_name(store_path.name + "-shm")):
        p.unlink(missing_ok=True)  # every demo starts a fresh campaign
    config = CampaignConfig.from_toml(HERE / "campaigns" / "lipon_interface.toml", chamber)
    print(f"\ncampaign {config.name}: {budget} runs of the stochastic twin, {len(config.space)} dimensions, "
          f"strategy {config.strategy}, seed {config.seed}")
    print("  each run is simulated, then the optimiser proposes the next (progress bar below)", flush=True)
    with CampaignStore(store_path) as store:
        cid = open_campaign(store, config, chamber)
        summary = Runner(store, cid, budget=budget, progress=True).run()
        print("writing the HTML report...", flush=True)
        write_report(store, cid, report_path)
        trials = store.trials(cid)
    if summary.best is None:
        print("no successful run")
        return store_path, report_path
    trial, outcome = summary.best
    recipe = Recipe.from_dict(trial.recipe)
    in_run = simulate(recipe, chamber_before(chamber, trials, trial), deterministic=True).interface_resistance_ohm_cm2
    vented = simulate(recipe, chamber, deterministic=True).interface_resistance_ohm_cm2
    print(f"best of {summary.used} runs: {trial.name}, measured R_int {outcome.value:.2f} Ω·cm² beside the "
          f"paper's {PAPER_OHM_CM2} Ω·cm²\n  expected (deterministic twin): {in_run:.2f} Ω·cm² in the chamber as it "
          f"was for that run, {vented:.2f} Ω·cm² right after a vent")
    for name in config.space.names:
        print(f"  {name:<30} {getattr(recipe, name):>10.4g}")
    rec = recommended_trial(config, chamber, trials)
    if rec is not None:
        rt, predicted = rec
        expected = simulate(Recipe.from_dict(rt.recipe), chamber_before(chamber, trials, rt),
                            deterministic=True).interface_resistance_ohm_cm2
        print(f"recommended by the model: {rt.name}, predicted R_int {predicted:.2f} Ω·cm², expected "
              f"(deterministic twin) {expected:.2f} Ω·cm²" + (" (the best measured run)" if rt.id == trial.id else ""))
    return store_path, report_path


def next_steps(store_path: Path, report_path: Path) -> str:
    """What to open or run after the demo: the report, the dashboard on the demo store, the CLI status."""
    exe = Path(sys.executable).with_name("sputter-twin")
    cmd = str(exe.relative_to(ROOT)) if exe.is_relative_to(ROOT) else "sputter-twin"
    rel = [str(p.relative_to(ROOT)) if p.is_relative_to(ROOT) else str(p) for p in (store_path, report_path)]
    return ("\nnext:\n"
            f"  open the report in a browser:  {rel[1]}\n"
            f"  review in the dashboard:       {cmd} dashboard --store {rel[0]}   (then open http://127.0.0.1:8050)\n"
            f"  the campaign on the command line: {cmd} campaign status --store {rel[0]}")


def main(argv: list[str] | None = None) -> None:
    import argparse

    parser = argparse.ArgumentParser(description="the sputter-twin demo (make demo)")
    parser.add_argument("--budget", type=int, default=30, help="campaign runs (default 30)")
    parser.add_argument("--out", type=Path, default=OUT, help="folder of the store and the report (default out/)")
    args = parser.parse_args(argv)
    chamber = Chamber.from_toml(HERE / "chambers" / "default.toml")
    haruta_comparison(chamber)
    store_path, report_path = campaign(chamber, args.budget, args.out)
    print(f"store: {store_path}\nreport: {report_path}")
    print(next_steps(store_path, report_path))


if __name__ == "__main__":
    main()
