"""Unit conversion at the hardware edge: the table lives in :mod:`twin.units` (one table for every edge that
converts units: a tool's mapping file here, a file of past runs in :mod:`campaigns.importer`)."""

from __future__ import annotations

from twin.units import (  # noqa: F401  (re-exported: hardware's names for the one table)
    CONVERSIONS,
    MTORR_PA,
    canonical_unit,
    factors,
    from_tool,
    to_tool,
    tool_units,
)
