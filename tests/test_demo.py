"""``make demo`` says what it is doing and ends with what to open next; the commands it prints work."""

from __future__ import annotations

import shlex
import subprocess
import sys

from tests.conftest import ROOT


def test_demo_shows_progress_and_ends_with_the_next_commands(tmp_path):
    proc = subprocess.run([sys.executable, str(ROOT / "examples" / "demo.py"), "--budget", "3", "--out",
                           str(tmp_path)], cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr
    out = proc.stdout
    steps = ["Haruta et al.", "campaign lipon-interface: 3 runs", "progress bar below", "writing the HTML report",
             "next:"]
    positions = [out.index(s) for s in steps]
    assert positions == sorted(positions)  # announced in the order they happen
    assert "lipon-interface:" in proc.stderr  # tqdm's bar, on standard error
    tail = out[out.index("next:"):].splitlines()[1:]
    store, report = tmp_path / "demo.sqlite", tmp_path / "demo_report.html"
    assert report.exists() and any(str(report) in line for line in tail)
    dashboard = next(line for line in tail if " dashboard --store " in line)
    assert str(store) in dashboard and "http://127.0.0.1:8050" in dashboard
    status = next(line for line in tail if " campaign status --store " in line)
    cmd = shlex.split(status.split(":", 1)[1])
    exe = ROOT / cmd[0] if not cmd[0].startswith("/") else cmd[0]
    ran = subprocess.run([str(exe), *cmd[1:]], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert ran.returncode == 0 and "campaign lipon-interface" in ran.stdout, ran.stderr  # the printed command works


def test_make_announces_the_install_and_shows_pip_progress():
    text = (ROOT / "Makefile").read_text()
    recipe = text[text.index("$(STAMP): pyproject.toml"):text.index("demo: $(STAMP)")]
    assert "@echo" in recipe.splitlines()[1]  # said before the slow part starts
    assert "pip install --quiet -e" not in recipe  # pip shows each package as it installs
