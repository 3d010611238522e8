"""Summaries of a finished what-if study: per variation, and global sensitivity (SALib Sobol or Morris).

Read from the Parquet file column by column, so a study of a million runs needs memory only for the few
columns a summary uses.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow.parquet as pq

from campaigns.whatif.plan import SENSITIVITY, SWEEP, Plan, sensitivity_problem

SECONDS_PER_DAY = 86400.0
PERCENTILES = (5, 50, 95)
OUTPUTS = {"interface_resistance_ohm_cm2": "R_int [Ω·cm²]", "runs_per_day": "throughput [runs/day]"}
"""Outputs of the sensitivity analysis and their labels."""
SUMMARY_COLUMNS = ("interface_resistance_ohm_cm2", "process_time_s", "shorted", "in_spec")


def read_runs(path: str | Path, design: str, columns: list[str] | None = None) -> pd.DataFrame:
    """Rows of one design (``"sweep"`` or ``"sensitivity"``) of a study file, only ``columns`` if given."""
    cols = None if columns is None else sorted(set(columns) | {"design"})
    table = pq.read_table(path, columns=cols, filters=[("design", "==", design)])
    return table.to_pandas()


def summarize(runs: pd.DataFrame, plan: Plan) -> pd.DataFrame:
    """One row per variation (grid point): its grid values, runs, R_int mean and percentiles, yield, throughput.

    ``yield`` is the share of runs not shorted and with R_int within the scenario's spec; throughput is
    ``86400 / mean(process_time_s)`` runs per day.
    """
    sc = plan.scenario
    grid = [f.name for f in sc.grid_factors]
    g = runs.groupby("variation", sort=True)
    r = g["interface_resistance_ohm_cm2"]
    out = pd.DataFrame({"runs": g.size(), "r_int_mean_ohm_cm2": r.mean()})
    for q in PERCENTILES:
        out[f"r_int_p{q}_ohm_cm2"] = r.quantile(q / 100.0)
    out["shorted_share"] = g["shorted"].mean()
    out["yield"] = g["in_spec"].mean()
    out["process_time_h_mean"] = g["process_time_s"].mean() / 3600.0
    out["runs_per_day"] = SECONDS_PER_DAY / g["process_time_s"].mean()
    if grid:
        first = g[grid].first()
        out = pd.concat([first, out], axis=1)
    return out.reset_index()


def point_outputs(runs: pd.DataFrame) -> pd.DataFrame:
    """Mean R_int and throughput of each design point (over its replicates and the runs of its sequences)."""
    g = runs.groupby("point", sort=True)
    return pd.DataFrame({"interface_resistance_ohm_cm2": g["interface_resistance_ohm_cm2"].mean(),
                         "runs_per_day": SECONDS_PER_DAY / g["process_time_s"].mean()})


def sensitivity(runs: pd.DataFrame, plan: Plan) -> pd.DataFrame:
    """Global sensitivity of R_int and throughput to each varied parameter, from the sensitivity design's runs.

    Sobol (Saltelli sampling, Jansen estimators, SALib): columns ``S1``, ``S1_conf``, ``ST``, ``ST_conf``;
    Morris (elementary effects on the unit cube of each factor's quantiles): ``mu_star``, ``mu_star_conf``,
    ``sigma``. A grid factor counts as uniform over its levels; a distribution factor through its quantiles.
    """
    sc = plan.scenario
    method = sc.sensitivity.method
    if method == "none" or plan.n_sens_points == 0:
        return pd.DataFrame()
    y = point_outputs(runs)
    expected = np.arange(plan.n_sweep_points, plan.n_points)
    y = y.reindex(expected)
    if y.isna().any().any():
        missing = int(y.isna().any(axis=1).sum())
        raise ValueError(f"{missing} sensitivity points have no runs")  # programming error: the study is complete
    problem = sensitivity_problem(sc)
    seed = int(np.random.SeedSequence(sc.seed, spawn_key=(3,)).generate_state(1)[0])
    rows = []
    for col, label in OUTPUTS.items():
        values = y[col].to_numpy(dtype=float)
        constant = float(np.ptp(values)) == 0.0
        if method == "sobol":
            from SALib.analyze import sobol

            if constant:
                res = {k: np.zeros(len(sc.factors)) for k in ("S1", "S1_conf", "ST", "ST_conf")}
            else:
                res = sobol.analyze(problem, values, calc_second_order=False, seed=seed)
            for j, f in enumerate(sc.factors):
                rows.append({"output": col, "label": label, "parameter": f.name, "S1": float(res["S1"][j]),
                             "S1_conf": float(res["S1_conf"][j]), "ST": float(res["ST"][j]),
                             "ST_conf": float(res["ST_conf"][j])})
        else:
            from SALib.analyze import morris

            res = morris.analyze(problem, plan.sens_unit, values, num_levels=sc.sensitivity.levels, seed=seed)
            for j, f in enumerate(sc.factors):
                rows.append({"output": col, "label": label, "parameter": f.name,
                             "mu_star": float(res["mu_star"][j]), "mu_star_conf": float(res["mu_star_conf"][j]),
                             "sigma": float(res["sigma"][j])})
    return pd.DataFrame(rows)


def format_summary(summary: pd.DataFrame, plan: Plan) -> str:
    """The per-variation summary as a text table."""
    sc = plan.scenario
    grid = [f.name for f in sc.grid_factors]
    show = summary[["variation", *grid, "runs", "r_int_mean_ohm_cm2", "r_int_p5_ohm_cm2", "r_int_p50_ohm_cm2",
                    "r_int_p95_ohm_cm2", "yield", "runs_per_day"]].copy()
    show.columns = ["variation", *grid, "runs", "R_int mean", "p5", "p50", "p95", "yield", "runs/day"]
    return show.to_string(index=False, float_format=lambda v: f"{v:.4g}")


def format_sensitivity(sens: pd.DataFrame) -> str:
    """The sensitivity indices as a text table."""
    if sens.empty:
        return ""
    cols = [c for c in ("S1", "S1_conf", "ST", "ST_conf", "mu_star", "mu_star_conf", "sigma") if c in sens]
    return sens[["output", "parameter", *cols]].to_string(index=False, float_format=lambda v: f"{v:.3g}")


__all__ = ["OUTPUTS", "SENSITIVITY", "SWEEP", "format_sensitivity", "format_summary", "point_outputs", "read_runs",
           "sensitivity", "summarize"]
