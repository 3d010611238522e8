"""Multi-objective campaign files: ``[[objectives]]``, ``reference_point`` and ``[constraints] outcomes``, and the
bad inputs that must end in one line and exit status 2 (the store untouched)."""

from __future__ import annotations

import math
import tomllib
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from campaigns.config import CampaignConfig, Objective
from campaigns.errors import CampaignError
from campaigns.objectives import RESULT_FIELDS, Goal, MultiObjective
from sputter_twin.cli.main import main
from tests.campaigns.mo_helpers import GOALS, mo_campaign, mo_text

REPO = Path(__file__).resolve().parents[2]


def test_objectives_outcomes_and_hard_rules_are_read_into_a_multi_objective():
    goals = GOALS + '[[objectives]]\nfield = "ionic_conductivity_s_cm"\ndirection = "maximize"\nlog = true\n' \
                    'reference = 1e-8\n'
    cfg = CampaignConfig.from_text(mo_text(goals=goals, top="reference_point = [60.0, 30000.0, 1e-8]")
                                   .replace("reference = 1e-8\n", ""))
    mo = cfg.objective
    assert cfg.is_multi and isinstance(mo, MultiObjective)
    assert mo.goals == (Goal("interface_resistance_ohm_cm2", "minimize", True, 60.0),
                        Goal("process_time_s", "minimize", False, 30000.0),
                        Goal("ionic_conductivity_s_cm", "maximize", True, 1e-8))
    assert [str(c) for c in mo.constraints] == ["interface_resistance_ohm_cm2 <= 30"]
    assert mo.hard == Objective(max_process_time_h=72.0, thickness_tolerance=0.10)
    assert mo.reference_scores().tolist() == pytest.approx([math.log10(60.0), 30000.0, 8.0])
    assert not CampaignConfig.from_text(mo_text(goals="", outcomes="")).is_multi  # no [[objectives]]: one objective


@pytest.mark.parametrize("change, key, words", [
    (("field = \"process_time_s\"", "field = \"speed_of_light\""), "objectives[2].field", "unknown result field"),
    (("field = \"process_time_s\"", "field = \"interface_resistance_ohm_cm2\""), "objectives[2].field",
     "already the field of objectives[1]"),
    (("field = \"process_time_s\"", "field = \"process_time_s\"\ndirection = \"up\""), "objectives[2].direction",
     "not a direction"),
    (("field = \"process_time_s\"", "field = \"damaged_layer_nm\"\nlog = true"), "objectives[2].log",
     "cannot take its log"),
    (("log = true\n", "log = true\nreference = -5.0\n"), "objectives[1].reference", "positive with log"),
    (("log = true\n", "log = true\nweight = 2.0\n"), "objectives[1].weight", "unknown key"),
    (("log = true\n", "log = \"yes\"\n"), "objectives[1].log", ""),
    (("[[objectives]]\nfield = \"process_time_s\"\n", ""), "objectives", "two goals or more"),
    (("[[objectives]]\nfield = \"process_time_s\"\n", "[[objectives]]\nlog = true\n"), "objectives[2].field",
     "names a result field"),
])
def test_a_bad_goal_is_one_line_naming_the_goal(change, key, words):
    text = mo_text().replace(*change)
    with pytest.raises(CampaignError) as info:
        CampaignConfig.from_text(text, source="c.toml")
    msg = str(info.value)
    assert "\n" not in msg and msg.startswith(f"c.toml: {key} = ") and words in msg


@pytest.mark.parametrize("text_change, key, words", [
    ({"top": "reference_point = [60.0]"}, "reference_point", "has 1 components for 2 goals"),
    ({"top": "reference_point = [60.0, 1.0, 2.0]"}, "reference_point", "has 3 components for 2 goals"),
    ({"top": "reference_point = [0.0, 100.0]"}, "reference_point[1]", "positive"),
    ({"top": "reference_point = [\"a\", 100.0]"}, "reference_point", "list of numbers"),
    ({"outcomes": 'outcomes = ["interface_resistance_ohm_cm2 < 30"]'}, "constraints.outcomes", "FIELD <= NUMBER"),
    ({"outcomes": 'outcomes = ["sheet_resistance <= 30"]'}, "constraints.outcomes", "unknown result field"),
    ({"outcomes": 'outcomes = "interface_resistance_ohm_cm2 <= 30"'}, "constraints.outcomes", "list of strings"),
    ({"strategy": "gp"}, "strategy.name", "optimises one objective"),
])
def test_a_bad_reference_point_outcome_or_strategy_is_one_line(text_change, key, words):
    with pytest.raises(CampaignError) as info:
        CampaignConfig.from_text(mo_text(**text_change), source="c.toml")
    msg = str(info.value)
    assert "\n" not in msg and msg.startswith(f"c.toml: {key} = ") and words in msg


def test_objective_and_objectives_together_and_outcomes_without_goals_are_refused():
    both = mo_text().replace("[constraints]", '[objective]\nminimize = "interface_resistance_ohm_cm2"\n\n'
                                               "[constraints]")
    with pytest.raises(CampaignError, match=r"objectives = .*not both"):
        CampaignConfig.from_text(both)
    with pytest.raises(CampaignError, match=r"constraints.outcomes = .*only a campaign with several goals"):
        CampaignConfig.from_text(mo_text(goals=""))
    with pytest.raises(CampaignError, match=r"reference_point = .*only a campaign with several goals"):
        CampaignConfig.from_text(mo_text(goals="", outcomes="", top="reference_point = [1.0, 2.0]"))


_value = st.one_of(st.sampled_from([*RESULT_FIELDS, "minimize", "maximize", "", "x"]), st.booleans(),
                   st.floats(allow_nan=True, allow_infinity=True), st.integers(-10, 10),
                   st.lists(st.integers(), max_size=2))
_goal = st.dictionaries(st.sampled_from(["field", "direction", "log", "reference", "weight"]), _value, max_size=5)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(goals=st.lists(_goal, max_size=5), ref=st.none() | st.lists(st.floats(-1e3, 1e3), max_size=4))
def test_fuzzed_objectives_tables_parse_consistently_or_fail_with_one_line(goals, ref):
    """Any ``[[objectives]]`` array either gives goals equal to what was written or one CampaignError line."""
    from campaigns.config_objectives import multi_objective

    try:
        mo = multi_objective(goals, ref, None, Objective())
    except CampaignError as exc:
        assert "\n" not in str(exc) and (exc.field.startswith(("objectives", "reference_point")))
        return
    assert len(mo.goals) == len(goals) >= 2 and len(set(mo.fields)) == len(goals)
    for g, table in zip(mo.goals, goals, strict=True):
        assert g.field == table["field"] and g.direction == table.get("direction", "minimize")
        assert g.log == bool(table.get("log", False))
        if ref is not None:
            assert g.reference == pytest.approx(ref[mo.goals.index(g)])
    refs = mo.reference_scores()  # every component given: the reference point in scores, finite
    assert (refs is None) == any(g.reference is None for g in mo.goals)
    assert refs is None or all(math.isfinite(x) for x in refs)


# -- through the command line: one line, exit status 2, nothing stored ---------------------------------------
@pytest.mark.parametrize("kw, words", [
    ({"goals": GOALS.replace("process_time_s", "speed_of_light")}, "objectives[2].field = 'speed_of_light'"),
    ({"top": "reference_point = [60.0, 1.0, 2.0]"}, "reference_point = "),
    ({"goals": GOALS.replace('field = "process_time_s"', 'field = "interface_resistance_ohm_cm2"')},
     "objectives[2].field = 'interface_resistance_ohm_cm2'"),
])
def test_campaign_run_refuses_bad_goals_with_exit_2_and_no_store(tmp_path, capsys, kw, words):
    camp = mo_campaign(tmp_path, **kw)
    store = tmp_path / "s.sqlite"
    assert main(["campaign", "run", str(camp), "--store", str(store), "--no-progress"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and str(camp) in err and words in err and "Traceback" not in err
    assert not store.exists()


OPCUA_TOOL = f"""type = "opcua"
endpoint = "opc.tcp://127.0.0.1:9/nobody"
mapping = "{REPO / 'examples/hardware/rf_a_si.toml'}"
require_approval = true"""


def test_a_goal_or_constraint_the_attached_tool_cannot_measure_is_refused_before_anything_is_stored(tmp_path,
                                                                                                     capsys):
    """rf-a's mapping reads back thickness and process time; R_int is entered by `campaign measure`; nothing
    gives the ionic conductivity, so neither a goal nor a constraint may name it."""
    goal = GOALS + '[[objectives]]\nfield = "ionic_conductivity_s_cm"\ndirection = "maximize"\n'
    for kw, key in (({"goals": goal}, "objectives[3].field"),
                    ({"outcomes": 'outcomes = ["ionic_conductivity_s_cm >= 1e-7"]'}, "constraints.outcomes")):
        camp = mo_campaign(tmp_path, tool=OPCUA_TOOL, **kw)
        store = tmp_path / "s.sqlite"
        for cmd in (["run", str(camp), "--no-progress"], ["propose", str(camp)]):
            assert main(["campaign", *cmd, "--store", str(store)]) == 2
            err = capsys.readouterr().err
            assert err.count("\n") == 1 and f"{key} = 'ionic_conductivity_s_cm'" in err
            assert "cannot measure" in err and "interface_resistance_ohm_cm2 | process_time_s" in err
            assert not store.exists()


def test_the_attached_tool_measures_what_its_mapping_reads_back_and_the_entered_r_int():
    from campaigns.tool_outcomes import check_tool_outcomes
    from hardware.mapping import Mapping
    from twin import load_tool

    mapping = Mapping.from_toml(REPO / "examples/hardware/rf_a_si.toml")
    assert mapping.measured_fields() == {"thickness_nm", "process_time_s", "interface_resistance_ohm_cm2"}
    cfg = CampaignConfig.from_text(mo_text(tool=OPCUA_TOOL))  # R_int and process time: both measurable
    tool = load_tool("opcua").from_config(tomllib.loads(OPCUA_TOOL))
    check_tool_outcomes(cfg, tool)  # no error
    simulated = load_tool("simulated").from_config({"type": "simulated"})
    goal = GOALS + '[[objectives]]\nfield = "ionic_conductivity_s_cm"\n'
    check_tool_outcomes(CampaignConfig.from_text(mo_text(goals=goal)), simulated)  # the twin measures everything
