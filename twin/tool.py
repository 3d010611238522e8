"""The ``Tool`` protocol every tool implements, and :class:`SimulatedTool`, the twin behind it.

Plans (campaigns) talk only to this protocol, so the simulated tool and a hardware adapter are
interchangeable (as bluesky separates plans from devices). Tools are found by name through the
``sputter_twin.tools`` entry-point group (:func:`load_tool`), so campaigns never import a hardware module.

**Extra variables.** A campaign may search tool settings the twin does not model (``[space.extra.NAME]``: a
substrate bias, a magnetron rotation). They travel beside the recipe as a plain dict ``name → value`` (a number,
or a string for a categorical): a tool that can set them has ``run(recipe, extras=None)`` and a dry
``check_extras(declared)`` (:class:`ExtrasTool`), which the runner calls once before anything runs with every
declared extra (``name → {"unit", "kind", "low", "high", "categories"}``) and which raises
:class:`twin.errors.InputError` naming the first extra the tool cannot write. A tool without ``check_extras`` is
refused for a campaign with extras; one with extras-free campaigns keeps being called as ``run(recipe)``.
:class:`SimulatedTool` accepts every extra and ignores it (the twin does not model it), unless an
``extras_effect`` says what it does (a test's or a benchmark's "reality").
"""

from __future__ import annotations

import dataclasses
import enum
import logging
from collections.abc import Callable, Mapping
from importlib.metadata import entry_points
from typing import Any, Protocol, runtime_checkable

import numpy as np

from twin.chamber import Chamber
from twin.context import chamber_context
from twin.errors import AbortedError, InputError
from twin.recipe import Recipe
from twin.result import RunResult
from twin.simulate import simulate_queue

log = logging.getLogger(__name__)

ExtraValue = float | int | str
ExtrasEffect = Callable[[Recipe, Mapping[str, ExtraValue], RunResult], RunResult]
"""What extra variables do to a simulated run: ``(recipe, extras, result) -> result`` (a pure function)."""


class ToolStatus(enum.Enum):
    """What a tool is doing."""

    IDLE = "idle"
    RUNNING = "running"
    ABORTED = "aborted"
    FAULT = "fault"
    DISCONNECTED = "disconnected"


@runtime_checkable
class Tool(Protocol):
    """A sputter tool: simulated or real."""

    name: str
    is_real: bool
    """True for hardware: recipes need a person's approval before they run."""

    def check(self, recipe: Recipe) -> None:
        """Dry pass: raise :class:`twin.RecipeError` if the recipe breaks a limit or an interlock. Moves nothing."""

    def run(self, recipe: Recipe) -> RunResult:
        """Execute one recipe and return its result."""

    def abort(self) -> None:
        """Stop what is running and put the tool in its safe state."""

    @property
    def status(self) -> ToolStatus:
        """Current status."""


@runtime_checkable
class ExtrasTool(Tool, Protocol):
    """A tool that can also set extra variables (tool settings the twin does not model) beside the recipe."""

    def check_extras(self, declared: Mapping[str, Mapping[str, Any]]) -> None:
        """Dry check that every declared extra (``name → {"unit", "kind", "low", "high", "categories"}``) can be
        written; raise :class:`twin.errors.InputError` naming the first that cannot. Moves nothing."""

    def run(self, recipe: Recipe, extras: Mapping[str, ExtraValue] | None = None) -> RunResult:
        """Execute one recipe with the extras set."""


class SimulatedTool:
    """The twin as a tool: each :meth:`run` is the next run of a queue on the same chamber.

    Chamber state (target and shield kWh, time since vent) carries over between runs. Run ``k`` draws its
    randomness from ``SeedSequence([seed, k])``, so a campaign resumed at run ``k`` (``run_index=k`` and the
    recorded ``state``) continues exactly as an uninterrupted one would.

    **Context.** :meth:`context` is the chamber state the next run starts in (:func:`twin.context.chamber_context`:
    hours since vent, runs since vent, target and shield kWh, the walls' water); the runner records it with each
    trial. :meth:`vent` vents the process chamber: the next run starts 0 h and 0 runs after a vent (target and
    shields keep their load). ``runs_since_vent`` positions a resumed tool, as ``state`` does.

    Extra variables are accepted and ignored by the twin (the runner records them with the trial);
    ``extras_effect`` (a pure function ``(recipe, extras, result) -> result``) makes them matter, so that a test
    or a benchmark can rehearse a campaign on a "reality" where they do. It is a Python argument, not a key of a
    campaign file: the twin itself has no model of them.
    """

    is_real = False

    def __init__(self, chamber: Chamber | None = None, *, seed: int | None = 0, deterministic: bool = False,
                 telemetry: bool = False, run_index: int = 0, state: dict[str, float] | None = None,
                 name: str = "simulated", extras_effect: ExtrasEffect | None = None,
                 runs_since_vent: int = 0) -> None:
        self.chamber = chamber if chamber is not None else Chamber()
        if state:
            self.chamber = self.chamber.replace({f"state.{k}": float(v) for k, v in state.items()})
        self.seed = seed
        self.deterministic = deterministic
        self.telemetry = telemetry
        self.run_index = run_index
        self.name = name
        self.extras_effect = extras_effect
        self.runs_since_vent = int(runs_since_vent)
        self._status = ToolStatus.IDLE

    @classmethod
    def from_config(cls, config: dict[str, Any], chamber: Chamber | None = None) -> SimulatedTool:
        """Build from a campaign's ``[tool]`` table (keys: seed, deterministic, telemetry)."""
        allowed = {"seed", "deterministic", "telemetry", "type", "require_approval"}
        unknown = sorted(set(config) - allowed)
        if unknown:
            raise InputError(f"tool.{unknown[0]}", config[unknown[0]], "unknown key", ", ".join(sorted(allowed)))
        return cls(chamber, seed=config.get("seed", 0), deterministic=bool(config.get("deterministic", False)),
                   telemetry=bool(config.get("telemetry", False)))

    def check(self, recipe: Recipe) -> None:
        self.chamber.check(recipe)

    def check_extras(self, declared: Mapping[str, Mapping[str, Any]]) -> None:
        """Every extra is accepted: the twin ignores it (or ``extras_effect`` applies it)."""

    def run(self, recipe: Recipe, extras: Mapping[str, ExtraValue] | None = None) -> RunResult:
        if self._status is ToolStatus.ABORTED:
            raise AbortedError("the simulated tool was aborted; create a new one")
        self.check(recipe)
        seed = None
        if not self.deterministic:
            base = 0 if self.seed is None else int(self.seed)
            seed = int(np.random.SeedSequence([base, self.run_index]).generate_state(1, np.uint64)[0] >> 1)
        self._status = ToolStatus.RUNNING
        try:
            (result,) = simulate_queue([recipe], self.chamber, seed=seed, deterministic=self.deterministic,
                                       telemetry=self.telemetry, check=False)
        finally:
            self._status = ToolStatus.IDLE
        self.run_index += 1
        self.runs_since_vent += 1
        st = dataclasses.replace(self.chamber.state, **{k: v for k, v in result.chamber_state_after.items()})
        self.chamber = dataclasses.replace(self.chamber, state=st)
        if extras and self.extras_effect is not None:
            result = self.extras_effect(recipe, dict(extras), result)
        elif extras:
            log.debug("%s: extras %s not modelled by the twin; ignored", self.name, dict(extras))
        return result

    def context(self) -> dict[str, float]:
        """The chamber state the next run starts in (:func:`twin.context.chamber_context`)."""
        return chamber_context(self.chamber, self.runs_since_vent)

    def vent(self) -> None:
        """Vent the process chamber: the next run starts 0 h and 0 runs after a vent."""
        self.chamber = self.chamber.replace({"state.hours_since_vent": 0.0})
        self.runs_since_vent = 0

    def abort(self) -> None:
        self._status = ToolStatus.ABORTED

    @property
    def status(self) -> ToolStatus:
        return self._status


def available_tools() -> list[str]:
    """Names registered in the ``sputter_twin.tools`` entry-point group."""
    return sorted(ep.name for ep in entry_points(group="sputter_twin.tools"))


def load_tool(kind: str) -> Any:
    """The tool class registered under ``kind`` (``simulated``, ``opcua``, ...)."""
    for ep in entry_points(group="sputter_twin.tools"):
        if ep.name == kind:
            return ep.load()
    raise InputError("tool.type", kind, "unknown tool", " | ".join(available_tools()) or "none registered")
