"""Scenario files: a base recipe and chamber, the parameters to vary, Monte Carlo replicates, sequences, seed.

A scenario is one TOML file (see ``examples/scenarios/``)::

    [scenario]
    name = "leak x pump-down x target life"
    seed = 2026
    replicates = 25          # Monte Carlo replicate sequences per design point
    runs_per_sequence = 1    # runs back to back in one chamber (state carries over)
    vent = true              # vent the process chamber before each sequence
    samples = 1              # draws of the distribution factors (required when one is given)
    recipe = "../recipes/haruta2015.toml"   # base recipe, relative to this file (default: Recipe())
    chamber = "../chambers/default.toml"    # base chamber (default: Chamber())

    [recipe]                 # changes to the base recipe, by field
    pumpdown_min = 240.0

    [chamber]                # changes to the base chamber, by dotted name or as [chamber.SECTION] tables
    "events.flake_rate_per_h" = 0.5

    [spec]
    max_interface_resistance_ohm_cm2 = 20.0

    [vary."events.leak_rate_per_h"]          # a grid ...
    grid = [0.0, 0.2, 1.0]
    [vary."state.target_kwh"]                # ... or a distribution: uniform (low, high),
    distribution = "uniform"                 # normal (mean, sd), lognormal (median, sigma);
    low = 0.0                                # normal and lognormal take optional low/high
    high = 110.0                             # truncation bounds

    [sensitivity]
    method = "sobol"         # "sobol" (Saltelli/Jansen, first and total order), "morris" or "none"
    samples = 64             # Sobol base sample N (a power of 2) or Morris trajectories
    replicates = 2           # replicate sequences per sensitivity point

Recipe parameters are named ``recipe.FIELD``; chamber parameters ``SECTION.FIELD`` (``Chamber.get`` names).
The sweep's *variations* are the grid's points (the full factorial); each variation runs every draw of the
distribution factors (the same draws for every variation: common random numbers), ``replicates`` times.

Validation (before any run; one :class:`ScenarioError`, exit status 2): each grid level and each distribution's
extremes when the file is read, every planned design point when the plan is built; see
:mod:`campaigns.whatif.validate`, which also says how far the tail of a normal or lognormal reaches.
"""

from __future__ import annotations

import dataclasses
import math
import typing
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from scipy import special

from campaigns.whatif.errors import ScenarioError
from campaigns.whatif.validate import TAIL_QUANTILE, check_levels
from campaigns.whatif.validate import apply as apply  # re-exported: its home before validation moved out
from twin import Chamber, Recipe
from twin.chamber import SECTIONS
from twin.config import coerce, read_toml
from twin.errors import InputError

DISTRIBUTIONS: dict[str, tuple[tuple[str, ...], tuple[str, ...]]] = {
    "uniform": (("low", "high"), ()),
    "normal": (("mean", "sd"), ("low", "high")),
    "lognormal": (("median", "sigma"), ("low", "high")),
}
"""Distribution name -> (required arguments, optional arguments)."""

SCENARIO_KEYS: dict[str, type] = {
    "name": str, "description": str, "seed": int, "replicates": int, "runs_per_sequence": int, "vent": bool,
    "samples": int, "recipe": str, "chamber": str,
}
SPEC_KEYS: dict[str, type] = {"max_interface_resistance_ohm_cm2": float}
SENSITIVITY_KEYS: dict[str, type] = {"method": str, "samples": int, "replicates": int, "levels": int}
SENSITIVITY_METHODS = ("sobol", "morris", "none")
DEFAULT_SPEC_MAX_R_INT = 20.0
"""Default spec limit on R_int [Ω·cm²]: [A] about twice the clean-interface anchors of FACTS §1 (7.6–11)."""


@dataclass(frozen=True)
class Factor:
    """One varied parameter: a grid of levels or a distribution.

    ``name`` is the scenario's name (``recipe.pumpdown_min``, ``events.leak_rate_per_h``); ``kind`` is
    ``"grid"`` or a distribution name; ``args`` the distribution's arguments (truncation bounds included).
    """

    name: str
    kind: str
    levels: tuple[Any, ...] = ()
    args: tuple[tuple[str, float], ...] = ()
    unit: str = ""
    dtype: str = "float"

    @property
    def is_recipe(self) -> bool:
        return self.name.startswith("recipe.")

    @property
    def field(self) -> str:
        """The recipe field, or the chamber's dotted name."""
        return self.name.removeprefix("recipe.")

    @property
    def is_grid(self) -> bool:
        return self.kind == "grid"

    def from_unit(self, u: np.ndarray) -> np.ndarray:
        """Map points of [0, 1) to values by the inverse CDF (a grid: to level indices, uniform over levels).

        Examples
        --------
        >>> Factor("state.target_kwh", "uniform", args=(("low", 0.0), ("high", 100.0))).from_unit(np.array([0.25]))
        array([25.])
        >>> Factor("recipe.pumpdown_min", "grid", levels=(60.0, 240.0)).from_unit(np.array([0.2, 0.7]))
        array([0, 1])
        """
        u = np.asarray(u, dtype=float)
        if self.is_grid:
            n = len(self.levels)
            return np.minimum((u * n).astype(np.int64), n - 1)
        a = dict(self.args)
        if self.kind == "uniform":
            return a["low"] + u * (a["high"] - a["low"])
        u = np.clip(u, TAIL_QUANTILE, 1.0 - TAIL_QUANTILE)
        if self.kind == "normal":
            loc, scale = a["mean"], a["sd"]

            def to_z(x: float) -> float:
                return (x - loc) / scale
        else:  # lognormal: ln(x) ~ N(ln(median), sigma)
            loc, scale = math.log(a["median"]), a["sigma"]

            def to_z(x: float) -> float:
                return (math.log(x) - loc) / scale if x > 0 else -math.inf
        lo = special.ndtr(to_z(a["low"])) if "low" in a else 0.0
        hi = special.ndtr(to_z(a["high"])) if "high" in a else 1.0
        z = special.ndtri(np.clip(lo + u * (hi - lo), 1e-300, 1.0 - 1e-16))
        x = loc + scale * z
        x = np.exp(x) if self.kind == "lognormal" else x
        if "low" in a or "high" in a:
            x = np.clip(x, a.get("low", -np.inf), a.get("high", np.inf))
        return x

    def describe(self) -> str:
        """One line: ``name: grid [a, b, c]`` or ``name: lognormal(median=.., sigma=..)``."""
        if self.is_grid:
            return f"{self.name}: grid {list(self.levels)}"
        return f"{self.name}: {self.describe_dist()}"

    def describe_dist(self) -> str:
        """The distribution with its arguments (truncation included): ``normal(mean=200, sd=10, low=0)``."""
        return f"{self.kind}(" + ", ".join(f"{k}={v:g}" for k, v in self.args) + ")"


@dataclass(frozen=True)
class SensitivitySpec:
    """Global sensitivity design: SALib ``method`` with ``samples`` base samples or trajectories."""

    method: str = "none"
    samples: int = 64
    replicates: int = 1
    levels: int = 4


@dataclass(frozen=True)
class Scenario:
    """A parsed, validated scenario."""

    name: str
    recipe: Recipe
    chamber: Chamber
    factors: tuple[Factor, ...]
    seed: int = 0
    replicates: int = 1
    runs_per_sequence: int = 1
    vent: bool = True
    samples: int = 1
    spec_max_interface_resistance_ohm_cm2: float = DEFAULT_SPEC_MAX_R_INT
    sensitivity: SensitivitySpec = dataclasses.field(default_factory=SensitivitySpec)
    description: str = ""
    source: str = ""
    text: str = ""

    @property
    def grid_factors(self) -> tuple[Factor, ...]:
        return tuple(f for f in self.factors if f.is_grid)

    @property
    def dist_factors(self) -> tuple[Factor, ...]:
        return tuple(f for f in self.factors if not f.is_grid)

    @property
    def n_variations(self) -> int:
        return math.prod(len(f.levels) for f in self.grid_factors)

    @property
    def sweep_runs(self) -> int:
        """Runs of the sweep (sensitivity design excluded)."""
        return self.n_variations * self.samples * self.replicates * self.runs_per_sequence

    @classmethod
    def from_toml(cls, path: str | Path) -> Scenario:
        """Load and validate a scenario file; every problem is a :class:`ScenarioError` naming the file."""
        p = Path(path)
        doc = read_toml(p, ScenarioError)
        try:
            return _parse(doc, p, p.read_text(encoding="utf-8"))
        except InputError as exc:
            err = ScenarioError(exc.field, exc.value, exc.problem, exc.allowed, exc.source or str(p))
            raise err from None

    @classmethod
    def from_dict(cls, doc: dict[str, Any], base_dir: str | Path = ".", source: str = "") -> Scenario:
        """Build from a parsed TOML document (relative file names resolve against ``base_dir``)."""
        try:
            return _parse(doc, Path(base_dir) / (source or "scenario.toml"), "")
        except InputError as exc:
            raise ScenarioError(exc.field, exc.value, exc.problem, exc.allowed, source or exc.source) from None


# -- parameters -----------------------------------------------------------------------------------------------
def parameter_names() -> list[str]:
    """Every parameter a scenario may vary: ``recipe.FIELD`` and chamber ``SECTION.FIELD``."""
    return [f"recipe.{n}" for n in Recipe.fields()] + [
        f"{s}.{f.name}" for s, c in SECTIONS.items() for f in dataclasses.fields(c)]


def _field_info(name: str) -> tuple[Any, dict[str, Any]]:
    """Type annotation and metadata of a parameter, or a ScenarioError for an unknown name."""
    section, _, field = name.partition(".")
    cls = Recipe if section == "recipe" else SECTIONS.get(section)
    fields = {f.name: f for f in dataclasses.fields(cls)} if cls is not None else {}
    if field not in fields:
        raise ScenarioError(f"vary.{name}", name, "unknown parameter",
                            "recipe.FIELD (" + ", ".join(Recipe.fields()) + ") or a chamber SECTION.FIELD "
                            "(sections: " + ", ".join(SECTIONS) + "; `sputter-twin chamber doc` lists them)")
    return typing.get_type_hints(cls)[field], dict(fields[field].metadata)


def check_value(name: str, value: Any, where: str) -> Any:
    """Coerce ``value`` to the parameter's type and check it against the parameter's range."""
    hint, meta = _field_info(name)
    value = coerce(value, hint, where, ScenarioError)
    low, high = meta.get("low"), meta.get("high")
    if isinstance(value, float) and (low is not None and value < low or high is not None and value > high):
        raise ScenarioError(where, value, f"outside the range of {name}",
                            f"[{low}, {high}] {meta.get('unit', '')}".rstrip())
    return value


# -- parsing ----------------------------------------------------------------------------------------------------
def _table(doc: dict[str, Any], key: str) -> dict[str, Any]:
    t = doc.get(key, {})
    if not isinstance(t, dict):
        raise ScenarioError(key, t, f"expected a table [{key}]")
    return t


def _keys(table: dict[str, Any], allowed: dict[str, type], prefix: str) -> dict[str, Any]:
    out = {}
    for k, v in table.items():
        if k not in allowed:
            raise ScenarioError(f"{prefix}.{k}", v, "unknown key", ", ".join(allowed))
        out[k] = coerce(v, allowed[k], f"{prefix}.{k}", ScenarioError)
    return out


def _positive_int(value: int, where: str, low: int = 1) -> int:
    if value < low:
        raise ScenarioError(where, value, "too small", f">= {low}")
    return value


def _flatten(table: dict[str, Any], prefix: str = "") -> dict[str, Any]:
    out: dict[str, Any] = {}
    for k, v in table.items():
        name = f"{prefix}{k}"
        if isinstance(v, dict):
            out.update(_flatten(v, name + "."))
        else:
            out[name] = v
    return out


def _parse_factor(name: str, table: Any) -> Factor:
    where = f"vary.{name}"
    hint, meta = _field_info(name)
    if not isinstance(table, dict):
        raise ScenarioError(where, table, "expected a table with grid = [...] or distribution = ...")
    unit = meta.get("unit", "")
    dtype = {float: "float", int: "int", bool: "bool"}.get(hint, "str")
    if "grid" in table and "distribution" in table:
        raise ScenarioError(where, "grid and distribution", "give one of grid or distribution, not both")
    if "grid" in table:
        extra = sorted(set(table) - {"grid"})
        if extra:
            raise ScenarioError(f"{where}.{extra[0]}", table[extra[0]], "unknown key with a grid", "grid")
        grid = table["grid"]
        if not isinstance(grid, list):
            raise ScenarioError(f"{where}.grid", grid, "expected a list of values", "[v1, v2, ...]")
        if not grid:
            raise ScenarioError(f"{where}.grid", grid, "empty grid", "one value or more")
        levels = tuple(check_value(name, v, f"{where}.grid") for v in grid)
        if len(set(levels)) != len(levels):
            raise ScenarioError(f"{where}.grid", grid, "repeated values", "distinct values")
        return Factor(name, "grid", levels=levels, unit=unit, dtype=dtype)
    if "distribution" not in table:
        raise ScenarioError(where, table, "missing grid or distribution",
                            "grid = [...] | distribution = " + " | ".join(DISTRIBUTIONS))
    kind = table["distribution"]
    if kind not in DISTRIBUTIONS:
        raise ScenarioError(f"{where}.distribution", kind, "unknown distribution", " | ".join(DISTRIBUTIONS))
    if hint is not float:
        raise ScenarioError(f"{where}.distribution", kind, f"{name} is not a number; use a grid", "grid = [...]")
    required, optional = DISTRIBUTIONS[kind]
    allowed = ("distribution", *required, *optional)
    for k in table:
        if k not in allowed:
            raise ScenarioError(f"{where}.{k}", table[k], f"unknown key for a {kind} distribution",
                                ", ".join(allowed))
    for k in required:
        if k not in table:
            raise ScenarioError(f"{where}.{k}", None, f"missing argument of the {kind} distribution",
                                ", ".join(required))
    args = {k: coerce(table[k], float, f"{where}.{k}", ScenarioError) for k in allowed[1:] if k in table}
    low, high = meta.get("low"), meta.get("high")
    rng_txt = f"[{low}, {high}] {unit}".rstrip()
    if kind == "uniform" and not args["low"] < args["high"]:
        raise ScenarioError(f"{where}.high", args["high"], "uniform needs low < high", f"> {args['low']}")
    if kind == "normal" and args["sd"] <= 0:
        raise ScenarioError(f"{where}.sd", args["sd"], "standard deviation must be positive", "> 0")
    if kind == "lognormal":
        if args["median"] <= 0:
            raise ScenarioError(f"{where}.median", args["median"], "lognormal median must be positive", "> 0")
        if args["sigma"] <= 0:
            raise ScenarioError(f"{where}.sigma", args["sigma"], "lognormal sigma must be positive", "> 0")
    if kind != "uniform" and "low" in args and "high" in args and not args["low"] < args["high"]:
        raise ScenarioError(f"{where}.high", args["high"], "truncation needs low < high", f"> {args['low']}")
    # truncate to the parameter's range where the distribution would leave it, and say so in the args
    for k, bound, bad in (("low", low, lambda a, b: a < b), ("high", high, lambda a, b: a > b)):
        if k in args and bound is not None and bad(args[k], bound):
            raise ScenarioError(f"{where}.{k}", args[k], f"outside the range of {name}", rng_txt)
    if kind == "lognormal" and args.get("high", math.inf) <= 0:
        raise ScenarioError(f"{where}.high", args["high"], "lognormal values are positive", "> 0")
    if kind != "uniform":
        if "low" not in args and low is not None and (kind == "normal" or low > 0):
            args["low"] = float(low)
        if "high" not in args and high is not None:
            args["high"] = float(high)
        if "low" in args and "high" in args and not args["low"] < args["high"]:
            raise ScenarioError(where, args, "the distribution has no mass in the parameter's range", rng_txt)
    order = [k for k in allowed[1:] if k in args]
    return Factor(name, kind, args=tuple((k, args[k]) for k in order), unit=unit, dtype=dtype)


def _resolve(path_txt: str, base: Path) -> Path:
    p = Path(path_txt)
    return p if p.is_absolute() else base.parent / p


def _load_base(sc: dict[str, Any], key: str, loader: Any, path: Path) -> Any:
    try:
        return loader(_resolve(sc[key], path))
    except InputError as exc:
        raise ScenarioError(f"scenario.{key}", sc[key], f"cannot load it: {exc}") from None


def _parse(doc: dict[str, Any], path: Path, text: str) -> Scenario:
    allowed_tables = ("scenario", "recipe", "chamber", "spec", "vary", "sensitivity")
    for k in doc:
        if k not in allowed_tables:
            raise ScenarioError(k, doc[k] if not isinstance(doc[k], dict) else "{...}", "unknown table or key",
                                ", ".join(f"[{t}]" for t in allowed_tables))
    sc = _keys(_table(doc, "scenario"), SCENARIO_KEYS, "scenario")
    seed = sc.get("seed", 0)
    if not 0 <= seed < 2**63:
        raise ScenarioError("scenario.seed", seed, "out of range", "[0, 2**63 - 1]")
    replicates = _positive_int(sc.get("replicates", 1), "scenario.replicates")
    runs_per_sequence = _positive_int(sc.get("runs_per_sequence", 1), "scenario.runs_per_sequence")

    # base recipe and chamber
    base_recipe = _load_base(sc, "recipe", Recipe.from_toml, path) if "recipe" in sc else Recipe()
    base_chamber = _load_base(sc, "chamber", Chamber.from_toml, path) if "chamber" in sc else Chamber()
    rec_changes = _table(doc, "recipe")
    if rec_changes:
        base_recipe = Recipe.from_dict({**base_recipe.to_dict(), **rec_changes})
    ch_changes = _flatten(_table(doc, "chamber"))
    if ch_changes:
        cdoc = base_chamber.to_dict()
        for dotted, value in ch_changes.items():
            section, _, field = dotted.partition(".")
            if dotted == "name":
                cdoc["name"] = value
                continue
            if section not in SECTIONS or field not in cdoc[section]:
                raise ScenarioError(f"chamber.{dotted}", value, "unknown chamber parameter",
                                    "SECTION.FIELD with SECTION one of " + ", ".join(SECTIONS))
            cdoc[section][field] = value
        base_chamber = Chamber.from_dict(cdoc)
    base_chamber.check(base_recipe)

    spec = _keys(_table(doc, "spec"), SPEC_KEYS, "spec")
    spec_max = spec.get("max_interface_resistance_ohm_cm2", DEFAULT_SPEC_MAX_R_INT)
    if not spec_max > 0:
        raise ScenarioError("spec.max_interface_resistance_ohm_cm2", spec_max, "must be positive", "> 0 Ω·cm²")

    vary = _table(doc, "vary")
    factors = []
    for name, table in _flatten_vary(vary).items():
        factors.append(_parse_factor(name, table))
    factors_t = tuple(factors)
    has_dist = any(not f.is_grid for f in factors_t)
    if has_dist and "samples" not in sc:
        raise ScenarioError("scenario.samples", None, "required when a parameter has a distribution",
                            "an integer >= 1 (draws of the distribution factors)")
    samples = _positive_int(sc.get("samples", 1), "scenario.samples")
    if samples > 1 and not has_dist:
        raise ScenarioError("scenario.samples", samples, "draws without any distribution factor",
                            "1, or add a [vary.NAME] distribution")

    sens = _keys(_table(doc, "sensitivity"), SENSITIVITY_KEYS, "sensitivity")
    method = sens.get("method", "none")
    if method not in SENSITIVITY_METHODS:
        raise ScenarioError("sensitivity.method", method, "unknown method", " | ".join(SENSITIVITY_METHODS))
    s_samples = _positive_int(sens.get("samples", 64), "sensitivity.samples", 2)
    if method == "sobol" and s_samples & (s_samples - 1):
        raise ScenarioError("sensitivity.samples", s_samples, "Sobol sampling needs a power of 2", "2, 4, 8, 16, ...")
    levels = sens.get("levels", 4)
    if levels < 2 or levels % 2:
        raise ScenarioError("sensitivity.levels", levels, "Morris levels must be even", "4, 6, 8, ...")
    if method != "none" and not factors_t:
        raise ScenarioError("sensitivity.method", method, "nothing varied to analyse", "add [vary.NAME] tables")
    sensitivity = SensitivitySpec(method, s_samples, _positive_int(sens.get("replicates", 1),
                                                                   "sensitivity.replicates"), levels)
    scenario = Scenario(
        name=sc.get("name", path.stem), description=sc.get("description", ""), recipe=base_recipe,
        chamber=base_chamber, factors=factors_t, seed=seed, replicates=replicates,
        runs_per_sequence=runs_per_sequence, vent=sc.get("vent", True), samples=samples,
        spec_max_interface_resistance_ohm_cm2=spec_max, sensitivity=sensitivity, source=str(path), text=text)
    check_levels(scenario)
    return scenario


def _flatten_vary(vary: dict[str, Any]) -> dict[str, Any]:
    """``[vary."events.leak_rate_per_h"]`` and ``[vary.events.leak_rate_per_h]`` both name one parameter."""
    out: dict[str, Any] = {}
    leaf_keys = {"grid", "distribution"}

    def walk(prefix: str, node: Any) -> None:
        if isinstance(node, dict) and not (set(node) & leaf_keys) and node and all(
                isinstance(v, dict) for v in node.values()):
            for k, v in node.items():
                walk(f"{prefix}.{k}" if prefix else k, v)
        else:
            out[prefix] = node

    for k, v in vary.items():
        walk(k, v)
    return out
