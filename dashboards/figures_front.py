"""Plotly figures of a multi-objective campaign's front. Pure: a :class:`dashboards.front.FrontData` in, a figure
out; the review app's Pareto tab and the static report both use them.

- :func:`front_figure`: two goals against each other (any pair of three or more, coloured by a third): every
  measured run (feasible on the front, feasible behind it, infeasible), the model's predicted front with ±1 σ bars
  (its points carry ``["K", index]`` as ``customdata``, so a click picks one; runs and proposals carry
  ``["trial", id]``), and pending proposals at their predicted position.
- :func:`parallel_figure`: every goal at once (parallel coordinates) for the measured runs and the predicted front.
- :func:`hypervolume_figure`: the measured front's hypervolume after each run.

Examples
--------
>>> from dashboards.front import FrontData, GoalInfo
>>> fd = FrontData([GoalInfo("interface_resistance_ohm_cm2", "Ω·cm²", "minimize", True),
...                 GoalInfo("process_time_s", "s", "minimize", False)],
...                measured=[{"trial_id": 1, "state": "done", "values": [9.0, 3600.0], "feasible": True,
...                           "on_front": True, "reason": ""}], hv_trials=[1], hypervolume=[2.0])
>>> [t.name for t in front_figure(fd).data]
['measured: on the front']
>>> list(hypervolume_figure(fd).data[0].y)
[2.0]
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import plotly.graph_objects as go

from dashboards.front import FrontData

COLOURS = {"front": "#1f77b4", "behind": "#aec7e8", "infeasible": "#d62728", "predicted": "#ff7f0e",
           "proposal": "#2ca02c", "picked": "#9467bd"}


def _col(rows: list[dict[str, Any]], key: str, j: int) -> list[float]:
    return [r[key][j] for r in rows]


def _err(rows: list[dict[str, Any]], j: int) -> dict[str, Any] | None:
    """Asymmetric ±1 σ error bars of goal ``j`` (None where unknown)."""
    if not rows or not all(math.isfinite(r["lo"][j]) for r in rows):
        return None
    return {"type": "data", "symmetric": False, "array": [r["hi"][j] - r["values"][j] for r in rows],
            "arrayminus": [r["values"][j] - r["lo"][j] for r in rows], "thickness": 1}


def front_figure(fd: FrontData, x: int = 0, y: int = 1, color: int | None = None,
                 selected: int | None = None) -> go.Figure:
    """Goal ``y`` against goal ``x`` (indices into ``fd.goals``); measured runs coloured by goal ``color`` when
    given; the predicted-front point ``selected`` (its K) ringed."""
    gx, gy = fd.goals[x], fd.goals[y]
    fig = go.Figure()
    groups = (("measured: on the front", "front", [m for m in fd.measured if m["on_front"]]),
              ("measured: feasible, dominated", "behind",
               [m for m in fd.measured if m["feasible"] and not m["on_front"]]),
              ("measured: breaks an outcome constraint", "infeasible",
               [m for m in fd.measured if not m["feasible"] and all(math.isfinite(v) for v in m["values"])]))
    for name, key, rows in groups:
        if not rows:
            continue
        marker: dict[str, Any] = {"color": COLOURS[key], "size": 10 if key == "front" else 8,
                                  "symbol": "x" if key == "infeasible" else "circle",
                                  "line": {"width": 1, "color": "#333"} if key == "front" else {}}
        if color is not None and key != "infeasible":
            gc = fd.goals[color]
            marker.update(color=_col(rows, "values", color), colorscale="Viridis", showscale=key == "front",
                          colorbar={"title": gc.label, "x": 1.12}, cmin=min(_finite(fd, color), default=0.0),
                          cmax=max(_finite(fd, color), default=1.0))
        fig.add_trace(go.Scatter(
            x=_col(rows, "values", x), y=_col(rows, "values", y), mode="markers", name=name, marker=marker,
            text=[f"trial {r['trial_id']}" for r in rows], customdata=[["trial", r["trial_id"]] for r in rows],
            hovertemplate="%{text}<br>%{x:.4g}, %{y:.4g}<extra>" + name + "</extra>"))
    if fd.predicted:
        rows = sorted(fd.predicted, key=lambda r: r["values"][x])
        fig.add_trace(go.Scatter(
            # a line joins the points only for two goals: in a projection of three or more it would zigzag
            x=_col(rows, "values", x), y=_col(rows, "values", y), name="predicted front (model)",
            mode="markers+lines" if len(fd.goals) == 2 else "markers",
            marker={"color": COLOURS["predicted"], "symbol": "diamond", "size": 8},
            line={"color": COLOURS["predicted"], "dash": "dot", "width": 1},
            error_x=_err(rows, x), error_y=_err(rows, y), customdata=[["K", r["k"]] for r in rows],
            text=[f"K {r['k']}" for r in rows],
            hovertemplate="predicted point %{text}<br>%{x:.4g}, %{y:.4g}<extra>click to pick</extra>"))
        chosen = [r for r in fd.predicted if r["k"] == selected]
        if chosen:
            fig.add_trace(go.Scatter(x=_col(chosen, "values", x), y=_col(chosen, "values", y), mode="markers",
                                     name=f"picked: K {selected}", hoverinfo="skip",
                                     marker={"size": 18, "symbol": "circle-open", "color": COLOURS["picked"],
                                             "line": {"width": 3}}))
    if fd.proposals:
        rows = fd.proposals
        fig.add_trace(go.Scatter(
            x=_col(rows, "values", x), y=_col(rows, "values", y), mode="markers",
            name="proposals (predicted position)", error_x=_err(rows, x), error_y=_err(rows, y),
            marker={"color": [COLOURS["picked"] if r["picked"] else COLOURS["proposal"] for r in rows],
                    "symbol": "star", "size": 13, "line": {"width": 1, "color": "#333"}},
            text=[f"trial {r['trial_id']} ({r['state']}{', picked from the front' if r['picked'] else ''})"
                  for r in rows], customdata=[["trial", r["trial_id"]] for r in rows],
            hovertemplate="%{text}<br>predicted %{x:.4g}, %{y:.4g}<extra></extra>"))
    fig.update_layout(title=f"Pareto front: {gy.field} against {gx.field}", height=480,
                      margin={"l": 60, "r": 30, "t": 50, "b": 50}, legend={"orientation": "h", "y": -0.2})
    fig.update_xaxes(title=gx.label, type="log" if gx.log else "linear")
    fig.update_yaxes(title=gy.label, type="log" if gy.log else "linear")
    return fig


def _finite(fd: FrontData, j: int) -> list[float]:
    return [v for r in (*fd.measured, *fd.predicted) if math.isfinite(v := r["values"][j])]


def parallel_figure(fd: FrontData) -> go.Figure:
    """Every goal at once: the feasible measured runs (on the front, behind it) and the predicted front, one line
    each; a logged goal on a log10 axis."""
    rows = [(m["values"], 2.0 if m["on_front"] else 1.0) for m in fd.measured if m["feasible"]]
    rows += [(p["values"], 0.0) for p in fd.predicted]
    dims = []
    for j, g in enumerate(fd.goals):
        vals = np.array([r[0][j] for r in rows], float)
        shown = np.log10(vals) if g.log else vals
        dims.append({"label": ("log10 " if g.log else "") + g.label, "values": shown})
    colour = [r[1] for r in rows]
    fig = go.Figure(go.Parcoords(
        dimensions=dims, line={"color": colour, "cmin": 0.0, "cmax": 2.0, "showscale": False,
                               "colorscale": [[0.0, COLOURS["predicted"]], [0.5, COLOURS["behind"]],
                                              [1.0, COLOURS["front"]]]}))
    fig.update_layout(title="All goals: measured front (dark blue), other feasible runs (light blue), predicted "
                      "front (orange)", height=440, margin={"l": 80, "r": 80, "t": 110, "b": 30})
    return fig


def hypervolume_figure(fd: FrontData) -> go.Figure:
    """Hypervolume of the measured front after each run (score units: log10 for logged goals, negated for
    maximised ones), and where its reference point came from."""
    fig = go.Figure(go.Scatter(x=list(range(1, len(fd.hypervolume) + 1)), y=list(fd.hypervolume),
                               mode="lines+markers", name="hypervolume", text=[f"trial {t}" for t in fd.hv_trials],
                               hovertemplate="after run %{x} (%{text}): %{y:.4g}<extra></extra>"))
    ref = {"file": "the campaign file's", "default": "default: worst feasible run + 10 % of the range",
           "none": "none yet"}.get(fd.reference_source, fd.reference_source)
    fig.update_layout(title=f"Hypervolume of the measured front (reference point: {ref})", height=360,
                      margin={"l": 60, "r": 30, "t": 50, "b": 50})
    fig.update_xaxes(title="run")
    fig.update_yaxes(title="hypervolume [score units]")
    return fig


__all__ = ["front_figure", "hypervolume_figure", "parallel_figure"]
