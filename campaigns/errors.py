"""Exceptions of the campaigns package (subclasses of the twin's, so the CLI maps them to exit statuses)."""

from __future__ import annotations

from twin.errors import InputError


class CampaignError(InputError):
    """A campaign file, a store or a command that cannot be accepted (exit status 2)."""


class StoreError(CampaignError):
    """A store that cannot be used: not SQLite, written by a newer schema, unknown campaign or trial."""


class TrialStateError(CampaignError):
    """A state change that the trial's current state does not allow (e.g. approving a trial twice)."""


class RunnerBusyError(CampaignError):
    """Another live runner holds the campaign's runner lock."""
