"""Plotly figures and a static HTML report of a what-if study. Pure: data frames in, figures (or HTML) out.

Inputs are the frames the what-if package produces: ``summary`` (one row per variation), ``sensitivity``
(one row per output and parameter: Sobol ``S1``/``ST`` or Morris ``mu_star``/``sigma``) and ``runs`` (one
row per run, a sample of them for a large study; with the varied factors' columns and ``in_spec``).

Built to stay readable at a hundred variations and more: per-variation figures are horizontal, one labelled row
per variation sorted by median R_int, and grow with the rows; a heat map over two varied factors (any pair, chosen
in a dropdown) shows how they combine without a row per combination. On a log axis only shapes take data values
(annotations take log10 units), so the spec limit is a shape with its label attached.
"""

from __future__ import annotations

import html
import itertools
from pathlib import Path

import numpy as np
import pandas as pd
import plotly.graph_objects as go
from plotly.subplots import make_subplots

R_INT = "interface_resistance_ohm_cm2"
OUTPUT_LABELS = {R_INT: "R_int [Ω·cm²]", "runs_per_day": "throughput [runs/day]"}
MAX_SCATTER_POINTS = 20_000
ROW_PX = 18
"""Height of one variation's row in the per-variation figures [px]: room for an 11 px label."""
FRAME_PX = 220
"""Height of a per-variation figure beside its rows: title, axis and margins [px]."""
MIN_HEIGHT_PX = 380
MAX_LEVELS = 12
"""A factor with at most this many distinct values shows each value in a heat map; more are binned."""
HEATMAP_BINS = 6
"""Quantile bins of a factor drawn from a distribution, in a heat map."""
MAX_HEATMAP_PAIRS = 15
"""At most this many pairs of factors in the heat map's dropdown (all pairs of six factors)."""
FIGURE_IDS = {"tornado": "whatif-tornado", "distribution": "whatif-distribution", "heatmap": "whatif-heatmap",
              "yield": "whatif-yield"}
"""The HTML ids of the report's figures (the factor figures are ``whatif-factor-<i>``)."""


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


def variation_order(summary: pd.DataFrame) -> pd.DataFrame:
    """The summary's rows sorted by median R_int (lowest first; ties by variation): the rows of every per-variation
    figure, so that a variation sits on the same row in each."""
    return summary.sort_values(["r_int_p50_ohm_cm2", "variation"], kind="stable", ignore_index=True)


def _rows_height(n: int) -> int:
    """Figure height [px] that gives each of ``n`` horizontal rows a readable line of its own."""
    return max(MIN_HEIGHT_PX, FRAME_PX + ROW_PX * n)


def distribution_figure(runs: pd.DataFrame, summary: pd.DataFrame, grid_factors: list[str],
                        spec_max_ohm_cm2: float) -> go.Figure:
    """R_int of every variation as a horizontal box (log axis), sorted by median, with the spec limit.

    One row per variation, labelled by its grid values and written horizontally, so that a hundred variations stay
    readable (the figure grows by ``ROW_PX`` per row). The spec limit is a shape in data coordinates with a label
    attached to it: an annotation would have to be placed in log10 units on a log axis, and one placed at the
    value itself stretches the axis by that many decades.

    Examples
    --------
    >>> runs = pd.DataFrame({"variation": [0, 0, 1, 1], R_INT: [30.0, 40.0, 9.0, 11.0]})
    >>> summary = pd.DataFrame({"variation": [0, 1], "r_int_p50_ohm_cm2": [35.0, 10.0]})
    >>> list(distribution_figure(runs, summary, [], 20.0).layout.yaxis.categoryarray)
    ['#1', '#0']
    """
    order = variation_order(summary)
    labels = dict(zip(order["variation"], _variation_label(order, grid_factors), strict=True))
    d = runs[runs["variation"].isin(labels)]
    fig = go.Figure(go.Box(x=d[R_INT], y=d["variation"].map(labels), orientation="h", boxpoints=False,
                           name="R_int", marker_color="#1f77b4", line_width=1))
    fig.add_vline(x=spec_max_ohm_cm2, line_dash="dash", line_color="red",
                  label={"text": f"spec {spec_max_ohm_cm2:g} Ω·cm²", "textposition": "start", "textangle": 0,
                         "yanchor": "top", "font": {"color": "red", "size": 12}})
    fig.update_layout(title=f"Distribution of R_int per variation ({len(labels)}, sorted by median)",
                      xaxis={"title": OUTPUT_LABELS[R_INT], "type": "log", "side": "top"},
                      yaxis={"type": "category", "categoryorder": "array", "categoryarray": list(labels.values()),
                             "autorange": "reversed", "automargin": True, "tickfont": {"size": 11}, "dtick": 1},
                      showlegend=False, height=_rows_height(len(labels)), margin={"t": 110, "b": 50})
    return fig


def yield_throughput_figure(summary: pd.DataFrame, grid_factors: list[str]) -> go.Figure:
    """Yield and throughput of each variation as horizontal bars, in the rows of :func:`distribution_figure`."""
    order = variation_order(summary)
    labels = list(_variation_label(order, grid_factors))
    fig = make_subplots(rows=1, cols=2, shared_yaxes=True, horizontal_spacing=0.04,
                        subplot_titles=("yield (not shorted, R_int in spec)", "throughput [runs/day]"))
    fig.add_trace(go.Bar(y=labels, x=order["yield"], orientation="h", name="yield"), row=1, col=1)
    fig.add_trace(go.Bar(y=labels, x=order["runs_per_day"], orientation="h", name="runs/day"), row=1, col=2)
    fig.update_xaxes(range=[0, 1], row=1, col=1)
    fig.update_yaxes(type="category", categoryorder="array", categoryarray=labels, autorange="reversed",
                     automargin=True, tickfont={"size": 11}, dtick=1)
    fig.update_layout(showlegend=False, height=_rows_height(len(labels)),
                      title="Yield and throughput per variation (rows as in the distribution, by median R_int)")
    return fig


def factor_levels(values: pd.Series) -> tuple[np.ndarray, list[str]]:
    """Each value's level index and the levels' labels: the distinct values if at most ``MAX_LEVELS``, else
    ``HEATMAP_BINS`` quantile bins (for a factor drawn from a distribution).

    Examples
    --------
    >>> codes, names = factor_levels(pd.Series([60.0, 1440.0, 60.0]))
    >>> codes.tolist(), names
    ([0, 1, 0], ['60', '1440'])
    """
    uniq = np.sort(values.dropna().unique())
    if len(uniq) <= MAX_LEVELS or values.dtype == object:
        return np.searchsorted(uniq, values.to_numpy()), [_fmt(u) for u in uniq]
    bins = pd.qcut(values, HEATMAP_BINS, duplicates="drop")
    return bins.cat.codes.to_numpy(), [f"{iv.left:.3g} – {iv.right:.3g}" for iv in bins.cat.categories]


def _fmt(v) -> str:
    return f"{v:g}" if isinstance(v, float | np.floating) else str(v)


def pair_grid(runs: pd.DataFrame, a: str, b: str) -> tuple[list[str], list[str], np.ndarray, np.ndarray]:
    """Median R_int and yield over the levels of factors ``a`` (columns) and ``b`` (rows), over every other factor.

    Returns the levels of ``a``, the levels of ``b``, the median R_int [Ω·cm²] and the yield (share of runs
    ``in_spec``), each ``(len(levels b), len(levels a))``; NaN where no run has that pair of levels.
    """
    ca, la = factor_levels(runs[a])
    cb, lb = factor_levels(runs[b])
    g = pd.DataFrame({"a": ca, "b": cb, "r": runs[R_INT].to_numpy(), "ok": runs["in_spec"].to_numpy(dtype=float)})
    grid = pd.MultiIndex.from_product([range(len(lb)), range(len(la))], names=["b", "a"])
    agg = g.groupby(["b", "a"]).agg(r=("r", "median"), ok=("ok", "mean")).reindex(grid)
    shape = (len(lb), len(la))
    return la, lb, agg["r"].to_numpy().reshape(shape), agg["ok"].to_numpy().reshape(shape)


def heatmap_figure(runs: pd.DataFrame, factors: list[str]) -> go.Figure | None:
    """Median R_int and yield over two varied factors, the pair chosen in a dropdown (None with fewer than two).

    Every pair of ``factors`` (at most ``MAX_HEATMAP_PAIRS``) gets a median-R_int and a yield heat map; the
    dropdown shows one pair and sets the axes' levels and titles. The other factors are pooled: each cell holds
    every run at those two levels.
    """
    factors = [f for f in factors if f in runs and runs[f].nunique() > 1]
    pairs = list(itertools.combinations(factors, 2))[:MAX_HEATMAP_PAIRS]
    if not pairs:
        return None
    fig = make_subplots(rows=1, cols=2, horizontal_spacing=0.2,
                        subplot_titles=("median R_int [Ω·cm²]", "yield (not shorted, R_int in spec)"))
    views = []
    for k, (a, b) in enumerate(pairs):
        la, lb, r_med, ok = pair_grid(runs, a, b)
        custom = np.dstack(np.meshgrid(la, lb))  # each cell's level of a and b, for the hover text
        hover = f"{a} = %{{customdata[0]}}<br>{b} = %{{customdata[1]}}<br>"
        common = {"x": list(range(len(la))), "y": list(range(len(lb))), "customdata": custom, "visible": k == 0,
                  "xgap": 1, "ygap": 1}
        fig.add_trace(go.Heatmap(z=r_med, colorscale="Viridis", texttemplate="%{z:.3g}", name="median R_int",
                                 hovertemplate=hover + "median R_int %{z:.3g} Ω·cm²<extra></extra>",
                                 colorbar={"title": {"text": "Ω·cm²"}, "x": 0.41, "len": 0.9}, **common),
                      row=1, col=1)
        fig.add_trace(go.Heatmap(z=ok, zmin=0.0, zmax=1.0, colorscale="RdYlGn", texttemplate="%{z:.0%}",
                                 name="yield", hovertemplate=hover + "yield %{z:.1%}<extra></extra>",
                                 colorbar={"title": {"text": "yield"}, "x": 1.02, "len": 0.9}, **common),
                      row=1, col=2)
        axes = {}
        for ax in ("xaxis", "xaxis2"):
            axes |= {f"{ax}.tickvals": list(range(len(la))), f"{ax}.ticktext": la, f"{ax}.title.text": a}
        for ax in ("yaxis", "yaxis2"):
            axes |= {f"{ax}.tickvals": list(range(len(lb))), f"{ax}.ticktext": lb, f"{ax}.title.text": b}
        views.append((f"{a} × {b}", axes))
    n = len(pairs)
    buttons = [{"label": label, "method": "update",
                "args": [{"visible": [i // 2 == k for i in range(2 * n)]}, axes]}
               for k, (label, axes) in enumerate(views)]
    fig.update_layout(views[0][1])
    fig.update_layout(title="Median R_int and yield over two varied factors (the others pooled)", height=520,
                      margin={"t": 130})
    if n > 1:
        fig.update_layout(updatemenus=[{"type": "dropdown", "buttons": buttons, "active": 0, "showactive": True,
                                        "x": 0.0, "xanchor": "left", "y": 1.3, "yanchor": "bottom"}])
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
    """The whole report as one self-contained HTML page (plotly.js inlined once, works offline).

    Figures, top to bottom: the global sensitivity (if any), R_int per variation, the heat map over two varied
    factors (if two vary), yield and throughput per variation, and R_int against each of ``factors``. Each figure's
    ``div`` has the id in ``FIGURE_IDS`` (``whatif-factor-<i>`` for the factor figures).
    """
    figs: list[tuple[str, go.Figure]] = []
    if sensitivity is not None and not sensitivity.empty:
        figs.append((FIGURE_IDS["tornado"], tornado_figure(sensitivity)))
    figs.append((FIGURE_IDS["distribution"], distribution_figure(runs, summary, grid_factors, spec_max_ohm_cm2)))
    heat = heatmap_figure(runs, factors)
    if heat is not None:
        figs.append((FIGURE_IDS["heatmap"], heat))
    figs.append((FIGURE_IDS["yield"], yield_throughput_figure(summary, grid_factors)))
    figs += [(f"whatif-factor-{i}", factor_figure(runs, f)) for i, f in enumerate(factors)]
    parts = [f.to_html(full_html=False, include_plotlyjs=(i == 0), default_width="100%", div_id=div_id)
             for i, (div_id, f) in enumerate(figs)]
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
