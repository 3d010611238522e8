"""twin-prior through the runner and the store: what its model says about itself is kept with every proposal and
shown by ``campaign status``, with a warning when no parameter set fits (structural error)."""

from __future__ import annotations

from campaigns.runner import model_summary
from campaigns.store import CampaignStore
from sputter_twin.cli.main import main
from tests.campaigns.helpers import small_campaign

SETTINGS = "n_search = 300\nn_candidates = 200\nn_samples = 128\nn_members = 6"


def test_each_proposal_keeps_the_models_diagnostics_and_status_shows_them(tmp_path, capsys):
    cfile = small_campaign(tmp_path, budget=4, strategy="twin-prior", settings=SETTINGS)
    store = tmp_path / "tp.sqlite"
    assert main(["campaign", "run", str(cfile), "--store", str(store)]) == 0
    capsys.readouterr()
    with CampaignStore(store) as s:
        trials = s.trials(s.campaigns()[0].id)
    models = [t.provenance.get("model") for t in trials]
    assert models[0] == {}  # the first proposal (the twin's optimum) has no runs behind it
    last = models[-1]
    assert last["n_runs"] >= 2 and "reduced_chi2" in last and 0.0 <= last["twin_weight"] <= 1.0
    assert last["calibrated"] and set(last["parameters"]) == set(last["calibrated"])
    for fit in last["parameters"].values():
        assert fit["low95"] <= fit["value"] <= fit["high95"]
    assert main(["campaign", "status", "--store", str(store)]) == 0
    out = capsys.readouterr().out
    assert f"model at trial {trials[-1].id}" in out and "twin weight" in out and "WARNING" not in out


def test_a_structural_error_is_a_warning_in_the_status_line():
    class T:
        def __init__(self, i, model):
            self.id, self.provenance = i, {"model": model}

    fine = {"n_runs": 12, "twin_weight": 1.0, "reduced_chi2": 1.1, "structural": False, "parameters": {}}
    bad = {"n_runs": 14, "twin_weight": 0.0, "reduced_chi2": 25.0, "structural": True, "parameters": {}}
    assert "WARNING" not in model_summary([T(1, fine)])
    line = model_summary([T(1, fine), T(2, bad)])
    assert line.startswith("model at trial 2 (14 runs): twin weight 0.00; reduced χ² 25.00")
    assert "WARNING structural error: no parameter set of the twin fits the measured runs" in line
    assert model_summary([T(1, {})]) is None
