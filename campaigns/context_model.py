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

from collections.abc import Callable, Mapping, Sequence
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
    """Context values → columns in [0, 1] (one per key), scaled over the told runs' values and the current one
    (and ``also``: further values the columns will be asked at).

    A run without a value for a key takes the mean of the known ones (an assumption: a run whose readback is missing
    is taken to have started in a typical chamber)."""

    def __init__(self, keys: Sequence[str], contexts: Sequence[Mapping[str, float] | None],
                 now: Mapping[str, float], also: Sequence[Mapping[str, float]] = ()) -> None:
        self.keys = tuple(keys)
        self.fill: dict[str, float] = {}
        self.lo, self.span = np.zeros(len(self.keys)), np.ones(len(self.keys))
        for j, k in enumerate(self.keys):
            known = [float(c[k]) for c in contexts if c is not None and k in c]
            self.fill[k] = float(np.mean(known)) if known else float(now[k])
            t = _transform(k, np.array(known + [float(now[k])] + [float(a[k]) for a in also if k in a]))
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
    """A surrogate on ``[recipe, context]`` rows, answered on recipe rows at the fixed context ``c_now``; with
    ``derive``, the context columns of recipe rows ``u`` are ``derive(u)`` (a column that depends on the recipe as
    well as on the chamber: :class:`VacuumTime`)."""

    def __init__(self, surrogate: Any, c_now: np.ndarray, derive: Callable[[np.ndarray], np.ndarray] | None = None
                 ) -> None:
        self.surrogate, self.c_now, self.derive = surrogate, np.asarray(c_now, float), derive

    def full(self, u: np.ndarray) -> np.ndarray:
        u = np.atleast_2d(np.asarray(u, float))
        if self.derive is not None:
            return np.hstack([u, self.derive(u)])
        return np.hstack([u, np.broadcast_to(self.c_now, (len(u), len(self.c_now)))])

    def posterior(self, u: np.ndarray) -> acq.Posterior:
        return self.surrogate.posterior(self.full(u))

    def condition(self, u: np.ndarray, y: np.ndarray) -> ContextSlice:
        return ContextSlice(self.surrogate.condition(self.full(u), y), self.c_now, self.derive)


class FailureSlice:
    """A failure model on ``[recipe, context]`` rows, answered on recipe rows at the fixed context."""

    def __init__(self, failure: Any, c_now: np.ndarray, derive: Callable[[np.ndarray], np.ndarray] | None = None
                 ) -> None:
        self.failure, self.c_now, self.derive = failure, np.asarray(c_now, float), derive

    def probability(self, u: np.ndarray) -> np.ndarray:
        return self.failure.probability(ContextSlice(None, self.c_now, self.derive).full(u))


VACUUM_FIELD = "pumpdown_min"
"""The recipe field that adds to the time under vacuum before the deposition (the pump-down of the load) [min]."""


class VacuumTime:
    """``hours_since_vent`` as the hours the chamber has been under vacuum when the *deposition* starts: the hours
    since the vent at the load plus the recipe's pump-down.

    The walls' water falls as ~1/t with the time under vacuum since the vent (FACTS §4 [M], Dayton), and the
    pump-down of the run itself is part of that time: a run loaded right after a vent with a 24 h pump-down meets
    the walls of a chamber 24 h after its vent, as does a short pump-down loaded 24 h later. Encoded as the time at
    the load alone, the runs right after a vent (one per vent cycle) are a sparse corner of ``[recipe, context]``
    that the GP must learn apart; encoded as the time at the deposition they line up with every other run of the same
    time under vacuum. The column then depends on the recipe: :meth:`columns` gives it for recipe rows at the
    current context (:class:`ContextSlice`'s ``derive``)."""

    def __init__(self, space: Any, keys: Sequence[str]) -> None:
        self.keys = tuple(keys)
        self.j = self.keys.index("hours_since_vent")
        names = list(space.names)
        self.dim = space.dimensions[names.index(VACUUM_FIELD)] if VACUUM_FIELD in names else None
        self.col = names.index(VACUUM_FIELD) if VACUUM_FIELD in names else -1
        self.fixed = float(space.fixed.get(VACUUM_FIELD, 0.0)) if self.dim is None else 0.0
        self.encoder: ContextEncoder | None = None
        self.now: Mapping[str, float] = {}

    @staticmethod
    def applies(space: Any, keys: Sequence[str]) -> bool:
        """Whether the encoding applies: the context models ``hours_since_vent`` and the space has a pump-down (a
        dimension, or a fixed value)."""
        return "hours_since_vent" in keys and (VACUUM_FIELD in space.names or VACUUM_FIELD in space.fixed)

    def hours(self, u: np.ndarray) -> np.ndarray:
        """The pump-down of recipe rows ``u`` (unit cube) [h]."""
        u = np.atleast_2d(np.asarray(u, float))
        if self.dim is None:
            return np.full(len(u), self.fixed / 60.0)
        x = np.clip(u[:, self.col], 0.0, 1.0)
        d = self.dim
        if d.log:
            v = np.exp(np.log(d.low) + x * (np.log(d.high) - np.log(d.low)))
        else:
            v = d.low + x * (d.high - d.low)
        return np.asarray(v, float) / 60.0

    @staticmethod
    def shifted(contexts: Sequence[Mapping[str, float] | None], hours: np.ndarray) -> list[dict[str, float] | None]:
        """``contexts`` with ``hours`` (one per context) added to their ``hours_since_vent``."""
        out: list[dict[str, float] | None] = []
        for c, h in zip(contexts, hours, strict=True):
            if c is None or "hours_since_vent" not in c:
                out.append(None if c is None else dict(c))
            else:
                out.append({**c, "hours_since_vent": float(c["hours_since_vent"]) + float(h)})
        return out

    def encode(self, contexts: Sequence[Mapping[str, float] | None], u: np.ndarray, failed: Sequence[Mapping[str,
               float] | None], u_failed: np.ndarray, now: Mapping[str, float]) -> tuple[np.ndarray, np.ndarray]:
        """Context columns of the runs (recipe rows ``u``) and of the failed runs; fixes the encoder and ``now``."""
        runs = self.shifted(contexts, self.hours(u)) if len(contexts) else []
        bad = self.shifted(failed, self.hours(u_failed)) if len(failed) else []
        lo, hi = self.hours(np.zeros((1, max(self.col + 1, 1))))[0], self.hours(np.ones((1, max(self.col + 1, 1))))[0]
        h = float(now["hours_since_vent"])
        ends = [{**now, "hours_since_vent": h + lo}, {**now, "hours_since_vent": h + hi}]
        self.encoder = ContextEncoder(self.keys, runs + bad, ends[0], also=ends[1:])
        self.now = dict(now)
        return self.encoder.encode(runs), self.encoder.encode(bad)

    @property
    def c_now(self) -> np.ndarray:
        """The current context's columns, hours counted to the load (a placeholder for the column count:
        :meth:`columns` gives a recipe's)."""
        if self.encoder is None:
            raise RuntimeError("VacuumTime.encode first")
        return self.encoder.encode([self.now])[0]

    def columns(self, u: np.ndarray) -> np.ndarray:
        """Context columns of recipe rows ``u`` at the current context."""
        if self.encoder is None:
            raise RuntimeError("VacuumTime.encode first")
        u = np.atleast_2d(np.asarray(u, float))
        base = np.repeat(self.encoder.encode([self.now]), len(u), axis=0)
        h = float(self.now["hours_since_vent"]) + self.hours(u)
        base[:, self.j] = (_transform("hours_since_vent", h) - self.encoder.lo[self.j]) / self.encoder.span[self.j]
        return base
