"""``sputter-twin campaign``: commands, and bad input → exit 2, one line on stderr, the store unchanged."""

from __future__ import annotations

import hashlib
import os
import sqlite3
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

from campaigns.store import CampaignStore
from sputter_twin.cli.main import main
from tests.campaigns.helpers import small_campaign
from tests.conftest import EXAMPLES

EXE = Path(sys.executable).with_name("sputter-twin")


def _digest(path: Path) -> str:
    h = hashlib.sha256()
    for p in sorted(path.parent.glob(path.name + "*")):
        h.update(p.name.encode() + p.read_bytes())
    return h.hexdigest()


def _run(capsys, *argv) -> tuple[int, str, str]:
    rc = main(list(map(str, argv)))
    out, err = capsys.readouterr()
    return rc, out, err


@pytest.fixture
def ran(tmp_path, capsys):
    """A store holding a small finished campaign."""
    cfile = small_campaign(tmp_path, budget=5)
    store = tmp_path / "s.sqlite"
    rc, out, err = _run(capsys, "campaign", "run", cfile, "--store", store, "--no-progress")
    assert rc == 0, err
    assert "budget spent; 5/5 runs" in out and "8.6 Ω·cm²" in out
    return cfile, store


def test_run_status_export_report(ran, tmp_path, capsys):
    cfile, store = ran
    rc, out, _ = _run(capsys, "campaign", "status", "--store", store)
    assert rc == 0 and "campaign small" in out and out.count(" done ") + out.count(" failed ") >= 5
    assert "recommended by the model: trial " in out and "predicted objective " in out  # gp has a model
    for fmt, name in (("csv", "t.csv"), ("parquet", "t.parquet")):
        rc, out, _ = _run(capsys, "campaign", "export", "--store", store, "--format", fmt, "--out", tmp_path / name)
        assert rc == 0
    csv = pd.read_csv(tmp_path / "t.csv")
    pq = pd.read_parquet(tmp_path / "t.parquet")
    assert len(csv) == len(pq) == 5
    for col in ("trial_id", "state", "rf_power_w", "interface_resistance_ohm_cm2", "proposed_at", "finished_at"):
        assert col in csv.columns and col in pq.columns
    rc, out, _ = _run(capsys, "campaign", "report", "--store", store, "--html", tmp_path / "r.html")
    html = (tmp_path / "r.html").read_text(encoding="utf-8")
    assert rc == 0 and "Convergence" in html and "Best recipe" in html and "<script" in html
    assert "<script src=" not in html and len(html) > 1_000_000  # self-contained: plotly.js inlined
    # resuming a finished campaign runs nothing more; a larger budget continues it
    rc, out, _ = _run(capsys, "campaign", "run", cfile, "--store", store, "--no-progress", "--budget", "6")
    assert rc == 0 and "6/6 runs used, 1 in this invocation" in out


def test_review_flow_propose_approve_reject_measure(tmp_path, capsys):
    cfile = small_campaign(tmp_path, budget=4, batch=2, approval=True)
    store = tmp_path / "r.sqlite"
    rc, out, _ = _run(capsys, "campaign", "propose", cfile, "--store", store)
    assert rc == 0 and "proposed trial 1, trial 2" in out
    rc, _, err = _run(capsys, "campaign", "propose", "--store", store)
    assert rc == 2 and "pending" in err
    rc, out, _ = _run(capsys, "campaign", "approve", "trial 1", "--store", store, "--reviewer", "alice")
    assert rc == 0 and "trial 1 approved by alice" in out  # the trial as every surface names it is accepted
    rc, _, err = _run(capsys, "campaign", "approve", "1", "--store", store, "--reviewer", "bob")
    assert rc == 2 and "cannot approve a trial that is approved" in err and len(err.splitlines()) == 1
    rc, out, _ = _run(capsys, "campaign", "reject", "2", "--store", store, "--reviewer", "bob", "--comment", "no")
    assert rc == 0
    rc, out, _ = _run(capsys, "campaign", "run", cfile, "--store", store, "--no-progress")
    assert rc == 0 and "1 in this invocation" in out and "await approval" in out
    rc, _, err = _run(capsys, "campaign", "measure", "1", "--interface-resistance", "9", "--store", store)
    assert rc == 2 and "awaiting_measurement" in err


def test_a_trial_number_in_another_form_is_refused_in_one_line(tmp_path, capsys):
    cfile = small_campaign(tmp_path, budget=4, batch=2, approval=True)
    store = tmp_path / "r.sqlite"
    assert _run(capsys, "campaign", "propose", cfile, "--store", store)[0] == 0
    for bad in ("#1", "one", "trial -1"):  # "#1" was how older versions showed a campaign position
        with pytest.raises(SystemExit) as exit_:
            main(["campaign", "approve", bad, "--store", str(store), "--reviewer", "alice"])
        out, err = capsys.readouterr()
        assert exit_.value.code == 2 and len(err.strip().splitlines()) == 1 and "not a trial number" in err and not out
    with CampaignStore(store, create=False) as s:
        assert [t.state for t in s.trials(1)] == ["proposed", "proposed"]


def _numbers_beyond_precision(text: str) -> list[str]:
    """Numbers printed with more than 4 decimals (a 15-digit float, say)."""
    import re

    return re.findall(r"\d+\.\d{5,}", text)


def test_status_and_propose_show_predictions_units_and_the_budget_in_force(tmp_path, capsys):
    cfile = small_campaign(tmp_path, budget=30, batch=2)  # the file says 30; gp models from the 5th trial on
    store = tmp_path / "s.sqlite"
    rc, out, err = _run(capsys, "campaign", "run", cfile, "--store", store, "--budget", "6", "--no-progress")
    assert rc == 0, err
    rc, proposed_out, err = _run(capsys, "campaign", "propose", "--store", store)
    assert rc == 0, err
    assert "proposed trial 7, trial 8" in proposed_out and "predicted ±1σ" in proposed_out
    assert not _numbers_beyond_precision(proposed_out)
    rc, out, _ = _run(capsys, "campaign", "status", "--store", store)
    assert rc == 0
    assert "budget 6)" in out.splitlines()[0] and "budget 30" not in out
    head, units = out.splitlines()[1:3]
    for name in ("trial", "state", "rf_power_w", "seed_thickness_nm", "pressure_pa", "pumpdown_min", "R_int",
                 "predicted", "predicted ±1σ", "P(fail)"):
        assert name in head.split("  ") or f" {name} " in f" {head} ", name  # whole names, never cut
    for unit in ("W", "nm", "Pa", "min", "Ω·cm²", "%"):
        assert f" {unit}" in units
    assert not _numbers_beyond_precision(out)
    with CampaignStore(store, create=False) as s:
        proposed = [t for t in s.trials(1) if t.predicted_mean is not None]
    assert proposed, "gp proposals carry a prediction"
    t = proposed[-1]
    row = next(line for line in out.splitlines() if line.split()[:1] == [str(t.id)])
    assert f"{10 ** t.predicted_mean:.3g}".rstrip("0").rstrip(".") in row  # the prediction in Ω·cm², not log10
    assert f"{100 * t.predicted_failure:.1f}" in row  # P(fail) in %


def _bad_files(tmp_path: Path) -> dict[str, tuple[Path, str]]:
    good = small_campaign(tmp_path).read_text()
    cases = {
        "reversed": (good.replace("[30.0, 240.0]", "[240.0, 30.0]"), "space.rf_power_w"),
        "unknown_field": (good.replace("rf_power_w = [", "rf_powr_w = ["), "space.rf_powr_w"),
        "outside_limits": (good.replace("[30.0, 240.0]", "[30.0, 400.0]"), "tool's limits"),
        "budget_0": (good.replace("budget = 10", "budget = 0"), "campaign.budget"),
        "unknown_strategy": (good.replace('name = "gp"', 'name = "hillclimb"'), "strategy.name"),
        "unknown_tool": (good.replace('type = "simulated"', 'type = "laser"'), "tool.type"),
    }
    out = {}
    for name, (text, words) in cases.items():
        p = tmp_path / f"{name}.toml"
        p.write_text(text, encoding="utf-8")
        out[name] = (p, words)
    return out


@pytest.mark.parametrize("case", ["reversed", "unknown_field", "outside_limits", "budget_0", "unknown_strategy",
                                  "unknown_tool"])
def test_bad_campaign_files_exit_2_one_line_and_store_unchanged(ran, tmp_path, capsys, case):
    _, store = ran
    before = _digest(store)
    path, words = _bad_files(tmp_path)[case]
    rc, out, err = _run(capsys, "campaign", "run", path, "--store", store, "--no-progress")
    assert rc == 2 and len(err.splitlines()) == 1 and words in err and str(path) in err, err
    assert _digest(store) == before
    rc, _, err = _run(capsys, "campaign", "run", path, "--store", tmp_path / "fresh.sqlite")
    assert rc == 2 and not (tmp_path / "fresh.sqlite").exists()


@pytest.mark.parametrize("argv_extra", [("--budget", "0"), ("--seed", "-1"), ("--chamber", "missing.toml")])
def test_bad_options_exit_2_and_store_unchanged(ran, capsys, argv_extra):
    cfile, store = ran
    before = _digest(store)
    rc, _, err = _run(capsys, "campaign", "run", cfile, "--store", store, *argv_extra)
    assert rc == 2 and len(err.splitlines()) == 1
    assert _digest(store) == before


def test_newer_schema_store_is_refused_unchanged(ran, capsys):
    cfile, store = ran
    db = sqlite3.connect(store)
    db.execute("UPDATE meta SET value = '7' WHERE key = 'schema_version'")
    db.commit()
    db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    db.close()
    before = _digest(store)
    for argv in (("run", cfile, "--store", store), ("status", "--store", store),
                 ("approve", "1", "--store", store, "--reviewer", "a")):
        rc, _, err = _run(capsys, "campaign", *argv)
        assert rc == 2 and "newer" in err and len(err.splitlines()) == 1
    assert _digest(store) == before


def test_second_runner_on_a_busy_store_is_refused(ran, capsys):
    cfile, store = ran
    with CampaignStore(store) as s:
        (camp,) = s.campaigns()
        with s.runner_lock(camp.id):
            before = s.trials(camp.id)
            rc, _, err = _run(capsys, "campaign", "run", cfile, "--store", store, "--budget", "8")
            assert rc == 2 and "another runner" in err and len(err.splitlines()) == 1
            assert s.trials(camp.id) == before


def test_the_installed_command_runs_the_example_campaign(tmp_path):
    """The console script end to end, on the default 8-D campaign (3 runs)."""
    store = tmp_path / "ex.sqlite"
    proc = subprocess.run([str(EXE), "campaign", "run", str(EXAMPLES / "campaigns" / "lipon_interface.toml"),
                           "--store", str(store), "--budget", "3"], capture_output=True, text=True, timeout=120,
                          env={**os.environ, "PYTHONHASHSEED": "0"})
    assert proc.returncode == 0, proc.stderr
    assert "3/3 runs used" in proc.stdout and "Traceback" not in proc.stderr
