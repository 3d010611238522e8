"""Fuzzing the reader of past runs (hypothesis): whatever the file holds, ``campaign import`` either imports it
cleanly (exit 0, trials added) or refuses it (exit 2, every line ``sputter-twin: FILE: ...``, the store unchanged
byte for byte); never a traceback, never another exit status."""

from __future__ import annotations

import contextlib
import csv
import io
import shutil
import tempfile
from pathlib import Path

import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from campaigns.store import CampaignStore
from sputter_twin.cli.main import main
from tests.campaigns.import_helpers import GOOD_ROWS, digest, make_store

FUZZ = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])


@pytest.fixture(scope="module")
def pristine(tmp_path_factory) -> Path:
    store, _ = make_store(tmp_path_factory.mktemp("pristine"))
    return store


def _attempt(pristine: Path, name: str, data: bytes) -> None:
    with tempfile.TemporaryDirectory() as folder:
        store = Path(folder) / "s.sqlite"
        shutil.copy(pristine, store)
        runs = Path(folder) / name
        runs.write_bytes(data)
        before = digest(store)
        err, out = io.StringIO(), io.StringIO()
        with contextlib.redirect_stderr(err), contextlib.redirect_stdout(out):
            rc = main(["campaign", "import", str(runs), "--store", str(store), "--campaign", "small"])
        text = err.getvalue()
        event(f"exit {rc}")  # --hypothesis-show-statistics: how often each outcome was reached
        assert rc in (0, 2), (rc, text)
        assert "Traceback" not in text
        with CampaignStore(store) as s:
            n = len(s.trials(1))
        if rc == 2:
            lines = text.splitlines()
            assert lines and all(line.startswith(f"sputter-twin: {runs}: ") for line in lines), text
            assert n == 0
            assert digest(store) == before
        else:
            assert n > 0 and not text


@FUZZ
@given(data=st.binary(max_size=800))
def test_any_bytes_as_csv(pristine, data):
    _attempt(pristine, "runs.csv", data)


@FUZZ
@given(data=st.binary(max_size=400))
def test_any_bytes_as_parquet(pristine, data):
    _attempt(pristine, "runs.parquet", b"PAR1" + data)


HEADERS = [*GOOD_ROWS[0], "pressure_mtorr", "rf_power_kw", "shorted", "failed", "run_date", "hours_since_vent",
           "base_pressure_torr", "process_time_h", "note", "colour", "pressure_psi", "", "RF_POWER_W"]
CELLS = st.one_of(
    st.sampled_from(["", "0", "1", "-1", "0.5", "1e308", "1e-320", "nan", "inf", "-inf", "yes", "no", "true",
                     "2025-02-30", "2025-03-01", "2025-03-01T10:00+02:00", "vacuum", "air", "1,5", '"', "\n", "é",
                     "\x00", "30", "240", "2880", "9.4"]),
    st.floats(allow_nan=True, allow_infinity=True).map(repr),
    st.text(max_size=12),
)


@FUZZ
@given(header=st.lists(st.sampled_from(HEADERS), min_size=1, max_size=10),
       good=st.booleans(), cells=st.data())
def test_a_csv_of_known_and_unknown_columns_and_wild_cells(pristine, header, good, cells):
    if good:  # the campaign's own columns first, so that many rows reach the row checks
        header = [*GOOD_ROWS[0], *header]
    n_rows = cells.draw(st.integers(min_value=0, max_value=4))
    rows = [[cells.draw(CELLS) for _ in header] for _ in range(n_rows)]
    if good and cells.draw(st.booleans()):
        rows.append([str(GOOD_ROWS[0].get(h, "")) for h in header])
    buf = io.StringIO()
    w = csv.writer(buf)
    w.writerow(header)
    w.writerows(rows)
    _attempt(pristine, "runs.csv", buf.getvalue().encode("utf-8", "surrogatepass"))
