"""Exceptions of the campaigns package (subclasses of the twin's, so the CLI maps them to exit statuses)."""

from __future__ import annotations

from twin.errors import InputError, SputterTwinError


class CampaignError(InputError):
    """A campaign file, a store or a command that cannot be accepted (exit status 2)."""


class StoreError(CampaignError):
    """A store that cannot be used: not SQLite, written by a newer schema, unknown campaign or trial."""


class TrialStateError(CampaignError):
    """A state change that the trial's current state does not allow (e.g. approving a trial twice)."""


class RunnerBusyError(CampaignError):
    """Another live runner holds the campaign's runner lock."""


class StoreDamagedError(StoreError):
    """The store's file is damaged (a corrupt page): nothing is read from or written to it (exit status 2)."""


class StoreReadOnlyError(StoreError):
    """The store cannot be written (a read-only file, folder or file system): nothing was changed (exit status 2)."""


class StoreUnavailableError(SputterTwinError):
    """The store cannot take a change right now: the disk is full, another process holds its lock, or the file
    system failed. A failure at run time (exit status 1): the change was rolled back, everything before it is
    kept, and the same command resumes once the cause is gone."""

    def __init__(self, path: str, problem: str) -> None:
        self.path = path
        self.problem = problem
        super().__init__(f"{path}: {problem}")

    def __reduce__(self):
        return (type(self), (self.path, self.problem))


class StoreFullError(StoreUnavailableError):
    """The disk (or the store's size limit) is full."""


class StoreLockedError(StoreUnavailableError):
    """Another process held the store's write lock past the wait."""
