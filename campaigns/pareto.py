"""Pareto sets and hypervolume, for scores that are all minimised (see :mod:`campaigns.objectives`).

Pure numpy functions: data in, numbers out. The hypervolume is exact: a sweep in 2-D, and in more dimensions
slicing along the last objective (HSO, While et al. 2006), each slice a lower-dimensional hypervolume. That is
O(n^(m-1) log n), ample for a campaign's tens to hundreds of runs and 2–4 objectives.

Examples
--------
>>> Y = [[1.0, 3.0], [2.0, 2.0], [3.0, 1.0], [3.0, 3.0]]
>>> pareto_mask(Y).tolist()
[True, True, True, False]
>>> hypervolume(Y, [4.0, 4.0])
6.0
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np


def pareto_mask(scores: Sequence[Sequence[float]] | np.ndarray) -> np.ndarray:
    """True for each row that no other row dominates (≤ in every score and < in one). Rows with a NaN are never
    on the front; equal rows are all kept."""
    Y = np.atleast_2d(np.asarray(scores, float))
    n = len(Y)
    ok = np.isfinite(Y).all(axis=1) if n else np.zeros(0, bool)
    mask = ok.copy()
    for i in np.flatnonzero(ok):
        others = Y[ok]
        dominated = np.any(np.all(others <= Y[i], axis=1) & np.any(others < Y[i], axis=1))
        mask[i] = not dominated
    return mask


def _hv2(Y: np.ndarray, ref: np.ndarray) -> float:
    Y = Y[np.argsort(Y[:, 0], kind="stable")]
    hv, best = 0.0, ref[1]
    for x, y in Y:
        if y < best:
            hv += (ref[0] - x) * (best - y)
            best = y
    return hv


def _hv(Y: np.ndarray, ref: np.ndarray) -> float:
    if len(Y) == 0:
        return 0.0
    m = Y.shape[1]
    if m == 1:
        return float(ref[0] - Y[:, 0].min())
    if m == 2:
        return _hv2(Y, ref)
    Y = Y[np.argsort(Y[:, -1], kind="stable")]
    hv = 0.0
    for k in range(len(Y)):
        upper = Y[k + 1, -1] if k + 1 < len(Y) else ref[-1]
        depth = upper - Y[k, -1]
        if depth > 0:
            front = Y[: k + 1, :-1]
            hv += depth * _hv(front[pareto_mask(front)], ref[:-1])
    return hv


def hypervolume(scores: Sequence[Sequence[float]] | np.ndarray, ref: Sequence[float] | np.ndarray) -> float:
    """Volume dominated by ``scores`` (n × m, minimised) and bounded by the reference point ``ref``; rows that do not
    strictly dominate ``ref`` in every score, or hold a NaN, add nothing."""
    Y = np.atleast_2d(np.asarray(scores, float))
    r = np.asarray(ref, float)
    if Y.size == 0:
        return 0.0
    if Y.shape[1] != r.shape[0]:
        raise ValueError(f"reference point has {r.shape[0]} components, scores have {Y.shape[1]}")
    Y = Y[np.isfinite(Y).all(axis=1) & np.all(Y < r, axis=1)]
    return float(_hv(Y[pareto_mask(Y)], r)) if len(Y) else 0.0


def hypervolume_history(scores: Sequence[Sequence[float]] | np.ndarray, ref: Sequence[float] | np.ndarray,
                        feasible: Sequence[bool] | None = None) -> np.ndarray:
    """Hypervolume of the first 1, 2, … rows (in run order), counting only ``feasible`` rows when given."""
    Y = np.atleast_2d(np.asarray(scores, float))
    ok = np.ones(len(Y), bool) if feasible is None else np.asarray(feasible, bool)
    return np.array([hypervolume(Y[: k + 1][ok[: k + 1]], ref) for k in range(len(Y))])


def default_reference(scores: Sequence[Sequence[float]] | np.ndarray, margin: float = 0.1) -> np.ndarray:
    """A reference point when the campaign file gives none: the worst score of each objective plus ``margin`` ×
    its range (a common convention, e.g. BoTorch's ``infer_reference_point``)."""
    Y = np.atleast_2d(np.asarray(scores, float))
    Y = Y[np.isfinite(Y).all(axis=1)]
    if len(Y) == 0:
        raise ValueError("no finite scores to place a reference point")
    hi, lo = Y.max(axis=0), Y.min(axis=0)
    span = np.where(hi > lo, hi - lo, np.maximum(np.abs(hi), 1.0))
    return hi + margin * span


def nondominated_boxes(front: Sequence[Sequence[float]] | np.ndarray,
                       ref: Sequence[float] | np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Disjoint boxes ``(lower (B, m), upper (B, m))`` whose union is the region below ``ref`` that no row of
    ``front`` weakly dominates (lower bounds may be ``-inf``): where a new point adds hypervolume.

    Built by slicing along the last objective, as :func:`hypervolume` does: between two consecutive levels of the
    last score, the region is the (m−1)-D region not dominated by the points below the slab, times the slab; in 2-D a
    staircase of ``k + 1`` boxes. That gives O(n^(m−1)) boxes (n = front size), a few hundred for 20–30 points in
    3-D. The hypervolume improvement of a point ``y`` is then ``Σ_b Π_j max(0, u_bj − max(l_bj, y_j))``, which
    :func:`campaigns.acquisition_mo.expected_hypervolume_improvement` integrates in closed form.

    Examples
    --------
    >>> lo, hi = nondominated_boxes([[1.0, 2.0], [2.0, 1.0]], [3.0, 3.0])
    >>> np.column_stack([lo, hi]).tolist()
    [[-inf, -inf, 3.0, 1.0], [-inf, 1.0, 2.0, 2.0], [-inf, 2.0, 1.0, 3.0]]
    """
    r = np.asarray(ref, float)
    Y = np.atleast_2d(np.asarray(front, float)).reshape(-1, len(r))
    Y = Y[np.isfinite(Y).all(axis=1) & np.all(Y < r, axis=1)]
    Y = Y[pareto_mask(Y)] if len(Y) else Y
    lo, hi = _boxes(Y, r)
    return np.array(lo, float).reshape(-1, len(r)), np.array(hi, float).reshape(-1, len(r))


def _boxes(Y: np.ndarray, r: np.ndarray) -> tuple[list[list[float]], list[list[float]]]:
    m = len(r)
    if len(Y) == 0:
        return [[-np.inf] * m], [list(r)]
    if m == 1:
        b = float(Y[:, 0].min())
        return ([[-np.inf]], [[b]])
    Y = Y[np.argsort(Y[:, -1], kind="stable")]
    levels = np.append(Y[:, -1], r[-1])
    lo: list[list[float]] = []
    hi: list[list[float]] = []
    # slab k: last score in [levels[k-1], levels[k]) (k = 0: below the lowest point), dominated in the other
    # scores by the first k points
    for k in range(len(Y) + 1):
        bottom = -np.inf if k == 0 else levels[k - 1]
        top = levels[k]
        if top <= bottom:
            continue
        sub = Y[:k, :-1]
        sub = sub[pareto_mask(sub)] if len(sub) else sub
        sub_lo, sub_hi = _boxes(sub, r[:-1])
        for a, b in zip(sub_lo, sub_hi, strict=True):
            if all(x < y for x, y in zip(a, b, strict=True)):
                lo.append([*a, bottom])
                hi.append([*b, top])
    return lo, hi

