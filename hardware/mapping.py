"""The mapping file: which OPC UA node holds each setpoint, command, readback, alarm, interlock, limit and result
of a tool, in which unit, and what the tool's safe state is. One adapter fits another tool by another mapping.

A mapping is a TOML file (see ``examples/hardware/``)::

    [tool]                      # name, namespace_uri, and timing of the adapter (wall-clock seconds)
    [status]                    # state node; idle/running/done/aborted/fault (one value or several), busy,
                                # phase (a node, possibly the state node), alarm_text
    [status.phases]             # tool phase value -> the twin's phases it covers (when the values are the tool's)
    [commands]                  # start, abort, optional reset: a Boolean node, or { method, object, args }
    [job]                       # store and read methods, for a tool that takes the recipe as a job
    [[setpoint]]                # field (a Recipe field), node (or a job's parameter), unit, readback and tolerance;
                                # or extra (a campaign's [space.extra.NAME]), node, unit, scale, min, max | values
    [[readback]]                # column (telemetry name with its unit suffix), node, unit, follows, phases, live
    [[alarm]]                   # name, node: Boolean, true = alarm active; latched = true needs commands.reset
    [[interlock]]               # name, node, and ok = true|false (Boolean) or min/max (numeric, tool unit)
    [[limit]]                   # field (or total_flow_sccm), unit, min, max, min_node/max_node (tool-published)
    [[safe_state]]              # node, value: written in this order on every abort (RF off, shutter, gas)
    [[result]]                  # field (thickness_nm, interface_resistance_ohm_cm2, ...), node, unit
    [security]                  # policy, mode, client certificate and key, pinned or trusted server, user

A node is a NodeId string (``ns=2;s=RF.Power``, or ``s=RF.Power`` in the tool's ``namespace_uri``) or a browse
path from the Objects folder (``/Objects/Sputter/RF/Power``; segments without ``idx:`` are in the tool's
namespace). Units convert only here (:mod:`hardware.units`), then an optional ``scale`` multiplies (the node
holds the value in ``unit`` times ``scale``); the N2 fraction maps to gas flows with
``unit = "sccm"``, ``gas = "N2"`` or ``"Ar"`` and ``total_flow_sccm``. Recipe fields that are not mapped must keep
their default value: the tool cannot set them.

The entries live in :mod:`hardware.mapping_types`, the parser in :mod:`hardware.mapping_parse`; the entries are
re-exported here, so ``from hardware.mapping import Setpoint, MappingError`` keeps working.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from hardware import units
from hardware.mapping_context import ContextNode
from hardware.mapping_parse import parse_tables
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
    Scalar,
    Setpoint,
    Status,
    ToolInfo,
    check_frozen_after_s,
)
from hardware.security import Security
from twin.config import read_toml
from twin.errors import InputError, RecipeError
from twin.recipe import Recipe

__all__ = ["FROZEN_AFTER_MAX_S", "RECIPE_UNITS", "RESULT_FIELDS", "TWIN_PHASES", "Alarm", "Command", "Commands",
           "ExtraSetpoint", "Interlock", "JobSpec", "Limit", "Mapping", "MappingError", "Readback", "ResultNode",
           "SafeWrite", "Scalar", "Setpoint", "Status", "TOTAL_FLOW", "ToolInfo", "check_frozen_after_s"]


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
    job: JobSpec | None = None
    """Set when the tool takes the recipe as a job (stored, read back, started by methods)."""
    extras: tuple[ExtraSetpoint, ...] = ()
    """Extra variables of a campaign this tool can set (``[[setpoint]]`` with ``extra = NAME``)."""
    contexts: tuple[ContextNode, ...] = ()
    """Nodes read before each run: the chamber state it starts in (``[[context]]``, :mod:`hardware.mapping_context`)."""
    security: Security = Security()
    """How the adapter secures its connection (``[security]``, :mod:`hardware.security`); no table means no
    security, which the adapter refuses unless the table says ``allow_none = true``."""
    source: str = field(default="", compare=False)

    # -- loading -----------------------------------------------------------------------------------------
    @classmethod
    def from_toml(cls, path: str | Path) -> Mapping:
        """Load and validate a mapping file; errors name the file, the key, the value and what is allowed."""
        return cls.from_dict(read_toml(path, MappingError), source=str(path))

    @classmethod
    def from_dict(cls, doc: dict[str, Any], source: str = "") -> Mapping:
        try:
            return cls(**parse_tables(doc), source=source)
        except InputError as exc:
            raise (exc.with_source(source) if source else exc) from None

    def measured_fields(self) -> frozenset[str]:
        """Result fields a run on this tool has a value for: the ``[[result]]`` nodes, the thickness (a result or
        a readback: a run without one is not recorded as done), the process time (the tool's clock or the
        adapter's), the deposition rate when the deposition time is read, and the interface resistance, which
        ``campaign measure`` enters when the tool does not publish it."""
        fields = {r.field for r in self.results} | {"thickness_nm", "process_time_s", "interface_resistance_ohm_cm2"}
        if "deposition_time_s" in fields:
            fields.add("deposition_rate_nm_min")
        return frozenset(fields)

    # -- what the adapter needs -----------------------------------------------------------------------------
    def setpoint_writes(self, recipe: Recipe) -> list[tuple[Setpoint, Scalar]]:
        """Raw values to write for ``recipe``, in mapping order."""
        return [(sp, sp.to_tool(recipe)) for sp in self.setpoints]

    def extra_writes(self, extras: dict[str, Any] | None) -> list[tuple[ExtraSetpoint, Scalar]]:
        """Raw values to write for a run's extra variables, in mapping order (an extra the campaign does not give
        is not written: the tool keeps its own value). Raises :class:`RecipeError` for an unmapped extra or a
        value outside the mapping's limits."""
        extras = dict(extras or {})
        by_name = {ex.name: ex for ex in self.extras}
        for name, value in extras.items():
            if name not in by_name:
                raise RecipeError(f"extras.{name}", value, f"tool {self.tool.name!r} has no setpoint for this extra",
                                  ", ".join(by_name) or "no extras mapped")
        return [(ex, ex.to_tool(extras[ex.name])) for ex in self.extras if ex.name in extras]

    def check_extras(self, declared: dict[str, dict[str, Any]]) -> None:
        """Raise :class:`MappingError` if a campaign's declared extra (``name → {"unit", "kind", "low", "high",
        "categories"}``) has no ``[[setpoint]]`` here, another unit, a range beyond the mapping's limits, or a
        category the mapping does not map."""
        by_name = {ex.name: ex for ex in self.extras}
        for name, spec in declared.items():
            ex = by_name.get(name)
            if ex is None:
                raise MappingError(f"setpoint.extra = {name}", name, "no [[setpoint]] for this extra in the mapping "
                                   f"of tool {self.tool.name!r}", ", ".join(by_name) or "no extras mapped",
                                   source=self.source)
            cats = tuple(spec.get("categories") or ())
            if cats:
                missing = [c for c in cats if c not in ex.values]
                if not ex.values or missing:
                    raise MappingError(f"setpoint.extra = {name}", missing or list(cats), "category with no tool "
                                       "value in the mapping", " | ".join(ex.values) or "a values table",
                                       source=self.source)
                continue
            if ex.values:
                raise MappingError(f"setpoint.extra = {name}", name, "the mapping maps categories, the campaign "
                                   "declares a range", " | ".join(ex.values), source=self.source)
            if spec.get("unit", "") != ex.unit:
                raise MappingError(f"setpoint.extra = {name}", spec.get("unit"), "the campaign's unit differs from "
                                   "the mapping's (extras are not converted)", repr(ex.unit), source=self.source)
            lo = -math.inf if ex.min is None else ex.min
            hi = math.inf if ex.max is None else ex.max
            if not lo <= float(spec["low"]) <= float(spec["high"]) <= hi:
                raise MappingError(f"setpoint.extra = {name}", [spec["low"], spec["high"]], "the campaign's range "
                                   "goes beyond the mapping's limits", f"[{lo:.6g}, {hi:.6g}] {ex.unit}".rstrip(),
                                   source=self.source)

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
            if lim.field == TOTAL_FLOW:  # the mapping's total flow, against a limit the tool publishes
                total = next(sp.total_flow_sccm for sp in self.setpoints if sp.unit == "sccm")
                if not lo <= total <= hi:
                    raise RecipeError(f"setpoint.{TOTAL_FLOW}", total, f"{how} of tool {self.tool.name!r}",
                                      f"[{lo:.6g}, {hi:.6g}] sccm")
                continue
            value = float(getattr(recipe, lim.field))
            if lim.field == "seed_power_w" and recipe.seed_thickness_nm <= 0:
                continue
            if not lo <= value <= hi:
                unit = RECIPE_UNITS[lim.field]
                raise RecipeError(f"recipe.{lim.field}", value, f"{how} of tool {self.tool.name!r}",
                                  f"[{lo:.6g}, {hi:.6g}] {unit}")

    def recipe_from_tool(self, raw: dict[str, Any]) -> Recipe:
        """The recipe a set of raw setpoint values means (``raw``: node text or job parameter → value); used by the
        emulator."""
        values: dict[str, Any] = {}
        flows: dict[str, float] = {}
        for sp in self.setpoints:
            if sp.key not in raw:
                continue
            v = raw[sp.key]
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
        add("status", "state", st.node, "String" if isinstance(st.idle[0], str) else "Int32")
        if st.phase and not st.phase_in_state:
            add("status", "phase", st.phase, "String")
        if st.alarm_text:
            add("status", "alarm_text", st.alarm_text, "String")
        commands = [("start", self.commands.start), ("abort", self.commands.abort)]
        if self.commands.reset is not None:
            commands.append(("reset", self.commands.reset))
        if self.job is not None:
            commands += [("job_store", self.job.store), ("job_read", self.job.read)]
        objects = set()
        for name, cmd in commands:
            if cmd.node:
                add("command", name, cmd.node, "Boolean")
            else:
                add("method", name, cmd.method, "Method")
                if cmd.object not in objects:
                    objects.add(cmd.object)
                    add("method_object", name, cmd.object, "Object")
        limits = {lim.field: lim for lim in self.limits}
        for sp in self.setpoints:
            vtype = _scalar_type(next(iter(sp.values.values()))) if sp.values else "Double"
            lim = limits.get(sp.field)
            same = lim is not None and lim.unit == sp.unit and lim.scale == sp.scale
            lo, hi = (lim.min, lim.max) if same else (None, None)
            if not sp.node:  # a job parameter: read back through the job, not a node
                continue
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
        for cn in self.contexts:  # read before each run: a counter may be an integer node
            add("context", cn.key, cn.node, "Number", cn.unit)
        for ex in self.extras:
            vtype = _scalar_type(next(iter(ex.values.values()))) if ex.values else "Double"
            lo, hi = (None, None) if ex.min is None or ex.max is None else \
                sorted((ex.min * ex.scale, ex.max * ex.scale))  # the node's range (tool units times scale)
            add("setpoint", ex.name, ex.node, vtype, ex.unit, lo, hi)
            if ex.readback and ex.readback != ex.node:
                add("setpoint_readback", ex.name, ex.readback, vtype, ex.unit)
        return out


def _scalar_type(v: Scalar) -> str:
    if isinstance(v, bool):
        return "Boolean"
    if isinstance(v, int):
        return "Int32"
    if isinstance(v, float):
        return "Double"
    return "String"
