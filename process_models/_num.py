"""Scalar-or-array numerics.

The twin calls the process models on Python floats thousands of times a second; numpy ufuncs cost about a
microsecond each on a scalar, ``math`` a tenth of that. These helpers take the ``math`` path for scalars and
the numpy path for arrays, so every process-model function is both vectorised and fast on scalars.
"""

from __future__ import annotations

import math
from typing import TypeAlias

import numpy as np

Numeric: TypeAlias = "float | np.ndarray"

_SCALAR = (float, int)


def exp(x):
    return math.exp(x) if isinstance(x, _SCALAR) else np.exp(x)


def expm1(x):
    return math.expm1(x) if isinstance(x, _SCALAR) else np.expm1(x)


def log(x):
    return math.log(x) if isinstance(x, _SCALAR) else np.log(x)


def log1p(x):
    return math.log1p(x) if isinstance(x, _SCALAR) else np.log1p(x)


def sqrt(x):
    return math.sqrt(x) if isinstance(x, _SCALAR) else np.sqrt(x)


def maximum(x, y):
    if isinstance(x, _SCALAR) and isinstance(y, _SCALAR):
        if x != x:  # NaN propagates, as np.maximum does
            return x
        return x if x > y else y
    return np.maximum(x, y)


def minimum(x, y):
    if isinstance(x, _SCALAR) and isinstance(y, _SCALAR):
        if x != x:
            return x
        return x if x < y else y
    return np.minimum(x, y)


def where(cond, a, b):
    if isinstance(cond, bool):
        return a if cond else b
    return np.where(cond, a, b)


def one_minus_exp_over(x):
    """``(1 - exp(-x)) / x``, continuous at ``x = 0`` (where it is 1)."""
    if isinstance(x, _SCALAR):
        if abs(x) < 1e-8:
            return 1.0 - 0.5 * x
        return -math.expm1(-x) / x
    x = np.asarray(x, dtype=float)
    small = np.abs(x) < 1e-8
    safe = np.where(small, 1.0, x)
    return np.where(small, 1.0 - 0.5 * x, -np.expm1(-safe) / safe)
