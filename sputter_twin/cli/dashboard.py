"""``sputter-twin dashboard --store FILE``: the review app in the browser."""

from __future__ import annotations

import os
from pathlib import Path

from twin import Chamber

DEFAULT_REFRESH_MS = 2000  # dashboards.app.DEFAULT_REFRESH_MS; dash loads only when the dashboard runs

TOKEN_ENV = "SPUTTER_TWIN_DASHBOARD_TOKEN"


def register(sub) -> None:
    p = sub.add_parser("dashboard", help="review proposed recipes and campaign history in the browser")
    p.add_argument("--store", type=Path, required=True, help="campaign store (SQLite) to show")
    p.add_argument("--host", default="127.0.0.1",
                   help="address to bind (default 127.0.0.1; any non-loopback address requires --token)")
    p.add_argument("--port", type=int, default=8050, help="port (default 8050; 0 picks a free one)")
    p.add_argument("--token", default=None,
                   help=f"access token every request must carry (?token=... once in the browser); "
                        f"default: ${TOKEN_ENV} if set")
    p.add_argument("--chamber", type=Path, help="chamber TOML for the twin's predictions and limit margins")
    p.add_argument("--refresh-ms", type=int, default=DEFAULT_REFRESH_MS, help="page refresh interval [ms]")
    p.set_defaults(func=run)


def run(args) -> int:
    from dashboards.app import create_app
    from dashboards.errors import DashboardError
    from dashboards.serve import check_bind, serve_forever

    token = args.token if args.token is not None else os.environ.get(TOKEN_ENV) or None
    check_bind(args.host, token)
    if not 0 <= args.port <= 65535:
        raise DashboardError("--port", args.port, "not a TCP port", "0..65535")
    if args.refresh_ms < 200:
        raise DashboardError("--refresh-ms", args.refresh_ms, "too short", ">= 200 ms")
    chamber = Chamber.from_toml(args.chamber) if args.chamber else None
    app = create_app(args.store, token=token, chamber=chamber, refresh_ms=args.refresh_ms)
    suffix = "/?token=<token>" if token else "/"

    def ready(url: str) -> None:
        print(f"sputter-twin dashboard on {url}{suffix}  (Ctrl-C stops it)", flush=True)

    try:
        serve_forever(app.server, args.host, args.port, on_ready=ready)
    except KeyboardInterrupt:
        return 0
    return 0
