"""Fixtures of the hardware tests: the three example mappings, a short recipe, an emulator in a thread."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest

from hardware.emulator import EmulatorThread
from hardware.mapping import Mapping
from twin import Recipe

ROOT = Path(__file__).resolve().parents[2]
MAPPING_A = ROOT / "examples" / "hardware" / "rf_a_si.toml"
MAPPING_B = ROOT / "examples" / "hardware" / "mag_b_imperial.toml"
MAPPING_C = ROOT / "examples" / "hardware" / "pvd_c_jobs.toml"
"""The second emulator profile: the phase in the state node, jobs started by methods, latched alarms."""
SPEED = 2000.0
"""Process seconds per wall second: the ~34 min test recipe plays back in ~1 s."""


@pytest.fixture(autouse=True)
def _quiet_asyncua():
    logging.getLogger("asyncua").setLevel(logging.ERROR)


@pytest.fixture(scope="session")
def mapping_a() -> Mapping:
    return Mapping.from_toml(MAPPING_A)


@pytest.fixture(scope="session")
def mapping_b() -> Mapping:
    return Mapping.from_toml(MAPPING_B)


@pytest.fixture(scope="session")
def mapping_c() -> Mapping:
    return Mapping.from_toml(MAPPING_C)


@pytest.fixture
def short_recipe() -> Recipe:
    """A recipe with a seed layer, short pump-down and pre-sputter: ~34 min of process."""
    return Recipe(target_thickness_nm=20, rf_power_w=150, seed_power_w=50, seed_thickness_nm=2, pumpdown_min=10,
                  presputter_min=3, pressure_pa=0.5)


@pytest.fixture
def emulator(mapping_a):
    """Factory: ``emulator(mapping=..., **kwargs)`` starts an EmulatorThread, stopped after the test."""
    started = []

    def make(mapping=None, **kwargs):
        kwargs.setdefault("speed", SPEED)
        emu = EmulatorThread(mapping or mapping_a, **kwargs).start()
        started.append(emu)
        return emu

    yield make
    for emu in started:
        emu.stop()
