"""Counters the actors keep for the report and progress lines (plain integers)."""

from __future__ import annotations

from dataclasses import dataclass, field

from engine.latency import LatencyRecorder


@dataclass
class EngineStats:
    frames: int = 0
    malformed_frames: int = 0
    market_events: int = 0
    integrity_resyncs: int = 0
    overflow_resyncs: int = 0
    user_events: int = 0
    unknown_order_events: int = 0
    orders_sent: int = 0
    orders_rejected: int = 0
    orders_denied: int = 0
    cancels_sent: int = 0
    orders_unknown: int = 0
    """Posts whose outcome was unknown (timeout, lost response, 5xx): never re-sent."""
    intents: int = 0
    frame_to_order: LatencyRecorder = field(
        default_factory=lambda: LatencyRecorder("frame_to_order")
    )
    order_round_trip: LatencyRecorder = field(
        default_factory=lambda: LatencyRecorder("order_round_trip")
    )
    """From handing an order to the gateway to its answer: the venue's round trip (the
    network and the venue's matching), apart from the engine's own frame_to_order."""
    rejections: dict[str, int] = field(default_factory=dict)
    unknown_resolved: dict[str, int] = field(default_factory=dict)
    """How UNKNOWN submits were resolved by hash (LIVE, FILLED, CANCELED, NOT_FOUND)."""
    cancel_queries: dict[str, int] = field(default_factory=dict)
    """What the venue answered to queries after a refused or unanswered cancel (the
    same four answers), kept apart from `unknown_resolved`: they measure other faults."""
    closeout_queries: dict[str, int] = field(default_factory=dict)
    """What the venue answered when a graceful stop asked about the journal's open
    orders (engine/closeout.py); "could not ask" counts as UNREACHABLE."""

    def count_rejection(self, reason: str) -> None:
        self.rejections[reason] = self.rejections.get(reason, 0) + 1

    def count_query(self, answer: str, *, unknown_submit: bool) -> None:
        """A targeted query's answer: it resolved an UNKNOWN submit, or followed a cancel."""
        counts = self.unknown_resolved if unknown_submit else self.cancel_queries
        counts[answer] = counts.get(answer, 0) + 1
