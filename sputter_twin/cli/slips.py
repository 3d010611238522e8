"""Unit-slip warnings in every recipe check of the command line: ``simulate``, campaign files and ``tool check``.

The values are legal, so the command goes on; the warning names the file, the field, the value and what it
likely meant (:mod:`twin.plausibility`), one line each on standard error.
"""

from __future__ import annotations

import sys
from typing import Any

from twin.plausibility import UnitSlip, range_slips, slips_in


def warn(source: str, slips: list[UnitSlip]) -> None:
    """Print one warning line per slip on standard error."""
    for s in slips:
        print(f"sputter-twin: warning: {source}: {s}", file=sys.stderr)


def campaign_slips(space: Any) -> list[UnitSlip]:
    """Slips in a campaign's search space: its fixed values, and ranges whose every value looks slipped."""
    context = dict(space.fixed)
    context.update({d.name: d.high for d in space.dimensions if not d.is_categorical})
    out = slips_in(dict(space.fixed))
    for d in space.dimensions:
        if not d.is_categorical:
            out += range_slips(d.name, float(d.low), float(d.high), context)
    return out
