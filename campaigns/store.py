"""The campaign store: one SQLite file (WAL) holding campaigns, trials, their event log and telemetry.

Every state change is one transaction (``BEGIN IMMEDIATE`` … ``COMMIT``) that checks the trial's current state
and writes the new state and an event-log row together, so a crash at any moment leaves either the old or the
new state, never half of one. Trial states::

    proposed ─► approved ─► running ─► done
        │                      ├─────► failed
        ▼                      ├─────► awaiting_measurement ─► done
     rejected                  └─────► interrupted

Approval and rejection are compare-and-set from ``proposed``: of two concurrent reviewers exactly one wins; the
other gets a :class:`~campaigns.errors.TrialStateError`.

The store keeps observations, never pickled optimisers: a strategy is rebuilt by replaying ``tell`` over
:meth:`CampaignStore.trials`.

Examples
--------
>>> import tempfile, pathlib
>>> path = pathlib.Path(tempfile.mkdtemp()) / "s.sqlite"
>>> with CampaignStore(path) as store:
...     cid = store.create_campaign("demo", "[campaign]\\nname = 'demo'\\n")
...     (tid,) = store.add_proposals(cid, [{"rf_power_w": 50.0}], provenance={"strategy": "manual"})
...     store.approve(tid, "alice").state
'approved'
"""

from __future__ import annotations

import contextlib
import io
import json
import logging
import math
import os
import socket
import sqlite3
import threading
import uuid
from collections.abc import Callable, Iterator, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from campaigns.errors import RunnerBusyError, StoreError, StoreReadOnlyError, StoreUnavailableError, TrialStateError
from campaigns.records import (  # noqa: F401  (re-exported: the store's public names)
    FINISHED_STATES,
    PENDING_STATES,
    STATES,
    Campaign,
    Trial,
    TrialEvent,
    _json,
    trial_history,
)
from campaigns.store_schema import _SCHEMA, MIGRATIONS, SCHEMA_VERSION  # noqa: F401  (SCHEMA_VERSION re-exported)
from campaigns.store_sqlite import Connection, Cursor

log = logging.getLogger(__name__)

def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="microseconds")


_HELD_TOKENS: set[str] = set()
"""Runner-lock tokens this process holds now: a lock row with this process's pid and another token is one that a
runner of this process could not release (the store's disk was full) and is stale."""


def _process_start(pid: int) -> str | None:
    """Start time of a live, non-zombie process (Linux ``/proc``), "" where unknown, None if it is gone."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return None
    except PermissionError:
        pass
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return ""
    fields = stat[stat.rfind(")") + 2:].split()
    if fields and fields[0] in ("Z", "X"):
        return None  # a killed process that its parent has not reaped yet
    return fields[19] if len(fields) > 19 else ""


class CampaignStore:
    """A campaign store in one SQLite file.

    Parameters
    ----------
    path : str or Path
        The SQLite file. Created (with the schema) if missing, unless ``create`` is false.
    create : bool
        Create a missing file. With ``False`` a missing file is a :class:`StoreError`.
    clock : callable, optional
        Returns the current UTC time as an ISO 8601 string (tests may fix it). Default: the wall clock.
        Only the store's bookkeeping uses it; simulations never read the wall clock.

    Raises
    ------
    StoreError
        The file is not an SQLite database, or it was written by a newer schema (it is then left untouched).
    """

    def __init__(self, path: str | Path, *, create: bool = True, clock: Callable[[], str] | None = None) -> None:
        self.path = Path(path)
        self._clock = clock or _now
        self._lock = threading.RLock()
        if not self.path.exists() and not create:
            raise StoreError("--store", str(self.path), "no such campaign store", source=str(self.path))
        if self.path.is_dir():
            raise StoreError("--store", str(self.path), "is a directory, not a campaign store")
        if self.path.exists():  # SQLite would take a short file of anything as a new database and overwrite it
            with self.path.open("rb") as fh:
                head = fh.read(16)
            if head and head != b"SQLite format 3\x00":
                raise StoreError("--store", str(self.path), "not a campaign store (not an SQLite file)")
            if not head and not create:
                raise StoreError("--store", str(self.path), "not a campaign store (empty file)")
        self.read_only = False
        """True when the store was opened read-only: its file cannot be written (a read-only file system or
        file and folder without write permission). Reading works; a change is a :class:`StoreReadOnlyError`."""
        try:
            self._open(read_only=False)
        except (StoreReadOnlyError, StoreUnavailableError):
            if self._writable():
                raise
            # SQLite cannot open a WAL store where it may create neither -wal nor -shm; nobody can change such a
            # file meanwhile, so it is read as immutable
            self._open(read_only=True)

    def _writable(self) -> bool:
        return not self.path.exists() or (os.access(self.path, os.W_OK) and os.access(self.path.parent, os.W_OK))

    def _open(self, *, read_only: bool) -> None:
        self.read_only = read_only
        self._db = Connection(str(self.path), read_only=read_only)
        try:
            self._db.execute("PRAGMA foreign_keys = ON")
            self._check_schema()
        except (StoreError, StoreUnavailableError):  # damaged, read-only, locked, full: one line, named
            with contextlib.suppress(Exception):
                self._db.close()
            raise
        except sqlite3.DatabaseError as exc:
            with contextlib.suppress(Exception):
                self._db.close()
            raise StoreError("--store", str(self.path), f"not a campaign store ({exc})") from None

    # -- opening ---------------------------------------------------------------------------------------
    def _check_schema(self) -> None:
        db = self._db
        tables = {r[0] for r in db.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
        if "meta" in tables:
            row = db.execute("SELECT value FROM meta WHERE key = 'schema_version'").fetchone()
            version = int(row[0]) if row else 0
            if version > SCHEMA_VERSION:
                db.close()
                raise StoreError("schema_version", version, "store written by a newer sputter-twin; refusing to "
                                 "open it", f"<= {SCHEMA_VERSION}", source=str(self.path))
            if version < min(MIGRATIONS, default=SCHEMA_VERSION):
                db.close()
                raise StoreError("schema_version", version, "unknown older store schema",
                                 f"{min(MIGRATIONS, default=SCHEMA_VERSION)}–{SCHEMA_VERSION}", source=str(self.path))
            self._set_pragmas()
            self._db.quick_check()  # a damaged page is named now, not half-way through a command
            if version < SCHEMA_VERSION:
                self._migrate()
            return
        if tables:
            db.close()
            raise StoreError("--store", str(self.path), "an SQLite file that is not a campaign store "
                             f"(tables: {', '.join(sorted(tables))})")
        self._set_pragmas()
        with self._tx() as cur:
            # another process may have created the schema meanwhile
            if cur.execute("SELECT 1 FROM sqlite_master WHERE name = 'meta'").fetchone() is None:
                for stmt in _SCHEMA.split(";"):
                    if stmt.strip():
                        cur.execute(stmt)
                cur.execute("INSERT INTO meta VALUES ('schema_version', ?)", (str(SCHEMA_VERSION),))
                cur.execute("INSERT INTO meta VALUES ('created', ?)", (self._clock(),))

    def _migrate(self) -> None:
        """Bring an older store to :data:`SCHEMA_VERSION` in one transaction (all steps or none), logged in the
        event log. The version is read again inside the transaction: another process may have migrated first."""
        start = version = 0
        try:
            with self._tx() as cur:
                version = int(cur.execute("SELECT value FROM meta WHERE key = 'schema_version'").fetchone()[0])
                start = version
                while version < SCHEMA_VERSION:
                    for stmt in MIGRATIONS[version]:
                        cur.execute(stmt)
                    version += 1
                if version != start:
                    cur.execute("UPDATE meta SET value = ? WHERE key = 'schema_version'", (str(version),))
        except sqlite3.DatabaseError as exc:
            self._db.close()
            raise StoreError("schema_version", start, f"migrating the store to schema {SCHEMA_VERSION} failed "
                             f"({exc}); it was rolled back and the store is as it was", str(SCHEMA_VERSION),
                             source=str(self.path)) from None
        if version != start:
            log.info("store %s: schema %d migrated to %d", self.path, start, version)

    def _set_pragmas(self) -> None:
        if self.read_only:
            return
        mode = self._db.execute("PRAGMA journal_mode = WAL").fetchone()[0]
        if mode.lower() != "wal":
            log.warning("store %s: journal mode %s instead of WAL", self.path, mode)
        self._db.execute("PRAGMA synchronous = FULL")
        self._db.execute("PRAGMA foreign_keys = ON")
        self._db.bound_wal()

    @contextlib.contextmanager
    def _tx(self) -> Iterator[Cursor]:
        """One write transaction, taken immediately (writers serialise here, readers are not blocked).

        A failure anywhere in it (a full disk at ``COMMIT`` too) rolls the whole transaction back; SQLite may have
        rolled it back already, so the rollback is attempted only while a transaction is open.
        """
        with self._lock:
            cur = self._db.cursor()
            cur.execute("BEGIN IMMEDIATE")
            try:
                yield cur
                cur.execute("COMMIT")
            except BaseException:
                if self._db.in_transaction:
                    with contextlib.suppress(sqlite3.Error, StoreError, StoreUnavailableError):
                        cur.execute("ROLLBACK")
                raise

    def close(self) -> None:
        """Close the connection (the WAL is checkpointed by SQLite)."""
        with self._lock:
            self._db.close()

    def checkpoint(self, *, truncate: bool = False) -> bool:
        """Copy the write-ahead log into the database file (and empty it with ``truncate``); False if that could
        not finish now (see :meth:`campaigns.store_sqlite.Connection.checkpoint`). The runner calls it, without
        waiting for readers, after every run."""
        with self._lock:
            return self._db.checkpoint(truncate=truncate)

    def __enter__(self) -> CampaignStore:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def schema_version(self) -> int:
        """The store's schema version."""
        return int(self._db.execute("SELECT value FROM meta WHERE key = 'schema_version'").fetchone()[0])

    def integrity_check(self) -> str:
        """``PRAGMA integrity_check`` (``"ok"`` for a sound file)."""
        with self._lock:
            return ";".join(r[0] for r in self._db.execute("PRAGMA integrity_check"))

    # -- campaigns -------------------------------------------------------------------------------------
    _CAMPAIGN_COLS = "id, name, config_toml, created, chamber_toml, overrides_json"

    def create_campaign(self, name: str, config_toml: str, *, chamber_toml: str | None = None,
                        overrides: dict[str, Any] | None = None, actor: str = "") -> int:
        """Add a campaign and return its id; a name already in the store is a :class:`StoreError`."""
        with self._tx() as cur:
            if cur.execute("SELECT 1 FROM campaigns WHERE name = ?", (name,)).fetchone():
                raise StoreError("campaign.name", name, "a campaign of this name is already in the store",
                                 source=str(self.path))
            cur.execute("INSERT INTO campaigns (name, config_toml, created, chamber_toml, overrides_json) "
                        "VALUES (?, ?, ?, ?, ?)", (name, config_toml, self._clock(), chamber_toml,
                                                   _json(overrides or {})))
            cid = int(cur.lastrowid)
            self._event(cur, cid, None, actor or "store", "campaign_created", None, None, {"name": name})
        return cid

    def set_overrides(self, campaign_id: int, changes: dict[str, Any], *, actor: str = "") -> Campaign:
        """Change command-line overrides of a campaign's file (e.g. ``{"budget": 12}``), logged in the event log.

        Only the keys given change; a key whose value is unchanged writes nothing.
        """
        with self._tx() as cur:
            row = cur.execute("SELECT overrides_json FROM campaigns WHERE id = ?", (campaign_id,)).fetchone()
            if row is None:
                raise StoreError("campaign", campaign_id, "no such campaign in the store", source=str(self.path))
            old = json.loads(row[0])
            new = {**old, **changes}
            if new != old:
                cur.execute("UPDATE campaigns SET overrides_json = ? WHERE id = ?", (_json(new), campaign_id))
                self._event(cur, campaign_id, None, actor or "user", "overrides_set", None, None,
                            {k: v for k, v in changes.items() if old.get(k) != v})
        return self.campaign(campaign_id)

    def campaigns(self) -> list[Campaign]:
        """Every campaign, oldest first."""
        with self._lock:
            rows = self._db.execute(f"SELECT {self._CAMPAIGN_COLS} FROM campaigns ORDER BY id").fetchall()  # noqa: S608
        return [Campaign(*r[:5], json.loads(r[5])) for r in rows]

    def campaign(self, campaign_id: int | str) -> Campaign:
        """A campaign by id or by name."""
        col = "name" if isinstance(campaign_id, str) else "id"
        with self._lock:
            row = self._db.execute(f"SELECT {self._CAMPAIGN_COLS} FROM campaigns WHERE {col} = ?",  # noqa: S608
                                   (campaign_id,)).fetchone()
        if row is None:
            raise StoreError("campaign", campaign_id, "no such campaign in the store",
                             ", ".join(c.name for c in self.campaigns()) or "none", source=str(self.path))
        return Campaign(*row[:5], json.loads(row[5]))

    def find_campaign(self, name: str) -> Campaign | None:
        """The campaign called ``name``, or None."""
        try:
            return self.campaign(name)
        except StoreError:
            return None

    # -- trials ----------------------------------------------------------------------------------------
    _TRIAL_COLS = ("id, campaign_id, idx, batch, state, recipe_json, result_json, run_index, predicted_mean, "
                   "predicted_std, expected_improvement, proposed_at, approved_at, started_at, finished_at, "
                   "reviewer, comment, provenance_json, predicted_failure, extras_json, prediction_json")

    @staticmethod
    def _trial(row: Sequence[Any]) -> Trial:
        (tid, cid, idx, batch, state, recipe, result, run_index, mean, std, ei, proposed, approved, started,
         finished, reviewer, comment, prov, p_fail, extras, prediction) = row
        return Trial(tid, cid, idx, batch, state, json.loads(recipe), json.loads(result) if result else None,
                     run_index, mean, std, ei, proposed, approved, started, finished, reviewer, comment,
                     json.loads(prov), p_fail, json.loads(extras) if extras else {},
                     json.loads(prediction) if prediction else {})

    def trials(self, campaign_id: int, states: Sequence[str] | None = None) -> list[Trial]:
        """The campaign's trials in proposal order (optionally only those in ``states``)."""
        with self._lock:
            rows = self._db.execute(f"SELECT {self._TRIAL_COLS} FROM trials WHERE campaign_id = ? ORDER BY idx",  # noqa: S608
                                    (campaign_id,)).fetchall()
        out = [self._trial(r) for r in rows]
        return [t for t in out if t.state in states] if states is not None else out

    def trial(self, trial_id: int) -> Trial:
        """One trial by id."""
        with self._lock:
            row = self._db.execute(f"SELECT {self._TRIAL_COLS} FROM trials WHERE id = ?",  # noqa: S608
                                   (trial_id,)).fetchone()
        if row is None:
            raise StoreError("trial", trial_id, "no such trial in the store", source=str(self.path))
        return self._trial(row)

    def add_proposals(self, campaign_id: int, recipes: Sequence[Any], *, provenance: dict[str, Any],
                      predictions: Sequence[Sequence[float | None]] | None = None,
                      actor: str = "strategy", expect_count: int | None = None,
                      vector_predictions: Sequence[dict[str, Any] | None] | None = None) -> list[int]:
        """Add a batch of proposed recipes (dicts or objects with ``to_dict()``) in one transaction.

        A proposal with extra variables (:class:`campaigns.variables.Proposal`: ``to_dict()`` gives its recipe,
        ``extras`` the rest) keeps them beside the recipe (:attr:`Trial.extras`).

        Parameters
        ----------
        provenance : dict
            JSON-safe: strategy and settings, seed, versions, tool name. Stored with every trial.
        predictions : sequence of (mean, std, EI) or (mean, std, EI, P(failure)), optional
            The strategy's prediction for each recipe at proposal time, in the optimiser's units; P(failure) in
            [0, 1] where the strategy models failed runs.
        expect_count : int, optional
            Compare-and-set guard: add only if the campaign holds exactly this many trials (so two processes
            proposing from the same history cannot both add a batch). Otherwise :class:`TrialStateError`.
        vector_predictions : sequence of dict, optional
            A multi-objective strategy's prediction for each recipe (:attr:`Trial.prediction`: ``goals``, ``mean``,
            ``std``, ``p_feasible``, ``acquisition``); None or ``{}`` where it has none.

        Returns
        -------
        list of int
            The new trials' ids.
        """
        self.campaign(campaign_id)
        preds = [tuple(p) + (None,) * (4 - len(p)) for p in predictions] if predictions is not None \
            else [(None, None, None, None)] * len(recipes)
        if len(preds) != len(recipes) or any(len(p) != 4 for p in preds):
            raise ValueError("one prediction (mean, std, EI[, P(failure)]) per recipe")
        vectors = list(vector_predictions) if vector_predictions is not None else [None] * len(recipes)
        if len(vectors) != len(recipes):
            raise ValueError("one vector prediction per recipe")
        ids = []
        with self._tx() as cur:
            n, batch = cur.execute("SELECT COUNT(*), COALESCE(MAX(batch), -1) FROM trials WHERE campaign_id = ?",
                                   (campaign_id,)).fetchone()
            if expect_count is not None and n != expect_count:
                raise TrialStateError("campaign", campaign_id, f"holds {n} trials, expected {expect_count}: "
                                      "someone else proposed meanwhile")
            now = self._clock()
            for k, (recipe, (mean, std, ei, p_fail), vector) in enumerate(zip(recipes, preds, vectors,
                                                                                  strict=True)):
                rd = recipe.to_dict() if hasattr(recipe, "to_dict") else dict(recipe)
                extras = dict(getattr(recipe, "extras", None) or {})
                cur.execute(
                    "INSERT INTO trials (campaign_id, idx, batch, state, recipe_json, predicted_mean, predicted_std,"
                    " expected_improvement, predicted_failure, extras_json, prediction_json, proposed_at,"
                    " provenance_json) VALUES (?, ?, ?, 'proposed', ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                    (campaign_id, n + k, batch + 1, _json(rd), _f(mean), _f(std), _f(ei), _f(p_fail),
                     _json(extras) if extras else None, _json(vector) if vector else None, now,
                     _json(provenance)))
                tid = int(cur.lastrowid)
                ids.append(tid)
                self._event(cur, campaign_id, tid, actor, "proposed", None, "proposed", {"batch": batch + 1})
        return ids

    def import_trials(self, campaign_id: int, rows: Sequence[dict[str, Any]], *, source: str,
                      actor: str = "import") -> list[int]:
        """Add past runs from a file as finished trials, all in one transaction or none (``campaign import``).

        Each row is a dict with ``recipe``, ``extras``, ``result``, ``state`` (``done`` or ``failed``),
        ``started_at``, ``finished_at`` (UTC ISO 8601 or None), ``comment`` and ``provenance`` (which must hold
        ``"imported": True`` and a ``row_key``; :func:`campaigns.importer.import_past_runs` builds them). The
        trials get no run index (they did not run on the campaign's tool), one new batch, and an ``imported``
        event each; the campaign gets one ``import`` event naming the file. A row whose ``row_key`` is already
        imported into the campaign (another process imported meanwhile) refuses the whole import with a
        :class:`TrialStateError`.

        Returns
        -------
        list of int
            The new trials' ids, in row order.
        """
        self.campaign(campaign_id)
        for r in rows:
            if r.get("state") not in ("done", "failed") or not r.get("provenance", {}).get("imported"):
                raise ValueError("an imported row needs state done | failed and provenance {'imported': True, ...}")
        ids: list[int] = []
        with self._tx() as cur:
            keys = set()
            for (prov,) in cur.execute("SELECT provenance_json FROM trials WHERE campaign_id = ?", (campaign_id,)):
                p = json.loads(prov)
                if p.get("imported"):
                    keys.add(p.get("row_key"))
            clash = [r["provenance"].get("row") for r in rows if r["provenance"].get("row_key") in keys]
            if clash:
                raise TrialStateError("row", clash[0], f"{len(clash)} row(s) were imported into the campaign "
                                      "meanwhile; nothing imported")
            n, batch = cur.execute("SELECT COUNT(*), COALESCE(MAX(batch), -1) FROM trials WHERE campaign_id = ?",
                                   (campaign_id,)).fetchone()
            now = self._clock()
            for k, r in enumerate(rows):
                extras = dict(r.get("extras") or {})
                cur.execute(
                    "INSERT INTO trials (campaign_id, idx, batch, state, recipe_json, result_json, extras_json,"
                    " proposed_at, started_at, finished_at, comment, provenance_json)"
                    " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                    (campaign_id, n + k, batch + 1, r["state"], _json(r["recipe"]), _json(r["result"]),
                     _json(extras) if extras else None, now, r.get("started_at"), r.get("finished_at"),
                     r.get("comment"), _json(r["provenance"])))
                tid = int(cur.lastrowid)
                ids.append(tid)
                self._event(cur, campaign_id, tid, actor, "imported", None, r["state"],
                            {"source": source, "row": r["provenance"].get("row")})
            if ids:
                self._event(cur, campaign_id, None, actor, "import", None, None,
                            {"source": source, "rows": len(ids), "first_trial": ids[0], "last_trial": ids[-1]})
        return ids

    def _transition(self, trial_id: int, from_states: Sequence[str], to_state: str, actor: str, kind: str,
                    detail: dict[str, Any], sets: dict[str, Any], telemetry: bytes | None = None) -> Trial:
        with self._tx() as cur:
            row = cur.execute("SELECT campaign_id, state FROM trials WHERE id = ?", (trial_id,)).fetchone()
            if row is None:
                raise StoreError("trial", trial_id, "no such trial in the store", source=str(self.path))
            cid, state = row
            if state not in from_states:
                raise TrialStateError(f"trial {trial_id}", state, f"cannot {kind} a trial that is {state}",
                                      "from " + " | ".join(from_states))
            cols = ", ".join(f"{k} = ?" for k in sets)
            cur.execute(f"UPDATE trials SET state = ?{', ' if cols else ''}{cols} WHERE id = ? AND state = ?",  # noqa: S608
                        (to_state, *sets.values(), trial_id, state))
            if cur.rowcount != 1:  # cannot happen inside BEGIN IMMEDIATE; kept as the compare-and-set guard
                raise TrialStateError(f"trial {trial_id}", state, "changed by someone else meanwhile")
            self._event(cur, cid, trial_id, actor, kind, state, to_state, detail)
            if telemetry is not None:
                cur.execute("INSERT OR REPLACE INTO telemetry (trial_id, format, data) VALUES (?, 'parquet', ?)",
                            (trial_id, telemetry))
        return self.trial(trial_id)

    def approve(self, trial_id: int, reviewer: str, comment: str = "") -> Trial:
        """proposed → approved (compare-and-set: a second approval fails with :class:`TrialStateError`)."""
        if not reviewer:
            raise TrialStateError("reviewer", reviewer, "an approval needs a reviewer's name")
        return self._transition(trial_id, ("proposed",), "approved", reviewer, "approve", {"comment": comment},
                                {"approved_at": self._clock(), "reviewer": reviewer, "comment": comment})

    def reject(self, trial_id: int, reviewer: str, comment: str) -> Trial:
        """proposed → rejected (compare-and-set)."""
        if not reviewer:
            raise TrialStateError("reviewer", reviewer, "a rejection needs a reviewer's name")
        return self._transition(trial_id, ("proposed",), "rejected", reviewer, "reject", {"comment": comment},
                                {"finished_at": self._clock(), "reviewer": reviewer, "comment": comment})

    def mark_running(self, trial_id: int, run_index: int | None = None, *, actor: str = "runner",
                     tool: str = "") -> Trial:
        """approved → running; ``run_index`` is the tool's run counter for this run."""
        return self._transition(trial_id, ("approved",), "running", actor, "start",
                                {"run_index": run_index, "tool": tool},
                                {"started_at": self._clock(), "run_index": run_index})

    def record_result(self, trial_id: int, result: dict[str, Any], state: str = "done", *, actor: str = "runner",
                      reason: str = "", telemetry: Any = None) -> Trial:
        """running → ``state`` (done, failed or awaiting_measurement) with the run's result, in one transaction."""
        if state not in FINISHED_STATES:
            raise ValueError(f"state={state!r} must be one of {FINISHED_STATES}")
        return self._transition(trial_id, ("running",), state, actor, "finish", {"reason": reason},
                                {"result_json": _json(result), "finished_at": self._clock()}, _parquet(telemetry))

    def mark_failed(self, trial_id: int, reason: str, result: dict[str, Any] | None = None, *,
                    actor: str = "runner") -> Trial:
        """approved | running → failed (the tool refused or faulted), with the reason and any partial result."""
        sets: dict[str, Any] = {"finished_at": self._clock()}
        if result is not None:
            sets["result_json"] = _json(result)
        return self._transition(trial_id, ("approved", "running"), "failed", actor, "fail", {"reason": reason}, sets)

    def mark_interrupted(self, trial_id: int, reason: str, telemetry: Any = None, *, actor: str = "runner") -> Trial:
        """running → interrupted (Ctrl-C, abort, a runner that died); telemetry up to the stop is kept."""
        return self._transition(trial_id, ("running",), "interrupted", actor, "interrupt", {"reason": reason},
                                {"finished_at": self._clock()}, _parquet(telemetry))

    def record_measurement(self, trial_id: int, interface_resistance_ohm_cm2: float, actor: str) -> Trial:
        """awaiting_measurement → done with the measured interface resistance [Ω·cm²] (finite, > 0)."""
        r = interface_resistance_ohm_cm2
        if isinstance(r, bool) or not isinstance(r, int | float) or not math.isfinite(r) or r <= 0:
            raise TrialStateError("interface_resistance_ohm_cm2", r, "must be a finite positive number", "> 0 Ω·cm²")
        if not actor:
            raise TrialStateError("actor", actor, "a measurement needs the name of who entered it")
        with self._tx() as cur:
            row = cur.execute("SELECT campaign_id, state, result_json FROM trials WHERE id = ?",
                              (trial_id,)).fetchone()
            if row is None:
                raise StoreError("trial", trial_id, "no such trial in the store", source=str(self.path))
            cid, state, result_json = row
            if state != "awaiting_measurement":
                raise TrialStateError(f"trial {trial_id}", state, f"cannot enter a measurement for a trial that is "
                                      f"{state}", "from awaiting_measurement")
            result = json.loads(result_json) if result_json else {}
            result["interface_resistance_ohm_cm2"] = float(r)
            result["measured_by"] = actor
            cur.execute("UPDATE trials SET state = 'done', result_json = ? WHERE id = ? AND state = ?",
                        (_json(result), trial_id, state))
            self._event(cur, cid, trial_id, actor, "measure", state, "done", {"interface_resistance_ohm_cm2": r})
        return self.trial(trial_id)

    # -- event log -------------------------------------------------------------------------------------
    def _event(self, cur: Cursor, campaign_id: int, trial_id: int | None, actor: str, kind: str,
               from_state: str | None, to_state: str | None, detail: dict[str, Any]) -> None:
        cur.execute("INSERT INTO trial_events (campaign_id, trial_id, time, actor, kind, from_state, to_state,"
                    " detail_json) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                    (campaign_id, trial_id, self._clock(), actor, kind, from_state, to_state, _json(detail)))

    def log_event(self, trial_id: int | None, kind: str, detail: dict[str, Any] | str | None = None, *,
                  actor: str = "", campaign_id: int | None = None) -> None:
        """Record a command or a note about a trial (or, with ``trial_id=None``, about ``campaign_id``)."""
        detail = {"note": detail} if isinstance(detail, str) else dict(detail or {})
        with self._tx() as cur:
            if trial_id is not None:
                row = cur.execute("SELECT campaign_id FROM trials WHERE id = ?", (trial_id,)).fetchone()
                if row is None:
                    raise StoreError("trial", trial_id, "no such trial in the store", source=str(self.path))
                campaign_id = row[0]
            if campaign_id is None:
                raise ValueError("log_event needs a trial_id or a campaign_id")
            self._event(cur, campaign_id, trial_id, actor or "user", kind, None, None, detail)

    def events(self, campaign_id: int | None = None, trial_id: int | None = None) -> list[TrialEvent]:
        """Event-log rows of a campaign or a trial, in order."""
        where, arg = ("trial_id", trial_id) if trial_id is not None else ("campaign_id", campaign_id)
        with self._lock:
            rows = self._db.execute(
                "SELECT id, campaign_id, trial_id, time, actor, kind, from_state, to_state, detail_json "  # noqa: S608
                f"FROM trial_events WHERE {where} = ? ORDER BY id", (arg,)).fetchall()
        return [TrialEvent(*r[:8], json.loads(r[8])) for r in rows]

    # -- telemetry -------------------------------------------------------------------------------------
    def save_telemetry(self, trial_id: int, frame: Any) -> None:
        """Store a trial's telemetry DataFrame as a Parquet blob."""
        data = _parquet(frame)
        with self._tx() as cur:
            cur.execute("INSERT OR REPLACE INTO telemetry (trial_id, format, data) VALUES (?, 'parquet', ?)",
                        (trial_id, data))

    def telemetry(self, trial_id: int) -> Any:
        """A trial's telemetry DataFrame, or None."""
        import pandas as pd

        with self._lock:
            row = self._db.execute("SELECT data FROM telemetry WHERE trial_id = ?", (trial_id,)).fetchone()
        return None if row is None else pd.read_parquet(io.BytesIO(row[0]))

    # -- runner lock -----------------------------------------------------------------------------------
    @contextlib.contextmanager
    def runner_lock(self, campaign_id: int) -> Iterator[str]:
        """Hold the campaign's runner lock while the block runs.

        A second runner (any process) gets :class:`RunnerBusyError`. A lock left by a runner that died
        (its process is gone, a zombie, or a different process now has its pid) is taken over and logged.
        """
        token = uuid.uuid4().hex
        me, host = os.getpid(), socket.gethostname()
        with self._tx() as cur:
            row = cur.execute("SELECT pid, host, proc_start, acquired, token FROM runner_locks WHERE campaign_id = ?",
                              (campaign_id,)).fetchone()
            if row is not None:
                pid, lhost, start, acquired, held = row
                if lhost != host:
                    alive = True  # cannot see another host's processes: never steal its lock
                elif pid == me and held not in _HELD_TOKENS:
                    # this process's own lock that a runner could not release (a full disk): not held any more
                    alive = False
                else:
                    now_start = _process_start(pid)
                    alive = now_start is not None and (not start or not now_start or now_start == start)
                if alive:
                    raise RunnerBusyError("campaign", self.campaign(campaign_id).name,
                                          f"another runner (pid {pid} on {lhost}, since {acquired}) is running "
                                          "this campaign; refusing to start a second one", source=str(self.path))
                self._event(cur, campaign_id, None, f"runner {me}", "stale_lock_taken",
                            None, None, {"pid": pid, "host": lhost, "acquired": acquired})
            cur.execute("INSERT OR REPLACE INTO runner_locks VALUES (?, ?, ?, ?, ?, ?)",
                        (campaign_id, token, me, host, _process_start(me) or "", self._clock()))
        _HELD_TOKENS.add(token)
        try:
            yield token
        finally:
            _HELD_TOKENS.discard(token)
            with contextlib.suppress(sqlite3.Error, StoreError, StoreUnavailableError), self._tx() as cur:
                cur.execute("DELETE FROM runner_locks WHERE campaign_id = ? AND token = ?", (campaign_id, token))

    # -- tables ----------------------------------------------------------------------------------------
    def to_dataframe(self, campaign_id: int) -> Any:
        """One row per trial (:func:`campaigns.store_export.trials_frame`): trial_id, batch, state, recipe and
        result fields, objective, times, reviewer."""
        from campaigns.store_export import trials_frame

        return trials_frame(self, campaign_id)


    def hypervolume_history(self, campaign_id: int) -> Any:
        """A multi-objective campaign's hypervolume after each run (:func:`campaigns.front.hypervolume_history`:
        trial ids in run order, hypervolumes, the reference point and its source); a
        :class:`~campaigns.errors.CampaignError` for a single-objective campaign."""
        from campaigns.config import CampaignConfig
        from campaigns.front import hypervolume_history

        config = CampaignConfig.from_text(self.campaign(campaign_id).config_toml, check_limits=False)
        return hypervolume_history(config, self.trials(campaign_id))


def _parquet(frame: Any) -> bytes | None:
    if frame is None:
        return None
    buf = io.BytesIO()
    frame.to_parquet(buf, index=False)
    return buf.getvalue()


def _f(v: float | None) -> float | None:
    return None if v is None or not math.isfinite(float(v)) else float(v)
