"""The emulated tool's behaviour, apart from how it is reached: node values, the state machine, setpoint echoes,
jobs, commands and method calls, playback of the twin's telemetry, alarms (latched ones need a reset) and faults.

:class:`ToolModel` knows no protocol and no clock: its front tells it the time (``now``, seconds on the front's
clock) and publishes the changes it makes (:meth:`ToolModel.drain`). :class:`hardware.emulator.Emulator` serves it
over OPC UA on the wall clock; :class:`hardware.memory_backend.MemoryTransport` holds it in memory on simulated
time. Both fronts therefore emulate the same tool, shaped by the mapping alone: a second mapping with other nodes,
units, state values (several running states, the phase in the state node), method commands and jobs gives another
tool without code change.

Faults that concern the connection (``disconnect``, ``freeze``, ``kill``) are handed to the front
(:attr:`ToolModel.on_link_fault`); the model handles the others.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from typing import Any

import numpy as np

from hardware.emulator_faults import ScheduledFault, check_spec
from hardware.mapping import Command, Interlock, Mapping
from twin.chamber import Chamber
from twin.errors import InputError
from twin.recipe import Recipe
from twin.tool import SimulatedTool

log = logging.getLogger("hardware.emulator")

LINK_FAULTS = ("disconnect", "freeze", "kill")
"""Faults of the connection, which the front carries out."""


def ok_number(il: Interlock) -> float:
    """A value of a numeric interlock that is well inside its range (the emulator's normal state)."""
    if il.max is not None:
        return float(il.max) / 10.0 if il.max > 0 else float(il.max)
    return float(il.min) + 1.0


def initial_values(mapping: Mapping, published_limits: dict[str, float]) -> dict[str, Any]:
    """Every node of the tool with its value at power-on: the default recipe's setpoints, state idle, alarms off,
    interlocks ok, limits as the mapping has them unless ``published_limits`` says otherwise."""
    m = mapping
    st = m.status
    values: dict[str, Any] = {st.node: st.idle[0]}
    for cmd in (m.commands.start, m.commands.abort, m.commands.reset):
        if cmd is not None and cmd.node:
            values[cmd.node] = False
    if st.phase and not st.phase_in_state:
        values[st.phase] = "idle"
    if st.alarm_text:
        values[st.alarm_text] = ""
    for sp in m.setpoints:
        if sp.node:
            default = sp.to_tool(Recipe())
            values[sp.node] = default
            if sp.readback:
                values[sp.readback] = default
    for ex in m.extras:  # extra variables of a campaign: a neutral start value (the first category, or 0 in range)
        v = 0.0 if ex.min is None else max(0.0, ex.min)
        v = v if ex.max is None else min(v, ex.max)
        values[ex.node] = next(iter(ex.values.values())) if ex.values else v * ex.scale
        if ex.readback:
            values[ex.readback] = values[ex.node]
    for rb in m.readbacks:
        values[rb.node] = False if rb.is_bool else 0.0
    for al in m.alarms:
        values[al.node] = False
    for il in m.interlocks:
        values[il.node] = il.ok if il.ok is not None else ok_number(il)
    for lim in m.limits:
        if lim.min_node:
            values[lim.min_node] = float(published_limits.get(f"{lim.field}.min", lim.min))
        if lim.max_node:
            values[lim.max_node] = float(published_limits.get(f"{lim.field}.max", lim.max))
    for res in m.results:
        values[res.node] = float("nan")
    for cn in m.contexts:
        values[cn.node] = 0.0
    for sw in m.safe_state:
        values.setdefault(sw.node, sw.value)
    return values


class ToolModel:
    """An emulated sputter tool: the twin behind the nodes of ``mapping``.

    Parameters
    ----------
    speed : float
        Process seconds per second of the front's clock.
    noise : float
        Relative σ of the Gaussian noise on live readbacks at every tick.
    faults : tuple of ScheduledFault
        Injected when playback reaches their phase.
    """

    def __init__(self, mapping: Mapping, chamber: Chamber | None = None, *, speed: float = 600.0, seed: int = 0,
                 noise: float = 0.002, faults: tuple[ScheduledFault, ...] = (),
                 published_limits: dict[str, float] | None = None) -> None:
        self.mapping = mapping
        self.tool = SimulatedTool(chamber, seed=seed, telemetry=True, name="emulator")
        self.speed, self.noise = float(speed), float(noise)
        self._rng = np.random.default_rng((seed, 1))  # the noise's own stream: the twin's runs do not change
        self.faults = list(faults)
        self.published_limits = dict(published_limits or {})
        self.values = initial_values(mapping, self.published_limits)
        self.write_log: list[dict[str, Any]] = []
        """Every client write and method call: ``time_s`` (since ``t0``), ``node``, ``value``, ``ok``."""
        self.fault_log: list[tuple[float, str]] = []
        """Faults injected: (the front's clock, spec)."""
        self.runs: list[Any] = []
        """RunResults of the runs started, in order."""
        self.extras: list[dict[str, Any]] = []
        """The extra variables' values at each run's start (node value divided by scale), in run order."""
        self.jobs: dict[str, dict[str, Any]] = {}
        """Jobs stored, by the tool's job id."""
        self.on_link_fault: Callable[[str, str], None] = lambda kind, target: None
        self.t0 = 0.0
        self._pending: list[tuple[str, Any]] = []
        self._stuck: set[str] = set()
        self._frozen: dict[str, Any] = {}
        self._causes: set[str] = set()
        self._bad_job = ""
        self._play: dict[str, Any] | None = None
        cmds = mapping.commands
        self._methods: dict[str, Callable[[list[Any], float], list[Any]]] = {}
        for cmd, fn in ((cmds.start, self._m_start), (cmds.abort, self._m_abort), (cmds.reset, self._m_reset)):
            if cmd is not None and cmd.method:
                self._methods[cmd.method] = fn
        if mapping.job is not None:
            self._methods[mapping.job.store.method] = self._m_store
            self._methods[mapping.job.read.method] = self._m_read
        self._publish_context()

    # -- the chamber's context (issue 16) ---------------------------------------------------------------------
    def _publish_context(self) -> None:
        """Set the ``[[context]]`` nodes from the twin's chamber as the next run will find it. The base pressure
        is the walls' water partial pressure (an assumption: after a vent the residual gas is water, FACTS §4)."""
        ctx = self.tool.context()
        ctx["base_pressure_pa"] = ctx["wall_h2o_pa"]
        for cn in self.mapping.contexts:
            self.set(cn.node, cn.from_canonical(ctx[cn.key]))

    def vent(self) -> None:
        """Vent the emulated tool's process chamber (its context nodes then read 0 h and 0 runs since a vent)."""
        self.tool.vent()
        self._publish_context()

    # -- values ---------------------------------------------------------------------------------------------
    def set(self, text: str, value: Any) -> None:
        """Set a node's value (published by the front at its next :meth:`drain`)."""
        if text in self.values:
            self.values[text] = value
            self._pending.append((text, value))

    def drain(self) -> list[tuple[str, Any]]:
        """The changes made since the last call, in order."""
        out, self._pending = self._pending, []
        return out

    @property
    def playing(self) -> bool:
        return self._play is not None

    def halt(self) -> None:
        """Stop playing at once, leaving every node as it is (the tool's controller died)."""
        self._play = None

    # -- clients ------------------------------------------------------------------------------------------------
    def client_write(self, text: str, value: Any, now: float, ok: bool = True) -> None:
        """A client wrote ``value`` to ``text`` (already stored by the front when ``ok``): log it and react."""
        self.write_log.append({"time_s": now - self.t0, "node": text, "value": _plain(value), "ok": ok})
        if not ok:
            return
        self.values[text] = value
        m = self.mapping
        if m.commands.start.node == text and value:
            self.set(text, False)
            self._start_run(self._node_recipe_values(), now)
        elif m.commands.abort.node == text and value:
            self.set(text, False)
            self._abort()
        elif m.commands.reset is not None and m.commands.reset.node == text and value:
            self.set(text, False)
            self._reset()
        else:
            for sp in (*m.setpoints, *m.extras):
                if sp.node == text and sp.readback and sp.readback != sp.node and sp.field not in self._stuck:
                    self.set(sp.readback, value)

    def client_call(self, method: str, args: list[Any], now: float) -> list[Any]:
        """A client called ``method`` with ``args``: log it, run it; its outputs (ValueError: refused)."""
        entry = {"time_s": now - self.t0, "node": method, "value": _plain(list(args)), "ok": False}
        self.write_log.append(entry)
        if method not in self._methods:
            raise ValueError(f"no method {method!r}")
        out = self._methods[method](list(args), now)
        entry["ok"] = True
        return out

    def _node_recipe_values(self) -> dict[str, Any]:
        return {sp.node: self.values[sp.node] for sp in self.mapping.setpoints if sp.node}

    # -- methods ------------------------------------------------------------------------------------------------
    def _m_start(self, args: list[Any], now: float) -> list[Any]:
        if self.mapping.job is None:
            self._start_run(self._node_recipe_values(), now)
            return []
        job_id = str(args[0]) if args else ""
        if job_id not in self.jobs:
            raise ValueError(f"no job {job_id!r}")
        self._start_run(dict(self.jobs[job_id]), now)
        return []

    def _m_abort(self, args: list[Any], now: float) -> list[Any]:
        self._abort()
        return []

    def _m_reset(self, args: list[Any], now: float) -> list[Any]:
        self._reset()
        return []

    def _m_store(self, args: list[Any], now: float) -> list[Any]:
        if len(args) != 2:
            raise ValueError("store takes (run id, parameters as JSON)")
        params = json.loads(str(args[1]))
        known = {sp.parameter for sp in self.mapping.setpoints}
        if not isinstance(params, dict) or set(params) - known:
            raise ValueError(f"unknown job parameters: {sorted(set(params) - known)}")
        if self._bad_job:  # the tool stores a parameter other than it was sent (the read-back must catch it)
            name = self._bad_job if self._bad_job in params else next(iter(params))
            v = params[name]
            params[name] = v * 1.5 + 1 if isinstance(v, int | float) and not isinstance(v, bool) else f"{v}?"
        job_id = f"JOB-{len(self.jobs) + 1:04d}:{args[0]}"
        self.jobs[job_id] = params
        return [job_id]

    def _m_read(self, args: list[Any], now: float) -> list[Any]:
        job_id = str(args[0]) if args else ""
        if job_id not in self.jobs:
            raise ValueError(f"no job {job_id!r}")
        return [json.dumps(self.jobs[job_id])]

    # -- the state machine --------------------------------------------------------------------------------------
    def _state(self, kind: str) -> Any:
        return getattr(self.mapping.status, kind)[0]

    def _as_state(self, text: str) -> Any:
        """A state value written as text (a ``[status.phases]`` key, a fault's target) in the state node's type."""
        return int(text) if isinstance(self.mapping.status.idle[0], int) else text

    def _set_phase(self, name: str) -> None:
        st = self.mapping.status
        value = st.tool_phase(name)
        if value is None:  # a phase the tool does not tell apart: it keeps reporting the one before
            return
        if st.phase_in_state:
            self.set(st.node, self._as_state(value))
        elif st.phase:
            self.set(st.phase, value)

    def _end(self, kind: str, phase: str) -> None:
        st = self.mapping.status
        self._play = None
        self._publish_context()
        if st.phase and not st.phase_in_state:
            self.set(st.phase, phase)
        self.set(st.node, self._state(kind))

    def _start_run(self, raw: dict[str, Any], now: float) -> None:
        m = self.mapping
        if self._play is not None or m.status.kind(self.values[m.status.node]) in ("running", "busy"):
            log.warning("start refused: the tool is busy")
            return
        try:
            recipe = m.recipe_from_tool(raw)
            published = {}
            for lim in m.limits:
                lo = self.published_limits.get(f"{lim.field}.min", lim.min)
                hi = self.published_limits.get(f"{lim.field}.max", lim.max)
                published[lim.field] = lim.to_recipe_units(lo, hi)
            m.check_recipe(recipe, published)
            self.tool.check(recipe)
        except InputError as exc:
            log.warning("start refused: %s", exc)
            self._end("fault", "fault")
            return
        for il in m.interlocks:
            if not il.is_ok(self.values[il.node]):
                log.warning("start refused: interlock %s open", il.name)
                self._end("fault", "fault")
                return
        for al in m.alarms:
            if self.values[al.node]:
                log.warning("start refused: alarm %s", al.name)
                self._end("fault", "fault")
                return
        # extra variables (tool settings the twin does not model): read back and handed to the simulated tool
        extras = {ex.name: ex.from_tool(self.values[ex.node]) for ex in m.extras}
        self.extras.append(extras)
        result = self.tool.run(recipe, extras=extras) if extras else self.tool.run(recipe)
        self.runs.append(result)
        df = result.telemetry
        self._play = {"t0": now, "result": result, "time": df["time_s"].to_numpy(), "df": df,
                      "end": result.process_time_s, "phase": None, "phase_t0": 0.0, "pending": list(self.faults)}
        for res in m.results:
            self.set(res.node, float("nan"))
        for sw in m.safe_state:
            if isinstance(sw.value, bool):
                self.set(sw.node, not sw.value)
        self.set(m.status.node, self._state("running"))
        self._set_phase(str(df["phase"].iloc[0]))
        log.info("run %d started: %s", len(self.runs), recipe)

    def _abort(self) -> None:
        if self._play is not None:
            self._end("aborted", "aborted")

    def _reset(self) -> None:
        """Acknowledge: alarms whose cause is gone go off (latched ones included); a tool in fault or aborted
        goes back to idle. An alarm whose cause remains stays on."""
        st = self.mapping.status
        for al in self.mapping.alarms:
            if al.name not in self._causes:
                self.set(al.node, False)
        if not self._causes and st.alarm_text:
            self.set(st.alarm_text, "")
        if self._play is None and st.kind(self.values[st.node]) in ("fault", "aborted", "busy") and not self._causes:
            self.set(st.node, self._state("idle"))

    # -- playback ---------------------------------------------------------------------------------------------
    def tick(self, now: float) -> None:
        """Play the running run's telemetry up to ``now`` (the front's clock)."""
        play = self._play
        if play is None:
            return
        m = self.mapping
        t = (now - play["t0"]) * self.speed
        df = play["df"]
        if t >= play["end"]:
            res = play["result"]
            for node in m.results:
                self.set(node.node, node.from_canonical(float(getattr(res, node.field))))
            self._end("done", "done")
            return
        i = max(int(np.searchsorted(play["time"], t, side="right")) - 1, 0)
        row = df.iloc[i]
        phase = str(row["phase"])
        if phase != play["phase"]:
            play["phase"], play["phase_t0"] = phase, t
            self._set_phase(phase)
        for f in list(play["pending"]):
            if f.phase == play["phase"] and t >= play["phase_t0"] + f.delay_s:
                play["pending"].remove(f)
                self.inject(f.spec, now)
                if self._play is None:
                    return
        for rb in m.readbacks:
            if rb.column in self._stuck:
                continue
            if rb.column in self._frozen:
                self.set(rb.node, self._frozen[rb.column])
            elif rb.column == "time_s":
                self.set(rb.node, rb.from_canonical(t))
            elif rb.column in df.columns:
                value = float(row[rb.column])
                if rb.live and self.noise:
                    value *= 1.0 + self.noise * float(self._rng.standard_normal())
                self.set(rb.node, rb.from_canonical(value))

    # -- faults -----------------------------------------------------------------------------------------------
    def inject(self, spec: str, now: float) -> None:
        """Inject a fault (:data:`hardware.emulator_faults.FAULTS`) now."""
        check_spec(spec)
        kind, _, target = spec.partition(":")
        log.warning("fault injected: %s", spec)
        self.fault_log.append((now, spec))
        if kind in LINK_FAULTS:
            self.on_link_fault(kind, target)
            return
        getattr(self, f"_fault_{kind}")(target)

    def _fault_alarm(self, target: str) -> None:
        st = self.mapping.status
        for al in self.mapping.alarms:
            if not target or al.name == target:
                self._causes.add(al.name)
                self.set(al.node, True)
                if st.alarm_text:
                    self.set(st.alarm_text, f"{al.name}: raised by the emulator")

    def _fault_stuck(self, target: str) -> None:
        self._stuck.add(target)

    def _fault_frozen(self, target: str) -> None:
        for rb in self.mapping.readbacks:
            if rb.column == target:
                self._frozen[target] = self.values[rb.node]
        if target not in self._frozen:
            log.warning("frozen: no readback column %r in the mapping", target)

    def _fault_interlock(self, target: str) -> None:
        for il in self.mapping.interlocks:
            if not target or il.name == target:
                self.set(il.node, il.bad_value())

    def _fault_busy(self, target: str) -> None:
        st = self.mapping.status
        self.set(st.node, self._as_state(target) if target else (st.busy or st.running)[-1])

    def _fault_badjob(self, target: str) -> None:
        self._bad_job = target or "*"

    def _fault_clear(self, target: str) -> None:
        """Causes gone: stuck and frozen values, open interlocks, a busy state; alarms go off unless latched."""
        m = self.mapping
        self._stuck.clear()
        self._frozen.clear()
        self._causes.clear()
        self._bad_job = ""
        for al in m.alarms:
            if not al.latched:
                self.set(al.node, False)
        if m.status.alarm_text and not any(self.values[al.node] for al in m.alarms):
            self.set(m.status.alarm_text, "")
        for il in m.interlocks:
            self.set(il.node, il.ok if il.ok is not None else ok_number(il))
        if self._play is None and m.status.kind(self.values[m.status.node]) in ("running", "busy"):
            self.set(m.status.node, self._state("idle"))


def commands_of(mapping: Mapping) -> list[Command]:
    """Every command of the mapping, a job's store and read included."""
    cmds = [mapping.commands.start, mapping.commands.abort, mapping.commands.reset]
    if mapping.job is not None:
        cmds += [mapping.job.store, mapping.job.read]
    return [c for c in cmds if c is not None]


def writable_nodes(mapping: Mapping) -> set[str]:
    """Nodes a client may write: setpoints, Boolean commands, safe-state actuators."""
    return {sp.node for sp in mapping.setpoints if sp.node} | {ex.node for ex in mapping.extras} | {
        sw.node for sw in mapping.safe_state} | {c.node for c in commands_of(mapping) if c.node}


def _plain(value: Any) -> Any:
    if isinstance(value, float) and value != value:
        return None
    if isinstance(value, list):
        return [_plain(v) for v in value]
    if isinstance(value, bool | int | float | str) or value is None:
        return value
    return repr(value)


