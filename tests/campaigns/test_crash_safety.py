"""Crash safety: the runner, as a real ``sputter-twin campaign run`` process, is SIGKILLed at random moments again
and again and resumed each time. No completed run may be lost or recorded twice, the SQLite file must pass
``PRAGMA integrity_check`` after every kill, and the final history must equal an uninterrupted run's."""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

from campaigns.config import CampaignConfig
from campaigns.runner import Runner, open_campaign
from campaigns.store import CampaignStore, trial_history
from tests.campaigns.helpers import small_campaign
from twin import Chamber

EXE = Path(sys.executable).with_name("sputter-twin")


def _snapshot(path: Path) -> dict[int, tuple]:
    """Finished trials (index → state, recipe, result, run index), read with a plain SQLite connection."""
    db = sqlite3.connect(path)
    try:
        assert db.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        rows = db.execute("SELECT idx, state, recipe_json, result_json, run_index FROM trials "
                          "WHERE state IN ('done', 'failed', 'awaiting_measurement') ORDER BY idx").fetchall()
        runs = db.execute("SELECT run_index, COUNT(*) FROM trials WHERE result_json IS NOT NULL "
                          "GROUP BY run_index HAVING COUNT(*) > 1").fetchall()
    finally:
        db.close()
    assert runs == [], f"a run index recorded twice: {runs}"
    return {r[0]: r[1:] for r in rows}


def _wait_for_lock(path: Path, proc: subprocess.Popen) -> bool:
    """Wait until ``proc`` holds the runner lock (True) or has exited (False)."""
    while proc.poll() is None:
        if path.exists():
            try:
                db = sqlite3.connect(path, timeout=5.0)
                try:
                    row = db.execute("SELECT pid FROM runner_locks").fetchone()
                finally:
                    db.close()
            except sqlite3.OperationalError:  # the schema is not there yet
                row = None
            if row is not None and row[0] == proc.pid:
                return True
        time.sleep(0.01)
    return False


MAX_KILLS = 8
"""SIGKILLs at random moments before the last runner is left to finish."""


def test_sigkill_at_random_moments_then_resume_equals_uninterrupted_run(tmp_path):
    budget = 16
    cfile = small_campaign(tmp_path, budget=budget, batch=2, seed=11)

    # the uninterrupted reference, in this process
    ref_path = tmp_path / "reference.sqlite"
    with CampaignStore(ref_path) as store:
        cid = open_campaign(store, CampaignConfig.from_toml(cfile), Chamber())
        assert Runner(store, cid).run().status == "budget_spent"
        reference = trial_history(store.trials(cid))

    path = tmp_path / "killed.sqlite"
    rng = np.random.default_rng(2024)
    kills, seen, stalled = 0, {}, 0
    while True:
        proc = subprocess.Popen([str(EXE), "campaign", "run", str(cfile), "--store", str(path), "--no-progress"],
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                                env={**os.environ, "PYTHONHASHSEED": "0"})
        # a random moment after the runner has taken its lock (start-up of the interpreter is not interesting)
        started = _wait_for_lock(path, proc)
        try:
            # the window doubles after each kill that found no new finished run, so the campaign always advances
            window = 0.25 * 2.0 ** min(stalled, 6)
            # after MAX_KILLS kills the last runner is left to finish the campaign (it would finish anyway: each
            # kill that finds progress resets the window; the cap only bounds the test's length)
            kill = started and kills < MAX_KILLS
            out, err = proc.communicate(timeout=float(rng.uniform(0.0, window)) if kill else
                                        240.0 if started else 60.0)
        except subprocess.TimeoutExpired:
            proc.send_signal(signal.SIGKILL)
            proc.communicate()
            kills += 1
            now = _snapshot(path)
            for idx, row in seen.items():  # nothing finished is ever lost or changed
                assert now[idx] == row, f"finished trial #{idx} changed after a kill"
            stalled = 0 if len(now) > len(seen) else stalled + 1
            seen = now
            continue
        assert proc.returncode == 0, err
        break

    print(f"{kills} SIGKILLs, {len(seen)} finished trials seen before the last one")
    assert kills >= 5, f"only {kills} kills: too few to test anything"
    with CampaignStore(path) as store:
        assert store.integrity_check() == "ok"
        (camp,) = store.campaigns()
        trials = store.trials(camp.id)
        assert trial_history(trials) == reference
        assert sum(t.state == "done" or t.state == "failed" for t in trials) == budget
        reruns = [e for e in store.events(camp.id) if e.kind == "rerun_after_crash"]
        for e in reruns:  # a repeated simulated run kept its run index: the same run, not a second one
            assert e.detail["run_index"] == store.trial(e.trial_id).run_index
    # the history is what the uninterrupted runner recorded, run indices 0..budget-1 once each
    assert sorted(t.run_index for t in trials) == list(range(budget))
    assert json.dumps(reference, sort_keys=True) == json.dumps(trial_history(trials), sort_keys=True)


def test_ctrl_c_stops_cleanly_and_the_campaign_resumes(tmp_path):
    """SIGINT (Ctrl-C) at random moments: exit status 130, lock released, no trial left running, and the resumed
    campaign's outcomes equal the uninterrupted run's (a run cut short is marked interrupted and run again)."""
    budget = 10
    cfile = small_campaign(tmp_path, budget=budget, seed=5)
    ref_path = tmp_path / "reference.sqlite"
    with CampaignStore(ref_path) as store:
        cid = open_campaign(store, CampaignConfig.from_toml(cfile), Chamber())
        Runner(store, cid).run()
        reference = [(t.recipe, t.result) for t in store.trials(cid) if t.state in ("done", "failed")]

    path = tmp_path / "sigint.sqlite"
    rng = np.random.default_rng(7)
    interrupts = clean = 0
    for _ in range(30):
        proc = subprocess.Popen([str(EXE), "campaign", "run", str(cfile), "--store", str(path), "--no-progress"],
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        if _wait_for_lock(path, proc) and interrupts < 4:
            time.sleep(float(rng.uniform(0.0, 0.6)))
            proc.send_signal(signal.SIGINT)
        out, err = proc.communicate(timeout=60)
        if proc.returncode in (130, -signal.SIGINT):  # -SIGINT: the signal came during interpreter shutdown
            interrupts += 1
            clean += proc.returncode == 130
            assert "Traceback" not in err
            assert proc.returncode == -signal.SIGINT or "interrupted" in err
            with CampaignStore(path) as store:
                assert store.integrity_check() == "ok"
                (camp,) = store.campaigns()
                assert not store.trials(camp.id, ["running"])
                with store.runner_lock(camp.id):  # released
                    pass
            continue
        assert proc.returncode == 0, (proc.returncode, err[-3000:])
        break  # the campaign ran to its end
    print(f"{interrupts} SIGINTs, {clean} handled by the runner (exit 130)")
    assert clean >= 1
    with CampaignStore(path) as store:
        (camp,) = store.campaigns()
        trials = store.trials(camp.id)
    assert [(t.recipe, t.result) for t in trials if t.state in ("done", "failed")] == reference
    assert all(t.state in ("done", "failed", "interrupted") for t in trials)
