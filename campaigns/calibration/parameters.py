"""Which chamber parameters are fitted: the default set, the sections that hold model parameters, and the check
of a requested set against the chamber (name, section, type, positive value, documented range)."""

from __future__ import annotations

import math
from collections.abc import Sequence

from campaigns.calibration.errors import CalibrationError
from twin import Chamber

DEFAULT_PARAMETERS: tuple[str, ...] = (
    "contamination.sticking_coefficient",
    "interface.damage_coefficient",
    "interface.clean_resistance_ohm_cm2",
    "events.leak_rate_per_h",
    "deposition.yield_q",
)
"""Parameters fitted when none are named: the [A]/[M]/[C-range] ones that drive R_int and the rate most."""

CALIBRATABLE_SECTIONS: tuple[str, ...] = ("deposition", "energetics", "contamination", "film", "interface",
                                          "defects", "events")
"""Chamber sections that hold model parameters; geometry, limits, vacuum, state, noise and telemetry describe the
tool or its use and are not fitted."""


def check_parameters(chamber: Chamber, parameters: Sequence[str]) -> list[tuple[str, float, float, float]]:
    """(name, value, low, high) per parameter; unknown, duplicate or unfittable names are errors."""
    docs = {f"{d['section']}.{d['name']}": d for d in Chamber.parameter_docs()}
    fittable = sorted(k for k, d in docs.items() if d["section"] in CALIBRATABLE_SECTIONS
                      and isinstance(d["default"], float))
    out = []
    if not parameters:
        raise CalibrationError("parameters", list(parameters), "no parameters to fit", "one or more of: "
                               + ", ".join(DEFAULT_PARAMETERS) + ", ...")
    for name in parameters:
        if name not in docs:
            raise CalibrationError("parameters", name, "no such chamber parameter",
                                   "section.field, e.g. " + ", ".join(DEFAULT_PARAMETERS))
        d = docs[name]
        if d["section"] not in CALIBRATABLE_SECTIONS:
            raise CalibrationError("parameters", name, f"section [{d['section']}] describes the tool, not the "
                                   "model; it is not calibrated", "sections " + ", ".join(CALIBRATABLE_SECTIONS))
        if name not in fittable:
            raise CalibrationError("parameters", name, "not a numeric model parameter", "numeric parameters")
        if any(name == o[0] for o in out):
            raise CalibrationError("parameters", name, "named twice", "each parameter once")
        value = float(chamber.get(name))
        if not value > 0:
            raise CalibrationError("parameters", name, f"current value {value} is not positive; parameters are "
                                   "fitted on a log scale", "parameters with a positive value")
        low = d["low"] if d["low"] is not None else 0.0
        high = d["high"] if d["high"] is not None else math.inf
        out.append((name, value, float(low), float(high)))
    return out


def parse_parameters(text: str) -> list[str]:
    """Comma-separated dotted names → list (for the command line)."""
    return [s.strip() for s in text.split(",") if s.strip()]
