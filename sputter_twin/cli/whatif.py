"""``sputter-twin whatif SCENARIO.toml --out FILE.parquet``: what-if simulations at scale, on Dask."""

from __future__ import annotations

import logging
import sys
from pathlib import Path

from twin.errors import InputError

log = logging.getLogger(__name__)

REPORT_SAMPLE_ROWS = 20_000
"""At most this many sweep runs (a seeded random sample) go into the HTML report's scatter plots."""


def register(sub) -> None:
    p = sub.add_parser("whatif", help="run a what-if scenario (sweeps, Monte Carlo, sensitivity) on Dask",
                       description="Run every run of a scenario on a Dask cluster, write one row per run to "
                                   "Parquet, print a summary per variation and the global sensitivity.")
    p.add_argument("scenario", type=Path, help="scenario TOML file (see examples/scenarios/)")
    p.add_argument("--out", type=Path, required=True, metavar="FILE.parquet", help="Parquet file of the runs")
    p.add_argument("--report", type=Path, metavar="FILE.html", help="also write an HTML report with plotly figures")
    p.add_argument("--scheduler", metavar="ADDRESS",
                   help="address of an existing Dask scheduler (tcp://HOST:PORT); default: a local cluster")
    p.add_argument("--workers", type=int, metavar="N", help="worker processes of the local cluster (default: cores)")
    p.add_argument("--chunk-size", type=int, metavar="N", help="runs per task (default: chosen from the size)")
    p.add_argument("--connect-timeout", type=float, default=5.0, metavar="S",
                   help="seconds to wait for the scheduler and its workers (default 5)")
    prog = p.add_mutually_exclusive_group()
    prog.add_argument("--progress", dest="progress", action="store_true", default=None,
                      help="always show the progress bar (default: when standard error is a terminal)")
    prog.add_argument("--no-progress", dest="progress", action="store_false", help="never show the progress bar")
    p.set_defaults(func=run)


def _check_args(args) -> None:
    from campaigns.whatif.runner import parse_scheduler_address  # pyarrow and Dask load only for whatif

    if args.out.suffix.lower() not in (".parquet", ".pq"):
        raise InputError("--out", str(args.out), "unknown file type", ".parquet | .pq")
    if args.out.is_dir():
        raise InputError("--out", str(args.out), "is a directory", "a Parquet file name")
    if not args.out.parent.is_dir():
        raise InputError("--out", str(args.out), "directory does not exist", "a file in an existing directory")
    if args.report is not None:
        if args.report.suffix.lower() not in (".html", ".htm"):
            raise InputError("--report", str(args.report), "unknown file type", ".html")
        if not args.report.parent.is_dir():
            raise InputError("--report", str(args.report), "directory does not exist",
                             "a file in an existing directory")
    if args.workers is not None and args.workers < 1:
        raise InputError("--workers", args.workers, "too small", ">= 1")
    if args.workers is not None and args.scheduler:
        raise InputError("--workers", args.workers, "applies to the local cluster only, not with --scheduler",
                         "omit --workers or --scheduler")
    if args.scheduler:
        parse_scheduler_address(args.scheduler)
    if args.chunk_size is not None and args.chunk_size < 1:
        raise InputError("--chunk-size", args.chunk_size, "too small", ">= 1")
    if not args.connect_timeout > 0:
        raise InputError("--connect-timeout", args.connect_timeout, "must be positive", "> 0 s")


def run(args) -> int:
    from campaigns.whatif import (
        Plan,
        Scenario,
        format_sensitivity,
        format_summary,
        read_runs,
        run_plan,
        sensitivity,
        summarize,
    )
    from campaigns.whatif.plan import SENSITIVITY, SWEEP

    _check_args(args)
    verbose = getattr(args, "verbose", 0)
    if verbose < 2:
        # Dask's own lines only with -v (warnings) or -vv (everything): the runner says in one line what a lost
        # worker or a failed cluster means for the study, where Dask would log each step with its traceback
        import distributed  # noqa: F401  (configures its loggers on import; quieten them after)

        level = logging.WARNING if verbose else logging.CRITICAL + 1  # even its CRITICAL lines on a closing comm
        # Dask's logging config gives some of its loggers a level of their own (distributed.client: warning)
        for name in ["distributed", *(n for n in logging.root.manager.loggerDict if n.startswith("distributed."))]:
            logging.getLogger(name).setLevel(level)
    scenario = Scenario.from_toml(args.scenario)
    plan = Plan(scenario)
    print(f"scenario: {scenario.name}  (seed {scenario.seed})")
    print(f"design:   {plan.describe()}")
    info = run_plan(plan, args.out, scheduler=args.scheduler, workers=args.workers, chunk_runs=args.chunk_size,
                    progress=args.progress, connect_timeout_s=args.connect_timeout)
    lost = info.lost_note()
    print(f"ran {info.runs} runs in {info.wall_s:.1f} s on {info.workers} worker(s) ({info.scheduler} cluster, "
          f"{info.chunks} chunks of ~{info.chunk_runs} runs{'; ' + lost if lost else ''}) -> {info.out}")
    grid = [f.name for f in scenario.grid_factors]
    cols = ["variation", "point", *[f.name for f in scenario.factors], "interface_resistance_ohm_cm2",
            "process_time_s", "shorted", "in_spec"]
    if scenario.runs_per_sequence > 1:
        cols.append("run_in_sequence")
    runs = read_runs(args.out, SWEEP, cols)
    summary = summarize(runs, plan)
    print(f"\nper variation (R_int in Ω·cm²; yield = not shorted and R_int <= "
          f"{scenario.spec_max_interface_resistance_ohm_cm2:g} Ω·cm²; throughput from process time):")
    print(format_summary(summary, plan))
    sens = None
    if plan.n_sens_points:
        sens = sensitivity(read_runs(args.out, SENSITIVITY, ["point", "interface_resistance_ohm_cm2",
                                                             "process_time_s"]), plan)
        print(f"\nglobal sensitivity ({scenario.sensitivity.method}, {plan.n_sens_points} points):")
        print(format_sensitivity(sens))
    if args.report is not None:
        from dashboards.whatif_report import write_report

        sample = runs.sample(n=min(len(runs), REPORT_SAMPLE_ROWS), random_state=scenario.seed) \
            if len(runs) > REPORT_SAMPLE_ROWS else runs
        write_report(args.report, title=scenario.name, description=scenario.description + "\n" + plan.describe(),
                     summary=summary, sensitivity=sens, runs=sample,
                     factors=[f.name for f in scenario.factors] + (["run_in_sequence"] if scenario.runs_per_sequence > 1
                                                                   else []),
                     grid_factors=grid, spec_max_ohm_cm2=scenario.spec_max_interface_resistance_ohm_cm2)
        print(f"report -> {args.report}")
    sys.stdout.flush()
    return 0
