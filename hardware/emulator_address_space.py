"""The emulator's OPC UA address space, built from a mapping: every node the mapping names (setpoints and their
echoes, commands, state and phase, readbacks, alarms, interlocks, published limits, results, safe-state actuators)
with its initial value and type, engineering units and ranges as OPC UA properties (as an AnalogItem has), and the
emulator's own ``s=Emulator.Fault`` (writable) and ``s=Emulator.WriteLog`` nodes.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

from asyncua import Server, ua

from hardware import _ua
from hardware.mapping import TWIN_PHASES, Command, Mapping
from hardware.tool_model import writable_nodes

MethodHandler = Callable[[str, list[Any]], Awaitable[list[Any]]]
"""(method node text, input arguments) → output arguments."""


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


async def build_address_space(server: Server, ns: int, mapping: Mapping, initial: dict[str, Any],
                              call: MethodHandler) -> AddressSpace:
    """Create every node of ``mapping`` in namespace ``ns`` of ``server`` with its ``initial`` value
    (:func:`hardware.tool_model.initial_values`), and every method the mapping calls, served by ``call``."""
    m = mapping
    space = AddressSpace()
    objects = server.nodes.objects
    root = await objects.add_object(ua.NodeId(m.tool.name, ns), ua.QualifiedName(m.tool.name, ns))
    folders: dict[tuple[str, ...], Any] = {}

    async def place(text: str, as_object: bool = False) -> tuple[Any, ua.NodeId, ua.QualifiedName]:
        """The parent of node ``text`` (folders of a browse path created on the way), its NodeId and name; with
        ``as_object``, the object ``text`` itself (created once) as the parent."""
        if _ua.is_path(text):
            elems = [e.partition(":")[2] for e in _ua.path_elements(text, ns)]
            parent = objects
            for i in range(len(elems) - (0 if as_object else 1)):
                key = tuple(elems[: i + 1])
                if key not in folders:
                    folders[key] = await parent.add_object(ua.NodeId(".".join(key), ns),
                                                           ua.QualifiedName(elems[i], ns))
                parent = folders[key]
            return parent, ua.NodeId(".".join(elems), ns), ua.QualifiedName(elems[-1], ns)
        nid = _ua.node_id(text, ns)
        bname = ua.QualifiedName(str(nid.Identifier), nid.NamespaceIndex)
        if as_object:
            if (text,) not in folders:
                folders[(text,)] = await root.add_object(nid, bname)
            return folders[(text,)], nid, bname
        return root, nid, bname

    roles = m.node_roles()
    types = {row["node"]: _ua.VARIANT[row["type"]] for row in roles if row["type"] in _ua.VARIANT}
    unit_of = {row["node"]: row for row in roles if row["unit"]}
    writable = writable_nodes(m)
    for text, value in initial.items():
        vtype = types.get(text) or _vtype_of(value)
        parent, nid, bname = await place(text)
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
        if text in (m.status.node, m.status.phase):  # what the tool can report, as a multi-state item lists it
            states = [ua.LocalizedText(v) for v in reportable(m, text)]
            await node.add_property(ua.NodeId(f"{nid.Identifier}.EnumStrings", ns),
                                    ua.QualifiedName("EnumStrings", 0), states,
                                    datatype=ua.NodeId(ua.ObjectIds.LocalizedText))
        space.nodes[text] = node
        space.vtypes[text] = vtype
        space.by_id[nid] = text
    await _add_methods(m, place, call)
    space.fault_node = await root.add_variable(ua.NodeId("Emulator.Fault", ns), ua.QualifiedName("Emulator.Fault", ns),
                                               "", ua.VariantType.String)
    await space.fault_node.set_writable()
    space.log_node = await root.add_variable(ua.NodeId("Emulator.WriteLog", ns),
                                             ua.QualifiedName("Emulator.WriteLog", ns), "[]", ua.VariantType.String)
    return space


async def _add_methods(m: Mapping, place: Any, call: MethodHandler) -> None:
    """Every command given as a method, and a job's store and read: String arguments, a String output for the
    job methods (the job id, the stored job)."""
    methods: list[tuple[Command, int, int]] = []
    for cmd in (m.commands.start, m.commands.abort, m.commands.reset):
        if cmd is not None and cmd.method:
            methods.append((cmd, len(cmd.args), 0))
    if m.job is not None:
        methods += [(m.job.store, 2, 1), (m.job.read, 1, 1)]
    for cmd, n_in, n_out in methods:
        obj, _nid, _bname = await place(cmd.object, as_object=True)
        _parent, nid, bname = await place(cmd.method)

        async def serve(_parent_id: Any, *args: Any, _method: str = cmd.method) -> list[ua.Variant]:
            out = await call(_method, [a.Value if isinstance(a, ua.Variant) else a for a in args])
            return [ua.Variant(str(v), ua.VariantType.String) for v in out]

        await obj.add_method(nid, bname, serve, [ua.VariantType.String] * n_in,
                                             [ua.VariantType.String] * n_out)


def reportable(m: Mapping, text: str) -> list[str]:
    """The values the emulated tool can report at the state node or at a separate phase node."""
    st = m.status
    if text == st.node:
        return [str(v) for vs in st.values().values() for v in vs]
    phases = [st.tool_phase(p) for p in TWIN_PHASES]
    return list(dict.fromkeys([p for p in phases if p is not None] + ["idle", "done", "aborted", "fault"]))


def _vtype_of(value: Any) -> ua.VariantType:
    return _ua.VARIANT[{bool: "Boolean", int: "Int32", float: "Double", str: "String"}[type(value)]]


__all__ = ["AddressSpace", "MethodHandler", "build_address_space"]
