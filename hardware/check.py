"""Commissioning check: read every node a mapping names on a live tool and report what is missing or disagrees
(data type, engineering unit, range, published limits, write access of setpoints, commands and safe-state nodes,
the state values the tool can report, methods). Reads only; writes nothing. :func:`hardware.run_checks.run_time_checks`
lists which checks a run of this mapping will make.

The last findings (role ``security``) report the endpoint's security: the policy and mode used, the server
certificate and how it was trusted, the user, and every policy/mode the tool offers. The session is the
mapping's own (its user), so the write-access findings are those of the user the adapter runs as. A mapping
without a ``[security]`` table (no security, not allowed: that needs ``allow_none = true``) is refused before any
session; the one-line error lists what the tool offers, so that the table can be written from it."""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
from dataclasses import dataclass
from typing import Any

from asyncua import Client, ua

from hardware import _ua
from hardware.mapping import Mapping, MappingError
from hardware.opcua_context import bounded
from hardware.security import load_credentials
from hardware.security_client import SecurityRefused, discover, make_client, offers, secure_connect
from twin.errors import ToolError

PROBLEMS = ("missing", "type", "unit", "range", "access", "state")
"""Kinds of finding that mean the tool disagrees with the mapping."""

_COMPATIBLE = {
    "Double": {"Double", "Float"},
    "Int32": {"Int16", "Int32", "Int64", "UInt16", "UInt32", "UInt64", "Byte", "SByte"},
    "Boolean": {"Boolean"},
    "String": {"String"},
}
_COMPATIBLE["Number"] = _COMPATIBLE["Double"] | _COMPATIBLE["Int32"]
"""A ``[[context]]`` node may be a float gauge or an integer counter: the adapter reads either as a float."""
_WRITTEN = ("setpoint", "command", "safe_state")
"""Roles of nodes the adapter writes: each must be writable by the session's user."""
_UNIT_ALIASES = [{"°C", "C", "degC"}, {"A", "Å"}, {"um", "µm"}, {"Ω·cm²", "ohm_cm2"}]


@dataclass(frozen=True)
class Finding:
    """One mapped node: ``kind`` is ``ok``, ``note`` or a problem of :data:`PROBLEMS`."""

    kind: str
    role: str
    name: str
    node: str
    detail: str = ""

    @property
    def is_problem(self) -> bool:
        return self.kind in PROBLEMS

    def to_dict(self) -> dict[str, Any]:
        return {"kind": self.kind, "role": self.role, "name": self.name, "node": self.node, "detail": self.detail}


def same_unit(a: str, b: str) -> bool:
    """Whether two unit spellings mean the same unit.

    >>> same_unit("°C", "degC"), same_unit("W", "kW")
    (True, False)
    """
    return a == b or any(a in group and b in group for group in _UNIT_ALIASES)


def check_tool(mapping: Mapping, endpoint: str, timeout_s: float = 4.0) -> list[Finding]:
    """Read every mapped node on ``endpoint``; raises :class:`twin.ToolError` if the tool cannot be reached.

    Runs its own event loop in a private thread, so it works whether or not the caller has a running loop
    (a Jupyter kernel, a web app).
    """
    with concurrent.futures.ThreadPoolExecutor(1, thread_name_prefix="tool-check") as pool:
        return pool.submit(asyncio.run, _check(mapping, endpoint, timeout_s)).result()


async def _check(mapping: Mapping, endpoint: str, timeout_s: float) -> list[Finding]:
    sec = mapping.security
    if sec.is_none and not sec.allow_none:
        await _refuse_none(mapping, endpoint, timeout_s)
    credentials = load_credentials(sec, mapping.source)
    client = make_client(endpoint, timeout_s, credentials)
    try:
        session = await secure_connect(client, timeout_s + 1)
    except SecurityRefused:
        with contextlib.suppress(BaseException):
            client.disconnect_socket()
        raise
    except Exception as exc:
        with contextlib.suppress(BaseException):
            client.disconnect_socket()
        raise ToolError(f"cannot connect to {endpoint}: {type(exc).__name__}: {exc}") from None
    found = [Finding("ok", "security", "endpoint", endpoint, session.describe() if credentials is not None
                     else "None/None: neither signed nor encrypted (allowed by security.allow_none)")]
    if credentials is not None and any(o.startswith("None/") for o in session.offers):
        found.append(Finding("note", "security", "endpoint", endpoint, "the tool also offers an endpoint without "
                             "security: anyone on its network can read and write it"))
    try:
        try:
            ns = await client.get_namespace_index(mapping.tool.namespace_uri)
        except Exception:
            return [Finding("missing", "tool", "namespace_uri", mapping.tool.namespace_uri,
                            "the server has no such namespace: every node is missing"), *found]
        rows = mapping.node_roles()
        rows += [{"role": "safe_state", "name": "safe_state", "node": sw.node, "type": _scalar(sw.value), "unit": "",
                  "min": None, "max": None} for sw in mapping.safe_state]
        limits = {lim.field: lim for lim in mapping.limits}
        findings = [await _one(client, ns, row, limits) for row in rows]
        out = []
        for f in findings:
            if f.role == "status" and f.kind == "ok" and f.name == "state":
                f = await _states(client, ns, mapping, f)
            elif f.role == "status" and f.kind == "ok" and f.name == "phase":
                f = await _phases(client, ns, mapping, f)
            out.append(f)
        return [*out, *found]
    finally:
        with contextlib.suppress(BaseException):
            await bounded(client.disconnect(), 2.0)


async def _refuse_none(mapping: Mapping, endpoint: str, timeout_s: float) -> None:
    """The mapping does not allow an endpoint without security: say what the tool offers, then refuse."""
    try:
        offered = ", ".join(offers(await discover(endpoint, timeout_s))) or "no endpoint"
    except Exception as exc:
        offered = f"unknown: no answer to discovery ({type(exc).__name__})"
    raise MappingError("security.policy", "None", "an endpoint without signing or encryption is refused unless "
                       f"the mapping allows it; the tool offers {offered}",
                       "a [security] table with one of those, or allow_none = true", mapping.source)


def _scalar(value: Any) -> str:
    return {bool: "Boolean", int: "Int32", float: "Double", str: "String"}[type(value)]


async def _one(client: Client, ns: int, row: dict[str, Any], limits: dict[str, Any]) -> Finding:
    role, name, text = row["role"], row["name"], row["node"]
    try:
        node = await _node(client, ns, text)
        cls = await node.read_node_class()
        if row["type"] in ("Method", "Object"):
            want = ua.NodeClass.Method if row["type"] == "Method" else ua.NodeClass.Object
            if cls != want:
                return Finding("type", role, name, text, f"the tool has a {cls.name}, the mapping calls a {want.name}")
            return Finding("ok", role, name, text, cls.name)
        vtype = await node.read_data_type_as_variant_type()
        value = await node.read_value()
    except Exception as exc:
        return Finding("missing", role, name, text, f"{type(exc).__name__}")
    if role in _WRITTEN:
        try:
            access = await node.get_user_access_level()
        except Exception:
            access = set()
        if ua.AccessLevel.CurrentWrite not in access:
            return Finding("access", role, name, text, "not writable by this session's user: the adapter writes it")
    if vtype.name not in _COMPATIBLE[row["type"]]:
        return Finding("type", role, name, text, f"the tool has {vtype.name}, the mapping expects {row['type']}")
    notes = []
    if row["unit"]:
        eu = await _property(node, "EngineeringUnits")
        if eu is None:
            notes.append("unit not published by the tool")
        else:
            unit = eu.DisplayName.Text if hasattr(eu, "DisplayName") else str(eu)
            if not same_unit(unit, row["unit"]):
                return Finding("unit", role, name, text, f"the tool publishes {unit!r}, the mapping says "
                               f"{row['unit']!r}")
    if role == "setpoint" and row["min"] is not None:
        rng = await _property(node, "EURange")
        if rng is not None and (rng.Low > row["min"] or rng.High < row["max"]):
            return Finding("range", role, name, text, f"the tool accepts [{rng.Low:g}, {rng.High:g}] {row['unit']}, "
                           f"the mapping allows [{row['min']:g}, {row['max']:g}]")
    if role == "limit":
        fld, _, end = name.rpartition(".")
        lim = limits[fld]
        want = lim.min if end == "min" else lim.max
        if not isinstance(value, int | float) or abs(float(value) - want) > 1e-9 * max(abs(want), 1.0):
            return Finding("range", role, name, text, f"the tool publishes {value!r} {lim.unit}, the mapping says "
                           f"{want:g} {lim.unit} (the adapter applies the stricter)")
    notes.append(f"{vtype.name} = {_ua.plain(value)!r}")
    return Finding("ok", role, name, text, "; ".join(notes))


async def _node(client: Client, ns: int, text: str) -> Any:
    if _ua.is_path(text):
        return await client.nodes.objects.get_child(_ua.path_elements(text, ns))
    return client.get_node(_ua.node_id(text, ns))


async def _states(client: Client, ns: int, mapping: Mapping, found: Finding) -> Finding:
    """The state node's published states (``EnumStrings``) against the mapping's state values."""
    published = await _property(await _node(client, ns, found.node), "EnumStrings")
    if not published:
        return Finding("ok", found.role, found.name, found.node, found.detail + "; the tool publishes no list of its "
                       "states: state values not verified")
    texts = {t.Text if hasattr(t, "Text") else str(t) for t in published}
    mapped = [str(v) for vs in mapping.status.values().values() for v in vs]
    unknown = [v for v in mapped if v not in texts]
    if unknown:
        return Finding("state", found.role, found.name, found.node, f"the tool never reports {', '.join(unknown)} "
                       f"(it reports {', '.join(sorted(texts))})")
    return Finding("ok", found.role, found.name, found.node, found.detail + f"; all {len(mapped)} state values "
                   "are ones the tool reports")


async def _phases(client: Client, ns: int, mapping: Mapping, found: Finding) -> Finding:
    """A separate phase node's published phases against the phases the readback checks are bound to: a check
    bound to a phase the tool never reports would never run."""
    published = await _property(await _node(client, ns, found.node), "EnumStrings")
    if not published:
        return Finding("ok", found.role, found.name, found.node, found.detail + "; the tool publishes no list of its "
                       "phases: readback phases not verified")
    texts = {t.Text if hasattr(t, "Text") else str(t) for t in published}
    st = mapping.status
    names = {st.phase_name(t) for t in texts}
    wanted = sorted({p for rb in mapping.readbacks for p in rb.phases} - names)
    if wanted:
        return Finding("state", found.role, found.name, found.node, f"readback checks wait for phases the tool never "
                       f"reports: {', '.join(wanted)} (it reports {', '.join(sorted(texts))})")
    return Finding("ok", found.role, found.name, found.node, found.detail + "; every readback phase is one the tool "
                   "reports")


async def _property(node: Any, name: str) -> Any:
    try:
        child = await node.get_child([ua.QualifiedName(name, 0)])
        return await child.read_value()
    except Exception:
        return None
