"""Every fault the emulator advertises has its handler, and nothing else is dispatched."""

from __future__ import annotations

import inspect

from hardware.emulator import Emulator
from hardware.emulator_faults import FAULT_KINDS


def test_every_advertised_fault_has_a_handler_and_no_handler_is_unadvertised():
    handlers = {name.removeprefix("_fault_") for name, fn in inspect.getmembers(Emulator, inspect.iscoroutinefunction)
                if name.startswith("_fault_")}
    assert handlers == set(FAULT_KINDS)
