"""The command line has a distinctive home: ``python -m sputter_twin`` works, the console script points at it,
and nothing generic is importable as ``cli`` (issue 14, item 6)."""

from __future__ import annotations

import importlib.metadata
import importlib.util
import subprocess
import sys
import tomllib

from tests.conftest import ROOT
from twin import Chamber


def test_python_dash_m_sputter_twin_runs_the_command():
    proc = subprocess.run([sys.executable, "-m", "sputter_twin", "chamber", "doc"], cwd=ROOT, capture_output=True,
                          text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    # chamber doc is valid TOML (true, not True): a chamber file of the defaults, every line documented
    assert Chamber.from_dict(tomllib.loads(proc.stdout)) == Chamber()
    assert "load_lock = true" in proc.stdout


def test_console_script_points_into_the_package():
    scripts = [ep for ep in importlib.metadata.entry_points(group="console_scripts") if ep.name == "sputter-twin"]
    assert [ep.value for ep in scripts] == ["sputter_twin.cli.main:main"]


def test_nothing_generic_is_importable_as_cli():
    # run outside the repository so the working directory cannot supply a folder named cli
    code = "import importlib.util, sys; sys.exit(0 if importlib.util.find_spec('cli') is None else 3)"
    proc = subprocess.run([sys.executable, "-c", code], cwd="/", capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, "a module named cli is importable"
    assert importlib.util.find_spec("sputter_twin.cli") is not None
