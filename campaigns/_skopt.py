"""Everything that touches scikit-optimize (archived upstream; 0.10.2 pinned). No other module imports skopt.

Only skopt's GP path is used (``Optimizer(base_estimator="GP")``), never GBRT or ``BayesSearchCV``.

Batches use the constant liar, but faster than skopt's own ``ask(n_points=k)``, which refits the GP *with a
hyper-parameter search* for every lie (~5 s for 4 points after 100 observations in 8-D). Here the GP is fitted
once; the lies are told to a GP whose kernel hyper-parameters (amplitude, length scales, noise) are frozen at that
fit, so each lie costs one Cholesky factorisation and one acquisition search. The lie is the best score so far
(``cl_min``): the optimiser then treats the pending point's neighbourhood as explored and looks elsewhere.
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from typing import Any

import numpy as np
from sklearn.base import clone
from threadpoolctl import threadpool_limits

from campaigns.space import SearchSpace

with warnings.catch_warnings():
    warnings.simplefilter("ignore")
    from skopt import Optimizer
    from skopt.acquisition import gaussian_ei
    from skopt.learning import GaussianProcessRegressor
    from skopt.learning.gaussian_process.kernels import WhiteKernel
    from skopt.sampler import Halton, Hammersly, Lhs, Sobol
    from skopt.space import Categorical, Real, Space
    from skopt.utils import cook_estimator

INITIAL_DESIGNS = ("lhs", "sobol", "halton", "hammersly", "random")
ACQ_FUNCS = ("EI", "PI", "LCB", "gp_hedge")


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


class GPModel:
    """One fit of skopt's GP to the observations, and the constant-liar batch built on it."""

    def __init__(self, space: SearchSpace, points: Sequence[Sequence[Any]], scores: Sequence[float], *,
                 seed: int, acq_func: str = "EI", xi: float = 0.01, kappa: float = 1.96,
                 acq_optimizer: str = "auto", n_points: int = 10000, n_restarts_optimizer: int = 5,
                 gp_restarts: int = 1) -> None:
        self.space = space
        self.dims = dimensions(space)
        self.seed = int(seed)
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
            with _one_thread():
                self._opt.tell(self.points, self.scores)
        self.model = self._opt.models[-1]
        self.sk_space = self._opt.space

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
        if not pending:
            out.append([_plain(v) for v in self._opt.ask()])
        with _one_thread():
            self._lies(out, n, pending)
        return out

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
