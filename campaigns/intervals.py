"""Predictive intervals calibrated on the campaign's own track record.

A model fitted to a few runs is over-confident where it matters most: a proposal is the recipe the model rated best,
so the model's error there is larger, and one-signed (the measurement is worse than predicted: the winner's curse of
any optimiser). And a GP fitted to a handful of runs in eight dimensions often declares most dimensions irrelevant
and claims a new run's score to a few hundredths where the runs so far differ by tenths. Leave-one-out checks at the
runs already made see neither. What does see them is the record of the campaign's own proposals: each was predicted
(mean and standard deviation of its measurement) *before* it ran, and its measurement came in afterwards.

:class:`IntervalCalibration` turns that record into the interval for the next proposals. The reported mean is the
model's mean shifted by ``bias`` model standard deviations (the recency-weighted mean error of the record, in those
units); the reported standard deviation combines the model's own ``σ`` and a model-free one ``σ₀`` (a new draw
from the scores measured so far, Student-t with a robust spread: :func:`model_free_std`)::

    σ_reported = max(√((a·σ)² + (b·σ₀)²) · t, floor)

``a`` and ``b`` are the pair whose ±1σ and ±2σ intervals would have held the recent, de-biased errors as often as a
Gaussian's do (68 % and 95 %), by least squares on the two coverages over a grid; the record is weighted by recency
(half weight after :data:`HALF_LIFE_RUNS` proposals, because the model improves as runs come in) and joined by a
prior worth :data:`PRIOR_RUNS` proposals that the model's own intervals are right (``a = 1, b = 0``). Two
components, because the errors of a GP are heavy-tailed: most proposals are close, a few miss by far more than the
GP claimed, mostly where it claimed least; a single factor on ``σ`` cannot hold both. ``t`` widens for the few
proposals the record effectively holds (the Student-t 97.5 % quantile over the normal one, with ``PRIOR_RUNS +``
the record's weight as degrees of freedom). Until the record is long, the interval is also no narrower than the
model-free one, with a weight that fades as the record grows (``floor = σ₀ · PRIOR_RUNS / (PRIOR_RUNS + n)``).

This is online recalibration of the kind Kuleshov et al. (2018, "Accurate uncertainties for deep learning using
calibrated regression") and conformal prediction make on held-out data, with the held-out data a campaign naturally
has. The two constants and the two-component form were chosen on seeds 0–7 of ``benchmarks/coverage.py`` (3 tools);
the robust spread of :func:`model_free_std` came from a defect seen on seeds 100–109 (one outlying score kept
``twin-prior``'s intervals too wide for a whole campaign); seeds 200–209 and two more tools had not been looked at.

The calibration is for the intervals a reviewer reads and the store keeps (``predict``); the acquisition uses the
model's own posterior. It needs each told outcome's proposal-time prediction (``Outcome.predicted``, the model's own,
before calibration): the runner keeps it in the proposal's provenance and tells it back, so resume stays exact.

Examples
--------
>>> from campaigns.config import Outcome
>>> told = [Outcome(None, y, False, predicted=(y - 0.3, 0.1)) for y in (1.0, 1.2, 0.9, 1.1, 1.3, 1.0)]
>>> cal = IntervalCalibration.from_outcomes(told)  # every run came in 3σ worse than predicted
>>> cal.bias > 1.0 and cal.n == 6
True
>>> [round(float(v), 2) for v in IntervalCalibration().apply(1.0, 0.1)]  # no record: the model's own word
[1.0, 0.1]
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from scipy.stats import norm
from scipy.stats import t as student_t

PRIOR_RUNS = 3.0
"""Weight of the prior (the model's intervals are right) in proposals' worth [assumption]."""

HALF_LIFE_RUNS = 8.0
"""A proposal's error counts half as much after this many newer proposals [assumption]."""

_A = np.geomspace(0.3, 30.0, 60)
_B = np.concatenate([[0.0], np.geomspace(0.05, 3.0, 30)])
_COVER = np.array([1.0, 2.0])
_TARGET = 2 * norm.cdf(_COVER) - 1  # 0.683, 0.954


def model_free_std(scores: Sequence[float] | np.ndarray) -> float:
    """The standard deviation whose ±2σ holds a new score as often as the Student-t predictive of a new draw from
    the ``scores`` measured so far does its 95 % (the model-free interval; 0 with fewer than two scores).

    The spread of the scores is their median absolute deviation (× 1.4826, the standard deviation for Gaussian
    scores), not their standard deviation: one run in a hopeless corner of the space should not widen every
    interval of the campaign for the rest of its days (seen on a tool with 30× the twin's O⁻ yield, where one run
    scored 3.6 among runs near 1.0).

    >>> round(model_free_std([1.0, 1.2, 0.9]), 3)  # 1.4826 × MAD 0.1 × √(4/3) × t(0.975, 2) / 1.96
    0.376
    """
    y = np.asarray(scores, float)
    n = len(y)
    if n < 2:
        return 0.0
    spread = 1.4826 * float(np.median(np.abs(y - np.median(y))))
    return float(spread * math.sqrt(1.0 + 1.0 / n) * student_t.ppf(0.975, n - 1) / norm.ppf(0.975))


@dataclass(frozen=True)
class IntervalCalibration:
    """How the next predictions are calibrated, from a record of ``n`` proposals (see the module docstring):
    shift ``bias`` [model σ], factors ``scale`` (on the model's σ) and ``model_free`` (on ``model_free_std``
    [score units]), widening ``t`` and the least σ reported ``floor`` [score units]."""

    bias: float = 0.0
    scale: float = 1.0
    model_free: float = 0.0
    model_free_std: float = 0.0
    t: float = 1.0
    floor: float = 0.0
    n: int = 0

    @classmethod
    def fit(cls, record: Sequence[tuple[float, float, float, float]], scores: Sequence[float] = ()
            ) -> IntervalCalibration:
        """Calibration from a ``record`` of proposals, oldest first: ``(measured score, model mean, model σ, the
        model-free σ when it was proposed)``; ``scores`` are all scores measured so far."""
        now = model_free_std(scores)
        rec = np.asarray([r for r in record if all(math.isfinite(v) for v in r) and r[2] > 0], float).reshape(-1, 4)
        if len(rec) == 0:
            return cls(model_free_std=now, floor=now)
        y, m, s, free = rec.T
        w = 0.5 ** ((len(y) - 1 - np.arange(len(y))) / HALF_LIFE_RUNS)
        bias = float(np.sum(w * (y - m) / s) / (np.sum(w) + PRIOR_RUNS))
        r = np.abs(y - m - bias * s)
        sd = np.sqrt((_A[:, None, None] * s) ** 2 + (_B[None, :, None] * free) ** 2)  # (a, b, run)
        held = np.stack([(w * (r <= k * sd)).sum(axis=-1) for k in _COVER], axis=-1)  # (a, b, 2)
        prior = (2 * norm.cdf(_COVER[None, :] / _A[:, None]) - 1)[:, None, :]  # the model is right: a = 1, b = 0
        cover = (PRIOR_RUNS * prior + held) / (PRIOR_RUNS + np.sum(w))
        loss = np.sum((cover - _TARGET) ** 2, axis=-1) + 1e-4 * (np.log(_A)[:, None] ** 2 + _B[None, :] ** 2)
        ia, ib = np.unravel_index(int(np.argmin(loss)), loss.shape)
        t = float(student_t.ppf(0.975, PRIOR_RUNS + np.sum(w)) / norm.ppf(0.975))
        return cls(bias, float(_A[ia]), float(_B[ib]), now, t, now * PRIOR_RUNS / (PRIOR_RUNS + len(y)), len(y))

    @classmethod
    def from_outcomes(cls, outcomes: Sequence[Any]) -> IntervalCalibration:
        """Calibration from told outcomes, in the order they were told; those that carry their proposal-time
        prediction (``Outcome.predicted``) make the record."""
        record, scores = [], []
        for o in outcomes:
            if o.failed or o.score is None:
                continue
            predicted = getattr(o, "predicted", None)
            if predicted is not None:
                record.append((float(o.score), float(predicted[0]), float(predicted[1]), model_free_std(scores)))
            scores.append(float(o.score))
        return cls.fit(record, scores)

    def apply(self, mean: Any, std: Any) -> tuple[Any, Any]:
        """Calibrated ``(mean, std)`` of the model's ``(mean, std)`` (scalars or arrays)."""
        mean, std = np.asarray(mean, float), np.asarray(std, float)
        wide = np.sqrt((self.scale * std) ** 2 + (self.model_free * self.model_free_std) ** 2) * self.t
        return mean + self.bias * std, np.maximum(wide, self.floor)

    def to_dict(self) -> dict[str, float]:
        return {"bias": self.bias, "scale": self.scale, "model_free": self.model_free,
                "model_free_std": self.model_free_std, "t": self.t, "floor": self.floor, "n": self.n}

    @classmethod
    def from_dict(cls, d: Any) -> IntervalCalibration:
        """From :meth:`to_dict` (anything else: no calibration)."""
        if not isinstance(d, dict):
            return cls()
        try:
            return cls(**{k: (int if k == "n" else float)(d[k]) for k in cls.__dataclass_fields__ if k in d})
        except (TypeError, ValueError):
            return cls()
