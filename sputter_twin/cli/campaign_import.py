"""``sputter-twin campaign import``: a lab's past runs (CSV or Parquet) as a head start for a campaign.

Wiring: ``sputter_twin/cli/campaign.py`` calls :func:`register_under` with its sub-command parsers. The rules
(columns, units, validation, duplicates, budget) are :mod:`campaigns.importer`'s.
"""

from __future__ import annotations

import argparse
import getpass
import textwrap
from pathlib import Path

from campaigns.import_columns import CONTEXT_COLUMNS, RESULT_COLUMNS
from campaigns.store import CampaignStore


def _wrap(names) -> str:
    return textwrap.fill(", ".join(names), width=110, initial_indent=" " * 20, subsequent_indent=" " * 20)


EPILOG = f"""\
columns (one row per past run; names without case; a name ending in a unit may use another unit of the same
quantity and is converted: pressure_mtorr, pressure_torr, rf_power_kw, target_substrate_distance_cm,
substrate_temperature_k, pumpdown_h, n2_percent, ...):
  recipe fields     every searched field of the campaign (required); others default to the campaign's [fixed]
                    values, then the recipe's defaults; a fixed field given must equal its fixed value
  results           interface_resistance_ohm_cm2 (required; empty only on a failed or shorted row), and the
                    campaign's objective fields; optional:
{_wrap(n for n in RESULT_COLUMNS if n != 'interface_resistance_ohm_cm2')}
  flags             shorted, failed (true/false/yes/no/1/0; empty = false)
  context           the chamber state the run started in:
{_wrap(CONTEXT_COLUMNS)}
  dates             run_date, started_at, finished_at (ISO 8601; no zone = UTC)
  note              free text, kept as the trial's comment
  extras            each [space.extra.NAME] of the campaign, under its name (required)

Every problem is one line (file, row, column, value, allowed range); any problem refuses the whole file, exit
status 2, and the store is unchanged. Duplicate rows, and a file imported before, are refused. Imported trials
are done (failed where flagged), marked imported, told to every strategy and to calibration, and do not count
against the campaign's budget of new runs.
"""


def register_under(campaign_subparsers) -> None:
    """Add ``import`` to the ``campaign`` command's sub-parsers."""
    c = campaign_subparsers.add_parser(
        "import", help="add a lab's past runs (CSV or Parquet) to a campaign as a head start",
        epilog=EPILOG, formatter_class=argparse.RawDescriptionHelpFormatter)
    c.add_argument("runs", type=Path, metavar="RUNS.csv|RUNS.parquet", help="file of past runs, one row per run")
    c.add_argument("--store", type=Path, required=True, metavar="FILE", help="SQLite campaign store")
    c.add_argument("--campaign", metavar="NAME_OR_ID",
                   help="campaign name or id in the store (default: the only campaign, or --campaign-file's)")
    c.add_argument("--campaign-file", type=Path, metavar="CAMPAIGN.toml",
                   help="create the campaign from this file first if the store does not hold it (as `campaign "
                        "propose` does), so past runs come before its first proposal")
    c.add_argument("--twin-chamber", type=Path, metavar="CHAMBER.toml",
                   help="with --campaign-file: the campaign's own chamber (default: built-in default chamber)")
    c.add_argument("--actor", default=None, help="who imports (default: the login name); in the event log")
    c.set_defaults(func=run)


def _user(name: str | None) -> str:
    if name:
        return name
    try:
        return getpass.getuser()
    except (KeyError, OSError):
        return "unknown"


def _campaign_ref(store: CampaignStore, ref: str | None):
    """A campaign by name, or by id when no campaign has that name; the only one when ``ref`` is None."""
    from campaigns.errors import CampaignError

    if ref is None:
        camps = store.campaigns()
        if len(camps) != 1:
            raise CampaignError("--campaign", None, f"the store holds {len(camps)} campaigns; name one",
                                ", ".join(c.name for c in camps) or "none", source=str(store.path))
        return camps[0].id
    if store.find_campaign(ref) is None and ref.strip().isdigit():
        return store.campaign(int(ref)).id
    return store.campaign(ref).id


def run(args) -> int:
    from campaigns.importer import import_past_runs, read_past_runs

    actor = _user(args.actor)
    if args.campaign_file is not None:
        from campaigns.runner import open_campaign
        from sputter_twin.cli.campaign import _load_new

        config, chamber = _load_new(args.campaign_file, args.twin_chamber)
        if args.campaign is not None and args.campaign != config.name:
            from campaigns.errors import CampaignError

            raise CampaignError("--campaign", args.campaign, "does not name the campaign of --campaign-file",
                                config.name)
        if not args.store.exists() or CampaignStore(args.store, create=False).find_campaign(config.name) is None:
            read_past_runs(args.runs, config, chamber)  # refused before the store or the campaign is created
        with CampaignStore(args.store) as store:
            cid = open_campaign(store, config, chamber)
            ids = import_past_runs(store, cid, args.runs, actor=actor)
            name = config.name
    else:
        with CampaignStore(args.store, create=False) as store:
            cid = _campaign_ref(store, args.campaign)
            ids = import_past_runs(store, cid, args.runs, actor=actor)
            name = store.campaign(cid).name
    with CampaignStore(args.store, create=False) as store:
        trials = [store.trial(i) for i in ids]
    failed = sum(t.state == "failed" for t in trials)
    print(f"imported {len(ids)} past runs from {args.runs} into campaign {name} as trials {ids[0]}–{ids[-1]} "
          f"({len(ids) - failed} done, {failed} failed); they teach every strategy and calibration and do not count "
          "against the budget of new runs")
    return 0
