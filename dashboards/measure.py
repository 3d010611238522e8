"""Entering a measured interface resistance in the review app: the pure part (parse the form, word the outcome).

A run on a tool that cannot measure R_int waits in ``awaiting_measurement`` until someone measures it offline
(impedance spectroscopy) and enters the value, as ``sputter-twin campaign measure TRIAL --interface-resistance X``
does. The page parses the typed text as the command line parses its argument (Python's ``float``) and hands the
number to the same store method, :meth:`campaigns.store.CampaignStore.record_measurement`, which checks the range,
refuses a trial in any other state and writes the trial and its event-log row in one transaction. The page then
words what happened (:func:`success_message`, :func:`conflict_message`).
"""

from __future__ import annotations

import math
from typing import Any

from campaigns.records import trial_name
from campaigns.store import Trial, TrialEvent
from dashboards.errors import DashboardError

MEASURE_FIELD = "interface_resistance_ohm_cm2"
"""The field a measurement fills, named as the store and ``RunResult`` name it."""
MEASURE_ALLOWED = "> 0 Ω·cm²"
"""The range :meth:`~campaigns.store.CampaignStore.record_measurement` accepts, for text that is no number at all
(a number outside it is refused by the store itself, with its own wording; a test keeps the two equal)."""
AWAITING_MEASUREMENT = "awaiting_measurement"
"""The one state the store (and so ``campaign measure``) accepts a measurement in."""


def parse_measurement(value: Any) -> float:
    """The interface resistance typed into the page as a number [Ω·cm²], read as the CLI reads its argument.

    Only the reading is done here: ``"nan"``, ``"-3"`` or ``"1e999"`` (infinite) are numbers and come back as
    such, for the store to refuse with its own range check, exactly as it refuses them from the command line.

    Raises
    ------
    DashboardError
        Nothing entered, or text that is no number; the message names the field, the text and the range.

    Examples
    --------
    >>> parse_measurement(" 9.5 "), parse_measurement("1e1"), parse_measurement(12)
    (9.5, 10.0, 12.0)
    >>> math.isnan(parse_measurement("NaN"))
    True
    >>> parse_measurement("9,5 Ohm")
    Traceback (most recent call last):
    ...
    dashboards.errors.DashboardError: interface_resistance_ohm_cm2 = '9,5 Ohm': not a number (allowed: > 0 Ω·cm²)
    """
    if isinstance(value, int | float) and not isinstance(value, bool):
        return float(value)
    text = "" if value is None else str(value).strip()
    if not text:
        raise DashboardError(MEASURE_FIELD, text, "no value entered", MEASURE_ALLOWED)
    try:
        return float(text)
    except ValueError:
        raise DashboardError(MEASURE_FIELD, text, "not a number", MEASURE_ALLOWED) from None


def shown_value(value: Any) -> str:
    """The value as the person typed it, for messages (``"-3"``, not ``-3.0``).

    >>> shown_value(" -3 "), shown_value(None), shown_value(2.5)
    ('-3', '', '2.5')
    """
    return "" if value is None else str(value).strip()


def success_message(trial: Trial) -> str:
    """What the page says once the store recorded the measurement.

    >>> t = _example_trial("done", {"interface_resistance_ohm_cm2": 9.5, "measured_by": "Ann"})
    >>> success_message(t)
    'Trial 70: interface resistance 9.5 Ω·cm² recorded by Ann; the trial is done.'
    """
    by = (trial.result or {}).get("measured_by") or "?"
    return (f"Trial {trial.id}: interface resistance {trial.interface_resistance_ohm_cm2:g} Ω·cm² recorded by "
            f"{by}; the trial is {trial.state.replace('_', ' ')}.")


def conflict_message(trial: Trial, value: float) -> str:
    """What the page says when the store refused the measurement because of the trial's state: most often
    someone else measured it first (the store keeps the first value; a second one is never written over it).

    >>> t = _example_trial("done", {"interface_resistance_ohm_cm2": 9.5, "measured_by": "Ann"})
    >>> conflict_message(t, 12.0)
    'Trial 70 was already measured by Ann: 9.5 Ω·cm² stays recorded; your value 12 Ω·cm² was not recorded.'
    >>> conflict_message(_example_trial("running", None), 12.0)
    'Trial 70 is running, not awaiting measurement; your value 12 Ω·cm² was not recorded.'
    """
    res = trial.result or {}
    mine = f"your value {value:g} Ω·cm² was not recorded."
    if trial.state == "done" and res.get("measured_by"):
        return (f"Trial {trial.id} was already measured by {res['measured_by']}: "
                f"{trial.interface_resistance_ohm_cm2:g} Ω·cm² stays recorded; {mine}")
    return f"Trial {trial.id} is {trial.state.replace('_', ' ')}, not awaiting measurement; {mine}"


def awaiting_options(trials: list[Trial]) -> list[dict[str, Any]]:
    """Radio options ``{label, value}`` of the trials that await a measurement, in trial order.

    >>> awaiting_options([_example_trial("awaiting_measurement", {}), _example_trial("done", {})])
    [{'label': 'trial 70 (run finished 2025-01-02 03:04 UTC)', 'value': 70}]
    """
    out = []
    for t in trials:
        if t.state != AWAITING_MEASUREMENT:
            continue
        when = f"run finished {t.finished_at[:16].replace('T', ' ')} UTC" if t.finished_at else ""
        out.append({"label": f"{t.name} ({when})" if when else t.name, "value": t.id})
    return out


MEASURED_COLUMNS = ("trial", "R_int [Ω·cm²]", "measured by", "entered at (UTC)")


def measurement_rows(events: list[TrialEvent], trials: list[Trial]) -> list[dict[str, Any]]:
    """Rows of the measurements entered so far (the event log's ``measure`` entries), newest first.

    >>> from campaigns.records import TrialEvent
    >>> ev = TrialEvent(1, 1, 70, "2025-01-02T05:06:07.000001+00:00", "Ann", "measure", "awaiting_measurement",
    ...                 "done", {"interface_resistance_ohm_cm2": 9.5})
    >>> measurement_rows([ev], [_example_trial("done", {})])
    [{'trial': 'trial 70', 'R_int [Ω·cm²]': 9.5, 'measured by': 'Ann', 'entered at (UTC)': '2025-01-02 05:06:07'}]
    """
    rows = []
    for e in reversed(events):
        if e.kind != "measure":
            continue
        r = (e.detail or {}).get(MEASURE_FIELD)
        rows.append({"trial": trial_name(e.trial_id) if e.trial_id is not None else "?",
                     MEASURED_COLUMNS[1]: float(r) if isinstance(r, int | float) and math.isfinite(r) else None,
                     "measured by": e.actor, MEASURED_COLUMNS[3]: (e.time or "")[:19].replace("T", " ")})
    return rows


def _example_trial(state: str, result: dict[str, Any] | None) -> Trial:
    """A trial for the examples above."""
    return Trial(70, 1, 7, 1, state, {}, result, None, None, None, None, "2025-01-01T00:00:00+00:00", None, None,
                 "2025-01-02T03:04:05+00:00", None, None, {})


__all__ = ["AWAITING_MEASUREMENT", "MEASURED_COLUMNS", "MEASURE_ALLOWED", "MEASURE_FIELD", "awaiting_options",
           "conflict_message", "measurement_rows", "parse_measurement", "shown_value", "success_message"]
