"""BoTorch as an outside reference for the efficiency benchmark: what a current, standard GP-BO setup needs on the
same campaign, under the same protocol.

Optional and never installed by ``make``: PyTorch is large, and an unpinned ``torch`` from PyPI is a CUDA build of
several GB. Install it by hand into the project's environment (on this machine the CPU wheel of 2.13.0 is on disk)::

    .venv/bin/pip install torch==2.13.0 botorch

The setup is BoTorch's documented default loop: a scrambled Sobol design of ``n_initial`` points, then
``SingleTaskGP`` with its default priors (BoTorch ≥ 0.12: a dimension-scaled log-normal length-scale prior) and
``Standardize`` on the score, fitted by ``fit_gpytorch_mll``; ``qLogNoisyExpectedImprovement`` maximised by
``optimize_acqf`` (10 restarts, 512 raw samples), one candidate at a time. Inputs are the campaign space's unit cube
(log dimensions on a log scale, as our strategies see them). BoTorch has no rule for failed runs, so they are left
out of the GP (the usual practice); PyTorch runs on one thread, as our GP does.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import numpy as np
from scipy.stats import qmc


def missing() -> str | None:
    """Why the reference can't run here (None when it can)."""
    try:
        import botorch  # noqa: F401
        import torch  # noqa: F401
    except ImportError as exc:
        return f"{exc.name} is not installed (.venv/bin/pip install torch==2.13.0 botorch)"
    return None


def run_botorch(config: Any, chamber: Any, seed: int, recipe_value: Callable[[Any], float], target: float,
                cap: int, tool: Callable[[Any, int, int], Any], n_initial: int = 10) -> int | None:
    """Runs until the best measured recipe is within ``target`` on the deterministic twin (None: not within cap).

    ``tool(chamber, seed, run_index)`` gives the simulated tool for one run, as for the other strategies.
    """
    import warnings

    import torch
    from botorch.acquisition.logei import qLogNoisyExpectedImprovement
    from botorch.fit import fit_gpytorch_mll
    from botorch.models import SingleTaskGP
    from botorch.models.transforms import Standardize
    from botorch.optim import optimize_acqf
    from gpytorch.mlls import ExactMarginalLogLikelihood

    torch.set_num_threads(1)
    torch.manual_seed(seed)
    space = config.space
    d = len(space)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # "balance properties ... power of 2": n_initial is the campaign's
        design = qmc.Sobol(d, seed=seed).random(n_initial)
    rng = np.random.default_rng([seed, 11])
    bounds = torch.stack([torch.zeros(d, dtype=torch.float64), torch.ones(d, dtype=torch.float64)])
    xs: list[np.ndarray] = []
    ys: list[float] = []
    best_meas, best_recipe = math.inf, None
    for n in range(1, cap + 1):
        if n <= n_initial:
            u = design[n - 1]
        elif len(ys) < 2:
            u = rng.random(d)
        else:
            tx = torch.tensor(np.array(xs), dtype=torch.float64)
            ty = -torch.tensor(ys, dtype=torch.float64)[:, None]  # BoTorch maximises
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                gp = SingleTaskGP(tx, ty, outcome_transform=Standardize(1))
                fit_gpytorch_mll(ExactMarginalLogLikelihood(gp.likelihood, gp))
                acq = qLogNoisyExpectedImprovement(gp, tx, prune_baseline=True)
                cand, _ = optimize_acqf(acq, bounds, q=1, num_restarts=10, raw_samples=512)
            u = cand[0].detach().numpy()
        recipe = space.to_recipe(space.from_unit_cube(np.asarray(u, float)[None, :])[0])
        res = tool(chamber, seed, n - 1).run(recipe)
        o = config.objective.evaluate(res.to_dict(), recipe.to_dict())
        if not o.failed and o.score is not None:
            xs.append(space.unit_cube([space.to_point(recipe)])[0])
            ys.append(float(o.score))
            if o.value < best_meas:
                best_meas, best_recipe = o.value, recipe
        if best_recipe is not None and recipe_value(best_recipe) <= target:
            return n
    return None
