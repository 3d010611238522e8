"""Commissioning check: read every node a mapping names on a live tool and report what is missing or disagrees
(data type, engineering unit, range, published limits). Reads only; writes nothing.

The last findings (role ``security``) report the endpoint's security: the policy and mode used, the server
certificate and how it was trusted, the user, and every policy/mode the tool offers. A mapping without a
``[security]`` table (no security, not allowed: that needs ``allow_none = true``) is refused before any session;
the one-line error lists what the tool offers, so that the table can be written from it."""

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

PROBLEMS = ("missing", "type", "unit", "range")
"""Kinds of finding that mean the tool disagrees with the mapping."""

_COMPATIBLE = {
    "Double": {"Double", "Float"},
    "Int32": {"Int16", "Int32", "Int64", "UInt16", "UInt32", "UInt64", "Byte", "SByte"},
    "Boolean": {"Boolean"},
    "String": {"String"},
}
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
        return [*[await _one(client, ns, row, limits) for row in rows], *found]
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
        if _ua.is_path(text):
            node = await client.nodes.objects.get_child(_ua.path_elements(text, ns))
        else:
            node = client.get_node(_ua.node_id(text, ns))
        vtype = await node.read_data_type_as_variant_type()
        value = await node.read_value()
    except Exception as exc:
        return Finding("missing", role, name, text, f"{type(exc).__name__}")
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


async def _property(node: Any, name: str) -> Any:
    try:
        child = await node.get_child([ua.QualifiedName(name, 0)])
        return await child.read_value()
    except Exception:
        return None
