"""Ordinary lab failures of the store, on real SQLite files: a full disk, a damaged page, a locked store and a
read-only one each end a command with one line and a documented exit status (2 bad input, 1 run time), lose
nothing, and leave the campaign resumable once the cause is gone. The write-ahead log stays bounded."""

from __future__ import annotations

import hashlib
import json
import os
import re
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

from campaigns import store_sqlite
from campaigns.store import CampaignStore
from campaigns.store_sqlite import JOURNAL_SIZE_LIMIT_BYTES, WAL_AUTOCHECKPOINT_PAGES, Connection
from sputter_twin.cli.main import main
from tests.campaigns.helpers import small_campaign


def _run(capsys, *argv) -> tuple[int, str, str]:
    rc = main([str(a) for a in argv])
    out, err = capsys.readouterr()
    return rc, out, err


def _one_line(err: str) -> str:
    lines = err.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in err, err
    return lines[0]


def _digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _rows(path: Path) -> list[tuple]:
    with CampaignStore(path, create=False) as s:
        return [(t.id, t.state, t.recipe, t.result) for t in s.trials(1)]


@pytest.fixture
def two_runs(tmp_path, capsys) -> tuple[Path, Path]:
    """A campaign file (budget 8) and a store holding its first two runs."""
    cfile = small_campaign(tmp_path, budget=8)
    store = tmp_path / "s.sqlite"
    rc, _, err = _run(capsys, "campaign", "run", cfile, "--store", store, "--no-progress", "--budget", "2")
    assert rc == 0, err
    rc, _, err = _run(capsys, "campaign", "run", cfile, "--store", store, "--no-progress", "--budget", "8",
                      "--max-runs", "0")  # the budget in force becomes 8, nothing runs
    assert rc == 0, err
    return cfile, store


def test_full_disk_mid_campaign_is_one_line_exit_1_and_the_campaign_resumes(two_runs, capsys, monkeypatch):
    cfile, store = two_runs
    with CampaignStore(store, create=False) as s:
        pages = s._db.execute("PRAGMA page_count").fetchone()[0]
    before = _rows(store)
    bound = Connection.bound_wal

    def small_disk(self):  # a real SQLITE_FULL: the database may not grow past two more pages
        bound(self)
        self.execute(f"PRAGMA max_page_count = {pages + 2}")

    monkeypatch.setattr(Connection, "bound_wal", small_disk)
    rc, _, err = _run(capsys, "campaign", "run", cfile, "--store", store, "--no-progress")
    line = _one_line(err)
    assert rc == 1 and "disk is full" in line and str(store) in line and "resumes" in line
    monkeypatch.undo()  # space freed
    with CampaignStore(store, create=False) as s:
        assert s.integrity_check() == "ok"
        stuck = [t for t in s.trials(1) if t.state not in ("done", "failed")]
    assert _rows(store)[:len(before)] == before  # nothing recorded before the full disk changed or went missing
    assert len(stuck) <= 2  # at most the run whose result could not be written, and the next proposal
    rc, out, err = _run(capsys, "campaign", "run", cfile, "--store", store, "--no-progress")
    assert rc == 0, err
    assert "budget spent; 8/8 runs used" in out
    with CampaignStore(store, create=False) as s:
        assert [t.state for t in s.trials(1)].count("done") + [t.state for t in s.trials(1)].count("failed") == 8


@pytest.fixture
def small_filesystem(tmp_path):
    """A 320 KiB file system (tmpfs) mounted for the test, and a function that grows it: a real full disk.
    Needs root with mount permission; skipped elsewhere (the max_page_count test above covers SQLITE_FULL)."""
    folder = tmp_path / "small"
    folder.mkdir()
    if os.geteuid() != 0 or subprocess.run(["mount", "-t", "tmpfs", "-o", "size=320k", "tmpfs", str(folder)],
                                           capture_output=True).returncode != 0:
        pytest.skip("cannot mount a small file system here (needs root with mount permission)")

    def grow(size: str) -> None:
        subprocess.run(["mount", "-o", f"remount,size={size}", str(folder)], check=True)

    yield folder, grow
    subprocess.run(["umount", str(folder)], check=False)


def test_a_really_full_disk_is_one_line_exit_1_and_the_campaign_resumes_once_space_is_freed(
        tmp_path, small_filesystem, capsys):
    folder, grow = small_filesystem
    cfile = small_campaign(tmp_path, budget=40, batch=2)
    store = folder / "s.sqlite"
    rc, _, err = _run(capsys, "campaign", "run", cfile, "--store", store, "--no-progress")
    line = _one_line(err)
    assert rc == 1 and "disk is full" in line and "resumes" in line
    with sqlite3.connect(f"file:{store}?mode=ro", uri=True) as db:
        assert db.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        kept = db.execute("SELECT id, result_json FROM trials WHERE state IN ('done', 'failed') ORDER BY id").fetchall()
    db.close()
    assert kept, "the runs recorded before the disk filled are kept"
    grow("16m")  # space freed
    rc, out, err = _run(capsys, "campaign", "run", cfile, "--store", store, "--no-progress")
    assert rc == 0 and "budget spent; 40/40 runs used" in out, err
    with CampaignStore(store, create=False) as s:
        after = {t.id: t.result for t in s.trials(1)}
    assert all(after[i] == json.loads(r) for i, r in kept)  # the runs from before the full disk are unchanged


def _damage(path: Path, table: str = "trials") -> None:
    """Overwrite the table's root page with junk, as a failing disk sector would."""
    with sqlite3.connect(path) as db:
        root = db.execute("SELECT rootpage FROM sqlite_master WHERE name = ?", (table,)).fetchone()[0]
        size = db.execute("PRAGMA page_size").fetchone()[0]
    db.close()
    with path.open("r+b") as fh:
        fh.seek((root - 1) * size + 8)
        fh.write(b"\xa5" * (size - 8))


@pytest.mark.parametrize("argv", [("status",), ("export", "--format", "csv", "--out", "x.csv"),
                                  ("approve", "1", "--reviewer", "ann"), ("run", "CAMPAIGN", "--no-progress")],
                         ids=["status", "export", "approve", "run"])
def test_a_damaged_page_is_one_line_exit_2_and_the_file_is_left_alone(two_runs, capsys, tmp_path, argv):
    cfile, store = two_runs
    _damage(store)
    digest = _digest(store)
    args = [a.replace("CAMPAIGN", str(cfile)).replace("x.csv", str(tmp_path / "x.csv")) for a in argv]
    rc, out, err = _run(capsys, "campaign", *args[:1], *args[1:], "--store", store)
    line = _one_line(err)
    assert rc == 2 and "damaged" in line and str(store) in line and "backup" in line
    assert _digest(store) == digest and not (tmp_path / "x.csv").exists()


def test_the_dashboard_refuses_a_damaged_store_in_one_line(two_runs, capsys):
    _, store = two_runs
    _damage(store)
    rc, _, err = _run(capsys, "dashboard", "--store", store)
    assert rc == 2 and "damaged" in _one_line(err)


def test_a_locked_store_is_one_line_exit_1_and_the_change_waits_for_the_lock(tmp_path, capsys, monkeypatch):
    cfile = small_campaign(tmp_path, budget=4, batch=2, approval=True)
    store = tmp_path / "s.sqlite"
    assert _run(capsys, "campaign", "propose", cfile, "--store", store)[0] == 0
    monkeypatch.setattr(store_sqlite, "BUSY_TIMEOUT_S", 0.2)  # the store's wait, shortened for the test
    holder = sqlite3.connect(store, isolation_level=None, check_same_thread=False)  # another process's writer
    holder.execute("BEGIN IMMEDIATE")
    try:
        rc, out, err = _run(capsys, "campaign", "approve", "1", "--store", store, "--reviewer", "ann")
        line = _one_line(err)
        assert rc == 1 and "locked" in line and "nothing was changed" in line and not out
    finally:
        holder.execute("ROLLBACK")
        holder.close()
    with CampaignStore(store, create=False) as s:
        assert s.trial(1).state == "proposed"
    rc, out, err = _run(capsys, "campaign", "approve", "1", "--store", store, "--reviewer", "ann")
    assert rc == 0 and "trial 1 approved by ann" in out


def _read_only(folder: Path):
    """Make ``folder`` read-only as a user meets it: a read-only bind mount as root (who ignores permission
    bits), file permissions otherwise. Returns an undo function, or skips where neither is possible."""
    if os.geteuid() != 0:
        modes = {p: p.stat().st_mode for p in [folder, *folder.iterdir()]}
        for p in modes:
            p.chmod(0o555 if p.is_dir() else 0o444)
        return lambda: [p.chmod(m) for p, m in modes.items()]
    mounted = subprocess.run(["mount", "--bind", str(folder), str(folder)], capture_output=True)
    if mounted.returncode != 0:
        pytest.skip("root without mount: cannot make a folder read-only")
    if subprocess.run(["mount", "-o", "remount,ro,bind", str(folder)], capture_output=True).returncode != 0:
        subprocess.run(["umount", str(folder)], check=False)
        pytest.skip("cannot remount read-only")
    return lambda: subprocess.run(["umount", str(folder)], check=True)


def test_a_read_only_store_reads_and_refuses_changes_in_one_line_exit_2(tmp_path, capsys):
    folder = tmp_path / "share"
    folder.mkdir()
    cfile = small_campaign(tmp_path, budget=4, batch=2, approval=True)
    store = folder / "s.sqlite"
    assert _run(capsys, "campaign", "propose", cfile, "--store", store)[0] == 0
    digest = _digest(store)
    undo = _read_only(folder)
    try:
        rc, out, err = _run(capsys, "campaign", "status", "--store", store)
        assert rc == 0 and re.search(r"^\s*1\s+proposed\s", out, re.M), err  # reading works
        rc, out, err = _run(capsys, "campaign", "approve", "1", "--store", store, "--reviewer", "ann")
        line = _one_line(err)
        assert rc == 2 and "cannot be written" in line and str(store) in line and not out
        rc, _, err = _run(capsys, "campaign", "run", cfile, "--store", store, "--no-progress")
        assert rc == 2 and "cannot be written" in _one_line(err)
    finally:
        undo()
    assert _digest(store) == digest
    rc, out, err = _run(capsys, "campaign", "approve", "1", "--store", store, "--reviewer", "ann")
    assert rc == 0 and "trial 1 approved by ann" in out  # write access back: the review goes on


def _wal_size(path: Path) -> int:
    wal = path.with_name(path.name + "-wal")
    return wal.stat().st_size if wal.exists() else 0


def test_the_write_ahead_log_stays_bounded_over_many_transactions(tmp_path):
    """3,000 transactions of 2 KB each: the store's log stays near its limit, where SQLite's defaults let it grow
    to its 1,000-page autocheckpoint and keep that size."""
    note = "x" * 2000
    frame = 4096 + 24  # a WAL frame: one page and its header
    bound = max(JOURNAL_SIZE_LIMIT_BYTES, (WAL_AUTOCHECKPOINT_PAGES + 16) * frame + 32)  # about 1.1 MB
    with CampaignStore(tmp_path / "s.sqlite") as store:
        cid = store.create_campaign("c", "[campaign]\nname = 'c'\n")
        largest = 0
        for _ in range(3000):
            store.log_event(None, "note", note, campaign_id=cid)
            largest = max(largest, _wal_size(store.path))
        assert largest <= bound
        assert store.checkpoint(truncate=True) and _wal_size(store.path) == 0
    plain = tmp_path / "plain.sqlite"  # the same writes with SQLite's defaults, for contrast
    db = sqlite3.connect(plain, isolation_level=None)
    db.execute("PRAGMA journal_mode = WAL")
    db.execute("CREATE TABLE e (detail TEXT)")
    for _ in range(3000):
        db.execute("INSERT INTO e VALUES (?)", (note,))
    assert _wal_size(plain) > 3 * bound  # about 4 MB
    db.close()


def test_a_run_checkpoints_the_log_after_every_run(tmp_path, capsys, monkeypatch):
    cfile = small_campaign(tmp_path, budget=3)
    store = tmp_path / "s.sqlite"
    seen: list[bool] = []
    original = CampaignStore.checkpoint

    def spy(self, **kwargs):
        done = original(self, **kwargs)
        seen.append(done)
        return done

    monkeypatch.setattr(CampaignStore, "checkpoint", spy)
    rc, _, err = _run(capsys, "campaign", "run", cfile, "--store", store, "--no-progress")
    assert rc == 0, err
    assert seen == [True, True, True]  # one checkpoint per run, each copying the whole log into the database


def test_python_dash_m_reports_a_damaged_store_without_a_traceback(two_runs):
    _, store = two_runs
    _damage(store)
    proc = subprocess.run([sys.executable, "-m", "sputter_twin", "campaign", "status", "--store", str(store)],
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 2 and "damaged" in _one_line(proc.stderr)

