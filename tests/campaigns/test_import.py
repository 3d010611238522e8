"""``sputter-twin campaign import``: good CSV and Parquet files become imported trials; every malformed file is
refused with one line per problem, exit 2, and the store unchanged byte for byte."""

from __future__ import annotations

import re
from pathlib import Path

import pandas as pd
import pytest
from numpy.testing import assert_allclose

from campaigns.store import CampaignStore
from sputter_twin.cli.main import main
from tests.campaigns.import_helpers import GOOD_ROWS, digest, make_store, write_csv
from twin.units import MTORR_PA


def _run(capsys, *argv) -> tuple[int, str, str]:
    rc = main(list(map(str, argv)))
    out, err = capsys.readouterr()
    return rc, out, err


def _import(capsys, runs: Path, store: Path, *extra) -> tuple[int, str, str]:
    return _run(capsys, "campaign", "import", runs, "--store", store, "--campaign", "small", *extra)


# -- good files -----------------------------------------------------------------------------------------------------
def test_a_good_csv_becomes_done_trials_marked_imported_in_one_batch_with_events(tmp_path, capsys):
    store, _ = make_store(tmp_path)
    rows = [dict(r) for r in GOOD_ROWS]
    rows[0] |= {"run_date": "2025-03-04", "hours_since_vent": 30, "note": "the good one"}
    rows[1] |= {"shorted": "yes", "interface_resistance_ohm_cm2": None}
    runs = write_csv(tmp_path / "past.csv", rows, [*GOOD_ROWS[0], "shorted", "run_date", "hours_since_vent", "note"])
    rc, out, err = _import(capsys, runs, store)
    assert rc == 0, err
    assert "imported 5 past runs" in out and "4 done, 1 failed" in out
    with CampaignStore(store) as s:
        trials = s.trials(1)
        events = s.events(1)
    assert [t.state for t in trials] == ["done", "failed", "done", "done", "done"]
    assert {t.batch for t in trials} == {0} and all(t.run_index is None for t in trials)
    assert [t.provenance["row"] for t in trials] == [1, 2, 3, 4, 5]
    assert all(t.provenance["imported"] is True and t.provenance["source"] == str(runs) for t in trials)
    first = trials[0]
    assert first.recipe["rf_power_w"] == 110.0 and first.recipe["target_thickness_nm"] == 100.0  # [fixed]
    assert first.result["interface_resistance_ohm_cm2"] == 9.4
    assert first.result["context"] == {"hours_since_vent": 30.0}
    assert first.started_at.startswith("2025-03-04T00:00:00") and first.comment == "the good one"
    assert trials[1].result["shorted"] is True
    kinds = [e.kind for e in events]
    assert kinds.count("imported") == 5 and kinds[-1] == "import"
    assert events[-1].detail["rows"] == 5


def test_units_in_column_names_are_converted_at_the_edge(tmp_path, capsys):
    store, _ = make_store(tmp_path)
    row = {"rf_power_kw": 0.11, "seed_thickness_angstrom": 50, "seed_power_w": 30, "pressure_mtorr": 3.75,
           "n2_percent": 80, "pumpdown_h": 24, "target_substrate_distance_cm": 8, "substrate_temperature_k": 373.15,
           "interface_resistance_ohm_cm2": 9.4, "process_time_h": 26.5, "base_pressure_mtorr": 0.0075}
    rc, _, err = _import(capsys, write_csv(tmp_path / "u.csv", [row]), store)
    assert rc == 0, err
    with CampaignStore(store) as s:
        (t,) = s.trials(1)
    r = t.recipe
    assert_allclose([r["rf_power_w"], r["seed_thickness_nm"], r["pressure_pa"], r["n2_fraction"], r["pumpdown_min"],
                     r["target_substrate_distance_mm"], r["substrate_temperature_c"]],
                    [110.0, 5.0, 3.75 * MTORR_PA, 0.8, 24 * 60.0, 80.0, 100.0], rtol=1e-12)
    assert_allclose(t.result["process_time_s"], 26.5 * 3600.0, rtol=1e-12)
    assert_allclose(t.result["context"]["base_pressure_pa"], 0.0075 * MTORR_PA, rtol=1e-12)


def test_parquet_gives_the_same_trials_as_csv(tmp_path, capsys):
    rows = [dict(r) | {"run_date": f"2025-03-0{i + 1}", "target_kwh": 2.0 * i} for i, r in enumerate(GOOD_ROWS)]
    a, _ = make_store(tmp_path, name="a.sqlite")
    b, _ = make_store(tmp_path, name="b.sqlite")
    assert _import(capsys, write_csv(tmp_path / "p.csv", rows), a)[0] == 0
    frame = pd.DataFrame(rows)
    frame["run_date"] = pd.to_datetime(frame["run_date"])  # a real timestamp column, as a lab's export has
    frame.to_parquet(tmp_path / "p.parquet", index=False)
    rc, _, err = _import(capsys, tmp_path / "p.parquet", b)
    assert rc == 0, err
    with CampaignStore(a) as sa, CampaignStore(b) as sb:
        ta, tb = sa.trials(1), sb.trials(1)
    assert [(t.recipe, t.result, t.started_at, t.state) for t in ta] == \
        [(t.recipe, t.result, t.started_at, t.state) for t in tb]


def test_semicolon_separated_csv_with_a_bom_and_upper_case_headers_reads(tmp_path, capsys):
    store, _ = make_store(tmp_path)
    header = list(GOOD_ROWS[0])
    text = "\ufeff" + ";".join(h.upper() for h in header) + "\n" + "\n".join(
        ";".join(str(r[h]) for h in header) for r in GOOD_ROWS) + "\n;;;;;;\n"  # a spreadsheet's empty last row
    (tmp_path / "semi.csv").write_text(text, encoding="utf-8")
    rc, out, err = _import(capsys, tmp_path / "semi.csv", store)
    assert rc == 0, err
    assert "imported 5 past runs" in out


# -- bad files: one line per problem, exit 2, store unchanged --------------------------------------------------------
def _bad(rows, header=None):
    return lambda tmp: write_csv(tmp / "bad.csv", rows, header)


def _text(name: str, data: bytes):
    def make(tmp: Path) -> Path:
        (tmp / name).write_bytes(data)
        return tmp / name
    return make


def _with(k: int, **changes):
    rows = [dict(r) for r in GOOD_ROWS]
    rows[k] |= changes
    return rows


CASES = {
    "unknown column": (_bad([r | {"colour": "blue"} for r in GOOD_ROWS]),
                       [r"column 8 'colour': unknown column \(allowed: target_thickness_nm, .*pressure_mtorr"]),
    "wrong unit": (_bad([{("pressure_psi" if k == "pressure_pa" else k): v for k, v in r.items()} for r in GOOD_ROWS]),
                   [r"column 4 'pressure_psi': unit 'psi' has no conversion to pressure_pa \(allowed: pressure_pa, "
                    r".*pressure_mtorr"]),
    "bad value": (_bad(_with(1, rf_power_w="lots")), [r"row 2 \(line 3\): rf_power_w = 'lots': not a number$"]),
    "not finite": (_bad(_with(0, pressure_pa="nan")), [r"row 1 \(line 2\): pressure_pa = 'nan': not a finite"]),
    "outside the campaign's space": (_bad(_with(2, rf_power_w=245)),
                                     [r"row 3 \(line 4\): rf_power_w = '245': outside the campaign's space "
                                      r"\(allowed: \[30, 240\] W\)"]),
    "outside the tool's limits": (_bad(_with(0, target_substrate_distance_mm=200)),
                                  [r"row 1 \(line 2\): target_substrate_distance_mm = '200': outside the tool's "
                                   r"limits \(allowed: \[40, 120\] mm\)"]),
    "outside the recipe's range": (_bad(_with(4, substrate_temperature_c=-300)),
                                   [r"row 5 \(line 6\): substrate_temperature_c = '-300': out of range"]),
    "a fixed field at another value": (_bad(_with(3, target_thickness_nm=200)),
                                       [r"row 4 \(line 5\): target_thickness_nm = '200': the campaign fixes this "
                                        r"field at another value \(allowed: 100.0 nm\)"]),
    "duplicate row": (_bad([*GOOD_ROWS, GOOD_ROWS[1]]), [r"row 6 \(line 7\): duplicate of row 2"]),
    "missing column": (_bad([{k: v for k, v in r.items() if k != "pressure_pa"} for r in GOOD_ROWS]),
                       [r"missing column pressure_pa: a searched variable of the campaign \(allowed: pressure_pa "
                        r"\| .*pressure_mtorr"]),
    "missing R_int on a run that did not fail": (_bad(_with(0, interface_resistance_ohm_cm2=None)),
                                                 [r"row 1 \(line 2\): interface_resistance_ohm_cm2 = '': empty"]),
    "R_int not positive": (_bad(_with(0, interface_resistance_ohm_cm2=-3)),
                           [r"row 1 \(line 2\): interface_resistance_ohm_cm2 = '-3': out of range \(allowed: "
                            r"\(0, inf\] Ω·cm²\)"]),
    "a row with too many cells": (_text("bad.csv", b"rf_power_w,pressure_pa\n1,2,3\n"),
                                  [r"row 1 \(line 2\): 3 cells, the header has 2 columns"]),
    "empty file": (_text("bad.csv", b""), [r"bad.csv: empty file"]),
    "only a header": (_text("bad.csv", ",".join(GOOD_ROWS[0]).encode() + b"\n"), [r"bad.csv: no runs"]),
    "non-CSV garbage": (_text("bad.csv", bytes(range(256)) * 3), [r"bad.csv: not a (UTF-8 )?text"]),
    "a binary that is not Parquet": (_text("bad.parquet", b"PAR1 not really"), [r"not a readable Parquet file"]),
    "a spreadsheet": (_text("bad.xlsx", b"PK\x03\x04"), [r"file suffix '.xlsx' is not a file of past runs "
                                                         r"\(allowed: .csv \| .parquet \| .pq\)"]),
    "three bad rows": (_bad(_with(0, rf_power_w="x") + [GOOD_ROWS[0] | {"pressure_pa": 9.0},
                                                        GOOD_ROWS[1] | {"n2_fraction": 1.5}]),
                       [r"row 1 \(line 2\): rf_power_w = 'x': not a number",
                        r"row 6 \(line 7\): pressure_pa = '9.0': outside the campaign's space",
                        r"row 7 \(line 8\): n2_fraction = '1.5': outside the campaign's space"]),
}


@pytest.mark.parametrize("case", list(CASES))
def test_a_malformed_file_is_one_line_per_problem_exit_2_and_the_store_unchanged(tmp_path, capsys, case):
    store, _ = make_store(tmp_path)
    make, expected = CASES[case]
    path = make(tmp_path)
    before = digest(store)
    rc, out, err = _import(capsys, path, store)
    assert rc == 2, (out, err)
    assert "Traceback" not in err and out == ""
    lines = err.splitlines()
    assert len(lines) == len(expected), err
    for line, pattern in zip(lines, expected, strict=True):
        assert line.startswith(f"sputter-twin: {path}: "), line
        assert re.search(pattern, line), (pattern, line)
    assert digest(store) == before
    with CampaignStore(store) as s:
        assert s.trials(1) == [] and [e.kind for e in s.events(1)] == ["campaign_created"]


def test_importing_the_same_file_twice_is_refused_and_so_are_rows_already_imported(tmp_path, capsys):
    store, _ = make_store(tmp_path)
    runs = write_csv(tmp_path / "past.csv", GOOD_ROWS[:3])
    assert _import(capsys, runs, store)[0] == 0
    before = digest(store)
    rc, _, err = _import(capsys, runs, store)
    assert rc == 2 and "was imported into campaign small already, as trials 1–3; nothing imported" in err
    more = write_csv(tmp_path / "more.csv", GOOD_ROWS)  # the same three rows and two new ones
    rc, _, err = _import(capsys, more, store)
    assert rc == 2
    assert len(err.splitlines()) == 3 and "row 1 (line 2): already in the campaign as trial 1 (imported from" in err
    assert digest(store) == before


def test_a_refused_file_with_campaign_file_creates_neither_store_nor_campaign(tmp_path, capsys):
    _, cfile = make_store(tmp_path)
    store = tmp_path / "new.sqlite"
    rc, _, err = _run(capsys, "campaign", "import", write_csv(tmp_path / "b.csv", _with(0, rf_power_w="x")),
                      "--store", store, "--campaign-file", cfile)
    assert rc == 2 and "not a number" in err
    assert not store.exists()
    rc, out, err = _run(capsys, "campaign", "import", write_csv(tmp_path / "g.csv", GOOD_ROWS), "--store", store,
                        "--campaign-file", cfile)
    assert rc == 0, err


def test_campaign_is_named_by_id_too_and_an_unknown_one_is_one_line(tmp_path, capsys):
    store, _ = make_store(tmp_path)
    runs = write_csv(tmp_path / "past.csv", GOOD_ROWS)
    before = digest(store)
    rc, _, err = _run(capsys, "campaign", "import", runs, "--store", store, "--campaign", "nope")
    assert rc == 2 and len(err.splitlines()) == 1 and "no such campaign" in err
    assert digest(store) == before
    rc, _, err = _run(capsys, "campaign", "import", runs, "--store", store, "--campaign", "1")
    assert rc == 0, err


def test_a_read_only_store_refuses_with_one_line(tmp_path, capsys):
    from tests.campaigns.test_store_failures import _read_only

    folder = tmp_path / "share"
    folder.mkdir()
    store, _ = make_store(folder)
    runs = write_csv(tmp_path / "p.csv", GOOD_ROWS)
    before = digest(store)
    undo = _read_only(folder)
    try:
        rc, _, err = _import(capsys, runs, store)
    finally:
        undo()
    assert rc == 2 and len(err.splitlines()) == 1 and "cannot be written" in err
    assert digest(store) == before


# -- extra variables and other objectives ----------------------------------------------------------------------------
BIAS_ROWS = [{"rf_power_w": 100 + 10 * k, "pressure_pa": 0.5, "n2_fraction": 1, "pumpdown_min": 600,
              "substrate_bias_v": -20.0 * k, "magnetron_rotation_rpm": 5 * k, "interface_resistance_ohm_cm2": 9 + k}
             for k in range(4)]


def _bias_store(tmp_path) -> Path:
    from campaigns.config import CampaignConfig
    from campaigns.runner import open_campaign
    from tests.conftest import EXAMPLES
    from twin import Chamber

    store = tmp_path / "bias.sqlite"
    with CampaignStore(store) as s:
        open_campaign(s, CampaignConfig.from_toml(EXAMPLES / "campaigns" / "lipon_bias.toml"), Chamber())
    return store


def test_extra_variables_are_columns_of_their_own_name_kept_as_the_trials_extras(tmp_path, capsys):
    store = _bias_store(tmp_path)
    rc, _, err = _run(capsys, "campaign", "import", write_csv(tmp_path / "b.csv", BIAS_ROWS), "--store", store)
    assert rc == 0, err
    with CampaignStore(store) as s:
        trials = s.trials(1)
    assert [t.extras for t in trials] == [{"substrate_bias_v": -20.0 * k, "magnetron_rotation_rpm": 5 * k}
                                          for k in range(4)]


@pytest.mark.parametrize(("change", "pattern"), [
    ({"substrate_bias_v": 20.0}, r"row 2 \(line 3\): substrate_bias_v = '20.0': out of range \(allowed: "
                                 r"\[-100, 0\] V\)"),
    ({"magnetron_rotation_rpm": 2.5}, r"row 2 \(line 3\): magnetron_rotation_rpm = '2.5': not a whole number"),
    ({"substrate_bias_v": None}, r"row 2 \(line 3\): substrate_bias_v = '': empty"),
])
def test_a_bad_extra_value_is_one_line(tmp_path, capsys, change, pattern):
    store = _bias_store(tmp_path)
    rows = [dict(r) for r in BIAS_ROWS]
    rows[1] |= change
    before = digest(store)
    rc, _, err = _run(capsys, "campaign", "import", write_csv(tmp_path / "b.csv", rows), "--store", store)
    assert rc == 2 and len(err.splitlines()) == 1 and re.search(pattern, err), err
    assert digest(store) == before


def test_a_missing_extra_column_is_one_line(tmp_path, capsys):
    store = _bias_store(tmp_path)
    rows = [{k: v for k, v in r.items() if k != "magnetron_rotation_rpm"} for r in BIAS_ROWS]
    rc, _, err = _run(capsys, "campaign", "import", write_csv(tmp_path / "b.csv", rows), "--store", store)
    assert rc == 2 and err.count("\n") == 1 and "missing column magnetron_rotation_rpm" in err


def test_a_total_resistance_objective_takes_the_total_or_interface_plus_bulk(tmp_path, capsys):
    from tests.campaigns.helpers import small_campaign

    cfile = small_campaign(tmp_path)
    cfile.write_text(cfile.read_text().replace("[constraints]", '[objective]\nminimize = "total_resistance_ohm_cm2"'
                                                                "\n\n[constraints]"))
    store = tmp_path / "t.sqlite"
    rows = [dict(r) for r in GOOD_ROWS[:3]]
    rows[0] |= {"bulk_resistance_ohm_cm2": 5.0}
    rows[1] |= {"total_resistance_ohm_cm2": 40.0}
    rc, _, err = _run(capsys, "campaign", "import", write_csv(tmp_path / "t.csv", rows), "--store", store,
                      "--campaign-file", cfile)
    assert rc == 2 and len(err.splitlines()) == 1
    assert "row 3 (line 4): total_resistance_ohm_cm2 = '': empty: the campaign's objective" in err
    rows[2] |= {"bulk_resistance_ohm_cm2": 4.0}
    rc, _, err = _run(capsys, "campaign", "import", write_csv(tmp_path / "t.csv", rows), "--store", store,
                      "--campaign-file", cfile)
    assert rc == 0, err
    with CampaignStore(store) as s:
        totals = [t.result["total_resistance_ohm_cm2"] for t in s.trials(1)]
    assert totals == [9.4 + 5.0, 40.0, 14.2 + 4.0]
