"""A multi-objective campaign on the emulated tool over OPC UA: the goals are what the mapping reads back (process
time) and what a person enters (R_int, while the trial awaits its measurement); the front follows the measurement."""

from __future__ import annotations

import pandas as pd

from campaigns.store import CampaignStore
from sputter_twin.cli.main import main

from .conftest import MAPPING_A

CAMPAIGN = """
[campaign]
name = "opcua-mo"
budget = 2
seed = 5

[[objectives]]
field = "interface_resistance_ohm_cm2"
log = true
[[objectives]]
field = "process_time_s"

[constraints]
outcomes = ["interface_resistance_ohm_cm2 <= 12"]

[strategy]
name = "random"

[space]
rf_power_w = [60.0, 200.0]
pressure_pa = [0.3, 1.5]

[fixed]
target_thickness_nm = 20.0
seed_thickness_nm = 0.0
pumpdown_min = 10.0
presputter_min = 3.0

[tool]
type = "opcua"
endpoint = "{endpoint}"
mapping = "{mapping}"
require_approval = true
"""


def _cli(*argv) -> int:
    return main([str(a) for a in argv])


def test_two_goal_campaign_on_the_tool_front_follows_the_entered_measurements(tmp_path, emulator, capsys):
    emu = emulator()
    camp = tmp_path / "mo.toml"
    camp.write_text(CAMPAIGN.format(endpoint=emu.endpoint, mapping=MAPPING_A))
    store = tmp_path / "s.sqlite"
    for r_int in (9.5, 14.0):  # the second breaks the outcome constraint R_int <= 12
        assert _cli("campaign", "run", camp, "--store", store, "--no-progress") == 0
        with CampaignStore(store, create=False) as s:
            (t,) = [t for t in s.trials(1) if t.state == "proposed"]
        assert _cli("campaign", "approve", t.id, "--store", store, "--reviewer", "alice") == 0
        assert _cli("campaign", "run", camp, "--store", store, "--no-progress") == 0
        with CampaignStore(store, create=False) as s:
            assert s.trial(t.id).state == "awaiting_measurement"  # the tool gives no R_int
        assert _cli("campaign", "measure", t.id, "--interface-resistance", r_int, "--store", store,
                    "--actor", "bob") == 0
    capsys.readouterr()
    assert _cli("campaign", "status", "--store", store) == 0
    out = capsys.readouterr().out
    rows = [line.split() for line in out.splitlines() if line.strip()[:1].isdigit() and " done " in f" {line} "]
    assert len(rows) == 2
    assert rows[0][2] == "9.50" and rows[0][-2:] == ["yes", "yes"]  # feasible, on the front
    assert rows[1][2] == "14.0" and "no" in rows[1] and "breaks" in rows[1]
    out_csv = tmp_path / "x.csv"
    assert _cli("campaign", "export", "--store", store, "--format", "csv", "--out", out_csv) == 0
    df = pd.read_csv(out_csv)
    assert df["on_pareto_front"].tolist() == [True, False] and df["feasible"].tolist() == [True, False]
    assert df["process_time_s"].notna().all()  # read back from the tool
