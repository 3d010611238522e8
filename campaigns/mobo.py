"""Strategy ``mobo``: multi-objective Bayesian optimisation by expected hypervolume improvement under constraints.

* **Surrogates**: one skopt GP per goal, fitted to the goal's scores (every goal minimised, log10 where logged, see
  :mod:`campaigns.objectives`) on the campaign's unit cube (:class:`campaigns._skopt.GPSurrogate`); one GP per
  outcome constraint's slack (≤ 0 feasible), giving ``P(constraint) = Φ(−μ/σ)``; failed runs (shorted cells,
  broken hard rules, tool failures, rejected recipes) stay out of these GPs and are modelled apart by ``gp``'s
  kernel failure model (:class:`campaigns._skopt.KernelFailureModel`), which gives P(success).
* **Acquisition**: exact expected hypervolume improvement, weighted by ``P(constraints) · P(success)``, with no
  proposal the model rates more likely infeasible than feasible (:mod:`campaigns.acquisition_mo`), maximised by the
  shared optimiser; batches by the shared constant liar, lying with the posterior means (kriging believer).
* **Why EHVI and not ParEGO**: EHVI is exact here for any number of goals (a box decomposition of the undominated
  region and a product of 1-D closed forms; no Monte Carlo), it scores a candidate against the whole front at once,
  and it needs no scalarisation weights drawn at random, which would make the proposals depend on one random
  weight vector per step rather than on the data. ParEGO (random Chebyshev scalarisations with EI, Knowles 2006)
  fits one GP to a scalarised score that changes every step and loses the per-goal models the dashboard shows as
  the predicted front. ParEGO was not implemented, so the two were not compared by measurement.
* **Reference point**: the campaign's (every ``[[objectives]]`` table gives ``reference``) or else
  :func:`campaigns.pareto.default_reference` of the successful runs' scores (worst + 10 % of the range), recomputed
  as runs arrive (:meth:`MOBOStrategy.diagnostics` says which).
* **Length scales**: maximum a posteriori under a Gamma(3, 6) prior on each (unit cube; :mod:`campaigns._gp_prior`);
  ``length_scale_prior = false`` gives skopt's maximum likelihood. With maximum likelihood, on DTLZ2 (6-D) after
  10–30 runs the four distance variables' length scales sat at skopt's bound of 100: each goal's GP ignored them,
  put their effect into a fitted noise (one seed traced: σ ≈ 0.1–0.17 on a noise-free function), predicted the
  cube's corners as good as its centre, and EHVI sent most proposals to the faces of the cube.
* **Trust region** (``trust_region = true``, :mod:`campaigns.trust_region`): the prior alone did not keep the
  proposals off the faces. With every length scale relevant, the posterior standard deviation is largest far from
  every run — at the faces and corners — and EHVI, a product over goals of gains that grow with it, followed it
  there (DTLZ2, one seed traced: 19 of the proposals of runs 11–33 had half or more of their coordinates on a
  face). The search is therefore confined to boxes around the measured feasible runs whose posterior means are
  non-dominated, of one side length that grows after runs that raised the measured front's hypervolume and
  shrinks after runs that did not (TuRBO's rule, replayed from the runs told, so resume stays exact).
* **Measured** (``benchmarks/pareto.py``, 10 seeds, % of the reference hypervolume after 40 runs, old defaults →
  these; the README's multi-objective section has the table and the commands): DTLZ2 14.5 → 39.3 (random 29.7; after
  60 runs 62.6 → 70.9, random 36.2; after 20 runs still behind random), BraninCurrin 97.5 → 97.6, the example (every
  run started in the vented chamber its truth is scored in) 86.6 → 85.5, random 79.7, qNEHVI 86.6 (ten seeds). With
  the benchmark's ``--carry-over`` the example's runs share one chamber whose walls dry out run after run, so
  measured R_int falls over the campaign and hardly depends on the recipe after a few runs (``benchmarks/
  pareto_drift.py``): no recipe-only model learns the vented chamber's truth from those runs, and the more it
  exploits them the worse it scores (79.2 → 65.2, random 76.8). The defaults are chosen for problems the model can
  learn from its runs (DTLZ2 gains, BraninCurrin holds, the example loses 1.1 points); ``mobo`` has no context model
  (``gp``'s ``context``) yet.
* **Initial design**: ``n_initial`` points of a space-filling design, as ``gp``.
* **Exact resume**: every random choice (GP restarts, the optimiser's candidates) is seeded from
  ``SeedSequence([seed, number of observations])``; proposals depend only on the seed and what was told.

Outcomes are :class:`campaigns.objectives.MultiOutcome`; the objective (``StrategyContext.objective``) a
:class:`campaigns.objectives.MultiObjective`, or anything with ``goals``, ``constraints`` and
``reference_scores()`` (the plain-variable path of :mod:`campaigns.ask_tell`).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
from scipy.stats import qmc

from campaigns import acquisition as acq
from campaigns import acquisition_mo as amo
from campaigns import trust_region as tr
from campaigns.errors import CampaignError
from campaigns.pareto import default_reference, hypervolume, pareto_mask
from campaigns.strategies import Strategy, StrategyContext, _choice, _Observed, _seed, register_strategy, settings_from
from twin import Recipe

MOBO_SETTINGS: dict[str, tuple[Any, Any]] = {
    "n_initial": (int, 10), "initial_design": (str, "lhs"), "n_points": (int, 2000),
    "n_restarts_optimizer": (int, 5), "failure_penalty": (str, "model"), "gp_restarts": (int, 1),
    "length_scale_prior": (bool, True), "trust_region": (bool, True),
}
"""Settings of ``mobo``: name → (type, default). ``n_points``: random candidates per acquisition search (besides
three rounds of local steps around the leaders and a compass polish); ``failure_penalty``: ``model`` (failed runs
modelled apart, P(success) weights the acquisition) or ``drop`` (forgotten); ``length_scale_prior``: the goals' and
constraints' GPs take maximum a posteriori length scales under a Gamma(3, 6) prior (:mod:`campaigns._gp_prior`)
instead of maximum likelihood, which with few runs in several dimensions sent length scales to their upper bound;
``trust_region``: proposals only inside boxes around the front (:mod:`campaigns.trust_region`), instead of anywhere
in the space."""

FRONT_CANDIDATES = 4096
"""Sobol points of the space searched (with the measured runs) for the model's predicted front."""


def _check_objective(ctx: StrategyContext, name: str) -> None:
    if not hasattr(ctx.objective, "goals"):
        raise CampaignError("objectives", "one objective", f"strategy {name!r} needs several objectives",
                            "[[objectives]] tables")


class MOBOStrategy(_Observed):
    """EHVI × P(feasible) over one GP per goal and per outcome constraint; see the module docstring."""

    name = "mobo"

    def __init__(self, ctx: StrategyContext, settings: dict[str, Any]) -> None:
        super().__init__(ctx, settings)
        from campaigns import _skopt

        _check_objective(ctx, self.name)
        _choice(settings, "initial_design", _skopt.INITIAL_DESIGNS)
        _choice(settings, "failure_penalty", ("model", "drop"))
        for key, (lo, hi) in {"n_initial": (1, 1000), "n_points": (100, 1_000_000),
                              "n_restarts_optimizer": (1, 100), "gp_restarts": (0, 20)}.items():
            if not lo <= settings[key] <= hi:
                raise CampaignError(f"strategy.{key}", settings[key], "out of range", f"[{lo}, {hi}]")
        self.objective = ctx.objective
        self.n_goals = len(self.objective.goals)
        self.n_constraints = len(self.objective.constraints)
        self.cats = _skopt.categories_of(self.space)
        self._design: list[list[Any]] | None = None
        self._model: amo.MultiSurrogate | None = None
        self._model_n = -1
        self._ref_source = ""

    # -- observations ------------------------------------------------------------------------------------------------
    def _observed(self) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """Unit-cube rows, scores (n, m), slacks (n, c) and measured feasibility of the successful runs; rows of the
        failed ones."""
        d = len(self.space)
        ok = [(p, o) for p, o in zip(self.points, self.outcomes, strict=True)
              if not o.failed and o.scores is not None]
        bad = [p for p, o in zip(self.points, self.outcomes, strict=True) if o.failed or o.scores is None]
        u = self.space.unit_cube([p for p, _ in ok]) if ok else np.zeros((0, d))
        y = np.array([o.scores for _, o in ok], float).reshape(-1, self.n_goals)
        s = (np.array([o.slacks for _, o in ok], float).reshape(len(ok), self.n_constraints) if self.n_constraints
             else np.zeros((len(ok), 0)))
        feas = np.all(s <= 0.0, axis=1) if self.n_constraints else np.ones(len(ok), bool)
        uf = self.space.unit_cube(bad) if bad else np.zeros((0, d))
        return u, y, _finite_slacks(s), feas, uf

    def reference(self, y: np.ndarray | None = None) -> np.ndarray | None:
        """The reference point [score units]: the campaign's, else the default of the successful runs' scores
        (None before any)."""
        ref = self.objective.reference_scores()
        if ref is not None:
            self._ref_source = "campaign"
            return np.asarray(ref, float)
        y = self._observed()[1] if y is None else y
        if not len(y):
            return None
        self._ref_source = "default: worst observed score + 10 % of the range"
        return default_reference(y)

    # -- the model ---------------------------------------------------------------------------------------------------
    def model(self) -> amo.MultiSurrogate | None:
        """The surrogates fitted to the runs told so far (None while fewer than two runs succeeded)."""
        if self._model_n != len(self.points):
            self._model_n = len(self.points)
            u, y, s, feas, uf = self._observed()
            self._model = None if len(y) < 2 else self._fit(u, y, s, feas, uf)
        return self._model

    def _fit(self, u: np.ndarray, y: np.ndarray, s: np.ndarray, feas: np.ndarray,
             uf: np.ndarray) -> amo.MultiSurrogate:
        from campaigns import _skopt

        seed = _seed(self.seed, len(self.points), 17)
        restarts = self.settings["gp_restarts"]
        goals = [self._goal_surrogate(j, u, y[:, j], _seed(seed, j)) for j in range(self.n_goals)]
        cons = [_skopt.fit_gp(u, s[:, k], seed=_seed(seed, 100 + k), gp_restarts=restarts,
                              length_scale_prior=self.settings["length_scale_prior"])
                for k in range(self.n_constraints)]
        failure = self._failure_model(u, uf, seed)
        ref = self.reference(y)
        incumbent = (np.column_stack([g.posterior(u[feas]).mean for g in goals]) if feas.any()
                     else np.zeros((0, self.n_goals)))
        return amo.MultiSurrogate(goals, cons, failure, incumbent, ref)

    def _goal_surrogate(self, j: int, u: np.ndarray, y: np.ndarray, seed: int) -> acq.Surrogate:
        from campaigns import _skopt

        return _skopt.fit_gp(u, y, seed=seed, gp_restarts=self.settings["gp_restarts"],
                             length_scale_prior=self.settings["length_scale_prior"])

    def _failure_model(self, u: np.ndarray, uf: np.ndarray, seed: int) -> acq.FailureModel | None:
        from campaigns import _skopt

        if self.settings["failure_penalty"] != "model" or not len(uf):
            return None
        return _skopt.KernelFailureModel(u, uf, seed=seed, gp_restarts=self.settings["gp_restarts"])

    # -- proposals ---------------------------------------------------------------------------------------------------
    def ask(self, n: int) -> list[Recipe]:
        return self._design_then_model(n, self._acquire)

    def _candidates(self) -> np.ndarray | None:
        """Extra starting points of the acquisition search: the measured runs (the front's neighbourhood)."""
        u = self._observed()[0]
        return u if len(u) else None

    def trust_region(self, model: amo.MultiSurrogate | None = None) -> tr.TrustRegion | None:
        """The boxes the next proposal must fall in (:mod:`campaigns.trust_region`): around the measured feasible
        runs whose posterior means are non-dominated, of the side length replayed from the runs told after the
        initial design; None when ``trust_region`` is off or no run is feasible yet."""
        model = self.model() if model is None else model
        if not self.settings["trust_region"] or model is None:
            return None
        u, _, _, feas, _ = self._observed()
        if not feas.any():
            return None
        mean = model.goal_posterior(u[feas])[0]
        centres = u[feas][pareto_mask(mean)]
        length = tr.side_length(self._improved(), len(self.space))
        return tr.TrustRegion(centres, length, tuple(j for j, k in enumerate(self.cats) if k == 0))

    def _improved(self) -> list[bool]:
        """For each run after the initial design, in order: did it raise the measured feasible front's
        hypervolume (failed runs did not)?"""
        m = self.n_goals
        y = np.array([o.scores if (not o.failed and o.scores is not None) else [np.nan] * m
                      for o in self.outcomes], float).reshape(-1, m)
        ok = np.array([not o.failed and o.scores is not None and o.feasible for o in self.outcomes], bool)
        ref = self.reference(y[ok]) if ok.any() else None
        if ref is None:
            return [False] * max(len(y) - self.settings["n_initial"], 0)
        return tr.hypervolume_gains(np.nan_to_num(y, nan=np.inf), ok, ref, self.settings["n_initial"])

    def _acquire(self, model: amo.MultiSurrogate, n: int, pending: Sequence[Sequence[Any]]) -> list[list[Any]]:
        rng = np.random.default_rng([self.seed % (2**32), len(self.points), 7])
        s = self.settings
        cands = self._candidates()
        region = self.trust_region(model)
        n_points = s["n_points"]
        if region is not None:
            # candidates uniform in the boxes (and the measured runs inside them); the search never leaves them
            inside = region.sample(rng, n_points)
            cands = inside if cands is None else np.vstack([cands[region.contains(cands)], inside])
            n_points = 1

        def choose(gain: Any) -> np.ndarray:
            if region is not None:
                gain = _confined(gain, region)
            return acq.maximise(gain, len(self.space), rng, n_points=n_points,
                                n_restarts=s["n_restarts_optimizer"], candidates=cands, n_categories=self.cats)

        pend = self.space.unit_cube([list(p) for p in pending]) if len(pending) else None
        from campaigns import _skopt

        with _skopt.one_thread():
            u = acq.propose_batch(model, n, amo.HypervolumeImprovement(), float("nan"), choose, pending=pend,
                                  lie=amo.believer)
        return self.space.from_unit_cube(u)

    # -- what the store and the dashboard read -------------------------------------------------------------------------
    def _unit(self, recipes: Sequence[Any]) -> np.ndarray:
        return self.space.unit_cube([self.space.to_point(r) for r in recipes])

    def predict(self, recipes: Sequence[Any]) -> tuple[np.ndarray, np.ndarray]:
        """Mean and standard deviation of a new measurement of each goal's score at ``recipes``, (n, n_goals)
        [score units]; NaN before the model exists."""
        model = self.model()
        if model is None or not len(recipes):
            nan = np.full((len(recipes), self.n_goals), np.nan)
            return nan, nan.copy()
        return model.goal_predictive(self._unit(recipes))

    def feasibility(self, recipes: Sequence[Any]) -> np.ndarray:
        """P(every outcome constraint holds and the run does not fail) at ``recipes`` [0–1]; NaN before the model."""
        model = self.model()
        if model is None or not len(recipes):
            return np.full(len(recipes), np.nan)
        return model.feasibility(self._unit(recipes))

    def acquisition(self, recipes: Sequence[Any]) -> np.ndarray:
        """EHVI × P(feasible) at ``recipes`` [score units^n_goals] (negative where P(feasible) ≤ 0.5); NaN before
        the model exists."""
        model = self.model()
        if model is None or not len(recipes):
            return np.full(len(recipes), np.nan)
        return amo.HypervolumeImprovement()(model, self._unit(recipes))

    def predicted_front(self, k: int = 50) -> tuple[list[Any], np.ndarray, np.ndarray]:
        """The model's predicted Pareto front: the non-dominated posterior means, among :data:`FRONT_CANDIDATES`
        Sobol points of the space and the measured runs, of the points feasible with probability > 0.5; at most
        ``k`` of them, spread evenly along the first goal. Returns (recipes, mean (k', n_goals), std (k',
        n_goals)) [score units]; empty before the model exists."""
        model = self.model()
        empty = ([], np.zeros((0, self.n_goals)), np.zeros((0, self.n_goals)))
        if model is None:
            return empty
        u = qmc.Sobol(len(self.space), scramble=True, seed=_seed(self.seed, 0, 23)).random(FRONT_CANDIDATES)
        u = np.vstack([acq.snap_categoricals(u, self.cats), self._observed()[0]])
        ok = model.feasibility(u) > amo.FEASIBILITY_THRESHOLD
        if not ok.any():
            return empty
        u = u[ok]
        mean, std = model.goal_predictive(u)
        front = np.flatnonzero(pareto_mask(mean))
        front = front[np.argsort(mean[front, 0], kind="stable")]
        if len(front) > k:
            front = front[np.unique(np.round(np.linspace(0, len(front) - 1, k)).astype(int))]
        points = self.space.from_unit_cube(u[front])
        return self._recipes(points), mean[front], std[front]

    def diagnostics(self) -> dict[str, Any]:
        """Reference point and its source, hypervolume of the measured (feasible) front, counts; JSON-able."""
        u, y, _, feas, uf = self._observed()
        ref = self.reference(y)
        out: dict[str, Any] = {"n_goals": self.n_goals, "n_constraints": self.n_constraints,
                               "n_successful": len(y), "n_failed": len(uf), "n_feasible": int(feas.sum())}
        if ref is not None:
            out.update({"reference": [float(r) for r in ref], "reference_source": self._ref_source,
                        "hypervolume_measured": hypervolume(y[feas], ref) if feas.any() else 0.0,
                        "n_front": int(pareto_mask(y[feas]).sum()) if feas.any() else 0})
        return out


def _confined(gain: Any, region: tr.TrustRegion) -> Any:
    """``gain`` inside the trust region's boxes, −inf outside."""
    def inner(u: np.ndarray) -> np.ndarray:
        g = np.asarray(gain(u), float)
        return np.where(region.contains(u), g, -np.inf)
    return inner


def _finite_slacks(s: np.ndarray) -> np.ndarray:
    """Slacks with ±inf (a positive field measured as 0) replaced by the largest finite magnitude plus one."""
    if s.size == 0 or np.isfinite(s).all():
        return s
    big = float(np.max(np.abs(s[np.isfinite(s)]), initial=0.0)) + 1.0
    return np.clip(np.nan_to_num(s, nan=big, posinf=big, neginf=-big), -big, big)


@register_strategy("mobo")
def _make_mobo(ctx: StrategyContext) -> Strategy:
    return MOBOStrategy(ctx, settings_from(ctx.settings, MOBO_SETTINGS))
