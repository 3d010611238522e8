"""The deterministic twin's prediction of a measured run, in the chamber state the run started in, and its
error on held-out runs."""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np

from campaigns.calibration.measurements import STATE_FIELDS, Measurement
from twin import Chamber, Recipe, RunResult, simulate_queue


def with_state(chamber: Chamber, state: dict[str, float] | None) -> Chamber:
    """``chamber`` with its ``[state]`` set from ``state`` (only the :data:`STATE_FIELDS` keys; others are ignored)."""
    if not state:
        return chamber
    return chamber.replace({f"state.{k}": float(v) for k, v in state.items() if k in STATE_FIELDS})


def predict(chamber: Chamber, recipe: Recipe, state: dict[str, float] | None = None) -> RunResult:
    """The deterministic twin's expected outcome of ``recipe`` in ``chamber`` started in ``state``."""
    return simulate_queue([recipe], with_state(chamber, state), deterministic=True, check=False)[0]


def held_out_errors(chamber: Chamber, runs: Iterable[Measurement]) -> np.ndarray:
    """Relative prediction errors ``|R_twin − R_meas| / R_meas`` of ``chamber`` on measured ``runs`` [1]."""
    errs = []
    for m in runs:
        if not m.usable:
            continue
        r = predict(chamber, m.recipe, m.state).interface_resistance_ohm_cm2
        errs.append(abs(r - m.interface_resistance_ohm_cm2) / m.interface_resistance_ohm_cm2)
    return np.asarray(errs)
