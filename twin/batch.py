"""The deterministic twin of many runs at once: one vectorised call instead of one simpy run per recipe.

:func:`expected_outcomes` gives, for ``N`` rows, what ``twin.simulate(recipe, chamber, deterministic=True)``
gives for each: the expected outcome of one run from load to unload, every scalar of :class:`twin.RunResult`.
A row is a recipe, optionally with its own chamber parameters (``params``: calibration evaluates M parameter
sets × N recipes in one call by repeating rows) and its own chamber state at load (``state``: hours since the
vent, target and shield kWh; context-aware optimisation asks what the same recipe gives on another day).

How it stays the twin: the deterministic run has no random events, so its discrete-event schedule is fixed by
the recipe (pump-down, transfer, heating, pre-sputter, seed layer, bulk, anneal, cooling, unload), and every
quantity between two steps has a closed form. This module walks that schedule on arrays, in the order
:func:`twin.model.run_process` walks it on floats, and both call the same physics (:mod:`twin.physics`); the
tests compare every field against the discrete-event model on random recipes, chambers and states.

Validation is vectorised too: a row whose recipe breaks a rule of :class:`twin.Recipe`, whose chamber
parameters leave their documented range, or (with ``check_limits``) whose recipe breaks the tool's limits
(:meth:`twin.Chamber.recipe_limits`, the one table :meth:`twin.Chamber.check` reads) is not an exception: it is
marked in :attr:`BatchResult.valid`, with the first field it breaks in :attr:`BatchResult.violation`, and its
outcomes are NaN. Malformed input (an unknown field or parameter, non-numbers, arrays of different lengths) is
an :class:`twin.InputError`.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from process_models import defects as pd_
from twin import physics as ph
from twin.chamber import ORDERED_PARAMETERS, SECTIONS, Chamber, State
from twin.errors import ChamberError, RecipeError
from twin.limits import check_columns
from twin.recipe import Recipe, column_violations

OUTCOMES: tuple[str, ...] = (
    "interface_resistance_ohm_cm2", "bulk_resistance_ohm_cm2", "thickness_nm", "deposition_rate_nm_min",
    "deposition_time_s", "process_time_s", "plasma_time_s", "interface_damage_dose_ev_nm2", "damaged_layer_nm",
    "interface_contamination_ml", "h2o_dose_langmuir", "proton_uptake", "film_impurity_fraction", "li_p_ratio",
    "nitrogen_content", "ionic_conductivity_s_cm", "particles_on_substrate", "interface_particles",
    "short_probability", "target_kwh_start", "target_kwh_after", "shield_kwh_after", "hours_since_vent_after")
"""The float outcomes of a row; the names of :class:`twin.RunResult`'s fields, and the chamber state after the
run (``RunResult.chamber_state_after``) as ``target_kwh_after``, ``shield_kwh_after`` and
``hours_since_vent_after``."""

_DEFAULT_CHAMBER = Chamber()


@dataclass(frozen=True)
class BatchResult:
    """Expected outcomes of ``N`` deterministic runs, one array element per row (NaN where a row is invalid).

    Attributes
    ----------
    valid : ndarray of bool
        Rows whose recipe, chamber parameters and (if checked) tool limits are all valid.
    violation : ndarray of str
        The first field a row breaks (``recipe.FIELD`` or a dotted chamber parameter), "" where valid.
    reason : ndarray of str
        Why (``"out of range"``, ``"outside the plasma window"``, ...), "" where valid.
    outcomes : dict of str to ndarray
        Every name of :data:`OUTCOMES`; also available as attributes (``result.thickness_nm``).
    shorted : ndarray of bool
        Expected short (short probability ≥ 0.5); False where a row is invalid.
    """

    valid: np.ndarray
    violation: np.ndarray
    reason: np.ndarray
    outcomes: dict[str, np.ndarray]
    shorted: np.ndarray

    def __len__(self) -> int:
        return len(self.valid)

    def __getattr__(self, name: str) -> np.ndarray:
        outcomes = self.__dict__.get("outcomes", {})
        if name in outcomes:
            return outcomes[name]
        raise AttributeError(name)

    @property
    def total_resistance_ohm_cm2(self) -> np.ndarray:
        """Interface plus bulk resistance [Ω·cm²]."""
        return self.outcomes["interface_resistance_ohm_cm2"] + self.outcomes["bulk_resistance_ohm_cm2"]

    def to_dict(self) -> dict[str, np.ndarray]:
        """Every array by name: the outcomes, ``shorted``, ``valid``, ``violation`` and ``reason``."""
        return {**self.outcomes, "shorted": self.shorted, "valid": self.valid, "violation": self.violation,
                "reason": self.reason}


def expected_outcomes(recipes: Sequence[Recipe] | Mapping[str, Any], chamber: Chamber | None = None, *,
                      params: Mapping[str, Any] | None = None, state: Mapping[str, Any] | None = None,
                      check_limits: bool = True) -> BatchResult:
    """Expected outcomes of many deterministic runs, each from a clean start in its chamber state.

    Parameters
    ----------
    recipes : sequence of Recipe, or mapping of field name to array
        ``N`` rows: recipes, or columns (arrays of length ``N`` or scalars; fields not given take the
        :class:`twin.Recipe` defaults; ``transfer`` as strings).
    chamber : Chamber, optional
        The tool (default ``Chamber()``).
    params : mapping of str to array, optional
        Dotted chamber parameters (``"interface.damage_coefficient"``) → values broadcastable to ``N``, replacing
        the chamber's for those rows (M parameter sets × N recipes: repeat the recipes M times and each parameter
        value N times).
    state : mapping of str to array, optional
        Chamber state at load, per row or scalar: ``hours_since_vent`` [h], ``target_kwh`` [kWh],
        ``shield_kwh`` [kWh] (the chamber's ``[state]`` otherwise).
    check_limits : bool
        Mark rows outside the tool's limits invalid, as ``simulate`` refuses them.

    Returns
    -------
    BatchResult

    Raises
    ------
    RecipeError, ChamberError
        Malformed input: an unknown field or parameter, values that are not numbers, lengths that differ.

    Examples
    --------
    >>> res = expected_outcomes({"rf_power_w": [60.0, 110.0, 400.0]})
    >>> res.valid.tolist(), res.violation.tolist()
    ([True, True, False], ['', '', 'recipe.rf_power_w'])
    >>> res.deposition_rate_nm_min.round(2).tolist()
    [0.73, 1.71, nan]
    """
    ch = chamber if chamber is not None else _DEFAULT_CHAMBER
    cols = _columns(recipes)
    pars = _parameters(ch, params, state)
    n = _length(cols, pars)
    cols = {k: np.broadcast_to(v, (n,)) for k, v in cols.items()}
    pars = {k: np.broadcast_to(v, (n,)) for k, v in pars.items()}
    marks = _Marks(n)
    rule = column_violations(cols, n)
    marks.mark(rule != "", "recipe." + rule, "breaks a rule of the recipe")
    _mark_parameters(ch, pars, marks)
    if check_limits:
        check = check_columns(ch.recipe_limits(pars), cols, n)
        first = check.first
        for k, lim in enumerate(check.table):
            marks.mark(first == k, f"recipe.{lim.field}", "power density outside the target's limits"
                       if lim.area_cm2 is not None else lim.problem)
    valid = marks.valid
    violation, reason = marks.violation, marks.reason
    with np.errstate(all="ignore"):
        out, shorted = _run(cols, ch, pars)
    for k, v in out.items():
        out[k] = np.where(valid, np.broadcast_to(v, (n,)), np.nan)
    return BatchResult(valid, violation, reason, out, np.where(valid, shorted, False))


# -- input ----------------------------------------------------------------------------------------------------
def _columns(recipes: Sequence[Recipe] | Mapping[str, Any]) -> dict[str, np.ndarray]:
    """Columns of every recipe field (floats; ``transfer`` as objects)."""
    fields = Recipe.fields()
    if isinstance(recipes, Mapping):
        unknown = sorted(set(recipes) - set(fields))
        if unknown:
            raise RecipeError(f"recipe.{unknown[0]}", "...", "unknown field", ", ".join(fields))
        defaults = Recipe().to_dict()
        raw = {f: recipes.get(f, defaults[f]) for f in fields}
    else:
        if isinstance(recipes, Recipe | str) or not isinstance(recipes, Iterable):
            raise RecipeError("recipes", _show(recipes) if not isinstance(recipes, Recipe) else "Recipe(...)",
                              "expected a sequence of Recipe or a mapping of field to array", "[Recipe(), ...]")
        recipes = list(recipes)
        for i, r in enumerate(recipes):
            if not isinstance(r, Recipe):
                raise RecipeError(f"recipes[{i}]", type(r).__name__, "expected a Recipe")
        raw = {f: [getattr(r, f) for r in recipes] for f in fields}
    out: dict[str, np.ndarray] = {}
    for f, v in raw.items():
        if f == "transfer":
            out[f] = np.asarray(v, dtype=object)
            continue
        arr = np.asarray(v)
        if arr.dtype.kind not in "iuf" or arr.ndim > 1:
            raise RecipeError(f"recipe.{f}", _show(v), "expected a number or a 1-D array of numbers")
        out[f] = arr.astype(float)
    if out["transfer"].ndim > 1:
        raise RecipeError("recipe.transfer", _show(raw["transfer"]), "expected a string or a 1-D array of them")
    return out


def _parameters(ch: Chamber, params: Mapping[str, Any] | None,
                state: Mapping[str, Any] | None) -> dict[str, np.ndarray]:
    """Dotted chamber parameters (``state`` as ``state.NAME``) → arrays, names checked."""
    out: dict[str, np.ndarray] = {}
    for name, v in (params or {}).items():
        default = ch.get(name)  # an unknown name is a ChamberError
        arr = np.asarray(v)
        kinds = "b" if isinstance(default, bool) else "iuf"
        if arr.dtype.kind not in kinds or arr.ndim > 1:
            raise ChamberError(name, _show(v), "expected true/false values" if kinds == "b"
                               else "expected a number or a 1-D array of numbers")
        out[name] = arr if kinds == "b" else arr.astype(float)
    state_fields = [f.name for f in dataclasses.fields(State)]
    for key, v in (state or {}).items():
        if key not in state_fields:
            raise ChamberError(f"state.{key}", _show(v), "no such state", ", ".join(state_fields))
        if f"state.{key}" in out:
            raise ChamberError(f"state.{key}", _show(v), "given both in params and in state", "one of them")
        arr = np.asarray(v)
        if arr.dtype.kind not in "iuf" or arr.ndim > 1:
            raise ChamberError(f"state.{key}", _show(v), "expected a number or a 1-D array of numbers")
        out[f"state.{key}"] = arr.astype(float)
    return out


def _show(v: Any) -> Any:
    """A short stand-in for a value in an error message."""
    return v if np.ndim(v) == 0 else f"array of shape {np.shape(v)}"


def _length(cols: Mapping[str, np.ndarray], pars: Mapping[str, np.ndarray]) -> int:
    """The common length of every 1-D input (1 if all are scalars)."""
    lengths = {len(v) for v in (*cols.values(), *pars.values()) if np.ndim(v) == 1}
    if len(lengths) > 1:
        raise RecipeError("recipes", sorted(lengths), "columns, parameters and state of different lengths",
                          "one length N, or scalars")
    return lengths.pop() if lengths else 1


class _Marks:
    """The first violation of each row, rule by rule in the twin's order (a row keeps its first)."""

    def __init__(self, n: int) -> None:
        self.valid = np.ones(n, dtype=bool)
        self.violation = np.full(n, "", dtype=object)
        self.reason = np.full(n, "", dtype=object)

    def mark(self, broken: np.ndarray, field: Any, reason: str) -> None:
        rows = broken & self.valid
        if rows.any():
            self.violation[rows] = field[rows] if isinstance(field, np.ndarray) else field
            self.reason[rows] = reason
            self.valid &= ~rows


def _mark_parameters(ch: Chamber, pars: Mapping[str, np.ndarray], marks: _Marks) -> None:
    """Mark rows whose chamber parameters leave their documented range or break the chamber's own rules."""
    for name, arr in pars.items():
        section, _, field = name.partition(".")
        meta = SECTIONS[section].__dataclass_fields__[field].metadata
        if arr.dtype.kind == "b" or meta.get("low") is None:
            continue
        marks.mark(~((arr >= meta["low"]) & (arr <= meta["high"])), name, "out of range")
    for lo, hi in ORDERED_PARAMETERS:
        if lo in pars or hi in pars:
            marks.mark(np.greater(pars.get(lo, ch.get(lo)), pars.get(hi, ch.get(hi))), lo, f"greater than {hi}")


# -- the run, on arrays -----------------------------------------------------------------------------------------
def _run(c: Mapping[str, np.ndarray], ch: Chamber, pars: Mapping[str, np.ndarray]) -> tuple[dict, np.ndarray]:
    """The deterministic run of every row, step by step as :func:`twin.model.run_process` takes it."""
    geo, vac, st, ev = (ch.section(s, pars) for s in ("geometry", "vacuum", "state", "events"))
    dep, en, cp, defects = (ch.section(s, pars) for s in ("deposition", "energetics", "contamination", "defects"))
    area, room, t_sub = geo.target_area_cm2, vac.room_temperature_c, c["substrate_temperature_c"]
    p, d, f = c["pressure_pa"], c["target_substrate_distance_mm"], c["n2_fraction"]
    n = len(p)
    kwh0 = np.broadcast_to(np.asarray(st.target_kwh, dtype=float), (n,))
    has_seed = c["seed_thickness_nm"] > 0
    seed = ph.step_physics(c["seed_power_w"], p, d, f, kwh0, dep, en, ev, area)
    bulk = ph.step_physics(c["rf_power_w"], p, d, f, kwh0, dep, en, ev, area)
    vent = np.where(vac.load_lock, 0.0 - st.hours_since_vent * 3600.0, 0.0)
    leak = ph.mean_leak_pa(ev)
    heat = vac.heat_rate_c_min

    def expose(t0, t1, temperature_c, h2o, coverage):
        expo = ph.background_exposure_pa_s(t0, t1, vent, leak, cp)
        return h2o + expo, ph.adsorb(coverage, expo, t1 - t0, temperature_c, cp)

    # load → pump-down → transfer → heat (the bare LiCoO2 sees the chamber's water from its arrival)
    t = 0.0 + c["pumpdown_min"] * 60.0
    t = t + vac.transfer_min * 60.0
    arrived = t
    t = t + np.abs(t_sub - room) / heat * 60.0
    h2o, coverage = expose(arrived, t, 0.5 * (room + t_sub), 0.0, 0.0)
    heated = t
    # pre-sputter at the bulk power, shutter closed
    dur = c["presputter_min"] * 60.0
    on = dur > 1e-9
    t = t + np.where(on, dur, 0.0)
    plasma_s = 0.0 + np.where(on, dur, 0.0)
    kwh = kwh0 + np.where(on, c["rf_power_w"] * dur / 3.6e6, 0.0)
    shield = st.shield_kwh + np.where(on, c["rf_power_w"] * dur / 3.6e6, 0.0)
    h2o, coverage = expose(heated, t, t_sub, h2o, coverage)
    # seed layer, then bulk
    depth = cp.impurity_depth_nm
    thick = np.zeros(n)
    dep_s = dose = drw = imp_pa = imp_nm = 0.0
    for step, power, dh, layer_on in ((seed, c["seed_power_w"], c["seed_thickness_nm"], has_seed),
                                      (bulk, c["rf_power_w"], c["target_thickness_nm"] - c["seed_thickness_nm"],
                                       c["target_thickness_nm"] - c["seed_thickness_nm"] > 1e-9)):
        rem = dh / step.rate_nm_s
        on = layer_on & (rem > 1e-9)
        start = t
        t = t + np.where(on, rem, 0.0)
        plasma_s = plasma_s + np.where(on, rem, 0.0)
        kwh = kwh + np.where(on, power * rem / 3.6e6, 0.0)
        shield = shield + np.where(on, power * rem / 3.6e6, 0.0)
        h1, layer_dose = ph.grow(thick, step, rem)
        dep_s = dep_s + np.where(on, rem, 0.0)
        dose = dose + np.where(on, layer_dose, 0.0)
        drw = drw + np.where(on, layer_dose * step.range_nm, 0.0)
        inner = on & (thick < depth)
        buried = ph.buried_nm(thick, h1, depth)
        imp_pa = imp_pa + np.where(inner, ph.background_exposure_pa_s(start, start + buried / step.rate_nm_s,
                                                                      vent, leak, cp), 0.0)
        imp_nm = imp_nm + np.where(inner, buried, 0.0)
        thick = np.where(on, h1, thick)
    # anneal, cool, unload
    anneal = c["anneal_min"] > 0
    t_end = np.where(anneal, c["anneal_temperature_c"], t_sub)
    t = t + np.where(anneal, np.abs(t_end - t_sub) / heat * 60.0, 0.0)
    t = t + np.where(anneal, c["anneal_min"] * 60.0, 0.0)
    t = t + np.abs(t_end - room) / heat * 60.0
    t = t + vac.unload_min * 60.0
    return _finish(c, ch, pars, seed, bulk, thick, has_seed, dict(
        h2o=h2o, coverage=coverage, imp_pa=imp_pa, imp_nm=imp_nm, dose=dose, drw=drw, dep_s=dep_s,
        plasma_s=plasma_s, end=t, kwh0=kwh0, kwh=kwh, shield=shield, vent=vent))


def _finish(c: Mapping[str, np.ndarray], ch: Chamber, pars: Mapping[str, np.ndarray], seed: ph.Step,
            bulk: ph.Step, thick: np.ndarray, has_seed: np.ndarray,
            acc: dict[str, Any]) -> tuple[dict, np.ndarray]:
    """The outcomes of every row from what its run accumulated (as :func:`twin.model.finish`)."""
    geo, vac, ev, defects = (ch.section(s, pars) for s in ("geometry", "vacuum", "events", "defects"))
    room = vac.room_temperature_c
    film = ph.film_properties(
        thickness_nm=thick, pressure_pa=c["pressure_pa"], distance_mm=c["target_substrate_distance_mm"],
        n2_fraction=c["n2_fraction"], rf_power_w=c["rf_power_w"], rate_nm_min=bulk.rate_nm_s * 60.0,
        phi_first_ev_nm3=np.where(has_seed, seed.phi_ev_nm3, bulk.phi_ev_nm3), phi_bulk_ev_nm3=bulk.phi_ev_nm3,
        anneal_temperature_c=c["anneal_temperature_c"], anneal_min=c["anneal_min"], room_temperature_c=room,
        target_area_cm2=geo.target_area_cm2, deposition=ch.section("deposition", pars),
        film=ch.section("film", pars))
    itf = ph.interface_outcome(
        air_transfer=c["transfer"] == "air", air_exposure_min=c["air_exposure_min"], chamber_h2o_pa_s=acc["h2o"],
        impurity_pa_s=acc["imp_pa"], impurity_nm=acc["imp_nm"], dose_ev_nm2=acc["dose"],
        dose_range_weight=acc["drw"], bulk_range_nm=bulk.range_nm, coverage_ml=acc["coverage"],
        li_p_first=film.li_p_first, anneal_temperature_c=c["anneal_temperature_c"], anneal_min=c["anneal_min"],
        room_temperature_c=room, contamination=ch.section("contamination", pars),
        deposition=ch.section("deposition", pars), energetics=ch.section("energetics", pars),
        interface=ch.section("interface", pars))
    flake = pd_.flake_rate_per_s(acc["shield"], ev.flake_rate_per_h, ev.flake_shield_kwh_scale)
    layers = [(seed, c["seed_thickness_nm"]), (bulk, c["target_thickness_nm"] - c["seed_thickness_nm"])]
    particles, interface_particles = ph.expected_particles(
        defects.load_particles, flake, ev.arc_particle_probability, defects.interface_thickness_nm, layers)
    p_short = pd_.short_probability(thick, interface_particles, defects)
    out = {
        "interface_resistance_ohm_cm2": itf.interface_resistance_ohm_cm2,
        "bulk_resistance_ohm_cm2": film.bulk_resistance_ohm_cm2, "thickness_nm": thick,
        "deposition_rate_nm_min": bulk.rate_nm_s * 60.0, "deposition_time_s": acc["dep_s"],
        "process_time_s": acc["end"] - 0.0, "plasma_time_s": acc["plasma_s"],
        "interface_damage_dose_ev_nm2": acc["dose"], "damaged_layer_nm": itf.damaged_layer_nm,
        "interface_contamination_ml": acc["coverage"], "h2o_dose_langmuir": itf.h2o_dose_langmuir,
        "proton_uptake": itf.proton_uptake, "film_impurity_fraction": itf.film_impurity_fraction,
        "li_p_ratio": film.li_p_bulk, "nitrogen_content": film.nitrogen_content,
        "ionic_conductivity_s_cm": film.ionic_conductivity_s_cm, "particles_on_substrate": particles,
        "interface_particles": interface_particles, "short_probability": p_short,
        "target_kwh_start": acc["kwh0"], "target_kwh_after": acc["kwh"], "shield_kwh_after": acc["shield"],
        "hours_since_vent_after": (acc["end"] - acc["vent"]) / 3600.0,
    }
    return {k: np.asarray(v, dtype=float) for k, v in out.items()}, np.asarray(p_short >= 0.5)
