"""The mapping file: which OPC UA node holds each setpoint, command, readback, alarm, interlock, limit and result
of a tool, in which unit, and what the tool's safe state is. One adapter fits another tool by another mapping.

A mapping is a TOML file (see ``examples/hardware/``)::

    [tool]                      # name, namespace_uri, and timing of the adapter (wall-clock seconds)
    [status]                    # node of the tool's state and the values meaning idle/running/done/aborted/fault
    [commands]                  # start and abort: Boolean nodes the adapter sets to true
    [[setpoint]]                # field (a Recipe field), node, unit, optional readback (echo) node and tolerance
    [[readback]]                # column (telemetry name with its unit suffix), node, unit, follows, phases, live
    [[alarm]]                   # name, node: Boolean, true = alarm active
    [[interlock]]               # name, node, and ok = true|false (Boolean) or min/max (numeric, tool unit)
    [[limit]]                   # field, unit, min, max (the mapping's), min_node/max_node (published by the tool)
    [[safe_state]]              # node, value: written in this order on every abort (RF off, shutter, gas)
    [[result]]                  # field (thickness_nm, interface_resistance_ohm_cm2, ...), node, unit

A node is a NodeId string (``ns=2;s=RF.Power``, or ``s=RF.Power`` in the tool's ``namespace_uri``) or a browse
path from the Objects folder (``/Objects/Sputter/RF/Power``; segments without ``idx:`` are in the tool's
namespace). Units convert only here (:mod:`hardware.units`), then an optional ``scale`` multiplies (the node
holds the value in ``unit`` times ``scale``); the N2 fraction maps to gas flows with
``unit = "sccm"``, ``gas = "N2"`` or ``"Ar"`` and ``total_flow_sccm``. Recipe fields that are not mapped must keep
their default value: the tool cannot set them.
"""

from __future__ import annotations

import dataclasses
import math
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from hardware import units
from twin.config import read_toml
from twin.errors import InputError, RecipeError
from twin.recipe import Recipe


class MappingError(InputError):
    """A mapping file that is malformed, or names a node, unit or field that does not exist."""


RECIPE_UNITS: dict[str, str] = {f.name: f.metadata.get("unit", "") for f in dataclasses.fields(Recipe)}
"""Canonical unit of every recipe field (``transfer`` has none)."""

RESULT_FIELDS = ("thickness_nm", "interface_resistance_ohm_cm2", "deposition_time_s", "process_time_s",
                 "deposition_rate_nm_min")
"""RunResult fields a tool may publish at the end of a run."""

_NODE_RE = re.compile(r"^(ns=\d+;)?(i=\d+|s=.+|g=[0-9a-fA-F-]{36}|b=.+)$")
Scalar = bool | int | float | str


@dataclass(frozen=True)
class ToolInfo:
    """The tool and the adapter's timing (seconds of wall-clock time)."""

    name: str
    namespace_uri: str
    watchdog_s: float = 2.0
    """A lost connection is declared after this long without an answer (at most 5 s)."""
    settle_s: float = 1.0
    """A following readback may stay out of tolerance this long before the run is aborted."""
    setpoint_timeout_s: float = 5.0
    """Setpoint echoes must match within this long after writing."""
    start_timeout_s: float = 5.0
    run_timeout_s: float = 172800.0
    publish_ms: float = 50.0
    """Subscription publishing interval."""
    frozen_after_s: float = 10.0
    """A live readback (:attr:`Readback.live`) that reports exactly the same value this long in its phases is a
    frozen sensor: the run is aborted (``frozen_readback``). 0 disables; else at least ``watchdog_s``
    (:func:`check_frozen_after_s`)."""


FROZEN_AFTER_MAX_S = 600.0
"""Longest ``frozen_after_s`` accepted: ten minutes of plasma on a frozen gauge is a lost wafer already."""


def check_frozen_after_s(value: float, watchdog_s: float, where: str = "tool.frozen_after_s") -> float:
    """``value`` if it is 0 (off) or in [``watchdog_s``, 600] s, else a :class:`MappingError`.

    Not below ``watchdog_s``: a server that stops answering stops every readback too, and must be reported as a
    lost connection (the safe state is then written over a fresh connection), not as a frozen readback.

    >>> check_frozen_after_s(10.0, 2.0)
    10.0
    >>> try:
    ...     check_frozen_after_s(0.5, 2.0)
    ... except MappingError as exc:
    ...     print(exc)
    tool.frozen_after_s = 0.5: must be 0 (off) or at least watchdog_s (allowed: 0 or [2, 600] s)
    """
    if value != 0 and not watchdog_s <= value <= FROZEN_AFTER_MAX_S:
        raise MappingError(where, value, "must be 0 (off) or at least watchdog_s",
                           f"0 or [{watchdog_s:g}, {FROZEN_AFTER_MAX_S:g}] s")
    return value


@dataclass(frozen=True)
class Status:
    node: str
    idle: Scalar
    running: Scalar
    done: Scalar
    aborted: Scalar
    fault: Scalar
    phase: str = ""
    """Optional node with the current phase name (telemetry; readback ``phases`` refer to it)."""

    def values(self) -> dict[str, Scalar]:
        return {"idle": self.idle, "running": self.running, "done": self.done, "aborted": self.aborted,
                "fault": self.fault}


@dataclass(frozen=True)
class Commands:
    start: str
    abort: str


@dataclass(frozen=True)
class Setpoint:
    """A recipe field written to a node, in the node's unit."""

    field: str
    node: str
    unit: str = ""
    readback: str = ""
    """Node echoing the setpoint the tool accepted; verified after writing (default: the node itself)."""
    tolerance: float = 0.01
    """Relative tolerance of the echo (absolute 1e-9 floor)."""
    scale: float = 1.0
    """The node holds the value in ``unit`` times ``scale`` (e.g. 10 for a PLC register in 0.1 W)."""
    gas: str = ""
    total_flow_sccm: float = 0.0
    values: dict[str, Scalar] = field(default_factory=dict)
    """For ``transfer``: tool value of each recipe value."""

    def to_tool(self, recipe: Recipe) -> Scalar:
        """The raw value to write for ``recipe``."""
        value = getattr(recipe, self.field)
        if self.values:
            return self.values[value]
        if self.unit == "sccm":
            share = value if self.gas == "N2" else 1.0 - value
            return float(share * self.total_flow_sccm * self.scale)
        return float(units.to_tool(float(value), RECIPE_UNITS[self.field], self.unit) * self.scale)

    def matches(self, sent: Scalar, echo: Any) -> bool:
        """Whether the echo read back confirms the value sent."""
        if isinstance(sent, str) or isinstance(sent, bool):
            return echo == sent
        if not isinstance(echo, int | float) or isinstance(echo, bool):
            return False
        return abs(float(echo) - float(sent)) <= max(self.tolerance * abs(float(sent)), 1e-9)


@dataclass(frozen=True)
class Readback:
    """A measured value followed during the run into telemetry (``column`` in canonical units)."""

    column: str
    node: str
    unit: str = ""
    follows: tuple[str, ...] = ()
    """Recipe fields the value must match (any of them) while the phase is one of ``phases``."""
    phases: tuple[str, ...] = ()
    tolerance: float = 0.05
    """Relative tolerance when following a setpoint."""
    scale: float = 1.0
    """The node holds the value in ``unit`` times ``scale``."""
    live: bool = False
    """A live process value (pressure, forward power): while the phase is one of ``phases`` it always carries
    some noise, so the same value for ``tool.frozen_after_s`` means a frozen sensor. Default: true for a readback
    that ``follows`` a setpoint."""

    @property
    def is_bool(self) -> bool:
        return units.canonical_unit(self.column) == "bool"

    def to_canonical(self, raw: Any) -> float:
        if self.is_bool:
            return float(bool(raw))
        return units.from_tool(float(raw) / self.scale, units.canonical_unit(self.column) or "", self.unit)

    def from_canonical(self, value: float) -> Scalar:
        if self.is_bool:
            return bool(value)
        return float(units.to_tool(float(value), units.canonical_unit(self.column) or "", self.unit) * self.scale)

    def in_tolerance(self, value: float, recipe: Recipe) -> bool:
        """Whether ``value`` (canonical unit) is within tolerance of any followed setpoint."""
        for name in self.follows:
            target = float(getattr(recipe, name))
            if abs(value - target) <= max(self.tolerance * abs(target), 1e-12):
                return True
        return not self.follows


@dataclass(frozen=True)
class Alarm:
    name: str
    node: str


@dataclass(frozen=True)
class Interlock:
    """A condition that must hold before and during a run: a Boolean equal to ``ok`` or a number in [min, max]."""

    name: str
    node: str
    ok: bool | None = None
    min: float | None = None
    max: float | None = None
    unit: str = ""

    def is_ok(self, raw: Any) -> bool:
        if self.ok is not None:
            return isinstance(raw, bool) and raw == self.ok
        if isinstance(raw, bool) or not isinstance(raw, int | float) or math.isnan(raw):
            return False
        return (self.min is None or raw >= self.min) and (self.max is None or raw <= self.max)

    def bad_value(self) -> Scalar:
        """A value that opens the interlock (the emulator injects it)."""
        if self.ok is not None:
            return not self.ok
        return float(self.max * 1000.0 + 1.0) if self.max is not None else float((self.min or 0.0) - 1.0)


@dataclass(frozen=True)
class Limit:
    """A limit of a recipe field, in the tool's unit; the tool may publish it (``min_node``/``max_node``)."""

    field: str
    unit: str
    min: float
    max: float
    min_node: str = ""
    max_node: str = ""
    scale: float = 1.0

    def to_recipe_units(self, lo: float, hi: float) -> tuple[float, float]:
        """Limits as the tool holds them (``unit`` times ``scale``) in the recipe's unit."""
        canonical = RECIPE_UNITS[self.field]
        a = units.from_tool(lo / self.scale, canonical, self.unit)
        b = units.from_tool(hi / self.scale, canonical, self.unit)
        return (min(a, b), max(a, b))


@dataclass(frozen=True)
class SafeWrite:
    node: str
    value: Scalar


@dataclass(frozen=True)
class ResultNode:
    field: str
    node: str
    unit: str = ""
    scale: float = 1.0

    def to_canonical(self, raw: Any) -> float:
        return units.from_tool(float(raw) / self.scale, units.canonical_unit(self.field) or "", self.unit)

    def from_canonical(self, value: float) -> float:
        return float(units.to_tool(float(value), units.canonical_unit(self.field) or "", self.unit) * self.scale)


@dataclass(frozen=True)
class Mapping:
    """A whole mapping file; build with :meth:`from_toml` or :meth:`from_dict`."""

    tool: ToolInfo
    status: Status
    commands: Commands
    setpoints: tuple[Setpoint, ...]
    readbacks: tuple[Readback, ...] = ()
    alarms: tuple[Alarm, ...] = ()
    interlocks: tuple[Interlock, ...] = ()
    limits: tuple[Limit, ...] = ()
    safe_state: tuple[SafeWrite, ...] = ()
    results: tuple[ResultNode, ...] = ()
    source: str = field(default="", compare=False)

    # -- loading -----------------------------------------------------------------------------------------
    @classmethod
    def from_toml(cls, path: str | Path) -> Mapping:
        """Load and validate a mapping file; errors name the file, the key, the value and what is allowed."""
        return cls.from_dict(read_toml(path, MappingError), source=str(path))

    @classmethod
    def from_dict(cls, doc: dict[str, Any], source: str = "") -> Mapping:
        try:
            return _build(doc, source)
        except InputError as exc:
            raise (exc.with_source(source) if source else exc) from None

    # -- what the adapter needs -----------------------------------------------------------------------------
    def setpoint_writes(self, recipe: Recipe) -> list[tuple[Setpoint, Scalar]]:
        """Raw values to write for ``recipe``, in mapping order."""
        return [(sp, sp.to_tool(recipe)) for sp in self.setpoints]

    def check_recipe(self, recipe: Recipe, published: dict[str, tuple[float, float]] | None = None) -> None:
        """Raise :class:`RecipeError` if ``recipe`` breaks a limit or sets a field this tool cannot set.

        ``published`` are limits the tool publishes (recipe units); where both exist, the stricter applies.
        """
        mapped = {sp.field for sp in self.setpoints}
        default = Recipe()
        for name in Recipe.fields():
            if name not in mapped and getattr(recipe, name) != getattr(default, name):
                raise RecipeError(f"recipe.{name}", getattr(recipe, name),
                                  f"tool {self.tool.name!r} cannot set this field (not in the mapping)",
                                  f"{getattr(default, name)!r} (the default)")
        for lim in self.limits:
            lo, hi = lim.to_recipe_units(lim.min, lim.max)
            how = "outside the mapping's limits"
            if published and lim.field in published:
                plo, phi = published[lim.field]
                if plo > lo or phi < hi:
                    how = "outside the limits the tool publishes"
                lo, hi = max(lo, plo), min(hi, phi)
            value = float(getattr(recipe, lim.field))
            if lim.field == "seed_power_w" and recipe.seed_thickness_nm <= 0:
                continue
            if not lo <= value <= hi:
                unit = RECIPE_UNITS[lim.field]
                raise RecipeError(f"recipe.{lim.field}", value, f"{how} of tool {self.tool.name!r}",
                                  f"[{lo:.6g}, {hi:.6g}] {unit}")

    def recipe_from_tool(self, raw: dict[str, Any]) -> Recipe:
        """The recipe a set of raw setpoint values means (``raw``: node text → value); used by the emulator."""
        values: dict[str, Any] = {}
        flows: dict[str, float] = {}
        for sp in self.setpoints:
            if sp.node not in raw:
                continue
            v = raw[sp.node]
            if sp.values:
                inverse = {tv: rv for rv, tv in sp.values.items()}
                if v not in inverse:
                    raise RecipeError(f"recipe.{sp.field}", v, "unknown tool value", " | ".join(map(repr, inverse)))
                values[sp.field] = inverse[v]
            elif sp.unit == "sccm":
                flows[sp.gas] = float(v) / sp.scale
            else:
                values[sp.field] = units.from_tool(float(v) / sp.scale, RECIPE_UNITS[sp.field], sp.unit)
        if flows:
            n2, ar = flows.get("N2"), flows.get("Ar")
            total = next(sp.total_flow_sccm for sp in self.setpoints if sp.unit == "sccm")
            if n2 is None:
                n2 = total - (ar or 0.0)
            if ar is None:
                ar = total - n2
            values["n2_fraction"] = min(max(n2 / (n2 + ar), 0.0), 1.0) if n2 + ar > 0 else 0.0
        return Recipe.from_dict(values)

    def node_roles(self) -> list[dict[str, Any]]:
        """Every mapped node: role, name, node text, expected OPC UA type, tool unit, range (tool units)."""
        out: list[dict[str, Any]] = []

        def add(role: str, name: str, node: str, vtype: str, unit: str = "", lo: float | None = None,
                hi: float | None = None) -> None:
            out.append({"role": role, "name": name, "node": node, "type": vtype, "unit": unit, "min": lo,
                        "max": hi})

        st = self.status
        add("status", "state", st.node, "String" if isinstance(st.idle, str) else "Int32")
        if st.phase:
            add("status", "phase", st.phase, "String")
        add("command", "start", self.commands.start, "Boolean")
        add("command", "abort", self.commands.abort, "Boolean")
        limits = {lim.field: lim for lim in self.limits}
        for sp in self.setpoints:
            vtype = _scalar_type(next(iter(sp.values.values()))) if sp.values else "Double"
            lim = limits.get(sp.field)
            same = lim is not None and lim.unit == sp.unit and lim.scale == sp.scale
            lo, hi = (lim.min, lim.max) if same else (None, None)
            add("setpoint", sp.field, sp.node, vtype, sp.unit, lo, hi)
            if sp.readback and sp.readback != sp.node:
                add("setpoint_readback", sp.field, sp.readback, vtype, sp.unit)
        for rb in self.readbacks:
            add("readback", rb.column, rb.node, "Boolean" if rb.is_bool else "Double", rb.unit)
        for al in self.alarms:
            add("alarm", al.name, al.node, "Boolean")
        for il in self.interlocks:
            add("interlock", il.name, il.node, "Boolean" if il.ok is not None else "Double", il.unit)
        for lim in self.limits:
            if lim.min_node:
                add("limit", f"{lim.field}.min", lim.min_node, "Double", lim.unit)
            if lim.max_node:
                add("limit", f"{lim.field}.max", lim.max_node, "Double", lim.unit)
        for res in self.results:
            add("result", res.field, res.node, "Double", res.unit)
        return out


def _scalar_type(v: Scalar) -> str:
    if isinstance(v, bool):
        return "Boolean"
    if isinstance(v, int):
        return "Int32"
    if isinstance(v, float):
        return "Double"
    return "String"


# -- parsing -------------------------------------------------------------------------------------------------
_TYPES = {"str": str, "float": float, "bool": bool}
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


def _build(doc: dict[str, Any], source: str) -> Mapping:
    top = {"tool", "status", "commands", "setpoint", "readback", "alarm", "interlock", "limit", "safe_state",
           "result"}
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

    s = _keys(doc["status"], "status", {"node", "phase", "idle", "running", "done", "aborted", "fault"})
    status = Status(node=_node(s, "node", "status"), phase=_node(s, "phase", "status", required=False),
                    **{k: _get(s, k, "scalar", "status") for k in ("idle", "running", "done", "aborted", "fault")})
    vals = list(status.values().values())
    if len(set(map(repr, vals))) != len(vals) or len({type(v) for v in vals}) != 1 or isinstance(vals[0], bool) \
            or isinstance(vals[0], float):
        raise MappingError("status", vals, "state values must be distinct, all strings or all integers")

    c = _keys(doc["commands"], "commands", {"start", "abort"})
    commands = Commands(start=_node(c, "start", "commands"), abort=_node(c, "abort", "commands"))

    setpoints: list[Setpoint] = []
    seen: set[tuple[str, str]] = set()
    for where, sp in _array(doc, "setpoint"):
        _keys(sp, where, {"field", "node", "unit", "readback", "tolerance", "gas", "total_flow_sccm", "values",
                          "scale"})
        name = _get(sp, "field", "str", where, allowed=", ".join(Recipe.fields()))
        if name not in RECIPE_UNITS:
            raise MappingError(f"{where}.field", name, "not a recipe field", ", ".join(Recipe.fields()))
        kw: dict[str, Any] = {"field": name, "node": _node(sp, "node", where),
                              "readback": _node(sp, "readback", where, required=False),
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
                               "_pa, _w, _nm, _c, _s, _min, _mm, _nm_min, _open, _ohm_cm2, _fraction")
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
    if len({rb.column for rb in readbacks}) != len(readbacks):
        raise MappingError("readback.column", [rb.column for rb in readbacks], "a column is mapped twice")

    alarms = []
    for where, al in _array(doc, "alarm"):
        _keys(al, where, {"name", "node"})
        alarms.append(Alarm(name=_get(al, "name", "str", where), node=_node(al, "node", where)))

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
        if name not in numeric:
            raise MappingError(f"{where}.field", name, "not a mapped numeric setpoint", ", ".join(sorted(numeric)))
        lo, hi = _get(lim, "min", "float", where), _get(lim, "max", "float", where)
        if lo > hi:
            raise MappingError(f"{where}.min", lo, "greater than max", f"<= {hi}")
        limits.append(Limit(field=name, unit=_unit(lim, where, RECIPE_UNITS[name]), min=lo, max=hi,
                            min_node=_node(lim, "min_node", where, False),
                            max_node=_node(lim, "max_node", where, False), scale=_scale(lim, where)))

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
    return Mapping(tool=tool, status=status, commands=commands, setpoints=tuple(setpoints),
                   readbacks=tuple(readbacks), alarms=tuple(alarms), interlocks=tuple(interlocks),
                   limits=tuple(limits), safe_state=tuple(safe), results=tuple(results), source=source)
