"""Serving the review app: loopback by default, a token for any other address, checked on every request.

The token reaches the server as ``?token=T`` in the first URL (the server then sets an HttpOnly, SameSite=Strict
cookie so the page's own requests carry it), or as the header ``X-Sputter-Token: T`` (scripts).
"""

from __future__ import annotations

import hmac
import ipaddress
import logging
import socket
import threading
from collections.abc import Callable
from dataclasses import dataclass

from flask import Flask, Response, request
from werkzeug.serving import BaseWSGIServer, WSGIRequestHandler, make_server

from dashboards.errors import DashboardError

log = logging.getLogger(__name__)

TOKEN_COOKIE = "sputter_twin_token"
TOKEN_HEADER = "X-Sputter-Token"
MIN_TOKEN_CHARS = 12


def is_loopback(host: str) -> bool:
    """True for addresses only this machine can reach.

    >>> is_loopback("127.0.0.1"), is_loopback("localhost"), is_loopback("::1"), is_loopback("0.0.0.0")
    (True, True, True, False)
    """
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def check_bind(host: str, token: str | None) -> None:
    """Refuse to serve on a non-loopback address without a token, or with a token too short to guess-proof.

    Raises
    ------
    DashboardError
        ``--token`` missing for a non-loopback ``host``, or shorter than :data:`MIN_TOKEN_CHARS`.
    """
    if token is not None and len(token) < MIN_TOKEN_CHARS:
        raise DashboardError("--token", "*" * len(token), "token too short", f">= {MIN_TOKEN_CHARS} characters")
    if not is_loopback(host) and not token:
        raise DashboardError("--host", host, "serving beyond this machine needs --token",
                             "127.0.0.1, ::1 or localhost without a token; any address with --token")


def require_token(server: Flask, token: str) -> None:
    """Make ``server`` answer 401 to every request that does not carry ``token`` (query, cookie or header)."""
    expected = token.encode()

    def _ok(candidate: str | None) -> bool:
        return candidate is not None and hmac.compare_digest(candidate.encode(), expected)

    @server.before_request
    def _check_token():
        if _ok(request.headers.get(TOKEN_HEADER)) or _ok(request.cookies.get(TOKEN_COOKIE)):
            return None
        if _ok(request.args.get("token")):
            request.environ["sputter_twin.set_cookie"] = True
            return None
        return Response("401: this dashboard needs its token (open the URL with ?token=...)\n", status=401,
                        mimetype="text/plain")

    @server.after_request
    def _set_cookie(resp: Response) -> Response:
        if request.environ.get("sputter_twin.set_cookie"):
            resp.set_cookie(TOKEN_COOKIE, token, httponly=True, samesite="Strict")
        return resp


class _QuietHandler(WSGIRequestHandler):
    """Request lines go to the ``dashboards.serve`` logger at debug level, not to standard error."""

    def log_request(self, code="-", size="-") -> None:
        log.debug("%s %s %s", self.command, self.path, code)


def guard_origin(server: Flask, host: str) -> None:
    """Refuse requests another web site makes the reviewer's browser send (cross-site POSTs to 127.0.0.1) and,
    on a loopback address, requests for another host name (DNS rebinding): 403.

    A page's own callbacks are same-origin: their ``Origin`` names the host the page came from.
    """
    loopback = is_loopback(host)
    if getattr(server, "_sputter_twin_guarded", False):
        return
    server._sputter_twin_guarded = True  # one guard per app, however often it is served

    @server.before_request
    def _check_origin():
        name = (request.host or "").rsplit(":", 1)[0].strip("[]")
        if loopback and not is_loopback(name):
            return Response("403: unexpected Host header\n", status=403, mimetype="text/plain")
        origin = request.headers.get("Origin")
        if request.method not in ("GET", "HEAD", "OPTIONS") and origin is not None \
                and origin != f"{request.scheme}://{request.host}":
            return Response("403: cross-site request refused\n", status=403, mimetype="text/plain")
        return None


@dataclass
class RunningServer:
    """A server started by :func:`start`: its URL, and :meth:`stop`."""

    server: BaseWSGIServer
    thread: threading.Thread
    url: str

    def stop(self) -> None:
        self.server.shutdown()
        self.thread.join(timeout=10)
        self.server.server_close()


def _bind(server: Flask, host: str, port: int) -> BaseWSGIServer:
    """A threaded WSGI server listening on ``host:port``; an address that cannot be bound is a DashboardError.

    Werkzeug reports a busy port by printing and exiting; the address is tried here first so the message is
    ours (one line) and the caller decides.
    """
    allowed = "a free port on an address of this machine"
    guard_origin(server, host)
    try:
        family = socket.AF_INET6 if ":" in host else socket.AF_INET
        with socket.socket(family, socket.SOCK_STREAM) as probe:
            probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            probe.bind((host, port))
        return make_server(host, port, server, threaded=True, request_handler=_QuietHandler)
    except OSError as exc:
        raise DashboardError("--port", port, f"cannot listen on {host}: {exc.strerror or exc}", allowed) from None
    except SystemExit:  # werkzeug's own report of a bind failure (the port was taken between probe and bind)
        raise DashboardError("--port", port, f"cannot listen on {host}", allowed) from None


def start(server: Flask, host: str = "127.0.0.1", port: int = 0) -> RunningServer:
    """Serve a Flask app (a Dash app's ``.server``) in a background thread; ``port=0`` picks a free port."""
    httpd = _bind(server, host, port)
    thread = threading.Thread(target=httpd.serve_forever, name="dashboard-server", daemon=True)
    thread.start()
    shown = f"[{host}]" if ":" in host else host
    return RunningServer(httpd, thread, f"http://{shown}:{httpd.server_port}")


def serve_forever(server: Flask, host: str = "127.0.0.1", port: int = 8050,
                  on_ready: Callable[[str], None] | None = None) -> None:
    """Serve in this thread until interrupted; ``on_ready(url)`` is called once the socket listens.

    Raises
    ------
    DashboardError
        The address cannot be bound (port in use, address not on this machine, no permission).
    """
    httpd = _bind(server, host, port)
    shown = f"[{host}]" if ":" in host else host
    url = f"http://{shown}:{httpd.server_port}"
    log.info("dashboard on %s", url)
    if on_ready is not None:
        on_ready(url)
    try:
        httpd.serve_forever()
    finally:
        httpd.server_close()
