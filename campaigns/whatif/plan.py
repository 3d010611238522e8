"""The design of a what-if study: which runs exist, in what order, with which inputs and which seed.

Everything here is a pure function of the scenario (its seed included), so the run with global index ``i``
has the same inputs and the same randomness whatever the number of workers or the chunk size.

Order of the work: the sweep first — design point ``p = variation * samples + draw``, each point's
``replicates`` sequences next to each other — then the sensitivity design's points. A *sequence* is one
call of :func:`twin.simulate_queue` (``[VENT] + [recipe] * runs_per_sequence``), seeded by
:func:`sequence_seeds` (scenario seed, sequence index); its runs are numbered ``sequence * runs_per_sequence + k``.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import numpy as np

from campaigns.whatif.scenario import Factor, Scenario
from campaigns.whatif.validate import check_plan

SWEEP = "sweep"
SENSITIVITY = "sensitivity"

_DRAWS_KEY = 1
_SENS_KEY = 2


_GOLDEN = np.uint64(0x9E3779B97F4A7C15)
_M1 = np.uint64(0xBF58476D1CE4E5B9)
_M2 = np.uint64(0x94D049BB133111EB)


def _mix64(z: np.ndarray) -> np.ndarray:
    """SplitMix64's finaliser (Steele, Lea & Flood 2014): a bijection of 64-bit integers that scatters bits."""
    z = (z ^ (z >> np.uint64(30))) * _M1
    z = (z ^ (z >> np.uint64(27))) * _M2
    return z ^ (z >> np.uint64(31))


def sequence_seeds(scenario_seed: int, start: int, stop: int) -> np.ndarray:
    """Seeds of sequences ``start`` to ``stop - 1``, each a function of (scenario seed, sequence index) only.

    SplitMix64 over ``mix(seed) + (index + 1)·φ``: distinct indices give distinct seeds, vectorised over a
    chunk (cheaper than one ``SeedSequence`` per sequence); :func:`twin.simulate_queue` then seeds its
    generator through ``numpy.random.default_rng(seed)``, which hashes it again with a ``SeedSequence``.

    Examples
    --------
    >>> a = sequence_seeds(7, 0, 5)
    >>> bool((a == sequence_seeds(7, 0, 5)).all()), int(a[3]) == int(sequence_seeds(7, 3, 4)[0])
    (True, True)
    >>> len(set(sequence_seeds(7, 0, 100_000).tolist()))
    100000
    """
    base = _mix64(np.array([scenario_seed], dtype=np.uint64))[0]
    idx = np.arange(start, stop, dtype=np.uint64) + np.uint64(1)
    return (_mix64(base + idx * _GOLDEN) >> np.uint64(1)).astype(np.int64)


def sequence_seed(scenario_seed: int, sequence: int) -> int:
    """Seed of one sequence (see :func:`sequence_seeds`).

    Examples
    --------
    >>> sequence_seed(7, 3) == sequence_seed(7, 3) != sequence_seed(7, 4)
    True
    """
    return int(sequence_seeds(scenario_seed, sequence, sequence + 1)[0])


@dataclass(frozen=True)
class Point:
    """One design point: where it comes from and the values of the varied parameters."""

    index: int
    design: str
    variation: int
    draw: int
    values: dict[str, Any]


class Plan:
    """The runs of a scenario (sweep and sensitivity design), their inputs and their seeds.

    Built only for a valid study: every design point's recipe and chamber are checked on construction
    (:func:`campaigns.whatif.validate.check_plan`, vectorised), so a combination of draws that breaks a
    recipe rule or a limit of the tool is a :class:`ScenarioError` here, before any run or worker starts.
    ``check=False`` skips that (the engine still refuses an invalid point when it reaches it).
    """

    def __init__(self, scenario: Scenario, *, check: bool = True) -> None:
        sc = scenario
        self.scenario = sc
        self.grid_shape = tuple(len(f.levels) for f in sc.grid_factors)
        dist = sc.dist_factors
        if dist:
            rng = np.random.default_rng(np.random.SeedSequence(sc.seed, spawn_key=(_DRAWS_KEY,)))
            u = rng.random((sc.samples, len(dist)))
            self.draws = np.column_stack([f.from_unit(u[:, j]) for j, f in enumerate(dist)])
        else:
            self.draws = np.zeros((sc.samples, 0))
        self.sens_unit = _sensitivity_sample(sc)
        self.n_sweep_points = sc.n_variations * sc.samples
        self.n_sens_points = len(self.sens_unit)
        self.n_points = self.n_sweep_points + self.n_sens_points
        self.n_sweep_sequences = self.n_sweep_points * sc.replicates
        self.n_sequences = self.n_sweep_sequences + self.n_sens_points * sc.sensitivity.replicates
        self.runs_per_sequence = sc.runs_per_sequence
        self.total_runs = self.n_sequences * self.runs_per_sequence
        self.sweep_runs = self.n_sweep_sequences * self.runs_per_sequence
        if check:
            check_plan(self)

    # -- indices ------------------------------------------------------------------------------------------
    def sequence(self, g: int) -> tuple[int, int]:
        """Design point and replicate of sequence ``g``."""
        if g < self.n_sweep_sequences:
            return divmod(g, self.scenario.replicates)
        k, r = divmod(g - self.n_sweep_sequences, self.scenario.sensitivity.replicates)
        return self.n_sweep_points + k, r

    def point(self, p: int) -> Point:
        """Inputs of design point ``p``."""
        sc = self.scenario
        values: dict[str, Any] = {}
        if p < self.n_sweep_points:
            variation, draw = divmod(p, sc.samples)
            idx = np.unravel_index(variation, self.grid_shape) if self.grid_shape else ()
            for f, i in zip(sc.grid_factors, idx, strict=True):
                values[f.name] = f.levels[int(i)]
            for j, f in enumerate(sc.dist_factors):
                values[f.name] = float(self.draws[draw, j])
            return Point(p, SWEEP, int(variation), int(draw), values)
        u = self.sens_unit[p - self.n_sweep_points]
        for j, f in enumerate(sc.factors):
            v = f.from_unit(u[j:j + 1])[0]
            values[f.name] = f.levels[int(v)] if f.is_grid else float(v)
        return Point(p, SENSITIVITY, -1, -1, values)

    def values(self, start: int, stop: int) -> dict[str, np.ndarray]:
        """Values of the varied parameters at design points ``start`` to ``stop - 1``, one array per parameter:
        :meth:`point` for many points at once (strings as object arrays).

        Examples
        --------
        >>> plan = Plan(Scenario.from_toml("examples/scenarios/small.toml"))
        >>> float(plan.values(7, 8)["state.target_kwh"][0]) == plan.point(7).values["state.target_kwh"]
        True
        """
        sc = self.scenario
        parts: list[dict[str, np.ndarray]] = []
        a, b = max(start, 0), min(stop, self.n_sweep_points)
        if a < b:
            variation, draw = np.divmod(np.arange(a, b), sc.samples)
            idx = np.unravel_index(variation, self.grid_shape) if self.grid_shape else ()
            cols = {f.name: _levels(f)[i] for f, i in zip(sc.grid_factors, idx, strict=True)}
            cols.update({f.name: self.draws[draw, j] for j, f in enumerate(sc.dist_factors)})
            parts.append(cols)
        a, b = max(start, self.n_sweep_points), min(stop, self.n_points)
        if a < b:
            u = self.sens_unit[a - self.n_sweep_points:b - self.n_sweep_points]
            cols = {}
            for j, f in enumerate(sc.factors):
                v = f.from_unit(u[:, j])
                cols[f.name] = _levels(f)[v] if f.is_grid else v
            parts.append(cols)
        if len(parts) == 1:
            return parts[0]
        return {f.name: np.concatenate([c[f.name] for c in parts]) if parts else np.empty(0)
                for f in sc.factors}

    def chunks(self, chunk_runs: int) -> Iterator[tuple[int, int]]:
        """Ranges ``[start, stop)`` of sequences holding about ``chunk_runs`` runs each, lazily (a study of a
        billion runs does not need a list of its chunks); :meth:`n_chunks` says how many."""
        per = self._per_chunk(chunk_runs)
        return ((s, min(s + per, self.n_sequences)) for s in range(0, self.n_sequences, per))

    def chunk(self, i: int, chunk_runs: int) -> tuple[int, int]:
        """Range ``[start, stop)`` of sequences of chunk ``i`` (as :meth:`chunks` numbers them)."""
        per = self._per_chunk(chunk_runs)
        return i * per, min((i + 1) * per, self.n_sequences)

    def n_chunks(self, chunk_runs: int) -> int:
        return math.ceil(self.n_sequences / self._per_chunk(chunk_runs))

    def _per_chunk(self, chunk_runs: int) -> int:
        return max(1, math.ceil(chunk_runs / self.runs_per_sequence))

    def default_chunk_runs(self, workers: int) -> int:
        """Enough runs per task to keep scheduling overhead small, and several tasks per worker."""
        target = self.total_runs // max(1, 8 * workers)
        return int(min(max(target, 200), 5000))

    def describe(self) -> str:
        sc = self.scenario
        parts = [f"{sc.n_variations} variation(s) x {sc.samples} draw(s) x {sc.replicates} replicate(s) x "
                 f"{sc.runs_per_sequence} run(s) = {self.sweep_runs} sweep runs"]
        if self.n_sens_points:
            parts.append(f"{sc.sensitivity.method} design: {self.n_sens_points} points x "
                         f"{sc.sensitivity.replicates} x {sc.runs_per_sequence} = "
                         f"{self.total_runs - self.sweep_runs} runs")
        return "; ".join(parts)


def _levels(f: Factor) -> np.ndarray:
    """A grid factor's levels as an array (object dtype for strings, so values keep their type)."""
    return np.array(f.levels, dtype=object if f.dtype == "str" else None)


def spread_order(n: int) -> Iterator[int]:
    """Every index of ``range(n)`` once, in a stride order that spreads neighbours apart (O(1) memory).

    Neighbouring chunks hold neighbouring variations, which often cost alike (a long pump-down with a leak is
    several times dearer than a short clean one); sending chunks out in this order mixes dear and cheap
    ones, so the last chunks, which run while other workers idle, are of average cost.

    Examples
    --------
    >>> list(spread_order(7))
    [0, 4, 1, 5, 2, 6, 3]
    >>> sorted(spread_order(1000)) == list(range(1000))
    True
    """
    if n <= 2:
        yield from range(n)
        return
    step = max(1, round(n * 0.618))
    while math.gcd(step, n) != 1:
        step += 1
    for k in range(n):
        yield k * step % n


def _sensitivity_sample(sc: Scenario) -> np.ndarray:
    """Points of the unit cube (one column per factor) of the SALib design, or an empty array."""
    spec = sc.sensitivity
    if spec.method == "none":
        return np.zeros((0, len(sc.factors)))
    problem = sensitivity_problem(sc)
    seed = int(np.random.SeedSequence(sc.seed, spawn_key=(_SENS_KEY,)).generate_state(1)[0])
    if spec.method == "sobol":
        from SALib.sample import sobol

        x = sobol.sample(problem, spec.samples, calc_second_order=False, seed=seed)
    else:
        from SALib.sample import morris

        x = morris.sample(problem, spec.samples, num_levels=spec.levels, seed=seed)
    # the open unit interval keeps grid indices in range and inverse CDFs finite
    return np.clip(x, 0.0, np.nextafter(1.0, 0.0))


def sensitivity_problem(sc: Scenario) -> dict[str, Any]:
    """SALib problem: every factor as a coordinate of the unit cube (mapped by :meth:`Factor.from_unit`)."""
    return {"num_vars": len(sc.factors), "names": [f.name for f in sc.factors],
            "bounds": [[0.0, 1.0]] * len(sc.factors)}
