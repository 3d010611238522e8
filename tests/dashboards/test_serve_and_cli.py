"""Serving safety (loopback by default, a token otherwise) and ``sputter-twin dashboard``'s bad inputs."""

from __future__ import annotations

import hashlib
import os
import socket
import sqlite3
import subprocess
import sys
import urllib.error
import urllib.request
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from dashboards.errors import DashboardError
from dashboards.serve import TOKEN_COOKIE, TOKEN_HEADER, check_bind, is_loopback, start
from sputter_twin.cli.main import main

ROOT = Path(__file__).resolve().parents[2]


def _sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _get(url: str, headers: dict[str, str] | None = None):
    req = urllib.request.Request(url, headers=headers or {})
    try:
        with urllib.request.urlopen(req, timeout=10) as resp:  # noqa: S310 - loopback test server
            return resp.status, resp.headers, resp.read().decode()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.headers, exc.read().decode()


def test_bind_policy():
    for host in ("127.0.0.1", "localhost", "::1", "127.0.0.2"):
        assert is_loopback(host)
        check_bind(host, None)
    for host in ("0.0.0.0", "192.168.1.5", "::", "example.org"):  # noqa: S104 - that is what is refused
        assert not is_loopback(host)
        with pytest.raises(DashboardError, match="needs --token"):
            check_bind(host, None)
        check_bind(host, "a-long-enough-token")
    with pytest.raises(DashboardError, match="too short"):
        check_bind("127.0.0.1", "short")


def test_token_checked_on_every_request(store_path):
    from dashboards.app import create_app

    token = "s3cret-token-for-tests"
    running = start(create_app(store_path, token=token).server)
    try:
        for path in ("/", "/campaign/1", "/_dash-layout", "/_dash-dependencies"):
            status, _, body = _get(running.url + path)
            assert status == 401 and "token" in body
        # the page's callback endpoint too: an approval cannot be posted without the token
        req = urllib.request.Request(running.url + "/_dash-update-component", data=b"{}", method="POST",
                                     headers={"Content-Type": "application/json"})
        with pytest.raises(urllib.error.HTTPError) as err:
            urllib.request.urlopen(req, timeout=10)  # noqa: S310
        assert err.value.code == 401
        assert _get(running.url + "/", {TOKEN_HEADER: "wrong-token-wrong"})[0] == 401
        assert _get(running.url + "/_dash-layout", {TOKEN_HEADER: token})[0] == 200
        status, headers, _ = _get(f"{running.url}/?token={token}")
        cookie = headers.get("Set-Cookie", "")
        assert status == 200 and cookie.startswith(f"{TOKEN_COOKIE}=") and "HttpOnly" in cookie
        assert "SameSite=Strict" in cookie
        assert _get(running.url + "/_dash-layout", {"Cookie": f"{TOKEN_COOKIE}={token}"})[0] == 200
    finally:
        running.stop()


def _run_cli(args: list[str], capsys) -> tuple[int, str, str]:
    code = main(args)
    out, err = capsys.readouterr()
    return code, out, err


def test_missing_store_is_one_line_exit_2(tmp_path, capsys):
    missing = tmp_path / "nope.sqlite"
    code, _, err = _run_cli(["dashboard", "--store", str(missing)], capsys)
    assert code == 2 and err.count("\n") == 1 and "no such file" in err and str(missing) in err
    assert not missing.exists()  # nothing created


@pytest.mark.parametrize("kind", ["empty", "text", "other-sqlite", "directory"])
def test_not_a_store_is_one_line_exit_2_and_untouched(tmp_path, capsys, kind):
    path = tmp_path / "x.sqlite"
    if kind == "empty":
        path.write_bytes(b"")
    elif kind == "text":
        path.write_text("[campaign]\nname = 'x'\n")
    elif kind == "other-sqlite":
        con = sqlite3.connect(path)
        con.execute("CREATE TABLE t (x)")
        con.commit()
        con.close()
    else:
        path.mkdir()
    before = None if path.is_dir() else _sha(path)
    code, _, err = _run_cli(["dashboard", "--store", str(path)], capsys)
    assert code == 2 and err.count("\n") == 1, err
    assert "campaign store" in err and "Traceback" not in err
    if before is not None:
        assert _sha(path) == before


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.binary(min_size=1, max_size=4096))
def test_fuzzed_store_files_are_refused_without_change(tmp_path, capsys, data):
    path = tmp_path / "fuzz.sqlite"
    path.write_bytes(data)
    for extra in (path.with_name("fuzz.sqlite-wal"), path.with_name("fuzz.sqlite-shm")):
        extra.unlink(missing_ok=True)
    code, _, err = _run_cli(["dashboard", "--store", str(path)], capsys)
    assert code == 2 and err.count("\n") == 1 and "Traceback" not in err
    assert path.read_bytes() == data


def test_public_host_without_token_is_refused(store_path, capsys):
    before = _sha(store_path)
    code, _, err = _run_cli(["dashboard", "--store", str(store_path), "--host", "0.0.0.0"], capsys)  # noqa: S104
    assert code == 2 and "needs --token" in err and err.count("\n") == 1
    assert _sha(store_path) == before


def test_port_in_use_is_one_line_exit_2(store_path, capsys):
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        s.listen(1)
        port = s.getsockname()[1]
        code, _, err = _run_cli(["dashboard", "--store", str(store_path), "--port", str(port)], capsys)
    assert code == 2 and "cannot listen" in err and err.count("\n") == 1


def test_cli_serves_the_store(store_path):
    """``sputter-twin dashboard`` in its own process: prints its URL, answers, stops on SIGINT."""
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    proc = subprocess.Popen([sys.executable, "-m", "sputter_twin", "dashboard", "--store", str(store_path),
                             "--port", "0"], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=ROOT,
                            env=env)
    try:
        line = proc.stdout.readline()
        assert "sputter-twin dashboard on http://127.0.0.1:" in line, (line, proc.stderr.read())
        url = line.split(" on ")[1].split()[0]
        status, _, body = _get(url)
        assert status == 200 and ("_dash-renderer" in body or "dash_renderer" in body)
        assert _get(url.rstrip("/") + "/_dash-layout")[0] == 200
    finally:
        proc.send_signal(2)
        proc.wait(timeout=20)
    assert proc.returncode == 0


def test_cross_site_posts_and_foreign_host_names_are_refused(store_path):
    """A web page elsewhere cannot make the reviewer's browser approve a recipe (CSRF, DNS rebinding)."""
    from dashboards.app import create_app

    running = start(create_app(store_path).server)
    body = b'{"output": "decision-msg.children", "outputs": {"id": "decision-msg", "property": "children"}}'
    try:
        def post(headers):
            req = urllib.request.Request(running.url + "/_dash-update-component", data=body, method="POST",
                                         headers={"Content-Type": "application/json", **headers})
            try:
                with urllib.request.urlopen(req, timeout=10) as resp:  # noqa: S310
                    return resp.status
            except urllib.error.HTTPError as exc:
                return exc.code

        assert post({"Origin": "http://evil.example"}) == 403
        assert post({"Origin": running.url.replace("127.0.0.1", "localhost")}) == 403
        assert post({"Origin": running.url}) != 403  # the page's own origin gets through the guard
        assert _get(running.url + "/", {"Host": "rebound.example:80"})[0] == 403
        assert _get(running.url + "/")[0] == 200
    finally:
        running.stop()
