"""The *context* of a run: the chamber state it starts in, as named floats with units in their names.

A campaign records it with every trial (``result["context"]``, see :mod:`campaigns.context`) and a contextual
strategy models the objective as ``f(recipe, context)``. The twin's chamber carries its state over from run to run
(:class:`twin.chamber.State`: hours since the last vent, target and shield kWh); the context adds what a person
reads off a tool before a run: the runs since the last vent and the water the walls still give off.

Keys (all optional in a stored context; a real tool reports those its mapping file names):

========================  ======  =====================================================================
``hours_since_vent``      h       time since the process chamber was last vented, at the run's load
``runs_since_vent``       1       runs made since that vent (0: the first run after it)
``target_kwh``            kWh     energy already put into the target (erosion)
``shield_kwh``            kWh     energy since the shields were last cleaned (flake load)
``wall_h2o_pa``           Pa      H2O partial pressure the walls give off at the load (twin: ``p_floor + K/t``)
``base_pressure_pa``      Pa      base pressure before the start (a real tool's readback)
========================  ======  =====================================================================
"""

from __future__ import annotations

from typing import Final

from process_models.contamination import h2o_partial_pressure_pa
from twin.chamber import Chamber

CONTEXT_UNITS: Final[dict[str, str]] = {
    "hours_since_vent": "h", "runs_since_vent": "1", "target_kwh": "kWh", "shield_kwh": "kWh",
    "wall_h2o_pa": "Pa", "base_pressure_pa": "Pa",
}
"""Every context key and its unit."""

STATE_CONTEXT_KEYS: Final = ("hours_since_vent", "target_kwh", "shield_kwh")
"""Context keys that are fields of the twin's chamber state (``state.<key>``)."""


def chamber_context(chamber: Chamber, runs_since_vent: int = 0) -> dict[str, float]:
    """The context of the next run in ``chamber`` (its ``[state]``), ``runs_since_vent`` runs after the last vent.

    ``wall_h2o_pa`` is the walls' water partial pressure at the load (FACTS §4 [M]: ``p_floor + K/t`` after a
    vent, :func:`process_models.contamination.h2o_partial_pressure_pa`), without leak bursts.

    Examples
    --------
    >>> ctx = chamber_context(Chamber().replace({"state.hours_since_vent": 12.0}), runs_since_vent=3)
    >>> ctx["runs_since_vent"], f"{ctx['wall_h2o_pa']:.3g}"
    (3.0, '5.99e-06')
    """
    st = chamber.state
    return {"hours_since_vent": float(st.hours_since_vent), "runs_since_vent": float(runs_since_vent),
            "target_kwh": float(st.target_kwh), "shield_kwh": float(st.shield_kwh),
            "wall_h2o_pa": float(h2o_partial_pressure_pa(st.hours_since_vent * 3600.0, chamber.contamination))}
