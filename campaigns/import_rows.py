"""One row of a file of past runs, validated (:mod:`campaigns.importer`): each cell parsed and converted to its
canonical unit, the recipe checked as recipes are (its own ranges and rules, the tool's limits, the campaign's
space and fixed fields), results, flags, context, dates and extra variables checked against their ranges. Every
problem is one line naming the row, the column, the value as written (and converted), and what is allowed."""

from __future__ import annotations

import hashlib
import math
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any

from campaigns.config import CampaignConfig
from campaigns.import_columns import (
    CONTEXT_COLUMNS,
    FALSE_WORDS,
    RESULT_COLUMNS,
    TRUE_WORDS,
    Column,
    required_columns,
)
from campaigns.import_read import Row
from campaigns.records import _json
from twin import Chamber, Recipe
from twin.errors import InputError

REL_TOL = 1e-9
"""Relative tolerance of a converted value against a bound or a fixed value (unit conversion round-off)."""



@dataclass(frozen=True)
class PastRun:
    """One validated row, ready to be a trial."""

    row: int
    recipe: dict[str, Any]
    extras: dict[str, Any]
    result: dict[str, Any]
    state: str
    started_at: str | None
    finished_at: str | None
    comment: str | None
    key: str
    """sha256 of the row's recipe, extras, results, context and dates: two rows with the same key are duplicates."""



# -- one cell ------------------------------------------------------------------------------------------------------
class _Bad(Exception):
    def __init__(self, problem: str, allowed: str = "") -> None:
        super().__init__(problem)
        self.problem, self.allowed = problem, allowed


def _number(raw: Any) -> float | None:
    if raw is None:
        return None
    if isinstance(raw, bool) or not isinstance(raw, int | float | str):
        raise _Bad("not a number")
    if isinstance(raw, str):
        if not raw.strip():
            return None
        try:
            v = float(raw.strip())
        except ValueError:
            raise _Bad("not a number") from None
    else:
        v = float(raw)
    if not math.isfinite(v):
        raise _Bad("not a finite number")
    return v


def _flag(raw: Any) -> bool:
    if raw is None:
        return False
    if isinstance(raw, bool):
        return raw
    if isinstance(raw, int | float) and raw in (0, 1):
        return bool(raw)
    text = str(raw).strip().lower()
    if text in TRUE_WORDS or text in FALSE_WORDS:
        return text in TRUE_WORDS
    raise _Bad("expected true or false", "true | false | yes | no | 1 | 0 | empty")


def _date(raw: Any) -> str | None:
    if raw is None or (isinstance(raw, str) and not raw.strip()):
        return None
    if isinstance(raw, datetime):
        dt = raw
    elif isinstance(raw, date):
        dt = datetime(raw.year, raw.month, raw.day)
    elif isinstance(raw, str):
        try:
            dt = datetime.fromisoformat(raw.strip())
        except ValueError:
            raise _Bad("not an ISO 8601 date", "YYYY-MM-DD or YYYY-MM-DDTHH:MM[:SS][+HH:MM]; no zone = UTC") from None
    else:
        raise _Bad("not a date", "YYYY-MM-DD or YYYY-MM-DDTHH:MM[:SS][+HH:MM]")
    if dt.tzinfo is None:
        dt = dt.replace(tzinfo=UTC)
    return dt.astimezone(UTC).isoformat(timespec="microseconds")


def _in_range(v: float, low: float, high: float, unit: str, low_open: bool = False) -> None:
    if (v <= low if low_open else v < low) or v > high:
        lo = "(" if low_open else "["
        raise _Bad("out of range", f"{lo}{low:.4g}, {high:.4g}] {unit}".rstrip())


def _close(a: float, b: float) -> bool:
    return math.isclose(a, b, rel_tol=REL_TOL, abs_tol=1e-12)


# -- one row -------------------------------------------------------------------------------------------------------
class RowCheck:
    """Validates one row; ``problems`` collects its lines."""

    def __init__(self, row: Row, cols: list[Column], config: CampaignConfig, chamber: Chamber) -> None:
        self.row, self.cols, self.config, self.chamber = row, cols, config, chamber
        self.problems: list[str] = []
        self.raw = {c.name: (c, row.cells[i]) for i, c in enumerate(cols)}

    def bad(self, name: str, problem: str, allowed: str = "", value: Any = None) -> None:
        col, raw = self.raw.get(name, (None, value))
        header = col.header if col is not None else name
        shown = raw if col is not None else value
        extra = ""
        if col is not None and col.unit != col.canonical_unit and isinstance(value, float):
            extra = f" (= {value:.6g} {col.canonical_unit})"
        tail = f" (allowed: {allowed})" if allowed else ""
        self.problems.append(f"{self.row.where}: {header} = {shown!r}{extra}: {problem}{tail}")

    def cell(self, name: str, parse: Any) -> Any:
        col, raw = self.raw[name]
        try:
            return parse(raw)
        except _Bad as exc:
            self.bad(name, exc.problem, exc.allowed)
            raise

    def run(self) -> PastRun | None:
        recipe = self._recipe()
        extras = self._extras()
        result = self._results()
        dates = self._dates()
        note = self.raw.get("note")
        comment = None if note is None or note[1] is None else str(note[1]).strip() or None
        if self.problems or recipe is None or result is None or extras is None or dates is None:
            return None
        failed_flag = result.pop("failed")
        outcome = self.config.objective.evaluate(result, recipe)
        state = "failed" if failed_flag or outcome.failed else "done"
        if failed_flag:
            result["failure"] = "failed (flagged in the file of past runs)"
        started, finished = dates
        key = hashlib.sha256(_json({"recipe": recipe, "extras": extras, "result": result, "started": started,
                                    "finished": finished}).encode()).hexdigest()
        return PastRun(self.row.number, recipe, extras, result, state, started, finished, comment, key)

    def _recipe(self) -> dict[str, Any] | None:
        values: dict[str, Any] = dict(self.config.space.fixed)
        fixed = self.config.space.fixed
        ok = True
        for name, (col, raw) in self.raw.items():
            if col.kind != "recipe":
                continue
            try:
                if name == "transfer":
                    v: Any = None if raw is None or not str(raw).strip() else str(raw).strip().lower()
                else:
                    v = self.cell(name, _number)
                    v = None if v is None else col.to_canonical(v)
            except _Bad:
                ok = False
                continue
            if v is None:
                if name in {d.name for d in self.config.space.dimensions}:
                    self.bad(name, "empty: a searched variable of the campaign needs a value")
                    ok = False
                continue
            if name in fixed and not (v == fixed[name] if isinstance(v, str) or isinstance(fixed[name], str)
                                      else _close(float(v), float(fixed[name]))):
                unit = "" if isinstance(fixed[name], str) else f" {col.canonical_unit}"
                self.bad(name, "the campaign fixes this field at another value", f"{fixed[name]}{unit}", v)
                ok = False
                continue
            values[name] = v
        if not ok:
            return None
        for d in self.config.space.dimensions:
            if d.extra or d.name not in values:
                continue
            v = values[d.name]
            if d.is_categorical:
                if v not in d.categories:
                    self.bad(d.name, "outside the campaign's space", " | ".join(d.categories), v)
                    ok = False
            elif not (d.low <= v <= d.high or _close(v, d.low) or _close(v, d.high)):
                self.bad(d.name, "outside the campaign's space", f"[{d.low:.4g}, {d.high:.4g}] {d.unit}", v)
                ok = False
            else:
                values[d.name] = min(max(v, d.low), d.high)
        if not ok:
            return None
        try:
            recipe = Recipe(**values)
            self.chamber.check(recipe)
        except InputError as exc:
            name = exc.field.removeprefix("recipe.")
            self.bad(name, exc.problem, exc.allowed, exc.value)
            return None
        return recipe.to_dict()

    def _extras(self) -> dict[str, Any] | None:
        out: dict[str, Any] = {}
        ok = True
        for d in self.config.space.extras:
            col, raw = self.raw[d.name]
            if d.is_categorical:
                v = None if raw is None else str(raw).strip()
                if v not in d.categories:
                    self.bad(d.name, "not a category of this extra variable", " | ".join(d.categories))
                    ok = False
                    continue
                out[d.name] = v
                continue
            try:
                x = self.cell(d.name, _number)
            except _Bad:
                ok = False
                continue
            try:
                if x is None:
                    raise _Bad("empty: a searched variable of the campaign needs a value")
                if d.integer and x != round(x):
                    raise _Bad("not a whole number")
                _in_range(x, d.low, d.high, d.unit)
            except _Bad as exc:
                self.bad(d.name, exc.problem, exc.allowed)
                ok = False
                continue
            out[d.name] = d.round(x)
        return out if ok else None

    def _results(self) -> dict[str, Any] | None:
        result: dict[str, Any] = {}
        context: dict[str, float] = {}
        ok = True
        for name, (col, _raw) in self.raw.items():
            try:
                if col.kind == "flag":
                    result[name] = self.cell(name, _flag)
                elif col.kind in ("result", "context"):
                    v = self.cell(name, _number)
                    if v is None:
                        continue
                    v = col.to_canonical(v)
                    if col.kind == "result":
                        low, high, unit, low_open = RESULT_COLUMNS[name]
                    else:
                        (low, high, unit), low_open = CONTEXT_COLUMNS[name], name == "base_pressure_pa"
                        if name == "runs_since_vent" and v != round(v):
                            raise _Bad("not a whole number", f"0, 1, 2, ... {unit}")
                    try:
                        _in_range(v, low, high, unit, low_open)
                    except _Bad as exc:
                        self.bad(name, exc.problem, exc.allowed, v)
                        ok = False
                        continue
                    (result if col.kind == "result" else context)[name] = v
            except _Bad:
                ok = False
        if not ok:
            return None
        result["shorted"] = bool(result.get("shorted", False))
        result.setdefault("failed", False)
        obj = self.config.objective
        if (obj.minimize == "total_resistance_ohm_cm2" and "total_resistance_ohm_cm2" not in result
                and {"interface_resistance_ohm_cm2", "bulk_resistance_ohm_cm2"} <= set(result)):
            result["total_resistance_ohm_cm2"] = (result["interface_resistance_ohm_cm2"]
                                                  + result["bulk_resistance_ohm_cm2"])
        if not (result["shorted"] or result["failed"]):
            for name in required_columns(self.config):
                if name in RESULT_COLUMNS and name not in result:
                    self.bad(name, "empty: a run that neither failed nor shorted needs this measurement", "> 0",
                             None)
                    ok = False
            if ok and obj.minimize not in result:  # total resistance: neither given nor interface + bulk
                self.bad(obj.minimize, "empty: the campaign's objective; give it, or bulk_resistance_ohm_cm2 "
                         "beside interface_resistance_ohm_cm2", "> 0", None)
                ok = False
        if context:
            result["context"] = context
        return result if ok else None

    def _dates(self) -> tuple[str | None, str | None] | None:
        got: dict[str, str | None] = {}
        ok = True
        for name in ("run_date", "started_at", "finished_at"):
            if name in self.raw:
                try:
                    got[name] = self.cell(name, _date)
                except _Bad:
                    ok = False
        if not ok:
            return None
        started = got.get("started_at") or got.get("run_date")
        finished = got.get("finished_at") or got.get("run_date") or started
        if started and finished and finished < started:
            self.bad("finished_at" if "finished_at" in self.raw else "run_date", "ends before the run started",
                     f">= {started}")
            return None
        return started, finished
