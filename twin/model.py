"""The simpy discrete-event model of runs in one chamber.

One run is a process: load → pump-down → transfer → heat → pre-sputter (shutter closed) → seed layer →
bulk → optional anneal → unload. Random events are concurrent Poisson processes (arcs, RF trips, leak
bursts, flakes); an RF trip interrupts the plasma step (``simpy.Interrupt`` with the trip as cause), which
resumes after the re-strike. Between events every quantity is integrated in closed form (water exposure,
Langmuir coverage, film growth, damage dose), so a run costs a few dozen simpy events, not thousands of
steps. A queue of runs shares a :class:`ChamberRuntime`: target and shield kWh and the time since the last
vent carry over from run to run.

The closed forms themselves (a plasma step's rate, dose and arc rate; the water's exposure and adsorption; growth;
the film; the finished run's interface and expected particles) are in :mod:`twin.physics`, which the batch twin
(:mod:`twin.batch`) calls on arrays: this module owns the schedule and the random events, not the physics.
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
from twin import physics as ph
from twin.chamber import Chamber
from twin.recipe import Recipe
from twin.result import Event, RunResult

_TRIP = "rf_trip"


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
        # Deterministic mode gives the expected outcome: leak bursts enter as their mean partial pressure.
        self.mean_leak_pa = 0.0 if rng is not None else ph.mean_leak_pa(chamber.events)

    def vent(self) -> None:
        self.vent_time = self.env.now
        self.bursts.clear()

    def h2o_exposure(self, t0: float, t1: float) -> float:
        """``∫ p_H2O dt`` between two simulation times [Pa·s], closed form."""
        if t1 <= t0:
            return 0.0
        expo = ph.background_exposure_pa_s(t0, t1, self.vent_time, self.mean_leak_pa, self.chamber.contamination)
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
    seed: ph.Step | None
    bulk: ph.Step
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
    current: ph.Step | None = None
    proc: Any = None
    events: list[Event] = field(default_factory=list)
    segments: list[tuple] = field(default_factory=list)
    water: tuple[float, list] = (0.0, [])
    """Vent time and leak bursts as this run saw them (kept for its telemetry when recording)."""

    def log(self, now: float, kind: str, value: float = 0.0) -> None:
        self.events.append(Event(now - self.t_load, kind, value))


def _step_physics(chamber: Chamber, recipe: Recipe, power_w: float, target_kwh: float) -> ph.Step:
    return ph.step_physics(power_w, recipe.pressure_pa, recipe.target_substrate_distance_mm, recipe.n2_fraction,
                           target_kwh, chamber.deposition, chamber.energetics, chamber.events,
                           chamber.geometry.target_area_cm2)


def _expose(rt: ChamberRuntime, run: _Run, t0: float, t1: float, temperature_c: float) -> None:
    """Residual water on the uncapped LiCoO2 surface between t0 and t1 (closed form)."""
    if t1 <= t0:
        return
    expo = rt.h2o_exposure(t0, t1)
    run.h2o_pa_s += expo
    run.coverage_ml = ph.adsorb(run.coverage_ml, expo, t1 - t0, temperature_c, rt.chamber.contamination)


def _plasma(env: simpy.Environment, rt: ChamberRuntime, run: _Run, step: ph.Step, power_w: float, *,
            duration_s: float = 0.0, thickness_nm: float = 0.0):
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
        if rt.target_kwh < life <= rt.target_kwh + power_w * elapsed / 3.6e6:
            run.log(env.now, "target_end_of_life", rt.target_kwh)
        rt.target_kwh += power_w * elapsed / 3.6e6
        rt.shield_kwh += power_w * elapsed / 3.6e6
        h0 = run.thickness_nm
        if depositing:
            h1, dose = ph.grow(h0, step, elapsed)
            run.deposition_s += elapsed
            run.dose_ev_nm2 += dose
            run.dose_range_weight += dose * step.range_nm
            if h0 < depth:
                buried = ph.buried_nm(h0, h1, depth)
                run.impurity_pa_s += rt.h2o_exposure(start, start + buried / step.rate_nm_s)
                run.impurity_nm += buried
            run.thickness_nm = h1
        if run.record:
            t_sub = run.recipe.substrate_temperature_c
            run.segments.append((start, env.now, "deposition" if depositing else "presputter", power_w,
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
    yield from _plasma(env, rt, run, bulk, recipe.rf_power_w, duration_s=recipe.presputter_min * 60.0)
    _expose(rt, run, heated, env.now, t_sub)
    run.log(env.now, "shutter_open")
    if seed is not None:
        yield from _plasma(env, rt, run, seed, recipe.seed_power_w, thickness_nm=recipe.seed_thickness_nm)
        run.log(env.now, "seed_done", run.thickness_nm)
    rest = recipe.target_thickness_nm - recipe.seed_thickness_nm
    if rest > 1e-9:
        yield from _plasma(env, rt, run, bulk, recipe.rf_power_w, thickness_nm=rest)
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
            lam_max = pd_.flake_rate_per_s(rt.shield_kwh, ev.flake_rate_per_h, ev.flake_shield_kwh_scale)
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
def finish(rt: ChamberRuntime, run: _Run, end_time: float, state_after: dict[str, float],
           rng: np.random.Generator | None, seed: int | None) -> RunResult:
    """Turn a finished run into a :class:`RunResult` (measurement noise drawn here in stochastic mode)."""
    ch, r = rt.chamber, run.recipe
    room = ch.vacuum.room_temperature_c
    first = run.seed or run.bulk
    film = ph.film_properties(
        thickness_nm=run.thickness_nm, pressure_pa=r.pressure_pa, distance_mm=r.target_substrate_distance_mm,
        n2_fraction=r.n2_fraction, rf_power_w=r.rf_power_w, rate_nm_min=run.bulk.rate_nm_s * 60.0,
        phi_first_ev_nm3=first.phi_ev_nm3,
        phi_bulk_ev_nm3=run.bulk.phi_ev_nm3,
        anneal_temperature_c=r.anneal_temperature_c, anneal_min=r.anneal_min, room_temperature_c=room,
        target_area_cm2=ch.geometry.target_area_cm2, deposition=ch.deposition, film=ch.film)
    itf = ph.interface_outcome(
        air_transfer=r.transfer == "air", air_exposure_min=r.air_exposure_min, chamber_h2o_pa_s=run.h2o_pa_s,
        impurity_pa_s=run.impurity_pa_s, impurity_nm=run.impurity_nm, dose_ev_nm2=run.dose_ev_nm2,
        dose_range_weight=run.dose_range_weight, bulk_range_nm=run.bulk.range_nm, coverage_ml=run.coverage_ml,
        li_p_first=film.li_p_first, anneal_temperature_c=r.anneal_temperature_c, anneal_min=r.anneal_min,
        room_temperature_c=room, contamination=ch.contamination, deposition=ch.deposition,
        energetics=ch.energetics, interface=ch.interface)
    thickness = run.thickness_nm
    if rng is None:  # expected particles: load, then flakes and arc debris while the shutter is open
        ev = ch.events
        layers = [(run.seed, r.seed_thickness_nm)] if run.seed else []
        layers.append((run.bulk, r.target_thickness_nm - r.seed_thickness_nm))
        particles, interface_particles = ph.expected_particles(
            ch.defects.load_particles,
            pd_.flake_rate_per_s(state_after["shield_kwh"], ev.flake_rate_per_h, ev.flake_shield_kwh_scale),
            ev.arc_particle_probability, ch.defects.interface_thickness_nm, layers)
    else:
        particles, interface_particles = run.particles, run.interface_particles
    p_short = pd_.short_probability(thickness, interface_particles, ch.defects)
    r_int = itf.interface_resistance_ohm_cm2
    if rng is None:
        shorted = p_short >= 0.5
        r_meas, t_meas = r_int, thickness
    else:
        shorted = bool(rng.random() < p_short)
        r_meas = r_int * math.exp(ch.noise.resistance_rel_sigma * rng.standard_normal())
        t_meas = thickness * (1 + ch.noise.thickness_rel_sigma * rng.standard_normal())
    return RunResult(
        recipe=r, interface_resistance_ohm_cm2=r_meas,
        bulk_resistance_ohm_cm2=film.bulk_resistance_ohm_cm2,
        thickness_nm=t_meas, deposition_rate_nm_min=run.bulk.rate_nm_s * 60.0,
        deposition_time_s=run.deposition_s, process_time_s=end_time - run.t_load, plasma_time_s=run.plasma_s,
        interface_damage_dose_ev_nm2=run.dose_ev_nm2, damaged_layer_nm=itf.damaged_layer_nm,
        interface_contamination_ml=run.coverage_ml, h2o_dose_langmuir=itf.h2o_dose_langmuir,
        proton_uptake=itf.proton_uptake, film_impurity_fraction=itf.film_impurity_fraction,
        li_p_ratio=film.li_p_bulk, nitrogen_content=film.nitrogen_content,
        ionic_conductivity_s_cm=film.ionic_conductivity_s_cm, particles_on_substrate=float(particles),
        short_probability=p_short, shorted=bool(shorted), events=tuple(run.events), seed=seed,
        deterministic=rng is None, model_version=pm.MODEL_VERSION, target_kwh_start=run.kwh_start,
        chamber_state_after=state_after, interface_particles=float(interface_particles),
    )
