"""Plotly figures of a campaign. Pure: a trials DataFrame in (:meth:`campaigns.CampaignStore.to_dataframe`, one row
per trial), a ``plotly.graph_objects.Figure`` out. The static report and the review app both use them.

Columns used: ``trial_id`` (the trial's number; ``index`` where a frame has no ``trial_id``), ``state``,
``objective``, ``feasible``, ``failure``, the recipe fields and, where present, ``predicted_mean``/
``predicted_std`` (optimiser units).

Examples
--------
>>> import pandas as pd
>>> df = pd.DataFrame({"trial_id": [1, 2, 3], "state": ["done", "failed", "done"], "objective": [12.0, None, 9.0],
...                    "feasible": [True, False, True], "rf_power_w": [100.0, 200.0, 50.0]})
>>> fig = convergence_figure(df)
>>> [round(float(y), 1) for y in fig.data[1].y]
[12.0, 12.0, 9.0]
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from twin.display import field_unit, fmt

PAPER_R_INT_OHM_CM2 = 8.6
"""Haruta et al., Nano Lett. 15, 1498 (2015): interface resistance of the clean, vacuum-made interface [Ω·cm²]."""

STATE_COLOURS = {"done": "#1f77b4", "failed": "#d62728", "awaiting_measurement": "#ff7f0e", "proposed": "#7f7f7f",
                 "approved": "#2ca02c", "running": "#9467bd", "rejected": "#8c564b", "interrupted": "#e377c2"}


def _ok(df: Any) -> Any:
    """Rows with a successful outcome."""
    if df.empty or "objective" not in df:
        return df.iloc[0:0]
    feasible = df["feasible"].fillna(False).astype(bool) if "feasible" in df else True
    return df[feasible & df["objective"].notna()]


def trial_numbers(df: Any) -> Any:
    """The trial numbers of the rows: ``trial_id`` (what every surface shows), else ``index``."""
    return df["trial_id"] if "trial_id" in df else df["index"]


def best_so_far(df: Any) -> np.ndarray:
    """Best objective after each trial (NaN until the first success), in trial order."""
    best, out = math.inf, []
    ok = set(_ok(df).index)
    for i, v in zip(df.index, df.get("objective", [None] * len(df)), strict=True):
        if i in ok and v is not None and not (isinstance(v, float) and math.isnan(v)):
            best = min(best, float(v))
        out.append(best if math.isfinite(best) else math.nan)
    return np.asarray(out, float)


def convergence_figure(df: Any, *, objective_label: str = "interface resistance [Ω·cm²]",
                       reference: float | None = PAPER_R_INT_OHM_CM2, log_y: bool = True) -> go.Figure:
    """Each trial's objective and the best so far against the trial number; failed runs marked at the top."""
    df = df.sort_values("trial_id" if "trial_id" in df else "index") if not df.empty else df
    fig = go.Figure()
    ok = _ok(df)
    fig.add_trace(go.Scatter(x=trial_numbers(ok) if not ok.empty else [], y=ok["objective"] if not ok.empty else [],
                             mode="markers", name="run", marker={"color": STATE_COLOURS["done"], "size": 8}))
    fig.add_trace(go.Scatter(x=trial_numbers(df) if not df.empty else [], y=best_so_far(df) if not df.empty else [],
                             mode="lines", name="best so far", line={"shape": "hv", "color": "#111111"}))
    failed = df[df["state"].isin(["failed", "rejected"]) | (df.get("feasible") == False)] if not df.empty else df  # noqa: E712
    if not failed.empty:
        top = float(ok["objective"].max()) if not ok.empty else 1.0
        fig.add_trace(go.Scatter(x=trial_numbers(failed), y=[top] * len(failed), mode="markers",
                                 name="failed / rejected",
                                 marker={"symbol": "x", "color": STATE_COLOURS["failed"], "size": 10},
                                 text=failed.get("failure"), hovertemplate="trial %{x}: %{text}<extra></extra>"))
    if reference is not None:
        # The annotation is placed by hand: on a log axis plotly reads an annotation's y in log10 units, so
        # add_hline(annotation_text=...) would put it at 10^8.6 and stretch the axis to 1e8.
        fig.add_hline(y=reference, line_dash="dash", line_color="#2ca02c")
        fig.add_annotation(x=0, xref="paper", xanchor="left", y=math.log10(reference) if log_y else reference,
                           yanchor="bottom", showarrow=False, text=f"Haruta et al. 2015: {reference} Ω·cm²",
                           font={"color": "#2ca02c"})
    fig.update_layout(title="Convergence", xaxis_title="trial", yaxis_title=objective_label,
                      template="plotly_white", legend={"orientation": "h", "y": -0.2})
    if log_y:
        fig.update_yaxes(type="log")
    return fig


def parameter_figure(df: Any, fields: Sequence[str], *, objective_label: str = "R_int [Ω·cm²]",
                     log_fields: Sequence[str] = (), log_y: bool = True, columns: int = 4,
                     units: dict[str, str] | None = None) -> go.Figure:
    """One panel per searched field: the field against the objective, the best run highlighted. ``units`` gives
    the unit of fields whose name does not carry it (a campaign's extra variables), shown in the panel's title."""
    fields = [f for f in fields if f in df.columns]
    n = max(len(fields), 1)
    cols = min(columns, n)
    rows = math.ceil(n / cols)
    units = units or {}
    titles = [f"{f} [{units[f]}]" if units.get(f) else f for f in fields]
    fig = make_subplots(rows=rows, cols=cols, subplot_titles=titles or ["(no searched fields)"],
                        vertical_spacing=0.5 / rows if rows > 1 else 0.1)
    ok = _ok(df)
    best = ok.loc[ok["objective"].idxmin()] if not ok.empty else None
    for k, f in enumerate(fields):
        r, c = k // cols + 1, k % cols + 1
        fig.add_trace(go.Scatter(x=ok[f], y=ok["objective"], mode="markers", showlegend=k == 0, name="run",
                                 marker={"color": trial_numbers(ok), "colorscale": "Viridis", "size": 7,
                                         "showscale": k == 0, "colorbar": {"title": "trial"}},
                                 text=trial_numbers(ok), hovertemplate=f"{f} = %{{x}}<br>objective %{{y:.3g}}"
                                 "<br>trial %{text}<extra></extra>"), row=r, col=c)
        if best is not None:
            fig.add_trace(go.Scatter(x=[best[f]], y=[best["objective"]], mode="markers", name="best",
                                     showlegend=k == 0, marker={"symbol": "star", "size": 14, "color": "#d62728"}),
                          row=r, col=c)
        if f in log_fields:
            fig.update_xaxes(type="log", row=r, col=c)
        if log_y:
            fig.update_yaxes(type="log", row=r, col=c)
    fig.update_layout(title=f"Each searched field against the objective ({objective_label})", template="plotly_white",
                      height=max(320, 280 * rows))
    return fig


def best_recipe_table(df: Any, fields: Sequence[str] | None = None, extras: dict[str, str] | None = None
                      ) -> go.Figure:
    """The best successful run's recipe (all fields, or ``fields``), its extra variables (``extras``: name →
    unit, shown with the unit) and its objective, as a table figure."""
    ok = _ok(df)
    if ok.empty:
        return go.Figure(go.Table(header={"values": ["best recipe"]}, cells={"values": [["no successful run yet"]]}))
    best = ok.loc[ok["objective"].idxmin()]
    names = list(fields) if fields is not None else [c for c in df.columns if c in _RECIPE_FIELDS]
    values = [fmt(best[n], field_unit(n)) for n in names]  # each at its unit's precision, with the unit
    extras = {n: u for n, u in (extras or {}).items() if n in df.columns}
    values += [fmt(best[n], u) for n, u in extras.items()]  # an extra's unit is the campaign file's
    names = ["trial", "objective", *names, *extras]
    values = [str(int(best["trial_id"] if "trial_id" in best else best["index"])), _fmt(best["objective"]), *values]
    fig = go.Figure(go.Table(header={"values": ["field", "value"]}, cells={"values": [names, values]}))
    fig.update_layout(title="Best recipe", template="plotly_white", height=60 + 24 * len(names))
    return fig


def state_counts_figure(df: Any) -> go.Figure:
    """How many trials are in each state."""
    counts = df["state"].value_counts() if not df.empty else {}
    states = [s for s in STATE_COLOURS if s in counts]
    fig = go.Figure(go.Bar(x=states, y=[int(counts[s]) for s in states],
                           marker_color=[STATE_COLOURS[s] for s in states]))
    fig.update_layout(title="Trials by state", template="plotly_white", yaxis_title="trials")
    return fig


def prediction_figure(df: Any, *, log_objective: bool = True) -> go.Figure:
    """The optimiser's prediction at proposal time (±1σ) against what the run gave, for runs with a prediction."""
    ok = _ok(df)
    if "predicted_mean" not in ok or "objective" not in ok:
        ok = pd.DataFrame({"predicted_mean": [], "predicted_std": [], "objective": [], "trial_id": []})
    ok = ok[ok["predicted_mean"].notna()]
    obs = np.log10(ok["objective"].astype(float)) if log_objective else ok["objective"].astype(float)
    fig = go.Figure(go.Scatter(x=ok["predicted_mean"], y=obs, mode="markers", name="runs",
                               error_x={"type": "data", "array": ok.get("predicted_std")}, text=trial_numbers(ok)))
    if not ok.empty:
        lo = float(min(ok["predicted_mean"].min(), obs.min()))
        hi = float(max(ok["predicted_mean"].max(), obs.max()))
        fig.add_trace(go.Scatter(x=[lo, hi], y=[lo, hi], mode="lines", name="y = x", line={"dash": "dot"}))
    unit = "log10 objective" if log_objective else "objective"
    fig.update_layout(title="Predicted at proposal vs observed", xaxis_title=f"predicted ({unit})",
                      yaxis_title=f"observed ({unit})", template="plotly_white")
    return fig


def _fmt(v: Any) -> str:
    if isinstance(v, float | np.floating):
        return f"{float(v):.4g}"
    return str(v)


_RECIPE_FIELDS = ("target_thickness_nm", "rf_power_w", "seed_power_w", "seed_thickness_nm", "pressure_pa",
                  "n2_fraction", "target_substrate_distance_mm", "substrate_temperature_c", "presputter_min",
                  "pumpdown_min", "transfer", "air_exposure_min", "anneal_temperature_c", "anneal_min")
