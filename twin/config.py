"""Loading frozen dataclasses from TOML tables: unknown keys, wrong types and out-of-range values are errors
that name the field, the value and what is allowed."""

from __future__ import annotations

import dataclasses
import logging
import math
import tomllib
import typing
from pathlib import Path
from typing import Any

from twin.errors import InputError

log = logging.getLogger(__name__)


def read_toml(path: str | Path, error_cls: type[InputError] = InputError) -> dict[str, Any]:
    """Parse a TOML file; a missing file or malformed TOML is an ``error_cls`` naming the file."""
    p = Path(path)
    try:
        with p.open("rb") as fh:
            return tomllib.load(fh)
    except FileNotFoundError:
        raise error_cls("", "", "file not found", source=str(p)) from None
    except IsADirectoryError:
        raise error_cls("", "", "is a directory, not a TOML file", source=str(p)) from None
    except UnicodeDecodeError as exc:
        raise error_cls("", "", f"not UTF-8 text ({exc.reason})", source=str(p)) from None
    except tomllib.TOMLDecodeError as exc:
        raise error_cls("", "", f"malformed TOML: {exc}", source=str(p)) from None


def _type_name(tp: Any) -> str:
    return {float: "a number", int: "an integer", str: "a string", bool: "true or false"}.get(tp, str(tp))


def coerce(value: Any, tp: Any, field: str, error_cls: type[InputError]) -> Any:
    """Check ``value`` against the annotation ``tp`` (float, int, str, bool or a Literal)."""
    origin = typing.get_origin(tp)
    if origin is typing.Literal:
        allowed = typing.get_args(tp)
        if value not in allowed:
            raise error_cls(field, value, "not one of the allowed values", " | ".join(map(repr, allowed)))
        return value
    if tp is float:
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise error_cls(field, value, f"expected a number, got {type(value).__name__}")
        value = float(value)
        if not math.isfinite(value):
            raise error_cls(field, value, "must be finite")
        return value
    if tp is int:
        if isinstance(value, bool) or not isinstance(value, int):
            raise error_cls(field, value, f"expected an integer, got {type(value).__name__}")
        return value
    if tp is bool:
        if not isinstance(value, bool):
            raise error_cls(field, value, f"expected true or false, got {type(value).__name__}")
        return value
    if tp is str:
        if not isinstance(value, str):
            raise error_cls(field, value, f"expected a string, got {type(value).__name__}")
        return value
    raise TypeError(f"unsupported field type {tp!r} for {field}")  # programming error, not input


def load_dataclass(cls: type, table: Any, prefix: str, error_cls: type[InputError]) -> Any:
    """Build ``cls`` from a TOML table, checking keys, types and the fields' ``low``/``high`` metadata.

    A key that ``cls.RETIRED`` names (a parameter an older model had) is dropped with a logged warning saying
    why, so chamber files and campaign stores written by that model still load; any other unknown key is an
    error.
    """
    if not isinstance(table, dict):
        raise error_cls(prefix, table, f"expected a table, got {type(table).__name__}")
    hints = typing.get_type_hints(cls)
    fields = {f.name: f for f in dataclasses.fields(cls)}
    retired = getattr(cls, "RETIRED", {})
    for name in sorted(set(table) & set(retired)):  # files and stores written by an older model keep loading
        log.warning("%s.%s = %r ignored: %s", prefix, name, table[name], retired[name])
    table = {k: v for k, v in table.items() if k not in retired}
    unknown = sorted(set(table) - set(fields))
    if unknown:
        raise error_cls(f"{prefix}.{unknown[0]}", table[unknown[0]], "unknown key",
                        ", ".join(sorted(fields)))
    kwargs = {}
    for name, value in table.items():
        f = fields[name]
        full = f"{prefix}.{name}"
        value = coerce(value, hints[name], full, error_cls)
        low, high = f.metadata.get("low"), f.metadata.get("high")
        if isinstance(value, float) and (low is not None and value < low or high is not None and value > high):
            unit = f.metadata.get("unit", "")
            raise error_cls(full, value, "out of range", f"[{low}, {high}] {unit}".rstrip())
        kwargs[name] = value
    return cls(**kwargs)


def dataclass_to_table(obj: Any) -> dict[str, Any]:
    """Fields of a flat dataclass as a dict (for writing TOML)."""
    return {f.name: getattr(obj, f.name) for f in dataclasses.fields(obj)}


def toml_value(v: Any) -> str:
    """A scalar as TOML text: ``true``, ``3.5``, ``\"text\"``."""
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, int | float):
        return repr(v)
    if isinstance(v, str):
        return '"' + v.replace("\\", "\\\\").replace('"', '\\"') + '"'
    raise TypeError(f"cannot write {type(v).__name__} to TOML")


def dump_toml(tables: dict[str, dict[str, Any]], header: str = "") -> str:
    """Write tables of scalars as TOML text (tomllib reads, the standard library cannot write)."""
    lines = [f"# {h}" for h in header.splitlines()] if header else []
    for name, table in tables.items():
        if lines:
            lines.append("")
        lines.append(f"[{name}]")
        for k, v in table.items():
            lines.append(f"{k} = {toml_value(v)}")
    return "\n".join(lines) + "\n"
