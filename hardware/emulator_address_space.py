"""The emulator's OPC UA address space, built from a mapping: every node the mapping names (setpoints and their
echoes, commands, state and phase, readbacks, alarms, interlocks, published limits, results, safe-state actuators)
with its initial value and type, engineering units and ranges as OPC UA properties (as an AnalogItem has), and the
emulator's own ``s=Emulator.Fault`` (writable) and ``s=Emulator.WriteLog`` nodes.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from asyncua import Server, ua

from hardware import _ua
from hardware.mapping import Interlock, Mapping
from twin.recipe import Recipe


@dataclass
class AddressSpace:
    """The nodes of an emulated tool, by the node text of the mapping."""

    nodes: dict[str, Any] = field(default_factory=dict)
    vtypes: dict[str, ua.VariantType] = field(default_factory=dict)
    by_id: dict[ua.NodeId, str] = field(default_factory=dict)
    fault_node: Any = None
    """``s=Emulator.Fault``: a client writes a fault specification here to inject it."""
    log_node: Any = None
    """``s=Emulator.WriteLog``: every client write, as JSON."""


async def build_address_space(server: Server, ns: int, mapping: Mapping,
                              published_limits: dict[str, float]) -> AddressSpace:
    """Create every node of ``mapping`` in namespace ``ns`` of ``server``, with its initial value (the default
    recipe's setpoints, state idle, alarms off, interlocks ok, limits as the mapping has them unless
    ``published_limits`` says otherwise)."""
    m = mapping
    space = AddressSpace()
    objects = server.nodes.objects
    root = await objects.add_object(ua.NodeId(m.tool.name, ns), ua.QualifiedName(m.tool.name, ns))
    folders: dict[tuple[str, ...], Any] = {}
    st = m.status
    initial: dict[str, Any] = {st.node: st.idle, m.commands.start: False, m.commands.abort: False}
    if st.phase:
        initial[st.phase] = "idle"
    for sp in m.setpoints:
        default = sp.to_tool(Recipe())
        initial[sp.node] = default
        if sp.readback:
            initial[sp.readback] = default
    for rb in m.readbacks:
        initial[rb.node] = False if rb.is_bool else 0.0
    for al in m.alarms:
        initial[al.node] = False
    for il in m.interlocks:
        initial[il.node] = il.ok if il.ok is not None else ok_number(il)
    for lim in m.limits:
        if lim.min_node:
            initial[lim.min_node] = float(published_limits.get(f"{lim.field}.min", lim.min))
        if lim.max_node:
            initial[lim.max_node] = float(published_limits.get(f"{lim.field}.max", lim.max))
    for res in m.results:
        initial[res.node] = float("nan")
    for sw in m.safe_state:
        initial.setdefault(sw.node, sw.value)
    roles = m.node_roles()
    types = {row["node"]: _ua.VARIANT[row["type"]] for row in roles}
    unit_of = {row["node"]: row for row in roles if row["unit"]}
    writable = {sp.node for sp in m.setpoints} | {m.commands.start, m.commands.abort} | {
        sw.node for sw in m.safe_state}
    for text, value in initial.items():
        vtype = types.get(text) or _vtype_of(value)
        if _ua.is_path(text):
            elems = [e.partition(":")[2] for e in _ua.path_elements(text, ns)]
            parent = objects
            for i in range(len(elems) - 1):
                key = tuple(elems[: i + 1])
                if key not in folders:
                    folders[key] = await parent.add_object(ua.NodeId(".".join(key), ns),
                                                           ua.QualifiedName(elems[i], ns))
                parent = folders[key]
            nid = ua.NodeId(".".join(elems), ns)
            bname = ua.QualifiedName(elems[-1], ns)
        else:
            parent = root
            nid = _ua.node_id(text, ns)
            bname = ua.QualifiedName(str(nid.Identifier), nid.NamespaceIndex)
        node = await parent.add_variable(nid, bname, _ua.typed(value, vtype), vtype)
        if text in writable:
            await node.set_writable()
        if text in unit_of:  # publish the unit (and range) as an OPC UA AnalogItem does
            row = unit_of[text]
            eu = ua.EUInformation(NamespaceUri="", UnitId=-1, DisplayName=ua.LocalizedText(row["unit"]),
                                  Description=ua.LocalizedText(row["unit"]))
            await node.add_property(ua.NodeId(f"{nid.Identifier}.EngineeringUnits", ns),
                                    ua.QualifiedName("EngineeringUnits", 0), eu,
                                    datatype=ua.NodeId(ua.ObjectIds.EUInformation))
            if row["min"] is not None:
                await node.add_property(ua.NodeId(f"{nid.Identifier}.EURange", ns),
                                        ua.QualifiedName("EURange", 0), ua.Range(row["min"], row["max"]),
                                        datatype=ua.NodeId(ua.ObjectIds.Range))
        space.nodes[text] = node
        space.vtypes[text] = vtype
        space.by_id[nid] = text
    space.fault_node = await root.add_variable(ua.NodeId("Emulator.Fault", ns), ua.QualifiedName("Emulator.Fault", ns),
                                               "", ua.VariantType.String)
    await space.fault_node.set_writable()
    space.log_node = await root.add_variable(ua.NodeId("Emulator.WriteLog", ns),
                                             ua.QualifiedName("Emulator.WriteLog", ns), "[]", ua.VariantType.String)
    return space


def ok_number(il: Interlock) -> float:
    """A value of a numeric interlock that is well inside its range (the emulator's normal state)."""
    if il.max is not None:
        return float(il.max) / 10.0 if il.max > 0 else float(il.max)
    return float(il.min) + 1.0


def _vtype_of(value: Any) -> ua.VariantType:
    return _ua.VARIANT[{bool: "Boolean", int: "Int32", float: "Double", str: "String"}[type(value)]]
