"""Calibration: recovery of known perturbations within the reported uncertainty, identifiability, refusals."""

from __future__ import annotations

import json
import math
import shutil

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import sputter_twin.cli.calibrate as calibrate_cli
import sputter_twin.cli.campaign as campaign_cli
from campaigns import CampaignConfig, CampaignStore
from campaigns.calibration import (
    DEFAULT_PARAMETERS,
    CalibrationError,
    Measurement,
    calibrate,
    chamber_fingerprint,
    held_out_errors,
    measurements_from_queue,
    measurements_from_store,
    predict,
)
from campaigns.runner import Runner, open_campaign
from sputter_twin.cli import main as cli_main
from twin import Chamber, InputError, Recipe, SimulatedTool

BASE = Chamber()
FITTED = ("contamination.sticking_coefficient", "interface.damage_coefficient",
          "interface.clean_resistance_ohm_cm2", "deposition.yield_q")
TRUTH = BASE.replace({"contamination.sticking_coefficient": 0.25, "interface.damage_coefficient": 1.5,
                      "interface.clean_resistance_ohm_cm2": 7.8 * 1.3, "deposition.yield_q": 0.51 * 0.8})


def _design(n: int, seed: int) -> list[Recipe]:
    """Recipes spread over power, pressure, pump-down, seed layer, gas and distance."""
    rng = np.random.default_rng(seed)
    out = []
    for _ in range(n):
        seed_nm = float(rng.choice([0.0, 5.0]))
        out.append(Recipe(rf_power_w=float(rng.uniform(30, 240)), pressure_pa=float(rng.uniform(0.2, 3)),
                          pumpdown_min=float(rng.uniform(5, 600)), seed_thickness_nm=seed_nm,
                          seed_power_w=float(rng.uniform(20, 100)), n2_fraction=float(rng.uniform(0, 1)),
                          target_substrate_distance_mm=float(rng.uniform(50, 100))))
    return out


def _synthetic(truth: Chamber, recipes: list[Recipe], seed: int, sigma: float = 0.05) -> list[Measurement]:
    """Deterministic truth with log-normal measurement noise: data exactly from the model class."""
    rng = np.random.default_rng(seed)
    out = []
    for r in recipes:
        res = predict(truth, r)
        out.append(Measurement(r, res.interface_resistance_ohm_cm2 * math.exp(sigma * rng.standard_normal()),
                               res.deposition_rate_nm_min * math.exp(0.02 * rng.standard_normal()),
                               chamber_name="default"))
    return out


def test_recovers_known_perturbations_within_reported_uncertainty():
    """Six synthetic data sets (seeds fixed in advance): the truth lies inside the reported 95 % interval for at
    least 22 of the 24 (data set, parameter) pairs, the intervals are narrow where the data are informative, and
    the fit brings the residuals down to the noise."""
    inside, total, damage_std = 0, 0, []
    for seed in range(6):
        runs = _synthetic(TRUTH, _design(20, seed), seed + 100)
        fit = calibrate(runs, BASE, FITTED)
        assert fit.success
        for p in fit.parameters:
            lo, hi = p.interval95
            assert lo <= p.value <= hi
            inside += lo <= TRUTH.get(p.name) <= hi
            total += 1
        by_name = {p.name: p for p in fit.parameters}
        # informative intervals, not a wide band that any answer would fall into
        damage_std.append(by_name["interface.damage_coefficient"].std_log)
        assert by_name["interface.clean_resistance_ohm_cm2"].std_log < 0.1
        assert by_name["deposition.yield_q"].std_log < 0.02
        assert {"interface.clean_resistance_ohm_cm2", "deposition.yield_q"}.isdisjoint(fit.unidentified)
        assert fit.rms_error() < 0.08 < fit.rms_error(before=True)
    assert inside >= 22, f"{inside}/{total} inside the 95 % intervals"
    assert np.median(damage_std) < 0.4


def test_laplace_uncertainty_without_profile():
    runs = _synthetic(TRUTH, _design(20, 1), 101)
    fit = calibrate(runs, BASE, FITTED, profile=False)
    for p in fit.parameters:
        assert p.interval95[0] < TRUTH.get(p.name) < p.interval95[1]
        assert p.interval95[0] == pytest.approx(p.value * math.exp(-1.96 * p.std_log))


def test_calibrated_twin_predicts_held_out_runs():
    fit = calibrate(_synthetic(TRUTH, _design(15, 7), 8), BASE, FITTED)
    held = _synthetic(TRUTH, _design(10, 99), 100, sigma=0.0)
    before = np.median(held_out_errors(BASE, held))
    after = np.median(held_out_errors(fit.chamber, held))
    assert after < 0.1 < before


def test_parameter_without_effect_is_reported_not_identified():
    runs = _synthetic(TRUTH, _design(12, 5), 6)
    # RF trips pause a run but the deterministic twin has none, so the runs cannot inform their rate
    names = ["interface.clean_resistance_ohm_cm2", "events.rf_trip_rate_per_h"]
    fit = calibrate(runs, BASE, names)
    trips = [p for p in fit.parameters if p.name == "events.rf_trip_rate_per_h"][0]
    assert trips.sensitivity == 0.0 and not trips.identified
    assert trips.value == pytest.approx(BASE.events.rf_trip_rate_per_h)  # the prior holds it where it was
    assert "events.rf_trip_rate_per_h" in fit.unidentified
    assert "no effect on the deterministic twin" in fit.report()


def test_degenerate_pair_is_reported():
    # clean resistance and a second multiplicative factor: at one recipe only their product is seen
    r = Recipe(rf_power_w=200.0, pressure_pa=0.2)  # a recipe where ion damage matters
    runs = [Measurement(r, 30.0 * math.exp(0.01 * k)) for k in range(-3, 4)]
    fit = calibrate(runs, BASE, ["interface.clean_resistance_ohm_cm2", "interface.damage_coefficient"])
    assert fit.weak_directions  # only a combination is determined
    assert len(fit.unidentified) >= 1


def test_robust_to_one_spoiled_run():
    runs = _synthetic(TRUTH, _design(16, 11), 12)
    spoiled = list(runs)
    m = spoiled[3]
    spoiled[3] = Measurement(m.recipe, m.interface_resistance_ohm_cm2 * 3.0, m.deposition_rate_nm_min)
    a = calibrate(runs, BASE, FITTED, loss="soft_l1")
    b = calibrate(spoiled, BASE, FITTED, loss="soft_l1")
    assert b.value("interface.clean_resistance_ohm_cm2") == pytest.approx(
        a.value("interface.clean_resistance_ohm_cm2"), rel=0.05)
    assert np.argmax(np.abs(b.residuals_log)) == 3


def test_runs_from_the_simulated_tool_use_the_chamber_state_of_each_run():
    tool = SimulatedTool(TRUTH, seed=0, deterministic=True)
    recipes = _design(5, 3)
    results = [tool.run(r) for r in recipes]
    runs = measurements_from_queue(results, TRUTH)
    for m, res in zip(runs, results, strict=True):
        assert predict(TRUTH, m.recipe, m.state).interface_resistance_ohm_cm2 == pytest.approx(
            res.interface_resistance_ohm_cm2, rel=1e-9)
    assert runs[0].state["hours_since_vent"] == 0.0 and runs[-1].state["hours_since_vent"] > 1.0


def test_same_input_same_result_and_toml_round_trip(tmp_path):
    runs = _synthetic(TRUTH, _design(10, 2), 3)
    a = calibrate(runs, BASE, FITTED)
    b = calibrate(runs, BASE, FITTED)
    assert [p.value for p in a.parameters] == [p.value for p in b.parameters]
    path = tmp_path / "calibrated.toml"
    path.write_text(a.to_toml(source="store.sqlite"))
    back = Chamber.from_toml(path)
    assert back == a.chamber
    text = path.read_text()
    assert "# Calibrated chamber 'default': 10 measured runs from store.sqlite" in text
    assert chamber_fingerprint(BASE) in text and chamber_fingerprint(a.chamber) in text
    assert chamber_fingerprint(BASE) != chamber_fingerprint(a.chamber)
    assert chamber_fingerprint(BASE) == chamber_fingerprint(BASE.replace(name="renamed"))


# -- refusals ------------------------------------------------------------------------------------------------
def test_refuses_too_few_runs():
    runs = _synthetic(TRUTH, _design(4, 0), 0)
    with pytest.raises(CalibrationError, match=r"runs = 4: too few finished runs to fit 4 parameters"):
        calibrate(runs, BASE, FITTED)


def test_refuses_no_finished_runs():
    runs = [Measurement(Recipe(), math.nan), Measurement(Recipe(), -1.0)]
    with pytest.raises(CalibrationError, match="no finished runs with a measured interface resistance"):
        calibrate(runs, BASE)
    with pytest.raises(CalibrationError, match="no finished runs"):
        calibrate([], BASE)


@pytest.mark.parametrize(("name", "problem"), [
    ("interface.no_such_thing", "no such chamber parameter"),
    ("nonsense", "no such chamber parameter"),
    ("limits.max_pressure_pa", "describes the tool, not the model"),
    ("vacuum.load_lock", "describes the tool"),
])
def test_refuses_bad_parameter_names(name, problem):
    runs = _synthetic(TRUTH, _design(8, 0), 0)
    with pytest.raises(CalibrationError, match=problem) as info:
        calibrate(runs, BASE, [name])
    assert "\n" not in str(info.value) and name in str(info.value)


def test_refuses_duplicates_and_nonpositive_values():
    runs = _synthetic(TRUTH, _design(8, 0), 0)
    with pytest.raises(CalibrationError, match="named twice"):
        calibrate(runs, BASE, ["interface.damage_coefficient", "interface.damage_coefficient"])
    zero = BASE.replace({"interface.damage_coefficient": 0.0})
    with pytest.raises(CalibrationError, match="not positive"):
        calibrate(runs, zero, ["interface.damage_coefficient"])


def test_refuses_runs_from_another_chamber():
    runs = _synthetic(TRUTH, _design(8, 0), 0)
    runs[2] = Measurement(runs[2].recipe, runs[2].interface_resistance_ohm_cm2, chamber_name="tool-b")
    with pytest.raises(CalibrationError, match="chamber = 'tool-b': runs were made on another chamber"):
        calibrate(runs, BASE, ["interface.clean_resistance_ohm_cm2"])


def test_errors_are_input_errors_for_exit_status_2():
    assert issubclass(CalibrationError, InputError)
    assert set(DEFAULT_PARAMETERS) <= {f"{d['section']}.{d['name']}" for d in Chamber.parameter_docs()}


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(names=st.lists(st.text(min_size=0, max_size=30), min_size=0, max_size=3),
       values=st.lists(st.one_of(st.floats(allow_nan=True, allow_infinity=True), st.integers(-5, 5)),
                       min_size=0, max_size=6))
def test_fuzzed_inputs_give_a_clear_error_or_a_result(names, values):
    runs = [Measurement(Recipe(rf_power_w=50.0 + 10 * i), v) for i, v in enumerate(values)]
    try:
        fit = calibrate(runs, BASE, names)
    except CalibrationError as exc:
        assert "\n" not in str(exc)
    else:
        assert all(math.isfinite(p.value) and p.value > 0 for p in fit.parameters)


# -- the command line: sputter-twin campaign calibrate -------------------------------------------------------
CLI_CAMPAIGN = """
[campaign]
name = "cal"
seed = 5
budget = 12
[strategy]
name = "random"
[space]
rf_power_w = [30.0, 240.0]
pressure_pa = { low = 0.2, high = 3.0, log = true }
pumpdown_min = { low = 5.0, high = 600.0, log = true }
seed_thickness_nm = [0.0, 8.0]
seed_power_w = [15.0, 120.0]
[fixed]
target_thickness_nm = 100.0
"""


@pytest.fixture
def _wired(monkeypatch):
    """Wire the sub-command as the lead will (``register_under`` called from ``sputter_twin/cli/campaign.py``)."""
    if "register_under" in open(campaign_cli.__file__, encoding="utf-8").read():  # wired by the lead
        return
    original = campaign_cli.register

    def register(sub):
        original(sub)
        parser = sub.choices["campaign"]
        for action in parser._subparsers._group_actions:
            calibrate_cli.register_under(action)

    monkeypatch.setattr(campaign_cli, "register", register)


@pytest.fixture(scope="module")
def store_path(tmp_path_factory):
    path = tmp_path_factory.mktemp("cal") / "store.sqlite"
    reality = Chamber().replace({"interface.clean_resistance_ohm_cm2": 7.8 * 1.3})
    with CampaignStore(path) as store:
        # rehearsal on a "reality": the simulated tool runs in it, the campaign keeps the default chamber
        cid = open_campaign(store, CampaignConfig.from_text(CLI_CAMPAIGN), Chamber(), tool_chamber=reality)
        summary = Runner(store, cid).run()
    assert summary.status == "budget_spent"
    return path


def _main(argv, capsys):  # with the _wired fixture active
    code = cli_main.main(argv)
    out, err = capsys.readouterr()
    return code, out, err


def test_calibrate_writes_a_chamber_with_provenance(store_path, tmp_path, capsys, _wired):
    out_file = tmp_path / "calibrated.toml"
    code, out, err = _main(["campaign", "calibrate", "--store", str(store_path), "--out", str(out_file),
                            "--parameters", "interface.clean_resistance_ohm_cm2,interface.damage_coefficient"],
                           capsys)
    assert code == 0, err
    assert "interface.clean_resistance_ohm_cm2" in out and "calibrated chamber written to" in out
    cal = Chamber.from_toml(out_file)
    assert cal.name == "default"
    assert cal.interface.clean_resistance_ohm_cm2 == pytest.approx(7.8 * 1.3, rel=0.05)
    text = out_file.read_text()
    assert text.startswith("name = ") or "# Calibrated chamber 'default'" in text
    assert "campaign 'cal'" in text


@pytest.mark.parametrize("umask", [0o022, 0o002])
def test_calibrated_chamber_is_written_with_normal_permissions(store_path, tmp_path, capsys, _wired, umask):
    """Readable by the lab as any file the user writes (0644 under umask 022), not private 0600."""
    import os
    import stat

    out_file = tmp_path / "calibrated.toml"
    old = os.umask(umask)
    try:
        code, _, err = _main(["campaign", "calibrate", "--store", str(store_path), "--out", str(out_file),
                              "--parameters", "interface.clean_resistance_ohm_cm2"], capsys)
    finally:
        os.umask(old)
    assert code == 0, err
    assert stat.S_IMODE(out_file.stat().st_mode) == 0o666 & ~umask


def test_calibrate_json(store_path, tmp_path, capsys, _wired):
    out_file = tmp_path / "c.toml"
    code, out, _ = _main(["campaign", "calibrate", "--store", str(store_path), "--out", str(out_file), "--json"],
                         capsys)
    assert code == 0
    doc = json.loads(out)
    assert doc["campaign"] == "cal" and doc["runs"] >= 8
    assert "events.leak_rate_per_h" in doc["unidentified"]
    assert doc["rms_log_residual_after"] < doc["rms_log_residual_before"]


def test_store_runs_carry_the_state_of_each_run(store_path, _wired):
    with CampaignStore(store_path, create=False) as store:
        chamber, runs, name = measurements_from_store(store)
    assert name == "cal" and chamber == Chamber()
    hours = [m.state["hours_since_vent"] for m in runs]
    assert hours[0] == 0.0 and hours == sorted(hours) and hours[-1] > 1.0


@pytest.mark.parametrize(("extra", "message"), [
    (["--parameters", "interface.bogus"], "interface.bogus': no such chamber parameter"),
    (["--parameters", "limits.max_pressure_pa"], "describes the tool, not the model"),
    (["--parameters", ",".join(["interface.clean_resistance_ohm_cm2", "interface.damage_coefficient",
                                "contamination.sticking_coefficient", "deposition.yield_q",
                                "interface.coverage_coefficient", "energetics.damage_saturation_ev_nm2",
                                "film.n_max", "interface.li_p_penalty", "energetics.range_at_100ev_nm",
                                "deposition.self_bias_ref_v", "interface.heal_fraction",
                                "contamination.desorption_energy_ev"])],
     "too few finished runs to fit 12 parameters"),
    (["--sigma", "-1"], "--sigma = -1.0: must be a positive number"),
])
def test_bad_input_exit_2_one_line(store_path, tmp_path, capsys, extra, message, _wired):
    out_file = tmp_path / "never.toml"
    code, out, err = _main(["campaign", "calibrate", "--store", str(store_path), "--out", str(out_file), *extra],
                           capsys)
    assert code == 2
    assert message in err and err.count("\n") == 1 and "Traceback" not in err
    assert not out_file.exists()


def test_runs_from_another_chamber_refused(store_path, tmp_path, capsys, _wired):
    other = tmp_path / "other.toml"
    other.write_text(Chamber(name="tool-b").to_toml())
    out_file = tmp_path / "never.toml"
    code, _, err = _main(["campaign", "calibrate", "--store", str(store_path), "--out", str(out_file),
                          "--chamber", str(other)], capsys)
    assert code == 2 and "runs were made on another chamber than 'tool-b'" in err and err.count("\n") == 1
    assert not out_file.exists()


def test_campaign_without_finished_runs_refused(tmp_path, capsys, _wired):
    path = tmp_path / "empty.sqlite"
    with CampaignStore(path) as store:
        open_campaign(store, CampaignConfig.from_text(CLI_CAMPAIGN), Chamber())
    code, _, err = _main(["campaign", "calibrate", "--store", str(path), "--out", str(tmp_path / "x.toml")], capsys)
    assert code == 2 and "no finished runs with a measured interface resistance" in err


def test_missing_store_and_existing_output_kept(store_path, tmp_path, capsys, _wired):
    code, _, err = _main(["campaign", "calibrate", "--store", str(tmp_path / "nope.sqlite"), "--out",
                          str(tmp_path / "x.toml")], capsys)
    assert code == 2 and "file not found" in err
    # a refused calibration leaves an existing output file as it was
    keep = tmp_path / "keep.toml"
    shutil.copy(store_path, tmp_path / "copy.sqlite")
    keep.write_text("old")
    code, _, _ = _main(["campaign", "calibrate", "--store", str(tmp_path / "copy.sqlite"), "--out", str(keep),
                        "--parameters", "nope.nope"], capsys)
    assert code == 2 and keep.read_text() == "old"


def test_a_twin_that_cannot_explain_the_runs_is_flagged():
    # the reality's Li/P window is shifted, which none of the fitted parameters can mimic: its lower edge lies
    # inside the design's film Li/P (2.9-3.1 since model 1.1.0; it was 2.75 against the Li-poor films of 1.0.0)
    shifted = BASE.replace({"interface.li_p_window_low": 3.1, "interface.li_p_window_high": 3.9})
    runs = _synthetic(shifted, _design(16, 21), 22)
    fit = calibrate(runs, BASE, ["interface.clean_resistance_ohm_cm2", "interface.damage_coefficient"],
                    profile=False)
    assert fit.poor_fit and "WARNING: the fitted parameters cannot explain these runs" in fit.report()
    good = calibrate(_synthetic(TRUTH, _design(16, 21), 22), BASE, FITTED, profile=False)
    assert not good.poor_fit and "WARNING" not in good.report()
