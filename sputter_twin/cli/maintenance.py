"""``sputter-twin campaign maintenance``: the recommended recipe over the next runs, vent now or later, new target
or worn (:mod:`campaigns.maintenance`, on the what-if engine)."""

from __future__ import annotations

from pathlib import Path

from campaigns.context import context_now
from campaigns.errors import CampaignError
from campaigns.maintenance import maintenance_options
from campaigns.runner import best_trial, load_campaign, recommended_trial
from campaigns.whatif.scenario import DEFAULT_SPEC_MAX_R_INT
from twin import Recipe


def register_under(cs) -> None:
    m = cs.add_parser("maintenance", help="expected R_int and yield of the recommended recipe over the next runs: "
                                          "as is, vent now, vent later, new target")
    m.add_argument("--store", type=Path, required=True, metavar="FILE", help="SQLite campaign store")
    m.add_argument("--campaign", help="campaign name (default: the only campaign in the store)")
    m.add_argument("--runs", type=int, required=True, metavar="N", help="runs ahead to simulate (1-200)")
    m.add_argument("--vent-after", type=int, metavar="K",
                   help="the later vent comes after K of the N runs (default N/2; 0: no such row)")
    m.add_argument("--replicates", type=int, default=20, help="stochastic sequences per option (1-1000; default 20)")
    m.add_argument("--spec", type=float, default=DEFAULT_SPEC_MAX_R_INT, metavar="OHM_CM2",
                   help=f"yield counts runs not shorted with R_int at most this (default {DEFAULT_SPEC_MAX_R_INT:g})")
    m.add_argument("--seed", type=int, default=0, help="seed of the simulated runs (default 0)")
    m.set_defaults(func=cmd_maintenance)


def _check(name: str, value: float, low: float, high: float) -> None:
    if not low <= value <= high:
        raise CampaignError(name, value, "out of range", f"[{low:g}, {high:g}]")


def cmd_maintenance(args) -> int:
    from sputter_twin.cli.campaign import _campaign_id, _open

    _check("--runs", args.runs, 1, 200)
    _check("--replicates", args.replicates, 1, 1000)
    _check("--spec", args.spec, 0.1, 1e6)
    if args.vent_after is not None:
        _check("--vent-after", args.vent_after, 0, args.runs - 1)
    with _open(args.store) as store:
        cid = _campaign_id(store, args.campaign)
        _, config, chamber = load_campaign(store, cid)
        trials, events = store.trials(cid), store.events(cid)
        rec = recommended_trial(config, chamber, trials, events=events)
        pick = rec[0] if rec is not None else (best_trial(config, trials) or (None,))[0]
        if pick is None:
            raise CampaignError("--campaign", config.name, "no successful run yet: nothing to recommend",
                                "a campaign with at least one successful run", source=str(store.path))
        now = context_now(chamber, trials, events)
    recipe = Recipe.from_dict(pick.recipe)
    options = maintenance_options(recipe, chamber, now, args.runs, vent_after=args.vent_after,
                                  replicates=args.replicates, seed=args.seed,
                                  spec_max_interface_resistance_ohm_cm2=args.spec)
    which = "recommended by the model" if rec is not None else "best measured"
    print(f"{which}: {pick.name}; the chamber now: {now.get('hours_since_vent', 0):.1f} h since the last vent, "
          f"target {now.get('target_kwh', 0):.1f} kWh, shields {now.get('shield_kwh', 0):.1f} kWh")
    print(f"next {args.runs} runs of it, {args.replicates} simulated sequences per option (twin, state carried over)")
    print(f"{'option':16s} {'R_int mean':>10s} {'first run':>10s} {'last run':>10s} {'yield':>7s} {'runs/day':>9s}")
    for o in options:
        print(f"{o.name:16s} {o.r_int_mean_ohm_cm2:10.2f} {o.r_int_first_ohm_cm2:10.2f} {o.r_int_last_ohm_cm2:10.2f} "
              f"{o.yield_share:7.0%} {o.runs_per_day:9.2f}")
    print(f"R_int in Ω·cm² (expected, mean over the sequences); yield: not shorted and R_int <= {args.spec:g} Ω·cm²")
    return 0
