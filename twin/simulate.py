"""Public entry points: one run (:func:`simulate`) and a queue of runs sharing a chamber (:func:`simulate_queue`)."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Final

import numpy as np
import simpy

from twin import model
from twin.chamber import Chamber
from twin.recipe import Recipe
from twin.result import RunResult


class _Vent:
    def __repr__(self) -> str:
        return "VENT"


VENT: Final = _Vent()
"""Marker in a queue: vent the process chamber here (its water then falls as 1/t again)."""

_DEFAULT_CHAMBER = Chamber()


def fresh_seed() -> int:
    """A seed from the operating system's entropy, to be recorded so the run can be repeated."""
    return int(np.random.SeedSequence().entropy % (2**63))


def simulate_queue(items: Iterable[Recipe | _Vent], chamber: Chamber | None = None, *, seed: int | None = None,
                   deterministic: bool = False, telemetry: bool = False, check: bool = True) -> list[RunResult]:
    """Run recipes back to back in one chamber; target erosion, shield load and wall water carry over.

    Parameters
    ----------
    items : iterable of Recipe or VENT
        Runs in order; :data:`VENT` vents the process chamber between runs.
    chamber : Chamber, optional
        The tool; its ``[state]`` is the state before the first run. Default: ``Chamber()``.
    seed : int, optional
        Seed of all randomness (events and measurement noise). ``None`` draws one and records it.
    deterministic : bool
        Expected outcome: no random events, no measurement noise.
    telemetry : bool
        Attach a telemetry DataFrame to each result.
    check : bool
        Validate each recipe against the chamber's limits first (raises :class:`twin.RecipeError`).
    """
    ch = chamber if chamber is not None else _DEFAULT_CHAMBER
    items = list(items)
    if check:
        for it in items:
            if isinstance(it, Recipe):
                ch.check(it)
    if deterministic:
        rng, seed = None, None
    else:
        seed = fresh_seed() if seed is None else int(seed)
        rng = np.random.default_rng(seed)
    env = simpy.Environment()
    rt = model.ChamberRuntime(env, ch, rng)
    done: list = []

    def queue():
        for it in items:
            if it is VENT:
                rt.vent()
                continue
            yield from model.run_process(env, rt, it, telemetry, done)

    proc = env.process(queue())
    if rng is not None:
        for kind in ("arc", "rf_trip", "flake"):
            env.process(model._plasma_source(env, rt, kind))
        env.process(model._leak_source(env, rt))
    env.run(until=proc)
    results = []
    for run, end, state_after in done:
        res = model.finish(rt, run, end, state_after, rng, seed)
        if telemetry:
            from twin import telemetry as tel  # pandas loads only when telemetry is asked for

            df = tel.build(run.segments, run.t_load, run.recipe, ch, *run.water)
            object.__setattr__(res, "telemetry", df)
        results.append(res)
    return results


def simulate(recipe: Recipe, chamber: Chamber | None = None, *, seed: int | None = None,
             deterministic: bool = False, telemetry: bool = False) -> RunResult:
    """Simulate one run of ``recipe`` in ``chamber`` (default chamber if None).

    The same seed gives the same result and event log; ``deterministic=True`` gives the expected outcome.

    Examples
    --------
    >>> from twin import Recipe
    >>> r = simulate(Recipe(), deterministic=True)
    >>> r.thickness_nm
    100.0
    """
    return simulate_queue([recipe], chamber, seed=seed, deterministic=deterministic, telemetry=telemetry)[0]
