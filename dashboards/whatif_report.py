"""Plotly figures and a static HTML report of a what-if study. Pure: data frames in, figures (or HTML) out.

Inputs are the frames the what-if package produces: ``summary`` (one row per variation), ``sensitivity``
(one row per output and parameter: Sobol ``S1``/``ST`` or Morris ``mu_star``/``sigma``) and ``runs`` (one
row per run, a sample of them for a large study).
"""

from __future__ import annotations

import html
from pathlib import Path

import pandas as pd
import plotly.graph_objects as go
from plotly.subplots import make_subplots

R_INT = "interface_resistance_ohm_cm2"
OUTPUT_LABELS = {R_INT: "R_int [Ω·cm²]", "runs_per_day": "throughput [runs/day]"}
MAX_SCATTER_POINTS = 20_000


def _variation_label(summary: pd.DataFrame, grid_factors: list[str]) -> pd.Series:
    if not grid_factors:
        return summary["variation"].map(lambda v: f"#{v}")
    return summary.apply(lambda r: ", ".join(f"{n.split('.')[-1]}={r[n]:g}" if isinstance(r[n], float)
                                             else f"{n.split('.')[-1]}={r[n]}" for n in grid_factors), axis=1)


def tornado_figure(sensitivity: pd.DataFrame) -> go.Figure:
    """Tornado chart: one panel per output, parameters sorted by total-order index (or Morris μ*).

    Examples
    --------
    >>> s = pd.DataFrame({"output": ["runs_per_day"] * 2, "parameter": ["a", "b"], "S1": [0.1, 0.7],
    ...                   "S1_conf": [0.01, 0.02], "ST": [0.2, 0.8], "ST_conf": [0.01, 0.02]})
    >>> [t.name for t in tornado_figure(s).data]
    ['total order ST', 'first order S1']
    """
    outputs = list(dict.fromkeys(sensitivity["output"]))
    fig = make_subplots(rows=1, cols=len(outputs), subplot_titles=[OUTPUT_LABELS.get(o, o) for o in outputs],
                        horizontal_spacing=0.25)
    sobol = "ST" in sensitivity
    for c, out in enumerate(outputs, start=1):
        d = sensitivity[sensitivity["output"] == out].sort_values("ST" if sobol else "mu_star")
        bars = ((("ST", "ST_conf", "total order ST"), ("S1", "S1_conf", "first order S1")) if sobol
                else (("mu_star", "mu_star_conf", "Morris μ*"), ("sigma", None, "Morris σ")))
        for i, (col, conf, name) in enumerate(bars):
            fig.add_trace(go.Bar(y=d["parameter"], x=d[col], orientation="h", name=name,
                                 error_x={"type": "data", "array": d[conf]} if conf else None,
                                 marker_color=("#1f77b4", "#ff7f0e")[i], showlegend=c == 1,
                                 legendgroup=name), row=1, col=c)
    fig.update_layout(barmode="group", title="Global sensitivity" + (" (Sobol indices)" if sobol else " (Morris)"),
                      height=200 + 60 * sensitivity["parameter"].nunique())
    return fig


def distribution_figure(runs: pd.DataFrame, summary: pd.DataFrame, grid_factors: list[str],
                        spec_max_ohm_cm2: float) -> go.Figure:
    """R_int of every variation as a box plot (log axis), with the spec limit."""
    labels = dict(zip(summary["variation"], _variation_label(summary, grid_factors), strict=True))
    fig = go.Figure()
    for v, d in runs.groupby("variation", sort=True):
        fig.add_trace(go.Box(y=d[R_INT], name=labels.get(v, str(v)), boxpoints=False))
    fig.add_hline(y=spec_max_ohm_cm2, line_dash="dash", line_color="red",
                  annotation_text=f"spec {spec_max_ohm_cm2:g} Ω·cm²")
    fig.update_layout(title="Distribution of R_int per variation", yaxis_title=OUTPUT_LABELS[R_INT],
                      yaxis_type="log", showlegend=False, height=450)
    return fig


def yield_throughput_figure(summary: pd.DataFrame, grid_factors: list[str]) -> go.Figure:
    """Yield and throughput of each variation, side by side."""
    labels = _variation_label(summary, grid_factors)
    fig = make_subplots(rows=1, cols=2, subplot_titles=("yield (not shorted, R_int in spec)", "throughput [runs/day]"))
    fig.add_trace(go.Bar(x=labels, y=summary["yield"], name="yield"), row=1, col=1)
    fig.add_trace(go.Bar(x=labels, y=summary["runs_per_day"], name="runs/day"), row=1, col=2)
    fig.update_yaxes(range=[0, 1], row=1, col=1)
    fig.update_layout(showlegend=False, height=420, title="Yield and throughput per variation")
    return fig


def factor_figure(runs: pd.DataFrame, factor: str) -> go.Figure:
    """R_int against one varied parameter: boxes for a few levels, a scatter for a continuous one."""
    d = runs.head(MAX_SCATTER_POINTS)
    fig = go.Figure()
    if d[factor].nunique() <= 12:
        for level, g in d.groupby(factor, sort=True):
            fig.add_trace(go.Box(y=g[R_INT], name=f"{level:g}" if isinstance(level, float) else str(level),
                                 boxpoints=False))
        fig.update_layout(showlegend=False)
    else:
        fig.add_trace(go.Scattergl(x=d[factor], y=d[R_INT], mode="markers", marker={"size": 3, "opacity": 0.4}))
    fig.update_layout(title=f"R_int against {factor}", xaxis_title=factor, yaxis_title=OUTPUT_LABELS[R_INT],
                      yaxis_type="log", height=380)
    return fig


def report_html(*, title: str, description: str, summary: pd.DataFrame, sensitivity: pd.DataFrame | None,
                runs: pd.DataFrame, factors: list[str], grid_factors: list[str], spec_max_ohm_cm2: float) -> str:
    """The whole report as one self-contained HTML page (plotly.js inlined once, works offline)."""
    figs = [distribution_figure(runs, summary, grid_factors, spec_max_ohm_cm2),
            yield_throughput_figure(summary, grid_factors)]
    if sensitivity is not None and not sensitivity.empty:
        figs.insert(0, tornado_figure(sensitivity))
    figs += [factor_figure(runs, f) for f in factors]
    parts = [f.to_html(full_html=False, include_plotlyjs=(i == 0), default_width="100%")
             for i, f in enumerate(figs)]
    table = summary.to_html(index=False, float_format=lambda v: f"{v:.4g}", border=0, classes="summary")
    sens_table = "" if sensitivity is None or sensitivity.empty else (
        "<h2>Sensitivity indices</h2>" + sensitivity.to_html(index=False, float_format=lambda v: f"{v:.3g}",
                                                            border=0, classes="summary"))
    desc = "<br>".join(html.escape(line) for line in description.strip().splitlines())
    return f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>What-if: {html.escape(title)}</title>
<style>body{{font-family:sans-serif;margin:2em;}} table.summary{{border-collapse:collapse;font-size:90%;}}
table.summary td,table.summary th{{padding:2px 8px;border-bottom:1px solid #ddd;text-align:right;}}</style>
</head><body>
<h1>What-if: {html.escape(title)}</h1>
<p>{desc}</p>
<h2>Summary per variation</h2>
{table}
{sens_table}
<h2>Figures</h2>
{"".join(f'<div class="figure">{p}</div>' for p in parts)}
</body></html>
"""


def write_report(path: str | Path, **kwargs) -> None:
    """Write :func:`report_html` to ``path`` (keyword arguments as there)."""
    Path(path).write_text(report_html(**kwargs), encoding="utf-8")
