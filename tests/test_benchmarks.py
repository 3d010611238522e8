"""Every benchmark script runs to the end on a small setting and prints its figures.

The figures themselves (speed, runs to the optimum) are measured by running the benchmarks by hand, not asserted
here: a timing in a test flakes on a loaded machine. What is asserted is that each script still works against the
current code, exits without a traceback, and prints the lines its README entry promises, with numbers in them.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
CHROMIUM = os.environ.get("SPUTTER_TWIN_CHROMIUM", "/usr/bin/chromium")
NUMBER = r"[0-9][0-9,]*(?:\.[0-9]+)?"


def _run(script: str, *args: str, ok: tuple[int, ...] = (0,)) -> str:
    proc = subprocess.run([sys.executable, str(ROOT / "benchmarks" / script), *args], cwd=ROOT, text=True,
                          capture_output=True, timeout=240)
    assert "Traceback" not in proc.stderr, proc.stderr[-3000:]
    assert proc.returncode in ok, (proc.returncode, proc.stdout[-2000:], proc.stderr[-2000:])
    return proc.stdout


def test_twin_speed_prints_runs_per_second_and_the_ratio_to_bare_simpy():
    out = _run("twin_speed.py", "--repeat", "1", "-n", "50", "--batch", "2000", "--sets", "4", ok=(0, 1))
    assert re.search(rf"{NUMBER} ?runs/s", out), out
    assert re.search(rf"queue of 1,000 runs\s+{NUMBER} s\s+{NUMBER}×", out), out
    assert re.search(rf"deterministic, vectorised columns\s+{NUMBER} runs/s\s+{NUMBER}×", out), out
    assert re.search(rf"4 parameter sets × 500 recipes\s+{NUMBER} runs/s\s+{NUMBER}×", out), out
    # the batch gives the loop's numbers (a correctness line, not a timing)
    worst = re.search(r"max relative difference, batch vs loop\s+([0-9.e+-]+)", out)
    assert worst and float(worst.group(1)) < 1e-9, out


def test_campaign_efficiency_prints_the_optimum_the_share_and_a_row_per_strategy():
    out = _run("campaign_efficiency.py", "--seeds", "1", "--cap", "3", "--gp-cap", "11", "--de-restarts", "0",
               "--campaign", str(ROOT / "examples" / "campaigns" / "lipon_interface.toml"))
    assert re.search(rf"twin optimum {NUMBER}", out), out
    assert re.search(rf"within target: {NUMBER}; random search's median ~{NUMBER} runs", out), out
    for name in ("gp", "gp:rec", "random", "tpe"):  # gp:rec: the run gp's model recommends
        assert re.search(rf"^{name}\s+{NUMBER}\s+{NUMBER}", out, re.M), (name, out)
    # BoTorch is an optional outside reference: a row when installed, a one-line note otherwise
    assert re.search(rf"^botorch\s+{NUMBER}", out, re.M) or "botorch: skipped, " in out, out
    assert re.search(r"gp median .* runs \(target <= 25\): (met|NOT met); gp/random = " + NUMBER, out), out


def test_campaign_efficiency_overrides_a_setting_and_refuses_a_malformed_one():
    out = _run("campaign_efficiency.py", "--seeds", "1", "--cap", "3", "--gp-cap", "11", "--de-restarts", "0",
               "--strategies", "gp", "--set", "failure_penalty=worst",
               "--campaign", str(ROOT / "examples" / "campaigns" / "lipon_interface.toml"))
    assert re.search(rf"^gp\s+{NUMBER}", out, re.M), out
    proc = subprocess.run([sys.executable, str(ROOT / "benchmarks" / "campaign_efficiency.py"), "--set", "oops"],
                          cwd=ROOT, text=True, capture_output=True, timeout=60)
    assert proc.returncode != 0 and "expected KEY=VALUE" in proc.stderr and "Traceback" not in proc.stderr


def test_proposal_latency_prints_ours_and_skopts_for_one_and_a_batch():
    out = _run("proposal_latency.py", "--observations", "20", "--twin-observations", "8", "--repeats", "1",
               "--pareto-observations", "14", ok=(0, 1))
    assert re.search(rf"one proposal\s+{NUMBER}\s+{NUMBER}\s+{NUMBER}x", out), out
    assert re.search(rf"batch of 4 \(constant liar\)\s+{NUMBER}\s+{NUMBER}\s+{NUMBER}x", out), out
    assert re.search(rf"twin-prior, calibration in the loop, after 8 runs: {NUMBER} s per proposal", out), out
    assert re.search(rf"mobo, 3 goals \+ 1 constraint, 8-D, after 14 runs: {NUMBER} s per proposal, {NUMBER} s per "
                     rf"batch of 4 .*; without the length-scale prior and the trust region: {NUMBER} s per proposal",
                     out), out
    assert re.search(rf"twin-mobo after 14 runs of a tool with 10x the twin's O- yield: {NUMBER} s per proposal with "
                     rf"the twin calibrated in the loop, {NUMBER} s without", out), out


def test_mismatch_prints_the_move_the_share_and_runs_per_strategy():
    out = _run("mismatch.py", "--seeds", "1", "--first-seed", "3", "--budget", "3", "--optimum-search", "1000",
               "--polish", "1", "--realities", "plasma heating,clean R x1.3", "--strategies", "twin-prior,gp,random")
    assert re.search(r"median over 1 seeds, 3\.\.3;", out), out
    assert re.search(rf"^plasma heating\s+structural\s+{NUMBER}\s+{NUMBER}\s+[+-]{NUMBER}%\s+{NUMBER}%", out,
                     re.M), out
    assert re.search(r"^clean R x1.3\s+close(\s+>?\d+){3}", out, re.M), out
    assert "twin-prior/gp" in out and "twin's weight" in out


def test_coverage_prints_the_share_within_one_and_two_sigma():
    out = _run("coverage.py", "--seeds", "1", "--runs", "4", "--realities", "matched")
    assert re.search(rf"^matched\s+gp\s+\d+\s+({NUMBER}%|nan%)\s+", out, re.M), out
    assert re.search(r"^all\s+twin-prior\s+\d+", out, re.M), out


def test_extras_reality_prints_a_row_per_strategy_and_the_branin_regrets():
    out = _run("extras_reality.py", "--seeds", "1", "--budget", "4", "--branin-budget", "4", "--strategies",
               "gp,random")
    for name in (r"gp \(extras not searched\)", "gp", "random"):
        assert re.search(rf"^{name}\s+{NUMBER}\s+{NUMBER}\s+{NUMBER}", out, re.M), (name, out)
    assert re.search(rf"gp: best R_int {NUMBER} vs {NUMBER} .*ratio {NUMBER}", out), out
    assert re.search(rf"median regret over 1 seeds: gp {NUMBER}, random {NUMBER}", out), out


def test_whatif_speed_prints_runs_per_second_and_the_speed_up():
    out = _run("whatif_speed.py", "--skip-100k", "--runs-speedup", "2000", ok=(0, 1))
    assert re.search(rf"speed-up 1 -> 2 workers: {NUMBER} x", out), out


@pytest.mark.skipif(not Path(CHROMIUM).exists() and os.environ.get("CI", "").lower() != "true",
                    reason=f"Chromium not found at {CHROMIUM} (CI installs it)")
def test_dashboard_interactive_prints_the_time_to_interactive():
    out = _run("dashboard_interactive.py", "--trials", "10", "--baseline", "3", "--repeats", "1",
               "--chromium", CHROMIUM)
    assert re.search(rf"10-trial page interactive \(load \+ first click handled\): {NUMBER} s", out), out


def test_store_health_prints_the_open_cost_and_the_wal_sizes():
    out = _run("store_health.py", "--trials", "12", "--transactions", "300", "--repeats", "2")
    assert re.search(rf"quick_check\s+{NUMBER} ms\s+{NUMBER}× bare, {NUMBER}× unchecked", out), out
    assert re.search(rf"largest WAL over 300 transactions: store {NUMBER} KiB, SQLite defaults {NUMBER} KiB", out), out


def test_fault_latency_prints_a_row_per_fault_and_profile_and_the_watchdog_target():
    out = _run("fault_latency.py", "--repeat", "1", "--faults", "alarm,freeze")
    for fault in ("alarm", "freeze"):
        for profile in ("rf-a", "pvd-c"):
            assert re.search(rf"^{fault}\s+{profile}\s+{NUMBER}\s+{NUMBER}\s+-?{NUMBER}", out, re.M), out
    assert re.search(rf"lost connection declared within {NUMBER} s at worst \(target <= 5 s\): (met|NOT met)",
                     out), out


def test_opcua_security_prints_connect_and_read_per_policy_and_mode_against_no_security():
    out = _run("opcua_security.py", "--repeats", "1")
    assert re.search(rf"^None/None \(baseline\)\s+{NUMBER}\s+1\.00\s+{NUMBER}\s+1\.00$", out, re.M), out
    for policy in ("Basic256Sha256", "Aes128Sha256RsaOaep", "Aes256Sha256RsaPss"):
        for mode in ("Sign", "SignAndEncrypt"):
            assert re.search(rf"^{policy}/{mode}\s+{NUMBER}\s+{NUMBER}\s+{NUMBER}\s+{NUMBER}$", out, re.M), out


def test_drift_prints_the_share_per_state_and_a_row_per_strategy():
    # on a drifting tool that is also unlike the twin (a reality of mismatch.py), seeds from --first-seed
    out = _run("drift.py", "--seeds", "1", "--first-seed", "5", "--budget", "3", "--vent-every", "2",
               "--strategies", "gp+ctx,gp,random,tpe", "--reality", "plasma heating")
    assert "the reality 'plasma heating' of mismatch.py" in out, out
    assert re.search(r"median over 1 seeds, 5\.\.5;", out), out
    assert re.search(rf"^just vented\s+{NUMBER}\s+{NUMBER}%", out, re.M), out
    assert re.search(rf"the 48-h optimum run right after a vent: [+-]{NUMBER}%", out), out
    for name in ("gp+ctx", "gp", "random", "tpe"):
        row = re.search(rf"^{re.escape(name)}\s+>?\d+\s+-?{NUMBER}%\s+(-?{NUMBER})%\s+\d+%\s+\d+/1\s+(-?{NUMBER})%$",
                        out, re.M)
        assert row, out
        # the best recipe already run is one a pick among the runs could make: the recommendation is never below it
        assert float(row.group(2)) <= float(row.group(1)), row.group(0)
    assert re.search(r"gp\+ctx against gp: [+-]\d+% fewer runs", out), out
    assert re.search(rf"per seed, last-cycle excess \[%\]: gp\+ctx: \[-?{NUMBER}\]", out), out


def test_drift_refuses_an_unknown_reality_with_exit_2():
    proc = subprocess.run([sys.executable, str(ROOT / "benchmarks" / "drift.py"), "--reality", "no such tool"],
                          cwd=ROOT, text=True, capture_output=True, timeout=60)
    assert proc.returncode == 2 and "Traceback" not in proc.stderr
    assert "--reality: unknown reality 'no such tool'" in proc.stderr, proc.stderr


def test_drift_scores_a_structural_reality_on_r_int_before_the_tool_time_is_added():
    """The truth of a tool with an effect the twin lacks: ``log10(R_int × factor + w × time)`` in the state given,
    never ``log10(R_int + w × time) + log10(factor)`` (the tool time is not multiplied), in drift.py and
    mismatch.py alike."""
    import importlib.util

    import numpy as np

    spec = importlib.util.spec_from_file_location("drift_bench", ROOT / "benchmarks" / "drift.py")
    drift = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(drift)
    cfg = drift.CampaignConfig.from_toml(drift.CAMPAIGN)
    reality = drift.REALITIES["plasma heating"]
    st = drift.BASE.state
    state = {"hours_since_vent": st.hours_since_vent, "target_kwh": st.target_kwh, "shield_kwh": st.shield_kwh}
    u = np.random.default_rng(0).random((40, len(cfg.space)))
    ev = drift.TwinEvaluator(drift.BASE, cfg.space, cfg.objective)
    vals, p_fail = ev.result_fields(u, ["interface_resistance_ohm_cm2", "process_time_s"])
    factor = reality.factor(ev.columns(u))
    assert factor.min() >= 1.0 and factor.max() > 1.2
    expected = np.log10(vals["interface_resistance_ohm_cm2"] * factor
                        + cfg.objective.secondary_weight * vals["process_time_s"])
    got = drift.Truth(cfg, reality).score(u, state)
    ok = p_fail < 0.5
    assert ok.sum() > 10 and np.all(np.isinf(got[~ok]))
    np.testing.assert_allclose(got[ok], expected[ok], rtol=1e-12)
    assert np.all(got[ok] > drift.Truth(cfg).score(u, state)[ok])
    # mismatch.py's truth of the same reality (every run in the initial state) is the same function
    mismatch = sys.modules["mismatch"]  # imported by drift.py
    np.testing.assert_allclose(mismatch.TrueValue(reality, cfg).unit(u)[0][ok], expected[ok], rtol=1e-12)


def test_pareto_prints_the_reference_the_difficulty_and_a_row_per_strategy():
    out = _run("pareto.py", "--problems", "lipon_pareto,BraninCurrin", "--strategies", "mobo,random,nsga2,tpe",
               "--seeds", "1", "--cap", "12", "--sobol", "9", ok=(0, 1))
    assert re.search(rf"reference hypervolume {NUMBER}: deterministic twin on 512 scrambled Sobol points", out), out
    assert re.search(rf"how hard: {NUMBER} % of the space is feasible", out), out
    for name in ("mobo", "random", "nsga2", "tpe"):
        assert len(re.findall(rf"^{name}\s+{NUMBER}\s+{NUMBER}\s+>?{NUMBER} \(\s*>?{NUMBER}\)", out, re.M)) == 2, out
    assert re.search(r"lipon_pareto: mobo median .* runs to 90 % .*: (met|NOT met)", out), out
    # the runs the model recommends, valued at the truth, beside the measured front's (ours on the example only)
    assert re.search(rf"^\s+mobo\s+@12 {NUMBER} \(measured front {NUMBER}; {NUMBER} runs\)$", out, re.M), out


def test_pareto_model_front_is_the_models_non_dominated_feasible_runs():
    """The recommended set of ``benchmarks/pareto.py``: rows of successful runs, non-dominated in the model's
    posterior means among those it rates feasible; rebuilt from the runs, so the same for the same runs."""
    import numpy as np

    sys.path.insert(0, str(ROOT / "benchmarks"))
    import pareto

    from campaigns.pareto import pareto_mask

    pareto.OPTIONS["fresh_chamber"] = True
    p = pareto.problem("lipon_pareto", reference=False)
    runs = pareto.run_ours(p, "mobo", 3, 14)
    front = pareto.model_front(("lipon_pareto", "mobo", 3, 14, runs, [12, 14]))
    assert set(front) == {12, 14}
    assert all(len(front[n]) >= 1 for n in front)
    U = np.array([u for u, _ in runs])
    for n, rows in front.items():
        idx = [int(np.flatnonzero((U[:n] == r).all(axis=1))[0]) for r in rows]  # each is one of the first n runs
        assert all(not runs[i][1].failed for i in idx)
        s = pareto.our_strategy(p, "mobo", 3, 14)
        recipes = [p.space.to_recipe(p.space.from_unit_cube(u[None, :])[0]) for u, _ in runs[:n]]
        s.tell(recipes, [o for _, o in runs[:n]])
        ok = [i for i in range(n) if not runs[i][1].failed]
        mean, _ = s.predict([recipes[i] for i in ok])
        feasible = np.asarray(s.feasibility([recipes[i] for i in ok])) > 0.5
        keep = np.flatnonzero(feasible)
        assert sorted(idx) == sorted(ok[i] for i in keep[pareto_mask(mean[keep])])
    again = pareto.model_front(("lipon_pareto", "mobo", 3, 14, runs, [14]))
    np.testing.assert_array_equal(again[14], front[14])


def test_pareto_on_a_tool_unlike_the_twin_says_how_far_off_the_twin_is():
    out = _run("pareto.py", "--problems", "lipon_pareto", "--strategies", "twin-mobo,random", "--seeds", "1",
               "--cap", "6", "--sobol", "9", "--reality", "O- yield x30", ok=(0, 1))
    assert re.search(rf"tool unlike the twin: reality 'O- yield x30' of mismatch.py \(.*\); {NUMBER} % of its "
                     r"reference hypervolume is what the twin's own front", out), out
    for name in ("twin-mobo", "random"):
        assert len(re.findall(rf"^{name}\s+{NUMBER}\s+{NUMBER}\s+>?{NUMBER} \(\s*>?{NUMBER}\)", out, re.M)) == 1, out


def test_front_latency_prints_a_row_per_size_and_agrees_with_optunas_hypervolume():
    out = _run("front_latency.py", "--runs", "6", "--repeats", "1")
    assert "agree with Optuna's WFG" in out
    row = next(line.split() for line in out.splitlines() if line.split()[:1] == ["6"])
    assert len(row) == 7 and float(row[-1]) <= 1e-9


def test_import_headstart_prints_the_share_and_runs_with_and_without_past_runs():
    out = _run("import_headstart.py", "--seeds", "1", "--budget", "2", "--n-past", "12", "--optimum-search", "500",
               "--polish", "1", "--strategies", "gp,tpe")
    assert re.search(rf"optimum {NUMBER} \(objective units\); share of the space within 10 %: {NUMBER}%", out), out
    assert re.search(rf"past runs: 12 per seed, .* median {NUMBER}", out), out
    for name in ("gp", "tpe"):  # runs without and with the past runs, how many reached, the saving
        assert re.search(rf"^{name}\s+>?{NUMBER}\s+>?{NUMBER}\s+\d+/1\s+\d+/1\s+-?{NUMBER}$", out, re.M), (name, out)


def test_pareto_drift_prints_the_gap_and_the_correlation_with_and_without_carry_over():
    out = _run("pareto_drift.py", "--seeds", "1", "--runs", "14")
    for how in ("one tool, chamber carried over", r"a fresh tool per run \(pareto.py's default\)"):
        assert re.search(rf"{how}: measured - true log10 R_int, mean by run: 1-5: [+-]{NUMBER}, .*"
                         rf"rank correlation of measured and true, runs 11-14: -?{NUMBER}", out), out
    assert _run("pareto_drift.py", "--runs", "5", ok=(2,)) == ""


@pytest.mark.parametrize("args, says", [(("--mobo-set", "oops"), "must be KEY=VALUE"),
                                        (("--mobo-set", "trust_region=perhaps"), "trust_region takes a bool"),
                                        (("--first-seed", "-1"), "--first-seed -1 must be >= 0"),
                                        (("--reality", "moon dust"), "--reality 'moon dust' unknown; allowed:"),
                                        (("--twin-mobo-set", "calibrate=often"), "calibrate takes a bool")])
def test_pareto_refuses_a_bad_setting_or_seed_in_one_line(args, says):
    proc = subprocess.run([sys.executable, str(ROOT / "benchmarks" / "pareto.py"), *args], cwd=ROOT, text=True,
                          capture_output=True, timeout=120)
    assert proc.returncode == 2 and says in proc.stderr and proc.stderr.count("\n") == 1, proc.stderr
