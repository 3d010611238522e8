"""The sputtering chamber twin: recipes, chambers, the simpy model, results and tools.

>>> from twin import Recipe, simulate
>>> round(simulate(Recipe(), deterministic=True).deposition_rate_nm_min, 2)
1.71
"""

from twin.batch import BatchResult, expected_outcomes
from twin.chamber import Chamber
from twin.errors import (
    AbortedError,
    ChamberError,
    InputError,
    InterlockError,
    RecipeError,
    SputterTwinError,
    ToolError,
)
from twin.recipe import Recipe
from twin.result import Event, RunResult
from twin.simulate import VENT, simulate, simulate_queue
from twin.tool import ExtrasTool, SimulatedTool, Tool, ToolStatus, available_tools, load_tool

__all__ = [
    "VENT", "AbortedError", "BatchResult", "Chamber", "ChamberError", "Event", "ExtrasTool", "InputError",
    "InterlockError", "Recipe",
    "RecipeError", "RunResult", "SimulatedTool", "SputterTwinError", "Tool", "ToolError", "ToolStatus",
    "available_tools", "expected_outcomes", "load_tool", "simulate", "simulate_queue",
]
