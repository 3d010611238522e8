"""What the store's failure handling costs, and how large its write-ahead log gets.

- open: opening a campaign store (``--trials`` finished runs with telemetry) and reading its trials, with and
  without its ``PRAGMA quick_check``, against a bare ``sqlite3.connect`` + one query on the same file (the
  baseline, same process);
- WAL: the log file's largest size over ``--transactions`` small transactions (one event each, 2 KB), with the
  store's settings against SQLite's defaults on the same writes.

    .venv/bin/python benchmarks/store_health.py [--trials 200] [--transactions 3000] [--repeats 20]
"""

from __future__ import annotations

import argparse
import sqlite3
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from campaigns.store import CampaignStore  # noqa: E402
from campaigns.store_sqlite import Connection  # noqa: E402
from dashboards.sample_store import build_sample_store  # noqa: E402


def _median_s(func, repeats: int) -> float:
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        func()
        times.append(time.perf_counter() - t0)
    return statistics.median(times)


def _wal(path: Path) -> int:
    wal = path.with_name(path.name + "-wal")
    return wal.stat().st_size if wal.exists() else 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--trials", type=int, default=200)
    parser.add_argument("--transactions", type=int, default=3000)
    parser.add_argument("--repeats", type=int, default=20)
    args = parser.parse_args(argv)
    tmp = Path(tempfile.mkdtemp(prefix="store-health-"))

    path = tmp / "campaign.sqlite"
    build_sample_store(path, args.trials, 3, seed=1)

    def bare():
        db = sqlite3.connect(path)
        db.execute("SELECT COUNT(*) FROM trials").fetchone()
        db.close()

    def store():
        with CampaignStore(path, create=False) as s:
            s.trials(1)[:1]

    base, ours = _median_s(bare, args.repeats), _median_s(store, args.repeats)
    check = Connection.quick_check
    Connection.quick_check = lambda self: None  # the same open without the check, to price the check alone
    try:
        unchecked = _median_s(store, args.repeats)
    finally:
        Connection.quick_check = check
    size_kib = path.stat().st_size / 1024
    print(f"store of {args.trials} trials, {size_kib:,.0f} KiB")
    print(f"open + first read, bare sqlite3              {base * 1e3:8.2f} ms")
    print(f"CampaignStore open + first read, no check    {unchecked * 1e3:8.2f} ms   {unchecked / base:6.1f}× bare")
    print(f"CampaignStore open + first read, quick_check {ours * 1e3:8.2f} ms   {ours / base:6.1f}× bare, "
          f"{ours / unchecked:.2f}× unchecked")

    note = "x" * 2000
    largest = 0
    with CampaignStore(tmp / "wal.sqlite") as s:
        cid = s.create_campaign("c", "[campaign]\nname = 'c'\n")
        for _ in range(args.transactions):
            s.log_event(None, "note", note, campaign_id=cid)
            largest = max(largest, _wal(s.path))
    plain = tmp / "plain.sqlite"
    db = sqlite3.connect(plain, isolation_level=None)
    db.execute("PRAGMA journal_mode = WAL")
    db.execute("CREATE TABLE e (detail TEXT)")
    plain_largest = 0
    for _ in range(args.transactions):
        db.execute("INSERT INTO e VALUES (?)", (note,))
        plain_largest = max(plain_largest, _wal(plain))
    db.close()
    print(f"largest WAL over {args.transactions:,} transactions: store {largest / 1024:,.0f} KiB, "
          f"SQLite defaults {plain_largest / 1024:,.0f} KiB ({plain_largest / max(largest, 1):.1f}×)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
