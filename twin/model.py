"""The simpy discrete-event model of runs in one chamber.

One run is a process: load → pump-down → transfer → heat → pre-sputter (shutter closed) → seed layer →
bulk → optional anneal → unload. Random events are concurrent Poisson processes (arcs, RF trips, leak
bursts, flakes); an RF trip interrupts the plasma step (``simpy.Interrupt`` with the trip as cause), which
resumes after the re-strike. Between events every quantity is integrated in closed form (water exposure,
Langmuir coverage, film growth, damage dose), so a run costs a few dozen simpy events, not thousands of
steps. A queue of runs shares a :class:`ChamberRuntime`: target and shield kWh and the time since the last
vent carry over from run to run.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import simpy

import process_models as pm
from process_models import contamination as pc
from process_models import defects as pd_
from process_models import deposition as pdp
from process_models import energetics as pe
from process_models import film as pf
from process_models import interface as pi
from process_models.constants import LANGMUIR_PA_S
from twin.chamber import Chamber
from twin.recipe import Recipe
from twin.result import Event, RunResult

_TRIP = "rf_trip"
_Z_PER_PA = 3.513e22 / 133.322368 / math.sqrt(18.015 * 300.0)  # H2O impingement per Pa [1/(cm²·s·Pa)]


@dataclass
class _Step:
    """Physics of one plasma step, constant while it lasts."""

    power_w: float
    rate_nm_s: float
    phi_ev_nm3: float
    range_nm: float
    li_p: float
    arc_rate_per_s: float


class ChamberRuntime:
    """Mutable state of a chamber shared by the runs of one queue."""

    def __init__(self, env: simpy.Environment, chamber: Chamber, rng: np.random.Generator | None) -> None:
        self.env = env
        self.chamber = chamber
        self.rng = rng
        st = chamber.state
        self.target_kwh = st.target_kwh
        self.shield_kwh = st.shield_kwh
        self.vent_time = env.now - st.hours_since_vent * 3600.0
        self.bursts: list[tuple[float, float, float]] = []
        self.run: _Run | None = None
        self.plasma_event = env.event()
        ev = chamber.events
        # Deterministic mode gives the expected outcome: leak bursts enter as their mean partial pressure,
        # rate × mean jump × decay time (the time average of a Poisson train of exponential bursts).
        self.mean_leak_pa = 0.0 if rng is not None else ev.leak_rate_per_h / 3600.0 * ev.leak_h2o_pa * ev.leak_decay_s

    def vent(self) -> None:
        self.vent_time = self.env.now
        self.bursts.clear()

    def h2o_exposure(self, t0: float, t1: float) -> float:
        """``∫ p_H2O dt`` between two simulation times [Pa·s], closed form."""
        if t1 <= t0:
            return 0.0
        cp = self.chamber.contamination
        v = self.vent_time
        expo = pc.h2o_exposure_pa_s(t0 - v, t1 - v, cp) + self.mean_leak_pa * (t1 - t0)
        for tb, dp, tau in self.bursts:
            if t1 > tb:
                expo += pc.burst_exposure_pa_s(dp, tau, t0 - tb, t1 - tb)
        return expo

    def prune_bursts(self) -> None:
        """Forget leak bursts that have decayed for 50 decay times (their remaining exposure is below e⁻⁵⁰ of
        the burst's): otherwise a long queue integrates over every burst since the last vent, quadratically."""
        now = self.env.now
        self.bursts = [b for b in self.bursts if now - b[0] < 50.0 * b[2]]

    def state_dict(self) -> dict[str, float]:
        return {"target_kwh": self.target_kwh, "shield_kwh": self.shield_kwh,
                "hours_since_vent": (self.env.now - self.vent_time) / 3600.0}


@dataclass
class _Run:
    recipe: Recipe
    t_load: float
    seed: _Step | None
    bulk: _Step
    record: bool
    kwh_start: float = 0.0
    plasma_on: bool = False
    shutter_open: bool = False
    thickness_nm: float = 0.0
    coverage_ml: float = 0.0
    h2o_pa_s: float = 0.0
    impurity_pa_s: float = 0.0
    impurity_nm: float = 0.0
    dose_ev_nm2: float = 0.0
    dose_range_weight: float = 0.0
    particles: float = 0.0
    interface_particles: float = 0.0
    seg_start: float = 0.0
    seg_h0: float = 0.0
    plasma_s: float = 0.0
    deposition_s: float = 0.0
    current: _Step | None = None
    proc: Any = None
    events: list[Event] = field(default_factory=list)
    segments: list[tuple] = field(default_factory=list)
    water: tuple[float, list] = (0.0, [])
    """Vent time and leak bursts as this run saw them (kept for its telemetry when recording)."""

    def log(self, now: float, kind: str, value: float = 0.0) -> None:
        self.events.append(Event(now - self.t_load, kind, value))


def _step_physics(chamber: Chamber, recipe: Recipe, power_w: float, target_kwh: float) -> _Step:
    p, d, f = recipe.pressure_pa, recipe.target_substrate_distance_mm, recipe.n2_fraction
    dep = chamber.deposition
    rate = pdp.deposition_rate_nm_min(power_w, p, d, f, target_kwh, dep) / 60.0
    v = pdp.self_bias_v(power_w, dep)
    phi, rng_nm = pe.energetic_dose_per_nm(v, p, d, f, chamber.energetics)
    li_p = pf.li_p_ratio(p, d, phi, dep.keller_simmons_p0d0_pa_mm, chamber.film)
    ev = chamber.events
    pd_ratio = power_w / chamber.geometry.target_area_cm2 / ev.arc_reference_power_density_w_cm2
    arc = ev.arc_rate_per_h / 3600.0 * pd_ratio ** ev.arc_power_exponent * (1 + (ev.arc_n2_factor - 1) * f)
    return _Step(power_w, rate, phi, rng_nm, li_p, arc)


def _expose(rt: ChamberRuntime, run: _Run, t0: float, t1: float, temperature_c: float) -> None:
    """Residual water on the uncapped LiCoO2 surface between t0 and t1 (closed form)."""
    if t1 <= t0:
        return
    expo = rt.h2o_exposure(t0, t1)
    run.h2o_pa_s += expo
    run.coverage_ml = pc.langmuir_coverage(run.coverage_ml, expo / (t1 - t0), t1 - t0, temperature_c,
                                           rt.chamber.contamination)


def _plasma(env: simpy.Environment, rt: ChamberRuntime, run: _Run, step: _Step, *, duration_s: float = 0.0,
            thickness_nm: float = 0.0):
    """A plasma step: pre-sputter for ``duration_s`` (shutter closed) or deposit ``thickness_nm``.

    An RF trip interrupts it; the plasma re-strikes after the recovery time and the step resumes.
    """
    depositing = thickness_nm > 0
    remaining = thickness_nm / step.rate_nm_s if depositing else duration_s
    cp = rt.chamber.contamination
    depth = cp.impurity_depth_nm
    run.current = step
    while remaining > 1e-9:
        start = env.now
        run.seg_start, run.seg_h0 = start, run.thickness_nm
        run.plasma_on = True
        run.shutter_open = depositing
        ev, rt.plasma_event = rt.plasma_event, env.event()
        ev.succeed()
        tripped = False
        try:
            yield env.timeout(remaining)
            elapsed = remaining
        except simpy.Interrupt:
            elapsed = env.now - start
            tripped = True
        remaining -= elapsed
        run.plasma_on = False
        run.shutter_open = False
        run.plasma_s += elapsed
        life = rt.chamber.state.target_life_kwh
        if rt.target_kwh < life <= rt.target_kwh + step.power_w * elapsed / 3.6e6:
            run.log(env.now, "target_end_of_life", rt.target_kwh)
        rt.target_kwh += step.power_w * elapsed / 3.6e6
        rt.shield_kwh += step.power_w * elapsed / 3.6e6
        h0 = run.thickness_nm
        if depositing:
            h1 = h0 + step.rate_nm_s * elapsed
            run.deposition_s += elapsed
            dose = pe.interface_dose_ev_nm2(step.phi_ev_nm3, step.range_nm, h0, h1)
            run.dose_ev_nm2 += dose
            run.dose_range_weight += dose * step.range_nm
            if h0 < depth:
                buried = min(h1, depth)
                run.impurity_pa_s += rt.h2o_exposure(start, start + (buried - h0) / step.rate_nm_s)
                run.impurity_nm += buried - h0
            run.thickness_nm = h1
        if run.record:
            t_sub = run.recipe.substrate_temperature_c
            run.segments.append((start, env.now, "deposition" if depositing else "presputter", step.power_w,
                                 depositing, h0, run.thickness_nm, t_sub, t_sub))
        if tripped:
            run.log(env.now, _TRIP)
            t_pause = env.now
            yield env.timeout(rt.chamber.events.rf_trip_recovery_s)
            if depositing and run.thickness_nm < depth:
                run.impurity_pa_s += rt.h2o_exposure(t_pause, env.now)
            if run.record:
                t_sub = run.recipe.substrate_temperature_c
                run.segments.append((t_pause, env.now, "rf_trip", 0.0, False, run.thickness_nm,
                                     run.thickness_nm, t_sub, t_sub))
            run.log(env.now, "rf_restored")
    run.current = None


def _wait(env: simpy.Environment, run: _Run, seconds: float, phase: str, temp0: float, temp1: float):
    if seconds > 0:
        t0 = env.now
        yield env.timeout(seconds)
        if run.record:
            run.segments.append((t0, env.now, phase, 0.0, False, run.thickness_nm, run.thickness_nm, temp0,
                                 temp1))


def run_process(env: simpy.Environment, rt: ChamberRuntime, recipe: Recipe, record: bool, out: list):
    """One run, from load to unload; appends the finished :class:`_Run` to ``out``."""
    ch = rt.chamber
    vac = ch.vacuum
    seed = (_step_physics(ch, recipe, recipe.seed_power_w, rt.target_kwh)
            if recipe.seed_thickness_nm > 0 else None)
    bulk = _step_physics(ch, recipe, recipe.rf_power_w, rt.target_kwh)
    run = _Run(recipe, env.now, seed, bulk, record, kwh_start=rt.target_kwh)
    run.proc = env.active_process
    rt.run = run
    rt.prune_bursts()
    run.log(env.now, "load")
    if rt.rng is not None:
        run.particles = run.interface_particles = float(rt.rng.poisson(ch.defects.load_particles))
    if not vac.load_lock:
        rt.vent()
        run.log(env.now, "vent")
    room, t_sub = vac.room_temperature_c, recipe.substrate_temperature_c
    yield from _wait(env, run, recipe.pumpdown_min * 60.0, "pumpdown", room, room)
    run.log(env.now, "pumpdown_done")
    yield from _wait(env, run, vac.transfer_min * 60.0, "transfer", room, room)
    run.log(env.now, "transfer_done")
    arrived = env.now
    yield from _wait(env, run, abs(t_sub - room) / vac.heat_rate_c_min * 60.0, "heat", room, t_sub)
    _expose(rt, run, arrived, env.now, 0.5 * (room + t_sub))
    run.log(env.now, "heated")
    heated = env.now
    run.log(env.now, "presputter_start")
    yield from _plasma(env, rt, run, bulk, duration_s=recipe.presputter_min * 60.0)
    _expose(rt, run, heated, env.now, t_sub)
    run.log(env.now, "shutter_open")
    if seed is not None:
        yield from _plasma(env, rt, run, seed, thickness_nm=recipe.seed_thickness_nm)
        run.log(env.now, "seed_done", run.thickness_nm)
    rest = recipe.target_thickness_nm - recipe.seed_thickness_nm
    if rest > 1e-9:
        yield from _plasma(env, rt, run, bulk, thickness_nm=rest)
    run.log(env.now, "deposition_done", run.thickness_nm)
    t_end = t_sub
    if recipe.anneal_min > 0:
        t_end = recipe.anneal_temperature_c
        run.log(env.now, "anneal_start")
        yield from _wait(env, run, abs(t_end - t_sub) / vac.heat_rate_c_min * 60.0, "anneal_ramp", t_sub, t_end)
        yield from _wait(env, run, recipe.anneal_min * 60.0, "anneal", t_end, t_end)
        run.log(env.now, "anneal_done")
    yield from _wait(env, run, abs(t_end - room) / vac.heat_rate_c_min * 60.0, "cool", t_end, room)
    yield from _wait(env, run, vac.unload_min * 60.0, "unload", room, room)
    run.log(env.now, "unload")
    if record:
        run.water = (rt.vent_time, list(rt.bursts))
    rt.run = None
    out.append((run, env.now, rt.state_dict()))


# -- random event sources (stochastic mode) --------------------------------------------------------------
def _particle_lands(env: simpy.Environment, rt: ChamberRuntime, run: _Run) -> None:
    """A particle on the substrate; it counts for shorts if the film is still thinner than the interface layer."""
    run.particles += 1
    run.log(env.now, "particle_on_substrate")
    current = run.seg_h0 + run.current.rate_nm_s * (env.now - run.seg_start)
    if current < rt.chamber.defects.interface_thickness_nm:
        run.interface_particles += 1

def _plasma_source(env: simpy.Environment, rt: ChamberRuntime, kind: str):
    """Poisson events with plasma on, at a rate fixed per plasma step; thinning handles step changes."""
    rng = rt.rng
    ev = rt.chamber.events
    while True:
        run = rt.run
        if run is None or not run.plasma_on:
            yield rt.plasma_event
            continue
        if kind == "arc":
            lam_max = max(run.bulk.arc_rate_per_s, run.seed.arc_rate_per_s if run.seed else 0.0)
        elif kind == "flake":
            lam_max = ev.flake_rate_per_h / 3600.0 * (1 + rt.shield_kwh / ev.flake_shield_kwh_scale)
        else:
            lam_max = ev.rf_trip_rate_per_h / 3600.0
        if lam_max <= 0:
            yield rt.plasma_event
            continue
        yield env.timeout(rng.exponential(1.0 / lam_max))
        run = rt.run
        if run is None or not run.plasma_on:
            continue
        if kind == "arc":
            if rng.random() * lam_max >= run.current.arc_rate_per_s:
                continue
            run.log(env.now, "arc")
            if run.shutter_open and rng.random() < ev.arc_particle_probability:
                _particle_lands(env, rt, run)
        elif kind == "flake":
            run.log(env.now, "flake")
            if run.shutter_open:
                _particle_lands(env, rt, run)
        else:
            run.proc.interrupt(_TRIP)


def _leak_source(env: simpy.Environment, rt: ChamberRuntime):
    rng = rt.rng
    ev = rt.chamber.events
    lam = ev.leak_rate_per_h / 3600.0
    if lam <= 0:
        return
    while True:
        yield env.timeout(rng.exponential(1.0 / lam))
        dp = rng.exponential(ev.leak_h2o_pa)
        rt.bursts.append((env.now, dp, ev.leak_decay_s))
        if rt.run is not None:
            rt.run.log(env.now, "leak_burst", dp)


# -- results -----------------------------------------------------------------------------------------------
def _expected_particles(ch: Chamber, r: Recipe, run: _Run, shield_kwh: float) -> tuple[float, float]:
    """Expected particles on the substrate, all and those landing before the interface layer is complete."""
    ev, load = ch.events, ch.defects.load_particles
    flake = ev.flake_rate_per_h / 3600.0 * (1 + shield_kwh / ev.flake_shield_kwh_scale)
    total, interface, h = load, load, 0.0
    layers = [(run.seed, r.seed_thickness_nm)] if run.seed else []
    layers.append((run.bulk, r.target_thickness_nm - r.seed_thickness_nm))
    for step, dh in layers:
        per_s = flake + ev.arc_particle_probability * step.arc_rate_per_s
        total += per_s * dh / step.rate_nm_s
        covered = min(max(ch.defects.interface_thickness_nm - h, 0.0), dh)
        interface += per_s * covered / step.rate_nm_s
        h += dh
    return total, interface


def finish(rt: ChamberRuntime, run: _Run, end_time: float, state_after: dict[str, float],
           rng: np.random.Generator | None, seed: int | None) -> RunResult:
    """Turn a finished run into a :class:`RunResult` (measurement noise drawn here in stochastic mode)."""
    ch, r = rt.chamber, run.recipe
    cp = ch.contamination
    if r.transfer == "air":
        air_dose_l, irreversible = pc.air_exposure(r.air_exposure_min, cp)
    else:
        air_dose_l, irreversible = 0.0, 0.0
    dose_l = air_dose_l + cp.transfer_dose_l + run.h2o_pa_s / LANGMUIR_PA_S
    protons = pc.proton_uptake(dose_l, cp)
    n_film = pdp.film_atom_density_cm3(ch.deposition)
    atoms = run.impurity_nm * 1e-7 * n_film
    water = cp.impurity_sticking * _Z_PER_PA * run.impurity_pa_s
    impurity = water / (water + atoms) if water + atoms > 0 else 0.0
    mean_range = run.dose_range_weight / run.dose_ev_nm2 if run.dose_ev_nm2 > 0 else run.bulk.range_nm
    damaged = pe.damaged_layer_nm(run.dose_ev_nm2, mean_range, ch.energetics)
    first = run.seed or run.bulk
    room = ch.vacuum.room_temperature_c
    r_int = pi.interface_resistance_ohm_cm2(run.coverage_ml, protons, impurity, irreversible, damaged, first.li_p,
                                            r.anneal_temperature_c, r.anneal_min, room, ch.interface)
    pd_bulk = r.rf_power_w / ch.geometry.target_area_cm2
    n_content = pf.nitrogen_content(r.n2_fraction, pd_bulk, r.pressure_pa, r.target_substrate_distance_mm,
                                    run.bulk.rate_nm_s * 60.0, ch.film)
    sigma = pf.ionic_conductivity_s_cm(n_content, run.bulk.li_p, room, r.anneal_temperature_c, r.anneal_min,
                                       ch.film)
    thickness = run.thickness_nm
    if rng is None:  # expected particles: load, then flakes and arc debris while the shutter is open
        particles, interface_particles = _expected_particles(ch, r, run, state_after["shield_kwh"])
    else:
        particles, interface_particles = run.particles, run.interface_particles
    p_short = pd_.short_probability(thickness, interface_particles, ch.defects)
    if rng is None:
        shorted = p_short >= 0.5
        r_meas, t_meas = r_int, thickness
    else:
        shorted = bool(rng.random() < p_short)
        r_meas = r_int * math.exp(ch.noise.resistance_rel_sigma * rng.standard_normal())
        t_meas = thickness * (1 + ch.noise.thickness_rel_sigma * rng.standard_normal())
    return RunResult(
        recipe=r, interface_resistance_ohm_cm2=r_meas,
        bulk_resistance_ohm_cm2=pf.bulk_resistance_ohm_cm2(thickness, sigma),
        thickness_nm=t_meas, deposition_rate_nm_min=run.bulk.rate_nm_s * 60.0,
        deposition_time_s=run.deposition_s, process_time_s=end_time - run.t_load, plasma_time_s=run.plasma_s,
        interface_damage_dose_ev_nm2=run.dose_ev_nm2, damaged_layer_nm=damaged,
        interface_contamination_ml=run.coverage_ml, h2o_dose_langmuir=dose_l, proton_uptake=protons,
        film_impurity_fraction=impurity, li_p_ratio=run.bulk.li_p, nitrogen_content=n_content,
        ionic_conductivity_s_cm=sigma, particles_on_substrate=float(particles), short_probability=p_short,
        shorted=bool(shorted), events=tuple(run.events), seed=seed, deterministic=rng is None,
        model_version=pm.MODEL_VERSION, target_kwh_start=run.kwh_start, chamber_state_after=state_after,
        interface_particles=float(interface_particles),
    )
