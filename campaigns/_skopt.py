"""Everything that touches scikit-optimize (archived upstream; 0.10.2 pinned). No other module imports skopt.

Only skopt's GP path is used (its ``GaussianProcessRegressor`` built by ``cook_estimator("GP")``: a Matérn 5/2
kernel with one length scale per dimension and a fitted noise level), never GBRT or ``BayesSearchCV``, and only as a
*surrogate*: the acquisition functions, their optimiser and the constant liar are the project's own, written once in
:mod:`campaigns.acquisition` and shared by every strategy.

The GP works in the campaign's unit cube (:meth:`campaigns.space.SearchSpace.unit_cube`): log dimensions in log
space, as skopt's own ``normalize`` transform puts them; a categorical dimension at its index spread over [0, 1]
(skopt would one-hot it; for the two-valued categoricals of the example campaigns the two are the same).

Batches use the constant liar on a GP whose kernel hyper-parameters (amplitude, length scales, noise) are frozen
at the one fit (:meth:`GPSurrogate.condition`), so each lie costs one Cholesky factorisation and one acquisition
search, not a hyper-parameter search as skopt's own ``ask(n_points=k)`` would.

**Honest uncertainty.** The GP's predictive (latent and fitted noise) is the model's own word; the intervals a
reviewer reads and the store keeps are calibrated on the campaign's track record by :mod:`campaigns.intervals`,
the same way for every strategy.

**Context.** With ``context`` columns (the chamber state each run started in, :mod:`campaigns.context_model`), the
GP is fitted on ``[recipe, context]`` rows (:func:`context_kernel`: recipe + context + interaction; its length
scales maximum a posteriori under the Gamma prior of :mod:`campaigns._gp_prior` unless ``gp``'s
``length_scale_prior = false``) and searched and answered at the current context only
(:class:`~campaigns.context_model.ContextSlice`): the shared optimiser and constant liar search recipes, EI improves
on the best posterior mean among the recipes run *in the current context*.

Failed runs can be kept out of the objective's GP and modelled apart (:class:`KernelFailureModel`): the
acquisition is then EI × P(success), with P(failure) a kernel-weighted Beta–Bernoulli estimate whose Matérn length
scales are fitted to the failure labels: near a failure with no success around it P(failure) → 1; a lone failure
among successes (a random short) barely counts.
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from typing import Any

import numpy as np
from sklearn.gaussian_process.kernels import ConstantKernel, Matern
from threadpoolctl import ThreadpoolController

from campaigns import acquisition as acq
from campaigns._gp_prior import map_optimizer
from campaigns.space import SearchSpace

with warnings.catch_warnings():
    warnings.simplefilter("ignore")
    from skopt import Optimizer  # noqa: F401  (re-exported for the latency benchmark's baseline)
    from skopt.learning import GaussianProcessRegressor
    from skopt.learning.gaussian_process.kernels import ConstantKernel as SkConstantKernel
    from skopt.learning.gaussian_process.kernels import Matern as SkMatern
    from skopt.learning.gaussian_process.kernels import WhiteKernel
    from skopt.sampler import Halton, Hammersly, Lhs, Sobol
    from skopt.space import Categorical, Real, Space
    from skopt.utils import cook_estimator

INITIAL_DESIGNS = ("lhs", "sobol", "halton", "hammersly", "random")
ACQ_FUNCS = ("EI", "PI", "LCB", "gp_hedge")
CONSTRAINED_ACQ_FUNCS = acq.CONSTRAINED_ACQ_FUNCS
"""Acquisitions that the failure model weights by P(success) (an improvement is worth nothing on a failed run);
LCB is not an expected gain, and gp_hedge mixes in LCB, so neither can be weighted that way."""

"""Median of a χ² variable with one degree of freedom: the median ``z²`` of calibrated standardised errors."""


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


def one_thread() -> Any:
    """BLAS on one thread: for matrices of a few hundred rows threads only cost (and thrash on a busy machine)."""
    global _CONTROLLER
    if _CONTROLLER is None:  # finding the BLAS libraries costs ~3 ms: once per process, not once per prediction
        _CONTROLLER = ThreadpoolController()
    return _CONTROLLER.limit(limits=1, user_api="blas")


_CONTROLLER: ThreadpoolController | None = None


_one_thread = one_thread  # the latency benchmark's name


def categories_of(space: SearchSpace) -> list[int]:
    """Number of categories per dimension (0 for a real dimension), as :func:`acquisition.maximise` takes it."""
    return [len(d.categories) if d.is_categorical else 0 for d in space.dimensions]


# -- the GP surrogate ------------------------------------------------------------------------------------------------
class GPSurrogate:
    """skopt's GP fitted to scores ``y`` at unit-cube rows ``u``; a :class:`campaigns.acquisition.Surrogate`.

    ``amplitude_bounds`` (variance bounds in the units of ``y``) fixes the target scale instead of normalising
    ``y`` by its own spread: the discrepancy of ``twin-prior`` uses it so that its prior amplitude cannot collapse to
    the spread of a few clustered runs. ``frozen`` reuses a fitted kernel (the constant liar).
    """

    def __init__(self, u: np.ndarray, y: Sequence[float], *, seed: int, gp_restarts: int = 1,
                 amplitude_bounds: tuple[float, float] | None = None, noise_bounds: tuple[float, float] = (1e-6, 1.0),
                 length_scale_low: float = 0.05, frozen: GPSurrogate | None = None, context_dims: int = 0,
                 length_scale_prior: bool = False) -> None:
        self.u = np.asarray(u, float)
        self.y = np.asarray(y, float)
        self.seed, self.gp_restarts = int(seed), int(gp_restarts)
        self.amplitude_bounds, self.noise_bounds = amplitude_bounds, noise_bounds
        d = self.u.shape[1]
        # a fixed amplitude scale: the targets are centred on their mean, not divided by their spread
        self.centred = amplitude_bounds is not None if frozen is None else frozen.centred
        self.offset = (frozen.offset if frozen is not None else float(np.mean(self.y))) if self.centred else 0.0
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            if frozen is not None:
                gp = _frozen_kernel_gp(frozen.model)
            elif amplitude_bounds is None and context_dims > 0:
                gp = GaussianProcessRegressor(kernel=context_kernel(d - context_dims, context_dims), normalize_y=True,
                                              noise="gaussian", n_restarts_optimizer=gp_restarts,
                                              random_state=self.seed % (2**31))
                if length_scale_prior:
                    gp.set_params(optimizer=map_optimizer(lambda: gp.kernel_))
            elif amplitude_bounds is None:
                gp = cook_estimator("GP", space=Space([Real(0.0, 1.0)] * d), random_state=self.seed % (2**31),
                                    noise="gaussian", n_restarts_optimizer=gp_restarts)
                if length_scale_prior:
                    gp.set_params(optimizer=map_optimizer(lambda: gp.kernel_))
            else:
                lo, hi = amplitude_bounds
                start = float(np.clip(np.var(self.y) if len(self.y) > 1 else lo, lo, hi))
                kernel = (ConstantKernel(start, (lo, hi))
                          * Matern(length_scale=np.full(d, 0.3), length_scale_bounds=(length_scale_low, 10.0), nu=2.5)
                          + WhiteKernel(noise_level=max(noise_bounds[0], 1e-4), noise_level_bounds=noise_bounds))
                gp = GaussianProcessRegressor(kernel=kernel, normalize_y=False, noise="gaussian",
                                              n_restarts_optimizer=gp_restarts, random_state=self.seed % (2**31))
            with one_thread():
                gp.fit(self.u, self.y - self.offset)
        self.model = gp

    @property
    def noise_std(self) -> float:
        """Fitted measurement noise [score units]."""
        return float(np.sqrt(float(self.model.noise_ or 0.0)) * self._y_scale())

    def _y_scale(self) -> float:
        return float(getattr(self.model, "_y_train_std", 1.0)) if self.model.normalize_y else 1.0

    def posterior(self, u: np.ndarray) -> acq.Posterior:
        """Posterior of the latent score (noise-free) at rows ``u``."""
        mean, std = self.predict_unit(u)
        return acq.Posterior.gaussian(mean, std, self.noise_std)

    def loo_log_density(self) -> float:
        """Sum over the training rows of the leave-one-out log predictive density of each target [log of 1/units of
        ``y``], hyper-parameters fixed at the fit (closed form: Rasmussen & Williams 2006, eqs. 5.10–5.12)."""
        from scipy.linalg import cho_solve

        chol = np.asarray(self.model.L_, float)
        k_inv = cho_solve((chol, True), np.eye(len(chol)))
        alpha = k_inv @ np.asarray(self.model.y_train_, float).ravel()
        d = np.diag(k_inv)
        var = (1.0 / d) * self._y_scale() ** 2
        resid = (alpha / d) * self._y_scale()
        return float(np.sum(-0.5 * np.log(2.0 * np.pi * var) - 0.5 * resid**2 / var))

    def predict_unit(self, u: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        u = np.atleast_2d(np.asarray(u, float))
        with one_thread():
            mean, std = self.model.predict(u, return_std=True)
        return np.asarray(mean, float) + self.offset, np.asarray(std, float)

    def condition(self, u: np.ndarray, y: np.ndarray) -> GPSurrogate:
        """This GP told ``y`` at ``u`` as well, kernel frozen (the constant liar)."""
        u = np.asarray(u, float).reshape(-1, self.u.shape[1])
        return GPSurrogate(np.vstack([self.u, u]), np.concatenate([self.y, np.asarray(y, float)]), seed=self.seed,
                           frozen=self)


_IGNORED = 1e5
"""A length scale that makes a Matérn kernel flat along a dimension of the unit cube (the dimension is ignored)."""


def context_kernel(n_recipe: int, n_context: int) -> Any:
    """The kernel of a GP on ``[recipe, context]`` rows: ``a₁ k(recipe) + a₂ k(context) + a₃ k(recipe, context)``.

    A single Matérn over all columns (a product over dimensions) says that the score in another chamber state is
    another function: a run made 40 h after a vent then tells almost nothing about the recipes right after the next
    one, and 30 runs cannot cover 8 recipe dimensions in every state. Here most of what a run says about the recipe
    carries over between states (the first term), the state shifts the score as a whole (the second: wall water
    raises R_int whatever the recipe), and how the state moves the optimum is the third term, whose amplitude is
    fitted (it shrinks when the runs do not show such an interaction). Each term is skopt's Matérn 5/2 with its
    amplitude and length-scale bounds; a term ignores the other columns by a fixed, flat length scale. skopt's
    kernel classes, so that its GP finds the fitted noise term and answers the latent (noise-free) score.

    Three amplitudes and ``2 (n_recipe + n_context)`` free length scales are many hyper-parameters for a few dozen
    runs: fitted by maximum likelihood, most length scales of a term go to the bound (the term ignores that column)
    and the few left decide what the GP says about a state the runs barely cover. ``gp``
    (:mod:`campaigns.strategies`) therefore fits them maximum a posteriori by default (``length_scale_prior``; the
    pinned length scales get no prior).
    """
    def matern(free: list[bool]) -> Any:
        return SkMatern(length_scale=[1.0 if f else _IGNORED for f in free],
                        length_scale_bounds=[(0.01, 100.0) if f else (_IGNORED, _IGNORED) for f in free], nu=2.5)

    def amp() -> Any:
        return SkConstantKernel(1.0, (0.01, 1000.0))

    recipe, ctx = [True] * n_recipe, [True] * n_context
    return (amp() * matern(recipe + [False] * n_context) + amp() * matern([False] * n_recipe + ctx)
            + amp() * matern(recipe + ctx))


def _frozen_kernel_gp(model: GaussianProcessRegressor) -> GaussianProcessRegressor:
    """A GP with ``model``'s fitted kernel hyper-parameters frozen (no optimiser), noise included."""
    kernel = model.kernel_.clone_with_theta(model.kernel_.theta)
    for key, value in kernel.get_params().items():
        if isinstance(value, WhiteKernel):
            kernel.set_params(**{key: WhiteKernel(noise_level=float(model.noise_ or 1e-10),
                                                  noise_level_bounds="fixed")})
    return GaussianProcessRegressor(kernel=kernel, optimizer=None, normalize_y=model.normalize_y, noise="gaussian",
                                    n_restarts_optimizer=0)


def fit_gp(u: np.ndarray, y: Sequence[float], *, seed: int, gp_restarts: int = 1,
           amplitude_bounds: tuple[float, float] | None = None,
           noise_bounds: tuple[float, float] = (1e-6, 1.0), length_scale_low: float = 0.05,
           context_dims: int = 0, length_scale_prior: bool = False) -> GPSurrogate:
    """Fit skopt's GP (see :class:`GPSurrogate`; the last ``context_dims`` columns are context:
    :func:`context_kernel`); ``length_scale_prior``: maximum a posteriori under the Gamma prior of
    :mod:`campaigns._gp_prior` instead of maximum likelihood (skopt's kernel and the contextual one; not with
    ``amplitude_bounds``)."""
    return GPSurrogate(u, y, seed=seed, gp_restarts=gp_restarts, amplitude_bounds=amplitude_bounds,
                       noise_bounds=noise_bounds, length_scale_low=length_scale_low, context_dims=context_dims,
                       length_scale_prior=length_scale_prior)


def _correlation(model: GaussianProcessRegressor) -> Any:
    """The fitted Matérn part of a GP's kernel, without its amplitude: a correlation in [0, 1]."""
    for value in model.kernel_.get_params().values():
        if isinstance(value, Matern):
            return value
    raise ValueError(f"no Matern kernel in {model.kernel_}")


class KernelFailureModel:
    """P(failure) ``(a + Σ k(x, f)) / (a + b + Σ k(x, f) + Σ k(x, s))`` over failed runs ``f`` and successful runs
    ``s``, with ``k`` a Matérn correlation whose length scales are fitted (skopt's GP on the 0/1 labels), and a prior
    worth one run at the smoothed failure rate ``(n_f + 1) / (n + 2)``."""

    def __init__(self, u_ok: np.ndarray, u_failed: np.ndarray, *, seed: int, gp_restarts: int = 1) -> None:
        self.u_ok, self.u_failed = np.asarray(u_ok, float), np.asarray(u_failed, float)
        x = np.vstack([self.u_ok, self.u_failed])
        labels = [0.0] * len(self.u_ok) + [1.0] * len(self.u_failed)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            gp = cook_estimator("GP", space=Space([Real(0.0, 1.0)] * x.shape[1]), random_state=seed % (2**31),
                                noise="gaussian", n_restarts_optimizer=gp_restarts)
            with one_thread():
                gp.fit(x, labels)
        self.corr = _correlation(gp)
        self.rate = (len(self.u_failed) + 1) / (len(self.u_failed) + len(self.u_ok) + 2)

    def probability(self, u: np.ndarray) -> np.ndarray:
        u = np.atleast_2d(np.asarray(u, float))
        wf = self.corr(u, self.u_failed).sum(axis=1)
        ws = self.corr(u, self.u_ok).sum(axis=1)
        return (self.rate + wf) / (1.0 + wf + ws)


class GPModel:
    """One fit of skopt's GP to the observations of a space, with the shared acquisition layer on top."""

    def __init__(self, space: SearchSpace, points: Sequence[Sequence[Any]], scores: Sequence[float], *,
                 seed: int, acq_func: str = "EI", xi: float = 0.01, kappa: float = 1.96,
                 acq_optimizer: str = "auto", n_points: int = 10000, n_restarts_optimizer: int = 5,
                 gp_restarts: int = 1, failed: Sequence[Sequence[Any]] = (), context: np.ndarray | None = None,
                 failed_context: np.ndarray | None = None, context_now: np.ndarray | None = None,
                 context_of: Any = None, length_scale_prior: bool = False) -> None:
        self.space = space
        self.seed = int(seed)
        self.failed = [list(p) for p in failed]
        if self.failed and acq_func not in CONSTRAINED_ACQ_FUNCS:
            raise ValueError(f"failed runs modelled apart need acq_func in {CONSTRAINED_ACQ_FUNCS}, not {acq_func!r}")
        self.acq_func, self.xi, self.kappa = acq_func, float(xi), float(kappa)
        self.n_points, self.n_restarts = int(n_points), int(n_restarts_optimizer)
        self.polish = acq_optimizer != "sampling"
        self.points = [list(p) for p in points]
        self.scores = [float(s) for s in scores]
        self.cats = categories_of(space)
        # context columns (campaigns.context_model) beside the recipe's: the GP models f(recipe, context) and is
        # searched and answered at the current context only
        self.contextual = context is not None and context_now is not None and np.size(context_now) > 0
        u_ok, u_failed = self.unit(self.points), self.unit(self.failed)
        if self.contextual:
            c = np.size(context_now)
            u_ok = np.hstack([u_ok, np.asarray(context, float).reshape(len(u_ok), c)])
            u_failed = np.hstack([u_failed, np.asarray(failed_context, float).reshape(len(u_failed), c)])
        self.surrogate = fit_gp(u_ok, self.scores, seed=self.seed, gp_restarts=gp_restarts,
                                context_dims=int(np.size(context_now)) if self.contextual else 0,
                                length_scale_prior=length_scale_prior)
        self.model = self.surrogate.model
        self.failure = (KernelFailureModel(u_ok, u_failed, seed=self.seed, gp_restarts=gp_restarts)
                        if self.failed else None)
        self.search: acq.Surrogate = self.surrogate
        self.search_failure: Any = self.failure
        if self.contextual:
            from campaigns.context_model import ContextSlice, FailureSlice

            # context_of: the context columns of recipe rows, where a column depends on the recipe as well
            # (campaigns.context_model.VacuumTime); else the current context's columns for every recipe
            self.search = ContextSlice(self.surrogate, np.asarray(context_now, float), context_of)
            self.search_failure = (FailureSlice(self.failure, context_now, context_of) if self.failure is not None
                                   else None)

    @property
    def y_best(self) -> float:
        """The score EI improves on: the best score told; with a context, the best posterior mean among the recipes
        run, in the current context (a run's score belongs to the context it ran in)."""
        if not self.contextual:
            return min(self.scores)
        return float(np.min(self.search.posterior(self.unit(self.points)).mean))

    def unit(self, points: Sequence[Sequence[Any]]) -> np.ndarray:
        if not len(points):
            return np.zeros((0, len(self.space)))
        return self.space.unit_cube([list(p) for p in points])

    def acquisition(self, kind: str | None = None) -> acq.Acquisition:
        kind = kind or self.acq_func
        return acq.Acquisition(kind, self.xi, self.kappa,
                               self.search_failure if kind in CONSTRAINED_ACQ_FUNCS else None)

    def _choose(self, rng: np.random.Generator):
        def choose(gain):
            return acq.maximise(gain, len(self.space), rng, n_points=self.n_points, n_restarts=self.n_restarts,
                                n_categories=self.cats, polish=self.polish)
        return choose

    def ask(self, n: int, pending: Sequence[Sequence[Any]] = ()) -> list[list[Any]]:
        """``n`` new points by the constant liar over the shared acquisition optimiser; ``gp_hedge`` chooses among
        EI, PI and LCB nominees by a softmax of their posterior means (Hoffman, Brochu & de Freitas, UAI 2011; here
        without memory across proposals, so that the proposals depend on the observations only)."""
        rng = np.random.default_rng([self.seed % (2**32), 7])
        y_best = self.y_best
        pend = self.unit(pending) if len(pending) else None
        if self.acq_func != "gp_hedge":
            u = acq.propose_batch(self.search, n, self.acquisition(), y_best, self._choose(rng), pending=pend)
        else:
            u = self._hedge(n, y_best, pend, rng)
        return self.space.from_unit_cube(u)

    def _hedge(self, n: int, y_best: float, pend: np.ndarray | None, rng: np.random.Generator) -> np.ndarray:
        model: acq.Surrogate = self.search
        if pend is not None:
            model = model.condition(pend, np.full(len(pend), y_best))
        out = []
        for i in range(n):
            nominees = np.vstack([self._choose(rng)(lambda u, m=model, k=k: self.acquisition(k)(m, u, y_best))
                                  for k in ("EI", "PI", "LCB")])
            mu = model.posterior(nominees).mean
            logits = -(mu - mu.min()) / max(float(np.std(self.scores)), 1e-9)
            p = np.exp(logits) / np.exp(logits).sum()
            out.append(nominees[int(rng.choice(3, p=p))])
            if i < n - 1:
                model = model.condition(out[-1][None, :], np.array([y_best]))
        return np.vstack(out)

    def failure_probability(self, points: Sequence[Sequence[Any]]) -> np.ndarray:
        """P(failure) at ``points`` [0–1]; with no failed run yet, the smoothed rate ``1 / (n + 2)`` everywhere (the
        acquisition then ignores it)."""
        if self.search_failure is None:
            return np.full(len(points), 1.0 / (len(self.points) + 2))
        return self.search_failure.probability(self.unit(points))

    def predict(self, points: Sequence[Sequence[Any]]) -> tuple[np.ndarray, np.ndarray]:
        """Posterior mean and standard deviation of the latent score at ``points`` (noise-free; in the current
        context when the model has one)."""
        if self.contextual:
            post = self.search.posterior(self.unit(points))
            return post.mean, post.std
        return self.surrogate.predict_unit(self.unit(points))

    def predictive(self, points: Sequence[Sequence[Any]]) -> tuple[np.ndarray, np.ndarray]:
        """Mean and standard deviation of a new *measurement* at ``points``: the latent posterior and the fitted
        noise (the model's own word, before :mod:`campaigns.intervals` calibrates it)."""
        mean, std = self.predict(points)
        return mean, np.sqrt(std**2 + self.surrogate.noise_std**2)

    def expected_improvement(self, points: Sequence[Sequence[Any]], xi: float = 0.01) -> np.ndarray:
        """Expected improvement [score units] over the best observed score at ``points``."""
        return acq.expected_improvement(self.search.posterior(self.unit(points)), self.y_best, xi)
