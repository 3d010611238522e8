"""The static HTML report of a campaign."""

from __future__ import annotations

import pytest

from campaigns.config import CampaignConfig
from campaigns.errors import CampaignError
from campaigns.runner import Runner, open_campaign
from campaigns.store import CampaignStore
from dashboards.report import report_html, write_report
from tests.campaigns.helpers import small_campaign
from twin import Chamber


@pytest.fixture
def store(tmp_path):
    config = CampaignConfig.from_toml(small_campaign(tmp_path, budget=5))
    s = CampaignStore(tmp_path / "s.sqlite")
    cid = open_campaign(s, config, Chamber())
    Runner(s, cid).run()
    yield s, cid, config
    s.close()


def test_report_is_one_self_contained_file_with_the_figures_and_best_recipe(store, tmp_path):
    s, cid, config = store
    path = write_report(s, cid, tmp_path / "report.html")
    html = path.read_text(encoding="utf-8")
    assert html.count("<script src=") == 0 and html.count("plotly.js v") >= 1  # plotly inlined once
    for text in ("Campaign small", "Convergence", "Each searched field", "Best recipe", "Haruta et al.",
                 "Trials", "strategy <b>gp</b>"):
        assert text in html, text
    best = min((t for t in s.trials(cid) if t.state == "done"), key=lambda t: t.interface_resistance_ohm_cm2)
    assert f"{best.interface_resistance_ohm_cm2:.2f} Ω·cm²" in html
    assert "recommended by the model: trial " in html  # the run gp's surrogate rates best
    for text in ("Event timeline", "Telemetry", "Surrogate partial dependence"):  # the review app's figures
        assert text in html, text
    assert not (tmp_path / "report.html.tmp").exists()


def test_report_of_an_empty_campaign_and_a_missing_folder(tmp_path):
    config = CampaignConfig.from_toml(small_campaign(tmp_path))
    with CampaignStore(tmp_path / "e.sqlite") as s:
        cid = open_campaign(s, config, Chamber())
        html = report_html(s.to_dataframe(cid), config)
        assert "no trials" in html
        with pytest.raises(CampaignError, match="folder does not exist"):
            write_report(s, cid, tmp_path / "nope" / "r.html")
