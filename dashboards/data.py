"""What the review app reads from and writes to a campaign store, as plain values the pages can show.

The app never writes SQL: approvals and rejections go through :meth:`campaigns.store.CampaignStore.approve` and
``reject``, whose compare-and-set transactions make two reviewers clicking at once end with one decision; a measured
interface resistance goes through :meth:`~campaigns.store.CampaignStore.record_measurement`, as
``sputter-twin campaign measure`` sends it.
"""

from __future__ import annotations

import dataclasses
import logging
import math
import threading
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from campaigns.config import CampaignConfig, Objective
from campaigns.context import trial_context
from campaigns.errors import StoreError, TrialStateError
from campaigns.importer import describe as describe_import
from campaigns.records import is_imported
from campaigns.runner import load_campaign, rebuild_strategy
from campaigns.store import CampaignStore, Trial
from campaigns.variables import Proposal
from dashboards.errors import DashboardError
from dashboards.measure import MEASURE_FIELD, parse_measurement, shown_value
from twin import Chamber, Recipe
from twin.context import CONTEXT_UNITS
from twin.display import field_unit, fmt, rounded
from twin.errors import InputError

log = logging.getLogger(__name__)

AWAITING_REVIEW = "proposed"
SQLITE_HEADER = b"SQLite format 3\x00"
"""The first 16 bytes of every SQLite database file."""


def open_store(path: str | Path) -> CampaignStore:
    """Open an existing campaign store for the dashboard, never creating a file (a store of an older schema is
    migrated, as every opener of a store does: the dashboard writes approvals and measurements to it anyway).

    Raises
    ------
    DashboardError or campaigns.errors.StoreError
        The file does not exist, is a directory, is empty, is not SQLite or is not a campaign store.
    """
    p = Path(path)
    allowed = "an existing campaign store (SQLite) written by 'sputter-twin campaign run'"
    if not p.exists():
        raise DashboardError("--store", str(p), "no such file", allowed)
    if p.is_dir():
        raise DashboardError("--store", str(p), "is a directory, not a campaign store", allowed)
    # SQLite treats an empty or very short file as an empty database, and CampaignStore would then write its
    # schema into it: the dashboard opens only files that already start as an SQLite database.
    try:
        with p.open("rb") as fh:
            head = fh.read(len(SQLITE_HEADER))
    except OSError as exc:
        raise DashboardError("--store", str(p), f"cannot read: {exc.strerror or exc}", allowed) from None
    if head != SQLITE_HEADER:
        what = "empty file" if not head else "not an SQLite file"
        raise DashboardError("--store", str(p), f"{what}, not a campaign store", allowed)
    return CampaignStore(p, create=False)


def trial_recipe(trial: Trial) -> Recipe | None:
    """The trial's recipe as a :class:`Recipe`, or None if it does not validate (it is then shown raw)."""
    try:
        return Recipe.from_dict(dict(trial.recipe))
    except (ValueError, TypeError):
        return None


def trial_point(trial: Trial) -> Recipe | Proposal | None:
    """The trial's recipe with its extra variables (a :class:`~campaigns.variables.Proposal`) where it has any,
    as the strategy was told it; None if the recipe does not validate."""
    recipe = trial_recipe(trial)
    if recipe is None or not trial.extras:
        return recipe
    return Proposal(recipe, dict(trial.extras))


def extra_column(name: str, unit: str) -> str:
    """The column title of an extra variable: its name and unit, ``"substrate_bias_v [V]"``."""
    return f"{name} [{unit}]" if unit else name


def extra_rows(a: Trial | None, b: Trial, la: str, lb: str, units: dict[str, str]) -> list[dict[str, Any]]:
    """Rows of a comparison table (``field``, ``la``, ``lb``, ``diff``) for the campaign's extra variables
    (``units``: name → unit) of trials ``a`` (may be None) and ``b``: sent to the tool, not in the twin."""
    rows = []
    for name, unit in units.items():
        va = a.extras.get(name) if a is not None else None
        vb = b.extras.get(name)
        num = all(isinstance(v, int | float) and not isinstance(v, bool) for v in (va, vb))
        rows.append({"field": extra_column(name, unit), la: _round(va), lb: _round(vb),
                     "diff": _round(float(vb) - float(va)) if num and va != vb else ""})
    return rows


def trial_label(trial: Trial) -> str:
    """``"trial 12 (done, 11.2 Ω·cm²)"``: how a trial is named in lists (its store id, as every surface shows it);
    ``"trial 3 (done, imported, 9.3 Ω·cm²)"`` for a past run imported from a file."""
    r = trial.interface_resistance_ohm_cm2
    tail = f", {fmt(r, 'Ω·cm²')}" if math.isfinite(r) else ""
    return f"{trial.name} ({trial.state}{', imported' if is_imported(trial) else ''}{tail})"


def shown_name(trial: Trial) -> str:
    """``"trial 3"``, or ``"trial 3 (imported)"`` for a past run imported from a file (``campaign import``): how
    the review and the campaign header name the best run, so nobody takes a past run for one of the campaign's."""
    return f"{trial.name} (imported)" if is_imported(trial) else trial.name


def best_trial(trials: list[Trial], objective: Objective | None = None) -> Trial | None:
    """The trial with the lowest objective value among runs that did not fail (shorted, off target...), or None.

    The objective defaults to the interface resistance.
    """
    objective = objective or Objective()
    best, best_v = None, math.inf
    for t in trials:
        o = objective.outcome(t)
        if o is not None and not o.failed and o.value is not None and o.value < best_v:
            best, best_v = t, o.value
    return best


def history_rows(trials: list[Trial], objective: Objective | None = None, extra_units: dict[str, str] | None = None
                 ) -> tuple[list[dict[str, Any]], list[str]]:
    """One JSON-safe row per trial for the history table, and the column ids in order (see :func:`history_columns`).

    ``extra_units`` (name → unit) are the campaign's extra variables: one column each after the recipe fields.
    ``source`` is ``campaign`` for a trial of the campaign, ``imported (FILE row N)`` for a past run imported from a
    file. ``context_<key>``: the chamber state the run started in (:func:`campaigns.context.trial_context`), one
    column per key some trial recorded.

    The strategy's prediction at proposal (stored in the optimiser's units: log10 of the objective when the
    objective is logged) is converted to the objective's units, as ``predicted`` and its ±1 σ range, so it can be
    read beside the measured value. Numbers are rounded to the precision of their units.
    """
    objective = objective or Objective()
    unit = field_unit(objective.minimize)
    fields = list(Recipe.fields())
    extras = dict(extra_units or {})
    contexts = {t.id: trial_context(t) or {} for t in trials}
    ctx_keys = [k for k in CONTEXT_UNITS if any(k in c for c in contexts.values())]
    cols = ["trial_id", "state", "source", "R_int", "total_R", "shorted", "predicted", "predicted_lo", "predicted_hi",
            "EI", "P_fail", *fields, *extras, *(f"context_{k}" for k in ctx_keys), "n_arc", "n_rf_trip", "n_flake",
            "reviewer", "comment", "measured_by"]
    rows = []
    for t in trials:
        res = t.result or {}
        counts = res.get("event_counts") or {}
        v, lo, hi = to_objective(t.predicted_mean, t.predicted_std, objective.log)
        row: dict[str, Any] = {
            "trial_id": t.id, "state": t.state, "source": describe_import(t) or "campaign",
            "R_int": rounded(res.get("interface_resistance_ohm_cm2"), "Ω·cm²"),
            "total_R": rounded(res.get("total_resistance_ohm_cm2"), "Ω·cm²"),
            "shorted": "" if "shorted" not in res else ("yes" if res["shorted"] else "no"),
            "predicted": rounded(v, unit), "predicted_lo": rounded(lo, unit), "predicted_hi": rounded(hi, unit),
            "EI": _round(t.expected_improvement, 3),
            "P_fail": None if t.predicted_failure is None else rounded(100.0 * t.predicted_failure, "%"),
            "n_arc": counts.get("arc"), "n_rf_trip": counts.get("rf_trip"), "n_flake": counts.get("flake"),
            "reviewer": t.reviewer or "", "comment": t.comment or "", "measured_by": res.get("measured_by") or "",
        }
        for f in fields:
            row[f] = rounded(t.recipe.get(f), field_unit(f))
        for n in extras:
            v = t.extras.get(n)
            row[n] = _round(v) if isinstance(v, float) else v
        for k in ctx_keys:  # the chamber state the run started in (issue 16)
            row[f"context_{k}"] = _round(contexts[t.id].get(k))
        rows.append(row)
    return rows, cols


def history_columns(cols: list[str], objective: Objective | None = None,
                    extra_units: dict[str, str] | None = None) -> list[dict[str, str]]:
    """DataTable columns ``{name, id}`` for :func:`history_rows`: names carry units, so a predicted value in
    Ω·cm² never stands unlabelled beside a log10 one (an extra variable's unit from ``extra_units``)."""
    objective = objective or Objective()
    unit = field_unit(objective.minimize) or "objective units"
    names = {"trial_id": "trial", "R_int": "R_int [Ω·cm²]", "total_R": "total R [Ω·cm²]",
             "predicted": f"predicted [{unit}]", "predicted_lo": f"predicted −1σ [{unit}]",
             "predicted_hi": f"predicted +1σ [{unit}]",
             "EI": "EI [log10 units]" if objective.log else f"EI [{unit}]", "P_fail": "P(fail) [%]",
             **{n: extra_column(n, u) for n, u in (extra_units or {}).items()}}
    context_units = {f"context_{k}": u for k, u in CONTEXT_UNITS.items() if u != "1"}  # a count has no unit
    names.update({c: f"{c} [{context_units[c]}]" for c in cols if c in context_units})
    for c in cols:
        u = field_unit(c)
        if c not in names and u not in ("", "1"):
            names[c] = f"{c} [{u}]"
    return [{"name": names.get(c, c), "id": c} for c in cols]


def _round(v: Any, digits: int = 4) -> Any:
    if v is None or isinstance(v, bool):
        return v
    try:
        x = float(v)
    except (TypeError, ValueError):
        return v
    if not math.isfinite(x):
        return None
    return float(f"{x:.{digits}g}")


@dataclass(frozen=True)
class Surrogate:
    """A strategy's model: ``predict(recipes) -> (mean, std)`` in the optimiser's units (log10 of the objective
    when ``log``), the objective's name and how many outcomes it was told."""

    predict: Callable[[list[Recipe]], tuple[np.ndarray, np.ndarray]]
    log: bool
    objective: str
    n_observed: int

    def to_objective(self, mean: float, std: float) -> tuple[float, float, float]:
        """``(value, low, high)`` in the objective's own units: mean and the ±1 σ band, back from log10."""
        return to_objective(mean, std, self.log)


def to_objective(mean: float | None, std: float | None, log: bool) -> tuple[float, float, float]:
    """A prediction in the optimiser's units as ``(value, low, high)`` in the objective's units (±1 σ).

    >>> [round(x, 2) for x in to_objective(1.0, 0.1, True)]
    [10.0, 7.94, 12.59]
    >>> to_objective(None, None, True)
    (nan, nan, nan)
    """
    m = math.nan if mean is None else float(mean)
    s = math.nan if std is None else float(std)
    if log:
        return 10.0**m, 10.0 ** (m - s), 10.0 ** (m + s)
    return m, m - s, m + s


@dataclass(frozen=True)
class CampaignSummary:
    """A row of the campaigns list."""

    id: int
    name: str
    n_trials: int
    n_proposed: int
    n_done: int
    best_r_int: float


class ReviewData:
    """The app's access to one store: read campaigns and trials, approve and reject, cache the surrogate.

    Parameters
    ----------
    store : CampaignStore
        An open store (see :func:`open_store`).
    chamber : Chamber, optional
        The tool the twin's predictions and the limit margins are computed for. Default: the campaign's chamber
        if its configuration names one, else the built-in default chamber.
    """

    def __init__(self, store: CampaignStore, chamber: Chamber | None = None) -> None:
        self.store = store
        self._chamber = chamber
        self._lock = threading.Lock()
        self._surrogates: dict[tuple[int, int], Surrogate | None] = {}
        self._fit_locks: dict[int, threading.Lock] = {}
        self._configs: dict[int, tuple[CampaignConfig, Chamber]] = {}
        from dashboards.front import FrontCache

        self._fronts = FrontCache()

    # -- reading ---------------------------------------------------------------------------------------
    def campaign_summaries(self) -> list[CampaignSummary]:
        out = []
        for c in self.store.campaigns():
            trials = self.store.trials(c.id)
            best = best_trial(trials, self.objective(c.id))
            out.append(CampaignSummary(
                c.id, c.name, len(trials), sum(t.state == AWAITING_REVIEW for t in trials),
                sum(t.state == "done" for t in trials),
                best.interface_resistance_ohm_cm2 if best else math.nan))
        return out

    def resolve(self, key: str) -> int:
        """A campaign id from the URL's key (its id or its name).

        Raises
        ------
        DashboardError
            No such campaign; the message lists the campaigns the store holds.
        """
        campaigns = self.store.campaigns()
        for c in campaigns:
            if key == str(c.id) or key == c.name:
                return c.id
        known = ", ".join(f"{c.id} ({c.name})" for c in campaigns) or "none"
        raise DashboardError("campaign", key, "no such campaign in this store", known, source=str(self.store.path))

    def name(self, campaign_id: int) -> str:
        return self.store.campaign(campaign_id).name

    def trials(self, campaign_id: int) -> list[Trial]:
        return self.store.trials(campaign_id)

    def trial(self, trial_id: int) -> Trial:
        return self.store.trial(trial_id)

    def telemetry(self, trial_id: int):
        """The stored telemetry DataFrame of a trial, or None."""
        return self.store.telemetry(trial_id)

    def _campaign(self, campaign_id: int) -> tuple[CampaignConfig, Chamber] | None:
        """The campaign's configuration (with the store's overrides) and chamber, as the runner reads them."""
        if campaign_id not in self._configs:
            try:
                _, config, chamber = load_campaign(self.store, campaign_id)
                self._configs[campaign_id] = (config, chamber)
            except InputError as exc:
                log.warning("campaign %s: configuration not readable: %s", campaign_id, exc)
                return None
        return self._configs[campaign_id]

    def chamber(self, campaign_id: int) -> Chamber:
        """The chamber given to the app, else the campaign's own, else the built-in default chamber."""
        if self._chamber is not None:
            return self._chamber
        c = self._campaign(campaign_id)
        return c[1] if c is not None else Chamber()

    def config(self, campaign_id: int) -> CampaignConfig | None:
        """The campaign's configuration as stored, or None if it does not parse (the page then says so)."""
        c = self._campaign(campaign_id)
        return c[0] if c is not None else None

    def objective(self, campaign_id: int) -> Objective:
        """The campaign's objective (default: interface resistance, logged). A multi-objective campaign's is
        :func:`display_objective`: the single-objective tabs show its first minimised goal, the Pareto tab all."""
        cfg = self.config(campaign_id)
        return display_objective(cfg.objective) if cfg is not None else Objective()

    def front(self, campaign_id: int) -> tuple[Any, int | None]:
        """``(front, observed)`` of a multi-objective campaign (:class:`dashboards.front.FrontData`, and how many
        outcomes it was computed from), ``(None, None)`` for a single objective. Cached until the trials change."""
        cfg = self.config(campaign_id)
        if cfg is None or not cfg.is_multi:
            return None, None
        return self._fronts.get(campaign_id, cfg, self.chamber(campaign_id), self.trials(campaign_id))

    def propose_front_point(self, campaign_id: int, k: int, reviewer: str | None, observed: int | None) -> Trial:
        """Propose point ``k`` of the predicted front for approval (:func:`dashboards.front.pick_front_point`)."""
        from dashboards.front import pick_front_point

        cfg = self.config(campaign_id)
        if cfg is None:
            raise DashboardError("campaign", campaign_id, "its configuration cannot be read")
        return pick_front_point(self.store, campaign_id, cfg, self.chamber(campaign_id), k, reviewer, observed)

    def extra_units(self, campaign_id: int) -> dict[str, str]:
        """The campaign's extra variables and their units (name → unit), ``{}`` if none or unknown."""
        cfg = self.config(campaign_id)
        return {d.name: d.unit for d in cfg.space.extras} if cfg is not None else {}

    def bounds(self, campaign_id: int) -> dict[str, tuple[float, float]]:
        """The campaign's search-space bounds of numeric fields, ``{}`` if unknown."""
        cfg = self.config(campaign_id)
        if cfg is None:
            return {}
        return {d.name: (float(d.low), float(d.high)) for d in cfg.space.dimensions if not d.is_categorical}

    def surrogate(self, campaign_id: int, trials: list[Trial] | None = None) -> Surrogate | None:
        """The campaign's strategy rebuilt from the store (replaying ``tell``), if it has a surrogate model.

        Cached per campaign and set of outcomes; a GP fit takes seconds, so only the surrogate tab asks for it.
        """
        cfg = self.config(campaign_id)
        if cfg is None or cfg.is_multi:  # several goals: the Pareto tab shows the models' predicted front
            return None
        trials = self.trials(campaign_id) if trials is None else trials
        observed = []
        for t in trials:
            outcome = cfg.objective.outcome(t)
            recipe = trial_point(t)
            if outcome is not None and recipe is not None:
                observed.append((t.id, recipe, outcome))
        events = self.store.events(campaign_id)  # vents and tool readings move the context the model answers for
        key = (campaign_id, hash(tuple((i, o) for i, _, o in observed)),
               tuple(e.id for e in events if e.trial_id is None and e.kind in ("vent", "context")))
        with self._lock:
            lock = self._fit_locks.setdefault(campaign_id, threading.Lock())
        with lock:  # one fit per campaign at a time; a second viewer waits for the first's result
            if key in self._surrogates:
                return self._surrogates[key]
            # exactly the runner's replay of tell, so the model is the one that proposed
            strategy = rebuild_strategy(cfg, self.chamber(campaign_id), trials, events)
            if not hasattr(strategy, "predict"):
                sur = None
            else:
                mean, _ = strategy.predict([observed[0][1]] if observed else [Recipe()])
                sur = Surrogate(strategy.predict, cfg.objective.log, cfg.objective.minimize, len(observed)) \
                    if np.isfinite(mean).all() else None
            self._surrogates = {k: v for k, v in self._surrogates.items() if k[0] != campaign_id}
            self._surrogates[key] = sur
            return sur

    # -- writing ---------------------------------------------------------------------------------------
    def decide(self, trial_id: int, decision: str, reviewer: str, comment: str) -> Trial:
        """Approve or reject a proposed trial through the store's compare-and-set transaction.

        Raises
        ------
        DashboardError
            No reviewer name, a rejection without a comment, or an unknown decision.
        campaigns.errors.TrialStateError
            The trial is no longer proposed (someone decided first).
        """
        reviewer = (reviewer or "").strip()
        comment = (comment or "").strip()
        if not reviewer:
            raise DashboardError("reviewer", reviewer, "a decision needs the reviewer's name", "non-empty")
        if decision == "approve":
            return self.store.approve(trial_id, reviewer, comment)
        if decision == "reject":
            if not comment:
                raise DashboardError("comment", comment, "a rejection needs a comment saying why", "non-empty")
            return self.store.reject(trial_id, reviewer, comment)
        raise DashboardError("decision", decision, "unknown decision", "approve | reject")

    def measure(self, trial_id: int, value: Any, actor: str | None) -> Trial:
        """Record a measured interface resistance, as ``sputter-twin campaign measure`` does.

        ``value`` is the text typed into the page, read as the command line reads ``--interface-resistance``
        (:func:`dashboards.measure.parse_measurement`); the range check, the state check (only a trial
        ``awaiting_measurement`` takes a value), the write and its event-log row are the store's
        :meth:`~campaigns.store.CampaignStore.record_measurement`, in one transaction.

        Raises
        ------
        DashboardError
            Nothing or no number entered, a number outside the store's range, or no name: nothing is written.
            The message names the field, the value as typed and the allowed range.
        campaigns.errors.TrialStateError
            The trial does not await a measurement (someone entered one first): nothing is written.
        campaigns.errors.StoreError
            No such trial.
        """
        r = parse_measurement(value)
        actor = (actor or "").strip()
        try:
            return self.store.record_measurement(trial_id, r, actor)
        except TrialStateError as exc:  # the store's input checks run before its transaction: nothing written
            if exc.field == MEASURE_FIELD:
                raise DashboardError(MEASURE_FIELD, shown_value(value), exc.problem, exc.allowed) from None
            if exc.field == "actor":
                raise DashboardError("measured by", actor, exc.problem, exc.allowed or "a name") from None
            raise


def display_objective(objective: Any) -> Objective:
    """``objective`` itself, or for a multi-objective campaign a single objective the single-objective views can
    show: its first minimised goal (logged as the goal is), with the campaign's hard failure rules.

    >>> from campaigns.objectives import Goal, MultiObjective
    >>> display_objective(MultiObjective((Goal("ionic_conductivity_s_cm", "maximize"),
    ...                                   Goal("process_time_s")))).minimize
    'process_time_s'
    """
    if isinstance(objective, Objective):
        return objective
    goal = next((g for g in objective.goals if g.direction == "minimize"), None)
    if goal is None:
        return objective.hard
    return dataclasses.replace(objective.hard, minimize=goal.field, log=goal.log, secondary="", secondary_weight=0.0)


def safe_float(v: Any) -> float:
    """``float(v)``, NaN for None or junk."""
    try:
        return float(v)
    except (TypeError, ValueError):
        return math.nan


__all__ = ["AWAITING_REVIEW", "CampaignSummary", "ReviewData", "StoreError", "Surrogate", "best_trial",
           "display_objective",
           "extra_column", "extra_rows", "history_columns", "history_rows", "open_store", "safe_float", "to_objective",
           "shown_name", "trial_label", "trial_point", "trial_recipe"]
