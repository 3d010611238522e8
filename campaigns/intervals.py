"""Predictive intervals calibrated on the campaign's own track record.

A model fitted to a few runs is over-confident where it matters most: a proposal is the recipe the model rated best,
so the model's error there is larger, and one-signed (the measurement is worse than predicted: the winner's curse of
any optimiser). Leave-one-out checks at the runs already made do not see this. What does see it is the record of
the campaign's own proposals: each was predicted (mean and standard deviation of its measurement) *before* it ran,
and its measurement came in afterwards. Their standardised errors ``z = (measured − predicted) / std`` say how wrong
the intervals have been, in the situation they are used in.

:class:`IntervalCalibration` turns that record into a shift and a scale for the next predictions (in units of the
model's own standard deviation): ``mean + bias · std`` and ``scale · std``. The bias is the recency-weighted mean of
``z``; the scale is the one whose ±1σ and ±2σ intervals would have held the recent de-biased errors as often as a
Gaussian's do (68 % and 95 %), by least squares on the two coverages. Both are shrunk towards the model's own word
(no shift, scale 1) by a prior worth :data:`PRIOR_RUNS` well-calibrated runs, so a long record outweighs the prior.
While the record is short the interval is also held no narrower than a model-free one (the spread of the scores
measured so far, as a new draw from them would have), with a weight that fades as the record grows (``PRIOR_RUNS /
(PRIOR_RUNS + record)``): a GP fitted to a handful of runs in eight dimensions often declares most dimensions
irrelevant and claims a new run's score to a few hundredths where the runs so far differ by tenths. Older proposals
count less (half weight after :data:`HALF_LIFE_RUNS` proposals), because the model improves as runs come in. This is
online recalibration of the kind Kuleshov et al. (2018, "Accurate uncertainties for deep learning using calibrated
regression") and conformal prediction make on held-out data, with the held-out data a campaign naturally has.
The calibration is for the intervals a reviewer reads and the store keeps (``predict``); the acquisition uses the
model's own posterior. It needs each told outcome's proposal-time prediction: the runner reads it from the store
(``Outcome.predicted``, the model's own prediction before calibration, recovered with the calibration recorded in
the proposal's provenance), so resume stays exact.

Examples
--------
>>> cal = IntervalCalibration.from_errors([2.0, 3.0, 2.5, 1.5, 2.0, 2.8, 3.1, 1.9])
>>> cal.bias > 0.5 and cal.scale >= 1.0
True
>>> [float(v) for v in IntervalCalibration.from_errors([]).apply(1.0, 0.1)]
[1.0, 0.1]
>>> float(IntervalCalibration.from_errors([], scores=[1.0, 1.2, 0.9]).apply(1.0, 0.01)[1])  # model-free floor
0.176
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from scipy.stats import norm

PRIOR_RUNS = 3.0
"""Weight of the prior (the model's intervals are right) in proposals' worth [assumption]."""

HALF_LIFE_RUNS = 8.0
"""A proposal's error counts half as much after this many newer proposals [assumption]."""

_SCALES = np.geomspace(0.25, 100.0, 400)
_COVER = (1.0, 2.0)
_TARGET = np.array([2 * norm.cdf(k) - 1 for k in _COVER])  # 0.683, 0.954


@dataclass(frozen=True)
class IntervalCalibration:
    """Shift and scale of predictions, in units of the model's standard deviation, from ``n`` proposals."""

    bias: float = 0.0
    scale: float = 1.0
    n: int = 0
    floor: float = 0.0
    """Least standard deviation reported [score units] (the fading model-free interval)."""

    @classmethod
    def from_errors(cls, z: Sequence[float], scores: Sequence[float] = ()) -> IntervalCalibration:
        """Calibration from standardised errors ``z`` of past proposals, oldest first (non-finite ones skipped), and
        the ``scores`` measured so far (for the model-free floor)."""
        z = np.asarray([v for v in z if math.isfinite(v)], float)
        y = np.asarray([v for v in scores if v is not None and math.isfinite(v)], float)
        naive = float(np.std(y, ddof=1) * math.sqrt(1.0 + 1.0 / len(y))) if len(y) >= 2 else 0.0
        if len(z) == 0:
            return cls(floor=naive)
        w = 0.5 ** ((len(z) - 1 - np.arange(len(z))) / HALF_LIFE_RUNS)
        bias = float(np.sum(w * z) / (np.sum(w) + PRIOR_RUNS))
        a = np.abs(z - bias)
        # coverage of ±1σ and ±2σ at each candidate scale: prior (a standard normal) plus the weighted record
        prior = np.stack([2 * norm.cdf(k / _SCALES) - 1 for k in _COVER], axis=1)
        record = np.stack([(w[None, :] * (a[None, :] <= k * _SCALES[:, None])).sum(axis=1) for k in _COVER], axis=1)
        cover = (PRIOR_RUNS * prior + record) / (PRIOR_RUNS + np.sum(w))
        scale = float(_SCALES[np.argmin(np.sum((cover - _TARGET) ** 2, axis=1))])
        return cls(bias, scale, len(z), naive * PRIOR_RUNS / (PRIOR_RUNS + float(np.sum(w))))

    @classmethod
    def from_outcomes(cls, outcomes: Sequence[Any]) -> IntervalCalibration:
        """Calibration from told outcomes that carry their proposal-time prediction (``Outcome.predicted``)."""
        ok = [o for o in outcomes if not o.failed and o.score is not None]
        return cls.from_errors([(o.score - o.predicted[0]) / o.predicted[1] for o in ok
                                if getattr(o, "predicted", None) is not None and o.predicted[1] > 0],
                               [o.score for o in ok])

    def apply(self, mean: Any, std: Any) -> tuple[Any, Any]:
        """Calibrated ``(mean, std)`` of the model's ``(mean, std)`` (scalars or arrays)."""
        return mean + self.bias * std, np.maximum(std * self.scale, self.floor)

    def to_dict(self) -> dict[str, float]:
        return {"bias": self.bias, "scale": self.scale, "n": self.n, "floor": self.floor}

    @classmethod
    def from_dict(cls, d: Any) -> IntervalCalibration:
        """From :meth:`to_dict` (anything else: no calibration)."""
        if not isinstance(d, dict):
            return cls()
        try:
            return cls(float(d.get("bias", 0.0)), float(d.get("scale", 1.0)), int(d.get("n", 0)),
                       float(d.get("floor", 0.0)))
        except (TypeError, ValueError):
            return cls()
