"""`sputter-twin simulate`: the contract of DESIGN.md, and bad input as one line with exit status 2."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from sputter_twin.cli.main import main
from tests.conftest import EXAMPLES

HARUTA = EXAMPLES / "recipes" / "haruta2015.toml"
EXE = Path(sys.executable).with_name("sputter-twin")


def write(tmp_path: Path, text: str, name: str = "recipe.toml") -> Path:
    p = tmp_path / name
    p.write_text(text, encoding="utf-8")
    return p


def run_cli(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([str(EXE), *args], capture_output=True, text=True, timeout=120)


def test_json_output_is_run_result_to_dict():
    proc = run_cli("simulate", str(HARUTA), "--deterministic", "--json")
    assert proc.returncode == 0, proc.stderr
    d = json.loads(proc.stdout)
    assert 7.0 <= d["interface_resistance_ohm_cm2"] <= 11.0
    assert d["recipe"]["seed_thickness_nm"] == 5.0 and d["deterministic"] is True


def test_summary_by_default_and_seed_is_reproducible(capsys):
    assert main(["simulate", str(HARUTA), "--seed", "5"]) == 0
    first = capsys.readouterr().out
    assert "interface resistance" in first and "8.6" in first
    assert main(["simulate", str(HARUTA), "--seed", "5"]) == 0
    assert capsys.readouterr().out == first


@pytest.mark.parametrize("suffix", [".csv", ".parquet"])
def test_telemetry_file(tmp_path, suffix, capsys):
    out = tmp_path / f"tel{suffix}"
    assert main(["simulate", str(HARUTA), "--seed", "1", "--telemetry", str(out)]) == 0
    df = pd.read_csv(out) if suffix == ".csv" else pd.read_parquet(out)
    assert {"time_s", "pressure_pa", "h2o_pa", "rf_power_w", "rate_nm_min", "thickness_nm", "shutter_open",
            "substrate_temperature_c"} <= set(df.columns)
    assert df["thickness_nm"].max() == pytest.approx(100.0, rel=1e-6)
    assert df["time_s"].is_monotonic_increasing


def test_one_hour_run_telemetry_is_a_few_mb():
    from twin import Recipe, simulate
    res = simulate(Recipe(pumpdown_min=60.0), seed=1, telemetry=True)
    assert 3000 <= res.deposition_time_s <= 5400  # about an hour of deposition
    assert res.telemetry.memory_usage(deep=True).sum() < 5e6
    assert simulate(Recipe(pumpdown_min=60.0), seed=1).telemetry is None  # none unless asked for


BAD = {
    "power density above the target's limit": ("rf_power_w = 400.0", "recipe.rf_power_w = 400.0", "W"),
    "pressure outside the plasma window": ("pressure_pa = 20.0", "recipe.pressure_pa = 20.0", "Pa"),
    "n2_fraction 1.5": ("n2_fraction = 1.5", "recipe.n2_fraction = 1.5", "[0, 1]"),
    "negative thickness": ("target_thickness_nm = -5.0", "recipe.target_thickness_nm = -5.0", "nm"),
    "unknown key": ("rf_powr_w = 100.0", "recipe.rf_powr_w", "rf_power_w"),
    "wrong type": ('pressure_pa = "low"', "recipe.pressure_pa = 'low'", "expected a number"),
    "wrong transfer": ('transfer = "boat"', "recipe.transfer = 'boat'", "'vacuum' | 'air'"),
}


@pytest.mark.parametrize("case", sorted(BAD))
def test_bad_recipe_gives_one_line_and_exit_2(tmp_path, case):
    line, field_value, allowed = BAD[case]
    path = write(tmp_path, f"[recipe]\n{line}\n")
    proc = run_cli("simulate", str(path))
    assert proc.returncode == 2
    assert proc.stdout == ""
    err = proc.stderr.strip()
    assert "\n" not in err and "Traceback" not in err
    assert str(path) in err and field_value in err and allowed in err


def test_malformed_toml(tmp_path):
    path = write(tmp_path, "[recipe\nrf_power_w = 100\n")
    proc = run_cli("simulate", str(path))
    assert proc.returncode == 2
    err = proc.stderr.strip()
    assert "\n" not in err and str(path) in err and "malformed TOML" in err


def test_missing_files_and_bad_chamber(tmp_path):
    proc = run_cli("simulate", str(tmp_path / "nope.toml"))
    assert proc.returncode == 2 and "file not found" in proc.stderr and "\n" not in proc.stderr.strip()
    chamber = write(tmp_path, "[limits]\nmax_pressure_pa = 3.0\nmin_pressure_pa = 4.0\n", "chamber.toml")
    proc = run_cli("simulate", str(HARUTA), "--chamber", str(chamber))
    assert proc.returncode == 2 and "limits.min_pressure_pa" in proc.stderr
    chamber = write(tmp_path, "[vacuum]\npump_speed = 3.0\n", "chamber.toml")
    proc = run_cli("simulate", str(HARUTA), "--chamber", str(chamber))
    assert proc.returncode == 2 and "vacuum.pump_speed" in proc.stderr and "unknown key" in proc.stderr


def test_bad_telemetry_suffix_and_bad_flag(tmp_path, capsys):
    assert main(["simulate", str(HARUTA), "--telemetry", str(tmp_path / "t.xlsx")]) == 2
    assert "--telemetry" in capsys.readouterr().err
    with pytest.raises(SystemExit) as exc:
        main(["simulate", str(HARUTA), "--sed", "3"])
    assert exc.value.code == 2


_values = st.one_of(st.floats(allow_nan=False), st.integers(-10**6, 10**6), st.text(max_size=5), st.booleans())
_keys = st.sampled_from(["rf_power_w", "pressure_pa", "n2_fraction", "target_thickness_nm", "seed_thickness_nm",
                         "seed_power_w", "transfer", "air_exposure_min", "anneal_min", "pumpdown_min", "bogus"])


def _toml_value(v) -> str:
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, str):
        return json.dumps(v)
    if isinstance(v, float) and v != v:
        return "nan"
    if isinstance(v, float) and v in (float("inf"), float("-inf")):
        return "inf" if v > 0 else "-inf"
    return repr(v)


@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.dictionaries(_keys, _values, max_size=4), st.binary(max_size=20))
def test_fuzzed_recipes_never_traceback(tmp_path, capsys, table, junk):
    body = "[recipe]\n" + "".join(f"{k} = {_toml_value(v)}\n" for k, v in table.items())
    path = tmp_path / "fuzz.toml"
    path.write_bytes(body.encode() + (junk if junk and junk[0] % 3 == 0 else b""))
    code = main(["simulate", str(path), "--deterministic", "--json"])
    out = capsys.readouterr()
    assert code in (0, 2)
    if code == 2:
        lines = out.err.strip().splitlines()
        assert len(lines) == 1 and str(path) in lines[0]
    else:
        assert json.loads(out.out)["interface_resistance_ohm_cm2"] > 0
