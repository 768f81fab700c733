"""Health of a data source (market channel, user channel, spot feed), one vocabulary.

Only RUNNING data may be traded on: DEGRADED means the source is limping (a REST
fallback, a stale reading) and strategies must stop quoting on it, exactly as for
ERROR. STARTING and STOPPED are the states before the first data and after the end.
"""

from __future__ import annotations

from enum import StrEnum


class Health(StrEnum):
    STOPPED = "STOPPED"
    STARTING = "STARTING"
    RUNNING = "RUNNING"
    DEGRADED = "DEGRADED"
    ERROR = "ERROR"

    @property
    def tradable(self) -> bool:
        """Whether strategies may act on data in this state."""
        return self is Health.RUNNING
