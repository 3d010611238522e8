"""Calibration inside the loop: an ensemble of calibrated twins plus a humble discrepancy, as one surrogate.

Model of the campaign score ``y`` at recipe ``x`` (Kennedy & O'Hagan, *J. R. Stat. Soc. B* 63, 425 (2001))::

    y(x) = m_θ(x) + c + δ(x) + ε,   θ ~ prior over the identifiable twin parameters,
                                     c ~ N(0, b²) a constant offset,  δ ~ GP(0, a²·Matérn),  ε ~ N(0, σ²)

* **Which parameters** (:func:`select_parameters`): every numeric model parameter of the chamber with a positive
  value is a candidate; each is moved to the ends of its prior range (the default ×/÷ ``PRIOR_FACTOR``, within its
  documented range) and the twin's score is compared over a space-filling design of the campaign's space. What
  counts is the *shape* of the change (its spread over the space after removing its mean, which the offset ``c``
  absorbs): a parameter that only shifts every recipe alike cannot move the optimum. Parameters are taken in order
  of that spread, skipping one whose change is nearly collinear (|r| > 0.9) with one already taken (the data could
  not tell them apart), up to ``max_parameters``; those whose spread is below the measurement noise are left out.
* **The posterior over θ** (:class:`TwinPosterior`): importance sampling, vectorised. A scrambled Sobol sample of
  the prior (log-normal around the chamber's values, truncated to the documented ranges), then a second sample from a
  Gaussian fitted to the first one's weights (twice its covariance), both weighted by the balance heuristic. Each
  sample's likelihood is the Gaussian marginal likelihood of its residuals ``y − m_θ(x)`` under ``c + δ + ε``: one
  Cholesky factor serves every sample. The fit is therefore global (no local optimiser starting at the default can
  get stuck there), and its uncertainty is the sample's spread, not a local curvature.
* **A discrepancy that stays humble**: the amplitude ``a`` of ``δ`` is bounded below by ``DISCREPANCY_FLOOR`` times
  the twin's own spread of scores over the space, not normalised by the spread of the runs (a few clustered runs
  would make it near-certain that reality = twin + a constant, and EI would die where no run has looked).
  Length scales and noise are fitted (skopt's GP on the residuals of the best parameter set) once three runs
  succeeded; before, ``a`` starts at twice the floor, length scales 0.3 of the unit cube, and σ is the chamber's
  measurement noise.
* **Prediction**: the posterior is resampled to at most ``n_members`` twins; each gives a Gaussian (its twin plus
  the GP posterior of its residuals), so the surrogate is a mixture (:class:`campaigns.acquisition.Posterior`):
  where the calibrated twins disagree, the mixture is wide and EI looks there.
* **Structural error**: the best parameter set's reduced χ² against the measurement noise (twin plus offset, no
  discrepancy). A high value with enough runs to judge (p < 0.001 and χ²/dof > 3) is reported as ``structural``:
  no parameter set explains the runs. The strategy then leans on its model averaging with plain ``gp``
  (:mod:`campaigns.twin_prior`), never pins the search to the twin.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from scipy.linalg import cho_factor, cho_solve
from scipy.stats import chi2, norm, qmc

from campaigns import acquisition as acq
from campaigns.twin_eval import TwinEvaluator
from twin import Chamber

CALIBRATED_SECTIONS = ("deposition", "energetics", "contamination", "film", "interface", "defects", "events")
"""Chamber sections whose numbers are model parameters (geometry, limits, vacuum, state, noise describe the tool)."""
PRIOR_FACTOR = 3.0
"""Prior standard deviation of an assumed ([A]) parameter, as a factor on its value (log-normal; an assumption of
ours: such numbers are rarely known better than ×/÷ 3)."""
PRIOR_TRUNCATION = 3.5
"""The prior is truncated at this many standard deviations (×/÷ 47 for an assumed parameter), and at the documented
range: a tool far from the twin's values must stay reachable by the fit."""
SOURCE_FACTORS = {"[C]": 1.25, "[C2]": 1.5, "[M]": 2.0, "[A]": PRIOR_FACTOR}
"""Prior factor by the parameter's source tag (FACTS.md): a number read in its source is trusted most."""
ENERGY_FACTOR = 1.3
"""Prior factor of an energy [eV] (activation, binding, threshold energies enter exponents: ×3 on an activation
energy would be unphysical; an assumption)."""
DISCREPANCY_FLOOR = 0.3
"""Lower bound of the discrepancy's standard deviation as a share of the twin's spread of scores over the space."""
OFFSET_STD_FACTOR = 1.0
"""Prior standard deviation of the constant offset ``c`` as a share of the twin's spread of scores over the space."""


@dataclass(frozen=True)
class ParameterPrior:
    """A fitted parameter: its dotted name, the chamber's value, and the log-space prior (mean, std, bounds)."""

    name: str
    value: float
    log_low: float
    log_high: float
    log_std: float = math.log(PRIOR_FACTOR)

    @property
    def log_mean(self) -> float:
        return math.log(self.value)


def candidate_parameters(chamber: Chamber) -> list[ParameterPrior]:
    """Every numeric model parameter with a positive value, with its truncated log-normal prior."""
    out = []
    for d in Chamber.parameter_docs():
        if d["section"] not in CALIBRATED_SECTIONS or not isinstance(d["default"], float):
            continue
        name = f"{d['section']}.{d['name']}"
        value = float(chamber.get(name))
        if not value > 0 or not math.isfinite(value):
            continue
        lo = d["low"] if d["low"] is not None and d["low"] > 0 else 0.0
        hi = d["high"] if d["high"] is not None else math.inf
        source = str(d.get("source") or "[A]")
        factor = next((f for tag, f in SOURCE_FACTORS.items() if source.startswith(tag)), PRIOR_FACTOR)
        if str(d.get("unit", "")).strip() == "eV":
            factor = min(factor, ENERGY_FACTOR)
        log_sd = math.log(factor)
        log_lo = max(math.log(value) - PRIOR_TRUNCATION * log_sd, math.log(lo) if lo > 0 else -math.inf)
        log_hi = min(math.log(value) + PRIOR_TRUNCATION * log_sd, math.log(hi) if hi < math.inf else math.inf)
        if log_hi - log_lo < 1e-6:
            continue
        out.append(ParameterPrior(name, value, log_lo, log_hi, log_sd))
    return out


def shape_sensitivity(evaluator: TwinEvaluator, priors: Sequence[ParameterPrior],
                      design: np.ndarray) -> tuple[dict[str, float], dict[str, np.ndarray]]:
    """Each parameter's *shape* sensitivity over ``design`` [score units] (RMS of the centred change of the score
    between its prior's ±1σ), and those centred changes (to tell collinear parameters apart)."""
    n = len(design)
    names = [p.name for p in priors]
    # every candidate at its prior's ±1σ ends (within the truncation), all in one call of the twin
    rows = np.tile(design, (2 * len(priors), 1))
    params: dict[str, np.ndarray] = {}
    for j, p in enumerate(priors):
        col = np.full(len(rows), p.value)
        col[2 * j * n:(2 * j + 1) * n] = math.exp(max(p.log_mean - p.log_std, p.log_low))
        col[(2 * j + 1) * n:(2 * j + 2) * n] = math.exp(min(p.log_mean + p.log_std, p.log_high))
        params[p.name] = col
    s = evaluator.evaluate(rows, params).score.reshape(2 * len(priors), n)
    base = evaluator.evaluate(design).score
    sens: dict[str, float] = {}
    shapes: dict[str, np.ndarray] = {}
    for j, name in enumerate(names):
        # a parameter value the chamber refuses (a cross-check) or the twin cannot run gives no information
        ok = np.isfinite(base) & np.isfinite(s[2 * j]) & np.isfinite(s[2 * j + 1])
        delta = np.where(ok, s[2 * j + 1] - s[2 * j], 0.0)
        centred = np.where(ok, delta - (delta[ok].mean() if ok.any() else 0.0), 0.0)
        sens[name] = float(np.sqrt(np.mean(centred**2))) if ok.sum() > n // 2 else 0.0
        shapes[name] = centred
    return sens, shapes


def select_parameters(priors: Sequence[ParameterPrior], sens: Mapping[str, float],
                      shapes: Mapping[str, np.ndarray], gains: Mapping[str, float] | None, *,
                      max_parameters: int, noise_std: float, min_gain: float = 2.0) -> list[ParameterPrior]:
    """The parameters to refit: first those the runs call for (profile gain ≥ ``min_gain`` log-likelihood units,
    largest first), then those that move the landscape's shape most (sensitivity above the noise); a parameter whose
    shape change is nearly collinear (|r| > 0.9) with one already taken is skipped; at most ``max_parameters``."""
    gains = gains or {}
    by_name = {p.name: p for p in priors}
    wanted = [k for k in sorted(gains, key=lambda k: -gains[k]) if gains[k] >= min_gain and k in by_name]
    wanted += [k for k in sorted(sens, key=lambda k: -sens[k]) if sens[k] >= noise_std and k in by_name]
    chosen: list[ParameterPrior] = []
    for name in wanted:
        if len(chosen) >= max_parameters:
            break
        if any(c.name == name for c in chosen):
            continue
        v = shapes[name]
        if any(np.std(v) > 0 and np.std(shapes[c.name]) > 0 and abs(np.corrcoef(v, shapes[c.name])[0, 1]) > 0.9
               for c in chosen):
            continue
        chosen.append(by_name[name])
    return chosen


def profile_rows(priors: Sequence[ParameterPrior], u: np.ndarray, n_grid: int) -> tuple[np.ndarray,
                                                                                          dict[str, np.ndarray]]:
    """Rows and parameter columns of a one-at-a-time profile: every parameter at ``n_grid`` values spread over its
    prior's truncation range (log scale), the others at the chamber's values, at every row of ``u``; parameter-major,
    then value, then row (reshape the twin's answer to ``(len(priors), n_grid, len(u))``)."""
    n, k = len(u), len(priors)
    grid = np.linspace(0.0, 1.0, n_grid)
    rows = np.tile(u, (k * n_grid, 1))
    params: dict[str, np.ndarray] = {}
    for j, p in enumerate(priors):
        col = np.full(len(rows), p.value)
        vals = np.exp(p.log_low + grid * (p.log_high - p.log_low))
        col[j * n_grid * n:(j + 1) * n_grid * n] = np.repeat(vals, n)
        params[p.name] = col
    return rows, params


def profile_gain(evaluator: TwinEvaluator, priors: Sequence[ParameterPrior], u: np.ndarray, y: np.ndarray,
                 state: Mapping[str, np.ndarray] | None, noise_std: float, n_grid: int = 9) -> dict[str, float]:
    """Profile log-likelihood gain of each parameter alone: the best of ``n_grid`` values over its prior's
    truncation range against the chamber's value, the twin plus a free offset against the runs, noise
    ``noise_std`` (no discrepancy). A parameter the runs call for (a mismatch it can express) gains much; one they
    cannot see gains nothing. All parameters and values in one call of the twin."""
    n, k = len(y), len(priors)
    if n < 2 or k == 0:
        return {p.name: 0.0 for p in priors}
    rows, params = profile_rows(priors, u, n_grid)
    st = {key: np.tile(np.asarray(v, float), k * n_grid) for key, v in (state or {}).items()}
    m = evaluator.evaluate(rows, params, st).score.reshape(k, n_grid, n)
    base = evaluator.evaluate(u, None, state).score
    def sse(pred: np.ndarray) -> np.ndarray:
        finite = np.all(np.isfinite(pred), axis=-1)
        r = y - np.where(np.isfinite(pred), pred, 0.0)
        r = r - r.mean(axis=-1, keepdims=True)
        return np.where(finite, np.sum(r**2, axis=-1), np.inf)
    s0 = float(sse(base[None, :])[0])
    best = np.min(sse(m), axis=1)
    return {p.name: float(max(0.5 * (s0 - best[j]) / noise_std**2, 0.0)) for j, p in enumerate(priors)}


@dataclass
class Discrepancy:
    """Hyper-parameters of ``c + δ + ε``: a Matérn kernel ``kernel`` (its amplitude included), noise variance,
    offset variance."""

    kernel: Any
    noise_var: float
    offset_var: float

    def cov(self, a: np.ndarray, b: np.ndarray | None = None) -> np.ndarray:
        k = self.kernel(a) if b is None else self.kernel(a, b)
        return k + self.offset_var

    def diag(self, a: np.ndarray) -> np.ndarray:
        return self.kernel.diag(a) + self.offset_var


@dataclass
class TwinPosterior:
    """Weighted parameter sets ``log_theta`` (S, K) of the twin, given runs ``u`` (n, d) with scores ``y``."""

    priors: list[ParameterPrior]
    log_theta: np.ndarray
    weights: np.ndarray
    residuals: np.ndarray  # (n, S) y − m_θ(x) at the runs
    disc: Discrepancy
    diagnostics: dict[str, Any] = field(default_factory=dict)

    def params(self, idx: Sequence[int] | np.ndarray) -> dict[str, np.ndarray]:
        return {p.name: np.exp(self.log_theta[idx, k]) for k, p in enumerate(self.priors)}

    @property
    def best(self) -> int:
        return int(np.argmax(self.weights))


def _prior_logpdf(priors: Sequence[ParameterPrior], z: np.ndarray) -> np.ndarray:
    out = np.zeros(len(z))
    for k, p in enumerate(priors):
        out += norm.logpdf(z[:, k], p.log_mean, p.log_std)
    return out


def _sample_prior(priors: Sequence[ParameterPrior], n: int, seed: int) -> np.ndarray:
    """A scrambled Sobol sample of the truncated log-normal prior (the chamber's values as the first row)."""
    k = len(priors)
    if k == 0:
        return np.zeros((1, 0))
    q = qmc.Sobol(k, scramble=True, seed=seed).random_base2(int(math.ceil(math.log2(max(n, 2)))))[:n]
    out = np.empty((n + 1, k))
    for j, p in enumerate(priors):
        a = norm.cdf((p.log_low - p.log_mean) / p.log_std)
        b = norm.cdf((p.log_high - p.log_mean) / p.log_std)
        out[1:, j] = p.log_mean + p.log_std * norm.ppf(a + q[:, j] * (b - a))
        out[0, j] = p.log_mean
    return out


def _loglik(resid: np.ndarray, chol: Any) -> np.ndarray:
    """Gaussian log-likelihood (up to a constant) of each column of ``resid`` under the covariance whose Cholesky
    factor is ``chol``."""
    return -0.5 * np.sum(resid * cho_solve(chol, resid), axis=0)


ADAPTIVE_STAGES = 6
"""Stages of adaptive importance sampling after the prior sample (each from a Gaussian fitted to the weights so far)."""


def fit_posterior(evaluator: TwinEvaluator, priors: list[ParameterPrior], u: np.ndarray, y: np.ndarray,
                  state: Mapping[str, np.ndarray] | None, disc: Discrepancy, *, n_samples: int, seed: int,
                  noise_std: float) -> TwinPosterior:
    """Importance-sampled posterior of the parameters: a Sobol sample of the prior, then
    :data:`ADAPTIVE_STAGES` stages each drawn from a Gaussian fitted to the weighted sample so far (covariance ×2,
    population Monte Carlo, Cappé et al., *J. Comput. Graph. Stat.* 13, 907 (2004)); every sample is weighted by the
    balance heuristic over all the proposals (Veach & Guibas 1995), so no stage can bias the result."""
    from scipy.stats import multivariate_normal

    n = len(y)
    k = len(priors)
    cov = disc.cov(u) + disc.noise_var * np.eye(n)
    cov = cho_factor(cov + 1e-10 * np.eye(n), lower=True)  # one factor serves every sample

    def residuals(z: np.ndarray) -> np.ndarray:
        if len(z) == 0:
            return np.zeros((n, 0))
        rows = np.repeat(u, len(z), axis=0)  # run-major: run i, then every sample
        params = {p.name: np.tile(np.exp(z[:, j]), n) for j, p in enumerate(priors)}
        st = {key: np.repeat(np.asarray(v, float), len(z)) for key, v in (state or {}).items()}
        m = evaluator.evaluate(rows, params, st).score.reshape(n, len(z))
        return y[:, None] - np.where(np.isfinite(m), m, 1e3)

    z = _sample_prior(priors, n_samples, seed)
    r = residuals(z)
    ll = _loglik(r, cov)
    if k == 0:
        w = np.ones(1)
        return TwinPosterior(priors, z, w, r, disc, _diag(priors, z, w, r, y, noise_std, k))
    lp = _prior_logpdf(priors, z)
    lows = np.array([p.log_low for p in priors])
    highs = np.array([p.log_high for p in priors])
    proposals: list[tuple[int, Any]] = [(len(z), None)]  # (count, Gaussian or None for the prior)
    rng = np.random.default_rng(seed + 1)
    w = _weights(ll, lp, z, proposals)
    for _ in range(ADAPTIVE_STAGES):
        mu = w @ z
        c = np.cov(z.T, aweights=w + 1e-12).reshape(k, k) * 2.0 + np.diag([(0.02 * p.log_std) ** 2 for p in priors])
        g = multivariate_normal(mu, c, allow_singular=True)
        zn = rng.multivariate_normal(mu, c, size=max(n_samples // 2, 8))
        zn = zn[np.all((zn >= lows) & (zn <= highs), axis=1)]
        if not len(zn):
            continue
        proposals.append((len(zn), g))
        rn = residuals(zn)
        z, r = np.vstack([z, zn]), np.hstack([r, rn])
        ll = np.concatenate([ll, _loglik(rn, cov)])
        lp = np.concatenate([lp, _prior_logpdf(priors, zn)])
        w = _weights(ll, lp, z, proposals)
    return TwinPosterior(priors, z, w, r, disc, _diag(priors, z, w, r, y, noise_std, k))


def _weights(ll: np.ndarray, lp: np.ndarray, z: np.ndarray, proposals: list[tuple[int, Any]]) -> np.ndarray:
    """Balance-heuristic importance weights: target ``prior × likelihood`` over the count-weighted mixture of every
    proposal used (the truncated prior's normalising constant is common to all samples and cancels)."""
    total = sum(cnt for cnt, _ in proposals)
    terms = [np.log(cnt) + (lp if g is None else g.logpdf(z)) for cnt, g in proposals]
    lmix = np.logaddexp.reduce(np.vstack(terms), axis=0) - np.log(total)
    logw = ll + lp - lmix
    w = np.exp(logw - logw.max())
    return w / w.sum()


def _diag(priors: Sequence[ParameterPrior], z: np.ndarray, w: np.ndarray, r: np.ndarray, y: np.ndarray,
          noise_std: float, k: int) -> dict[str, Any]:
    centred = r - r.mean(axis=0, keepdims=True)
    best = int(np.argmin(np.sum(centred**2, axis=0)))  # the twin + offset that fits best (no discrepancy)
    res = centred[:, best]
    n = len(y)
    dof = n - k - 1
    chi = float(np.sum(res**2) / noise_std**2)
    red = chi / dof if dof > 0 else math.nan
    p = float(chi2.sf(chi, dof)) if dof > 0 else math.nan
    fitted = {}
    for j, prior in enumerate(priors):
        order = np.argsort(z[:, j])
        cdf = np.cumsum(w[order])
        lo = float(np.exp(z[order[min(np.searchsorted(cdf, 0.025), len(cdf) - 1)], j]))
        hi = float(np.exp(z[order[min(np.searchsorted(cdf, 0.975), len(cdf) - 1)], j]))
        fitted[prior.name] = {"value": float(np.exp(z[int(np.argmax(w)), j])), "mean": float(np.exp(w @ z[:, j])),
                              "low95": lo, "high95": hi, "prior": prior.value}
    return {"parameters": fitted, "n_runs": n, "reduced_chi2": red, "chi2_p": p,
            "structural": bool(dof >= 3 and p < 1e-3 and red > 3.0), "ess": float(1.0 / np.sum(w**2)),
            "n_samples": len(w)}


class EnsembleSurrogate:
    """The calibrated-twin mixture at unit-cube rows (a :class:`campaigns.acquisition.Surrogate`)."""

    def __init__(self, evaluator: TwinEvaluator, post: TwinPosterior, u: np.ndarray, y: np.ndarray, *,
                 n_members: int, seed: int, state_now: Mapping[str, float] | None = None,
                 members: np.ndarray | None = None, member_w: np.ndarray | None = None) -> None:
        self.evaluator, self.post, self.u, self.y = evaluator, post, np.asarray(u, float), np.asarray(y, float)
        self.n_members, self.seed, self.state_now = n_members, seed, dict(state_now or {})
        if members is None:
            members, member_w = _resample(post.weights, n_members, seed)
        self.members, self.member_w = members, member_w
        self.resid = post.residuals[:, members] if len(post.residuals) else np.zeros((0, len(members)))
        n = len(self.y)
        d = post.disc
        self._chol = cho_factor(d.cov(self.u) + (d.noise_var + 1e-10) * np.eye(n), lower=True) if n else None
        self._alpha = cho_solve(self._chol, self.resid) if n else None
        self.noise_std = math.sqrt(d.noise_var)

    def twin(self, u: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Each member's twin score and P(failure) at ``u``: arrays (P, N) (the last call's kept: the acquisition
        asks the posterior and the failure model at the same rows)."""
        key = (u.shape, u.tobytes())
        if getattr(self, "_last", None) is not None and self._last[0] == key:
            return self._last[1]
        out = self._twin(u)
        self._last = (key, out)
        return out

    def _twin(self, u: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        p, nu = len(self.members), len(u)
        rows = np.tile(u, (p, 1))
        params = {k: np.repeat(v, nu) for k, v in self.post.params(self.members).items()}
        state = {k: np.full(len(rows), v) for k, v in self.state_now.items()}
        t = self.evaluator.evaluate(rows, params, state)
        return t.score.reshape(p, nu), t.p_fail.reshape(p, nu)

    def posterior(self, u: np.ndarray) -> acq.Posterior:
        u = np.atleast_2d(np.asarray(u, float))
        m, _ = self.twin(u)
        m = np.where(np.isfinite(m), m, np.nanmax(np.where(np.isfinite(m), m, np.nan)) + 1.0
                     if np.isfinite(m).any() else 10.0)
        d = self.post.disc
        prior_var = d.diag(u)
        if self._chol is None:
            return acq.Posterior(self.member_w, m, np.tile(np.sqrt(prior_var), (len(m), 1)), self.noise_std)
        kux = d.cov(u, self.u)
        mean = m + (kux @ self._alpha).T
        v = cho_solve(self._chol, kux.T)
        var = np.maximum(prior_var - np.sum(kux * v.T, axis=1), 1e-12)
        return acq.Posterior(self.member_w, mean, np.tile(np.sqrt(var), (len(m), 1)), self.noise_std)

    def failure(self, u: np.ndarray) -> np.ndarray:
        """The members' weighted chance that a run at ``u`` fails by the campaign's rules [0–1]."""
        _, pf = self.twin(np.atleast_2d(u))
        return self.member_w @ pf

    def condition(self, u: np.ndarray, y: np.ndarray) -> EnsembleSurrogate:
        """Told ``y`` at ``u`` (the constant liar): each member's residual there, member weights unchanged."""
        u = np.asarray(u, float).reshape(-1, self.u.shape[1])
        m, _ = self.twin(u)
        extra = np.asarray(y, float)[None, :] - m  # (P, n_new)
        resid = np.full((len(self.y) + len(u), self.post.residuals.shape[1]), np.nan)
        resid[:len(self.y)] = self.post.residuals
        resid[len(self.y):, self.members] = extra.T
        post = TwinPosterior(self.post.priors, self.post.log_theta, self.post.weights, resid, self.post.disc,
                             self.post.diagnostics)
        return EnsembleSurrogate(self.evaluator, post, np.vstack([self.u, u]), np.concatenate([self.y, y]),
                                 n_members=self.n_members, seed=self.seed, state_now=self.state_now,
                                 members=self.members, member_w=self.member_w)


def _resample(weights: np.ndarray, n: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Systematic resampling to at most ``n`` distinct members, weighted by how often each was drawn."""
    rng = np.random.default_rng(seed)
    pos = (rng.random() + np.arange(n)) / n
    idx = np.searchsorted(np.cumsum(weights), pos)
    idx = np.minimum(idx, len(weights) - 1)
    members, counts = np.unique(idx, return_counts=True)
    return members, counts / counts.sum()
