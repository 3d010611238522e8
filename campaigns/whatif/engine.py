"""Run one chunk of a what-if study and return it as an Arrow table (one row per run). No Dask here.

Recipe and Chamber objects are built once per design point in the chunk, not per run; per run the cost
beyond the twin itself is one ``attrgetter`` call and a pass over the run's events.
"""

from __future__ import annotations

import operator
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from campaigns.whatif.errors import ScenarioError
from campaigns.whatif.plan import Plan, sequence_seeds
from campaigns.whatif.validate import apply
from twin import VENT, simulate_queue
from twin.errors import InputError
from twin.result import RANDOM_EVENTS

RESULT_COLUMNS = (
    "interface_resistance_ohm_cm2", "bulk_resistance_ohm_cm2", "thickness_nm", "deposition_rate_nm_min",
    "deposition_time_s", "process_time_s", "plasma_time_s", "interface_damage_dose_ev_nm2", "damaged_layer_nm",
    "interface_contamination_ml", "h2o_dose_langmuir", "proton_uptake", "film_impurity_fraction", "li_p_ratio",
    "nitrogen_content", "ionic_conductivity_s_cm", "particles_on_substrate", "short_probability",
    "target_kwh_start",
)
"""Float outputs of :class:`twin.RunResult` written for every run (units in the names)."""
STATE_COLUMNS = ("target_kwh", "shield_kwh", "hours_since_vent")
"""Chamber state after the run, written as ``<name>_after``."""
ID_COLUMNS = ("run_index", "sequence", "run_in_sequence", "point", "design", "variation", "draw", "replicate",
              "seed")
EVENT_COLUMNS = tuple(f"{k}_count" for k in RANDOM_EVENTS)

_get_results = operator.attrgetter(*RESULT_COLUMNS)
_EVENT_INDEX = {k: i for i, k in enumerate(RANDOM_EVENTS)}
_ARROW_TYPES = {"float": pa.float64(), "int": pa.int64(), "bool": pa.bool_(), "str": pa.string()}


def schema(plan: Plan) -> pa.Schema:
    """The Arrow schema of every chunk of ``plan`` (identical across chunks)."""
    fields = [pa.field("run_index", pa.int64()), pa.field("sequence", pa.int64()),
              pa.field("run_in_sequence", pa.int32()), pa.field("point", pa.int64()),
              pa.field("design", pa.string()), pa.field("variation", pa.int64()), pa.field("draw", pa.int64()),
              pa.field("replicate", pa.int32()), pa.field("seed", pa.int64())]
    fields += [pa.field(f.name, _ARROW_TYPES[f.dtype]) for f in plan.scenario.factors]
    fields += [pa.field(c, pa.float64()) for c in RESULT_COLUMNS]
    fields += [pa.field("total_resistance_ohm_cm2", pa.float64()), pa.field("shorted", pa.bool_()),
               pa.field("in_spec", pa.bool_())]
    fields += [pa.field(f"{c}_after", pa.float64()) for c in STATE_COLUMNS]
    fields += [pa.field(c, pa.int32()) for c in EVENT_COLUMNS]
    return pa.schema(fields)


def run_chunk(plan: Plan, start: int, stop: int) -> pa.Table:
    """Simulate sequences ``start`` to ``stop - 1`` of ``plan``; one row per run, ordered by run index.

    A design point whose recipe or chamber is invalid raises :class:`ScenarioError` naming the point.
    """
    sc = plan.scenario
    k = plan.runs_per_sequence
    n_seq = stop - start
    n = n_seq * k
    ids = np.empty((n, 6), dtype=np.int64)  # run_index, sequence, run_in_sequence, point, replicate, seed
    results = np.empty((n, len(RESULT_COLUMNS)))
    state = np.empty((n, len(STATE_COLUMNS)))
    shorted = np.empty(n, dtype=bool)
    events = np.zeros((n, len(RANDOM_EVENTS)), dtype=np.int32)
    points: dict[int, Any] = {}
    current, recipe, chamber = -1, None, None
    row = 0
    seeds = sequence_seeds(sc.seed, start, stop).tolist()
    for g in range(start, stop):
        p, rep = plan.sequence(g)
        if p != current:
            pt = plan.point(p)
            points[p] = pt
            try:
                recipe, chamber = apply(sc.recipe, sc.chamber, pt.values)
                chamber.check(recipe)
            except InputError as exc:
                raise ScenarioError(f"design point {p}", pt.values, f"invalid run: {exc}",
                                    source=sc.source) from None
            current = p
            items = ([VENT] if sc.vent else []) + [recipe] * k
        seed = seeds[g - start]
        for j, res in enumerate(simulate_queue(items, chamber, seed=seed, check=False)):
            ids[row] = (g * k + j, g, j, p, rep, seed)
            results[row] = _get_results(res)
            after = res.chamber_state_after
            state[row] = (after["target_kwh"], after["shield_kwh"], after["hours_since_vent"])
            shorted[row] = res.shorted
            ev = events[row]
            for e in res.events:
                i = _EVENT_INDEX.get(e.kind)
                if i is not None:
                    ev[i] += 1
            row += 1
    return _table(plan, ids, results, state, shorted, events, points)


def run_chunk_parquet(plan: Plan, start: int, stop: int) -> tuple[int, bytes]:
    """:func:`run_chunk`, encoded as a complete Parquet file in the worker: (rows, file bytes).

    The driver then only writes bytes to disk, so encoding runs in parallel on the workers and less data
    crosses the network.
    """
    table = run_chunk(plan, start, stop)
    sink = pa.BufferOutputStream()
    pq.write_table(table, sink)
    return table.num_rows, sink.getvalue().to_pybytes()


def _table(plan: Plan, ids: np.ndarray, results: np.ndarray, state: np.ndarray, shorted: np.ndarray,
           events: np.ndarray, points: dict[int, Any]) -> pa.Table:
    sc = plan.scenario
    sch = schema(plan)
    point_col = ids[:, 3]
    order = sorted(points)
    pos = np.searchsorted(np.array(order), point_col)
    cols: dict[str, Any] = {
        "run_index": ids[:, 0], "sequence": ids[:, 1], "run_in_sequence": ids[:, 2].astype(np.int32),
        "point": point_col,
        "design": np.array([points[p].design for p in order], dtype=object)[pos],
        "variation": np.array([points[p].variation for p in order], dtype=np.int64)[pos],
        "draw": np.array([points[p].draw for p in order], dtype=np.int64)[pos],
        "replicate": ids[:, 4].astype(np.int32), "seed": ids[:, 5],
    }
    for f in sc.factors:
        vals = np.array([points[p].values[f.name] for p in order], dtype=object if f.dtype == "str" else None)
        cols[f.name] = vals[pos]
    for i, c in enumerate(RESULT_COLUMNS):
        cols[c] = results[:, i]
    r_int = results[:, 0]
    cols["total_resistance_ohm_cm2"] = r_int + results[:, 1]
    cols["shorted"] = shorted
    cols["in_spec"] = ~shorted & (r_int <= sc.spec_max_interface_resistance_ohm_cm2)
    for i, c in enumerate(STATE_COLUMNS):
        cols[f"{c}_after"] = state[:, i]
    for i, c in enumerate(EVENT_COLUMNS):
        cols[c] = events[:, i]
    return pa.Table.from_arrays([pa.array(cols[f.name], type=f.type) for f in sch], schema=sch)
