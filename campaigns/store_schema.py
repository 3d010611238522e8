"""The campaign store's tables, their version and the migrations from older versions (see :mod:`campaigns.store`)."""

from __future__ import annotations

from campaigns.records import STATES

SCHEMA_VERSION = 4
"""Version of the tables below; a store with a higher version is refused, never modified; one with a lower version
is migrated in one transaction when opened (:data:`MIGRATIONS`)."""

MIGRATIONS: dict[int, tuple[str, ...]] = {
    # 1 -> 2: the strategy's predicted chance that a proposed recipe's run fails
    1: ("ALTER TABLE trials ADD COLUMN predicted_failure REAL",),
    # 2 -> 3: extra variables sent to the tool with the recipe (campaigns.variables); NULL = none
    2: ("ALTER TABLE trials ADD COLUMN extras_json TEXT",),
    # 3 -> 4: a multi-objective strategy's prediction at proposal time (campaigns.records.Trial.prediction:
    # mean and std per goal, P(feasible), acquisition value); NULL = none (single objective, or no model)
    3: ("ALTER TABLE trials ADD COLUMN prediction_json TEXT",),
}
"""Statements that take a store from version ``k`` to ``k + 1``."""

_SCHEMA = f"""
CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE campaigns (
    id INTEGER PRIMARY KEY,
    name TEXT NOT NULL UNIQUE,
    config_toml TEXT NOT NULL,
    created TEXT NOT NULL,
    chamber_toml TEXT,
    overrides_json TEXT NOT NULL DEFAULT '{{}}'
);
CREATE TABLE trials (
    id INTEGER PRIMARY KEY,
    campaign_id INTEGER NOT NULL REFERENCES campaigns(id),
    idx INTEGER NOT NULL,
    batch INTEGER NOT NULL,
    state TEXT NOT NULL CHECK (state IN ({", ".join(repr(s) for s in STATES)})),
    recipe_json TEXT NOT NULL,
    result_json TEXT,
    run_index INTEGER,
    predicted_mean REAL,
    predicted_std REAL,
    expected_improvement REAL,
    predicted_failure REAL,
    extras_json TEXT,
    prediction_json TEXT,
    proposed_at TEXT NOT NULL,
    approved_at TEXT,
    started_at TEXT,
    finished_at TEXT,
    reviewer TEXT,
    comment TEXT,
    provenance_json TEXT NOT NULL,
    UNIQUE (campaign_id, idx)
);
CREATE TABLE trial_events (
    id INTEGER PRIMARY KEY,
    campaign_id INTEGER NOT NULL REFERENCES campaigns(id),
    trial_id INTEGER REFERENCES trials(id),
    time TEXT NOT NULL,
    actor TEXT NOT NULL,
    kind TEXT NOT NULL,
    from_state TEXT,
    to_state TEXT,
    detail_json TEXT NOT NULL
);
CREATE INDEX trial_events_trial ON trial_events(trial_id);
CREATE TABLE telemetry (
    trial_id INTEGER PRIMARY KEY REFERENCES trials(id),
    format TEXT NOT NULL,
    data BLOB NOT NULL
);
CREATE TABLE runner_locks (
    campaign_id INTEGER PRIMARY KEY REFERENCES campaigns(id),
    token TEXT NOT NULL,
    pid INTEGER NOT NULL,
    host TEXT NOT NULL,
    proc_start TEXT NOT NULL,
    acquired TEXT NOT NULL
);
"""
