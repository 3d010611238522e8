"""The campaign store: schema, state machine, compare-and-set approval, runner lock, tables."""

from __future__ import annotations

import dataclasses
import hashlib
import os
import sqlite3
import subprocess
import sys
import threading

import pandas as pd
import pytest

from campaigns.errors import RunnerBusyError, StoreError, TrialStateError
from campaigns.store import SCHEMA_VERSION, CampaignStore
from twin import Recipe, simulate

CONFIG = '[campaign]\nname = "c"\n[space]\nrf_power_w = [30.0, 200.0]\n'


def _digest(path) -> str:
    h = hashlib.sha256()
    for p in sorted(path.parent.glob(path.name + "*")):  # the file and any -wal / -shm
        h.update(p.name.encode() + p.read_bytes())
    return h.hexdigest()


@pytest.fixture
def store(tmp_path):
    s = CampaignStore(tmp_path / "s.sqlite")
    yield s
    s.close()


def _proposed(store, n=1):
    cid = store.find_campaign("c").id if store.find_campaign("c") else store.create_campaign("c", CONFIG)
    return cid, store.add_proposals(cid, [Recipe(rf_power_w=50.0 + k) for k in range(n)],
                                    provenance={"strategy": "test"})


def test_new_store_has_schema_wal_and_foreign_keys(store):
    assert store.schema_version() == SCHEMA_VERSION
    assert store._db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    assert store._db.execute("PRAGMA foreign_keys").fetchone()[0] == 1
    with pytest.raises(sqlite3.IntegrityError):  # a trial of a campaign that does not exist
        with store._tx() as cur:
            cur.execute("INSERT INTO trials (campaign_id, idx, batch, state, recipe_json, proposed_at, "
                        "provenance_json) VALUES (99, 0, 0, 'proposed', '{}', 'now', '{}')")
    assert store.integrity_check() == "ok"


def test_trial_walks_the_state_machine_and_every_change_is_logged(store):
    cid, (tid,) = _proposed(store)
    assert store.trial(tid).state == "proposed"
    store.approve(tid, "alice", "looks safe")
    store.mark_running(tid, 0)
    res = simulate(Recipe(rf_power_w=50.0), seed=1)
    t = store.record_result(tid, res.to_dict(), "done")
    assert t.state == "done" and t.run_index == 0 and t.reviewer == "alice"
    assert t.interface_resistance_ohm_cm2 == pytest.approx(res.interface_resistance_ohm_cm2)
    assert t.proposed_at <= t.approved_at <= t.started_at <= t.finished_at
    kinds = [(e.kind, e.from_state, e.to_state) for e in store.events(trial_id=tid)]
    assert kinds == [("proposed", None, "proposed"), ("approve", "proposed", "approved"),
                     ("start", "approved", "running"), ("finish", "running", "done")]
    store.log_event(tid, "note", "checked by XPS", actor="bob")
    assert store.events(trial_id=tid)[-1].detail == {"note": "checked by XPS"}


@pytest.mark.parametrize("action", ["approve_twice", "reject_approved", "run_proposed", "result_of_approved",
                                    "measure_done", "interrupt_proposed"])
def test_transitions_that_the_state_does_not_allow_fail_and_change_nothing(store, action):
    cid, (tid,) = _proposed(store)
    store.approve(tid, "alice")
    if action == "measure_done":
        store.mark_running(tid, 0)
        store.record_result(tid, {"interface_resistance_ohm_cm2": 9.0}, "done")
    before = (store.trial(tid), len(store.events(campaign_id=cid)))
    calls = {
        "approve_twice": lambda: store.approve(tid, "bob"),
        "reject_approved": lambda: store.reject(tid, "bob", "no"),
        "run_proposed": None,  # below: a second, still proposed trial
        "result_of_approved": lambda: store.record_result(tid, {}, "done"),
        "measure_done": lambda: store.record_measurement(tid, 8.0, "carol"),
        "interrupt_proposed": lambda: store.mark_interrupted(tid, "x"),
    }
    if action == "run_proposed":
        _, (other,) = _proposed(store)
        before = (store.trial(tid), len(store.events(campaign_id=cid)))
        with pytest.raises(TrialStateError, match="proposed"):
            store.mark_running(other)
        assert store.trial(other).state == "proposed"
    else:
        with pytest.raises(TrialStateError):
            calls[action]()
    assert (store.trial(tid), len(store.events(campaign_id=cid))) == before


def test_concurrent_approvals_exactly_one_wins(tmp_path):
    path = tmp_path / "s.sqlite"
    with CampaignStore(path) as s:
        cid = s.create_campaign("c", CONFIG)
        ids = s.add_proposals(cid, [Recipe(rf_power_w=40.0 + k) for k in range(10)], provenance={})
    for tid in ids:
        stores = [CampaignStore(path) for _ in range(4)]
        barrier = threading.Barrier(len(stores))
        wins, losses = [], []

        def approve(s, who, tid=tid, barrier=barrier, wins=wins, losses=losses):
            barrier.wait()
            try:
                s.approve(tid, who)
                wins.append(who)
            except TrialStateError:
                losses.append(who)

        threads = [threading.Thread(target=approve, args=(s, f"r{k}")) for k, s in enumerate(stores)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert len(wins) == 1 and len(losses) == 3
        assert stores[0].trial(tid).reviewer == wins[0]
        assert [e.kind for e in stores[0].events(trial_id=tid)].count("approve") == 1
        for s in stores:
            s.close()


def test_measurement_completes_an_awaiting_trial(store):
    cid, (tid,) = _proposed(store)
    store.approve(tid, "a")
    store.mark_running(tid, 0)
    store.record_result(tid, {"interface_resistance_ohm_cm2": None, "shorted": False}, "awaiting_measurement")
    for bad in (float("nan"), -1.0, 0.0, float("inf")):
        with pytest.raises(TrialStateError):
            store.record_measurement(tid, bad, "carol")
    assert store.trial(tid).state == "awaiting_measurement"
    t = store.record_measurement(tid, 9.5, "carol")
    assert t.state == "done" and t.interface_resistance_ohm_cm2 == 9.5 and t.result["measured_by"] == "carol"


def _edit(path, *statements: str) -> None:
    """Change a closed store behind the store's back, with the WAL folded into the file."""
    db = sqlite3.connect(path)
    for stmt in statements:
        db.execute(stmt)
    db.commit()
    db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    db.close()


@pytest.mark.parametrize("version, words", [(99, "newer"), (0, "unknown older store schema")])
def test_a_newer_or_unknown_older_schema_is_refused_and_the_file_left_untouched(tmp_path, version, words):
    path = tmp_path / "s.sqlite"
    with CampaignStore(path) as s:
        _proposed(s)
    _edit(path, f"UPDATE meta SET value = '{version}' WHERE key = 'schema_version'")
    before = _digest(path)
    with pytest.raises(StoreError, match=words):
        CampaignStore(path)
    assert _digest(path) == before


def _as_schema_3(path) -> None:
    """Turn a store into what schema 3 wrote: no prediction_json column, version 3."""
    _edit(path, "ALTER TABLE trials DROP COLUMN prediction_json",
          "UPDATE meta SET value = '3' WHERE key = 'schema_version'")


def _as_schema_2(path) -> None:
    """Turn a store into what schema 2 wrote: no extras_json nor prediction_json column, version 2."""
    _as_schema_3(path)
    _edit(path, "ALTER TABLE trials DROP COLUMN extras_json",
          "UPDATE meta SET value = '2' WHERE key = 'schema_version'")


def _as_schema_1(path) -> None:
    """Turn a store into what schema 1 wrote: no predicted_failure nor extras_json column, version 1."""
    _as_schema_2(path)
    _edit(path, "ALTER TABLE trials DROP COLUMN predicted_failure",
          "UPDATE meta SET value = '1' WHERE key = 'schema_version'")


def test_a_schema_1_store_is_migrated_when_opened_and_keeps_everything(tmp_path):
    path = tmp_path / "s.sqlite"
    with CampaignStore(path) as s:
        cid, (t1, t2) = _proposed(s, 2)
        s.approve(t1, "alice", "ok")
        before_trials = [dataclasses.replace(t, predicted_failure=None) for t in s.trials(cid)]
        before_events = s.events(cid)
    _as_schema_1(path)
    with CampaignStore(path) as s:
        assert s.schema_version() == SCHEMA_VERSION == 4 and s.integrity_check() == "ok"
        assert s.trials(cid) == before_trials  # every trial as it was; no P(failure) for the old ones
        assert s.events(cid) == before_events
        (t3,) = s.add_proposals(cid, [Recipe(rf_power_w=70.0)], provenance={"strategy": "test"},
                                predictions=[(1.0, 0.1, 0.01, 0.25)])
        assert s.trial(t3).predicted_failure == 0.25 and s.trial(t1).predicted_failure is None
        assert "predicted_failure" in s.to_dataframe(cid).columns
    with CampaignStore(path) as s:  # opening a migrated store again changes nothing
        assert s.schema_version() == SCHEMA_VERSION and len(s.trials(cid)) == 3


def test_a_failed_migration_leaves_the_schema_1_store_as_it_was(tmp_path, monkeypatch):
    import campaigns.store as store_mod

    path = tmp_path / "s.sqlite"
    with CampaignStore(path) as s:
        _proposed(s, 2)
    _as_schema_1(path)
    before = _digest(path)
    monkeypatch.setitem(store_mod.MIGRATIONS, 1, store_mod.MIGRATIONS[1] + ("ALTER TABLE no_such_table ADD x",))
    with pytest.raises(StoreError, match="rolled back") as info:
        CampaignStore(path)
    assert "\n" not in str(info.value) and "schema_version" in str(info.value)
    db = sqlite3.connect(path)
    assert db.execute("SELECT value FROM meta WHERE key = 'schema_version'").fetchone()[0] == "1"
    assert "predicted_failure" not in {r[1] for r in db.execute("PRAGMA table_info(trials)")}  # rolled back
    db.close()
    monkeypatch.undo()
    with CampaignStore(path) as s:  # and the real migration still works afterwards
        assert s.schema_version() == SCHEMA_VERSION
    assert before != _digest(path)


EXTRAS_CONFIG = CONFIG + '[space.extra.substrate_bias_v]\nlow = -100.0\nhigh = 0.0\nunit = "V"\n'


def test_a_schema_2_store_is_migrated_and_new_trials_keep_their_extras(tmp_path):
    from campaigns.variables import Proposal

    path = tmp_path / "s.sqlite"
    with CampaignStore(path) as s:
        cid, (t1,) = _proposed(s)
        before_trials, before_events = s.trials(cid), s.events(cid)
    _as_schema_2(path)
    with CampaignStore(path) as s:
        assert s.schema_version() == SCHEMA_VERSION and s.integrity_check() == "ok"
        assert s.trials(cid) == before_trials and s.trials(cid)[0].extras == {}  # nothing lost, no extras
        assert s.events(cid) == before_events
        cid2 = s.create_campaign("bias", EXTRAS_CONFIG.replace('name = "c"', 'name = "bias"'))
        (t2,) = s.add_proposals(cid2, [Proposal(Recipe(rf_power_w=70.0), {"substrate_bias_v": -40.0})],
                                provenance={"strategy": "test"})
        t = s.trial(t2)
        assert t.recipe == Recipe(rf_power_w=70.0).to_dict() and t.extras == {"substrate_bias_v": -40.0}
        df = s.to_dataframe(cid2)
        assert df["substrate_bias_v"].tolist() == [-40.0] and df.attrs["units"]["substrate_bias_v"] == "V"
        assert df.attrs["units"]["rf_power_w"] == "W" and df.attrs["extras"] == ["substrate_bias_v"]
    with CampaignStore(path) as s:  # opening a migrated store again changes nothing
        assert s.schema_version() == SCHEMA_VERSION and s.trial(t2).extras == {"substrate_bias_v": -40.0}


def test_a_failed_migration_from_schema_2_leaves_the_store_as_it_was(tmp_path, monkeypatch):
    import campaigns.store as store_mod

    path = tmp_path / "s.sqlite"
    with CampaignStore(path) as s:
        _proposed(s, 2)
    _as_schema_2(path)
    before = _digest(path)
    monkeypatch.setitem(store_mod.MIGRATIONS, 2, store_mod.MIGRATIONS[2] + ("ALTER TABLE no_such_table ADD x",))
    with pytest.raises(StoreError, match="rolled back"):
        CampaignStore(path)
    db = sqlite3.connect(path)
    assert db.execute("SELECT value FROM meta WHERE key = 'schema_version'").fetchone()[0] == "2"
    assert "extras_json" not in {r[1] for r in db.execute("PRAGMA table_info(trials)")}
    db.close()
    assert _digest(path) == before


@pytest.mark.parametrize("content", [b"not a database at all" * 100, b""])
def test_a_file_that_is_not_a_store_is_refused(tmp_path, content):
    path = tmp_path / "x.sqlite"
    path.write_bytes(content)
    if content:
        with pytest.raises(StoreError):
            CampaignStore(path)
        assert path.read_bytes() == content
    else:  # an empty file is an empty SQLite database: it becomes a store
        CampaignStore(path).close()


def test_other_sqlite_database_is_refused(tmp_path):
    path = tmp_path / "other.sqlite"
    db = sqlite3.connect(path)
    db.execute("CREATE TABLE mine (x)")
    db.commit()
    db.close()
    before = path.read_bytes()
    with pytest.raises(StoreError, match="not a campaign store"):
        CampaignStore(path)
    assert path.read_bytes() == before


def test_missing_store_without_create(tmp_path):
    with pytest.raises(StoreError, match="no such campaign store"):
        CampaignStore(tmp_path / "nope.sqlite", create=False)
    assert not (tmp_path / "nope.sqlite").exists()


def test_second_runner_lock_is_refused_and_a_dead_runner_lock_is_taken_over(tmp_path):
    path = tmp_path / "s.sqlite"
    a, b = CampaignStore(path), CampaignStore(path)
    cid = a.create_campaign("c", CONFIG)
    with a.runner_lock(cid):
        with pytest.raises(RunnerBusyError, match="another runner"), b.runner_lock(cid):
            pass
    with b.runner_lock(cid):  # released: the next runner gets it
        pass
    # a lock left by a process that died
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    with a._tx() as cur:
        cur.execute("INSERT INTO runner_locks VALUES (?, 'tok', ?, ?, '1', 'earlier')",
                    (cid, dead.pid, __import__("socket").gethostname()))
    with b.runner_lock(cid):
        pass
    assert any(e.kind == "stale_lock_taken" and e.detail["pid"] == dead.pid for e in a.events(campaign_id=cid))
    a.close()
    b.close()


def test_a_lock_this_process_could_not_release_is_taken_over_by_its_next_runner(tmp_path):
    """A runner whose lock release failed (the disk was full) leaves a row with this process's pid: the next runner
    of the same process (a notebook, the dashboard, a retry) takes it over; a lock held now is still refused."""
    import socket

    from campaigns.store import _process_start

    path = tmp_path / "s.sqlite"
    a, b = CampaignStore(path), CampaignStore(path)
    cid = a.create_campaign("c", CONFIG)
    me = os.getpid()
    with a._tx() as cur:
        cur.execute("INSERT INTO runner_locks VALUES (?, 'left-behind', ?, ?, ?, 'earlier')",
                    (cid, me, socket.gethostname(), _process_start(me) or ""))
    with b.runner_lock(cid):
        with pytest.raises(RunnerBusyError, match="another runner"), a.runner_lock(cid):
            pass
    taken = [e for e in a.events(campaign_id=cid) if e.kind == "stale_lock_taken"]
    assert len(taken) == 1 and taken[0].detail["pid"] == me
    a.close()
    b.close()


def test_to_dataframe_one_row_per_trial_with_recipe_result_and_times(store):
    cid, ids = _proposed(store, 3)
    store.approve(ids[0], "a")
    store.mark_running(ids[0], 0)
    res = simulate(Recipe(rf_power_w=50.0), seed=2, telemetry=True)
    store.record_result(ids[0], res.to_dict(), "done", telemetry=res.telemetry)
    store.reject(ids[1], "a", "too hot")
    df = store.to_dataframe(cid)
    assert list(df["trial_id"]) == ids and list(df["state"]) == ["done", "rejected", "proposed"]
    for col in ("rf_power_w", "pressure_pa", "interface_resistance_ohm_cm2", "thickness_nm", "objective",
                "feasible", "proposed_at", "finished_at", "n_arc", "run_seed"):
        assert col in df.columns, col
    assert df.loc[0, "objective"] == pytest.approx(res.interface_resistance_ohm_cm2)
    assert bool(df.loc[1, "feasible"]) is False and df.loc[1, "failure"] == "rejected by reviewer"
    assert isinstance(df.loc[0, "proposed_at"], pd.Timestamp)
    tel = store.telemetry(ids[0])
    pd.testing.assert_frame_equal(tel.reset_index(drop=True), res.telemetry.reset_index(drop=True))
    assert store.telemetry(ids[1]) is None


def test_duplicate_campaign_name_is_refused(store):
    store.create_campaign("c", CONFIG)
    with pytest.raises(StoreError, match="already"):
        store.create_campaign("c", CONFIG)


@pytest.mark.parametrize("content", [b"\x00", b"x", b"not a database at all", b"SQLite format 2\x00" + b"\x00" * 90])
@pytest.mark.parametrize("create", [True, False])
def test_a_short_or_foreign_file_is_refused_and_left_untouched(tmp_path, content, create):
    path = tmp_path / "junk.sqlite"
    path.write_bytes(content)
    with pytest.raises(StoreError, match="not an SQLite file"):
        CampaignStore(path, create=create)
    assert path.read_bytes() == content


def test_an_empty_file_is_a_new_store_only_when_creating(tmp_path):
    path = tmp_path / "empty.sqlite"
    path.write_bytes(b"")
    with pytest.raises(StoreError, match="empty file"):
        CampaignStore(path, create=False)
    assert path.read_bytes() == b""
    with CampaignStore(path) as store:
        assert store.campaigns() == []


def test_a_schema_3_store_is_migrated_and_new_trials_keep_their_vector_prediction(tmp_path):
    path = tmp_path / "s.sqlite"
    with CampaignStore(path) as s:
        cid, (t1,) = _proposed(s)
        before_trials, before_events = s.trials(cid), s.events(cid)
    _as_schema_3(path)
    with CampaignStore(path) as s:
        assert s.schema_version() == SCHEMA_VERSION == 4 and s.integrity_check() == "ok"
        assert s.trials(cid) == before_trials and s.trial(t1).prediction == {}
        assert s.events(cid) == before_events
        pred = {"goals": ["interface_resistance_ohm_cm2", "process_time_s"], "mean": [1.0, 7200.0],
                "std": [0.1, float("nan")], "p_feasible": 0.8, "acquisition": 0.3}
        (t2,) = s.add_proposals(cid, [Recipe(rf_power_w=70.0)], provenance={"strategy": "test"},
                                vector_predictions=[pred])
        assert s.trial(t2).prediction == pred | {"std": [0.1, None]}  # NaN is stored as null (strict JSON)
    with CampaignStore(path) as s:  # opening a migrated store again changes nothing
        assert s.schema_version() == 4 and s.trial(t2).prediction["p_feasible"] == 0.8
    with pytest.raises(ValueError, match="one vector prediction"), CampaignStore(path) as s:
        s.add_proposals(cid, [Recipe()], provenance={}, vector_predictions=[])
