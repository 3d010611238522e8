"""Trust regions around the measured front: where a model-driven multi-objective search may propose.

Why: with a few tens of runs in several dimensions a GP's posterior standard deviation is largest at the faces and
corners of the unit cube, far from every run, and expected hypervolume improvement — a product over goals of gains
that grow with that deviation — is largest there too. On DTLZ2 (6-D) most of ``mobo``'s proposals from run 11 to 30
had half or more of their coordinates on a face, where the truth was far behind the front. TuRBO (Eriksson et al.,
NeurIPS 2019) and, for several goals, MORBO (Daulton et al., UAI 2022) confine the acquisition to boxes around the
best points found, boxes that grow after successes and shrink after failures; this module is that rule, kept small:

* **centres**: the points of the current front (the caller's choice; ``mobo`` takes the measured feasible runs
  whose posterior means are non-dominated);
* **one side length** ``L`` for every box [unit-cube lengths], each box ``centre ± L/2`` clipped to the cube;
* ``L`` is *replayed* from the campaign's history (:func:`side_length`): it starts at :data:`INITIAL`, doubles
  after :data:`SUCCESS_TOLERANCE` successes in a row (a run that raised the measured front's hypervolume), halves
  after ``max(4, dimensions)`` failures in a row, is at most :data:`MAXIMUM` and restarts at :data:`INITIAL` when it
  falls below :data:`MINIMUM`. TuRBO's constants. A function of the runs told only, so resume stays exact.

Everything is in the unit cube and pure numpy; nothing here knows about GPs or recipes.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

INITIAL = 0.8
"""Side length of a box after the initial design and after a restart [unit-cube lengths] (TuRBO's)."""
MAXIMUM = 1.6
"""Largest side length (a box of side 1.6 around any centre covers the cube) [unit-cube lengths]."""
MINIMUM = 0.5**7
"""Below this side length the boxes restart at :data:`INITIAL` [unit-cube lengths]."""
SUCCESS_TOLERANCE = 3
"""Successes in a row that double the side length."""


def failure_tolerance(dim: int) -> int:
    """Failures in a row that halve the side length: ``max(4, dim)`` (TuRBO's, for one proposal at a time)."""
    return max(4, int(dim))


def side_length(improved: Sequence[bool], dim: int) -> float:
    """The side length after the model-driven runs ``improved`` (True where a run raised the front's
    hypervolume), replayed from :data:`INITIAL`.

    Examples
    --------
    >>> side_length([], 2), side_length([True] * 3, 2), side_length([False] * 4, 2)
    (0.8, 1.6, 0.4)
    """
    length, wins, losses = INITIAL, 0, 0
    for ok in improved:
        wins, losses = (wins + 1, 0) if ok else (0, losses + 1)
        if wins >= SUCCESS_TOLERANCE:
            length, wins = min(2.0 * length, MAXIMUM), 0
        if losses >= failure_tolerance(dim):
            length, losses = length / 2.0, 0
        if length < MINIMUM:
            length = INITIAL
    return length


@dataclass(frozen=True)
class TrustRegion:
    """Boxes ``centre ± length/2`` (clipped to ``[0, 1]``) over the coordinates ``real`` (the others, categorical,
    are free); ``centres`` (k, d) [unit cube]."""

    centres: np.ndarray
    length: float
    real: tuple[int, ...]

    def contains(self, u: np.ndarray) -> np.ndarray:
        """True for each row of ``u`` (N, d) inside at least one box."""
        u = np.atleast_2d(np.asarray(u, float))
        if not len(self.centres) or not self.real:
            return np.ones(len(u), bool)
        r = list(self.real)
        gap = np.abs(u[:, None, r] - self.centres[None, :, r])
        return np.any(np.all(gap <= self.length / 2.0 + 1e-12, axis=2), axis=1)

    def sample(self, rng: np.random.Generator, n: int) -> np.ndarray:
        """``n`` rows uniform in the boxes (each box chosen in turn; a box clipped by the cube's faces is sampled
        in what remains of it); categorical coordinates uniform in [0, 1]."""
        d = self.centres.shape[1]
        out = rng.random((n, d))
        if not len(self.centres):
            return out
        c = self.centres[np.arange(n) % len(self.centres)]
        lo = np.clip(c - self.length / 2.0, 0.0, 1.0)
        hi = np.clip(c + self.length / 2.0, 0.0, 1.0)
        r = list(self.real)
        out[:, r] = lo[:, r] + (hi[:, r] - lo[:, r]) * out[:, r]
        return out


def hypervolume_gains(scores: np.ndarray, feasible: np.ndarray, ref: np.ndarray, start: int) -> list[bool]:
    """For each run from index ``start`` on: did adding it raise the hypervolume of the feasible runs' front?
    ``scores`` (n, m) minimised, ``feasible`` (n,) [bool]."""
    from campaigns.pareto import hypervolume

    out, before = [], None
    for n in range(max(start, 0), len(scores)):
        if before is None:
            prior = scores[:n][feasible[:n]]
            before = hypervolume(prior, ref) if len(prior) else 0.0
        now = scores[: n + 1][feasible[: n + 1]]
        after = hypervolume(now, ref) if len(now) else 0.0
        out.append(after > before * (1.0 + 1e-9) + 1e-15)
        before = after
    return out
