"""Everything that touches scikit-optimize (archived upstream; 0.10.2 pinned). No other module imports skopt.

Only skopt's GP path is used (``Optimizer(base_estimator="GP")``), never GBRT or ``BayesSearchCV``.

Batches use the constant liar, but faster than skopt's own ``ask(n_points=k)``, which refits the GP *with a
hyper-parameter search* for every lie (~5 s for 4 points after 100 observations in 8-D). Here the GP is fitted
once; the lies are told to a GP whose kernel hyper-parameters (amplitude, length scales, noise) are frozen at that
fit, so each lie costs one Cholesky factorisation and one acquisition search. The lie is the best score so far
(``cl_min``): the optimiser then treats the pending point's neighbourhood as explored and looks elsewhere.

Failed runs can be kept out of the objective's GP and modelled apart (``failed=`` points): the acquisition is then
EI × P(success), the constrained EI of Gelbart, Snoek & Adams (UAI 2014) and Gardner et al. (ICML 2014), with
P(failure) a kernel-weighted Beta–Bernoulli estimate whose Matérn length scales are fitted to the failure labels:
near a failure with no success around it P(failure) → 1; a lone failure among successes (a random short) barely
counts.
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from typing import Any

import numpy as np
from sklearn.base import clone
from sklearn.gaussian_process.kernels import Matern
from threadpoolctl import threadpool_limits

from campaigns.space import SearchSpace

with warnings.catch_warnings():
    warnings.simplefilter("ignore")
    from skopt import Optimizer
    from skopt.acquisition import gaussian_ei, gaussian_pi
    from skopt.learning import GaussianProcessRegressor
    from skopt.learning.gaussian_process.kernels import WhiteKernel
    from skopt.sampler import Halton, Hammersly, Lhs, Sobol
    from skopt.space import Categorical, Real, Space
    from skopt.utils import cook_estimator

INITIAL_DESIGNS = ("lhs", "sobol", "halton", "hammersly", "random")
ACQ_FUNCS = ("EI", "PI", "LCB", "gp_hedge")
CONSTRAINED_ACQ_FUNCS = ("EI", "PI")
"""Acquisitions that the failure model weights by P(success) (an improvement is worth nothing on a failed run);
LCB is not an expected gain, and gp_hedge mixes in LCB, so neither can be weighted that way."""


def dimensions(space: SearchSpace) -> list[Any]:
    """skopt dimensions of a :class:`SearchSpace` (built once per space)."""
    dims: list[Any] = []
    for d in space.dimensions:
        if d.is_categorical:
            dims.append(Categorical(list(d.categories), name=d.name))
        else:
            dims.append(Real(d.low, d.high, prior="log-uniform" if d.log else "uniform", name=d.name))
    return dims


def initial_design(space: SearchSpace, n: int, kind: str, seed: int) -> list[list[Any]]:
    """A space-filling design of ``n`` points (``lhs``: maximin Latin hypercube; ``sobol``, ``halton``,
    ``hammersly``: low-discrepancy sequences; ``random``: uniform)."""
    if n <= 0:
        return []
    sk_space = Space(dimensions(space))
    rs = int(np.random.SeedSequence([seed, 101]).generate_state(1)[0])
    if kind == "random":
        pts = sk_space.rvs(n_samples=n, random_state=rs)
    else:
        sampler = {"lhs": lambda: Lhs(criterion="maximin", iterations=200), "sobol": Sobol, "halton": Halton,
                   "hammersly": Hammersly}[kind]()
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            pts = sampler.generate(sk_space.dimensions, n, random_state=rs)
    return [[_plain(v) for v in p] for p in pts]


def _plain(v: Any) -> Any:
    if isinstance(v, np.generic):
        return v.item()
    return v


def _one_thread() -> Any:
    """BLAS on one thread: for matrices of a few hundred rows threads only cost (and thrash on a busy machine)."""
    return threadpool_limits(limits=1, user_api="blas")


def _frozen_kernel_gp(model: GaussianProcessRegressor) -> GaussianProcessRegressor:
    """A GP with ``model``'s fitted kernel hyper-parameters frozen (no optimiser), noise included."""
    kernel = clone(model.kernel_)
    params = kernel.get_params()
    for key, value in params.items():
        if isinstance(value, WhiteKernel) and model.noise_ is not None:
            kernel.set_params(**{key: WhiteKernel(noise_level=float(model.noise_), noise_level_bounds="fixed")})
    return GaussianProcessRegressor(kernel=kernel, optimizer=None, normalize_y=True, noise="gaussian",
                                    n_restarts_optimizer=0)


def _correlation(model: GaussianProcessRegressor) -> Any:
    """The fitted Matérn part of a GP's kernel, without its amplitude: a correlation in [0, 1]."""
    for value in model.kernel_.get_params().values():
        if isinstance(value, Matern):
            return value
    raise ValueError(f"no Matern kernel in {model.kernel_}")


class GPModel:
    """One fit of skopt's GP to the observations, and the constant-liar batch built on it."""

    def __init__(self, space: SearchSpace, points: Sequence[Sequence[Any]], scores: Sequence[float], *,
                 seed: int, acq_func: str = "EI", xi: float = 0.01, kappa: float = 1.96,
                 acq_optimizer: str = "auto", n_points: int = 10000, n_restarts_optimizer: int = 5,
                 gp_restarts: int = 1, failed: Sequence[Sequence[Any]] = ()) -> None:
        self.space = space
        self.dims = dimensions(space)
        self.seed = int(seed)
        self.failed = [list(p) for p in failed]
        self.xi, self.n_points, self.n_restarts = float(xi), int(n_points), int(n_restarts_optimizer)
        if self.failed and acq_func not in CONSTRAINED_ACQ_FUNCS:
            raise ValueError(f"failed runs modelled apart need acq_func in {CONSTRAINED_ACQ_FUNCS}, not {acq_func!r}")
        self._gain = gaussian_pi if acq_func == "PI" else gaussian_ei
        self._kw = {
            "acq_func": acq_func, "acq_optimizer": acq_optimizer,
            "acq_func_kwargs": {"xi": xi, "kappa": kappa},
            "acq_optimizer_kwargs": {"n_points": n_points, "n_restarts_optimizer": n_restarts_optimizer},
        }
        self.points = [list(p) for p in points]
        self.scores = [float(s) for s in scores]
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            # skopt's own GP (Matern 5/2 with one length scale per dimension, a fitted noise level), with
            # ``gp_restarts`` restarts of the hyper-parameter search (skopt's default is 2)
            base = cook_estimator("GP", space=Space(self.dims), random_state=self.seed % (2**31), noise="gaussian",
                                  n_restarts_optimizer=gp_restarts)
            self._opt = self._optimizer(base, self.seed)
            self.sk_space = self._opt.space
            with _one_thread():
                if self.failed:
                    # the acquisition is ours (EI × P(success)): fit the GP as Optimizer.tell would, without
                    # the acquisition search that tell runs for its own ask (a third of a proposal's time)
                    self.model = clone(base).fit(self.sk_space.transform(self.points), self.scores)
                else:
                    self._opt.tell(self.points, self.scores)
                    self.model = self._opt.models[-1]
        self._fail_corr = self._fit_failure_correlation(gp_restarts) if self.failed else None

    def _fit_failure_correlation(self, gp_restarts: int) -> Any:
        """Length scales for the failure model: skopt's GP fitted to the 0/1 failure labels of every run, so
        that a cause of failure the objective does not depend on still has its own scale."""
        self._xs = self.sk_space.transform(self.points)
        self._xf = self.sk_space.transform(self.failed)
        x = np.vstack([self._xs, self._xf])
        y = [0.0] * len(self.points) + [1.0] * len(self.failed)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            gp = cook_estimator("GP", space=Space(self.dims), random_state=self.seed % (2**31), noise="gaussian",
                                n_restarts_optimizer=gp_restarts)
            with _one_thread():
                gp.fit(x, y)
        return _correlation(gp)

    def _optimizer(self, base_estimator: Any, seed: int) -> Optimizer:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            return Optimizer(self.dims, base_estimator=base_estimator, n_initial_points=0,
                             random_state=seed % (2**31), **self._kw)

    def ask(self, n: int, pending: Sequence[Sequence[Any]] = ()) -> list[list[Any]]:
        """``n`` new points. Without ``pending`` the first is the acquisition optimum of the fitted GP; every
        further point (and every point when some are ``pending``) comes from the frozen-kernel GP told the
        pending and already chosen points with the lie ``min(score)``."""
        out: list[list[Any]] = []
        if self.failed:
            with _one_thread():
                self._ask_feasible(out, n, pending)
            return out
        if not pending:
            out.append([_plain(v) for v in self._opt.ask()])
        with _one_thread():
            self._lies(out, n, pending)
        return out

    def failure_probability(self, points: Sequence[Sequence[Any]]) -> np.ndarray:
        """P(failure) at ``points`` [0–1]: ``(a + Σ k(x, f)) / (a + b + Σ k(x, f) + Σ k(x, s))`` over failed
        runs ``f`` and successful runs ``s``, with ``k`` a Matérn correlation whose length scales are fitted to
        the failure labels, and a prior worth one run at the smoothed failure rate ``(n_f + 1) / (n + 2)``.
        With no failed run yet, that smoothed rate ``1 / (n + 2)`` everywhere (the acquisition then ignores it)."""
        if self._fail_corr is None:
            return np.full(len(points), 1.0 / (len(self.points) + 2))
        return self._p_fail(self.sk_space.transform([list(p) for p in points]))

    def _p_fail(self, x: np.ndarray) -> np.ndarray:
        if self._fail_corr is None:
            return np.zeros(len(x))
        wf = self._fail_corr(x, self._xf).sum(axis=1)
        ws = self._fail_corr(x, self._xs).sum(axis=1)
        rate = (len(self.failed) + 1) / (len(self.failed) + len(self.points) + 2)
        return (rate + wf) / (1.0 + wf + ws)

    def _acquisition(self, x: np.ndarray, model: Any, y_opt: float) -> np.ndarray:
        gain = np.asarray(self._gain(x, model, y_opt=y_opt, xi=self.xi), float)
        return gain * (1.0 - self._p_fail(x))

    def _ask_feasible(self, out: list[list[Any]], n: int, pending: Sequence[Sequence[Any]]) -> None:
        """Maximise EI × P(success) (:meth:`_maximise`); further points of a batch by the constant liar on the
        frozen-kernel GP, as :meth:`_lies` does."""
        rng = np.random.default_rng([self.seed % (2**32), 7])
        model, told = self.model, [list(p) for p in pending]
        lie = min(self.scores)
        while len(out) < n:
            if told:
                with warnings.catch_warnings():
                    warnings.simplefilter("ignore")
                    model = _frozen_kernel_gp(self.model)
                    model.fit(self.sk_space.transform(self.points + told), self.scores + [lie] * len(told))
            out.append(self._maximise(model, lie, rng))
            told.append(out[-1])

    def _maximise(self, model: Any, y_opt: float, rng: np.random.Generator) -> list[Any]:
        """``n_points`` random candidates, then three rounds of 200 Gaussian steps (σ = 0.1, 0.03, 0.01 of the
        normalised space) around each of the ``n_restarts_optimizer`` best so far; vectorised, no gradients."""
        cand = self.sk_space.rvs(n_samples=self.n_points, random_state=int(rng.integers(2**31)))
        x = self.sk_space.transform(cand)
        acq = self._acquisition(x, model, y_opt)
        for scale in (0.1, 0.03, 0.01):
            top = x[np.argsort(-acq)[:self.n_restarts]]
            local = np.clip(np.repeat(top, 200, axis=0) + rng.normal(0.0, scale, (len(top) * 200, x.shape[1])),
                            0.0, 1.0)
            x = np.vstack([x, local])
            acq = np.append(acq, self._acquisition(local, model, y_opt))
        best = int(np.argmax(acq))
        return [_plain(v) for v in self.sk_space.inverse_transform(x[best:best + 1])[0]]

    def _lies(self, out: list[list[Any]], n: int, pending: Sequence[Sequence[Any]]) -> None:
        if len(out) < n:
            lie = min(self.scores)
            told = [list(p) for p in pending] + out
            lie_opt = self._optimizer(_frozen_kernel_gp(self.model), self.seed + 1)
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                lie_opt.tell(self.points + told, self.scores + [lie] * len(told))
                while len(out) < n:
                    out.append([_plain(v) for v in lie_opt.ask()])
                    if len(out) < n:
                        lie_opt.tell(out[-1], lie)

    def predict(self, points: Sequence[Sequence[Any]]) -> tuple[np.ndarray, np.ndarray]:
        """Posterior mean and standard deviation of the score at ``points`` (noise-free latent function)."""
        x = self.sk_space.transform([list(p) for p in points])
        mean, std = self.model.predict(x, return_std=True)
        return np.asarray(mean, float), np.asarray(std, float)

    def expected_improvement(self, points: Sequence[Sequence[Any]], xi: float = 0.01) -> np.ndarray:
        """Expected improvement [score units] over the best observed score at ``points``."""
        x = self.sk_space.transform([list(p) for p in points])
        return np.asarray(gaussian_ei(x, self.model, y_opt=min(self.scores), xi=xi), float)
