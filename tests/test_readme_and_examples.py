"""The README's examples and the example files are run, so they never rot."""

from __future__ import annotations

import os
import re
import shlex
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import EXAMPLES, ROOT
from twin import Chamber, Recipe

README = (ROOT / "README.md").read_text(encoding="utf-8")
EXE = Path(sys.executable).with_name("sputter-twin")


def _blocks(lang: str) -> list[str]:
    return re.findall(rf"```{lang}\n(.*?)```", README, flags=re.S)


def _cli_blocks() -> list[list[str]]:
    """The ``sputter-twin`` commands of each shell block, in order (a block is one session)."""
    blocks = []
    for block in _blocks("sh"):
        lines = []
        for line in block.splitlines():
            if "not run in tests" in line:
                continue
            line = line.split("  #")[0].strip()
            if line.startswith(".venv/bin/sputter-twin"):
                lines.append(line)
        if lines:
            blocks.append(lines)
    return blocks


def test_readme_shows_the_two_commands_first():
    first_block = _blocks("sh")[0]
    assert "make demo" in first_block and "make test" in first_block


@pytest.mark.parametrize("block", _blocks("python"))
def test_readme_python_examples_run(block, tmp_path, monkeypatch):
    monkeypatch.chdir(ROOT)
    exec(compile(block, "README.md", "exec"), {"__name__": "readme"})


@pytest.mark.parametrize("lines", _cli_blocks(), ids=lambda b: b[0].split()[1])
def test_readme_cli_examples_run(lines, tmp_path):
    for line in lines:  # out/... goes to a folder of the test's own, shared by the block's commands
        args = [str(tmp_path / Path(a).name) if a.startswith("out/") else a for a in shlex.split(line)[1:]]
        proc = subprocess.run([str(EXE), *args], cwd=ROOT, capture_output=True, text=True, timeout=600,
                              env={**os.environ, "PYTHONHASHSEED": "0"})
        assert proc.returncode == 0, (line, proc.stderr)


def test_every_chamber_parameter_is_documented():
    for row in Chamber.parameter_docs():
        assert row["doc"] and row["source"], row
        assert row["unit"] is not None, row
        if isinstance(row["default"], float):
            assert row["low"] <= row["default"] <= row["high"], row
            assert any(tag in row["source"] for tag in ("[C]", "[C2]", "[M]", "[A]")), row


def test_example_chamber_is_the_default_and_round_trips(tmp_path):
    example = Chamber.from_toml(EXAMPLES / "chambers" / "default.toml")
    assert example == Chamber()
    again = tmp_path / "again.toml"
    again.write_text(example.to_toml(header="round trip"), encoding="utf-8")
    assert Chamber.from_toml(again) == example


@pytest.mark.parametrize("path", sorted((EXAMPLES / "recipes").glob("*.toml")), ids=lambda p: p.stem)
def test_example_recipes_are_valid_for_the_default_chamber(path):
    Chamber().check(Recipe.from_toml(path))
