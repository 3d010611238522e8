"""Context beside the recipe in a surrogate (contextual Bayesian optimisation).

The chamber is not the same from run to run (:mod:`campaigns.context`): a surrogate that models the score as
``f(recipe, context)`` learns how the walls' water, the target's wear and the shields' load move it, and answers
for the context the *next* run will start in. Here, written once for any surrogate of the shared acquisition layer:

* :func:`resolve_keys`: which context keys a strategy models (a ``context`` setting: ``"none"``, ``"auto"`` or a
  list of keys, checked when the campaign file is read);
* :class:`ContextEncoder`: context values → columns in [0, 1] beside the recipe's unit cube (log scale for times
  since vent and pressures, linear for the rest; scaled over the runs' and the current values);
* :class:`ContextSlice` / :class:`FailureSlice`: a surrogate (or failure model) on ``[recipe, context]`` rows seen
  as one on recipe rows alone, the context fixed at the current one. The acquisition optimiser and the constant
  liar of :mod:`campaigns.acquisition` then search recipes only, for the chamber as it will be (the context is not
  a knob: Krause & Ong, NIPS 2011, contextual GP bandits).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from campaigns import acquisition as acq
from campaigns.context import CONTEXT_KEYS
from campaigns.errors import CampaignError

CONTEXT_SETTING_HELP = '"none" | "auto" | a list of ' + ", ".join(CONTEXT_KEYS)

AUTO_KEYS = ("hours_since_vent", "target_kwh", "base_pressure_pa")
"""What ``context = "auto"`` models, of the keys every told run and the current context have and that vary: the
time since the vent (the walls' water, FACTS §4), the target's wear (rate per watt, Gurvitch), and a real tool's
base pressure. ``runs_since_vent``, ``shield_kwh`` and ``wall_h2o_pa`` mostly repeat them (an assumption: name
them explicitly to model them)."""

_LOG_KEYS = {"hours_since_vent": 1.0, "wall_h2o_pa": 1e-9, "base_pressure_pa": 1e-9}
"""Keys encoded on a log scale, with the offset added before the log (h; Pa)."""


def check_setting(value: Any, where: str = "strategy.context") -> str | tuple[str, ...]:
    """A ``context`` setting as ``"none"``, ``"auto"`` or a tuple of known keys; :class:`CampaignError` otherwise."""
    if isinstance(value, str):
        if value in ("none", "auto"):
            return value
        raise CampaignError(where, value, "not a context setting", CONTEXT_SETTING_HELP)
    if isinstance(value, list | tuple):
        keys = tuple(value)
        for k in keys:
            if not isinstance(k, str) or k not in CONTEXT_KEYS:
                raise CampaignError(where, k, "unknown context key", ", ".join(CONTEXT_KEYS))
        if len(set(keys)) != len(keys):
            raise CampaignError(where, list(keys), "a key is named twice", ", ".join(CONTEXT_KEYS))
        return keys if keys else "none"
    raise CampaignError(where, value, "not a context setting", CONTEXT_SETTING_HELP)


def resolve_keys(setting: str | Sequence[str], contexts: Sequence[Mapping[str, float] | None],
                 now: Mapping[str, float] | None) -> tuple[str, ...]:
    """The context keys to model: none without a current context or without a told run's context; ``"auto"``:
    those of :data:`AUTO_KEYS` that every told run and ``now`` have and that vary; a list: those of its keys that
    ``now`` and at least one told run have."""
    if setting == "none" or not now or not any(contexts):
        return ()
    if setting == "auto":
        keys = []
        for k in AUTO_KEYS:
            vals = [c.get(k) for c in contexts if c is not None]
            if k in now and len(vals) == len(contexts) and None not in vals and len({*vals, now[k]}) > 1:
                keys.append(k)
        return tuple(keys)
    return tuple(k for k in setting if k in now and any(c is not None and k in c for c in contexts))


def _transform(key: str, v: np.ndarray) -> np.ndarray:
    if key in _LOG_KEYS:
        return np.log10(np.maximum(v, 0.0) + _LOG_KEYS[key])
    return v


class ContextEncoder:
    """Context values → columns in [0, 1] (one per key), scaled over the told runs' values and the current one.

    A run without a value for a key takes the mean of the known ones (an assumption: a run whose readback is missing
    is taken to have started in a typical chamber)."""

    def __init__(self, keys: Sequence[str], contexts: Sequence[Mapping[str, float] | None],
                 now: Mapping[str, float]) -> None:
        self.keys = tuple(keys)
        self.fill: dict[str, float] = {}
        self.lo, self.span = np.zeros(len(self.keys)), np.ones(len(self.keys))
        for j, k in enumerate(self.keys):
            known = [float(c[k]) for c in contexts if c is not None and k in c]
            self.fill[k] = float(np.mean(known)) if known else float(now[k])
            t = _transform(k, np.array(known + [float(now[k])]))
            self.lo[j] = float(t.min())
            span = float(t.max() - t.min())
            self.span[j] = span if span > 1e-12 else 1.0
        self.now = self.encode([now])[0]

    def encode(self, contexts: Sequence[Mapping[str, float] | None]) -> np.ndarray:
        """Rows of columns in [0, 1] (outside it for a value beyond the runs' range)."""
        out = np.zeros((len(contexts), len(self.keys)))
        for j, k in enumerate(self.keys):
            v = np.array([float((c or {}).get(k, self.fill[k])) for c in contexts])
            out[:, j] = (_transform(k, v) - self.lo[j]) / self.span[j]
        return out


class ContextSlice:
    """A surrogate on ``[recipe, context]`` rows, answered on recipe rows at the fixed context ``c_now``."""

    def __init__(self, surrogate: Any, c_now: np.ndarray) -> None:
        self.surrogate, self.c_now = surrogate, np.asarray(c_now, float)

    def full(self, u: np.ndarray) -> np.ndarray:
        u = np.atleast_2d(np.asarray(u, float))
        return np.hstack([u, np.broadcast_to(self.c_now, (len(u), len(self.c_now)))])

    def posterior(self, u: np.ndarray) -> acq.Posterior:
        return self.surrogate.posterior(self.full(u))

    def condition(self, u: np.ndarray, y: np.ndarray) -> ContextSlice:
        return ContextSlice(self.surrogate.condition(self.full(u), y), self.c_now)


class FailureSlice:
    """A failure model on ``[recipe, context]`` rows, answered on recipe rows at the fixed context."""

    def __init__(self, failure: Any, c_now: np.ndarray) -> None:
        self.failure, self.c_now = failure, np.asarray(c_now, float)

    def probability(self, u: np.ndarray) -> np.ndarray:
        return self.failure.probability(ContextSlice(None, self.c_now).full(u))
