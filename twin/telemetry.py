"""Telemetry of a run as a pandas DataFrame, sampled from the closed-form segments the model recorded.

Built only when asked for; a one-hour deposition after a four-hour pump-down is a few thousand rows.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from process_models import contamination as pc

COLUMNS = ("time_s", "phase", "pressure_pa", "h2o_pa", "rf_power_w", "rate_nm_min", "thickness_nm",
           "shutter_open", "substrate_temperature_c")
_GAS_ON = {"presputter", "deposition", "rf_trip"}


def build(segments: list[tuple], t_load: float, recipe, chamber, vent_time: float,
          bursts: list[tuple[float, float, float]]) -> pd.DataFrame:
    """Sample each segment ``(t0, t1, phase, power, shutter, h0, h1, T0, T1)`` on the chamber's intervals."""
    tel = chamber.telemetry
    parts: dict[str, list] = {c: [] for c in COLUMNS}
    for t0, t1, phase, power, shutter, h0, h1, temp0, temp1 in segments:
        dt = tel.idle_interval_s if phase in ("pumpdown", "transfer", "unload") else tel.interval_s
        t = np.arange(t0, t1, dt)
        if t.size == 0:
            continue
        frac = (t - t0) / (t1 - t0)
        h2o = pc.h2o_partial_pressure_pa(t - vent_time, chamber.contamination)
        for tb, dp, tau in bursts:
            h2o = h2o + np.where(t >= tb, dp * np.exp(-(np.maximum(t - tb, 0.0)) / tau), 0.0)
        parts["time_s"].append(t - t_load)
        parts["phase"].append(np.full(t.size, phase, dtype=object))
        # process gas while the plasma runs; otherwise the residual gas, which water dominates (FACTS §4 [M])
        parts["pressure_pa"].append(np.full(t.size, recipe.pressure_pa) if phase in _GAS_ON else h2o)
        parts["h2o_pa"].append(h2o)
        parts["rf_power_w"].append(np.full(t.size, power))
        rate = (h1 - h0) / (t1 - t0) * 60.0 if shutter else 0.0
        parts["rate_nm_min"].append(np.full(t.size, rate))
        parts["thickness_nm"].append(h0 + (h1 - h0) * frac)
        parts["shutter_open"].append(np.full(t.size, bool(shutter)))
        parts["substrate_temperature_c"].append(temp0 + (temp1 - temp0) * frac)
    if not parts["time_s"]:
        return pd.DataFrame({c: [] for c in COLUMNS})
    df = pd.DataFrame({c: np.concatenate(v) for c, v in parts.items()})
    df["phase"] = df["phase"].astype("category")
    return df
