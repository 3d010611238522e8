"""A scenario whose draws break a recipe rule or a limit of the tool is refused before any run (exit 2, one line).

Every CLI test here runs with ``run_plan`` and ``dask_client`` replaced: refusing a scenario must never reach
them, so no Dask cluster starts, and a scenario that passes runs in this process (no cluster either).
"""

from __future__ import annotations

import contextlib
import io
import math
import subprocess
import sys
from pathlib import Path

import numpy as np
import pyarrow.parquet as pq
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import campaigns.whatif
import campaigns.whatif.runner
from campaigns.whatif import Plan, RunInfo, Scenario, ScenarioError, run_chunk
from campaigns.whatif.validate import TAIL_QUANTILE, apply, check_plan, violations
from sputter_twin.cli.main import main
from tests.conftest import EXAMPLES, ROOT
from twin import Chamber, Recipe
from twin.errors import InputError

SCENARIOS = EXAMPLES / "scenarios"
MAX_W = 5.5 * math.pi * (76.2 / 20.0) ** 2
"""Highest RF power of the default chamber: 5.5 W/cm² on a 3-inch target, 250.8 W."""


# -- writing scenarios ----------------------------------------------------------------------------------------
def _toml_value(v) -> str:
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, str):
        return '"' + v.replace("\\", "\\\\").replace('"', '\\"') + '"'
    if isinstance(v, float):
        return "nan" if math.isnan(v) else ("inf" if v == math.inf else "-inf" if v == -math.inf else repr(v))
    if isinstance(v, list):
        return "[" + ", ".join(map(_toml_value, v)) + "]"
    return repr(v)


def _write(path: Path, doc: dict) -> Path:
    """``doc`` (tables of scalars; ``vary`` a table of tables by parameter name) as a TOML file."""
    lines = []
    for table, body in doc.items():
        if table == "vary":
            for name, spec in body.items():
                lines.append(f'[vary."{name}"]')
                lines += [f"{k} = {_toml_value(v)}" for k, v in spec.items()]
        else:
            lines.append(f"[{table}]")
            lines += [f"{k} = {_toml_value(v)}" for k, v in body.items()]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def _doc(vary: dict, samples: int = 20, seed: int = 1, recipe: dict | None = None, **tables) -> dict:
    doc = {"scenario": {"seed": seed, "samples": samples, "replicates": 1}}
    if recipe:
        doc["recipe"] = recipe
    return {**doc, **tables, "vary": vary}


def _uniform(low: float, high: float) -> dict:
    return {"distribution": "uniform", "low": low, "high": high}


# -- the CLI, with the cluster out of reach --------------------------------------------------------------------
def _in_process(plan: Plan, out, **_) -> RunInfo:
    """``run_plan`` without Dask: the whole study as one chunk in this process."""
    table = run_chunk(plan, 0, plan.n_sequences)
    pq.write_table(table, out)
    return RunInfo(Path(out), table.num_rows, 1, plan.total_runs, 1, 0.0, 0.0, "in-process")


class _Calls:
    def __init__(self) -> None:
        self.runs = 0

    def run_plan(self, plan, out, **kw) -> RunInfo:
        self.runs += 1
        return _in_process(plan, out, **kw)


def _no_cluster(*_a, **_k):
    raise AssertionError("a Dask cluster was asked for")


def _cli(scenario: Path, out: Path) -> tuple[int, str, str, int]:
    """``sputter-twin whatif SCENARIO --out OUT`` in this process: exit status, stdout, stderr, studies run."""
    calls = _Calls()
    stdout, stderr = io.StringIO(), io.StringIO()
    with pytest.MonkeyPatch.context() as mp, contextlib.redirect_stdout(stdout), contextlib.redirect_stderr(stderr):
        mp.setattr(campaigns.whatif, "run_plan", calls.run_plan)
        mp.setattr(campaigns.whatif.runner, "dask_client", _no_cluster)
        rc = main(["whatif", str(scenario), "--out", str(out), "--no-progress"])
    return rc, stdout.getvalue(), stderr.getvalue(), calls.runs


BREAKING = {
    # a seed layer (grid) thicker than some drawn film thicknesses
    "seed thicker than the drawn film": (
        _doc({"recipe.seed_thickness_nm": {"grid": [0.0, 60.0]},
              "recipe.target_thickness_nm": _uniform(20.0, 200.0)}),
        "vary.recipe.seed_thickness_nm = 60.0", "seed layer thicker than the film", "draw "),
    # the same, the seed layer fixed in [recipe]: the film's distribution alone reaches below it
    "drawn film thinner than the fixed seed": (
        _doc({"recipe.target_thickness_nm": _uniform(20.0, 200.0)}, recipe={"seed_thickness_nm": 60.0}),
        "vary.recipe.target_thickness_nm = 20.0", "low end (low = 20)", "allowed: [0, target_thickness_nm = 20.0]"),
    # a power whose normal tail passes the target's limit (250.8 W)
    "power tail above the tool's limit": (
        _doc({"recipe.rf_power_w": {"distribution": "normal", "mean": 220.0, "sd": 10.0}}),
        "vary.recipe.rf_power_w = 290.3", "high end (quantile 1 - 1e-12)", "allowed: [10, 250.8] W"),
    # a drawn power within the default limit but above the limit of a drawn-down power density
    "power above a varied limit": (
        _doc({"limits.max_power_density_w_cm2": {"grid": [3.0, 5.5]},
              "recipe.rf_power_w": _uniform(100.0, 200.0)}),
        "vary.recipe.rf_power_w = ", "outside the target's limits", "allowed: [10, 136.8] W"),
    # air exposure drawn for every run, also those of the vacuum-transfer variation
    "air exposure with a vacuum transfer": (
        _doc({"recipe.transfer": {"grid": ["air", "vacuum"]}, "recipe.air_exposure_min": _uniform(0.0, 30.0)},
             recipe={"transfer": "air"}),
        "vary.recipe.air_exposure_min = ", "air exposure with a vacuum transfer", "sweep variation 1, draw 0"),
    # a pressure whose normal leaves the plasma window [0.1, 5] Pa
    "pressure outside the plasma window": (
        _doc({"recipe.pressure_pa": {"distribution": "normal", "mean": 0.5, "sd": 0.2}}),
        "vary.recipe.pressure_pa = 0.001", "outside the plasma window", "allowed: [0.1, 5] Pa"),
    # a pressure inside the default window but below a raised lower end
    "pressure below a varied window": (
        _doc({"limits.min_pressure_pa": {"grid": [0.1, 0.3]}, "recipe.pressure_pa": _uniform(0.2, 0.5)}),
        "vary.recipe.pressure_pa = ", "outside the plasma window", "allowed: [0.3, 5] Pa"),
    # an anneal temperature above the heater's limit, only in the variation that anneals
    "anneal too hot when annealing": (
        _doc({"recipe.anneal_min": {"grid": [0.0, 60.0]}, "recipe.anneal_temperature_c": _uniform(100.0, 800.0)}),
        "vary.recipe.anneal_temperature_c = ", "recipe.anneal_temperature_c", "allowed: [25, 600] °C"),
    # the sweep's two draws are fine; the Sobol design reaches a seed layer thicker than the film
    "sensitivity design": (
        _doc({"recipe.seed_thickness_nm": _uniform(0.0, 50.0), "recipe.target_thickness_nm": _uniform(40.0, 200.0)},
             samples=2, seed=0, sensitivity={"method": "sobol", "samples": 8}),
        "of the sobol sensitivity design", "seed layer thicker than the film", "allowed: [0, target_thickness_nm"),
}


@pytest.mark.parametrize("existing", [False, True], ids=["no-out-file", "out-file-kept"])
@pytest.mark.parametrize("kind", list(BREAKING))
def test_breaking_draws_are_exit_2_with_one_line_before_any_run(kind, existing, tmp_path):
    doc, *words = BREAKING[kind]
    scenario = _write(tmp_path / "bad.toml", doc)
    out = tmp_path / "runs.parquet"
    if existing:
        out.write_bytes(b"results of an earlier study")
    rc, stdout, err, runs = _cli(scenario, out)
    assert (rc, stdout, runs) == (2, "", 0)
    assert err.count("\n") == 1 and err.startswith(f"sputter-twin: {scenario}: vary."), err
    for w in words:
        assert w in err, err
    assert "allowed: " in err and "Traceback" not in err
    if existing:
        assert out.read_bytes() == b"results of an earlier study"
    else:
        assert not out.exists()
    assert not out.with_name(out.name + ".parts").exists()


@pytest.mark.parametrize("kind", ["seed thicker than the drawn film", "power tail above the tool's limit"])
def test_breaking_draws_through_the_installed_command(kind, tmp_path):
    """The same, as a user runs it: a process of its own, one line on standard error, no traceback."""
    scenario = _write(tmp_path / "bad.toml", BREAKING[kind][0])
    out = tmp_path / "runs.parquet"
    exe = Path(sys.executable).with_name("sputter-twin")
    cmd = [str(exe)] if exe.exists() else [sys.executable, "-m", "sputter_twin"]
    proc = subprocess.run([*cmd, "whatif", str(scenario), "--out", str(out)], cwd=ROOT, capture_output=True,
                          text=True, timeout=120)
    assert proc.returncode == 2 and proc.stdout == ""
    assert proc.stderr.count("\n") == 1 and str(scenario) in proc.stderr and "allowed: " in proc.stderr
    assert "Traceback" not in proc.stderr and not out.exists()


def test_a_valid_scenario_still_runs(tmp_path):
    doc = _doc({"recipe.seed_thickness_nm": {"grid": [0.0, 10.0]}, "recipe.target_thickness_nm": _uniform(20.0, 200.0),
                "recipe.rf_power_w": {"distribution": "normal", "mean": 110.0, "sd": 10.0}}, samples=3)
    scenario, out = _write(tmp_path / "ok.toml", doc), tmp_path / "runs.parquet"
    rc, stdout, err, runs = _cli(scenario, out)
    assert (rc, err, runs) == (0, "", 1)
    assert pq.read_metadata(out).num_rows == 2 * 3 and "per variation" in stdout


# -- the plan: every point checked, draws unchanged ---------------------------------------------------------------
@pytest.mark.parametrize("path", sorted(SCENARIOS.glob("*.toml")), ids=lambda p: p.name)
def test_examples_pass_and_their_draws_do_not_change(path):
    """The check only reads the plan: the values of every point are those of an unchecked plan."""
    sc = Scenario.from_toml(path)
    checked, unchecked = Plan(sc), Plan(sc, check=False)
    np.testing.assert_array_equal(checked.draws, unchecked.draws)
    np.testing.assert_array_equal(checked.sens_unit, unchecked.sens_unit)
    values = checked.values(0, checked.n_points)
    for p in range(checked.n_points):
        for name, v in checked.point(p).values.items():
            assert values[name][p] == v


def test_draws_of_the_small_example_are_pinned():
    """The same seed gives the same draws as before the check existed (common random numbers across versions)."""
    plan = Plan(Scenario.from_toml(SCENARIOS / "small.toml"))
    np.testing.assert_allclose(plan.draws[:, 0], [88.76461438395461, 47.555371703674346, 58.6189818369341],
                               rtol=0, atol=0)


def test_every_bad_point_is_found_whatever_the_block(monkeypatch):
    """The first bad point in plan order is reported, also when it lies in a later block of points."""
    doc = _doc({"recipe.seed_thickness_nm": {"grid": [10.0, 150.0]},
                "recipe.target_thickness_nm": _uniform(20.0, 200.0)},
               samples=5000, seed=4, recipe={"seed_thickness_nm": 10.0, "target_thickness_nm": 200.0})
    sc = Scenario.from_dict(doc, source="blocks.toml")
    plan = Plan(sc, check=False)
    values = plan.values(0, plan.n_points)
    first = int(np.flatnonzero(values["recipe.seed_thickness_nm"] > values["recipe.target_thickness_nm"])[0])
    assert first >= 5000  # in variation 1
    monkeypatch.setattr("campaigns.whatif.validate.BLOCK_POINTS", 777)
    with pytest.raises(ScenarioError) as info:
        check_plan(plan)
    pt = plan.point(first)
    assert f"sweep variation 1, draw {pt.draw} " in str(info.value)
    assert repr(pt.values["recipe.target_thickness_nm"]) in str(info.value)


def test_tail_quantile_is_where_the_draws_end():
    """The documented quantile is the inverse CDF's clip: the extremes that validation checks are reachable."""
    sc = Scenario.from_dict(_doc({"recipe.rf_power_w": {"distribution": "normal", "mean": 110.0, "sd": 10.0}}),
                            source="q.toml")
    lo, hi = sc.factors[0].from_unit(np.array([0.0, 1.0]))
    from scipy.stats import norm

    assert lo == pytest.approx(110.0 + 10.0 * norm.ppf(TAIL_QUANTILE), rel=1e-9)
    assert hi == pytest.approx(110.0 + 10.0 * norm.ppf(1 - TAIL_QUANTILE), rel=1e-9)


# -- the vectorised rules agree with the twin ---------------------------------------------------------------------
_RECIPE_RANGES = {
    "target_thickness_nm": (0.5, 6000.0), "rf_power_w": (-5.0, 300.0), "seed_power_w": (-5.0, 300.0),
    "seed_thickness_nm": (0.0, 200.0), "pressure_pa": (0.0, 6.0), "target_substrate_distance_mm": (30.0, 130.0),
    "substrate_temperature_c": (0.0, 700.0), "presputter_min": (0.0, 300.0), "pumpdown_min": (0.0, 11000.0),
    "air_exposure_min": (0.0, 11000.0), "anneal_temperature_c": (0.0, 700.0), "anneal_min": (0.0, 1500.0),
}
_CHAMBER_RANGES = {
    "limits.max_power_density_w_cm2": (0.1, 8.0), "limits.min_power_w": (0.0, 60.0),
    "limits.min_pressure_pa": (0.05, 1.0), "limits.max_pressure_pa": (0.5, 6.0),
    "limits.min_distance_mm": (30.0, 80.0), "limits.max_distance_mm": (60.0, 130.0),
    "limits.max_substrate_temperature_c": (100.0, 700.0), "limits.max_anneal_temperature_c": (100.0, 700.0),
    "limits.max_thickness_nm": (100.0, 6000.0), "limits.max_presputter_min": (10.0, 300.0),
    "limits.max_pumpdown_min": (60.0, 11000.0), "limits.max_anneal_min": (10.0, 1500.0),
    "limits.max_air_exposure_min": (10.0, 11000.0), "geometry.target_diameter_mm": (25.0, 200.0),
    "vacuum.room_temperature_c": (15.0, 40.0), "interface.li_p_window_low": (2.0, 3.5),
    "interface.li_p_window_high": (2.5, 4.0),
}


def _edgy(lo: float, hi: float):
    """Mostly inside [lo, hi], with its ends and zero often (where the rules switch)."""
    return st.one_of(st.floats(lo, hi), st.sampled_from(sorted({lo, hi, 0.0 if lo <= 0 <= hi else lo})))


@settings(max_examples=500, deadline=None)
@given(data=st.data())
def test_vectorised_rules_agree_with_the_twin(data):
    varied = data.draw(st.lists(st.sampled_from([*[f"recipe.{k}" for k in _RECIPE_RANGES], "recipe.transfer",
                                                 *_CHAMBER_RANGES]), min_size=1, max_size=4, unique=True))
    base_recipe = Recipe(transfer=data.draw(st.sampled_from(["vacuum", "air"])),
                         seed_thickness_nm=data.draw(st.sampled_from([0.0, 5.0])), seed_power_w=30.0,
                         anneal_min=data.draw(st.sampled_from([0.0, 30.0])))
    values = {}
    for name in varied:
        if name == "recipe.transfer":
            values[name] = data.draw(st.sampled_from(["vacuum", "air"]))
        else:
            rng = _RECIPE_RANGES.get(name[7:]) or _CHAMBER_RANGES[name]
            values[name] = data.draw(_edgy(*rng))
    try:
        recipe, chamber = apply(base_recipe, Chamber(), values)
        chamber.check(recipe)
        twin_ok = True
    except InputError:
        twin_ok = False
    arrays = {k: np.array([v], dtype=object if isinstance(v, str) else float) for k, v in values.items()}
    assert bool(violations(arrays, base_recipe, Chamber(), 1)[0]) is (not twin_ok), values


@pytest.mark.parametrize("diameter_mm", [None, 50.0, 76.2, 150.0])
@pytest.mark.parametrize("field", ["rf_power_w", "seed_power_w"])
def test_vectorised_power_limit_is_the_twins(field, diameter_mm):
    """Near the target's power limit (power density x area, the area from a varied diameter or the chamber's)."""
    base = Recipe(rf_power_w=50.0, seed_thickness_nm=5.0, seed_power_w=30.0)
    chamber = Chamber() if diameter_mm is None else Chamber().replace({"geometry.target_diameter_mm": diameter_mm})
    powers = np.linspace(0.995, 1.005, 101) * chamber.limits.max_power_density_w_cm2 * \
        chamber.geometry.target_area_cm2
    values = {f"recipe.{field}": powers}
    if diameter_mm is not None:
        values["geometry.target_diameter_mm"] = np.full(len(powers), diameter_mm)
    mirror = violations(values, base, Chamber(), len(powers))
    twin = []
    for w in powers:
        try:
            chamber.check(base.replace(**{field: float(w)}))
            twin.append(False)
        except InputError:
            twin.append(True)
    assert mirror.tolist() == twin and 0 < sum(twin) < len(twin)


# -- fuzzing: any distribution parameters give exit 0 (the study runs) or exit 2 (one line), never a traceback ----
_FIELDS = {
    "recipe.rf_power_w": (10.0, 260.0), "recipe.seed_power_w": (10.0, 260.0),
    "recipe.seed_thickness_nm": (0.0, 120.0), "recipe.target_thickness_nm": (1.0, 300.0),
    "recipe.pressure_pa": (0.05, 6.0), "recipe.air_exposure_min": (0.0, 60.0),
    "recipe.anneal_temperature_c": (20.0, 700.0), "recipe.substrate_temperature_c": (20.0, 700.0),
    "limits.max_power_density_w_cm2": (1.0, 6.0), "limits.min_pressure_pa": (0.05, 1.0),
    "events.leak_rate_per_h": (0.0, 5.0),
}
_wild = st.one_of(st.sampled_from([0.0, -1.0, 1e-300, 1e300, math.inf, -math.inf, math.nan]),
                  st.floats(allow_nan=True, allow_infinity=True))


@st.composite
def _distribution(draw, name: str):
    """Mostly a plausible distribution over the field (so that many studies run, and many break only in
    combination); now and then any float in any argument."""
    lo, hi = _FIELDS[name]
    span = hi - lo

    def arg(plausible):  # one argument in ten is any float
        return draw(_wild if draw(st.integers(0, 9)) == 9 else plausible)

    loc, scale = st.floats(lo - 0.1 * span, hi + 0.1 * span), st.floats(0.001 * span, 0.05 * span)
    kind = draw(st.sampled_from(["uniform", "normal", "lognormal"]))
    if kind == "uniform":
        low = arg(loc)
        width = arg(st.floats(0.001 * span, 0.5 * span))
        return {"distribution": kind, "low": low, "high": low + width}
    centre = arg(loc)
    table = ({"distribution": kind, "mean": centre, "sd": arg(scale)} if kind == "normal"
             else {"distribution": kind, "median": centre, "sigma": arg(st.floats(0.01, 0.3))})
    for bound, sign in (("low", -1.0), ("high", 1.0)):
        if draw(st.booleans()):
            table[bound] = centre + sign * arg(scale)
    return table


_grids = {"recipe.transfer": ["vacuum", "air"], "recipe.seed_thickness_nm": [0.0, 5.0, 60.0],
          "recipe.anneal_min": [0.0, 30.0], "limits.max_power_density_w_cm2": [3.0, 5.5]}


# a Sobol design of 2 base samples often gives SALib subsets of equal outputs, which it warns about (not an error)
@pytest.mark.filterwarnings("ignore:Constant values encountered:UserWarning")
@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_fuzzed_distributions_are_exit_0_or_2_never_a_traceback(data, tmp_path_factory):
    names = data.draw(st.lists(st.sampled_from(sorted(_FIELDS)), min_size=1, max_size=3, unique=True))
    vary = {n: data.draw(_distribution(n)) for n in names}
    grid = data.draw(st.sampled_from([*sorted(_grids), None]))
    if grid and grid not in vary:
        vary[grid] = {"grid": _grids[grid]}
    recipe = data.draw(st.sampled_from([{}, {"transfer": "air"}, {"seed_thickness_nm": 5.0, "seed_power_w": 30.0}]))
    method = data.draw(st.sampled_from(["none", "none", "sobol", "morris"]))
    sens = {"method": method, "samples": 2} if method != "none" else {"method": "none"}
    doc = _doc(vary, samples=data.draw(st.integers(1, 3)), seed=data.draw(st.integers(0, 2**32)), recipe=recipe,
               sensitivity=sens)
    tmp = tmp_path_factory.mktemp("fuzz")
    scenario, out = _write(tmp / "fuzz.toml", doc), tmp / "runs.parquet"
    rc, stdout, err, runs = _cli(scenario, out)
    assert rc in (0, 2), err
    if rc == 2:
        assert err.count("\n") == 1 and err.startswith(f"sputter-twin: {scenario}: "), err
        assert runs == 0 and not out.exists()  # refused before the runs, never by a run
    else:
        assert runs == 1 and out.exists() and "Traceback" not in err

