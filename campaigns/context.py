"""The chamber state each run started in (its *context*), and the context the next run will start in.

A trial's context is a dict of named floats with units in their names, kept in its result dict as
``result["context"]`` (no store schema change; every key optional): the keys of :data:`CONTEXT_KEYS`
(:mod:`twin.context` defines and documents them). The runner records it for every run from the tool
(``tool.context()`` just before the run: :meth:`twin.SimulatedTool.context`, or a real tool's readbacks through its
mapping file); a past-run import writes the same keys.

**The context now** (:func:`context_now`): what the next run will start in, from the store alone, so that a
proposal and the recommendation depend on nothing but the store (exact resume). The latest of these wins:

* the last run: the state it left behind (``chamber_state_after``: hours since vent, target and shield kWh) and one
  more run since the vent than it had (a real tool's ``base_pressure_pa`` is carried over from that run's context:
  the best guess until the tool is read again);
* a vent logged after it (``sputter-twin tool vent``: a campaign event ``vent``): 0 h and 0 runs since the vent,
  the walls' water of a fresh vent, target and shields as they were, no base pressure known;
* a reading of the tool logged after it (a campaign event ``context``, written by the runner before it proposes
  on a tool that reports its context): those values.

Before any run the context is that of the campaign's chamber (its ``[state]``), 0 runs since a vent.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

from campaigns.errors import CampaignError
from campaigns.records import Trial, TrialEvent, is_imported
from twin import Chamber
from twin.context import CONTEXT_UNITS, STATE_CONTEXT_KEYS, chamber_context

CONTEXT_KEYS: tuple[str, ...] = tuple(CONTEXT_UNITS)
"""Every context key, units in the names: see :mod:`twin.context`."""

VENT_EVENT = "vent"
"""Campaign event kind of a vent (``sputter-twin tool vent``)."""

CONTEXT_EVENT = "context"
"""Campaign event kind of a reading of the tool's context before a proposal."""

_FINISH_STATES = ("done", "failed", "awaiting_measurement")


def check_context(values: Mapping[str, Any], where: str = "context", source: str | None = None) -> dict[str, float]:
    """``values`` as a context: known keys, finite non-negative numbers; a :class:`CampaignError` naming the first
    bad key or value otherwise."""
    out: dict[str, float] = {}
    for key, value in values.items():
        if key not in CONTEXT_UNITS:
            raise CampaignError(f"{where}.{key}", value, "unknown context key", ", ".join(CONTEXT_KEYS),
                                source=source)
        try:
            v = float(value)
        except (TypeError, ValueError):
            raise CampaignError(f"{where}.{key}", value, "not a number", f">= 0 [{CONTEXT_UNITS[key]}]",
                                source=source) from None
        if not math.isfinite(v) or v < 0:
            raise CampaignError(f"{where}.{key}", value, "out of range", f">= 0 [{CONTEXT_UNITS[key]}]",
                                source=source)
        out[key] = v
    return out


def trial_context(trial: Trial) -> dict[str, float] | None:
    """The context ``trial``'s run started in (``result["context"]``), known keys only; None when not recorded."""
    ctx = (trial.result or {}).get("context")
    if not isinstance(ctx, Mapping):
        return None
    out = {}
    for k, v in ctx.items():
        if k in CONTEXT_UNITS and isinstance(v, int | float) and math.isfinite(float(v)):
            out[k] = float(v)
    return out or None


def _last_run(trials: Sequence[Trial], events: Sequence[TrialEvent]) -> tuple[Trial | None, int]:
    """The last run on the tool and the id of the event that finished it (-1 without events): by the event log
    where it has one (a real tool's trials carry no run index), else by run index."""
    finished = {e.trial_id: e.id for e in sorted(events, key=lambda e: e.id)
                if e.trial_id is not None and e.to_state in _FINISH_STATES and e.kind != "imported"}
    trials = [t for t in trials if not is_imported(t)]  # a past run imported says nothing of the chamber now
    ran = [t for t in trials if t.result is not None and t.id in finished]
    if ran:
        last = max(ran, key=lambda t: finished[t.id])
        return last, finished[last.id]
    indexed = [t for t in trials if t.result is not None and t.run_index is not None]
    return (max(indexed, key=lambda t: t.run_index), -1) if indexed else (None, -1)  # type: ignore[arg-type]


def context_after_run(chamber: Chamber, trial: Trial) -> dict[str, float]:
    """The context of the run after ``trial``'s on the same tool (no vent between them): the chamber state the run
    left (``chamber_state_after``, with the walls' water it implies) where the tool reports one, else what the run's
    own context said (a real tool's readings, carried over until it is read again); one more run since the vent."""
    after = (trial.result or {}).get("chamber_state_after") or {}
    before = trial_context(trial) or {}
    ctx = dict(before)
    if all(k in after for k in STATE_CONTEXT_KEYS):
        ctx.update(chamber_context(chamber.replace({f"state.{k}": float(after[k]) for k in STATE_CONTEXT_KEYS})))
    ctx.pop("runs_since_vent", None)
    if "runs_since_vent" in before:
        ctx["runs_since_vent"] = before["runs_since_vent"] + 1.0
    return ctx


def context_now(chamber: Chamber, trials: Sequence[Trial], events: Sequence[TrialEvent] = ()) -> dict[str, float]:
    """The context the next run will start in, from the store (see the module docstring)."""
    last, since = _last_run(trials, events)
    ctx = chamber_context(chamber, 0) if last is None else context_after_run(chamber, last)
    for e in sorted(events, key=lambda e: e.id):
        if e.id <= since or e.trial_id is not None:
            continue
        if e.kind == VENT_EVENT:
            vented = chamber.replace({"state.hours_since_vent": 0.0}
                                     | {f"state.{k}": ctx[k] for k in ("target_kwh", "shield_kwh") if k in ctx})
            ctx = chamber_context(vented, 0)
        elif e.kind == CONTEXT_EVENT and isinstance(e.detail.get("context"), Mapping):
            ctx = {**ctx, **{k: float(v) for k, v in e.detail["context"].items() if k in CONTEXT_UNITS}}
    return ctx


def tool_state(ctx: Mapping[str, float]) -> tuple[dict[str, float], int]:
    """The twin's chamber state (``state.<key>`` values) and runs since vent of a context, for a simulated tool."""
    return ({k: float(ctx[k]) for k in STATE_CONTEXT_KEYS if k in ctx}, int(ctx.get("runs_since_vent", 0)))


def models_context(config: Any) -> bool:
    """Whether a campaign's strategy proposes and recommends for the chamber's current context: ``gp`` with a
    ``context`` setting other than ``"none"``, ``twin-prior`` unless ``context = "none"``."""
    settings = dict(getattr(config, "strategy_settings", {}) or {})
    if config.strategy == "gp":
        return settings.get("context", "none") != "none"
    if config.strategy == "twin-prior":
        return settings.get("context", "auto") != "none"
    return False
