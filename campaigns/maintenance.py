"""Maintenance what-ifs: the recommended recipe over the next runs, vent now or later, new target or worn.

From a campaign's chamber as it is now (:func:`campaigns.context.context_now`: hours and runs since the last vent,
target and shield kWh) and its recommended recipe, each option is a what-if study on the existing engine
(:mod:`campaigns.whatif`: :class:`~campaigns.whatif.scenario.Scenario`, :class:`~campaigns.whatif.plan.Plan`,
:func:`~campaigns.whatif.engine.run_chunk`), ``replicates`` stochastic sequences of ``runs`` back-to-back runs of the
recipe with the chamber's state carried over:

* ``as is``: no vent; the walls go on drying, the target goes on wearing;
* ``vent now``: the process chamber is vented before the first run (target and shields as they are);
* ``vent after K``: the first K runs as is, then a vent and the remaining runs. The second part starts from the
  target and shield load the first part left on average (an approximation: the engine vents only before a
  sequence, and the spread of the kWh after K runs is small against its mean);
* ``new target``: vented, with a new target and cleaned shields (0 kWh; an assumption: shields are cleaned when
  the target is changed).

Each row reports the mean, first-run and last-run expected R_int, the yield (share of runs not shorted and with
R_int within the spec) and the runs per day.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np

from campaigns.whatif.engine import run_chunk
from campaigns.whatif.plan import Plan
from campaigns.whatif.scenario import DEFAULT_SPEC_MAX_R_INT, Scenario
from twin import Chamber, Recipe
from twin.context import STATE_CONTEXT_KEYS

SECONDS_PER_DAY = 86400.0


@dataclass(frozen=True)
class Option:
    """One maintenance option's expected outcome over the next runs."""

    name: str
    runs: int
    r_int_mean_ohm_cm2: float
    r_int_first_ohm_cm2: float
    r_int_last_ohm_cm2: float
    yield_share: float
    runs_per_day: float


def _sequences(name: str, recipe: Recipe, chamber: Chamber, runs: int, vent: bool, replicates: int, seed: int,
               spec: float) -> dict[str, np.ndarray]:
    sc = Scenario(name=name, recipe=recipe, chamber=chamber, factors=(), seed=seed, replicates=replicates,
                  runs_per_sequence=runs, vent=vent, spec_max_interface_resistance_ohm_cm2=spec)
    plan = Plan(sc)
    table = run_chunk(plan, 0, plan.n_sequences)
    cols = ("run_in_sequence", "interface_resistance_ohm_cm2", "in_spec", "process_time_s", "target_kwh_after",
            "shield_kwh_after")
    return {c: table.column(c).to_numpy() for c in cols}


def _option(name: str, parts: list[dict[str, np.ndarray]], runs: int) -> Option:
    rows = {k: np.concatenate([p[k] for p in parts]) for k in parts[0]}
    r = rows["interface_resistance_ohm_cm2"]
    pos = rows["run_in_sequence"]
    return Option(name, runs, float(np.mean(r)), float(np.mean(r[pos == pos.min()])),
                  float(np.mean(r[pos == pos.max()])), float(np.mean(rows["in_spec"])),
                  SECONDS_PER_DAY / float(np.mean(rows["process_time_s"])))


def maintenance_options(recipe: Recipe, chamber: Chamber, now: Mapping[str, float], runs: int, *,
                        vent_after: int | None = None, replicates: int = 20, seed: int = 0,
                        spec_max_interface_resistance_ohm_cm2: float = DEFAULT_SPEC_MAX_R_INT) -> list[Option]:
    """The options of the module docstring for ``runs`` runs of ``recipe`` in ``chamber`` as it is ``now``
    (a context: :func:`campaigns.context.context_now`). ``vent_after`` (default ``runs // 2``; none when it is 0 or
    not below ``runs``) places the later vent. The same ``seed`` gives the same table."""
    if runs < 1:
        raise ValueError(f"runs={runs} must be at least 1")
    state = {f"state.{k}": float(now[k]) for k in STATE_CONTEXT_KEYS if k in now}
    here = chamber.replace(state) if state else chamber
    spec = spec_max_interface_resistance_ohm_cm2
    as_is = _sequences("as is", recipe, here, runs, False, replicates, seed, spec)
    out = [_option("as is", [as_is], runs),
           _option("vent now", [_sequences("vent now", recipe, here, runs, True, replicates, seed, spec)], runs)]
    k = runs // 2 if vent_after is None else int(vent_after)
    if 0 < k < runs:
        first = {c: v[as_is["run_in_sequence"] < k] for c, v in as_is.items()}
        at_k = as_is["run_in_sequence"] == k - 1
        later = here.replace({"state.target_kwh": float(np.mean(as_is["target_kwh_after"][at_k])),
                              "state.shield_kwh": float(np.mean(as_is["shield_kwh_after"][at_k]))})
        second = _sequences(f"vent after {k}", recipe, later, runs - k, True, replicates, seed + 1, spec)
        second["run_in_sequence"] = second["run_in_sequence"] + k
        out.append(_option(f"vent after {k}", [first, second], runs))
    new = here.replace({"state.target_kwh": 0.0, "state.shield_kwh": 0.0})
    out.append(_option("new target", [_sequences("new target", recipe, new, runs, True, replicates, seed, spec)],
                       runs))
    return out
