"""Measured runs to calibrate on: one :class:`Measurement` per run, read from a tool's results or a campaign store,
each with the chamber state it started in; and the fingerprint of a chamber's model parameters."""

from __future__ import annotations

import hashlib
import json
import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from campaigns.calibration.errors import CalibrationError
from campaigns.records import is_imported
from twin import Chamber, Recipe, RunResult

STATE_FIELDS: tuple[str, ...] = ("target_kwh", "shield_kwh", "hours_since_vent")


@dataclass(frozen=True)
class Measurement:
    """One measured run: the recipe as sent and what was measured.

    Parameters
    ----------
    recipe : Recipe
        The recipe as the tool ran it.
    interface_resistance_ohm_cm2 : float
        Measured interface resistance [Ω·cm²] (NaN if not measured yet: the run is then skipped).
    deposition_rate_nm_min : float
        Measured deposition rate [nm/min] of the bulk layer; NaN if the tool does not report it.
    state : dict, optional
        Chamber state at the start of the run (``target_kwh``, ``shield_kwh``, ``hours_since_vent``); omitted keys
        keep the chamber's own ``[state]`` values.
    chamber_name : str, optional
        Name of the chamber (twin) the run was recorded against, for the "runs from another chamber" check.
    label : str
        Free text naming the run in reports (e.g. the trial id).
    """

    recipe: Recipe
    interface_resistance_ohm_cm2: float
    deposition_rate_nm_min: float = math.nan
    state: dict[str, float] | None = None
    chamber_name: str | None = None
    label: str = ""

    @classmethod
    def from_result(cls, result: RunResult, *, state: dict[str, float] | None = None,
                    chamber_name: str | None = None, label: str = "", use_rate: bool = True) -> Measurement:
        """A measurement from a tool's :class:`twin.RunResult` (``state`` is the chamber state before the run)."""
        st = dict(state) if state is not None else {"target_kwh": float(result.target_kwh_start)}
        rate = float(result.deposition_rate_nm_min) if use_rate else math.nan
        return cls(result.recipe, float(result.interface_resistance_ohm_cm2), rate, st, chamber_name, label)

    @property
    def usable(self) -> bool:
        """True if the interface resistance was measured (finite and positive)."""
        r = self.interface_resistance_ohm_cm2
        return isinstance(r, int | float) and math.isfinite(r) and r > 0


def measurements_from_queue(results: Sequence[RunResult], chamber: Chamber, *, chamber_name: str | None = None,
                            skip_shorted: bool = True, use_rate: bool = True) -> list[Measurement]:
    """Measurements from results of consecutive runs on one tool, the state before each run reconstructed.

    Run ``k`` starts in the state run ``k − 1`` left (``RunResult.chamber_state_after``); the first run starts in
    ``chamber``'s ``[state]``. Shorted cells give no interface resistance and are skipped by default.
    """
    out: list[Measurement] = []
    state = {k: float(getattr(chamber.state, k)) for k in STATE_FIELDS}
    for i, res in enumerate(results):
        if not (skip_shorted and res.shorted):
            out.append(Measurement.from_result(res, state=dict(state), chamber_name=chamber_name, label=f"run {i}",
                                               use_rate=use_rate))
        state.update({k: float(v) for k, v in res.chamber_state_after.items() if k in STATE_FIELDS})
    return out


def measurements_from_store(store: Any, campaign: int | str | None = None, *,
                            use_rate: bool = True) -> tuple[Chamber, list[Measurement], str]:
    """The campaign's chamber, its measured runs and its name, read from a :class:`campaigns.store.CampaignStore`.

    Runs are the trials that reached the tool and have a measured interface resistance (``done``, and ``failed``
    for a constraint such as the thickness tolerance; shorted cells and tool failures carry none). The chamber
    state before each run is the state the previous run (by run index) left; the first starts in the campaign
    chamber's ``[state]``. Every run is recorded against the campaign's chamber name. Past runs imported from a
    file (``campaign import``) come after the tool's, each in the state its context columns give (the chamber's
    ``[state]`` for what they leave out: :func:`campaigns.importer.context_state`).
    """
    from campaigns.runner import load_campaign

    if campaign is None:
        camps = store.campaigns()
        if len(camps) != 1:
            raise CalibrationError("--campaign", None, f"the store holds {len(camps)} campaigns; name one",
                                   ", ".join(c.name for c in camps) or "none", source=str(store.path))
        campaign = camps[0].id
    cid, config, chamber = load_campaign(store, campaign)
    trials = [t for t in store.trials(cid) if t.result is not None and t.run_index is not None]
    trials.sort(key=lambda t: t.run_index)
    state = {k: float(getattr(chamber.state, k)) for k in STATE_FIELDS}
    out: list[Measurement] = []
    for t in trials:
        res = t.result
        r_int = res.get("interface_resistance_ohm_cm2")
        if t.state in ("done", "failed") and not res.get("shorted") and r_int is not None:
            rate = res.get("deposition_rate_nm_min") if use_rate else None
            out.append(Measurement(Recipe.from_dict(t.recipe), float(r_int),
                                   float(rate) if rate is not None else math.nan, dict(state), chamber.name,
                                   f"trial {t.id}"))
        after = res.get("chamber_state_after") or {}
        state.update({k: float(v) for k, v in after.items() if k in STATE_FIELDS and v is not None})
    from campaigns.importer import context_state

    for t in store.trials(cid):  # past runs imported from a file: no run index, the state of their context columns
        res = t.result or {}
        r_int = res.get("interface_resistance_ohm_cm2")
        flagged = "failure" in res  # flagged failed in the file: its measurement is not trusted
        if is_imported(t) and t.state in ("done", "failed") and not res.get("shorted") and not flagged \
                and r_int is not None:
            rate = res.get("deposition_rate_nm_min") if use_rate else None
            out.append(Measurement(Recipe.from_dict(t.recipe), float(r_int),
                                   float(rate) if rate is not None else math.nan, context_state(t, chamber),
                                   chamber.name, f"trial {t.id} (imported)"))
    return chamber, out, config.name


def chamber_fingerprint(chamber: Chamber) -> str:
    """Short hash of every model parameter of ``chamber`` (not its name or state), to record with runs."""
    doc = {k: v for k, v in chamber.to_dict().items() if k not in ("name", "state", "telemetry")}
    return hashlib.sha256(json.dumps(doc, sort_keys=True).encode()).hexdigest()[:16]
