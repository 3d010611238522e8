"""``sputter-twin tool emulate`` (an OPC UA server emulating a sputter tool with the twin), ``sputter-twin tool
check`` (commission a mapping file against a live tool and list the run-time checks it enables),
``sputter-twin tool reset`` (acknowledge a stopped tool's alarms once an operator confirmed) and ``sputter-twin
tool certs`` (self-signed test certificates for a secure emulator and the adapter)."""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import signal
from pathlib import Path
from typing import TYPE_CHECKING

from hardware.emulator_faults import FAULT_FORMS  # light (no asyncua): the help lists every fault the emulator knows
from hardware.security import MODES, SECURE_POLICIES  # light (no asyncua): the help lists them
from sputter_twin.cli.slips import warn
from twin import Chamber, Recipe
from twin.errors import InputError
from twin.plausibility import unit_slips

if TYPE_CHECKING:  # the hardware stack (asyncua) loads only when a tool command runs: every command starts faster
    from hardware.emulator import Emulator
    from hardware.security_server import ServerSecurity


def register(sub) -> None:
    p = sub.add_parser("tool", help="attached tools: emulate one over OPC UA, check a mapping against one")
    tsub = p.add_subparsers(dest="tool_command", required=True, parser_class=type(p))

    e = tsub.add_parser("emulate", help="serve an emulated sputter tool (the twin) over OPC UA")
    e.add_argument("--mapping", type=Path, required=True, help="mapping TOML: nodes, units, limits, safe state")
    e.add_argument("--chamber", type=Path, help="chamber TOML of the twin behind the emulator")
    e.add_argument("--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1)")
    e.add_argument("--port", type=int, default=4840, help="TCP port; 0 picks a free one (default 4840)")
    e.add_argument("--speed", type=float, default=600.0, help="process seconds per wall-clock second (default 600)")
    e.add_argument("--seed", type=int, default=0, help="seed of the twin's random events (default 0)")
    e.add_argument("--fault", action="append", default=[], metavar="KIND[:TARGET]@PHASE[+S]",
                   help=f"inject a fault when a run enters PHASE (+S process seconds): {', '.join(FAULT_FORMS)}; "
                        "repeatable")
    e.add_argument("--publish-limit", action="append", default=[], metavar="FIELD.min|max=VALUE",
                   help="publish a limit other than the mapping's (tool units); repeatable")
    s = e.add_argument_group("security", "serve secure endpoints only (give --certificate and --private-key)")
    s.add_argument("--certificate", type=Path, help="the emulated tool's certificate (DER or PEM; URI in its SAN)")
    s.add_argument("--private-key", type=Path, help="its private key (PEM or DER, not encrypted)")
    s.add_argument("--trusted-clients", type=Path, metavar="DIR",
                   help="folder of trusted client certificates (default: any client certificate valid now)")
    s.add_argument("--policy", action="append", choices=SECURE_POLICIES,
                   help="security policy to serve; repeatable (default: all three)")
    s.add_argument("--mode", action="append", choices=MODES, help="message security mode; repeatable (default: both)")
    s.add_argument("--user", help="require this user name (default: anonymous sessions)")
    pw = s.add_mutually_exclusive_group()
    pw.add_argument("--password-env", metavar="VAR", help="environment variable holding the user's password")
    pw.add_argument("--password-file", type=Path, help="file holding the user's password (mode 600)")
    s.add_argument("--allow-none", action="store_true", help="also serve an endpoint without security")
    e.set_defaults(func=emulate)

    k = tsub.add_parser("certs", help="write self-signed test certificates for a secure emulator and the adapter")
    k.add_argument("--out", type=Path, required=True, help="folder to write them to (created)")
    k.add_argument("--days", type=float, default=365.0, help="validity in days (default 365)")
    k.set_defaults(func=certs)

    c = tsub.add_parser("check", help="read every mapped node of a live tool and report mismatches")
    c.add_argument("--mapping", type=Path, required=True, help="mapping TOML to check")
    c.add_argument("--endpoint", required=True, help="opc.tcp://HOST:PORT/PATH of the tool")
    c.add_argument("--timeout", type=float, default=4.0, help="seconds per request (default 4)")
    c.add_argument("--json", action="store_true", help="print the findings as one JSON object")
    c.add_argument("--recipe", type=Path, action="append", default=[], metavar="RECIPE.toml",
                   help="also check a recipe against the mapping's limits, with unit-slip warnings (repeatable)")
    c.set_defaults(func=check)

    from sputter_twin.cli.tool_vent import register_under as register_vent  # issue 16: a vent in a campaign

    register_vent(tsub)

    r = tsub.add_parser("reset", help="acknowledge a stopped tool's alarms (after you confirm)")
    r.add_argument("--mapping", type=Path, required=True, help="mapping TOML of the tool (its [commands] reset)")
    r.add_argument("--endpoint", required=True, help="opc.tcp://HOST:PORT/PATH of the tool")
    r.add_argument("--timeout", type=float, default=4.0, help="seconds per request (default 4)")
    r.add_argument("--yes", action="store_true",
                   help="confirmed already (the operator at the tool); otherwise type the tool's name when asked")
    r.set_defaults(func=reset)


def _quiet_asyncua(verbose: int) -> None:
    if verbose < 2:
        logging.getLogger("asyncua").setLevel(logging.ERROR)


def _published(items: list[str]) -> dict[str, float]:
    from hardware.emulator import EmulatorError

    out = {}
    for item in items:
        key, sep, value = item.partition("=")
        try:
            if not sep or not key.endswith((".min", ".max")):
                raise ValueError
            out[key] = float(value)
        except ValueError:
            raise EmulatorError("--publish-limit", item, "expected FIELD.min=VALUE or FIELD.max=VALUE") from None
    return out


def emulate(args) -> int:
    from hardware.emulator import Emulator, EmulatorError, ScheduledFault
    from hardware.mapping import Mapping

    _quiet_asyncua(getattr(args, "verbose", 0))
    if not 0 <= args.port <= 65535:
        raise InputError("--port", args.port, "not a TCP port", "0 (auto) .. 65535")
    if not args.speed > 0:
        raise InputError("--speed", args.speed, "must be positive", "> 0")
    mapping = Mapping.from_toml(args.mapping)
    chamber = Chamber.from_toml(args.chamber) if args.chamber else None
    faults = tuple(ScheduledFault.parse(f) for f in args.fault)
    published = _published(args.publish_limit)
    fields = {lim.field for lim in mapping.limits}
    for key in published:
        if key.rpartition(".")[0] not in fields:
            raise EmulatorError("--publish-limit", key, "no [[limit]] for this field in the mapping",
                                ", ".join(sorted(fields)))
    emu = Emulator(mapping, chamber, host=args.host, port=args.port, speed=args.speed, seed=args.seed,
                   faults=faults, published_limits=published, allow_exit=True, security=_server_security(args))
    return asyncio.run(_serve(emu))


def _server_security(args) -> ServerSecurity | None:
    """The emulator's security options as a ServerSecurity (None without --certificate)."""
    from hardware.mapping_types import MappingError
    from hardware.security import Security, read_password
    from hardware.security_server import ServerSecurity

    given = [f"--{k.replace('_', '-')}" for k in ("private_key", "trusted_clients", "policy", "mode", "user",
                                                   "password_env", "password_file", "allow_none")
             if getattr(args, k, None)]
    if args.certificate is None:
        if given:
            raise InputError(given[0], "...", "a security option needs --certificate and --private-key")
        return None
    if args.private_key is None:
        raise InputError("--private-key", None, "missing: --certificate needs the key", "a PEM or DER file")
    users = {}
    if args.user:
        if not (args.password_env or args.password_file):
            raise InputError("--user", args.user, "needs --password-env or --password-file")
        sec = Security(user=args.user, password_env=args.password_env or "",
                       password_file=str(args.password_file or ""))
        try:
            users[args.user] = read_password(sec, Path("."))
        except MappingError as exc:
            flag = "--password-env" if args.password_env else "--password-file"
            raise InputError(flag, exc.value, exc.problem, exc.allowed) from None
    elif args.password_env or args.password_file:
        raise InputError("--user", None, "a password without a user name")
    try:
        return ServerSecurity.from_files(args.certificate, args.private_key, trusted_clients=args.trusted_clients,
                                         users=users, policies=args.policy or SECURE_POLICIES,
                                         modes=args.mode or MODES, allow_none=args.allow_none)
    except InputError as exc:
        raise InputError(f"--{exc.field.replace('_', '-')}", exc.value, exc.problem, exc.allowed) from None


def certs(args) -> int:
    import datetime as dt

    from hardware.security_server import write_pki

    if not args.days > 0:
        raise InputError("--days", args.days, "must be positive", "> 0")
    out = args.out.resolve()
    pki = write_pki(out, now=dt.datetime.now(dt.UTC), days=args.days)
    table = {"policy": "Basic256Sha256", "mode": "SignAndEncrypt", "certificate": str(pki.client_certificate),
             "private_key": str(pki.client_key), "server_certificate": str(pki.server_certificate),
             "user": "operator", "password_env": "SPUTTER_TWIN_OPCUA_PASSWORD"}
    print(f"wrote a server and a client certificate under {out}\n"
          f"emulator:  sputter-twin tool emulate --mapping MAPPING --certificate {pki.server_certificate} "
          f"--private-key {pki.server_key} --trusted-clients {pki.trusted_clients} --user operator "
          "--password-env SPUTTER_TWIN_OPCUA_PASSWORD\n"
          "mapping:\n[security]\n" + "\n".join(f"{k} = {json.dumps(v)}" for k, v in table.items()))
    return 0


async def _serve(emu: Emulator) -> int:
    try:
        await emu.start()
    except OSError as exc:
        raise InputError("--port", emu.port, f"cannot listen: {exc.strerror or exc}") from None
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        with contextlib.suppress(NotImplementedError):
            loop.add_signal_handler(sig, stop.set)
    print(f"emulating {emu.mapping.tool.name!r} on {emu.endpoint} (speed {emu.speed:g}x); Ctrl-C to stop",
          flush=True)
    try:
        await stop.wait()
    finally:
        await emu.stop()
    return 0


def _connection(args):
    """The mapping of a command that connects to a tool (``check``, ``reset``), after checking its endpoint and
    timeout in one line each."""
    from hardware.mapping import Mapping

    _quiet_asyncua(getattr(args, "verbose", 0))
    if not args.endpoint.startswith("opc.tcp://"):
        raise InputError("--endpoint", args.endpoint, "not an OPC UA endpoint", "opc.tcp://HOST:PORT/PATH")
    if not args.timeout > 0:
        raise InputError("--timeout", args.timeout, "must be positive", "> 0 s")
    return Mapping.from_toml(args.mapping)


def check(args) -> int:
    from hardware.check import check_tool
    from hardware.run_checks import run_time_checks

    mapping = _connection(args)
    for path in args.recipe:  # the tool's dry check of each recipe, before anything is contacted
        recipe = Recipe.from_toml(path)
        try:
            mapping.check_recipe(recipe)
        except InputError as exc:
            raise exc.with_source(str(path)) from None
        warn(str(path), unit_slips(recipe))
    findings = check_tool(mapping, args.endpoint, args.timeout)
    problems = [f for f in findings if f.is_problem]
    checks = run_time_checks(mapping)
    security = [f.detail for f in findings if f.role == "security"]
    if args.json:
        print(json.dumps({"endpoint": args.endpoint, "mapping": str(args.mapping), "ok": not problems,
                          "security": security, "findings": [f.to_dict() for f in findings],
                          "checks": [{"check": c, "active": on, "detail": d} for c, on, d in checks]}))
    else:
        width = max((len(f.name) for f in findings), default=4)
        for f in findings:
            print(f"{f.kind.upper():8} {f.role:17} {f.name:{width}}  {f.node}  {f.detail}")
        print(f"{sum(f.role != 'security' for f in findings)} nodes checked, {len(problems)} problem(s)"
              + ("" if problems else f": the tool matches {args.mapping}"))
        print("run-time checks of this mapping:")
        for c, on, d in checks:
            print(f"  {'ACTIVE' if on else 'OFF':6} {c}: {d}")
    return 1 if problems else 0


def reset(args) -> int:
    import concurrent.futures
    import sys

    from hardware.opcua_transport import OpcUaTransport
    from hardware.reset import ToolCondition, reset_tool
    from hardware.security import load_credentials
    from hardware.security_client import SECURE_CONNECT_S, client_factory

    mapping = _connection(args)
    name = mapping.tool.name

    def confirm(now: ToolCondition) -> bool:
        print(f"tool {name!r} at {args.endpoint}: state {now.state!r}; active alarms: "
              f"{', '.join(now.alarms) or 'none'}" + (f"; alarm text: {now.text}" if now.text else ""), flush=True)
        if args.yes:
            return True
        print(f"Reset / acknowledge it? Type the tool's name ({name}) to confirm: ", end="", flush=True)
        answer = sys.stdin.readline().strip()
        return answer == name

    credentials = load_credentials(mapping.security, mapping.source)  # secured as a run is; refused offline as it is
    transport = OpcUaTransport(args.endpoint, mapping.tool.namespace_uri, args.timeout,
                               client_factory=client_factory(credentials),
                               connect_s=0.0 if credentials is None else SECURE_CONNECT_S)
    with concurrent.futures.ThreadPoolExecutor(1, thread_name_prefix="tool-reset") as pool:
        out = pool.submit(asyncio.run, reset_tool(mapping, transport, confirm, args.timeout)).result()
    if not out.sent:
        print(f"not confirmed: nothing was sent to {name!r}", file=sys.stderr)
        return 1
    after = out.after
    print(f"reset sent to {name!r}; now state {after.state!r}; active alarms: {', '.join(after.alarms) or 'none'}"
          + (f"; alarm text: {after.text}" if after.text else ""))
    if not out.cleared:
        print(f"sputter-twin: tool {name!r} still reports state {after.state!r}"
              + (f" and alarms {', '.join(after.alarms)} (their cause remains)" if after.alarms else ""),
              file=sys.stderr)
        return 1
    return 0
