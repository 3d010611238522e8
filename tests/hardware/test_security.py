"""OPC UA security against the emulator serving secure endpoints on 127.0.0.1, with certificates generated here.

One RSA-2048 key pair per role (server, client) per session; every certificate is made from them (a certificate
the tool does not trust and an expired one reuse the client's key, a different server certificate the server's).
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import os
import subprocess
import sys

import pytest
from asyncua import Client

from campaigns.store import CampaignStore
from hardware.emulator import EmulatorThread
from hardware.errors import RunAbortedError, RunFaultError
from hardware.mapping import Mapping, MappingError
from hardware.opcua import OpcUaTool
from hardware.security import load_credentials
from hardware.security_client import SecurityRefused, make_client, secure_connect
from hardware.security_server import (
    ServerSecurity,
    make_certificate,
    new_private_key,
    write_certificate,
    write_pki,
)
from sputter_twin.cli.main import main

from .conftest import MAPPING_A, MAPPING_C, ROOT, SPEED
from .test_campaign_e2e import CAMPAIGN
from .test_runs import _assert_safe_state_written, _fault

USER = "operator"
PASSWORD = "Zq7-lipon-Secret!"  # noqa: S105 - a test password, distinctive so that a leak is found by search
WRONG = "not-the-right-one"
PW_ENV = "SPUTTER_TWIN_TEST_OPCUA_PASSWORD"
CLIENT_URI = "urn:sputter-twin:adapter"
SERVER_URI = "urn:sputter-twin:emulator"
POLICIES = ("Basic256Sha256", "Aes128Sha256RsaOaep", "Aes256Sha256RsaPss")


@pytest.fixture(scope="session")
def pki(tmp_path_factory):
    """Server and client certificates (one key pair each), trust folders, and the odd certificates of the
    refusal tests: a client certificate the tool does not trust, an expired one, another server certificate."""
    now = dt.datetime.now(dt.UTC)
    server_key, client_key = new_private_key(), new_private_key()
    folder = tmp_path_factory.mktemp("pki")
    pki = write_pki(folder, now=now, server_key=server_key, client_key=client_key, server_uri=SERVER_URI,
                    client_uri=CLIENT_URI)
    write_certificate(make_certificate(client_key, CLIENT_URI, server=False, now=now), folder / "client_untrusted.der")
    write_certificate(make_certificate(client_key, CLIENT_URI, server=False, now=now, valid_from_days=-30,
                                       valid_to_days=-1), folder / "client_expired.der")
    write_certificate(make_certificate(server_key, SERVER_URI, server=True, now=now), folder / "other" / "server.der")
    return pki


def server_security(pki, **kwargs) -> ServerSecurity:
    kwargs.setdefault("users", {USER: PASSWORD})
    return ServerSecurity.from_files(pki.server_certificate, pki.server_key, trusted_clients=pki.trusted_clients,
                                     **kwargs)


@pytest.fixture(scope="module")
def secure_emu(pki, mapping_a):
    """One secure emulator for the checks and refusals of this module (they write nothing: its write log tells)."""
    with EmulatorThread(mapping_a, speed=SPEED, security=server_security(pki)) as emu:
        yield emu


@pytest.fixture
def password(monkeypatch):
    monkeypatch.setenv(PW_ENV, PASSWORD)


def secure_mapping(folder, pki, name="rf_a_secure.toml", base=MAPPING_A, **keys) -> os.PathLike:
    """rf_a_si.toml (or ``base``) with a [security] table (``key=None`` drops a key of the default table)."""
    table = {"policy": "Basic256Sha256", "mode": "SignAndEncrypt", "certificate": str(pki.client_certificate),
             "private_key": str(pki.client_key), "server_certificate": str(pki.server_certificate), "user": USER,
             "password_env": PW_ENV}
    table.update(keys)
    body = base.read_text().split("\n[security]\n")[0] + "\n\n"
    lines = [f"{k} = {json.dumps(v)}" for k, v in table.items() if v is not None]
    path = folder / name
    path.write_text(body + "[security]\n" + "\n".join(lines) + "\n")
    return path


def check(path, endpoint, capsys, *extra: str) -> tuple[int, str, str]:
    code = main(["tool", "check", "--mapping", str(path), "--endpoint", endpoint, "--timeout", "3", *extra])
    out, err = capsys.readouterr()
    return code, out, err


# -- a secured session ------------------------------------------------------------------------------------------
def test_sign_and_encrypt_run_with_generated_certificates_leaks_no_password(tmp_path, pki, emulator, password,
                                                                           short_recipe, caplog):
    caplog.set_level(logging.DEBUG)
    caplog.set_level(logging.DEBUG, logger="asyncua")
    emu = emulator(security=server_security(pki))
    mapping = Mapping.from_toml(secure_mapping(tmp_path, pki))
    with OpcUaTool(mapping, emu.endpoint) as tool:
        res = tool.run(short_recipe)
        assert PASSWORD not in repr(tool.__dict__)
    assert emu.emulator.runs[0].recipe == short_recipe               # the recipe went through the encrypted channel
    log = res.telemetry.attrs["command_log"]
    assert [e["name"] for e in log] == [sp.field for sp in mapping.setpoints] + ["start"] and all(e["ok"] for e in log)
    for text in (caplog.text, json.dumps(log), repr(res.events), res.telemetry.to_json(), repr(mapping)):
        assert PASSWORD not in text
    assert "identity token not logged" in caplog.text               # asyncua's debug log of the session, redacted


def test_the_emulator_serves_secure_endpoints_only(secure_emu):
    async def plain() -> None:
        client = Client(secure_emu.endpoint, timeout=2)
        try:
            await client.connect()
        finally:
            client.disconnect_socket()

    import asyncio
    with pytest.raises(Exception):  # noqa: B017 - whatever asyncua raises, no session without security
        asyncio.run(asyncio.wait_for(plain(), 8))
    assert secure_emu.write_log == []


@pytest.mark.parametrize("mode", ["Sign", "SignAndEncrypt"])
@pytest.mark.parametrize("policy", POLICIES)
def test_tool_check_reports_the_endpoint_security(tmp_path, pki, secure_emu, password, capsys, policy, mode):
    path = secure_mapping(tmp_path, pki, policy=policy, mode=mode)
    code = main(["tool", "check", "--mapping", str(path), "--endpoint", secure_emu.endpoint, "--json"])
    out = json.loads(capsys.readouterr().out)
    assert code == 0 and out["ok"]
    (used,) = out["security"]
    assert used.startswith(f"{policy}/{mode}; server certificate CN=emulator") and "(pinned)" in used
    assert f"user '{USER}'" in used and "Aes256Sha256RsaPss/SignAndEncrypt" in used   # what the tool offers
    assert "None/None" not in used and PASSWORD not in json.dumps(out)
    assert secure_emu.write_log == []


def test_server_trusted_from_a_folder_and_password_from_a_file(pki, secure_emu, monkeypatch, capsys):
    monkeypatch.delenv(PW_ENV, raising=False)
    secret = pki.folder / "password"
    secret.write_text(PASSWORD + "\n")
    secret.chmod(0o600)
    # paths relative to the mapping file's folder
    path = secure_mapping(pki.folder, pki, certificate="client.der", private_key="client_key.pem",
                          server_certificate=None, trusted_servers="trusted-servers", password_env=None,
                          password_file="password")
    code, out, err = check(path, secure_emu.endpoint, capsys)
    assert code == 0 and err == ""
    assert f"(trusted from {pki.trusted_servers})" in out and "0 problem(s)" in out
    secret.chmod(0o644)
    code, out, err = check(path, secure_emu.endpoint, capsys)
    assert code == 2 and "security.password_file" in err and "readable by others (mode 644)" in err


def test_tool_check_notes_a_tool_that_also_serves_no_security(tmp_path, pki, emulator, password, capsys):
    emu = emulator(security=server_security(pki, allow_none=True))
    code, out, err = check(secure_mapping(tmp_path, pki), emu.endpoint, capsys)
    assert code == 0 and "Basic256Sha256/SignAndEncrypt; server certificate" in out
    notes = [line for line in out.splitlines() if line.startswith("NOTE") and "security" in line]
    assert len(notes) == 1 and "the tool also offers an endpoint without security" in notes[0]


# -- refusals: one line, the documented exit status, nothing written ----------------------------------------------
REFUSALS = {
    # name: (mapping keys, password in the environment, exit status, words of the one line)
    "wrong password": ({}, WRONG, 1, "refused user 'operator': wrong user name or password (BadUserAccessDenied)"),
    "unknown user": ({"user": "mallory"}, PASSWORD, 1, "refused user 'mallory': wrong user name or password"),
    "client certificate not trusted by the tool": ({"certificate": "{pki}/client_untrusted.der"}, PASSWORD, 1,
                                                   "the tool does not trust the client certificate"),
    "expired client certificate": ({"certificate": "{pki}/client_expired.der"}, PASSWORD, 2,
                                   "security.certificate = '{pki}/client_expired.der': the client certificate "
                                   "expired on"),
    "key of another certificate": ({"private_key": "{pki}/server_key.pem"}, PASSWORD, 2,
                                   "security.private_key = '{pki}/server_key.pem': does not belong to the "
                                   "certificate"),
    "untrusted server (pinned)": ({"server_certificate": "{pki}/other/server.der"}, PASSWORD, 1,
                                  "untrusted server: its certificate (CN=emulator,O=sputter-twin, SHA-256"),
    "untrusted server (folder)": ({"server_certificate": None, "trusted_servers": "{pki}/trusted-clients"},
                                  PASSWORD, 1, "is neither in nor issued by a CA in security.trusted_servers"),
    "password variable not set": ({}, None, 2, f"security.password_env = '{PW_ENV}': the environment variable is "
                                               "not set or empty"),
}


def _refusal(pki, name):
    keys, secret, code, words = REFUSALS[name]
    keys = {k: v.format(pki=pki.folder) if isinstance(v, str) else v for k, v in keys.items()}
    return keys, secret, code, words.format(pki=pki.folder)


@pytest.mark.parametrize("name", list(REFUSALS))
def test_refused_by_tool_check_in_one_line(tmp_path, pki, secure_emu, monkeypatch, capsys, name):
    keys, secret, code, words = _refusal(pki, name)
    if secret is None:
        monkeypatch.delenv(PW_ENV, raising=False)
    else:
        monkeypatch.setenv(PW_ENV, secret)
    status, out, err = check(secure_mapping(tmp_path, pki, **keys), secure_emu.endpoint, capsys)
    assert status == code and out == ""
    assert words in err and err.count("\n") == 1 and "Traceback" not in err
    assert PASSWORD not in err
    assert secure_emu.write_log == []


@pytest.mark.parametrize("name", list(REFUSALS))
def test_run_refused_before_any_write(tmp_path, pki, secure_emu, monkeypatch, short_recipe, name):
    keys, secret, code, words = _refusal(pki, name)
    if secret is None:
        monkeypatch.delenv(PW_ENV, raising=False)
    else:
        monkeypatch.setenv(PW_ENV, secret)
    mapping = Mapping.from_toml(secure_mapping(tmp_path, pki, **keys))
    if code == 2:  # found offline, when the tool is built: a bad mapping
        with pytest.raises(MappingError, match="security\\."):
            OpcUaTool(mapping, secure_emu.endpoint)
    else:
        with OpcUaTool(mapping, secure_emu.endpoint) as tool, pytest.raises(RunFaultError) as info:
            tool.run(short_recipe)
        err = info.value
        assert err.reason == "security" and words in str(err) and "\n" not in str(err)
        assert err.command_log == [] and err.safe_state_written          # nothing sent, nothing to undo
    assert secure_emu.write_log == [] and secure_emu.emulator.runs == []


def test_tool_refuses_an_expired_client_certificate_too(tmp_path, pki, secure_emu, password):
    """The adapter refuses its own expired certificate offline; a tool must refuse one too (as the emulator
    does): the adapter's check is bypassed here by loading the credentials as of a month ago."""
    mapping = Mapping.from_toml(secure_mapping(tmp_path, pki, certificate=str(pki.folder / "client_expired.der")))
    creds = load_credentials(mapping.security, mapping.source, now=dt.datetime.now(dt.UTC) - dt.timedelta(days=10))

    async def connect() -> None:
        client = make_client(secure_emu.endpoint, 3, creds)
        try:
            await secure_connect(client, 4)
        finally:
            client.disconnect_socket()

    import asyncio
    with pytest.raises(SecurityRefused, match="expired or not yet valid .*BadCertificateTimeInvalid"):
        asyncio.run(connect())


def test_no_endpoint_with_the_mapping_policy(tmp_path, pki, emulator, mapping_a, password, capsys):
    emu = emulator(security=server_security(pki, policies=["Basic256Sha256"], modes=["SignAndEncrypt"]))
    path = secure_mapping(tmp_path, pki, policy="Aes256Sha256RsaPss", mode="Sign")
    code, out, err = check(path, emu.endpoint, capsys)
    assert code == 1 and err.count("\n") == 1
    assert "the tool offers no Aes256Sha256RsaPss/Sign endpoint (it offers Basic256Sha256/SignAndEncrypt)" in err


def test_no_security_is_refused_unless_the_mapping_allows_it(tmp_path, pki, secure_emu, emulator, mapping_a,
                                                             capsys):
    bare = tmp_path / "bare.toml"
    bare.write_text(MAPPING_A.read_text().split("[security]")[0])        # no [security] table at all
    code, out, err = check(bare, secure_emu.endpoint, capsys)
    assert code == 2 and err.count("\n") == 1 and f"{bare}: security.policy = 'None'" in err
    assert "the tool offers Basic256Sha256/Sign, Basic256Sha256/SignAndEncrypt, Aes128" in err  # what to write
    with pytest.raises(MappingError, match="refused unless the mapping allows it"):
        OpcUaTool(Mapping.from_toml(bare), secure_emu.endpoint)
    # allowed, but this tool serves no endpoint without security: one line, what it offers
    code, out, err = check(MAPPING_A, secure_emu.endpoint, capsys)
    assert code == 1 and err.count("\n") == 1
    assert "the tool offers no endpoint without security (it offers Basic256Sha256/Sign, " in err
    # an unsecured tool, allowed explicitly (the example mapping): checked, and reported as unsecured
    plain = emulator()
    code, out, err = check(MAPPING_A, plain.endpoint, capsys)
    assert code == 0 and "None/None: neither signed nor encrypted (allowed by security.allow_none)" in out
    assert secure_emu.write_log == []


# -- the run path: safe state over a fresh secured connection, a campaign refused ------------------------------
def test_safe_state_written_over_a_fresh_secured_connection(tmp_path, pki, emulator, password, short_recipe):
    emu = emulator(speed=300.0, faults=(_fault("disconnect@presputter"),), security=server_security(pki))
    mapping = Mapping.from_toml(secure_mapping(tmp_path, pki))
    with OpcUaTool(mapping, emu.endpoint) as tool, pytest.raises(RunAbortedError) as info:
        tool.run(short_recipe)
    assert info.value.reason == "connection_lost"
    _assert_safe_state_written(info.value, emu, mapping)


def test_pvd_c_job_run_check_abort_and_reset_over_sign_and_encrypt(tmp_path, pki, emulator, mapping_c, password,
                                                                   short_recipe, capsys, monkeypatch):
    """The second emulator profile serves secure endpoints through the same start-up hook; its job is stored, read
    back and started by methods inside the encrypted session, and every connection the adapter opens to it (the
    run, tool check, abort's fresh one, tool reset) is secured."""
    emu = emulator(mapping_c, speed=300.0, security=server_security(pki))
    path = secure_mapping(tmp_path, pki, "pvd_c_secure.toml", base=MAPPING_C)
    mapping = Mapping.from_toml(path)
    assert mapping.job is not None and mapping.security.mode == "SignAndEncrypt"
    with OpcUaTool(mapping, emu.endpoint) as tool:
        tool.run_id = "camp-trial-9"
        res = tool.run(short_recipe)
        assert emu.emulator.runs[0].recipe == short_recipe             # through the job, in mTorr, sccm and kelvin
        log = res.telemetry.attrs["command_log"]
        assert [(e["name"], e["ok"]) for e in log] == [("job_store", True), ("job_read", True), ("start", True)]
        assert res.telemetry.attrs["job_id"].endswith("camp-trial-9")
        n = len(emu.write_log)
        tool.abort()                                                    # idle: the safe state on a fresh connection
        assert tool.status.name == "ABORTED"
        assert [w["node"] for w in emu.write_log[n:]] == [mapping.commands.abort.method] + \
            [sw.node for sw in mapping.safe_state]
    code, out, err = check(path, emu.endpoint, capsys, "--json")
    report = json.loads(out)
    assert code == 0 and report["ok"] and err == ""
    (used,) = report["security"]
    assert used.startswith("Basic256Sha256/SignAndEncrypt; server certificate") and f"user '{USER}'" in used
    assert {"method", "method_object"} <= {f["role"] for f in report["findings"]}   # hwproc's checks, secured
    argv = ["tool", "reset", "--mapping", str(path), "--endpoint", emu.endpoint, "--timeout", "3", "--yes"]
    n = len(emu.write_log)
    monkeypatch.setenv(PW_ENV, WRONG)
    assert main(argv) == 1
    out, err = capsys.readouterr()
    assert "refused user 'operator': wrong user name or password" in err and len(err.strip().splitlines()) == 1
    assert len(emu.write_log) == n and WRONG not in out + err
    monkeypatch.setenv(PW_ENV, PASSWORD)
    assert main(argv) == 0
    assert emu.write_log[-1]["node"] == mapping.commands.reset.method and len(emu.write_log) == n + 1
    assert PASSWORD not in "".join(capsys.readouterr())


def test_campaign_wrong_password_or_certificate_refused_before_any_write_and_nothing_lost(
        tmp_path, pki, emulator, monkeypatch, capsys, caplog):
    caplog.set_level(logging.DEBUG)
    caplog.set_level(logging.DEBUG, logger="asyncua")
    monkeypatch.setenv(PW_ENV, PASSWORD)
    emu = emulator(security=server_security(pki))
    camp, store = tmp_path / "campaign.toml", tmp_path / "c.sqlite"
    camp.write_text(CAMPAIGN.format(budget=4, endpoint=emu.endpoint, mapping=secure_mapping(tmp_path, pki)))

    def run_one() -> int:
        assert main(["campaign", "run", str(camp), "--store", str(store), "--no-progress"]) == 0
        with CampaignStore(store, create=False) as st:
            (c,) = st.campaigns()
            (trial,) = [t for t in st.trials(c.id) if t.state == "proposed"]
        assert main(["campaign", "approve", str(trial.id), "--store", str(store), "--reviewer", "alice"]) == 0
        return main(["campaign", "run", str(camp), "--store", str(store), "--no-progress"])

    def trials() -> list:
        with CampaignStore(store, create=False) as st:
            (c,) = st.campaigns()
            return [(t, [e.kind for e in st.events(trial_id=t.id)], st.telemetry(t.id))
                    for t in sorted(st.trials(c.id), key=lambda t: t.index)]

    assert run_one() == 0
    assert main(["campaign", "measure", "1", "--interface-resistance", "9.1", "--store", str(store), "--actor",
                 "bob"]) == 0
    written = list(emu.write_log)
    assert len(emu.emulator.runs) == 1 and len(written) == len(Mapping.from_toml(MAPPING_A).setpoints) + 1
    capsys.readouterr()
    refusals = [("wrong password", WRONG, {}, "wrong user name or password"),
                ("wrong certificate", PASSWORD, {"certificate": str(pki.folder / "client_untrusted.der")},
                 "the tool does not trust the client certificate")]
    for _name, secret, keys, words in refusals:
        monkeypatch.setenv(PW_ENV, secret)
        secure_mapping(tmp_path, pki, **keys)
        assert run_one() == 1
        err = capsys.readouterr().err
        assert err.count("\n") == 1 and words in err
        trial, kinds, telemetry = trials()[-1]
        assert trial.state == "failed" and trial.result is None and telemetry is None
        assert "command" not in kinds and kinds[-1] == "fail"                        # nothing sent ...
        assert emu.write_log == written and len(emu.emulator.runs) == 1             # ... nothing received
    first, kinds, telemetry = trials()[0]
    assert first.state == "done" and first.result["thickness_nm"] > 0 and len(telemetry) > 10   # kept
    assert kinds.count("command") == len(written)
    # a refusal found offline (here the adapter's own certificate expired) stops the runner before any trial moves
    secure_mapping(tmp_path, pki, certificate=str(pki.folder / "client_expired.der"))
    monkeypatch.setenv(PW_ENV, PASSWORD)
    before = [(t.id, t.state) for t, _k, _t in trials()]
    assert main(["campaign", "run", str(camp), "--store", str(store), "--no-progress"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "security.certificate" in err and "expired on" in err
    assert [(t.id, t.state) for t, _k, _t in trials()] == before
    for path in tmp_path.glob("c.sqlite*"):                                                     # WAL included
        data = path.read_bytes()
        assert PASSWORD.encode() not in data and WRONG.encode() not in data
    assert PASSWORD not in caplog.text and WRONG not in caplog.text


# -- the mapping's [security] table --------------------------------------------------------------------------------
@pytest.mark.parametrize(("keys", "message"), [
    ({"policy": "Basic128Rsa15"}, "security.policy = 'Basic128Rsa15': unknown security policy (allowed: None | "
                                  "Basic256Sha256 | Aes128Sha256RsaOaep | Aes256Sha256RsaPss)"),
    ({"mode": "Encrypt"}, "security.mode = 'Encrypt': unknown message security mode (allowed: Sign | "
                          "SignAndEncrypt)"),
    ({"password": PASSWORD}, "security.password = '...': unknown key (a password never goes in the mapping"),
    ({"trusted_servers": "trusted"}, "give exactly one of server_certificate (pinned) and trusted_servers"),
    ({"certificate": None}, "security.certificate = None: missing"),
    ({"password_file": "pw"}, "a user needs exactly one of password_env and password_file"),
    ({"user_env": "USER_VAR"}, "give user or user_env, not both"),
    ({"allow_none": True}, "security.allow_none = True: contradicts policy = 'Basic256Sha256'"),
    ({"policy": "None", "mode": None, "certificate": None, "private_key": None, "server_certificate": None,
      "user": None, "password_env": None}, "security.policy = 'None': an endpoint without signing or encryption "
                                           "is refused unless the mapping allows it"),
    ({"policy": "None", "mode": None, "allow_none": True}, "security.certificate = "),
    ({"certificate": "missing.der"}, "missing.der': file not found"),
])
def test_bad_security_table_is_one_line_and_exit_2(tmp_path, pki, password, capsys, keys, message):
    path = secure_mapping(tmp_path, pki, **keys)
    code, out, err = check(path, "opc.tcp://127.0.0.1:9/", capsys)   # refused before any connection attempt
    assert code == 2 and err.count("\n") == 1 and "Traceback" not in err
    assert message in err and str(path) in err and PASSWORD not in err


# -- the command line: tool certs, tool emulate with security ------------------------------------------------------
def test_tool_certs_and_a_secure_emulator_from_the_command_line(tmp_path, monkeypatch, capsys):
    assert main(["tool", "certs", "--out", str(tmp_path / "pki")]) == 0
    printed = capsys.readouterr().out
    table = printed.split("mapping:\n", 1)[1]
    pki = tmp_path / "pki"
    assert (pki / "server.der").exists() and oct((pki / "client_key.pem").stat().st_mode & 0o777) == "0o600"
    env = {**os.environ, "SPUTTER_TWIN_OPCUA_PASSWORD": PASSWORD}
    proc = subprocess.Popen([sys.executable, "-m", "sputter_twin", "tool", "emulate", "--mapping", str(MAPPING_A),
                             "--port", "0", "--certificate", str(pki / "server.der"), "--private-key",
                             str(pki / "server_key.pem"), "--trusted-clients", str(pki / "trusted-clients"),
                             "--user", "operator", "--password-env", "SPUTTER_TWIN_OPCUA_PASSWORD",
                             "--policy", "Aes128Sha256RsaOaep"],
                            cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        line = proc.stdout.readline()
        endpoint = next(w for w in line.split() if w.startswith("opc.tcp://"))
        mapping = tmp_path / "m.toml"
        mapping.write_text(MAPPING_A.read_text().split("[security]")[0]
                           + table.replace('"Basic256Sha256"', '"Aes128Sha256RsaOaep"'))
        monkeypatch.setenv("SPUTTER_TWIN_OPCUA_PASSWORD", PASSWORD)
        code, out, err = check(mapping, endpoint, capsys)
    finally:
        proc.terminate()
        proc.wait(timeout=10)
        proc.stdout.close()
        stderr = proc.stderr.read()
        proc.stderr.close()
    assert code == 0 and "Aes128Sha256RsaOaep/SignAndEncrypt; server certificate" in out, err
    assert PASSWORD not in stderr


@pytest.mark.parametrize(("argv", "message"), [
    (["--user", "operator"], "--certificate"),
    (["--certificate", "{pki}/server.der"], "--private-key = None: missing"),
    (["--certificate", "{pki}/server.der", "--private-key", "{pki}/client_key.pem"], "--private-key"),
    (["--certificate", "{pki}/server.der", "--private-key", "{pki}/server_key.pem", "--user", "op"],
     "--user = 'op': needs --password-env or --password-file"),
    (["--certificate", "{pki}/server.der", "--private-key", "{pki}/server_key.pem", "--user", "op",
      "--password-env", "SPUTTER_TWIN_NO_SUCH_VARIABLE"], "--password-env = 'SPUTTER_TWIN_NO_SUCH_VARIABLE'"),
    (["--certificate", "{pki}/server.der", "--private-key", "{pki}/server_key.pem", "--trusted-clients",
      "{pki}/none"], "--trusted-clients"),
])
def test_bad_emulator_security_option_is_one_line_and_exit_2(pki, capsys, argv, message):
    argv = [a.format(pki=pki.folder) for a in argv]
    assert main(["tool", "emulate", "--mapping", str(MAPPING_A), "--port", "0", *argv]) == 2
    err = capsys.readouterr().err
    assert message.format(pki=pki.folder) in err and err.count("\n") == 1
