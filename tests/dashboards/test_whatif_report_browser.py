"""The what-if report in a real headless Chromium: a 100-variation study (the example's 5 x 4 x 5 grid, 3 replicates
run in this process), the page opened from its file, and what plotly.js actually drew read back from the page.

Screenshots go to ``test-output/dashboards/``.
"""

from __future__ import annotations

import math
import tomllib

import numpy as np
import pytest

from campaigns.whatif import Plan, Scenario, run_chunk, summarize
from dashboards.whatif_report import FIGURE_IDS, pair_grid, write_report
from tests.conftest import EXAMPLES

pytestmark = pytest.mark.timeout(180)

R_INT = "interface_resistance_ohm_cm2"
SPEC = 20.0


@pytest.fixture(scope="module")
def report(tmp_path_factory):
    """The example scenario's 100 variations with 3 replicates each (300 runs), no sensitivity design."""
    doc = tomllib.loads((EXAMPLES / "scenarios" / "leak_pumpdown_target.toml").read_text(encoding="utf-8"))
    doc["scenario"]["replicates"] = 3
    doc["sensitivity"] = {"method": "none"}
    plan = Plan(Scenario.from_dict(doc, base_dir=EXAMPLES / "scenarios", source="leak_pumpdown_target.toml"))
    runs = run_chunk(plan, 0, plan.n_sequences).to_pandas()
    summary = summarize(runs, plan)
    factors = [f.name for f in plan.scenario.factors]
    path = tmp_path_factory.mktemp("whatif") / "report.html"
    write_report(path, title="100 variations", description="", summary=summary, sensitivity=None, runs=runs,
                 factors=factors, grid_factors=[f.name for f in plan.scenario.grid_factors],
                 spec_max_ohm_cm2=SPEC)
    return path, runs, summary, factors


def _open(page, path):
    page.goto(path.as_uri())
    for div in (FIGURE_IDS["distribution"], FIGURE_IDS["heatmap"]):
        page.wait_for_function(f"document.getElementById('{div}')?._fullLayout?.xaxis?.range !== undefined")


def test_distribution_axis_stays_at_the_data_and_every_label_is_readable(page, report, screenshot_dir):
    path, runs, summary, _ = report
    assert len(summary) == 100
    _open(page, path)
    div = FIGURE_IDS["distribution"]
    lo, hi = page.evaluate(f"document.getElementById('{div}')._fullLayout.xaxis.range")  # log10 units
    assert page.evaluate(f"document.getElementById('{div}')._fullLayout.xaxis.type") == "log"
    data_lo, data_hi = math.log10(runs[R_INT].min()), math.log10(runs[R_INT].max())
    # the drawn range holds the data and the spec line and reaches no further than a factor of 2 beyond them
    assert lo <= min(data_lo, math.log10(SPEC)) and hi >= max(data_hi, math.log10(SPEC))
    assert lo >= data_lo - math.log10(2.0) and hi <= data_hi + math.log10(2.0)
    # one horizontal label per variation, none overlapping another: all 100 can be read
    boxes = page.evaluate(f"""Array.from(document.querySelectorAll('#{div} .ytick text')).map(t => {{
        const r = t.getBoundingClientRect(); return [r.top, r.bottom, r.width, r.height, t.textContent]; }})""")
    assert len(boxes) == 100
    assert all(w > h for _, _, w, h, _ in boxes)  # written across, not rotated
    tops = sorted((top, bottom) for top, bottom, *_ in boxes)
    assert all(b1 <= t2 for (_, b1), (t2, _) in zip(tops, tops[1:], strict=False))
    # rows in order of the median, lowest at the top
    shown = [text for *_, text in sorted(boxes)]
    medians = runs.groupby("variation")[R_INT].median()
    first, last = summary.loc[medians.idxmin()], summary.loc[medians.idxmax()]
    assert shown[0].startswith(f"leak_rate_per_h={first['events.leak_rate_per_h']:g},")
    assert shown[-1].startswith(f"leak_rate_per_h={last['events.leak_rate_per_h']:g},")
    page.locator(f"#{div}").screenshot(path=screenshot_dir / "whatif_distribution.png")


def test_heat_map_dropdown_shows_each_pair_of_factors(page, report, screenshot_dir):
    path, runs, _, factors = report
    _open(page, path)
    div = FIGURE_IDS["heatmap"]

    def shown():
        return page.evaluate(f"""(() => {{ const g = document.getElementById('{div}');
            const vis = g._fullData.filter(t => t.visible === true);
            return {{x: g._fullLayout.xaxis.title.text, y: g._fullLayout.yaxis.title.text,
                     ticks: g._fullLayout.xaxis.ticktext, z: vis.map(t => t.z), n: vis.length}}; }})()""")

    first = shown()
    assert (first["x"], first["y"], first["n"]) == (factors[0], factors[1], 2)
    la, _, r_med, ok = pair_grid(runs, factors[0], factors[1])
    assert first["ticks"] == la
    np.testing.assert_allclose(np.array(first["z"][0], dtype=float), r_med)  # the median R_int drawn
    np.testing.assert_allclose(np.array(first["z"][1], dtype=float), ok)  # and the yield
    # choose the last pair (pumpdown x target wear) in the dropdown, as a reader would
    page.click(f"#{div} .updatemenu-header-group")
    page.locator(f"#{div} .updatemenu-dropdown-button").nth(2).click()
    page.wait_for_function(f"document.getElementById('{div}')._fullLayout.xaxis.title.text === '{factors[1]}'")
    last = shown()
    assert (last["x"], last["y"], last["n"]) == (factors[1], factors[2], 2)
    _, _, r_med, _ = pair_grid(runs, factors[1], factors[2])
    np.testing.assert_allclose(np.array(last["z"][0], dtype=float), r_med)
    page.locator(f"#{div}").screenshot(path=screenshot_dir / "whatif_heatmap.png")
