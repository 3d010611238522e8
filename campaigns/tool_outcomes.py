"""Whether a tool measures what a multi-objective campaign's goals and outcome constraints name.

A simulated tool (the twin) returns every result field. An attached tool returns only what its mapping reads
back: the ``[[result]]`` nodes, the thickness and the process time (and the deposition rate when the deposition
time is read), plus the interface resistance that a person enters with ``campaign measure`` while the trial waits
``awaiting_measurement``. A tool says so with ``measured_fields()`` (a set of result-field names; a tool without
the method measures every field). A goal or constraint on a field the tool cannot measure would leave every run
without a value, so ``campaign run`` and ``campaign propose`` refuse the campaign before anything runs or is
proposed (one line naming the key, the field and what the tool measures). Campaigns never import a hardware
module: the tool is whatever the ``sputter_twin.tools`` registry gave.
"""

from __future__ import annotations

from typing import Any

from campaigns.config import CampaignConfig
from campaigns.errors import CampaignError


def check_tool_outcomes(config: CampaignConfig, tool: Any) -> None:
    """Refuse a multi-objective campaign whose goals or outcome constraints name a result field ``tool`` cannot
    measure; nothing to check for a single objective or a tool without ``measured_fields``."""
    if not config.is_multi or not callable(getattr(tool, "measured_fields", None)):
        return
    measured = set(tool.measured_fields())
    name = getattr(tool, "name", type(tool).__name__)
    mo = config.objective
    named = [(f"objectives[{k + 1}].field", g.field) for k, g in enumerate(mo.goals)]  # type: ignore[union-attr]
    named += [("constraints.outcomes", c.field) for c in mo.constraints]  # type: ignore[union-attr]
    for key, fld in named:
        if fld not in measured:
            raise CampaignError(key, fld, f"tool {name!r} cannot measure this result field",
                                " | ".join(sorted(measured)), source=config.source)


__all__ = ["check_tool_outcomes"]
