"""``examples/past_runs.csv`` is what ``examples/past_runs.py`` writes (seeded), and imports into the campaign the
README imports it into."""

from __future__ import annotations

import subprocess
import sys

from campaigns.config import CampaignConfig
from campaigns.importer import read_past_runs
from tests.conftest import EXAMPLES, ROOT
from twin import Chamber


def test_the_example_file_is_the_seeded_script_output(tmp_path):
    out = tmp_path / "past_runs.csv"
    proc = subprocess.run([sys.executable, str(EXAMPLES / "past_runs.py"), "--out", str(out)], cwd=ROOT,
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    assert out.read_bytes() == (EXAMPLES / "past_runs.csv").read_bytes()


def test_the_example_file_reads_as_50_runs_of_the_throughput_campaign_in_lab_units():
    config = CampaignConfig.from_toml(EXAMPLES / "campaigns" / "lipon_throughput.toml")
    header = (EXAMPLES / "past_runs.csv").read_text().splitlines()[0].split(",")
    lab_units = {"pressure_mtorr", "target_substrate_distance_cm", "pumpdown_h", "n2_percent", "process_time_h"}
    assert lab_units <= set(header)
    runs = read_past_runs(EXAMPLES / "past_runs.csv", config, Chamber())
    assert len(runs) == 50 and {r.state for r in runs} <= {"done", "failed"}
    assert all(config.space.dimensions[3].low <= r.recipe["pressure_pa"] <= config.space.dimensions[3].high
               for r in runs)
