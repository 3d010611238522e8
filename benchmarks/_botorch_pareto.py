"""BoTorch's qNEHVI as an optional outside reference for ``benchmarks/pareto.py``.

Optional and never installed by ``make`` (see :mod:`benchmarks._botorch_reference`)::

    .venv/bin/pip install torch==2.13.0 botorch

BoTorch's documented multi-objective loop: a scrambled Sobol design of ``n_initial`` points, then one
``SingleTaskGP`` over every goal and constraint output (``Standardize``), fitted by ``fit_gpytorch_mll``;
``qLogNoisyExpectedHypervolumeImprovement`` with the problem's reference point, outcome constraints as BoTorch
constraint callables (≤ 0 feasible), maximised by ``optimize_acqf`` (10 restarts, 512 raw samples), one candidate
at a time. BoTorch maximises, so scores are negated. Failed runs are left out of the GP (BoTorch has no rule for
them). One thread, as ours.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable
from typing import Any

import numpy as np
from _botorch_reference import missing  # noqa: F401  (re-exported)
from scipy.stats import qmc


def run_qnehvi(d: int, m: int, c: int, ref: np.ndarray, evaluate: Callable[[np.ndarray, int], Any], seed: int,
               cap: int, n_initial: int = 10) -> list[tuple[np.ndarray, Any]]:
    """``cap`` runs of qNEHVI; returns (unit-cube row, outcome) per run."""
    import torch
    from botorch.acquisition.multi_objective.logei import qLogNoisyExpectedHypervolumeImprovement
    from botorch.acquisition.multi_objective.objective import IdentityMCMultiOutputObjective
    from botorch.fit import fit_gpytorch_mll
    from botorch.models import SingleTaskGP
    from botorch.models.transforms import Standardize
    from botorch.optim import optimize_acqf
    from gpytorch.mlls import ExactMarginalLogLikelihood

    torch.set_num_threads(1)
    torch.manual_seed(seed)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        design = qmc.Sobol(d, seed=seed).random(n_initial)
    rng = np.random.default_rng([seed, 11])
    bounds = torch.stack([torch.zeros(d, dtype=torch.float64), torch.ones(d, dtype=torch.float64)])
    xs: list[np.ndarray] = []
    ys: list[list[float]] = []
    out: list[tuple[np.ndarray, Any]] = []
    for k in range(cap):
        if k < n_initial:
            u = design[k]
        elif len(ys) < 2:
            u = rng.random(d)
        else:
            tx = torch.tensor(np.array(xs), dtype=torch.float64)
            ty = torch.tensor(np.array(ys), dtype=torch.float64)
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                gp = SingleTaskGP(tx, ty, outcome_transform=Standardize(m=m + c))
                fit_gpytorch_mll(ExactMarginalLogLikelihood(gp.likelihood, gp))
                cons = [lambda z, j=j: z[..., m + j] for j in range(c)] or None
                acq = qLogNoisyExpectedHypervolumeImprovement(
                    gp, ref_point=(-torch.tensor(ref, dtype=torch.float64)).tolist(), X_baseline=tx,
                    prune_baseline=True, objective=IdentityMCMultiOutputObjective(outcomes=list(range(m))),
                    constraints=cons)
                cand, _ = optimize_acqf(acq, bounds, q=1, num_restarts=10, raw_samples=512)
            u = cand[0].detach().numpy()
        u = np.clip(np.asarray(u, float), 0.0, 1.0)
        o = evaluate(u, k)
        out.append((u, o))
        if not o.failed and o.scores is not None:
            xs.append(u)
            ys.append([-s for s in o.scores] + list(o.slacks or ()))
    return out
