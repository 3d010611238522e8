"""``[[context]]`` entries of a mapping file: nodes the adapter reads before each run to record the chamber state
the run starts in (its context, :mod:`twin.context`): a base-pressure gauge, a target kWh counter, hours since the
last vent, a shield counter, a run counter.

```toml
[[context]]
key = "base_pressure_pa"    # a context key (twin.context.CONTEXT_UNITS)
node = "s=Chamber.BasePressure"
unit = "mbar"               # the node's unit (converted to the key's: Pa, h, kWh or 1)
scale = 1.0                 # the node holds the value in unit times scale
```
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from hardware import units
from hardware.mapping_types import MappingError
from twin.context import CONTEXT_UNITS


@dataclass(frozen=True)
class ContextNode:
    """A node that reports one context key before a run (``key`` in its canonical unit)."""

    key: str
    node: str
    unit: str
    scale: float = 1.0

    @property
    def canonical(self) -> str:
        return CONTEXT_UNITS[self.key]

    def to_canonical(self, raw: Any) -> float:
        return units.from_tool(float(raw) / self.scale, self.canonical, self.unit)

    def from_canonical(self, value: float) -> float:
        return float(units.to_tool(float(value), self.canonical, self.unit) * self.scale)


def parse_contexts(doc: dict[str, Any], node: Any, unit: Any, scale: Any, array: Any, keys: Any) -> tuple:
    """The ``[[context]]`` array (``node``, ``unit``, ``scale``, ``array``, ``keys``: the parser's own helpers)."""
    out = []
    for where, table in array(doc, "context"):
        keys(table, where, {"key", "node", "unit", "scale"})
        key = table.get("key")
        if key not in CONTEXT_UNITS:
            raise MappingError(f"{where}.key", key, "not a context key", ", ".join(CONTEXT_UNITS))
        out.append(ContextNode(key=key, node=node(table, "node", where), unit=unit(table, where, CONTEXT_UNITS[key]),
                               scale=scale(table, where)))
    if len({c.key for c in out}) != len(out):
        raise MappingError("context.key", [c.key for c in out], "a context key is mapped twice",
                           "each key once")
    return tuple(out)
