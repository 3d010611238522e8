"""Documented model parameters.

Every number a process model uses beyond physical constants is a field of a frozen parameter dataclass made
with :func:`param`, which records its unit, meaning and source tag (FACTS.md: [C] checked, [C2] secondary,
[M] widely quoted, [A] our assumption). ``twin.Chamber`` composes these dataclasses, so a chamber TOML can set
every one and calibration can move them.
"""

from __future__ import annotations

import dataclasses
from typing import Any


def param(default: Any, unit: str, doc: str, source: str, *, low: float | None = None,
          high: float | None = None) -> Any:
    """A dataclass field with documentation metadata.

    ``low``/``high`` bound the physically meaningful range; loaders reject values outside it.
    """
    return dataclasses.field(default=default, metadata={
        "unit": unit, "doc": doc, "source": source, "low": low, "high": high})


def describe(params_cls: type) -> list[dict[str, Any]]:
    """One dict per field: name, default, unit, doc, source, low, high."""
    rows = []
    for f in dataclasses.fields(params_cls):
        rows.append({"name": f.name, "default": f.default, **f.metadata})
    return rows
