"""``sputter-twin campaign``: run, inspect and review optimisation campaigns kept in a SQLite store."""

from __future__ import annotations

import argparse
import getpass
import textwrap
from pathlib import Path

from campaigns.config import CampaignConfig
from campaigns.context import context_now, models_context
from campaigns.errors import CampaignError
from campaigns.importer import describe as describe_import
from campaigns.records import is_imported, runs_used
from campaigns.runner import (
    Runner,
    best_trial,
    check_tool_extras,
    load_campaign,
    model_summary,
    open_campaign,
    propose,
    recommended_trial,
)
from campaigns.store import CampaignStore
from campaigns.tool_outcomes import check_tool_outcomes
from sputter_twin.cli.slips import campaign_slips, warn
from sputter_twin.cli.tables import recipe_line, trials_table
from twin import Chamber, load_tool
from twin.display import fmt
from twin.errors import InputError


def register(sub) -> None:
    p = sub.add_parser("campaign", help="optimisation campaigns: run, status, propose, approve, reject, measure, "
                                        "export, report, calibrate, import")
    cs = p.add_subparsers(dest="campaign_command", required=True, parser_class=type(p))

    r = cs.add_parser("run", help="run (or resume) a campaign until its budget is spent or people must act")
    r.add_argument("campaign_file", type=Path, metavar="CAMPAIGN.toml")
    r.add_argument("--store", type=Path, required=True, metavar="FILE", help="SQLite campaign store")
    r.add_argument("--chamber", type=Path, metavar="REALITY.toml",
                   help="chamber the simulated tool runs in (default: the campaign's own chamber); rehearses a "
                        "campaign on a tool that differs from its twin")
    r.add_argument("--twin-chamber", type=Path, metavar="CHAMBER.toml",
                   help="the campaign's own chamber: tool limits and the twin behind twin-prior "
                        "(default: built-in default chamber)")
    r.add_argument("--budget", type=int, help="total number of runs (overrides the file)")
    r.add_argument("--seed", type=int, help="seed (overrides the file; must match when resuming)")
    r.add_argument("--max-runs", type=int, help="stop after this many runs in this invocation")
    r.add_argument("--no-progress", action="store_true", help="no progress bar")
    r.set_defaults(func=cmd_run)

    def store_args(q, campaign: bool = True):
        q.add_argument("--store", type=Path, required=True, metavar="FILE", help="SQLite campaign store")
        if campaign:
            q.add_argument("--campaign", help="campaign name (default: the only campaign in the store)")

    s = cs.add_parser("status", help="trials, their states and the best recipe so far (several goals: the "
                                     "Pareto front, the hypervolume and the predicted front)")
    store_args(s)
    s.set_defaults(func=cmd_status)

    q = cs.add_parser("propose", help="propose the next batch (for review) without running it")
    q.add_argument("campaign_file", type=Path, nargs="?", metavar="CAMPAIGN.toml",
                   help="campaign file (needed the first time; later the store's copy is used)")
    store_args(q)
    q.add_argument("--chamber", type=Path, help="chamber TOML for a new campaign")
    q.add_argument("--n", type=int, help="how many recipes (default: the batch size)")
    q.add_argument("--front-point", type=int, metavar="K",
                   help="multi-objective campaigns: propose point K of the model's predicted front (the K column of "
                        "`campaign status`) for review instead of asking the strategy")
    q.add_argument("--reviewer", default=None, help="who picked the front point (default: the login name)")
    q.set_defaults(func=cmd_propose)

    for name, helptext in (("approve", "approve proposed trials"), ("reject", "reject proposed trials")):
        a = cs.add_parser(name, help=helptext)
        a.add_argument("trials", type=_trial_id, nargs="+", metavar="TRIAL",
                       help="trial numbers as status, the report and the dashboard show them (5 or 'trial 5')")
        store_args(a, campaign=False)
        a.add_argument("--reviewer", default=None, help="who decides (default: the login name)")
        a.add_argument("--comment", default="", required=name == "reject", help="why")
        a.set_defaults(func=cmd_approve if name == "approve" else cmd_reject)

    m = cs.add_parser("measure", help="enter the measured interface resistance of a trial awaiting measurement")
    m.add_argument("trial", type=_trial_id, metavar="TRIAL",
                   help="trial number as status, the report and the dashboard show it (5 or 'trial 5')")
    m.add_argument("--interface-resistance", type=float, required=True, metavar="OHM_CM2")
    store_args(m, campaign=False)
    m.add_argument("--actor", default=None, help="who measured (default: the login name)")
    m.set_defaults(func=cmd_measure)

    e = cs.add_parser("export", help="one row per trial as CSV or Parquet")
    store_args(e)
    e.add_argument("--format", choices=("csv", "parquet"), required=True)
    e.add_argument("--out", type=Path, required=True, metavar="FILE")
    e.set_defaults(func=cmd_export)

    h = cs.add_parser("report", help="self-contained HTML report (plotly)")
    store_args(h)
    h.add_argument("--html", type=Path, required=True, metavar="FILE")
    h.set_defaults(func=cmd_report)

    from sputter_twin.cli.calibrate import register_under  # campaign calibrate (issue 4)

    register_under(cs)
    from sputter_twin.cli.campaign_import import register_under as register_import  # campaign import (issue 16)

    register_import(cs)

    from sputter_twin.cli.maintenance import register_under as register_maintenance  # issue 16

    register_maintenance(cs)

def _trial_id(text: str) -> int:
    """A trial number as every surface shows it: ``5``, ``trial 5`` or ``trial5`` (the store's trial id).

    ``#5`` is refused: older versions showed a trial's position in its campaign that way, a different number.
    """
    t = text.strip().lower().removeprefix("trial").strip()
    if not t.isdigit():
        raise argparse.ArgumentTypeError(f"{text!r} is not a trial number (allowed: a trial id as shown by "
                                         "`campaign status`, e.g. 5 or 'trial 5')")
    return int(t)


def _user(name: str | None) -> str:
    if name:
        return name
    try:
        return getpass.getuser()
    except (KeyError, OSError):
        return "unknown"


def _open(path: Path) -> CampaignStore:
    return CampaignStore(path, create=False)


def _campaign_id(store: CampaignStore, name: str | None) -> int:
    if name is not None:
        return store.campaign(name).id
    camps = store.campaigns()
    if len(camps) != 1:
        raise CampaignError("--campaign", None, f"the store holds {len(camps)} campaigns; name one",
                            ", ".join(c.name for c in camps) or "none", source=str(store.path))
    return camps[0].id


def _load_new(campaign_file: Path, chamber_file: Path | None) -> tuple[CampaignConfig, Chamber]:
    chamber = Chamber.from_toml(chamber_file) if chamber_file else Chamber()
    config = CampaignConfig.from_toml(campaign_file, chamber)
    warn(str(campaign_file), campaign_slips(config.space))
    try:  # an unknown tool type, extras the tool cannot write or goals it cannot measure: bad input found before
        # the store changes
        cls = load_tool(config.tool.get("type", "simulated"))
        if config.space.extras or config.is_multi:
            tool = cls.from_config(dict(config.tool), chamber)
            check_tool_extras(config, tool)
            check_tool_outcomes(config, tool)
    except InputError as exc:
        raise (exc if exc.source else exc.with_source(str(campaign_file))) from None
    return config, chamber


def cmd_run(args) -> int:
    if args.budget is not None and args.budget < 1:
        raise CampaignError("--budget", args.budget, "budget must be at least one run", ">= 1")
    if args.seed is not None and args.seed < 0:
        raise CampaignError("--seed", args.seed, "must not be negative", ">= 0")
    config, chamber = _load_new(args.campaign_file, args.twin_chamber)
    reality = Chamber.from_toml(args.chamber) if args.chamber else None
    with CampaignStore(args.store) as store:
        cid = open_campaign(store, config, chamber, seed=args.seed, tool_chamber=reality)
        if args.budget is not None:  # the budget in force from now on: status and later resumes read it
            store.set_overrides(cid, {"budget": args.budget}, actor=_user(None))
        summary = Runner(store, cid, budget=args.budget, progress=not args.no_progress,
                         max_runs=args.max_runs).run()
        print(f"campaign {config.name}: {summary.status.replace('_', ' ')}; {summary.used}/{summary.budget} runs "
              f"used, {summary.runs} in this invocation (store {args.store})")
        if summary.status == "awaiting_approval":
            print("proposed trials await approval: sputter-twin campaign status / approve / reject")
        if config.is_multi:
            from campaigns.front import pareto_set
            from sputter_twin.cli.campaign_front import hypervolume_line

            trials = store.trials(cid)
            front = pareto_set(config, trials)
            print(f"measured Pareto front: {len(front)} run(s): {', '.join(r.trial.name for r in front) or 'none'}"
                  "; the front and the predicted front: sputter-twin campaign status")
            print(hypervolume_line(config, trials))
            return 0
        _print_best(summary.best)
    return 0


def _print_best(best) -> None:
    if best is None:
        print("no successful run yet")
        return
    t, o = best
    imported = describe_import(t)
    print(f"best: {t.name}{f', {imported}' if imported else ''}, objective {fmt(o.value)}; interface resistance "
          f"{fmt(t.interface_resistance_ohm_cm2, 'Ω·cm²')} (Haruta et al. 2015: 8.6 Ω·cm²)")
    print(textwrap.indent(recipe_line(t.recipe), "  "))
    if t.extras:  # extra variables sent to the tool beside the recipe
        print("  extras: " + ", ".join(f"{k} = {v:.4g}" if isinstance(v, float) else f"{k} = {v}"
                                       for k, v in t.extras.items()))


def _print_recommended(rec, best, now: dict[str, float] | None = None) -> None:
    if rec is None:
        return
    t, predicted = rec
    same = best is not None and best[0].id == t.id
    where = ""
    if now:
        where = (f" for the chamber as it is now ({now.get('hours_since_vent', 0):.1f} h"
                 + (f" and {int(now['runs_since_vent'])} runs" if "runs_since_vent" in now else "")
                 + f" since the last vent, target {now.get('target_kwh', 0):.1f} kWh)")
    imported = describe_import(t)
    print(f"recommended by the model{where}: {t.name}{f', {imported}' if imported else ''}, predicted objective "
          f"{fmt(predicted)}"
          + (" (the best measured run)" if same else "; the model rates it above the best measured run, whose "
             "measurement it reads as partly luck"))


def _notes(config: CampaignConfig, trials) -> list[str]:
    notes = []
    for t in trials:
        o = config.objective.outcome(t)
        note = o.reason if o is not None and o.failed else ""
        if t.state == "rejected" and t.comment:
            note = f"rejected: {t.comment}"
        imported = describe_import(t)
        if imported:
            note = f"{imported}; {note}" if note else imported
        notes.append(note)
    return notes


def _print_trials(config: CampaignConfig, trials) -> None:
    print(trials_table(trials, config.space.names, config.objective, _notes(config, trials)))
    print(f"predicted: the strategy's model of {config.objective.minimize} when it proposed the trial, its ±1σ "
          "range, and P(fail) its chance that the run fails (- where the strategy has no such model)")


def cmd_status(args) -> int:
    with _open(args.store) as store:
        cid = _campaign_id(store, args.campaign)
        _, config, chamber = load_campaign(store, cid)
        trials = store.trials(cid)
        counts: dict[str, int] = {}
        for t in trials:
            counts[t.state] = counts.get(t.state, 0) + 1
        n_imported = sum(is_imported(t) for t in trials)
        budget = f"budget {config.budget}" + (
            f", {runs_used(trials)} used; {n_imported} imported past runs, not counted" if n_imported else "")
        print(f"campaign {config.name} (strategy {config.strategy}, seed {config.seed}, {budget}): "
              + ", ".join(f"{v} {k}" for k, v in counts.items()))
        if config.is_multi:
            from sputter_twin.cli.campaign_front import print_status

            print_status(config, chamber, trials)
            return 0
        _print_trials(config, trials)
        best = best_trial(config, trials)
        _print_best(best)
        events = store.events(cid)
        _print_recommended(recommended_trial(config, chamber, trials, events=events), best,
                           context_now(chamber, trials, events) if models_context(config) else None)
        summary_line = model_summary(trials)
        if summary_line:
            print(summary_line)
    return 0


def cmd_propose(args) -> int:
    if args.front_point is not None:
        return _propose_front_point(args)
    if args.campaign_file is not None:
        config, chamber = _load_new(args.campaign_file, args.chamber)
        with CampaignStore(args.store) as store:
            cid = open_campaign(store, config, chamber)
            ids = propose(store, cid, config, chamber, args.n, actor=_user(None))
            trials = [store.trial(i) for i in ids]
    else:
        with _open(args.store) as store:
            cid, config, chamber = load_campaign(store, _campaign_id(store, args.campaign))
            ids = propose(store, cid, config, chamber, args.n, actor=_user(None))
            trials = [store.trial(i) for i in ids]
    print(f"proposed {', '.join(t.name for t in trials)}; approve or reject with "
          "`campaign approve TRIAL` / `campaign reject TRIAL`")
    if config.is_multi:
        from sputter_twin.cli.campaign_front import prediction_table

        print(prediction_table(config, trials))
        return 0
    _print_trials(config, trials)
    return 0


def _propose_front_point(args) -> int:
    """``campaign propose --front-point K``: point K of the predicted front, proposed for review."""
    from campaigns.front import propose_front_point
    from sputter_twin.cli.campaign_front import prediction_table

    if args.n is not None:
        raise CampaignError("--n", args.n, "--front-point proposes one recipe; leave out --n", "no --n")
    if args.campaign_file is not None:
        raise CampaignError("--front-point", args.front_point, "picks from a running campaign's predicted front; "
                            "give the store without the campaign file", "--store FILE [--campaign NAME]")
    with _open(args.store) as store:
        cid, config, chamber = load_campaign(store, _campaign_id(store, args.campaign))
        tid = propose_front_point(store, cid, config, chamber, args.front_point, actor=_user(args.reviewer))
        t = store.trial(tid)
    print(f"proposed {t.name}: point {args.front_point} of the predicted front, picked by "
          f"{t.provenance['picked_from_front']['by']}; approve or reject with `campaign approve {t.id}` / "
          f"`campaign reject {t.id}`")
    print(prediction_table(config, [t]))
    print(textwrap.indent(recipe_line(t.recipe), "  "))
    return 0


def cmd_approve(args) -> int:
    with _open(args.store) as store:
        for tid in args.trials:
            t = store.approve(tid, _user(args.reviewer), args.comment)
            print(f"{t.name} approved by {t.reviewer}")
    return 0


def cmd_reject(args) -> int:
    with _open(args.store) as store:
        for tid in args.trials:
            t = store.reject(tid, _user(args.reviewer), args.comment)
            print(f"{t.name} rejected by {t.reviewer}")
    return 0


def cmd_measure(args) -> int:
    with _open(args.store) as store:
        t = store.record_measurement(args.trial, args.interface_resistance, _user(args.actor))
        print(f"{t.name}: interface resistance {fmt(t.interface_resistance_ohm_cm2, 'Ω·cm²')} recorded; done")
    return 0


def cmd_export(args) -> int:
    suffix = args.out.suffix.lower()
    wanted = {"csv": (".csv",), "parquet": (".parquet", ".pq")}[args.format]
    if suffix not in wanted:
        raise CampaignError("--out", str(args.out), f"file suffix does not match --format {args.format}",
                            " | ".join(wanted))
    with _open(args.store) as store:
        df = store.to_dataframe(_campaign_id(store, args.campaign))
    units = df.attrs.get("units", {})  # extra variables carry their unit in the header: "substrate_bias_v [V]"
    df = df.rename(columns={n: f"{n} [{units[n]}]" for n in df.attrs.get("extras", []) if units.get(n)})
    if args.format == "csv":
        df.to_csv(args.out, index=False)
    else:
        df.to_parquet(args.out, index=False)
    print(f"wrote {len(df)} trials to {args.out}")
    return 0


def cmd_report(args) -> int:
    from dashboards.report import write_report

    with _open(args.store) as store:
        write_report(store, _campaign_id(store, args.campaign), args.html)
    print(f"wrote {args.html}")
    return 0
