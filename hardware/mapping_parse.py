"""Parsing and validation of a mapping file's tables into :mod:`hardware.mapping_types` values.

Every error is a :class:`~hardware.mapping_types.MappingError` naming the key (``setpoint[2].unit``), the value and
what is allowed. :meth:`hardware.mapping.Mapping.from_dict` is the entry point.
"""

from __future__ import annotations

import dataclasses
import math
import re
from typing import Any

from hardware import units
from hardware.mapping_context import parse_contexts
from hardware.mapping_types import (
    FROZEN_AFTER_MAX_S,
    RECIPE_UNITS,
    RESULT_FIELDS,
    TOTAL_FLOW,
    TWIN_PHASES,
    Alarm,
    Command,
    Commands,
    ExtraSetpoint,
    Interlock,
    JobSpec,
    Limit,
    MappingError,
    Readback,
    ResultNode,
    SafeWrite,
    Setpoint,
    Status,
    ToolInfo,
    check_frozen_after_s,
)
from hardware.security import Security, parse_security
from twin.recipe import Recipe

_NODE_RE = re.compile(r"^(ns=\d+;)?(i=\d+|s=.+|g=[0-9a-fA-F-]{36}|b=.+)$")
_TOOL_TIMES = {"watchdog_s": "(0, 5] s", "settle_s": "> 0 s", "setpoint_timeout_s": "> 0 s",
               "start_timeout_s": "> 0 s", "run_timeout_s": "> 0 s", "publish_ms": "> 0 ms",
               "frozen_after_s": f"0 (off) or [watchdog_s, {FROZEN_AFTER_MAX_S:g}] s"}
"""Timing keys of ``[tool]`` and what each allows."""


def _get(table: dict[str, Any], key: str, kind: str, where: str, default: Any = ..., allowed: str = "") -> Any:
    if key not in table:
        if default is ...:
            raise MappingError(f"{where}.{key}", None, "missing key", allowed)
        return default
    v = table[key]
    full = f"{where}.{key}"
    if kind == "float":
        if isinstance(v, bool) or not isinstance(v, int | float) or not math.isfinite(v):
            raise MappingError(full, v, "expected a finite number", allowed)
        return float(v)
    if kind == "bool":
        if not isinstance(v, bool):
            raise MappingError(full, v, "expected true or false", allowed)
        return v
    if kind == "str":
        if not isinstance(v, str) or not v.strip():
            raise MappingError(full, v, "expected a non-empty string", allowed)
        return v
    if kind == "scalar":
        if not isinstance(v, bool | int | float | str) or (isinstance(v, float) and not math.isfinite(v)):
            raise MappingError(full, v, "expected a string, number or true/false", allowed)
        return v
    if kind == "strs":
        if isinstance(v, str):
            v = [v]
        if not isinstance(v, list) or not all(isinstance(x, str) and x for x in v):
            raise MappingError(full, v, "expected a list of strings", allowed)
        return tuple(v)
    raise TypeError(kind)  # programming error


def _keys(table: Any, where: str, allowed: set[str]) -> dict[str, Any]:
    if not isinstance(table, dict):
        raise MappingError(where, table, f"expected a table, got {type(table).__name__}")
    unknown = sorted(set(table) - allowed)
    if unknown:
        raise MappingError(f"{where}.{unknown[0]}", table[unknown[0]], "unknown key", ", ".join(sorted(allowed)))
    return table


def _node(table: dict[str, Any], key: str, where: str, required: bool = True) -> str:
    text = _get(table, key, "str", where, ... if required else "")
    if text and not (text.startswith("/") or _NODE_RE.match(text)):
        raise MappingError(f"{where}.{key}", text, "not a NodeId string or browse path",
                           "ns=N;s=NAME | s=NAME | i=N | /Objects/A/B")
    return text


def _unit(table: dict[str, Any], where: str, canonical: str) -> str:
    allowed = units.tool_units(canonical)
    unit = _get(table, "unit", "str", where, canonical if canonical in allowed else ..., " | ".join(allowed))
    if unit not in allowed:
        raise MappingError(f"{where}.unit", unit, f"no conversion from {canonical or 'a unitless value'}",
                           " | ".join(allowed) or "none")
    return unit


def _scale(table: dict[str, Any], where: str) -> float:
    scale = _get(table, "scale", "float", where, 1.0)
    if scale == 0:
        raise MappingError(f"{where}.scale", scale, "must not be zero", "a finite number other than 0")
    return scale


def _array(doc: dict[str, Any], key: str) -> list[tuple[str, dict[str, Any]]]:
    items = doc.get(key, [])
    if not isinstance(items, list):
        raise MappingError(key, "{...}", "expected an array of tables", f"[[{key}]]")
    return [(f"{key}[{i}]", t) for i, t in enumerate(items)]


EXTRA_NAME = re.compile(r"^[a-z][a-z0-9_]*$")


def _extra_setpoint(sp: dict[str, Any], where: str) -> ExtraSetpoint:
    """A ``[[setpoint]]`` with ``extra = NAME``: an extra variable of a campaign written to a node."""
    _keys(sp, where, {"extra", "node", "unit", "readback", "tolerance", "scale", "min", "max", "values"})
    name = _get(sp, "extra", "str", where, allowed="the name of a campaign's [space.extra.NAME]")
    if not EXTRA_NAME.match(name) or name in RECIPE_UNITS:
        raise MappingError(f"{where}.extra", name, "an extra's name is lower-case snake case and not a recipe field",
                           "e.g. substrate_bias_v")
    tolerance = _get(sp, "tolerance", "float", where, 0.01)
    if not 0 <= tolerance < 1:
        raise MappingError(f"{where}.tolerance", tolerance, "out of range", "[0, 1)")
    kw: dict[str, Any] = {"name": name, "node": _node(sp, "node", where),
                          "readback": _node(sp, "readback", where, required=False), "tolerance": tolerance}
    if "values" in sp:
        for k in ("unit", "scale", "min", "max"):
            if k in sp:
                raise MappingError(f"{where}.{k}", sp[k], "a categorical extra maps values, it has no unit or range")
        values = sp["values"]
        if not isinstance(values, dict) or not values or len({repr(v) for v in values.values()}) != len(values) \
                or len({type(v) for v in values.values()}) != 1:
            raise MappingError(f"{where}.values", values, "needs distinct tool values of one type",
                               "{ category = tool value, ... }")
        kw["values"] = {str(k): _get(values, k, "scalar", f"{where}.values") for k in values}
        return ExtraSetpoint(**kw)
    kw.update(unit=_get(sp, "unit", "str", where, allowed="the unit the campaign declares, e.g. V"),
              scale=_scale(sp, where), min=_get(sp, "min", "float", where, None),
              max=_get(sp, "max", "float", where, None))
    if kw["min"] is not None and kw["max"] is not None and kw["min"] > kw["max"]:
        raise MappingError(f"{where}.min", kw["min"], "greater than max", f"<= {kw['max']}")
    return ExtraSetpoint(**kw)


def parse_tables(doc: dict[str, Any]) -> dict[str, Any]:
    """The keyword arguments of :class:`hardware.mapping.Mapping` (all but ``source``) from a mapping file's
    tables, validated; raises :class:`MappingError`."""
    top = {"tool", "status", "commands", "setpoint", "readback", "alarm", "interlock", "limit", "safe_state",
           "result", "job", "security", "context"}
    unknown = sorted(set(doc) - top)
    if unknown:
        raise MappingError(unknown[0], "...", "unknown table", ", ".join(sorted(top)))
    for req in ("tool", "status", "commands", "setpoint", "safe_state"):
        if req not in doc:
            raise MappingError(req, None, "missing table", f"[{req}]" if req in ("tool", "status", "commands")
                               else f"[[{req}]]")

    t = _keys(doc["tool"], "tool", {f.name for f in dataclasses.fields(ToolInfo)})
    tool = ToolInfo(
        name=_get(t, "name", "str", "tool"), namespace_uri=_get(t, "namespace_uri", "str", "tool"),
        **{k: _get(t, k, "float", "tool", allowed=allowed) for k, allowed in _TOOL_TIMES.items() if k in t})
    if not 0 < tool.watchdog_s <= 5:
        raise MappingError("tool.watchdog_s", tool.watchdog_s, "a lost connection must be seen within 5 s",
                           "(0, 5] s")
    for k in ("settle_s", "setpoint_timeout_s", "start_timeout_s", "run_timeout_s", "publish_ms"):
        if getattr(tool, k) <= 0:
            raise MappingError(f"tool.{k}", getattr(tool, k), "must be positive", "> 0")
    check_frozen_after_s(tool.frozen_after_s, tool.watchdog_s)

    status = _status(doc["status"])
    commands = _commands(doc["commands"])
    job = _job(doc["job"]) if "job" in doc else None
    if job is not None and not commands.start.method:
        raise MappingError("commands.start", commands.start.node, "a tool that takes jobs starts one by a method",
                           "{ method = ..., object = ..., args = [\"{job_id}\"] }")

    setpoints: list[Setpoint] = []
    extras: list[ExtraSetpoint] = []
    seen: set[tuple[str, str]] = set()
    for where, sp in _array(doc, "setpoint"):
        if isinstance(sp, dict) and "extra" in sp:
            extras.append(_extra_setpoint(sp, where))
            if [e.name for e in extras].count(extras[-1].name) > 1:
                raise MappingError(f"{where}.extra", extras[-1].name, "mapped twice")
            continue
        _keys(sp, where, {"field", "node", "unit", "readback", "tolerance", "gas", "total_flow_sccm", "values",
                          "scale", "parameter"})
        name = _get(sp, "field", "str", where, allowed=", ".join(Recipe.fields()))
        if name not in RECIPE_UNITS:
            raise MappingError(f"{where}.field", name, "not a recipe field", ", ".join(Recipe.fields()))
        if job is not None:  # the recipe goes to the tool as one job: a parameter name, no node of its own
            for k in ("node", "readback"):
                if k in sp:
                    raise MappingError(f"{where}.{k}", sp[k], "a tool that takes jobs gets parameters, not node writes",
                                       "parameter = NAME")
            address = {"parameter": _get(sp, "parameter", "str", where)}
        else:
            if "parameter" in sp:
                raise MappingError(f"{where}.parameter", sp["parameter"], "only with a [job] table", "node = ...")
            address = {"node": _node(sp, "node", where), "readback": _node(sp, "readback", where, required=False)}
        kw: dict[str, Any] = {"field": name, **address,
                              "tolerance": _get(sp, "tolerance", "float", where, 0.01), "scale": _scale(sp, where)}
        if not 0 <= kw["tolerance"] < 1:
            raise MappingError(f"{where}.tolerance", kw["tolerance"], "out of range", "[0, 1)")
        gas = ""
        if name == "transfer":
            if not isinstance(sp.get("values"), dict):
                raise MappingError(f"{where}.values", sp.get("values"), "expected a table of tool values",
                                   "{ vacuum = ..., air = ... }")
            values = _keys(sp["values"], f"{where}.values", {"vacuum", "air"})
            if set(values) != {"vacuum", "air"} or len({repr(v) for v in values.values()}) != 2 or \
                    len({type(v) for v in values.values()}) != 1:
                raise MappingError(f"{where}.values", values, "needs distinct tool values of one type",
                                   "{ vacuum = ..., air = ... }")
            kw["values"] = dict(values)
        elif name == "n2_fraction" and sp.get("unit") == "sccm":
            gas = _get(sp, "gas", "str", where, allowed="N2 | Ar")
            if gas not in ("N2", "Ar"):
                raise MappingError(f"{where}.gas", gas, "unknown gas", "N2 | Ar")
            total = _get(sp, "total_flow_sccm", "float", where)
            if not total > 0:
                raise MappingError(f"{where}.total_flow_sccm", total, "must be positive", "> 0 sccm")
            kw.update(unit="sccm", gas=gas, total_flow_sccm=total)
        else:
            for k in ("gas", "total_flow_sccm", "values"):
                if k in sp:
                    raise MappingError(f"{where}.{k}", sp[k], "only for n2_fraction in sccm or transfer")
            kw["unit"] = _unit(sp, where, RECIPE_UNITS[name])
        if (name, gas) in seen:
            raise MappingError(f"{where}.field", name, "mapped twice")
        seen.add((name, gas))
        setpoints.append(Setpoint(**kw))
    flows = [sp for sp in setpoints if sp.unit == "sccm"]
    if len({sp.total_flow_sccm for sp in flows}) > 1:
        raise MappingError("setpoint.total_flow_sccm", [sp.total_flow_sccm for sp in flows],
                           "the N2 and Ar flows must share one total flow")
    if any(sp.field == "n2_fraction" for sp in setpoints if sp.unit != "sccm") and flows:
        raise MappingError("setpoint.field", "n2_fraction", "mapped both as a fraction and as gas flows")
    numeric = {sp.field for sp in setpoints if not sp.values and sp.unit != "sccm"}

    readbacks = []
    for where, rb in _array(doc, "readback"):
        _keys(rb, where, {"column", "node", "unit", "follows", "phases", "tolerance", "scale", "live"})
        column = _get(rb, "column", "str", where)
        canonical = units.canonical_unit(column)
        if canonical is None:
            raise MappingError(f"{where}.column", column, "the column name must end in its unit",
                               "_pa, _w, _nm, _c, _s, _min, _mm, _nm_min, _open, _ohm_cm2, _fraction, _sccm")
        follows = _get(rb, "follows", "strs", where, ())
        for f in follows:
            if f not in numeric or RECIPE_UNITS[f] != canonical:
                raise MappingError(f"{where}.follows", f, f"not a mapped recipe setpoint in {canonical}",
                                   ", ".join(sorted(x for x in numeric if RECIPE_UNITS[x] == canonical)) or "none")
        readbacks.append(Readback(column=column, node=_node(rb, "node", where),
                                  unit=_unit(rb, where, canonical) if canonical != "bool" else "",
                                  follows=follows, phases=_get(rb, "phases", "strs", where, ()),
                                  tolerance=_get(rb, "tolerance", "float", where, 0.05), scale=_scale(rb, where),
                                  live=_get(rb, "live", "bool", where, bool(follows))))
        if readbacks[-1].follows and not readbacks[-1].phases:
            raise MappingError(f"{where}.phases", None, "a readback that follows a setpoint needs its phases",
                               "e.g. [\"deposition\"]")
        if readbacks[-1].live and canonical == "bool":
            raise MappingError(f"{where}.live", True, "a Boolean readback carries no noise: it cannot be live",
                               "false")
        if readbacks[-1].live and not readbacks[-1].phases:
            raise MappingError(f"{where}.phases", None, "a live readback needs the phases in which it is live",
                               "e.g. [\"presputter\", \"deposition\"]")
        if readbacks[-1].phases and not status.phase:
            raise MappingError(f"{where}.phases", readbacks[-1].phases, "phases need status.phase (a node)")
        known = status.known_phases()
        for ph in readbacks[-1].phases:
            if known is not None and ph not in known:  # a check that could never run: refused, not silently off
                raise MappingError(f"{where}.phases", ph, "a phase the tool never reports: the check would never run",
                                   " | ".join(known))
    if len({rb.column for rb in readbacks}) != len(readbacks):
        raise MappingError("readback.column", [rb.column for rb in readbacks], "a column is mapped twice")

    alarms = []
    for where, al in _array(doc, "alarm"):
        _keys(al, where, {"name", "node", "latched"})
        alarms.append(Alarm(name=_get(al, "name", "str", where), node=_node(al, "node", where),
                            latched=_get(al, "latched", "bool", where, False)))
    if any(al.latched for al in alarms) and commands.reset is None:
        raise MappingError("commands.reset", None, "latched alarms need a reset command to clear them",
                           "reset = NODE or { method = ... }")

    interlocks = []
    for where, il in _array(doc, "interlock"):
        _keys(il, where, {"name", "node", "ok", "min", "max", "unit"})
        kw = {"name": _get(il, "name", "str", where), "node": _node(il, "node", where),
              "ok": _get(il, "ok", "bool", where, None), "min": _get(il, "min", "float", where, None),
              "max": _get(il, "max", "float", where, None), "unit": _get(il, "unit", "str", where, "")}
        if (kw["ok"] is None) == (kw["min"] is None and kw["max"] is None):
            raise MappingError(where, kw["name"], "give either ok (Boolean node) or min/max (numeric node)")
        interlocks.append(Interlock(**kw))

    limits = []
    for where, lim in _array(doc, "limit"):
        _keys(lim, where, {"field", "unit", "min", "max", "min_node", "max_node", "scale"})
        name = _get(lim, "field", "str", where)
        limitable = numeric | ({TOTAL_FLOW} if flows else set())
        if name not in limitable:
            raise MappingError(f"{where}.field", name, "not a mapped numeric setpoint", ", ".join(sorted(limitable)))
        lo, hi = _get(lim, "min", "float", where), _get(lim, "max", "float", where)
        if lo > hi:
            raise MappingError(f"{where}.min", lo, "greater than max", f"<= {hi}")
        limits.append(Limit(field=name, unit=_unit(lim, where, RECIPE_UNITS.get(name, "sccm")), min=lo, max=hi,
                            min_node=_node(lim, "min_node", where, False),
                            max_node=_node(lim, "max_node", where, False), scale=_scale(lim, where)))
        if name == TOTAL_FLOW:  # the total is the mapping's own: checked here, and against the tool's at pre-flight
            total = flows[0].total_flow_sccm
            a, b = limits[-1].to_recipe_units(lo, hi)
            if not a <= total <= b:
                raise MappingError("setpoint.total_flow_sccm", total, f"outside {where}", f"[{a:g}, {b:g}] sccm")

    safe = []
    for where, sw in _array(doc, "safe_state"):
        _keys(sw, where, {"node", "value"})
        safe.append(SafeWrite(node=_node(sw, "node", where), value=_get(sw, "value", "scalar", where)))
    if not safe:
        raise MappingError("safe_state", [], "the safe state needs at least one write (RF off)", "[[safe_state]]")

    results = []
    for where, res in _array(doc, "result"):
        _keys(res, where, {"field", "node", "unit", "scale"})
        name = _get(res, "field", "str", where, allowed=", ".join(RESULT_FIELDS))
        if name not in RESULT_FIELDS:
            raise MappingError(f"{where}.field", name, "not a result the tool can publish", ", ".join(RESULT_FIELDS))
        results.append(ResultNode(field=name, node=_node(res, "node", where),
                                  unit=_unit(res, where, units.canonical_unit(name) or ""), scale=_scale(res, where)))
    return {"tool": tool, "status": status, "commands": commands, "job": job, "setpoints": tuple(setpoints),
            "extras": tuple(extras), "readbacks": tuple(readbacks), "alarms": tuple(alarms),
            "interlocks": tuple(interlocks), "limits": tuple(limits), "safe_state": tuple(safe),
            "results": tuple(results),
            "contexts": parse_contexts(doc, _node, _unit, _scale, _array, _keys),
            "security": parse_security(doc["security"]) if "security" in doc else Security()}


def _state_values(s: dict[str, Any], key: str, required: bool = True) -> tuple[Any, ...]:
    if key not in s and not required:
        return ()
    v = s.get(key)
    vals = tuple(v) if isinstance(v, list) else (_get(s, key, "scalar", "status"),)
    if not vals and required:
        raise MappingError(f"status.{key}", v, "needs at least one state value")
    return vals


def _status(table: Any) -> Status:
    """``[status]``: the state node, one or several values of each kind of state, the phase and its map."""
    s = _keys(table, "status", {"node", "phase", "idle", "running", "done", "aborted", "fault", "busy", "phases",
                                "alarm_text"})
    kinds = {k: _state_values(s, k, k != "busy") for k in ("idle", "running", "done", "aborted", "fault", "busy")}
    vals = [v for vs in kinds.values() for v in vs]
    if len(set(map(repr, vals))) != len(vals) or len({type(v) for v in vals}) != 1 or isinstance(vals[0], bool) \
            or isinstance(vals[0], float):
        raise MappingError("status", vals, "state values must be distinct, all strings or all integers")
    phases: dict[str, tuple[str, ...]] = {}
    if "phases" in s:
        table = _keys(s["phases"], "status.phases", set(s["phases"]) if isinstance(s["phases"], dict) else set())
        for value, names in table.items():
            names = _get(table, value, "strs", "status.phases")
            bad = [n for n in names if n not in TWIN_PHASES]
            if bad or not names:
                raise MappingError(f"status.phases.{value}", bad or names, "not a phase of a run",
                                   " | ".join(TWIN_PHASES))
            phases[value] = names
    status = Status(node=_node(s, "node", "status"), phase=_node(s, "phase", "status", required=False),
                    phases=phases, alarm_text=_node(s, "alarm_text", "status", required=False), **kinds)
    if phases and not status.phase:
        raise MappingError("status.phases", list(phases), "a phase map needs status.phase (a node)")
    if status.phase_in_state:
        missing = [v for v in phases if v not in map(str, status.running)]
        if missing:
            raise MappingError(f"status.phases.{missing[0]}", missing[0], "the phase is read from the state node, "
                               "so each phase must be a running state", " | ".join(map(str, status.running)))
    return status


def _command(table: dict[str, Any], key: str, where: str, required: bool = True) -> Command | None:
    """A command: a Boolean node (``"s=Start"``) or a method call (``{ method, object, args }``)."""
    if key not in table and not required:
        return None
    v = table.get(key)
    full = f"{where}.{key}"
    if isinstance(v, dict):
        m = _keys(v, full, {"method", "object", "args"})
        args = m.get("args", [])
        if not isinstance(args, list) or not all(isinstance(a, bool | int | float | str) for a in args):
            raise MappingError(f"{full}.args", args, "expected a list of strings, numbers or true/false")
        return Command(method=_node(m, "method", full), object=_node(m, "object", full), args=tuple(args))
    return Command(node=_node(table, key, where))


def _commands(table: Any) -> Commands:
    c = _keys(table, "commands", {"start", "abort", "reset"})
    return Commands(start=_command(c, "start", "commands"), abort=_command(c, "abort", "commands"),
                    reset=_command(c, "reset", "commands", required=False))


def _job(table: Any) -> JobSpec:
    j = _keys(table, "job", {"store", "read"})
    store, read = _command(j, "store", "job"), _command(j, "read", "job")
    for key, cmd in (("store", store), ("read", read)):
        if not cmd.method:
            raise MappingError(f"job.{key}", cmd.node, "a job is stored and read back by methods",
                               "{ method = ..., object = ... }")
    return JobSpec(store=store, read=read)
