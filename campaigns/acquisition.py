"""One acquisition layer for every strategy: surrogates answer a posterior, acquisition functions take any of them.

The split follows BoTorch (a model answers a posterior; ``ExpectedImprovement(model, best_f)`` takes any model;
``optimize_acqf`` optimises any acquisition), on numpy and in the campaign's unit cube ``[0, 1]^d`` (log dimensions
in log space, categorical dimensions at their index spread over ``[0, 1]``, see
:meth:`campaigns.space.SearchSpace.unit_cube`):

* a **surrogate** (:class:`Surrogate`) answers a :class:`Posterior` of the score at rows of the unit cube: a mixture
  of Gaussians (one component for a GP; one per parameter set for an ensemble of calibrated twins; several
  surrogates averaged). It can be *conditioned* on fantasy observations with its hyper-parameters frozen, which is
  all the constant liar needs;
* an **acquisition** (:class:`Acquisition`: EI, PI or LCB) maps a posterior to a gain. EI and PI are linear in the
  predictive density, so for a mixture they are the weighted sums of the components' closed forms (exact, not a
  moment-matched approximation); LCB uses the mixture's mean and standard deviation;
* **failure**: a gain may be weighted by the chance that the run succeeds (EI × P(success), the constrained EI of
  Gelbart, Snoek & Adams, UAI 2014), with P(failure) from any model of failure (:class:`FailureModel`);
* **one optimiser** (:func:`maximise`): random candidates plus the caller's own (a twin's optima, the best runs),
  three rounds of Gaussian steps around the leaders, and a compass-search polish of the best, all vectorised;
* **one constant liar** (:func:`propose_batch`): each further point of a batch is chosen after the surrogate is
  told the points already chosen (and the pending ones) at the best score so far, its hyper-parameters frozen
  (several objectives: at its own posterior means, see :mod:`campaigns.acquisition_mo`).

Nothing here knows about recipes, scikit-optimize or the twin.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Protocol, runtime_checkable

import numpy as np
from scipy.special import log_ndtr, ndtr

_SQRT_2PI = float(np.sqrt(2.0 * np.pi))


@dataclass(frozen=True)
class Posterior:
    """A mixture of Gaussians per point: ``weights`` (P,), ``means`` and ``stds`` (P, N) [score units].

    A GP is the case P = 1. ``noise_std`` is the measurement noise [score units], added for the predictive
    distribution of a new *measurement* (:attr:`predictive_std`), not for the latent score.
    """

    weights: np.ndarray
    means: np.ndarray
    stds: np.ndarray
    noise_std: float = 0.0

    @classmethod
    def gaussian(cls, mean: np.ndarray, std: np.ndarray, noise_std: float = 0.0) -> Posterior:
        return cls(np.ones(1), np.atleast_2d(np.asarray(mean, float)), np.atleast_2d(np.asarray(std, float)),
                   float(noise_std))

    @property
    def mean(self) -> np.ndarray:
        """Mixture mean [score units]."""
        return self.weights @ self.means

    @property
    def std(self) -> np.ndarray:
        """Mixture standard deviation of the latent score [score units] (within- plus between-component)."""
        m = self.mean
        second = self.weights @ (self.stds**2 + self.means**2)
        return np.sqrt(np.maximum(second - m**2, 0.0))

    @property
    def predictive_std(self) -> np.ndarray:
        """Standard deviation of a new measurement [score units]: latent and measurement noise."""
        return np.sqrt(self.std**2 + self.noise_std**2)

    @staticmethod
    def mix(parts: Sequence[tuple[float, Posterior]]) -> Posterior:
        """The mixture of weighted posteriors (Bayesian model averaging); weights need not sum to one."""
        total = sum(w for w, _ in parts)
        ws, ms, ss, noise2 = [], [], [], 0.0
        for w, p in parts:
            ws.append(p.weights * (w / total))
            ms.append(p.means)
            ss.append(p.stds)
            noise2 += w / total * p.noise_std**2
        return Posterior(np.concatenate(ws), np.vstack(ms), np.vstack(ss), float(np.sqrt(noise2)))


@runtime_checkable
class Surrogate(Protocol):
    """Answers the posterior of the score at rows ``u`` of the unit cube, and can be told fantasy observations."""

    def posterior(self, u: np.ndarray) -> Posterior:
        """Posterior of the latent score at ``u`` (N, d)."""

    def condition(self, u: np.ndarray, y: np.ndarray) -> Surrogate:
        """The surrogate told further observations ``y`` at ``u`` with its hyper-parameters frozen."""


class FailureModel(Protocol):
    """A model of the chance that a run fails."""

    def probability(self, u: np.ndarray) -> np.ndarray:
        """P(failure) [0–1] at rows ``u`` of the unit cube."""


# -- acquisition functions -----------------------------------------------------------------------------------------
def expected_improvement(post: Posterior, y_best: float, xi: float = 0.01) -> np.ndarray:
    """Expected improvement below ``y_best - xi`` [score units] (minimisation), exact for a mixture.

    ``EI = Σ_p w_p [(y* − μ_p) Φ(z_p) + σ_p φ(z_p)]``, ``z_p = (y* − μ_p)/σ_p``, ``y* = y_best − xi``
    (Jones, Schonlau & Welch, *J. Global Optim.* 13, 455 (1998)).

    Examples
    --------
    >>> post = Posterior.gaussian(np.array([0.0]), np.array([1.0]))
    >>> round(float(expected_improvement(post, 0.0, 0.0)[0]), 4)  # σ φ(0)
    0.3989
    """
    imp = (y_best - xi) - post.means
    s = np.maximum(post.stds, 1e-12)
    z = imp / s
    ei = imp * ndtr(z) + s * np.exp(-0.5 * z**2) / _SQRT_2PI
    ei = np.where(post.stds > 0, ei, np.maximum(imp, 0.0))
    return post.weights @ np.maximum(ei, 0.0)


def probability_of_improvement(post: Posterior, y_best: float, xi: float = 0.01) -> np.ndarray:
    """P(score < y_best − xi) [0–1], exact for a mixture."""
    s = np.maximum(post.stds, 1e-12)
    pi = np.where(post.stds > 0, ndtr(((y_best - xi) - post.means) / s), (post.means < y_best - xi) * 1.0)
    return post.weights @ pi


def lower_confidence_bound_gain(post: Posterior, kappa: float = 1.96) -> np.ndarray:
    """``−(μ − κσ)`` of the mixture's mean and standard deviation (larger is better, like the others)."""
    return -(post.mean - kappa * post.std)


def log_expected_improvement_floor(post: Posterior, y_best: float) -> np.ndarray:
    """log P(improvement) of the mixture's moment-matched Gaussian: a tie-breaker where EI underflows to 0."""
    return log_ndtr((y_best - post.mean) / np.maximum(post.std, 1e-12))


ACQ_FUNCS = ("EI", "PI", "LCB")
CONSTRAINED_ACQ_FUNCS = ("EI", "PI")
"""Gains that a failure model may weight by P(success): an expected gain, or a probability of one. LCB is neither."""


@dataclass(frozen=True)
class Acquisition:
    """An acquisition function by name, with its parameters; ``failure`` weights EI/PI by P(success)."""

    kind: str = "EI"
    xi: float = 0.01
    kappa: float = 1.96
    failure: FailureModel | None = None

    def __post_init__(self) -> None:
        if self.kind not in ACQ_FUNCS:
            raise ValueError(f"acquisition kind={self.kind!r} must be one of {ACQ_FUNCS}")
        if self.failure is not None and self.kind not in CONSTRAINED_ACQ_FUNCS:
            raise ValueError(f"a failure model weights {CONSTRAINED_ACQ_FUNCS} only, not {self.kind!r}")

    def __call__(self, surrogate: Surrogate, u: np.ndarray, y_best: float) -> np.ndarray:
        post = surrogate.posterior(u)
        if self.kind == "EI":
            gain = expected_improvement(post, y_best, self.xi)
        elif self.kind == "PI":
            gain = probability_of_improvement(post, y_best, self.xi)
        else:
            return lower_confidence_bound_gain(post, self.kappa)
        if self.failure is not None:
            gain = gain * (1.0 - self.failure.probability(u))
        return gain


# -- one optimiser ---------------------------------------------------------------------------------------------------
def snap_categoricals(u: np.ndarray, n_categories: Sequence[int]) -> np.ndarray:
    """Move categorical coordinates (``n_categories[j] > 0``) to their nearest category's position ``i/(k−1)``,
    the positions :meth:`campaigns.space.SearchSpace.unit_cube` gives them; real coordinates are clipped to [0, 1]."""
    u = np.clip(np.asarray(u, float), 0.0, 1.0)
    for j, k in enumerate(n_categories):
        if k > 1:
            idx = np.minimum(np.floor(u[:, j] * k), k - 1)
            u[:, j] = idx / (k - 1)
        elif k == 1:
            u[:, j] = 0.0
    return u


def maximise(gain: Callable[[np.ndarray], np.ndarray], dim: int, rng: np.random.Generator, *,
             n_points: int = 10000, n_restarts: int = 5, candidates: np.ndarray | None = None,
             n_categories: Sequence[int] | None = None, polish: bool = True) -> np.ndarray:
    """The row of ``[0, 1]^dim`` that maximises ``gain`` (vectorised: ``(N, dim) -> (N,)``).

    ``n_points`` uniform candidates plus ``candidates`` (the caller's: a twin's optima, the best runs), then three
    rounds of 200 Gaussian steps (σ = 0.1, 0.03, 0.01) around each of the ``n_restarts`` leaders, then an L-BFGS-B
    polish (finite differences, bounded) of the best real coordinates. Categorical coordinates stay on their
    categories (``n_categories``: 0 for a real dimension). No gradients of the surrogate are needed.
    """
    cats = list(n_categories) if n_categories is not None else [0] * dim
    x = rng.random((max(int(n_points), 1), dim))
    if candidates is not None and len(candidates):
        x = np.vstack([np.asarray(candidates, float).reshape(-1, dim), x])
    x = snap_categoricals(x, cats)
    acq = _finite(gain(x))
    for scale in (0.1, 0.03, 0.01):
        top = x[np.argsort(-acq)[:n_restarts]]
        local = snap_categoricals(np.repeat(top, 200, axis=0) + rng.normal(0.0, scale, (len(top) * 200, dim)), cats)
        x = np.vstack([x, local])
        acq = np.append(acq, _finite(gain(local)))
    best = x[int(np.argmax(acq))].copy()
    real = [j for j in range(dim) if cats[j] == 0]
    if polish and real and float(np.max(acq)) > 0:
        best = _compass(gain, best, float(np.max(acq)), real)
    return best


def _compass(gain: Callable[[np.ndarray], np.ndarray], x: np.ndarray, fx: float, real: Sequence[int], *,
             step: float = 0.02, min_step: float = 1e-4, max_iter: int = 40) -> np.ndarray:
    """Vectorised compass search (Kolda, Lewis & Torczon, *SIAM Rev.* 45, 385 (2003)) over the real coordinates:
    each iteration evaluates the 2·k neighbours ``x ± step·e_j`` in one call of ``gain``, moves to the best if it
    improves, else halves the step. A gradient-free polish that costs one surrogate call per iteration (a finite-
    difference L-BFGS needed one call per coordinate per gradient)."""
    k = len(real)
    for _ in range(max_iter):
        if step < min_step:
            break
        moves = np.repeat(x[None, :], 2 * k, axis=0)
        for i, j in enumerate(real):
            moves[2 * i, j] += step
            moves[2 * i + 1, j] -= step
        moves = np.clip(moves, 0.0, 1.0)
        g = _finite(gain(moves))
        i = int(np.argmax(g))
        if g[i] > fx:
            x, fx = moves[i], float(g[i])
        else:
            step /= 2.0
    return x


def _finite(a: np.ndarray) -> np.ndarray:
    a = np.asarray(a, float)
    return np.where(np.isfinite(a), a, -np.inf)


# -- one constant liar -------------------------------------------------------------------------------------------------
def propose_batch(surrogate: Surrogate, n: int, acquisition: Callable[[Surrogate, np.ndarray, float], np.ndarray],
                  y_best: float, choose: Callable[[Callable[[np.ndarray], np.ndarray]], np.ndarray], *,
                  pending: np.ndarray | None = None,
                  lie: float | Callable[[Surrogate, np.ndarray], np.ndarray] | None = None) -> np.ndarray:
    """``n`` rows of the unit cube: the first maximises the acquisition of ``surrogate`` (told the ``pending`` rows
    first, if any); each further one that of the surrogate also told the rows already chosen, all at the ``lie``
    (default ``y_best``: the constant liar ``cl_min`` of Ginsbourger et al., 2010), hyper-parameters frozen.

    ``lie`` may also be a function ``(surrogate, u) -> values`` of the model told so far: a several-output surrogate
    (:class:`campaigns.acquisition_mo.MultiSurrogate`) is told its own posterior means there (the "kriging
    believer" of the same paper), one column per output.

    ``choose(gain)`` is the optimiser (e.g. a closure over :func:`maximise`), called once per point.
    """
    if callable(lie):
        lie_at = lie
    else:
        value = y_best if lie is None else float(lie)

        def lie_at(_model: Surrogate, u: np.ndarray) -> np.ndarray:
            return np.full(len(u), value)

    told = np.zeros((0, 0)) if pending is None else np.asarray(pending, float)
    model = surrogate.condition(told, lie_at(surrogate, told)) if len(told) else surrogate
    out: list[np.ndarray] = []
    for i in range(n):
        best = choose(lambda u, m=model: acquisition(m, u, y_best))
        out.append(best)
        if i < n - 1:
            model = model.condition(best[None, :], lie_at(model, best[None, :]))
    return np.vstack(out) if out else np.zeros((0, 0))
