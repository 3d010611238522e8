"""What OPC UA security costs the adapter: opening a connection, and reading every mapped node once.

Against the emulator on 127.0.0.1 (the example mapping ``rf_a_si.toml``), in one process: the baseline is a
connection without security (``allow_none``), then each secure policy in Sign and SignAndEncrypt, with a user
and password, the server certificate pinned, RSA-2048 keys. "connect" is discovery + server certificate check +
session (what every run, and the safe state's fresh connection after a lost one, pays once); "read" is one read
of each of the mapping's nodes over the open session (the cost per message of signing and encrypting). Medians of
``--repeats``; ratios against the baseline measured in the same run.

    .venv/bin/python benchmarks/opcua_security.py [--repeats 5]
"""

from __future__ import annotations

import argparse
import asyncio
import dataclasses
import datetime as dt
import logging
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from hardware import _ua  # noqa: E402
from hardware.emulator import EmulatorThread  # noqa: E402
from hardware.mapping import Mapping  # noqa: E402
from hardware.opcua_context import hang_up  # noqa: E402
from hardware.security import MODES, SECURE_POLICIES, Security, load_credentials  # noqa: E402
from hardware.security_client import make_client, secure_connect  # noqa: E402
from hardware.security_server import ServerSecurity, write_pki  # noqa: E402

PASSWORD_ENV = "SPUTTER_TWIN_BENCH_PASSWORD"


async def one(endpoint: str, creds, nodes: list[str], ns_uri: str) -> tuple[float, float]:
    client = make_client(endpoint, 4, creds)
    t0 = time.perf_counter()
    await secure_connect(client, 8)
    t1 = time.perf_counter()
    try:
        ns = await client.get_namespace_index(ns_uri)
        for text in nodes:
            await client.get_node(_ua.node_id(text, ns)).read_value()
        t2 = time.perf_counter()
    finally:
        await hang_up(client)
    return t1 - t0, t2 - t1


def measure(endpoint: str, creds, mapping: Mapping, repeats: int) -> tuple[float, float]:
    nodes = [row["node"] for row in mapping.node_roles() if not _ua.is_path(row["node"])]
    runs = [asyncio.run(one(endpoint, creds, nodes, mapping.tool.namespace_uri)) for _ in range(repeats + 1)][1:]
    return statistics.median(r[0] for r in runs), statistics.median(r[1] for r in runs)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()
    logging.getLogger("asyncua").setLevel(logging.CRITICAL)
    base = Mapping.from_toml(ROOT / "examples" / "hardware" / "rf_a_si.toml")
    n_nodes = sum(not _ua.is_path(r["node"]) for r in base.node_roles())
    os.environ[PASSWORD_ENV] = "bench-password"  # noqa: S105 - a throwaway password of this benchmark
    with tempfile.TemporaryDirectory() as tmp:
        pki = write_pki(Path(tmp), now=dt.datetime.now(dt.UTC))
        plain_emu = EmulatorThread(base).start()
        try:
            c0, r0 = measure(plain_emu.endpoint, None, base, args.repeats)
        finally:
            plain_emu.stop()
        print(f"OPC UA security against the emulator on 127.0.0.1; medians of {args.repeats}; "
              f"read = {n_nodes} nodes one by one")
        print(f"{'policy/mode':40} {'connect ms':>10} {'ratio':>6} {'read ms':>9} {'ratio':>6}")
        print(f"{'None/None (baseline)':40} {c0 * 1e3:10.1f} {1:6.2f} {r0 * 1e3:9.1f} {1:6.2f}")
        server = ServerSecurity.from_files(pki.server_certificate, pki.server_key,
                                           trusted_clients=pki.trusted_clients,
                                           users={"operator": os.environ[PASSWORD_ENV]})
        emu = EmulatorThread(base, security=server).start()
        try:
            for policy in SECURE_POLICIES:
                for mode in MODES:
                    sec = Security(policy, mode, str(pki.client_certificate), str(pki.client_key),
                                   server_certificate=str(pki.server_certificate), user="operator",
                                   password_env=PASSWORD_ENV)
                    mapping = dataclasses.replace(base, security=sec)
                    c, r = measure(emu.endpoint, load_credentials(sec), mapping, args.repeats)
                    print(f"{policy + '/' + mode:40} {c * 1e3:10.1f} {c / c0:6.2f} {r * 1e3:9.1f} {r / r0:6.2f}")
        finally:
            emu.stop()


if __name__ == "__main__":
    main()
