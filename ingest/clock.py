"""The clock of every stored timestamp: naive UTC, as the DateTime columns hold it."""

from __future__ import annotations

from datetime import datetime, timezone

__all__ = ["utcnow"]


def utcnow() -> datetime:
    """Now in UTC, without tzinfo (the columns are portable DateTime, which drop the zone)."""
    return datetime.now(timezone.utc).replace(tzinfo=None)
