"""Exceptions of the twin. One root, specific subclasses; input problems carry file, field, value and range."""

from __future__ import annotations

from typing import Any


class SputterTwinError(Exception):
    """Root of every error raised by sputter-twin."""


class InputError(SputterTwinError, ValueError):
    """Bad input: a file, a field, a value and what is allowed.

    ``str(error)`` is one line: ``FILE: FIELD = VALUE: PROBLEM (allowed: RANGE)``.
    """

    def __init__(self, field: str, value: Any, problem: str, allowed: str = "", source: str = "") -> None:
        self.field = field
        self.value = value
        self.problem = problem
        self.allowed = allowed
        self.source = source
        super().__init__(self._format())

    def _format(self) -> str:
        where = f"{self.source}: " if self.source else ""
        field = f"{self.field} = {self.value!r}: " if self.field else ""
        allowed = f" (allowed: {self.allowed})" if self.allowed else ""
        return f"{where}{field}{self.problem}{allowed}"

    def __reduce__(self):  # picklable, so it can cross Dask and multiprocessing boundaries
        return (type(self), (self.field, self.value, self.problem, self.allowed, self.source))

    def with_source(self, source: str) -> InputError:
        """The same error, naming the file it came from."""
        err = type(self)(self.field, self.value, self.problem, self.allowed, source)
        err.__cause__ = self.__cause__
        return err


class RecipeError(InputError):
    """A recipe that is malformed or outside the tool's limits."""


class ChamberError(InputError):
    """A chamber description that is malformed."""


class ToolError(SputterTwinError):
    """A failure at run time on a tool (exit status 1)."""


class InterlockError(ToolError):
    """An interlock or alarm prevented or stopped a run."""


class AbortedError(ToolError):
    """The run was aborted (by a person, a watchdog or an alarm)."""
