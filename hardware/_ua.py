"""Small asyncua helpers shared by the adapter, the emulator and the commissioning check: node text → NodeId or
browse path, and values typed as the node expects."""

from __future__ import annotations

import math
from typing import Any

from asyncua import ua

VARIANT = {"Double": ua.VariantType.Double, "Boolean": ua.VariantType.Boolean, "Int32": ua.VariantType.Int32,
           "String": ua.VariantType.String}


def is_path(text: str) -> bool:
    """Whether node text is a browse path (``/Objects/...``) rather than a NodeId string."""
    return text.startswith("/")


def path_elements(text: str, ns: int) -> list[str]:
    """Browse-path segments below Objects as ``idx:Name``; segments without an index are in ``ns``.

    >>> path_elements("/Objects/Sputter/3:RF/Power", 2)
    ['2:Sputter', '3:RF', '2:Power']
    """
    parts = [p for p in text.split("/") if p]
    if parts and parts[0] in ("Objects", "0:Objects"):
        parts = parts[1:]
    out = []
    for p in parts:
        idx, sep, name = p.partition(":")
        out.append(p if sep and idx.isdigit() else f"{ns}:{p}")
    return out


def node_id(text: str, ns: int) -> ua.NodeId:
    """NodeId of node text ``ns=N;s=X`` / ``s=X`` / ``i=N`` (``ns`` if the text names none)."""
    if not text.startswith("ns="):
        text = f"ns={ns};{text}"
    return ua.NodeId.from_string(text)


def typed(value: Any, vtype: ua.VariantType) -> ua.Variant:
    """``value`` as a Variant of the node's type (an int to an Int32 node, a float to a Double node...)."""
    if vtype in (ua.VariantType.Double, ua.VariantType.Float):
        value = float(value)
    elif vtype in (ua.VariantType.Int16, ua.VariantType.Int32, ua.VariantType.Int64, ua.VariantType.UInt16,
                   ua.VariantType.UInt32, ua.VariantType.UInt64):
        if isinstance(value, float) and not value.is_integer():
            raise ValueError(f"{value!r} is not an integer")
        value = int(value)
    elif vtype is ua.VariantType.Boolean:
        value = bool(value)
    return ua.Variant(value, vtype)


def plain(value: Any) -> Any:
    """A value made JSON-safe for logs (NaN → None)."""
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, bool | int | float | str) or value is None:
        return value
    return repr(value)
