"""Figure builders of the review app: pure functions, data in, plotly figure out.

Telemetry traces, the event timeline of a run as a Gantt chart, margins to the tool's limits and the surrogate's
partial dependence. Convergence and each parameter against the objective are :mod:`dashboards.figures`' (shared
with the static report).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence

import numpy as np
import pandas as pd
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from dashboards.review import Margin
from twin import Event, Recipe

OBJECTIVE_LABEL = "R_int [Ω·cm²]"

# Phases of a run, from the step event that starts each to the ones that can end it.
_PHASES: tuple[tuple[str, str, tuple[str, ...]], ...] = (
    ("pump-down", "load", ("pumpdown_done",)),
    ("transfer", "pumpdown_done", ("transfer_done",)),
    ("heat", "transfer_done", ("heated",)),
    ("pre-sputter", "presputter_start", ("shutter_open",)),
    ("seed layer", "shutter_open", ("seed_done", "deposition_done")),
    ("deposition", "seed_done", ("deposition_done",)),
    ("anneal", "anneal_start", ("anneal_done",)),
    ("unload", "deposition_done", ("unload",)),
)
POINT_EVENTS = ("arc", "flake", "particle_on_substrate", "leak_burst", "vent", "target_end_of_life")
"""Random events drawn as markers on their own row of the Gantt chart."""


def _event_list(events: Sequence[Event | dict]) -> list[tuple[float, str, float]]:
    out = []
    for e in events:
        if isinstance(e, dict):
            out.append((float(e["time_s"]), str(e["kind"]), float(e.get("value") or 0.0)))
        else:
            out.append((float(e.time_s), e.kind, float(e.value)))
    return sorted(out, key=lambda t: t[0])


def timeline_rows(events: Sequence[Event | dict]) -> list[dict[str, object]]:
    """Intervals of a run from its events: ``{row, start_s, end_s, kind}``; ``kind`` is phase, interruption or point.

    Phases come from the step events (a seed layer only if ``seed_done`` is logged, an anneal only if
    ``anneal_start`` is), RF trips are intervals from ``rf_trip`` to ``rf_restored``; arcs, flakes, particles and
    leak bursts are points (start = end).

    Examples
    --------
    >>> ev = [Event(0, "load"), Event(100, "pumpdown_done"), Event(160, "transfer_done"), Event(160, "heated"),
    ...       Event(160, "presputter_start"), Event(400, "shutter_open"), Event(450, "rf_trip"),
    ...       Event(470, "rf_restored"), Event(500, "arc"), Event(900, "deposition_done", 100.0),
    ...       Event(960, "unload")]
    >>> [(r["row"], r["start_s"], r["end_s"]) for r in timeline_rows(ev)]  # doctest: +NORMALIZE_WHITESPACE
    [('pump-down', 0.0, 100.0), ('transfer', 100.0, 160.0), ('pre-sputter', 160.0, 400.0),
     ('deposition', 400.0, 900.0), ('unload', 900.0, 960.0), ('rf_trip', 450.0, 470.0), ('arc', 500.0, 500.0)]
    """
    ev = _event_list(events)
    first: dict[str, float] = {}
    for t, kind, _ in ev:
        first.setdefault(kind, t)
    has_seed = "seed_done" in first
    rows: list[dict[str, object]] = []
    for name, start, ends in _PHASES:
        if start not in first:
            continue
        if name == "seed layer" and not has_seed:
            name = "deposition"
        if name == "unload" and "anneal_done" in first:
            start = "anneal_done"
        t0 = first[start]
        t1 = next((first[e] for e in ends if e in first and first[e] >= t0), None)
        if t1 is None or t1 <= t0:
            continue
        rows.append({"row": name, "start_s": t0, "end_s": t1, "kind": "phase"})
    trip_start: float | None = None
    for t, kind, _ in ev:
        if kind == "rf_trip":
            trip_start = t
        elif kind == "rf_restored" and trip_start is not None:
            rows.append({"row": "rf_trip", "start_s": trip_start, "end_s": t, "kind": "interruption"})
            trip_start = None
        elif kind in POINT_EVENTS:
            rows.append({"row": kind, "start_s": t, "end_s": t, "kind": "point"})
    if trip_start is not None:  # tripped until the end of the record
        rows.append({"row": "rf_trip", "start_s": trip_start, "end_s": ev[-1][0], "kind": "interruption"})
    return rows


def event_gantt(events: Sequence[Event | dict], title: str = "Event timeline") -> go.Figure:
    """Gantt chart of a run: phases and RF trips as bars [h], random events as markers, one row each."""
    rows = timeline_rows(events)
    fig = go.Figure()
    bars = [r for r in rows if r["kind"] != "point"]
    points = [r for r in rows if r["kind"] == "point"]
    if bars:
        fig.add_trace(go.Bar(
            name="phases", orientation="h",
            y=[r["row"] for r in bars],
            base=[r["start_s"] / 3600.0 for r in bars],
            x=[(r["end_s"] - r["start_s"]) / 3600.0 for r in bars],
            marker_color=["#d62728" if r["kind"] == "interruption" else "#1f77b4" for r in bars],
            hovertemplate="%{y}: %{base:.3f} h + %{x:.3f} h<extra></extra>",
        ))
    if points:
        fig.add_trace(go.Scatter(
            name="events", mode="markers", y=[r["row"] for r in points], x=[r["start_s"] / 3600.0 for r in points],
            marker={"symbol": "x", "size": 10, "color": "#ff7f0e"},
            hovertemplate="%{y} at %{x:.3f} h<extra></extra>",
        ))
    order = list(dict.fromkeys(r["row"] for r in rows))
    fig.update_yaxes(categoryorder="array", categoryarray=order[::-1], title=None)
    fig.update_layout(title=title, xaxis_title="time since load [h]", barmode="overlay", showlegend=False,
                      height=120 + 28 * max(len(order), 1), margin={"l": 110, "r": 20, "t": 40, "b": 40})
    return fig


TELEMETRY_PANELS = (
    ("pressure [Pa]", ("pressure_pa", "h2o_pa"), True),
    ("RF power [W]", ("rf_power_w",), False),
    ("rate [nm/min], thickness [nm]", ("rate_nm_min", "thickness_nm"), False),
    ("substrate T [°C]", ("substrate_temperature_c",), False),
)


def telemetry_figure(telemetry: pd.DataFrame, title: str = "Telemetry") -> go.Figure:
    """Telemetry traces on a shared time axis [h]: pressures (log), RF power, rate and thickness, temperature.

    Parameters
    ----------
    telemetry : pandas.DataFrame
        Columns of :data:`twin.telemetry.COLUMNS` (``time_s`` [s] since load, ``pressure_pa``, ``h2o_pa`` ...);
        missing columns are left out.
    """
    fig = make_subplots(rows=len(TELEMETRY_PANELS), cols=1, shared_xaxes=True, vertical_spacing=0.04,
                        subplot_titles=[p[0] for p in TELEMETRY_PANELS])
    t_h = telemetry["time_s"].to_numpy(dtype=float) / 3600.0 if "time_s" in telemetry else np.zeros(0)
    for i, (_, cols, log) in enumerate(TELEMETRY_PANELS, start=1):
        for col in cols:
            if col not in telemetry:
                continue
            fig.add_trace(go.Scattergl(x=t_h, y=telemetry[col].to_numpy(dtype=float), name=col, mode="lines"),
                          row=i, col=1)
        if log:
            fig.update_yaxes(type="log", row=i, col=1)
    fig.update_xaxes(title_text="time since load [h]", row=len(TELEMETRY_PANELS), col=1)
    fig.update_layout(title=title, height=650, margin={"l": 60, "r": 20, "t": 60, "b": 40})
    return fig


def margins_figure(margins: Sequence[Margin], title: str = "Margins to the tool's limits") -> go.Figure:
    """Horizontal bars: each field's margin [% of its allowed range]; red below 5 %, grey outside the limits."""
    ms = list(margins)
    pct = [100.0 * m.fraction for m in ms]
    colors = ["#7f7f7f" if p < 0 else "#d62728" if p < 5 else "#2ca02c" for p in pct]
    fig = go.Figure(go.Bar(
        orientation="h", y=[m.field for m in ms], x=pct, marker_color=colors,
        customdata=[[m.value, m.low, m.high, m.unit] for m in ms],
        hovertemplate="%{y} = %{customdata[0]:.4g} %{customdata[3]} in [%{customdata[1]:.4g}, "
                      "%{customdata[2]:.4g}]: %{x:.1f} %<extra></extra>",
    ))
    fig.update_layout(title=title, xaxis_title="margin to the nearer limit [% of range]", xaxis_range=[
        min(0.0, *pct) if pct else 0.0, 50.0], height=120 + 26 * max(len(ms), 1),
        margin={"l": 190, "r": 20, "t": 40, "b": 40})
    return fig


def partial_dependence(predict: Callable[[list[Recipe]], tuple[np.ndarray, np.ndarray]],
                       recipes: Sequence[Recipe], bounds: dict[str, tuple[float, float]],
                       n_points: int = 15) -> dict[str, tuple[np.ndarray, np.ndarray, np.ndarray]]:
    """Partial dependence of a surrogate on each bounded parameter (Friedman 2001).

    For each parameter and each of ``n_points`` values across its bounds, the surrogate's mean is averaged over
    ``recipes`` (the campaign's past runs) with that parameter set to the value. Returns ``{param: (grid,
    mean, std)}``; ``std`` is the average of the surrogate's standard deviation at those points. Values that
    would make a recipe invalid (e.g. a seed thicker than the film) keep the past recipe's own value.

    Examples
    --------
    >>> def predict(rs):
    ...     p = np.array([r.pressure_pa for r in rs])
    ...     return 10 + 2 * p, np.ones_like(p)
    >>> pd_ = partial_dependence(predict, [Recipe(), Recipe(rf_power_w=60.0)], {"pressure_pa": (0.1, 1.1)}, 3)
    >>> grid, mean, std = pd_["pressure_pa"]
    >>> grid.round(2).tolist(), mean.round(2).tolist()
    ([0.1, 0.6, 1.1], [10.2, 11.2, 12.2])
    """
    out: dict[str, tuple[np.ndarray, np.ndarray, np.ndarray]] = {}
    base = list(recipes)
    if not base:
        return out
    for name, (lo, hi) in bounds.items():
        grid = np.linspace(float(lo), float(hi), n_points)
        batch: list[Recipe] = []
        for v in grid:
            for r in base:
                try:
                    batch.append(r.replace(**{name: float(v)}))
                except (ValueError, TypeError):
                    batch.append(r)
        mean, std = predict(batch)
        mean = np.asarray(mean, dtype=float).reshape(n_points, len(base))
        std = np.asarray(std, dtype=float).reshape(n_points, len(base))
        out[name] = (grid, mean.mean(axis=1), std.mean(axis=1))
    return out


def partial_dependence_figure(pd_: dict[str, tuple[np.ndarray, np.ndarray, np.ndarray]], log10: bool = False,
                              y_label: str = OBJECTIVE_LABEL, title: str = "Surrogate partial dependence"
                              ) -> go.Figure:
    """One panel per parameter: averaged surrogate mean with a ±1 σ band.

    With ``log10`` the surrogate works on log10 of the objective: mean and band are drawn as ``10**(mean ± std)``
    on a log axis, in the objective's own units.
    """
    names = list(pd_)
    ncols = 3
    nrows = max(1, math.ceil(len(names) / ncols))
    fig = make_subplots(rows=nrows, cols=ncols, subplot_titles=names, vertical_spacing=0.12,
                        horizontal_spacing=0.06)
    for i, name in enumerate(names):
        grid, mean, std = pd_[name]
        lo, mid, hi = mean - std, mean, mean + std
        if log10:
            lo, mid, hi = 10.0**lo, 10.0**mid, 10.0**hi
        r, c = i // ncols + 1, i % ncols + 1
        fig.add_trace(go.Scatter(x=np.concatenate([grid, grid[::-1]]), y=np.concatenate([hi, lo[::-1]]),
                                 fill="toself", line={"width": 0}, fillcolor="rgba(31,119,180,0.2)",
                                 hoverinfo="skip", showlegend=False), row=r, col=c)
        fig.add_trace(go.Scatter(x=grid, y=mid, mode="lines", name=name, showlegend=False,
                                 line={"color": "#1f77b4"}), row=r, col=c)
        if log10:
            fig.update_yaxes(type="log", row=r, col=c)
    if names:
        fig.update_yaxes(title_text=y_label, row=1, col=1)
    fig.update_layout(title=title, height=220 * nrows + 60, margin={"l": 60, "r": 20, "t": 60, "b": 30})
    return fig
