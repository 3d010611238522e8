"""Entering a measured interface resistance without a browser: the form's parsing, the store call behind it and
its parity with ``sputter-twin campaign measure``."""

from __future__ import annotations

import math

import pytest

from campaigns.errors import TrialStateError
from campaigns.store import CampaignStore
from dashboards.data import ReviewData, history_rows, open_store
from dashboards.errors import DashboardError
from dashboards.measure import (
    MEASURE_ALLOWED,
    MEASURE_FIELD,
    awaiting_options,
    conflict_message,
    measurement_rows,
    parse_measurement,
)
from dashboards.sample_store import add_awaiting_measurement
from sputter_twin.cli.main import main


def _dump(path) -> list[str]:
    with CampaignStore(path, create=False) as s:
        return list(s._db.iterdump())


@pytest.fixture
def awaiting(store_path):
    """The sample store with two trials awaiting their measurement: ``(path, [trial ids])``."""
    return store_path, add_awaiting_measurement(store_path, 2)


@pytest.mark.parametrize(("text", "expected"), [("9.5", 9.5), (" 12 ", 12.0), ("1e1", 10.0), ("0.5", 0.5),
                                                (7, 7.0), (8.25, 8.25)])
def test_parse_reads_numbers_as_the_cli_does(text, expected):
    assert parse_measurement(text) == expected == float(str(text).strip())


@pytest.mark.parametrize("text", ["nan", "NaN", "-3", "0", "inf", "1e999"])
def test_parse_leaves_range_to_the_store(text):
    """Numbers outside the range are numbers: the store refuses them, as it does for the command line."""
    v = parse_measurement(text)
    assert not (math.isfinite(v) and v > 0)


@pytest.mark.parametrize(("text", "problem"), [("", "no value entered"), ("   ", "no value entered"),
                                               (None, "no value entered"), ("abc", "not a number"),
                                               ("9,5", "not a number"), ("9.5 Ohm", "not a number"),
                                               (True, "not a number")])
def test_parse_refuses_text_that_is_no_number(text, problem):
    with pytest.raises(DashboardError) as err:
        parse_measurement(text)
    e = err.value
    assert (e.field, e.problem, e.allowed) == (MEASURE_FIELD, problem, MEASURE_ALLOWED)
    assert str(e).count("\n") == 0 and MEASURE_FIELD in str(e) and MEASURE_ALLOWED in str(e)


def test_allowed_range_is_the_stores(awaiting):
    path, (tid, _) = awaiting
    with CampaignStore(path, create=False) as s, pytest.raises(TrialStateError) as err:
        s.record_measurement(tid, -1.0, "x")
    assert (err.value.field, err.value.allowed) == (MEASURE_FIELD, MEASURE_ALLOWED)


@pytest.mark.parametrize("text", ["-3", "0", "nan", "NaN", "inf", "1e999", "abc", "", "-0.0"])
def test_bad_values_are_refused_naming_field_value_and_range_and_nothing_is_written(awaiting, text):
    path, (tid, _) = awaiting
    before = _dump(path)
    data = ReviewData(open_store(path))
    with pytest.raises(DashboardError) as err:
        data.measure(tid, text, "Ann")
    msg = str(err.value)
    assert msg.startswith(f"{MEASURE_FIELD} = {text.strip()!r}: ") and msg.endswith(f"(allowed: {MEASURE_ALLOWED})")
    data.store.close()
    assert _dump(path) == before


def test_a_name_is_needed(awaiting):
    path, (tid, _) = awaiting
    before = _dump(path)
    data = ReviewData(open_store(path))
    for actor in ("", "   ", None):
        with pytest.raises(DashboardError, match="measured by = ''"):
            data.measure(tid, "9.5", actor)
    data.store.close()
    assert _dump(path) == before


def test_page_and_cli_write_the_same_measurement(awaiting, capsys):
    """The page's write and ``campaign measure``'s are the same store call: same trial, same event-log entry."""
    path, (page_tid, cli_tid) = awaiting
    data = ReviewData(open_store(path))
    t = data.measure(page_tid, " 9.5 ", " Ann ")
    assert (t.state, t.interface_resistance_ohm_cm2, t.result["measured_by"]) == ("done", 9.5, "Ann")
    code = main(["campaign", "measure", str(cli_tid), "--interface-resistance", "9.5", "--store", str(path),
                 "--actor", "Ann"])
    assert code == 0 and "recorded; done" in capsys.readouterr().out

    def entry(tid):
        (e,) = [e for e in data.store.events(trial_id=tid) if e.kind == "measure"]
        return e.actor, e.kind, e.from_state, e.to_state, e.detail

    assert entry(page_tid) == entry(cli_tid) == ("Ann", "measure", "awaiting_measurement", "done",
                                                {MEASURE_FIELD: 9.5})
    a, b = data.trial(page_tid), data.trial(cli_tid)
    assert a.result.keys() == b.result.keys()
    assert (a.result[MEASURE_FIELD], a.result["measured_by"]) == (b.result[MEASURE_FIELD], b.result["measured_by"])
    # what the history table and the measurements table show
    rows, cols = history_rows(data.trials(1))
    row = next(r for r in rows if r["trial_id"] == page_tid)
    assert "measured_by" in cols and (row["state"], row["R_int"], row["measured_by"]) == ("done", 9.5, "Ann")
    shown = measurement_rows(data.store.events(campaign_id=1), data.trials(1))
    assert [(r["trial"], r["R_int [Ω·cm²]"], r["measured by"]) for r in shown] == [
        (f"trial {b.id}", 9.5, "Ann"), (f"trial {a.id}", 9.5, "Ann")]
    assert awaiting_options(data.trials(1)) == []
    data.store.close()


def test_a_second_measurement_is_refused_and_the_first_stays(awaiting):
    """As on the command line: the store takes one measurement per trial; a second is a state conflict."""
    path, (tid, _) = awaiting
    data = ReviewData(open_store(path))
    data.measure(tid, "9.5", "Ann")
    with pytest.raises(TrialStateError):
        data.measure(tid, "12", "Ben")
    now = data.trial(tid)
    assert (now.interface_resistance_ohm_cm2, now.result["measured_by"]) == (9.5, "Ann")
    assert conflict_message(now, 12.0) == (f"Trial {now.id} was already measured by Ann: 9.5 Ω·cm² stays "
                                           "recorded; your value 12 Ω·cm² was not recorded.")
    assert len([e for e in data.store.events(trial_id=tid) if e.kind == "measure"]) == 1
    # a trial that never awaited a measurement (a proposal) is refused the same way
    proposal = next(t for t in data.trials(1) if t.state == "proposed")
    with pytest.raises(TrialStateError):
        data.measure(proposal.id, "9.5", "Ann")
    assert "is proposed, not awaiting measurement" in conflict_message(data.trial(proposal.id), 9.5)
    data.store.close()
