"""Shared test fixtures."""

from __future__ import annotations

import signal
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
EXAMPLES = ROOT / "examples"

# A shell without job control starts background commands with SIGINT ignored (``make test &``, ``nohup``), and an
# ignored signal stays ignored across exec: Python then never turns Ctrl-C into KeyboardInterrupt, here or in the
# processes the tests start, and every Ctrl-C test would fail for a reason that is not ours. Give this process
# Python's own handler back; its children then start with SIGINT at its default, as from a terminal.
if signal.getsignal(signal.SIGINT) is signal.SIG_IGN:
    signal.signal(signal.SIGINT, signal.default_int_handler)


@pytest.fixture
def examples_dir() -> Path:
    return EXAMPLES
