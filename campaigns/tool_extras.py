"""A campaign's extra variables between the store, the strategy and the tool (:mod:`campaigns.variables`).

The store keeps a trial's extras beside its recipe; the strategy is told both (:func:`trial_proposal`), so the
extras are coordinates of its points like the recipe fields; a tool gets them through ``run(recipe, extras=...)``
after a dry ``check_extras`` of every declared extra (:func:`check_tool_extras`, :class:`twin.ExtrasTool`), which
the runner and ``campaign run`` call before anything runs. Campaigns never import a hardware module: the tool is
whatever the ``sputter_twin.tools`` registry gave.
"""

from __future__ import annotations

from typing import Any

from campaigns.config import CampaignConfig
from campaigns.errors import CampaignError
from campaigns.records import Trial
from campaigns.variables import Proposal
from twin import Recipe
from twin.errors import InputError


def trial_proposal(trial: Trial) -> Recipe | Proposal:
    """What was proposed for ``trial``: its recipe, with its extra variables where it has any (what the strategy
    is told, so that the extras are points' coordinates like the recipe fields)."""
    recipe = Recipe.from_dict(trial.recipe)
    return Proposal(recipe, dict(trial.extras)) if trial.extras else recipe


def declared_extras(config: CampaignConfig) -> dict[str, dict[str, Any]]:
    """The campaign's extra variables as a tool's ``check_extras`` takes them (:class:`twin.ExtrasTool`)."""
    return {d.name: {"unit": d.unit, "kind": d.kind, "low": d.low, "high": d.high, "categories": d.categories}
            for d in config.space.extras}


def check_tool_extras(config: CampaignConfig, tool: Any) -> None:
    """Refuse, before anything runs, a campaign whose extra variables ``tool`` cannot write (one line naming the
    extra); nothing to check for a campaign without extras."""
    declared = declared_extras(config)
    if not declared:
        return
    name = getattr(tool, "name", type(tool).__name__)
    if not hasattr(tool, "check_extras"):
        first = next(iter(declared))
        raise CampaignError(f"space.extra.{first}", first, f"tool {name!r} cannot set extra variables",
                            "a tool with check_extras (simulated, opcua with a [[setpoint]] extra = ...)",
                            source=config.source)
    try:
        tool.check_extras(declared)
    except InputError as exc:
        raise CampaignError(exc.field, exc.value, f"tool {name!r} cannot write this extra: {exc.problem}",
                            exc.allowed, source=exc.source or config.source) from None


__all__ = ["check_tool_extras", "declared_extras", "trial_proposal"]
