"""Errors of the what-if package: bad scenarios (exit 2) and cluster failures (exit 1)."""

from __future__ import annotations

from twin.errors import InputError, SputterTwinError


class ScenarioError(InputError):
    """A scenario file that is malformed, names an unknown parameter or asks for something impossible.

    Picklable (Dask sends it from a worker back to the driver), unlike a plain ``InputError``.
    """

    def __reduce__(self):
        return (type(self), (self.field, self.value, self.problem, self.allowed, self.source))


class ClusterError(SputterTwinError):
    """The Dask cluster could not be reached or failed while running (exit status 1)."""
