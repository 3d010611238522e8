"""Every fault the emulator advertises has its handler, and nothing else is dispatched: the tool model handles the
tool's faults, each front (the OPC UA emulator, the in-memory tool) the connection's."""

from __future__ import annotations

import inspect

from hardware.emulator import Emulator
from hardware.emulator_faults import FAULT_KINDS
from hardware.tool_model import LINK_FAULTS, ToolModel


def _handlers(cls) -> set[str]:
    return {name.removeprefix("_fault_") for name, _fn in inspect.getmembers(cls, inspect.isfunction)
            if name.startswith("_fault_")}


def test_every_advertised_fault_has_a_handler_and_no_handler_is_unadvertised():
    assert _handlers(ToolModel) | set(LINK_FAULTS) == set(FAULT_KINDS)
    assert not _handlers(ToolModel) & set(LINK_FAULTS)
    assert _handlers(Emulator) == set(LINK_FAULTS)
