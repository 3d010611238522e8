"""``sputter-twin campaign calibrate``: fit the twin's uncertain parameters to a campaign's measured runs.

Wiring: ``sputter_twin/cli/campaign.py`` calls :func:`register_under` with its sub-command parsers
(``campaign calibrate``).

Writes the calibrated chamber TOML (with provenance in its header) and prints the fit: parameters before and
after, their uncertainty, which ones the runs could not identify, and the residuals. Refuses (exit status 2, one
line) a campaign with too few finished runs, unknown parameter names, or a chamber other than the campaign's.
"""

from __future__ import annotations

import json
import math
import os
import tempfile
from pathlib import Path

from campaigns.store import CampaignStore
from twin import Chamber


def register_under(campaign_subparsers) -> None:
    """Add ``calibrate`` to the ``campaign`` command's sub-parsers."""
    c = campaign_subparsers.add_parser(
        "calibrate", help="fit the chamber's uncertain model parameters to the campaign's measured runs")
    c.add_argument("--store", type=Path, required=True, metavar="FILE", help="SQLite campaign store")
    c.add_argument("--campaign", help="campaign name (default: the only campaign in the store)")
    c.add_argument("--out", type=Path, required=True, metavar="CHAMBER.toml", help="calibrated chamber file to write")
    c.add_argument("--chamber", type=Path, metavar="CHAMBER.toml",
                   help="twin to calibrate (default: the campaign's own chamber); must be the campaign's chamber "
                        "(same name), e.g. an earlier calibration of it")
    c.add_argument("--parameters", default=None, metavar="A,B,...",
                   help="comma-separated section.field names (default: the [A]/[M] parameters the "
                        "twin is most sensitive to; the fit report lists them)")
    c.add_argument("--sigma", type=float, metavar="S", help="measurement noise of log R_int (default: the chamber's "
                                                           "noise.resistance_rel_sigma)")
    c.add_argument("--no-rate", action="store_true", help="ignore the runs' deposition rates")
    c.add_argument("--loss", default="linear", choices=("linear", "soft_l1", "huber", "cauchy", "arctan"),
                   help="least-squares loss; soft_l1 resists runs spoiled by random events (default: %(default)s)")
    c.add_argument("--json", action="store_true", help="print the fit as one JSON object instead of the report")
    c.set_defaults(func=run)


def _write_atomic(path: Path, text: str) -> None:
    """Write ``text`` to ``path`` through a temporary file in the same folder, so a crash leaves old or new."""
    from campaigns.calibration.errors import CalibrationError

    folder = path.parent if str(path.parent) else Path(".")
    if not folder.is_dir():
        raise CalibrationError("--out", str(path), "folder does not exist", "a path in an existing folder")
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=folder)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(text)
        # mkstemp makes the file private (0600); a calibrated chamber is for the lab to read, as any file it
        # writes: 0644 under the usual umask
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(tmp, 0o666 & ~umask)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def run(args) -> int:
    # scipy's optimiser loads only when a calibration runs: every other command starts faster
    from campaigns.calibration import (
        DEFAULT_PARAMETERS,
        CalibrationError,
        calibrate,
        measurements_from_store,
        parse_parameters,
    )

    parameters = parse_parameters(args.parameters or ",".join(DEFAULT_PARAMETERS))
    if args.sigma is not None and not (math.isfinite(args.sigma) and args.sigma > 0):
        raise CalibrationError("--sigma", args.sigma, "must be a positive number", "> 0")
    if args.out.exists() and args.out.is_dir():
        raise CalibrationError("--out", str(args.out), "is a directory", "a file path")
    if not args.store.exists():
        raise CalibrationError("--store", str(args.store), "file not found")
    with CampaignStore(args.store, create=False) as store:
        chamber, runs, name = measurements_from_store(store, args.campaign, use_rate=not args.no_rate)
    if args.chamber is not None:
        chamber = Chamber.from_toml(args.chamber)
    try:  # refuses too few runs, unknown parameters, and a chamber other than the one the runs were made on
        fit = calibrate(runs, chamber, parameters, sigma_log=args.sigma, loss=args.loss)
    except CalibrationError as exc:
        raise exc.with_source(str(args.store)) from None
    _write_atomic(args.out, fit.to_toml(source=f"{args.store} campaign {name!r}"))
    if args.json:
        print(json.dumps({
            "campaign": name, "chamber": fit.chamber.name, "runs": fit.n_runs, "out": str(args.out),
            "parameters": [{"name": p.name, "before": p.initial, "after": p.value, "rel_std": p.std_log,
                            "interval95": list(p.interval95), "identified": p.identified} for p in fit.parameters],
            "unidentified": list(fit.unidentified), "weak_directions": list(fit.weak_directions),
            "rms_log_residual_before": fit.rms_error(before=True), "rms_log_residual_after": fit.rms_error(),
            "reduced_chi2": None if math.isnan(fit.reduced_chi2) else fit.reduced_chi2,
            "converged": fit.success}))
    else:
        print(f"campaign {name!r}")
        print(fit.report())
        print(f"calibrated chamber written to {args.out}")
    return 0
