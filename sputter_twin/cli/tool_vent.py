"""``sputter-twin tool vent``: log that the process chamber was vented, so that the campaign's next run starts
0 h and 0 runs after a vent (its context, :mod:`campaigns.context`), on a simulated tool as on a real one."""

from __future__ import annotations

from pathlib import Path

from campaigns.context import VENT_EVENT, context_now
from campaigns.errors import CampaignError
from campaigns.runner import load_campaign


def register_under(tsub) -> None:
    v = tsub.add_parser("vent", help="log a vent of the process chamber in a campaign store (the next run's context "
                                     "starts from 0 h since vent)")
    v.add_argument("--store", type=Path, required=True, metavar="FILE", help="SQLite campaign store")
    v.add_argument("--campaign", help="campaign name (default: the only campaign in the store)")
    v.add_argument("--note", default="", help="why (kept in the event log)")
    v.add_argument("--actor", default=None, help="who vented (default: the login name)")
    v.set_defaults(func=cmd_vent)


def cmd_vent(args) -> int:
    from sputter_twin.cli.campaign import _campaign_id, _open, _user

    with _open(args.store) as store:
        cid = _campaign_id(store, args.campaign)
        _, config, chamber = load_campaign(store, cid)
        running = [t for t in store.trials(cid) if t.state == "running"]
        if running:
            raise CampaignError("--campaign", config.name, f"{running[0].name} is running; log the vent after it "
                                "has finished", "a campaign with no run in progress", source=str(store.path))
        store.log_event(None, VENT_EVENT, {"note": args.note} if args.note else {}, actor=_user(args.actor),
                        campaign_id=cid)
        now = context_now(chamber, store.trials(cid), store.events(cid))
    print(f"vent logged for campaign {config.name}: the next run starts {now['hours_since_vent']:g} h and "
          f"{int(now.get('runs_since_vent', 0))} runs after a vent (target {now.get('target_kwh', 0):.1f} kWh, "
          f"shields {now.get('shield_kwh', 0):.1f} kWh)")
    return 0
