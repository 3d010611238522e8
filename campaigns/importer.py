"""A lab's past runs as a head start: ``sputter-twin campaign import RUNS.csv|RUNS.parquet``.

Each row of the file is one run made before the campaign (columns: :mod:`campaigns.import_columns`; reading the
file: :mod:`campaigns.import_read`; checking a row: :mod:`campaigns.import_rows`). Rows are
validated exactly as recipes are: each recipe field's own range and the recipe's rules (:class:`twin.Recipe`), the
tool's limits (:meth:`twin.Chamber.check`, the campaign's chamber), and the campaign's space
(:mod:`campaigns.space`): a searched field inside its range, a fixed field at its fixed value (a run at another
film thickness is another experiment, and the optimiser could not tell it apart). Fields the file leaves out take
the campaign's fixed values, then the recipe's defaults.

**All or nothing.** Every problem of every row is one line (file, row, column, value, allowed range); any problem
refuses the whole file (:class:`~campaigns.import_read.ImportRefusedError`, exit status 2) and the store is left as
it was, byte for byte. A file without problems becomes trials in one store transaction
(:meth:`campaigns.store.CampaignStore.import_trials`).

**Duplicates are refused**: two rows with the same recipe, extras, results, context and dates, in the file or
already imported into the campaign; importing the same file twice is refused naming the trials it became.

**What an imported trial is**: state ``done`` (``failed`` when flagged ``failed`` or ``shorted``, or when the
campaign's constraints fail it, as for a run of the tool), no run index (it did not run on the campaign's tool),
provenance ``{"imported": true, "source": FILE, "row": N, ...}``, the context under ``result["context"]``, dates
as its started and finished times. Every strategy is told imported trials like runs (:func:`campaigns.runner.
rebuild_strategy`), calibration fits them (each in the chamber state of its context columns, else the chamber's
``[state]``), and they do **not** count against the campaign's budget of new runs
(:func:`campaigns.runner.runs_used`).
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from campaigns.config import CampaignConfig
from campaigns.errors import CampaignError
from campaigns.import_columns import Column, canonical_names, known_columns, required_columns, wrong_unit
from campaigns.import_read import ImportRefusedError, Table, read_table
from campaigns.import_rows import PastRun, RowCheck
from campaigns.records import is_imported
from twin import Chamber


def file_sha256(path: str | Path) -> str:
    """sha256 of a file's bytes (recorded with every trial it became; a second import of it is refused)."""
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


# -- the header ----------------------------------------------------------------------------------------------------
def resolve_header(table: Table, config: CampaignConfig) -> tuple[list[Column], list[str]]:
    """The file's columns, and one problem line per unknown, misspelt-unit, repeated or missing column."""
    known = known_columns(config.space.extras)
    cols: list[Column] = []
    problems: list[str] = []
    seen: dict[str, str] = {}
    for k, header in enumerate(table.header):
        where = f"{table.source}: column {k + 1}"
        if not header:
            problems.append(f"{where} has no name (allowed: {', '.join(canonical_names(config.space.extras))})")
            continue
        col = known.get(header)
        if col is None:
            wrong = wrong_unit(header, known)
            if wrong is not None:
                name, unit, allowed = wrong
                problems.append(f"{where} {header!r}: unit {unit!r} has no conversion to {name} (allowed: "
                                f"{', '.join(allowed)})")
            else:
                problems.append(f"{where} {header!r}: unknown column (allowed: "
                                f"{', '.join(canonical_names(config.space.extras))}; a name ending in a unit may "
                                "use another unit, e.g. pressure_mtorr, rf_power_kw)")
            continue
        if col.name in seen:
            problems.append(f"{where} {header!r}: {col.name} is given twice (also as {seen[col.name]!r})")
            continue
        seen[col.name] = header
        cols.append(col)
    if not problems:
        for name, why in required_columns(config).items():
            if name not in seen:
                spellings = [c.header for c in known.values() if c.name == name]
                problems.append(f"{table.source}: missing column {name}: {why} (allowed: "
                                f"{' | '.join(spellings)})")
    return cols, problems


# -- the file ------------------------------------------------------------------------------------------------------
def read_past_runs(path: str | Path, config: CampaignConfig, chamber: Chamber, *,
                   existing: Mapping[str, Any] | None = None, source: str | None = None) -> list[PastRun]:
    """The file's rows as validated :class:`PastRun` s, or :class:`ImportRefusedError` with one line per problem.

    ``existing`` maps the row keys of trials already imported into the campaign to those trials (duplicates)."""
    table = read_table(path, source)
    cols, problems = resolve_header(table, config)
    if problems:
        raise ImportRefusedError(problems, table.source)
    runs: list[PastRun] = []
    first: dict[str, int] = {}
    for row in table.rows:
        check = RowCheck(row, cols, config, chamber)
        run = check.run()
        problems.extend(check.problems)
        if run is None:
            continue
        if run.key in first:
            problems.append(f"{row.where}: duplicate of row {first[run.key]} (same recipe, results, context and "
                            "dates)")
            continue
        if existing and run.key in existing:
            t = existing[run.key]
            problems.append(f"{row.where}: already in the campaign as {t.name} (imported from "
                            f"{t.provenance.get('source')} row {t.provenance.get('row')})")
            continue
        first[run.key] = row.number
        runs.append(run)
    if problems:
        raise ImportRefusedError(problems, table.source)
    return runs


def import_past_runs(store: Any, campaign: int | str, path: str | Path, *, actor: str = "",
                     config: CampaignConfig | None = None, chamber: Chamber | None = None) -> list[int]:
    """Validate ``path`` against the stored ``campaign`` and add its rows as imported trials in one transaction.

    Returns the new trials' ids. Any problem raises :class:`ImportRefusedError` (or the store's own error) and
    changes nothing."""
    from campaigns.runner import load_campaign

    cid, stored_config, stored_chamber = load_campaign(store, campaign)
    config = config or stored_config
    chamber = chamber or stored_chamber
    path = Path(path)
    source = str(path)
    try:
        sha = file_sha256(path)
    except OSError as exc:
        raise ImportRefusedError([f"{source}: cannot be read ({exc.strerror or exc})"], source) from None
    imported = [t for t in store.trials(cid) if is_imported(t)]
    same_file = [t for t in imported if t.provenance.get("sha256") == sha]
    if same_file:
        ids = sorted(t.id for t in same_file)
        raise ImportRefusedError([f"{source}: this file (sha256 {sha[:12]}…) was imported into campaign "
                                  f"{config.name} already, as trials {ids[0]}–{ids[-1]}; nothing imported"], source)
    existing = {t.provenance.get("row_key"): t for t in imported}
    runs = read_past_runs(path, config, chamber, existing=existing, source=source)
    rows = [{"recipe": r.recipe, "extras": r.extras, "result": r.result, "state": r.state,
             "started_at": r.started_at, "finished_at": r.finished_at, "comment": r.comment,
             "provenance": {"imported": True, "strategy": "imported", "source": source, "row": r.row,
                            "sha256": sha, "row_key": r.key}} for r in runs]
    return store.import_trials(cid, rows, source=source, actor=actor or "import")


def context_state(trial: Any, chamber: Chamber) -> dict[str, float]:
    """The chamber state an imported trial started in: its context columns where given, else the chamber's
    ``[state]`` (hours since vent, target and shield kWh: what the twin takes)."""
    state = {k: float(getattr(chamber.state, k)) for k in ("hours_since_vent", "target_kwh", "shield_kwh")}
    ctx = (trial.result or {}).get("context") or {}
    state.update({k: float(v) for k, v in ctx.items() if k in state and v is not None})
    return state


def describe(trial: Any) -> str:
    """``imported (FILE row N)`` for an imported trial, "" otherwise (status notes, report, dashboard)."""
    if not is_imported(trial):
        return ""
    return f"imported ({Path(str(trial.provenance.get('source', '?'))).name} row {trial.provenance.get('row', '?')})"


__all__ = ["CampaignError", "ImportRefusedError", "PastRun", "context_state", "describe", "file_sha256",
           "import_past_runs", "read_past_runs", "resolve_header"]
