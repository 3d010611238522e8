"""The calibration's one error: what it refuses and why."""

from __future__ import annotations

from campaigns.errors import CampaignError


class CalibrationError(CampaignError):
    """Calibration refused: unknown parameters, too few runs, runs from another chamber, bad options."""
